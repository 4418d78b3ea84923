import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flatten, formatNumber, formatShape, formatValueShort, isSummary, stats, toNumber } from '../../static/src/tensor.js';
import { formatJson, parseJson } from '../../static/src/json-format.js';
import { decodeState, encodeState } from '../../static/src/urlstate.js';
import { offsetOf, positionOf } from '../../static/src/editor.js';

test('non-finite numbers arrive as strings', () => {
  assert.ok(Number.isNaN(toNumber('NaN')));
  assert.equal(toNumber('Infinity'), Infinity);
  assert.equal(toNumber('-Infinity'), -Infinity);
  assert.equal(formatNumber('Infinity'), '∞');
});

test('numbers read well: integers whole, 4 significant digits, exponents for extremes', () => {
  assert.equal(formatNumber(-12), '-12');
  assert.equal(formatNumber(0.1 + 0.2), '0.3');
  assert.equal(formatNumber(1 / 3), '0.3333');
  assert.equal(formatNumber(123456789), '1.235e8');
  assert.equal(formatNumber(0.0000123), '1.23e-5');
});

test('shapes and short values', () => {
  assert.equal(formatShape([]), 'scalar');
  assert.equal(formatShape([3]), '(3,)');
  assert.equal(formatShape([3, 15]), '3×15');
  assert.equal(formatValueShort([1, -2, 0.5], [3]), '[1, -2, 0.5]');
  assert.equal(formatValueShort([[3, 4]], [1, 2]), '‖·‖ 5');
  assert.equal(formatValueShort(null, []), '—');
});

test('flatten folds any rank to rows × last axis; stats skip non-finite values', () => {
  const { data, rows, cols } = flatten([[[1, 2], [3, 4]], [[5, 6], [7, 'NaN']]], [2, 2, 2]);
  assert.deepEqual([rows, cols], [4, 2]);
  assert.equal(data[6], 7);
  assert.ok(Number.isNaN(data[7]));
  assert.deepEqual(stats([3, 'NaN', -4], [3]), { min: -4, max: 3, mean: -0.5, norm: 5, count: 3, zeros: 0, nan: 1, inf: 0 });
  assert.deepEqual(stats([0, 'Infinity', 0, 2], [4]), { min: 0, max: 2, mean: 2 / 3, norm: 2, count: 4, zeros: 2, nan: 0, inf: 1 });
  const summary = { truncated: true, shape: [100, 200], min: -1, max: 2, mean: 0.1, norm: 40 };
  assert.ok(isSummary(summary));
  assert.equal(stats(summary, [100, 200]).norm, 40);
});

test('inputs JSON: one matrix row per line, round-trips', () => {
  const inputs = { x: [[1, 2], [3, 4]], b: [1, 2], z: -4, W: { init: 'randn', shape: [3, 15], seed: 0 } };
  const text = formatJson(inputs);
  assert.deepEqual(JSON.parse(text), inputs);
  assert.match(text, /\n {4}\[1, 2\],\n {4}\[3, 4\]\n/);
  assert.match(text, /"W": \{"init": "randn", "shape": \[3, 15\], "seed": 0\}/);
});

test('a JSON syntax error is placed at its line and column', () => {
  const { error } = parseJson('{\n  "x": 1\n  "y": 2\n}', 'The inputs');
  assert.equal(error.line, 3);
  assert.equal(error.column, 3);
  assert.match(error.message, /^The inputs are not valid JSON/);
  assert.deepEqual(parseJson('{"x": 1}', 'The inputs'), { value: { x: 1 } });
});

test('URL state round-trips program, inputs, step and node', () => {
  const state = { expression: 'q = x + y\nf = q * z', inputs: '{"x": -2, "y": 5, "z": -4}', gradOutput: '', step: 5, node: 0 };
  const decoded = decodeState(encodeState(state));
  assert.deepEqual(decoded, state);
  assert.equal(decodeState('#s=3'), null, 'no program, no state');
  assert.equal(decodeState('#e=x&i=%7B%7D&s=-1').step, null, 'a bad step is dropped');
});

test('editor positions: 1-based line/column ↔ offset', () => {
  const text = 'q = x + y\nf = tahn(q)';
  assert.equal(offsetOf(text, 2, 5), 14);
  assert.equal(text.slice(offsetOf(text, 2, 5), offsetOf(text, 2, 9)), 'tahn');
  assert.deepEqual(positionOf(text, 14), { line: 2, column: 5 });
  assert.equal(offsetOf(text, 9, 1), 10, 'a line past the end clamps to the last line');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { draggedValue, nudgedValue, stepFor, wholeNumbers } from '../../static/src/check/drag.js';
import { elementOf, nest, scalarInputs, withElement } from '../../static/src/check/edit-inputs.js';
import { badgeFor, checkRows, nudgeReport, objective, summary } from '../../static/src/check/gradcheck-view.js';
import { backwardRows, sideBySide, wrongGradients } from '../../static/src/check/timelines.js';
import { fixture } from './load.js';

const correct = fixture('shared-intermediate');
const naive = fixture('shared-intermediate-naive-recursion');
const overwrite = fixture('shared-intermediate-overwrite');
const gradcheck = fixture('shared-parameter-gradcheck');

// ------------------------------------------------------------------ editing inputs

test('scalar inputs are found in every spelling, tensors and initializers are not', () => {
  const inputs = { x: 1.5, a: { value: 2, requires_grad: false }, W: [[1, 2]], b: { init: 'zeros', shape: [3] } };
  assert.deepEqual(scalarInputs(inputs), [{ name: 'x', value: 1.5 }, { name: 'a', value: 2 }]);
});

test('nest undoes a row-major flatten', () => {
  assert.deepEqual(nest([1, 2, 3, 4, 5, 6], [2, 3]), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(nest([1, 2, 3, 4], [2, 1, 2]), [[[1, 2]], [[3, 4]]]);
  assert.equal(nest([7], []), 7);
});

test('withElement changes one element and keeps the spelling and requires_grad', () => {
  const node = { shape: [2, 2], value: [[1, 2], [3, 4]] };
  const inputs = { W: [[1, 2], [3, 4]], c: { value: 5, requires_grad: false } };
  assert.deepEqual(withElement(inputs, 'W', node, 2, 9).W, [[1, 2], [9, 4]]);
  assert.deepEqual(withElement(inputs, 'c', { shape: [], value: 5 }, 0, 6).c, { value: 6, requires_grad: false });
  assert.deepEqual(inputs.W, [[1, 2], [3, 4]], 'the old inputs are left as they were');
});

test('an initializer becomes the values the server computed, with one element changed', () => {
  const node = { shape: [3], value: [0.5, -1, 2] };
  const inputs = { b: { init: 'randn', shape: [3], seed: 1 } };
  assert.deepEqual(withElement(inputs, 'b', node, 1, 7), { b: { value: [0.5, 7, 2] } });
  const summarized = { shape: [300], value: { truncated: true, shape: [300], min: 0, max: 1, mean: 0.5, norm: 3 } };
  assert.equal(withElement({ big: { init: 'zeros', shape: [300] } }, 'big', summarized, 0, 1), null);
});

test('elementOf reads scalars, nested lists and non-finite strings', () => {
  assert.equal(elementOf(3, [], 0), 3);
  assert.equal(elementOf([[1, 2], [3, 'Infinity']], [2, 2], 3), Infinity);
});

// ------------------------------------------------------------------ dragging

test('a pixel moves a hundredth of the value\'s order of magnitude, rounded to that step', () => {
  assert.equal(stepFor(1.5), 0.01);
  assert.equal(stepFor(-250), 1);
  assert.equal(stepFor(0), 0.001);
  assert.equal(draggedValue(1.5, 25), 1.75);
  assert.equal(draggedValue(1.5, -3, { fine: true }), 1.497);
  assert.equal(draggedValue(0.1, 7), 0.107);
  assert.equal(nudgedValue(2, 1), 2.1);
  assert.equal(nudgedValue(2, -1), 1.9);
});

test('labels and indices (integers no gradient reaches) move in whole steps, Alt or not', () => {
  const label = { op: 'input', grad: null };
  assert.equal(wholeNumbers(label, 2), true);
  assert.equal(wholeNumbers({ op: 'input', grad: 0.5 }, 2), false); // the tutorial's x = 2: smooth
  assert.equal(wholeNumbers(label, 2.5), false);
  assert.equal(wholeNumbers({ op: 'mul', grad: null }, 2), false);
  assert.equal(wholeNumbers(undefined, 2), false);
  assert.equal(draggedValue(2, 25, { whole: true }), 4);
  assert.equal(draggedValue(2, 25, { whole: true, fine: true }), 4);
  assert.equal(draggedValue(2, -9, { whole: true }), 2);
  assert.equal(draggedValue(2, -31, { whole: true }), -1);
  assert.equal(nudgedValue(2, 1, { whole: true }), 3);
  assert.equal(nudgedValue(2, -1, { whole: true }), 1);
});

// ------------------------------------------------------------------ gradient check

test('badges are green below 1e-6 and red above or on NaN', () => {
  assert.deepEqual(badgeFor({ max_rel_error: 5.1e-12 }), { ok: true, text: '✓ 5.1e-12', error: 5.1e-12 });
  assert.equal(badgeFor({ max_rel_error: 0 }).text, '✓ 0');
  assert.equal(badgeFor({ max_rel_error: 0.33 }).ok, false);
  assert.equal(badgeFor({ max_rel_error: 'NaN' }).ok, false);
});

test('the check of a real answer: rows per element with numeric beside analytic', () => {
  const b = gradcheck.inputs.b;
  const rows = checkRows(b);
  assert.equal(rows.length, 3);
  assert.equal(rows[0].element, '[0]');
  assert.ok(Math.abs(rows[0].numeric - rows[0].analytic) < 1e-8);
  const a = checkRows(gradcheck.inputs.a, 4);
  assert.equal(a.length, 4, 'cut to the limit');
  assert.ok(a[0].error >= a[3].error, 'the worst first when cut');
  assert.match(summary(gradcheck), /^Gradient check: 21 elements of 3 inputs, worst relative error .*: all below 1e-6\.$/);
});

test('the nudge compares L = Σ output · grad_output with grad · h', () => {
  assert.equal(objective(9, null), 9);
  assert.equal(objective([[1, 2], [3, 4]], [[1, 0], [0, 2]]), 9);
  const report = nudgeReport(9, 9.012004, 12, 0.001);
  assert.ok(Math.abs(report.change - 0.012004) < 1e-12);
  assert.equal(report.predicted, 0.012);
  assert.ok(Math.abs(report.difference - 0.000004) < 1e-12);
});

// ------------------------------------------------------------------ break it

test('the replay fixture is the tutorial\'s double counting: 18 and 13.5', () => {
  const grads = Object.fromEntries(naive.nodes.map((node) => [node.name, node.grad]));
  assert.equal(grads.x, 18);
  assert.equal(grads.a, 13.5);
  assert.deepEqual(wrongGradients(correct, naive).map((item) => [item.label, item.wrong, item.right]),
    [['x', 18, 12], ['a', 13.5, 9]]);
});

test('both timelines, matched edge by edge, at the first divergence', () => {
  const view = sideBySide(correct, naive, naive.diverges.first_step + 1);
  assert.equal(view.atDeparture, true);
  assert.equal(view.departurePosition, 4);
  const current = view.right.find((row) => row.current);
  const matching = view.left.find((row) => row.current);
  assert.equal(current.text, 'q → x: 6');
  assert.equal(matching.text, 'q → x: 12');
  assert.ok(current.parted && matching.parted);
  assert.deepEqual(view.right.filter((row) => row.after).map((row) => row.text), ['q → a: 4.5', 'y → q: 3', 'q → x: 12', 'q → a: 9']);
  assert.equal(backwardRows(correct).length, 4);
  assert.equal(backwardRows(naive).length, 6);
});

test('overwrite parts where q\'s second contribution replaces its first', () => {
  const view = sideBySide(correct, overwrite, overwrite.diverges.first_step + 1);
  const current = view.right.find((row) => row.current);
  assert.equal(current.text, 'y → q: 3');
  assert.equal(current.total, '3');
  assert.equal(view.left.find((row) => row.current).total, '6');
  assert.deepEqual(wrongGradients(correct, overwrite).map((item) => item.label), ['x', 'a', 'q']);
});

test('before the backward pass nothing is current', () => {
  const view = sideBySide(correct, naive, 1);
  assert.ok(!view.right.some((row) => row.current) && !view.left.some((row) => row.current));
  assert.equal(view.atDeparture, false);
});

// The UI's decoding of the column layout (static/src/columns.js) against real responses: each
// `<name>.columns.json` fixture is the same request as `<name>.json` answered with
// ?format=columns (fixtures/regenerate.py), and must decode to exactly that object body.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromColumns } from '../../static/src/columns.js';
import { fixture } from './load.js';

for (const name of ['chain-rule', 'op-kinds', 'op-kinds.expanded', 'shared-intermediate-naive-recursion', 'edge-cases']) {
  test(`${name}: the column body decodes to exactly the object body`, () => {
    const columns = fixture(`${name}.columns`);
    assert.equal(columns.format, 'columns');
    assert.ok(!Array.isArray(columns.nodes) && !Array.isArray(columns.steps));
    const decoded = fromColumns(columns);
    assert.deepStrictEqual(decoded, fixture(name));
    // the same key order as the server's object layout, so an exported JSON reads the same
    assert.deepStrictEqual(Object.keys(decoded), Object.keys(fixture(name)));
  });
}

test('edge cases carry NaN, infinities, summaries, empty tensors and broadcast axes through', () => {
  const { nodes, steps } = fromColumns(fixture('edge-cases.columns'));
  const texts = JSON.stringify({ nodes, steps });
  for (const token of ['"NaN"', '"Infinity"', '"-Infinity"', '"truncated":true']) assert.ok(texts.includes(token), token);
  assert.ok(nodes.some((node) => node.shape.includes(0) && Array.isArray(node.value) && node.value.every((row) => row.length === 0)));
  assert.ok(steps.some((step) => step.phase === 'backward' && step.summed_axes.length === 2));
});

test('formulas come from the table by index; replays keep mode and diverges', () => {
  const columns = fixture('shared-intermediate-naive-recursion.columns');
  const decoded = fromColumns(columns);
  const backward = decoded.steps.filter((step) => step.phase === 'backward');
  assert.equal(backward.length, columns.steps.node.length);
  backward.forEach((step, i) => assert.equal(step.local.formula, columns.formulas[columns.steps.local.formula[i]]));
  assert.equal(decoded.mode, 'naive-recursion');
  assert.deepStrictEqual(decoded.diverges, fixture('shared-intermediate-naive-recursion').diverges);
});

test('a body already in the object layout, and an error body, pass through as they are', () => {
  const objects = fixture('chain-rule');
  assert.equal(fromColumns(objects), objects);
  const error = fixture('error-unknown-function');
  assert.equal(fromColumns(error), error);
  assert.equal(fromColumns(null), null);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthMarks, marksKey, paramNodesOf } from '../../static/src/train/health.js';

// A start line and a record as POST /train streams them (docs/api.md): ids are node ids.
const start = { type: 'start', params: { W1: { node: 1, shape: [3, 15] }, b1: { node: 2, shape: [15] }, W2: { node: 5, shape: [15, 1] } } };
const nodes = [
  { id: 0, op: 'input', shape: [1, 3] }, { id: 1, op: 'input', shape: [3, 15] }, { id: 2, op: 'input', shape: [15] },
  { id: 3, op: 'linear', shape: [1, 15] }, { id: 4, op: 'relu', shape: [1, 15] }, { id: 5, op: 'input', shape: [15, 1] },
  { id: 6, op: 'sigmoid', shape: [1, 1] }, { id: 7, op: 'tanh', shape: [1, 4] },
];
const record = {
  type: 'record',
  step: 40,
  health: {
    3: { grad_norm: 0.5 },
    4: { grad_norm: 0.1, dead: 0.8 },
    6: { grad_norm: 0.001, saturated: 1 },
    7: { grad_norm: 0.2, saturated: 0.25 },
  },
  params: {
    W1: { norm: 5, grad_norm: 1, update_ratio: 0.002 }, // healthy: within 10× of 1e-3
    b1: { norm: 3, grad_norm: 2, update_ratio: 0.05 }, // 50× too large
    W2: { norm: 4, grad_norm: 0, update_ratio: 2e-6 }, // 500× too small
  },
};

test('param names map to their node ids from the start line', () => {
  assert.deepEqual(paramNodesOf(start), { W1: 1, b1: 2, W2: 5 });
  assert.deepEqual(paramNodesOf(null), {});
});

test('dead ReLUs, saturated sigmoids and far-off update ratios are marked; healthy nodes are not', () => {
  const marks = healthMarks(record, paramNodesOf(start), nodes);
  assert.deepEqual(Array.from(marks.keys()).sort(), [2, 4, 5, 6]);
  assert.deepEqual(marks.get(4).map((mark) => [mark.kind, mark.card]), [['dead', 'dead 80%']]);
  assert.match(marks.get(4)[0].detail, /80% of its 15 units output 0 for every row of step 40's batch/);
  assert.deepEqual(marks.get(6).map((mark) => [mark.kind, mark.card]), [['saturated', 'saturated 100%']]);
  assert.equal(marks.get(7), undefined, '25% saturated is below the threshold');
  assert.deepEqual(marks.get(2).map((mark) => [mark.kind, mark.card]), [['update-ratio', 'updates too large']]);
  assert.equal(marks.get(5)[0].card, 'updates too small');
  assert.match(marks.get(2)[0].detail, /50× the healthy 1e-3/);
  assert.match(marks.get(5)[0].detail, /500× below the healthy 1e-3/);
  assert.equal(marks.get(1), undefined);
});

test('a record without health or with null ratios marks nothing', () => {
  assert.equal(healthMarks({ step: 1 }, {}, nodes).size, 0);
  assert.equal(healthMarks({ step: 1, params: { W1: { update_ratio: null } } }, { W1: 1 }, nodes).size, 0);
  assert.equal(healthMarks(null, {}).size, 0);
});

test('a node can carry two marks (a dead ReLU whose output is also a parameter is not possible, a param with one mark is)', () => {
  const marks = healthMarks({ step: 2, health: { 1: { dead: 1 } }, params: { W1: { update_ratio: 1 } } }, { W1: 1 }, nodes);
  assert.deepEqual(marks.get(1).map((mark) => mark.kind), ['dead', 'update-ratio']);
});

test('a parameter that did not move at all says so (its gradient is 0)', () => {
  const marks = healthMarks({ step: 7, params: { b1: { norm: 3, grad_norm: 0, update_ratio: 0 } } }, { b1: 2 }, nodes);
  assert.deepEqual(marks.get(2).map((mark) => [mark.kind, mark.card]), [['update-ratio', 'no update']]);
  assert.match(marks.get(2)[0].detail, /step 7 left b1 unchanged: its gradient is 0/);
});

test('the marks key ignores numbers that only the inspector shows', () => {
  const at = (ratio, step) => healthMarks({ step, params: { b1: { update_ratio: ratio } } }, { b1: 2 }, nodes);
  assert.equal(marksKey(at(0.05, 10)), marksKey(at(0.08, 20)));
  assert.notEqual(marksKey(at(0.05, 10)), marksKey(at(0.002, 20)));
  assert.equal(marksKey(new Map()), '');
});

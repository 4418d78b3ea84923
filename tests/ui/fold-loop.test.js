// A loop unrolled by the parser folds like the lines it stands for (issue 19): d2l's RNN written
// as `for t in range(4):` reads X[t] at a different t each step, and still folds into 4 steps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findFolds } from '../../static/src/fold.js';
import { fixture } from './load.js';

const loop = fixture('fold-loop-rnn');

test('a loop over X[t] folds into one box per iteration, sharing its weights', () => {
  const folds = findFolds(loop);
  assert.equal(folds.length, 4);
  assert.deepEqual(folds.map((fold) => fold.title), ['step 1 of 4', 'step 2 of 4', 'step 3 of 4', 'step 4 of 4']);
  assert.ok(folds.every((fold) => fold.kind === 'step'));
  const named = (name) => loop.nodes.find((node) => node.name === name).id;
  // The weights and X are read by every step: drawn once, outside the boxes.
  for (const shared of ['W_xh', 'W_hh', 'b_h', 'X']) {
    assert.ok(folds.every((fold) => !fold.nodes.includes(named(shared)) && fold.inputs.includes(named(shared))), shared);
  }
  // Each step holds its own X[t]: the index nodes differ only in t.
  const reads = folds.map((fold) => fold.nodes.map((id) => loop.nodes[id]).find((node) => node.op === 'index').params.key);
  assert.deepEqual(reads, [[0], [1], [2], [3]]);
});

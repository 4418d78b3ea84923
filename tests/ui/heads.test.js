import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasHeads, headsCaption, headSlices, markHeads } from '../../static/src/heads.js';
import { fixture } from './load.js';

/** A (B, nh, R, C) tensor whose element [b, h, r, c] is b·1000 + h·100 + r·10 + c. */
function tensor(shape) {
  const build = (prefix, depth) => (depth === shape.length
    ? prefix.reduce((sum, i, axis) => sum + i * 10 ** (shape.length - 1 - axis), 0)
    : Array.from({ length: shape[depth] }, (_, i) => build([...prefix, i], depth + 1)));
  return build([], 0);
}

test('a 4-D tensor is one R × C map per (batch item, head), with its index prefix', () => {
  const layout = headSlices(tensor([3, 2, 4, 5]), [3, 2, 4, 5]);
  assert.equal(layout.slices.length, 6);
  assert.deepEqual([layout.rows, layout.cols, layout.shownItems, layout.shownHeads], [4, 5, 3, 2]);
  const slice = layout.slices.find((s) => s.item === 2 && s.head === 1);
  assert.deepEqual(slice.prefix, [2, 1]);
  assert.equal(slice.data.length, 20);
  assert.equal(slice.data[0], 2100);
  assert.equal(slice.data[3 * 5 + 4], 2134); // [2, 1, 3, 4]
});

test('a 3-D tensor is one map per head on axis 0; past four batch items and eight heads the first are shown', () => {
  const three = headSlices(tensor([2, 3, 4]), [2, 3, 4]);
  assert.deepEqual(three.slices.map((s) => s.prefix), [[0], [1]]);
  assert.equal(three.slices[1].data[2 * 4 + 3], 123);
  const many = headSlices(tensor([6, 9, 1, 2]), [6, 9, 1, 2]);
  assert.deepEqual([many.shownItems, many.shownHeads, many.slices.length], [4, 8, 32]);
  assert.match(headsCaption([6, 9, 1, 2], many), /the first 8 of 9/);
  assert.match(headsCaption([6, 9, 1, 2], many), /batch items 0–3 of 6/);
  assert.equal(headsCaption([2, 3, 4], three), 'one map per head (axis 0) · rows: axis 1 (3) · columns: axis 2 (4)');
});

test('a 3-D tensor has heads only at an attention whose queries were moved into heads', () => {
  const node = (id, op, shape, inputs = []) => ({ id, op, shape, inputs });
  const multi = [
    node(0, 'input', [8, 6]),
    node(1, 'transpose', [2, 8, 3], [0]), // q = x.view(8, 2, 3).transpose(0, 1)
    node(2, 'input', [2, 8, 3]),
    node(3, 'input', [2, 8, 3]),
    node(4, 'scaled_dot_product_attention', [2, 8, 3], [1, 2, 3]),
    node(5, 'exp', [2, 8, 3], [4]),
  ];
  assert.deepEqual(multi.map((n) => hasHeads(n, multi)), [false, true, true, true, true, false]);
  // One head of a batch, (B, T, hs) from matmuls: axis 0 is the batch, not heads.
  const single = multi.map((n) => (n.id === 1 ? { ...n, op: 'matmul' } : n));
  assert.deepEqual(single.map((n) => hasHeads(n, single)), [false, false, false, false, false, false]);
});

test('the transformer block: its attention\'s 4-D tensors have heads; y.transpose(1, 2) and a conv map have none', () => {
  const block = fixture('transformer-block');
  const heads = block.nodes.filter((n) => hasHeads(n, block.nodes, block.groups)).map((n) => `${n.label}:${n.op}`);
  assert.deepEqual(heads, ['q:transpose', 'k:transpose', 'v:transpose', 'y:scaled_dot_product_attention']);
  const attention = block.nodes.find((n) => n.op === 'scaled_dot_product_attention');
  const back = block.nodes.find((n) => n.op === 'transpose' && n.inputs[0] === attention.id); // (B, T, nh, hs)
  assert.equal(hasHeads(back, block.nodes, block.groups), false);
  const conv = fixture('small-convolution');
  assert.deepEqual(conv.nodes.filter((n) => hasHeads(n, conv.nodes, conv.groups)), []);
  const maps = markHeads([{ shape: [2, 2, 4, 4] }, { shape: [2, 4, 2, 4] }], [back, attention], block);
  assert.deepEqual(maps.map((map) => map.heads), [true, false]);
});

test('an opened attention: its operands, and the 4-D scores inside it (or inside a softmax within it), have heads', () => {
  const nodes = [
    { id: 0, op: 'transpose', shape: [1, 2, 4, 4], inputs: [] },
    { id: 1, op: 'matmul', shape: [1, 2, 4, 4], inputs: [0, 0], group: 0 },
    { id: 2, op: 'exp', shape: [1, 2, 4, 4], inputs: [1], group: 1 },
    { id: 3, op: 'exp', shape: [1, 2, 4, 4], inputs: [2] },
  ];
  const groups = [
    { id: 0, op: 'scaled_dot_product_attention', inputs: [0, 0, 0], parent: null },
    { id: 1, op: 'softmax', inputs: [1], parent: 0 },
  ];
  assert.deepEqual(nodes.map((n) => hasHeads(n, nodes, groups)), [true, true, true, false]); // q feeds the opened attention
});

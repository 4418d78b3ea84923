import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerForwardNotes, layerNotes } from '../../static/src/explain-layers.js';

test('batch norm in training names the paths through the mean and the variance', () => {
  const [note] = layerNotes({ op: 'batch_norm', params: { training: true } }, 0);
  assert.match(note, /through the mean/);
  assert.match(note, /through the variance/);
});

test('batch norm in evaluation has one path, through the running statistics', () => {
  const [note] = layerNotes({ op: 'batch_norm', params: { training: false } }, 0);
  assert.match(note, /running_var/);
  assert.doesNotMatch(note, /through the mean/);
});

test('attention names q, k, v, the scores and the mask per operand', () => {
  const notes = [0, 1, 2, 3].map((slot) => layerNotes({ op: 'scaled_dot_product_attention', params: {} }, slot)[0]);
  assert.match(notes[0], /scores = q·kᵀ·scale/);
  assert.match(notes[0], /masked position/);
  assert.match(notes[1], /^key/);
  assert.match(notes[2], /^value/);
  assert.match(notes[3], /attn_mask/);
});

test('a convolution step says which patch met which kernel weight', () => {
  assert.match(layerNotes({ op: 'conv2d' }, 0)[0], /patch/);
  assert.match(layerNotes({ op: 'conv2d' }, 1)[0], /kernel weight met one element of every patch/);
});

test('other ops get no layer note', () => {
  assert.deepEqual(layerNotes({ op: 'matmul' }, 0), []);
  assert.deepEqual(layerNotes({ op: 'binary_cross_entropy_with_logits' }, 1), []);
});

const image = { shape: [1, 1, 2, 2], value: [[[[1, 2], [3, 4]]]] };
const kernel = { shape: [1, 1, 2, 2], value: [[[[1, 0], [0, 1]]]] };
const bias = { shape: [1], value: [0.5] };

test('a convolution forward step works out its first output: the patch met kernel 0', () => {
  const node = { op: 'conv2d', params: { stride: [1], padding: [0], dilation: [1], groups: 1 }, value: [[[[5.5]]]] };
  const [note] = layerForwardNotes(node, [image, kernel, bias]);
  assert.equal(note, 'out[0, 0, 0, 0]: the patch at the top-left corner met kernel 0, element by element: '
    + '1·1 + 2·0 + 3·0 + 4·1 + bias 0.5 = 5.5');
});

test('padding enters the patch as zeros', () => {
  const node = { op: 'conv2d', params: { stride: [2], padding: [1], dilation: [1], groups: 1 }, value: [[[[1.5]]]] };
  const [note] = layerForwardNotes(node, [image, kernel, { shape: [0], value: [] }]);
  assert.match(note, /0 \(padding\)·1 \+ 0 \(padding\)·0 \+ 0 \(padding\)·0 \+ 1·1 = 1$/);
});

test('a summarised operand gets no worked example', () => {
  const node = { op: 'conv2d', params: {}, value: { truncated: true } };
  assert.deepEqual(layerForwardNotes(node, [{ ...image, value: { truncated: true } }, kernel, bias]), []);
});

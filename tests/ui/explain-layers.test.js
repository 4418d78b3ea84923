import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerNotes } from '../../static/src/explain-layers.js';

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

// PyTorch's gradient beside chainlens's (static/src/torch-grads.js): the difference measured as
// chainlens.from_torch measures .rel_errors, relative to the larger gradient's largest element, so
// rounding noise in an element that is zero by the math does not read as a 100 % error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relativeDifference } from '../../static/src/torch-grads.js';

test('equal gradients differ by 0, scalars and nested arrays alike', () => {
  assert.equal(relativeDifference(-4, -4, []), 0);
  assert.equal(relativeDifference([[1, 2], [3, 4]], [[1, 2], [3, 4]], [2, 2]), 0);
  assert.equal(relativeDifference([0, 0], [0, 0], [2]), 0);
});

test('the largest difference over the elements, relative to the largest element of either', () => {
  assert.equal(relativeDifference([1, -8], [1.5, -8], [2]), 0.5 / 8);
  assert.equal(relativeDifference([2], [-2], [1]), 2);
});

test('noise in an element that is zero by the math stays small beside the others', () => {
  const difference = relativeDifference([1e-17, 0.5], [-2e-17, 0.5], [2]);
  assert.ok(difference < 1e-16, String(difference));
});

test('the strings the API writes for NaN and the infinities are read as numbers', () => {
  assert.ok(Number.isNaN(relativeDifference(['NaN'], [1], [1])));
});

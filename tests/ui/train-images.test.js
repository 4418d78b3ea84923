import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  evalRowSpec, firstLayerWeight, imageRows, maxAbs, predictionCells, shownRowCount, weightImages,
} from '../../static/src/train/images.js';

test('rows of an (N, pixels) value become one image each', () => {
  const images = imageRows([[0, 0.5, 1, 0.25], [1, 1, 0, 0]], [2, 4]);
  assert.deepEqual(images.map((image) => Array.from(image)), [[0, 0.5, 1, 0.25], [1, 1, 0, 0]]);
});

test("a unit's image is its column of W (pixels × units), one weight per pixel", () => {
  // W[p][u] = 10·p + u: unit 1's image is [1, 11, 21, 31]
  const W = [[0, 1, 2], [10, 11, 12], [20, 21, 22], [30, 31, 32]];
  const images = weightImages(W, [4, 3]);
  assert.equal(images.length, 3);
  assert.deepEqual(Array.from(images[1]), [1, 11, 21, 31]);
  assert.equal(weightImages({ truncated: true, shape: [784, 100], min: 0, max: 1, mean: 0, norm: 1 }, [784, 100]), null);
});

test('predictions against labels mark the wrong ones', () => {
  assert.deepEqual(predictionCells([3, 8, 1], [3, 9, 1]), [
    { index: 0, label: 3, predicted: 3, wrong: false },
    { index: 1, label: 9, predicted: 8, wrong: true },
    { index: 2, label: 1, predicted: 1, wrong: false },
  ]);
});

test('rows shown: what fits whole in one response, capped', () => {
  assert.equal(shownRowCount(360, 64, 10_000), 45);
  assert.equal(shownRowCount(360, 64, 1_000), 15);
  assert.equal(shownRowCount(2000, 784, 10_000), 12);
  assert.equal(shownRowCount(5, 64, 10_000), 5);
  assert.equal(maxAbs(new Float64Array([0, -3, 2, NaN])), 3);
});

test('eval row specs pick rows out of the eval split', () => {
  const all = { dataset: 'digits', field: 'images', split: 'test' };
  assert.deepEqual(evalRowSpec(all, [0, 1]), { ...all, rows: [0, 1] });
  const some = { dataset: 'mnist', field: 'labels', split: 'test', rows: [5, 7, 9] };
  assert.deepEqual(evalRowSpec(some, [2], { requires_grad: false }), { ...some, rows: [9], requires_grad: false });
});

test('the first-layer weight is the operand multiplying the image input', () => {
  const response = {
    nodes: [
      { id: 0, op: 'input', name: 'x', inputs: [] },
      { id: 1, op: 'input', name: 'W1', inputs: [] },
      { id: 2, op: 'input', name: 'b1', inputs: [] },
      { id: 3, op: 'linear', name: null, inputs: [0, 1, 2] },
    ],
  };
  assert.equal(firstLayerWeight(response, 'x'), 'W1');
  assert.equal(firstLayerWeight(response, 'W1'), null);
});

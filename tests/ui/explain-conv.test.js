import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainBackward } from '../../static/src/explain.js';
import { MAX_ENTRIES, convBackwardLines } from '../../static/src/explain-conv.js';
import { flatten } from '../../static/src/tensor.js';
import { fixture } from './load.js';

/** Every conv backward step of a response, with its explanation. */
function convSteps(response) {
  return response.steps
    .map((step, index) => ({ step, index }))
    .filter(({ step }) => step.phase === 'backward' && ['conv1d', 'conv2d'].includes(response.nodes[step.node].op))
    .map(({ step, index }) => ({ step, explanation: explainBackward(response, step, index), consumer: response.nodes[step.node] }));
}

for (const name of ['small-convolution', 'conv-steps']) {
  test(`${name}: each worked-out gradient entry is the engine's, for the input, the kernel and the bias`, () => {
    const response = fixture(name);
    const steps = convSteps(response);
    const slots = new Set();
    for (const { step, explanation, consumer } of steps) {
      const worked = explanation.lines.filter((line) => line.entry !== undefined);
      const input = response.nodes[step.input];
      const { data } = flatten(step.contribution, input.shape);
      assert.equal(worked.length, Math.min(data.length, MAX_ENTRIES), `${consumer.label} operand ${step.slot}`);
      for (const line of worked) {
        assert.ok(Math.abs(line.value - data[line.entry]) <= 1e-12 * Math.max(1, Math.abs(data[line.entry])), `${line.text} vs ${data[line.entry]}`);
      }
      slots.add(`${consumer.op}:${step.slot}`);
    }
    const expected = name === 'small-convolution' ? ['conv2d:0', 'conv2d:1', 'conv2d:2'] : ['conv1d:0', 'conv1d:1', 'conv1d:2', 'conv2d:0', 'conv2d:1', 'conv2d:2'];
    assert.deepEqual([...slots].sort(), expected);
  });
}

test('the small convolution shows the kernel gradient as ∂L/∂out correlated with the patch, in numbers', () => {
  const response = fixture('small-convolution');
  const { explanation } = convSteps(response).find(({ step }) => step.slot === 1);
  const [first] = explanation.lines.filter((line) => line.entry === 0);
  // K[0, 0, 0, 0] met x[0, 0, 0:3, 0:3], the top-left 3×3 patch of the image
  assert.match(first.text, /^∂loss\/∂K\[0, 0, 0, 0\] = Σ ∂loss\/∂out\[0, 0\] ⊙ patch \[\[0, 1, 1\], \[1, 0, 0\], \[1, 1, 1\]\] = /);
  // ∂L/∂out of the channel written once, before its kernel's entries
  const upstreamLine = explanation.lines[explanation.lines.indexOf(first) - 1];
  assert.match(upstreamLine.text, /^∂loss\/∂out\[0, 0\] = \[\[-?0\.\d+, .*\]\]$/);
  assert.ok(explanation.lines.filter((line) => line.entry !== undefined || line.text.startsWith('… ')).every((line) => line.wide));
  assert.match(first.tex, /\\begin\{bmatrix\}0 & 1 & 1 \\\\ 1 & 0 & 0 \\\\ 1 & 1 & 1\\end\{bmatrix\}/);
  const input = convSteps(response).find(({ step }) => step.slot === 0).explanation.lines.filter((line) => line.entry !== undefined);
  // x[0, 0, 0, 0] was read by out[0, 0, 0, 0] only, with K[0, 0, 0, 0]; x[0, 0, 1, 1] by four outputs
  assert.match(input[0].text, /\(∂loss\/∂out\[0, 0, 0, 0\]·K\[0, 0, 0, 0\]\)$/);
  const centre = input.find((line) => line.entry === 5); // x[0, 0, 1, 1]: met every kernel weight once
  assert.match(centre.text, /= 0\.2444·0\.5 \+ 0\.1333·\(-0\.25\) \+ 0\.07778·0\.75 \+ \(-0\.08889\)·0\.25 = 0\.125 /);
  assert.deepEqual(input.map((line) => line.entry), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'the first MAX_ENTRIES of 16, in order');
  const inputStep = convSteps(response).find(({ step }) => step.slot === 0).explanation;
  assert.equal(inputStep.lines.find((line) => line.text.startsWith('… ')).text, '… 7 more entries, each made the same way');
  assert.equal(explanation.lines.filter((line) => line.text.startsWith('… ')).length, 0, 'four kernel entries: none left to count');
});

test('a large convolution keeps the shapes and heatmaps: no worked-out lines', () => {
  const big = (shape) => ({ value: Array.from({ length: shape[0] }, () => Array.from({ length: shape[1] }, () => Array.from({ length: shape[2] }, () => Array(shape[3]).fill(1)))), shape });
  const operands = [{ ...big([4, 3, 16, 16]), text: 'x', tex: 'x' }, { ...big([8, 3, 3, 3]), text: 'K', tex: 'K' }, { value: Array(8).fill(0), shape: [8], text: 'c', tex: 'c' }];
  const upstream = { ...big([4, 8, 14, 14]), text: '∂L/∂out', tex: 'g' };
  assert.deepEqual(convBackwardLines({ op: 'conv2d', params: {} }, 1, { operands, upstream, gradient: { tex: 'G', text: 'G' } }), []);
  assert.deepEqual(convBackwardLines({ op: 'conv2d', params: {} }, 0, { operands: [{ ...operands[0], value: { truncated: true, shape: [4, 3, 16, 16], min: 1, max: 1, mean: 1, norm: 1 } }, ...operands.slice(1)], upstream, gradient: { tex: 'G', text: 'G' } }), []);
});

// Why a layer's backward step looks as it does: one or two sentences per op and operand, added to
// the step's notes by explain.js (explainBackward). The numbers are in the step's lines already;
// these say where the terms come from (batch norm's paths through the mean and the variance,
// attention's q, k, v, scores and mask, the patch a convolution's kernel met). For a convolution's
// forward step with small operands, the first output element worked out: the patch, the kernel, the sum.

import { convGeometry, inputAt } from './explain-conv.js';
import { formatNumber, isSummary } from './tensor.js';

const NORM_INPUT = (over) => `x̂ = (x − mean)/√(var + eps) over ${over}: the mean and the variance depend on every x there, `
  + 'so the gradient reaches x by three paths: directly (g·rstd), through the mean (− mean(g)) and through the variance '
  + '(− x̂·mean(g·x̂)); the two extra terms keep the gradient free of any shift or scaling of those inputs';

function norm(over) {
  return [
    NORM_INPUT(over),
    'weight scales each normalised value x̂: its gradient sums ∂L/∂out · x̂ over the positions it scaled',
    'bias shifts each output: its gradient sums ∂L/∂out over the positions it shifted',
  ];
}

function batchNorm(node, slot) {
  if (slot !== 0) return norm('the batch and spatial axes')[slot === 3 ? 1 : 2];
  if (node.params?.training) return NORM_INPUT('the batch and spatial axes of each channel (training: the batch\'s own statistics)');
  return 'evaluation mode: running_mean and running_var are constants here, so x reaches the output by one path only: '
    + '∂L/∂x = ∂L/∂out · weight / √(running_var + eps)';
}

const ATTENTION = [
  'query: scores = q·kᵀ·scale, P = softmax(scores + mask), out = P·v. q reaches the output through the scores: '
    + 'dP = ∂L/∂out·vᵀ, the softmax turns it into dS = P ⊙ (dP − Σ dP⊙P), and ∂L/∂q = dS·k·scale; '
    + 'a masked position has weight 0 and passes no gradient',
  'key: each key met every query in the scores, so ∂L/∂k = dSᵀ·q·scale sums what every query sends it',
  'value: out mixes the values with the weights P, so ∂L/∂v = Pᵀ·∂L/∂out: each value gets the gradient of every output '
    + 'in proportion to the attention that output paid it',
  'attn_mask is added to the scores, so its gradient is the scores\' gradient dS itself',
];

const CONV = [
  'input: every output position is one patch of the input met by a kernel; an input element sits in several patches '
    + '(one per kernel offset that covered it), so its gradient adds ∂L/∂out · the kernel weight it met there, '
    + 'over every such patch and output channel (a transposed convolution)',
  'weight: each kernel weight met one element of every patch, so its gradient sums ∂L/∂out × the input element it '
    + 'met, over the batch and every position (the input correlated with ∂L/∂out)',
  'bias: added at every output position of its channel, so its gradient sums ∂L/∂out over the batch and positions',
];

const EXPLAINED = {
  layer_norm: (node, slot) => (slot === 0 ? NORM_INPUT('the normalised (last) axes of each row') : norm('')[slot]),
  group_norm: (node, slot) => (slot === 0 ? NORM_INPUT('each sample\'s group of channels') : norm('')[slot]),
  batch_norm: batchNorm,
  scaled_dot_product_attention: (node, slot) => ATTENTION[slot],
  conv1d: (node, slot) => CONV[slot],
  conv2d: (node, slot) => CONV[slot],
  max_pool2d: () => 'only each window\'s maximum reached the output, so only it receives that window\'s gradient '
    + '(the first maximum on ties, as PyTorch); where windows overlap, an element collects from each window it won',
  avg_pool2d: () => 'every element of a window counted 1/(window size) of its mean, so it receives that share of the '
    + 'window\'s gradient, summed over the windows it belongs to',
  embedding: () => 'only the rows the indices picked took part: each receives the gradient of every place it was '
    + 'picked, added up (a scatter-add); the other rows get 0',
  dropout: () => 'a kept element passed through scaled by 1/(1 − p), a dropped one not at all: the gradient is '
    + '∂L/∂out · mask/(1 − p)',
  gelu: () => 'gelu(x) = x·Φ(x): its derivative Φ(x) + x·φ(x) is the gate Φ plus how the gate itself moves with x',
  cross_entropy_probs: (node, slot) => (slot === 0
    ? 'softmax then −Σ t·log p: per row, ∂L/∂z = softmax(z)·Σt − t (the target probabilities t in place of one-hot labels)'
    : 'the target probabilities take a gradient too: −log_softmax(z)'),
  binary_cross_entropy_with_logits: (node, slot) => (slot === 0
    ? 'sigmoid and the log loss together: ∂L/∂z = sigmoid(z) − t (with pos_weight scaling the positive term)'
    : null),
};

/** Notes for a backward step out of a layer's op (none for other ops). */
export function layerNotes(consumer, slot) {
  const explain = EXPLAINED[consumer.op];
  const note = explain ? explain(consumer, slot) : null;
  return note ? [note] : [];
}

const MAX_TERMS = 12;

/** out[0, 0, 0, 0] of a conv2d (or out[0, 0, 0] of a conv1d) as the patch it read times kernel 0. */
function firstOutput(node, operands) {
  const bias = operands[2];
  const geometry = isSummary(node.value) || isSummary(bias.value) ? null : convGeometry(node, operands);
  if (!geometry) return null;
  const kernel = geometry.w[0];
  const terms = [];
  let total = 0;
  for (let c = 0; c < kernel.length; c += 1) {
    for (let i = 0; i < kernel[c].length; i += 1) {
      for (let j = 0; j < kernel[c][i].length; j += 1) {
        // the first output element's window starts at the top-left corner, whatever the stride
        const met = inputAt(geometry, 0, c, i * geometry.dilation[0], j * geometry.dilation[1]);
        total += (met ? met.value : 0) * kernel[c][i][j];
        terms.push(`${met ? formatNumber(met.value) : '0 (padding)'}·${formatNumber(kernel[c][i][j])}`);
      }
    }
  }
  const given = bias.shape.length === 1 && bias.shape[0] > 0 && Array.isArray(bias.value);
  if (given) total += bias.value[0];
  const shown = terms.length <= MAX_TERMS ? terms.join(' + ') : `${terms.slice(0, 4).join(' + ')} + … (${terms.length} products)`;
  const where = geometry.one ? 'out[0, 0, 0]' : 'out[0, 0, 0, 0]';
  return `${where}: the patch at the top-left corner met kernel 0, element by element: ${shown}`
    + `${given ? ` + bias ${formatNumber(bias.value[0])}` : ''} = ${formatNumber(total)}`;
}

const FORWARD = {
  conv1d: firstOutput,
  conv2d: firstOutput,
  scaled_dot_product_attention: () => 'each query row scores every key (q·kᵀ·scale), the mask removes the positions it '
    + 'may not see, softmax turns each row of scores into weights, and the output row is those weights\' mix of the value rows',
  batch_norm: (node) => (node.params?.training
    ? 'each channel is normalised by the mean and the (biased) variance of its values over the batch and positions'
    : 'each channel is normalised by running_mean and running_var, constants here'),
  layer_norm: () => 'each row is normalised by the mean and the (biased) variance over its last axes',
  max_pool2d: () => 'each output is the largest element of its window',
};

/** Notes for a forward step of a layer's op (none for other ops). */
export function layerForwardNotes(node, operands) {
  const explain = FORWARD[node.op];
  const note = explain ? explain(node, operands) : null;
  return note ? [note] : [];
}

// The steps of an attention written out by hand (attention.js recognises it) in words: which tensor is
// the queries, the keys, the values, the scores, the mask and the weights, and why each backward step
// looks as it does, as explain-layers.js says it for scaled_dot_product_attention as one op. Pure; the
// notes use the display names the response's nodes carry.

import { attentionRole } from './attention.js';
import { hasHeads } from './heads.js';
import { flatten, formatNumber, isScalar, isSummary, toNumber } from './tensor.js';

/** The factor as people write it: 0.5 (1/√4). */
function factorText(factor) {
  if (factor === null) return 'a constant';
  const size = 1 / (factor * factor);
  const root = Number.isFinite(size) && Math.abs(size - Math.round(size)) < 1e-9 && factor > 0 ? ` (1/√${Math.round(size)})` : '';
  return `${formatNumber(factor)}${root}`;
}

/** A fill value: a number (-∞ too), or the label of the tensor torch.where fills from. */
const fillText = (value) => (isScalar(value) ? formatNumber(value) : String(value));

/**
 * Whether a mask hides exactly the keys after each query's own position (j > i) in every (T, T) slice: a
 * causal mask. `hides(x)` says whether an element of the mask hides its key.
 */
function isCausal({ shape, value }, hides) {
  if (shape.length < 2 || isSummary(value) || !Array.isArray(value)) return false;
  const rows = shape.at(-2);
  const cols = shape.at(-1);
  const { data } = flatten(value, shape);
  for (let at = 0; at < data.length; at += 1) {
    const i = Math.floor(at / cols) % rows;
    const j = at % cols;
    if (hides(data[at]) !== j > i) return false;
  }
  return rows > 1;
}

/** The labels of a pattern's parts (`name`: explain.js's, a compound label in parentheses), and its heads. */
function parts(pattern, { nodes, groups, output }, name) {
  const label = (id) => name(nodes[id].label);
  return {
    q: label(pattern.q), k: label(pattern.k), kT: label(pattern.keyT), v: label(pattern.v), scores: label(pattern.scores),
    masked: pattern.masked === null ? null : label(pattern.masked), weights: label(pattern.weights), y: label(pattern.output), L: label(output),
    perHead: hasHeads(nodes[pattern.scores], nodes, groups) ? ', in each head on its own' : '',
  };
}

function maskNote(pattern, names, nodes) {
  const { mask } = pattern;
  const condition = nodes[mask.condition];
  const causal = (hides) => (isCausal(condition, hides)
    ? ' (every key after the query\'s own position, the future: each query sees itself and the tokens before it)' : '');
  if (mask.kind === 'add') {
    return `the mask: ${condition.label} is added to the scores; where it is -∞ or very negative${causal((x) => x < -1e4)} `
      + 'the softmax gives that key weight 0, so the query does not see it';
  }
  // masked_fill's value is a parameter; torch.where's fill an operand (a number, or a tensor: then its label)
  const other = mask.fill === undefined ? null : nodes[mask.fill];
  const fill = other ? (isScalar(other.value) ? other.value : other.label)
    : nodes[pattern.masked].params?.value;
  const where = `where ${condition.label} ${mask.fillsWhen ? 'holds' : 'does not hold'}`;
  const zero = toNumber(fill) === -Infinity ? 'weight 0' : 'a weight of about 0';
  return `the mask: ${where}${causal((x) => (x !== 0) === mask.fillsWhen)}, ${names.masked} holds ${fillText(fill)} in place of the score; the softmax gives `
    + `those keys ${zero}`;
}

const FORWARD = {
  query: (p, names) => `the queries of an attention (scores = ${names.q} @ ${names.kT}): one row per position${names.perHead}`,
  key: (p, names) => `the keys of an attention (scores = ${names.q} @ ${names.kT}): each query's row meets every row of ${names.k}`,
  keyT: (p, names) => `the keys transposed (kᵀ): ${names.q} @ ${names.kT} then meets each query row with each key row`,
  value: (p, names) => `the values of an attention: the output mixes the rows of ${names.v} with the attention weights`,
  scores: (p, names) => `the scores: entry [i, j] is query i (row i of ${names.q}) · key j (row j of ${names.k}), `
    + `how well query i matches key j${names.perHead}`,
  scale: (p) => `the scores scaled by ${factorText(p.scale.factor)}: without it their spread grows with the head size `
    + 'and the softmax saturates to one key',
  mask: maskNote,
  weights: (p) => `the attention weights: softmax along each row turns query i's scores into weights over the keys `
    + `that sum to 1${p.mask ? ' (0 at the masked keys)' : ''}`,
  output: (p, names) => `the output: row i of ${names.y} = ${names.weights} @ ${names.v} is query i's weights' mix of the value `
    + `rows${names.perHead}`,
};

/** Notes for the forward step of a node of a hand-written attention (none for other nodes); `name` as parts'. */
export function attentionForwardNotes(response, node, name) {
  const found = attentionRole(node, response.nodes, response.groups);
  if (!found || (found.role === 'weights' && node.id !== found.pattern.weights)) return [];
  const { pattern, role } = found;
  return [FORWARD[role](pattern, parts(pattern, response, name), response.nodes)];
}

/** The backward note of a step out of `consumer` (its role in the pattern) into operand `slot`. */
function backwardNote(pattern, role, slot, nodes, names) {
  const dS = `∂${names.L}/∂${names.scores}`;
  switch (role) {
    case 'output':
      return slot === 0
        ? `into the weights: ∂${names.L}/∂${names.weights} = ∂${names.L}/∂${names.y} @ ${names.v}ᵀ, so weight [i, j] gets how well output `
          + `row i's gradient lines up with value row j`
        : `into the values: ∂${names.L}/∂${names.v} = ${names.weights}ᵀ @ ∂${names.L}/∂${names.y}: each value row gets the gradient of every `
          + 'output row in proportion to the weight that output gave it';
    case 'weights':
      // (opened, the softmax's own primitives say it step by step)
      return pattern.softmax !== null ? null : `softmax's backward, row by row: dS = P ⊙ (dP − Σ dP⊙P) with P = `
        + `${names.weights}${pattern.mask ? '; a masked key had weight 0, so its score gets gradient 0' : ''}`;
    case 'mask':
      if (slot !== pattern.mask.slot) return null;
      if (pattern.mask.kind === 'add') return 'the mask was added: the scores get the gradient after it unchanged';
      return 'the mask: a masked score never reaches the output (its key gets weight 0 whatever it is), so it gets '
        + 'gradient 0; the other scores pass the gradient on unchanged';
    case 'scale':
      return slot === pattern.scale.slot ? `the scale: the scores' gradient is scaled by the same ${factorText(pattern.scale.factor)}` : null;
    case 'scores':
      return slot === 0
        ? `into the queries: ∂${names.L}/∂${names.q} = ${dS} @ ${names.k}: query i's gradient is the keys, each weighted by the `
          + 'gradient of its score with query i'
        : `into the keys: ∂${names.L}/∂${names.kT} = ${names.q}ᵀ @ ${dS}: each key met every query in the scores, so it sums what `
          + 'every query sends it';
    default:
      return null;
  }
}

/** Notes for a backward step out of a node of a hand-written attention into operand `slot` (none for other nodes). */
export function attentionBackwardNotes(response, consumer, slot, name) {
  const found = attentionRole(consumer, response.nodes, response.groups);
  if (!found || (found.role === 'weights' && consumer.id !== found.pattern.weights)) return [];
  const { pattern, role } = found;
  const note = backwardNote(pattern, role, slot, response.nodes, parts(pattern, response, name));
  return note ? [note] : [];
}

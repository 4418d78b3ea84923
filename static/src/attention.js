/**
 * Attention written out by hand, recognised from the graph's structure: the way nanoGPT, Karpathy's
 * videos and most courses write it rather than as one `scaled_dot_product_attention` op,
 *
 *   att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))    scores, scaled
 *   att = att.masked_fill(mask == 0, float('-inf'))                    the mask (optional)
 *   att = F.softmax(att, dim=-1)                                       the weights
 *   y = att @ v                                                        the output
 *
 * that is: a matmul whose second operand is transposed over its last two axes → an optional scale by
 * a scalar (`* s` or `/ s`) → an optional mask (masked_fill, torch.where, or an added tensor that takes
 * no gradient), in either order → softmax over the last axis (an op, or opened into its primitives) →
 * a matmul with the weights as its first operand. Pure: the heads (heads.js) and the explanation
 * (explain-attention.js) read the roles it finds.
 */

const SCALE_OPS = new Set(['mul', 'div']);
const MASK_OPS = new Set(['masked_fill', 'where', 'add']);

/** A node that swaps its operand's last two axes: `k.transpose(-2, -1)`, `k.mT`, `k.permute(0, 1, 3, 2)`, `k.T`. */
function swapsLastTwo(node) {
  if (!node || node.op !== 'transpose' || node.shape.length < 2) return false;
  const axes = node.params?.axes;
  if (!axes) return node.shape.length === 2;
  const n = axes.length;
  return axes.every((axis, i) => (i < n - 2 ? axis === i : axis === (i === n - 2 ? n - 1 : n - 2)));
}

const isScalarNode = (node) => Boolean(node) && node.shape.every((size) => size === 1);

/** The scale step `scores * s`, `s * scores` or `scores / s` on node `id`: the factor it applied, the scores' operand slot. */
function scaleStep(node, id, nodes) {
  if (!SCALE_OPS.has(node.op) || node.inputs.length !== 2) return null;
  const slot = node.inputs.indexOf(id);
  const other = nodes[node.inputs[1 - slot]];
  if (slot < 0 || (node.op === 'div' && slot !== 0) || !isScalarNode(other)) return null;
  const value = typeof other.value === 'number' ? other.value : null;
  return { factor: value === null ? null : (node.op === 'div' ? 1 / value : value), slot };
}

/**
 * The mask step on node `id`: which operand is the condition (masked_fill, where) or the added mask,
 * which way the condition fills (`fillsWhen`: true for masked_fill, false when torch.where keeps
 * the scores where it holds), the scores' operand slot and (where) the fill's.
 */
function maskStep(node, id, nodes) {
  if (!MASK_OPS.has(node.op)) return null;
  if (node.op === 'masked_fill' && node.inputs[0] === id) return { kind: 'fill', condition: node.inputs[1], fillsWhen: true, slot: 0 };
  if (node.op === 'where' && node.inputs.length === 3) {
    if (node.inputs[1] === id) return { kind: 'fill', condition: node.inputs[0], fillsWhen: false, slot: 1, fill: node.inputs[2] };
    if (node.inputs[2] === id) return { kind: 'fill', condition: node.inputs[0], fillsWhen: true, slot: 2, fill: node.inputs[1] };
    return null;
  }
  if (node.op === 'add' && node.inputs.length === 2) {
    const slot = node.inputs.indexOf(id);
    const other = nodes[node.inputs[1 - slot]];
    // An added mask is a constant (no gradient), not a scalar: a bias the model learns is not a mask.
    if (other && other.id !== id && other.grad === null && !isScalarNode(other)) return { kind: 'add', condition: other.id, fillsWhen: null, slot };
  }
  return null;
}

const isLastAxis = (axis, rank) => axis === -1 || axis === rank - 1;

/**
 * The nodes that read each node (by id), and each softmax over a last axis by the id of its input:
 * {output, group} (group: an opened softmax's id, whose members then make the weights; null for the op).
 */
function consumersOf(nodes, groups) {
  const consumers = nodes.map(() => []);
  for (const node of nodes) for (const id of node.inputs) if (consumers[id] && !consumers[id].includes(node)) consumers[id].push(node);
  const softmaxes = new Map();
  for (const node of nodes) {
    if (node.op === 'softmax' && node.inputs.length === 1 && isLastAxis(node.params?.axis ?? -1, node.shape.length)) {
      softmaxes.set(node.inputs[0], { output: node.id, group: null });
    }
  }
  for (const group of groups ?? []) {
    if (group.op !== 'softmax' || group.inputs.length !== 1 || group.output === undefined) continue;
    const reduce = (group.nodes ?? []).map((id) => nodes[id]).find((node) => node && (node.op === 'max' || node.op === 'sum'));
    if (!reduce || isLastAxis(reduce.params?.axis, reduce.shape.length)) softmaxes.set(group.inputs[0], { output: group.output, group: group.id });
  }
  return { consumers, softmaxes };
}

/** The hand-written attention that starts at the scores matmul `scores`, or null. */
function patternFrom(scores, nodes, graph) {
  const pattern = { q: scores.inputs[0], keyT: scores.inputs[1], k: nodes[scores.inputs[1]].inputs[0], scores: scores.id, scale: null, mask: null };
  let at = scores.id;
  for (let guard = 0; guard < 2; guard += 1) {
    const next = graph.consumers[at].find((node) => (!pattern.scale && scaleStep(node, at, nodes)) || (!pattern.mask && maskStep(node, at, nodes)));
    if (!next) break;
    const scale = !pattern.scale && scaleStep(next, at, nodes);
    if (scale) pattern.scale = { id: next.id, ...scale };
    else pattern.mask = { id: next.id, ...maskStep(next, at, nodes) };
    at = next.id;
  }
  const softmax = graph.softmaxes.get(at);
  if (!softmax) return null;
  const output = graph.consumers[softmax.output].find((node) => node.op === 'matmul' && node.inputs[0] === softmax.output && node.inputs.length === 2);
  if (!output) return null;
  return { ...pattern, masked: pattern.mask?.id ?? null, softmax: softmax.group, weights: softmax.output, v: output.inputs[1], output: output.id };
}

const patterns = new WeakMap();

/** Every hand-written attention in a response's nodes (groups: its opened composites), cached per nodes array. */
export function handWrittenAttention(nodes, groups = null) {
  if (!nodes) return [];
  const cached = patterns.get(nodes);
  if (cached && cached.groups === groups) return cached.found;
  let found = [];
  const candidates = nodes.filter((node) => node.op === 'matmul' && node.inputs.length === 2 && node.shape.length >= 2
    && swapsLastTwo(nodes[node.inputs[1]]));
  if (candidates.length) {
    const graph = consumersOf(nodes, groups);
    found = candidates.map((node) => patternFrom(node, nodes, graph)).filter(Boolean);
  }
  patterns.set(nodes, { groups, found });
  return found;
}

/**
 * The hand-written attention node `node` takes part in, and its role there: 'query', 'key', 'keyT',
 * 'scores', 'scale', 'mask' (the masked scores), 'weights' (also inside an opened softmax), 'value',
 * 'output'; null when it takes part in none. The mask's own operand is no role: it has no heads.
 */
export function attentionRole(node, nodes, groups = null) {
  for (const pattern of handWrittenAttention(nodes, groups)) {
    const role = roleIn(pattern, node, groups);
    if (role) return { pattern, role };
  }
  return null;
}

function roleIn(pattern, node, groups) {
  const roles = [
    ['q', 'query'], ['k', 'key'], ['keyT', 'keyT'], ['scores', 'scores'], ['masked', 'mask'],
    ['weights', 'weights'], ['v', 'value'], ['output', 'output'],
  ];
  for (const [key, role] of roles) if (pattern[key] === node.id) return role;
  if (pattern.scale?.id === node.id) return 'scale';
  // Inside the opened softmax (its shift, exponentials and their sum): the weights being made.
  for (let id = node.group; pattern.softmax !== null && id !== null && id !== undefined; id = groups?.[id]?.parent) {
    if (id === pattern.softmax) return 'weights';
  }
  return null;
}

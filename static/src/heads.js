/**
 * Multi-head tensors as one small heatmap per head. Attention as nanoGPT shapes it keeps its heads
 * on axis 1 of a 4-D tensor: q, k, v are (B, nh, T, hs) and the weights (B, nh, T, T); unbatched,
 * the heads are axis 0 of a 3-D (nh, T, hs). Folded to rows × last axis (heatmap.js) those heads
 * run into each other; here each head is its own small map, labelled "head 0", "head 1", …, one
 * row of maps per batch item (the first few), all on one colour scale so the heads compare.
 * Which tensors have heads and how they slice: here, pure (the explanation uses it too); the
 * drawing: head-maps.js.
 */
import { attentionRole } from './attention.js';
import { flatten } from './tensor.js';

export const MAX_ITEMS = 4;
export const MAX_HEADS = 8;
const ATTENTION = 'scaled_dot_product_attention';
// Ops that move an axis to the front: the queries of an unbatched multi-head attention are made so
// (`q.view(T, nh, hs).transpose(0, 1)`), while one head's batched queries (B, T, hs) come from a matmul.
const AXIS_MOVES = new Set(['transpose', 'permute']);

/**
 * The attention a node belongs to: its own op, the attention it feeds, the opened one it is inside, or
 * an attention written out by hand (attention.js) it takes part in, as {inputs: [its queries]}.
 */
function attentionOf(node, nodes, groups) {
  if (node.op === ATTENTION) return node;
  const consumer = nodes.find((other) => other.op === ATTENTION && other.inputs.includes(node.id))
    ?? (groups ?? []).find((group) => group.op === ATTENTION && group.inputs.includes(node.id)); // opened
  if (consumer) return consumer;
  for (let id = node.group; groups && id !== null && id !== undefined; id = groups[id].parent) {
    if (groups[id].op === ATTENTION) return groups[id];
  }
  const handWritten = attentionRole(node, nodes, groups);
  return handWritten ? { inputs: [handWritten.pattern.q] } : null;
}

/**
 * Whether a node is drawn head by head: a 4-D tensor of an attention (its q, k, v, result, or a
 * score or weight inside it opened or written out by hand: heads on axis 1, PyTorch's (N, heads, L, E)),
 * or a 3-D one of an attention whose queries were moved into heads (heads on axis 0). A convolution's 4-D feature map
 * is not: its axis 1 is channels. `nodes` and `groups` are the response's (ids index them).
 */
export function hasHeads(node, nodes, groups = null) {
  if (!nodes || (node.shape.length !== 3 && node.shape.length !== 4)) return false;
  const attention = attentionOf(node, nodes, groups);
  if (!attention) return false;
  if (node.shape.length === 4) return true;
  const query = nodes[attention.inputs[0]];
  return Boolean(query && AXIS_MOVES.has(query.op));
}

/**
 * Marks (`heads: true`) the explanation's heatmaps that have the shape of one of `nodes` (the step's
 * consumer, input and operands) drawn head by head.
 */
export function markHeads(heatmaps, nodes, response) {
  const withHeads = nodes.filter((node) => hasHeads(node, response.nodes, response.groups));
  for (const map of heatmaps) {
    map.heads = withHeads.some((node) => node.shape.length === map.shape.length && node.shape.every((size, i) => size === map.shape[i]));
  }
  return heatmaps;
}

/**
 * The per-head slices of a 4-D (B, nh, R, C) or 3-D (nh, R, C) value: the first `maxItems` batch
 * items × the first `maxHeads` heads, each a row-major R × C view of the flattened data with the
 * index prefix it stands for ([b, h] or [h]).
 */
export function headSlices(value, shape, { maxItems = MAX_ITEMS, maxHeads = MAX_HEADS } = {}) {
  const { data } = flatten(value, shape);
  const batched = shape.length === 4;
  const [items, heads, rows, cols] = batched ? shape : [1, ...shape];
  const shownItems = Math.min(items, maxItems);
  const shownHeads = Math.min(heads, maxHeads);
  const slices = [];
  for (let item = 0; item < shownItems; item += 1) {
    for (let head = 0; head < shownHeads; head += 1) {
      const start = (item * heads + head) * rows * cols;
      slices.push({ item, head, prefix: batched ? [item, head] : [head], data: data.subarray(start, start + rows * cols) });
    }
  }
  return { data, slices, batched, items, heads, rows, cols, shownItems, shownHeads };
}

/** "one map per head (axis 1) · rows: axis 2 (4) · columns: axis 3 (4) · batch items 0–3 of 14". */
export function headsCaption(shape, { items, shownItems, heads, shownHeads, batched }) {
  const first = batched ? 1 : 0;
  const parts = [
    `one map per head (axis ${first}${shownHeads < heads ? `, the first ${shownHeads} of ${heads}` : ''})`,
    `rows: axis ${first + 1} (${shape[first + 1]}) · columns: axis ${first + 2} (${shape[first + 2]})`,
  ];
  if (batched) parts.push(shownItems < items ? `batch items 0–${shownItems - 1} of ${items}` : `one row of maps per batch item (axis 0)`);
  return parts.join(' · ');
}

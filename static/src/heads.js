/**
 * Multi-head tensors as one small heatmap per head. Attention as nanoGPT shapes it keeps its heads
 * on axis 1 of a 4-D tensor: q, k, v are (B, nh, T, hs) and the weights (B, nh, T, T); unbatched,
 * the heads are axis 0 of a 3-D (nh, T, hs). Folded to rows × last axis (heatmap.js) those heads
 * run into each other; here each head is its own small map, labelled "head 0", "head 1", …, one
 * row of maps per batch item (the first few), all on one colour scale so the heads compare.
 */
import { colourScale, heatmapCanvas, heatmapLegend } from './heatmap.js';
import { flatten, formatNumber, formatShape } from './tensor.js';

export const MAX_ITEMS = 4;
export const MAX_HEADS = 8;
const ATTENTION = 'scaled_dot_product_attention';
// Ops that move an axis to the front: the queries of an unbatched multi-head attention are made so
// (`q.view(T, nh, hs).transpose(0, 1)`), while one head's batched queries (B, T, hs) come from a matmul.
const AXIS_MOVES = new Set(['transpose', 'permute']);

/**
 * Whether a node is drawn head by head: every 4-D tensor (heads on axis 1), and a 3-D one that is
 * an operand or the result of an attention whose queries were moved into heads (heads on axis 0).
 * `nodes` are the response's nodes (ids index them).
 */
export function hasHeads(node, nodes) {
  if (node.shape.length === 4) return true;
  if (node.shape.length !== 3 || !nodes) return false;
  const attention = node.op === ATTENTION ? node : nodes.find((other) => other.op === ATTENTION && other.inputs.includes(node.id));
  const query = attention ? nodes[attention.inputs[0]] : null;
  return Boolean(query && AXIS_MOVES.has(query.op));
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

/**
 * The grid of per-head maps. `width` is what the row of heads may take; `maxHeight` bounds one map.
 * Cells are whole pixels (at least 1) unless a map of 34 px cells fits.
 */
export function createHeadHeatmaps(value, shape, { label, width = 280, maxHeight = 96 }) {
  const layout = headSlices(value, shape);
  const { slices, batched, rows, cols, shownHeads } = layout;
  const scale = colourScale(layout.data); // the whole tensor's: the heads compare
  const labelColumn = batched ? 44 : 0;
  const room = (width - labelColumn) / shownHeads - 8;
  const cell = Math.max(1, Math.floor(Math.min(34, room / Math.max(cols, 1), maxHeight / Math.max(rows, 1))));
  const root = document.createElement('figure');
  root.className = 'heatmap head-maps';
  const caption = document.createElement('figcaption');
  caption.className = 'axes';
  caption.textContent = headsCaption(shape, layout);
  const grid = document.createElement('div');
  grid.className = 'head-grid';
  grid.style.gridTemplateColumns = `${batched ? 'auto ' : ''}repeat(${shownHeads}, max-content)`;
  if (batched) grid.append(document.createElement('span'));
  for (let head = 0; head < shownHeads; head += 1) grid.append(tag('span', 'head-label', `head ${head}`));
  const readout = document.createElement('div');
  readout.className = 'readout';
  readout.setAttribute('aria-live', 'polite');
  const idle = 'Point at a cell to read its value.';
  readout.textContent = idle;
  for (const slice of slices) {
    if (batched && slice.head === 0) grid.append(tag('span', 'item-label', `item ${slice.item}`));
    const where = `head ${slice.head}${batched ? `, batch item ${slice.item}` : ''}`;
    const canvas = heatmapCanvas(slice.data, rows, cols, cell, scale, `${label}, ${where}: heatmap of a ${formatShape([rows, cols])} slice`);
    canvas.addEventListener('mousemove', (event) => {
      const bounds = canvas.getBoundingClientRect();
      const c = Math.floor((event.clientX - bounds.left) / cell);
      const r = Math.floor((event.clientY - bounds.top) / cell);
      if (r < 0 || c < 0 || r >= rows || c >= cols) return;
      readout.textContent = `${label}[${[...slice.prefix, r, c].join(', ')}] = ${formatNumber(slice.data[r * cols + c], 6)} (${where})`;
    });
    canvas.addEventListener('mouseleave', () => { readout.textContent = idle; });
    const box = tag('div', 'head-map', '');
    box.append(canvas);
    grid.append(box);
  }
  root.append(caption, grid, heatmapLegend(scale), readout);
  return root;
}

function tag(name, className, text) {
  const node = document.createElement(name);
  node.className = className;
  node.textContent = text;
  return node;
}

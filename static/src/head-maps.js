/**
 * The per-head maps of a multi-head tensor (heads.js says which tensors and how they slice): a grid
 * with a column per head labelled "head 0", "head 1", … and a row per batch item, on one colour
 * scale, the element under the pointer read out with its full index.
 */
import { colourScale, heatmapCanvas, heatmapLegend } from './heatmap.js';
import { headsCaption, headSlices } from './heads.js';
import { formatNumber, formatShape } from './tensor.js';

/**
 * The grid of per-head maps. `width` is what the row of heads may take; `maxHeight` bounds one map.
 * Cells are whole pixels (at least 1) unless a map of 34 px cells fits.
 */
export function createHeadHeatmaps(value, shape, { label, width = 280, maxHeight = 72 }) {
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
  grid.style.gridTemplateColumns = `${batched ? 'max-content ' : ''}repeat(${shownHeads}, max-content)`;
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

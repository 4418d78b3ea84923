/**
 * The explanation's heatmaps: a backward step whose tensors are too large to write out as
 * matrices (explain.js sets `heatmaps`) shows a small heatmap of each factor and of the result,
 * captioned with its name and shape, beside the one-line summary. A multi-head tensor (`heads`,
 * set by heads.js's markHeads) is one small map per head.
 */
import { createHeatmap } from './heatmap.js';
import { createHeadHeatmaps } from './head-maps.js';
import { formatShape } from './tensor.js';

export function appendHeatmaps(root, heatmaps) {
  if (!heatmaps || !heatmaps.length) return;
  const row = document.createElement('div');
  row.className = 'explain-heatmaps';
  // Per-head grids are the widest: one above the other, so the float is one grid wide and the formula keeps its room.
  row.classList.toggle('per-head', heatmaps.some((map) => map.heads));
  for (const { label, value, shape, heads } of heatmaps) {
    // Small: the inspector has the full-size map with its pointer read-out.
    const figure = heads
      ? createHeadHeatmaps(value, shape, { label, width: 180, maxHeight: 32 })
      : createHeatmap(value, shape, { label, maxWidth: 96, maxHeight: 44 });
    const caption = document.createElement('figcaption');
    caption.textContent = `${label} · ${formatShape(shape)}`;
    figure.prepend(caption);
    row.append(figure);
  }
  // Beside the formula (floated right, after the title), where the panel has room to spare.
  const title = root.querySelector('.step-title');
  if (title) title.after(row);
  else root.append(row);
}

/**
 * A tensor as a small heatmap: one canvas cell per element (vectors as one row, higher ranks
 * folded to rows × last axis), a diverging colour scale centred on 0, a legend, and the element
 * under the pointer read out. Non-finite entries are drawn dark grey.
 */
import * as d3 from 'd3';
import { flatten, formatNumber, formatShape } from './tensor.js';

const MAX_WIDTH = 300;
const MAX_HEIGHT = 220;

/** Symmetric diverging scale: blue below 0, red above, white at 0. */
export function colourScale(data) {
  let extent = 0;
  for (const x of data) if (Number.isFinite(x)) extent = Math.max(extent, Math.abs(x));
  return d3.scaleDiverging([-extent || -1, 0, extent || 1], (t) => d3.interpolateRdBu(1 - t));
}

/**
 * `maxWidth`/`maxHeight` given (the explanation's small maps): cells shrink below 2 px to fit, so
 * the row and column indices are placed on the cells as drawn, not on a canvas scaled afterwards.
 * Otherwise cells are whole pixels, at least 2, and a map wider than its panel scrolls there
 * (focusable, so a keyboard can scroll it).
 */
export function createHeatmap(value, shape, { label, maxWidth = null, maxHeight = null }) {
  const { data, rows, cols } = flatten(value, shape);
  const fitted = maxWidth !== null;
  const cell = fitted
    ? Math.max(0.25, Math.min(34, maxWidth / Math.max(cols, 1), (maxHeight ?? MAX_HEIGHT) / Math.max(rows, 1)))
    : Math.max(2, Math.min(34, Math.floor(MAX_WIDTH / cols), Math.floor(MAX_HEIGHT / Math.max(rows, 1))));
  const scale = colourScale(data);
  const root = document.createElement('figure');
  root.className = 'heatmap';
  const canvas = heatmapCanvas(data, rows, cols, cell, scale, `${label}: heatmap of a ${formatShape(shape)} tensor`);

  const readout = document.createElement('div');
  readout.className = 'readout';
  readout.setAttribute('aria-live', 'polite');
  readout.textContent = 'Point at a cell to read its value.';
  canvas.addEventListener('mousemove', (event) => {
    const bounds = canvas.getBoundingClientRect();
    const c = Math.floor((event.clientX - bounds.left) / cell);
    const r = Math.floor((event.clientY - bounds.top) / cell);
    if (r < 0 || c < 0 || r >= rows || c >= cols) return;
    const index = shape.length <= 1 ? `[${c}]` : `[${unravel(r * cols + c, shape).join(', ')}]`;
    readout.textContent = `${label}${index} = ${formatNumber(data[r * cols + c], 6)}`;
  });
  canvas.addEventListener('mouseleave', () => { readout.textContent = 'Point at a cell to read its value.'; });

  const legend = heatmapLegend(scale);
  const scroller = document.createElement('div');
  scroller.className = 'heatmap-scroll';
  if (!fitted) {
    scroller.tabIndex = 0;
    scroller.setAttribute('role', 'group');
    scroller.setAttribute('aria-label', `${label}: heatmap (scrolls when wider than the panel)`);
  }
  scroller.append(axisIndices(cols, cell, 'columns'), rowsAndCanvas(rows, cell, canvas));
  const axes = document.createElement('figcaption');
  axes.className = 'axes';
  axes.textContent = axesCaption(shape);
  root.append(axes, scroller, legend, readout);
  return root;
}

/**
 * One canvas of `rows` × `cols` cells of `cell` px coloured by `scale` (shared with the per-head
 * maps of heads.js), numbers written inside the cells where they fit, hairlines between cells.
 */
export function heatmapCanvas(data, rows, cols, cell, scale, ariaLabel) {
  const canvas = document.createElement('canvas');
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(cols * cell * ratio));
  canvas.height = Math.max(1, Math.round(rows * cell * ratio));
  canvas.style.width = `${cols * cell}px`;
  canvas.style.height = `${rows * cell}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', ariaLabel);
  const context = canvas.getContext('2d');
  context.scale(ratio, ratio);
  // Numbers inside the cells only where they fit; otherwise the pointer read-out does the job.
  const writeNumbers = cell >= 30;
  const NUMBER_CHAR = 6.2;
  context.font = '10px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  context.textAlign = 'center';
  context.textBaseline = 'middle';
  paintCells(context, data, rows, cols, cell, scale);
  for (let r = 0; r < rows && writeNumbers; r += 1) {
    for (let c = 0; c < cols; c += 1) {
      const x = data[r * cols + c];
      let text = formatNumber(x, 3);
      if (text.length * NUMBER_CHAR > cell - 4) text = formatNumber(x, 2);
      if (text.length * NUMBER_CHAR > cell - 4) continue;
      context.fillStyle = Number.isFinite(x) && Math.abs(scale.domain()[2]) && Math.abs(x) / scale.domain()[2] > 0.6 ? '#fff' : '#1d2433';
      context.fillText(text, c * cell + cell / 2, r * cell + cell / 2);
    }
  }
  if (cell >= 6) {
    // Hairlines between cells keep neighbouring equal values distinguishable.
    context.strokeStyle = 'rgba(255,255,255,0.7)';
    context.lineWidth = 1;
    for (let c = 1; c < cols; c += 1) line(context, c * cell, 0, c * cell, rows * cell);
    for (let r = 1; r < rows; r += 1) line(context, 0, r * cell, cols * cell, r * cell);
  }
  return canvas;
}

/** The colour bar from the scale's low end to its high end, each end's number written. */
export function heatmapLegend(scale) {
  const legend = document.createElement('div');
  legend.className = 'legend';
  const [low, , high] = scale.domain();
  const stops = d3.range(0, 1.0001, 0.1).map((t) => `${d3.interpolateRdBu(1 - t)} ${t * 100}%`).join(', ');
  legend.innerHTML = `<span>${formatNumber(low)}</span><span class="bar" style="background: linear-gradient(to right, ${stops})"></span><span>${formatNumber(high)}</span>`;
  return legend;
}

/** Colours of the scale sampled at this many levels (finer than the eye tells apart). */
const LEVELS = 512;

/**
 * Every cell's colour, written as one pixel per element and drawn scaled up without smoothing: a
 * 784×100 weight is 78,400 cells, and a colour string and a fillRect each took ~40 ms, the whole
 * step's budget (issue 14).
 */
function paintCells(context, data, rows, cols, cell, scale) {
  const [low, , high] = scale.domain();
  const table = new Uint8ClampedArray(LEVELS * 3);
  for (let i = 0; i < LEVELS; i += 1) {
    const { r, g, b } = d3.rgb(scale(low + ((high - low) * i) / (LEVELS - 1)));
    table.set([r, g, b], i * 3);
  }
  const image = new ImageData(Math.max(cols, 1), Math.max(rows, 1));
  const pixels = image.data;
  for (let i = 0; i < rows * cols; i += 1) {
    const x = data[i];
    const at = i * 4;
    if (Number.isFinite(x)) {
      const level = Math.round(((Math.min(high, Math.max(low, x)) - low) / (high - low)) * (LEVELS - 1)) * 3;
      pixels[at] = table[level];
      pixels[at + 1] = table[level + 1];
      pixels[at + 2] = table[level + 2];
    } else {
      pixels[at] = 68; // non-finite: dark grey (#444)
      pixels[at + 1] = 68;
      pixels[at + 2] = 68;
    }
    pixels[at + 3] = 255;
  }
  const cells = document.createElement('canvas');
  cells.width = image.width;
  cells.height = image.height;
  cells.getContext('2d').putImageData(image, 0, 0);
  context.imageSmoothingEnabled = false;
  context.drawImage(cells, 0, 0, cols * cell, rows * cell);
}

/** Which axes the rows and columns are: "rows: axis 0 (8) · columns: axis 1 (15)". */
export function axesCaption(shape) {
  if (shape.length <= 1) return `index 0…${Math.max(0, (shape[0] ?? 1) - 1)} left to right`;
  const last = shape.length - 1;
  const rowAxes = shape.length === 2 ? 'axis 0' : `axes 0–${last - 1} (flattened)`;
  return `rows: ${rowAxes} (${shape.slice(0, last).join('×')}) · columns: axis ${last} (${shape[last]})`;
}

/** Every how many cells an index is written so that labels of `chars` digits never touch. */
export function indexStride(cell, chars) {
  const width = chars * 6.5 + 4;
  return Math.max(1, Math.ceil(width / cell));
}

function axisIndices(count, cell, kind) {
  const strip = document.createElement('div');
  strip.className = `indices ${kind}`;
  strip.setAttribute('aria-hidden', 'true');
  strip.style.width = `${count * cell}px`;
  const stride = indexStride(cell, String(count - 1).length);
  for (let i = 0; i < count; i += stride) {
    const tick = document.createElement('span');
    tick.textContent = String(i);
    tick.style.left = `${i * cell + cell / 2}px`;
    strip.append(tick);
  }
  return strip;
}

function rowsAndCanvas(rows, cell, canvas) {
  const wrap = document.createElement('div');
  wrap.className = 'rows-and-cells';
  const strip = document.createElement('div');
  strip.className = 'indices rows';
  strip.setAttribute('aria-hidden', 'true');
  strip.style.height = `${rows * cell}px`;
  // Row labels need the cell height to be at least a line of 10 px text.
  const stride = Math.max(1, Math.ceil(12 / cell));
  for (let i = 0; i < rows; i += stride) {
    const tick = document.createElement('span');
    tick.textContent = String(i);
    tick.style.top = `${i * cell + cell / 2}px`;
    strip.append(tick);
  }
  wrap.append(strip, canvas);
  return wrap;
}

function line(context, x0, y0, x1, y1) {
  context.beginPath();
  context.moveTo(x0 + 0.5, y0 + 0.5);
  context.lineTo(x1 + 0.5, y1 + 0.5);
  context.stroke();
}

/** Flat index → multi-index for a shape (row-major, as numpy). */
export function unravel(index, shape) {
  const out = new Array(shape.length);
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis -= 1) {
    out[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
  }
  return out;
}

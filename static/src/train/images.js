/**
 * Image data of a trained classifier, as pixel arrays ready to paint: dataset rows as images,
 * each first-layer unit's incoming weights as an image, predictions against labels, and which
 * eval rows to fetch. Pure; image-panel.js paints them.
 */
import { flatten, isSummary, toNumber } from '../tensor.js';

/** Rows of an (N, pixels) tensor value as N Float64Arrays. */
export function imageRows(value, shape) {
  const { data, rows, cols } = flatten(value, shape);
  return Array.from({ length: rows }, (_, r) => data.subarray(r * cols, (r + 1) * cols));
}

/**
 * A first layer's weights W of shape (pixels, units) (x @ W, as linear() takes them): unit j's
 * incoming weights are column j, one weight per pixel. Null when W came back as a summary.
 */
export function weightImages(value, shape) {
  if (isSummary(value) || shape.length !== 2) return null;
  const { data, rows: pixels, cols: units } = flatten(value, shape);
  return Array.from({ length: units }, (_, unit) => {
    const image = new Float64Array(pixels);
    for (let p = 0; p < pixels; p += 1) image[p] = data[p * units + unit];
    return image;
  });
}

/** One cell per shown row: its label, the predicted class, and whether they differ. */
export function predictionCells(predictions, labels) {
  return labels.map((label, i) => {
    const predicted = toNumber(predictions[i]);
    const truth = toNumber(label);
    return { index: i, label: truth, predicted, wrong: predicted !== truth };
  });
}

/** The largest |x| (at least a tiny positive number, so a zero image still has a scale). */
export function maxAbs(data) {
  let extent = 0;
  for (const x of data) if (Number.isFinite(x) && Math.abs(x) > extent) extent = Math.abs(x);
  return extent || 1e-12;
}

/**
 * How many eval rows to show: as many as fit whole in one response (the server summarizes
 * tensors past `maxElements`), at most `cap`, at most the number of predictions.
 */
export function shownRowCount(predictionCount, pixels, maxElements, cap = 45) {
  return Math.max(0, Math.min(cap, predictionCount, Math.floor(maxElements / pixels)));
}

/** The dataset spec of eval row i: `rows` picks it out of the split (all rows when absent). */
export function evalRowSpec(spec, rowIndices, extra = {}) {
  const rows = spec.rows ? rowIndices.map((i) => spec.rows[i]) : rowIndices;
  return { ...spec, rows, ...extra };
}

/** The first-layer weight: the parameter the image input is multiplied by (linear(x, W, b) or x @ W). */
export function firstLayerWeight(response, imageInput) {
  const input = response.nodes.find((node) => node.op === 'input' && node.name === imageInput);
  if (!input) return null;
  const consumer = response.nodes.find((node) => (node.op === 'linear' || node.op === 'matmul') && node.inputs[0] === input.id);
  if (!consumer) return null;
  const weight = response.nodes[consumer.inputs[1]];
  return weight && weight.op === 'input' ? weight.name : null;
}

/**
 * Paints a trained classifier's images: test digits with their predicted labels (wrong ones
 * marked), each first-layer unit's weights as an image, and a chosen digit's gradient of the
 * loss with respect to its pixels. Grey levels for pixels; blue–white–red, centred on 0, for
 * weights and gradients. The data comes ready from images.js; this module only draws.
 */
import * as d3 from 'd3';
import { formatNumber } from '../tensor.js';
import { maxAbs } from './images.js';

const diverging = (extent) => (x) => d3.interpolateRdBu(0.5 - x / (2 * extent));

/** One image as a canvas, `scale` CSS pixels per image pixel. */
export function paintImage(pixels, [rows, cols], { scale = 4, colour = (x) => d3.interpolateGreys(x), label = '' } = {}) {
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.width = `${cols * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  canvas.setAttribute('role', 'img');
  if (label) canvas.setAttribute('aria-label', label);
  const context = canvas.getContext('2d');
  const image = context.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i += 1) {
    const { r, g, b } = d3.rgb(colour(pixels[i]));
    image.data.set([r, g, b, 255], i * 4);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

function heading(text) {
  const title = document.createElement('h3');
  title.textContent = text;
  return title;
}

function note(text, className = 'note') {
  const paragraph = document.createElement('p');
  paragraph.className = className;
  paragraph.textContent = text;
  return paragraph;
}

export function createImagePanel(root, { onPickDigit }) {
  const digits = document.createElement('section');
  digits.className = 'image-block digits-block';
  const weights = document.createElement('section');
  weights.className = 'image-block weights-block';
  const saliency = document.createElement('section');
  saliency.className = 'image-block saliency-block';
  root.append(digits, weights, saliency);

  function clear() {
    digits.replaceChildren();
    weights.replaceChildren();
    saliency.replaceChildren();
    root.hidden = true;
  }

  /** cells: predictionCells(...) with `pixels` added; imageShape: [rows, cols]. */
  function showPredictions(cells, imageShape, { totalRows, accuracy }) {
    root.hidden = false;
    const wrong = cells.filter((cell) => cell.wrong).length;
    const grid = document.createElement('div');
    grid.className = 'digit-grid';
    const scale = imageShape[0] <= 8 ? 3 : 1;
    for (const cell of cells) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `digit${cell.wrong ? ' wrong' : ''}`;
      button.dataset.row = String(cell.index);
      button.dataset.predicted = String(cell.predicted);
      button.dataset.label = String(cell.label);
      button.title = `test row ${cell.index}: label ${cell.label}, predicted ${cell.predicted}${cell.wrong ? ' (wrong)' : ''}. Click for ∂loss/∂pixels.`;
      const shown = cell.wrong ? `${cell.predicted}≠${cell.label}` : String(cell.predicted);
      // The spoken name starts with the caption seen under the image (WCAG 2.5.3).
      button.setAttribute('aria-label', `${shown}: ${button.title}`);
      button.append(paintImage(cell.pixels, imageShape, { scale, label: `a digit labelled ${cell.label}, predicted ${cell.predicted}` }));
      const caption = document.createElement('span');
      caption.textContent = shown;
      button.append(caption);
      button.addEventListener('click', () => onPickDigit(cell));
      grid.append(button);
    }
    const share = accuracy === null || accuracy === undefined ? '' : `; ${formatNumber(accuracy * 100, 3)}% right on all ${totalRows} test rows`;
    digits.replaceChildren(
      heading('Test digits and predictions'),
      note(`${cells.length} of ${totalRows} shown, ${wrong} wrong among them (red)${share}.`),
      grid,
    );
  }

  /** images: one Float64Array per first-layer unit, or null with `why` when not available. */
  function showWeights(images, imageShape, { name, why }) {
    root.hidden = false;
    if (!images) {
      weights.replaceChildren(heading('First-layer weights'), note(why, 'note missing'));
      return;
    }
    const grid = document.createElement('div');
    grid.className = 'weight-grid';
    const extent = Math.max(...images.map(maxAbs));
    const scale = imageShape[0] <= 8 ? 2 : 1; // 28×28 at one screen pixel each: smaller loses the strokes
    images.forEach((image, unit) => {
      const canvas = paintImage(image, imageShape, { scale, colour: diverging(extent), label: `unit ${unit}'s weights` });
      canvas.title = `unit ${unit}: its ${image.length} incoming weights (${name}[:, ${unit}])`;
      grid.append(canvas);
    });
    weights.replaceChildren(
      heading(`First-layer weights (${name}), one image per unit`),
      note(`What each of the ${images.length} units looks for: red pixels raise its input, blue lower it (scale ±${formatNumber(extent, 3)}).`),
      grid,
    );
  }

  function showSaliencyPending(cell) {
    saliency.replaceChildren(heading(`∂loss/∂pixels of test row ${cell.index}`), note('Computing…'));
  }

  function showSaliency(cell, grad, imageShape, { why } = {}) {
    root.hidden = false;
    if (!grad) {
      saliency.replaceChildren(heading(`∂loss/∂pixels of test row ${cell.index}`), note(why, 'note missing'));
      return;
    }
    const extent = maxAbs(grad);
    const scale = imageShape[0] <= 8 ? 10 : 3;
    const pair = document.createElement('div');
    pair.className = 'saliency-pair';
    pair.append(
      paintImage(cell.pixels, imageShape, { scale, label: `test row ${cell.index}` }),
      paintImage(grad, imageShape, { scale, colour: diverging(extent), label: `gradient of the loss with respect to test row ${cell.index}'s pixels` }),
    );
    saliency.replaceChildren(
      heading(`∂loss/∂pixels of test row ${cell.index} (label ${cell.label}, predicted ${cell.predicted})`),
      pair,
      note(`Red pixels: darkening them raises the loss; blue: darkening them lowers it (scale ±${formatNumber(extent, 3)}).`),
    );
    saliency.dataset.row = String(cell.index);
  }

  clear();
  return { clear, showPredictions, showWeights, showSaliency, showSaliencyPending };
}

/**
 * Camera framing: where the view should look so that a step's nodes (both ends of the current
 * edge) are on screen and readable. Pure math on boxes and {k, x, y} transforms (screen =
 * x + k · graph), so it is tested in Node; render.js applies the answer with d3-zoom.
 */

/** Node text is ≥ 11 px on screen at this zoom (the smallest card text is 11 px). */
export const READABLE_SCALE = 1;
export const MAX_SCALE = 1.4;
/** The presentation view's zoom: the smallest card text (11 px) is then 20 px on screen. */
export const PRESENT_SCALE = 1.85;
export const MIN_SCALE = 0.02;

/** The smallest box holding all boxes ({x, y, width, height}), or null for none. */
export function unionBox(boxes) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const box of boxes) {
    if (!box) continue;
    x0 = Math.min(x0, box.x);
    y0 = Math.min(y0, box.y);
    x1 = Math.max(x1, box.x + box.width);
    y1 = Math.max(y1, box.y + box.height);
  }
  return x0 === Infinity ? null : { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** The scale at which a box fits a view with a margin on every side. */
export function fitScale(box, view, margin = 24) {
  return Math.min((view.width - 2 * margin) / Math.max(box.width, 1), (view.height - 2 * margin) / Math.max(box.height, 1));
}

/** A transform that centres a box at scale k. */
export function centreOn(box, view, k) {
  return {
    k,
    x: view.width / 2 - k * (box.x + box.width / 2),
    y: view.height / 2 - k * (box.y + box.height / 2),
  };
}

/** True when the box lies inside the view (with the margin) under the transform. */
export function isInView(box, view, transform, margin = 0) {
  const left = transform.x + transform.k * box.x;
  const top = transform.y + transform.k * box.y;
  const right = left + transform.k * box.width;
  const bottom = top + transform.k * box.height;
  return left >= margin && top >= margin && right <= view.width - margin && bottom <= view.height - margin;
}

/**
 * True when the box is partly in the view's rect (graph units) and partly out: an edge label
 * cut so would show a truncated number ("mean -9.444e" of -9.444e-5), so it is hidden until it
 * is whole in view (issue 23: the MNIST page cut one at the top right).
 */
export function isCut(box, rect) {
  const meets = box.x < rect.x + rect.width && box.x + box.width > rect.x && box.y < rect.y + rect.height && box.y + box.height > rect.y;
  const inside = box.x >= rect.x && box.y >= rect.y && box.x + box.width <= rect.x + rect.width && box.y + box.height <= rect.y + rect.height;
  return meets && !inside;
}

/**
 * The transform that shows every box of a step. Keeps the current view when they are all in it
 * already (no needless motion); otherwise centres them at the preferred zoom, zoomed out only as
 * far as needed to get both ends in (never past MIN_SCALE).
 */
export function frameBoxes(boxes, view, current, { preferredScale = READABLE_SCALE, margin = 24, maxScale = MAX_SCALE } = {}) {
  const box = unionBox(boxes);
  if (!box || !view.width || !view.height) return current;
  const fits = Math.max(MIN_SCALE, fitScale(box, view, margin));
  const k = Math.min(preferredScale, fits, maxScale);
  if (Math.abs(current.k - k) < 1e-9 && isInView(box, view, current, margin / 2)) return current;
  if (current.k <= k && isInView(box, view, current, margin / 2)) return current;
  return centreOn(box, view, k);
}

/**
 * The opening view of a graph: the whole graph when it fits at a readable zoom, else the
 * first step's boxes at the readable zoom (a graph that cannot be read whole opens where the
 * action starts).
 */
export function openingTransform(graphBox, focusBoxes, view, margin = 24) {
  const whole = fitScale(graphBox, view, margin);
  if (whole >= READABLE_SCALE) return centreOn(graphBox, view, Math.min(MAX_SCALE, whole));
  const boxes = focusBoxes.length ? focusBoxes : [graphBox];
  const framed = frameBoxes(boxes, view, { k: 0, x: 0, y: 0 }, { margin });
  // A short view (Train mode's graph beside its chart) may not hold a step with three operands
  // at 100 %: it still opens readable, centred on the step (stepping may zoom out later).
  return framed.k >= READABLE_SCALE ? framed : centreOn(unionBox(boxes), view, READABLE_SCALE);
}

/**
 * The arithmetic of dragging a number: how far a pixel moves it, and how the result is rounded so
 * that the numbers stay readable. Pure; play.js wires it to pointer and key events.
 */

/** Change per pixel: a hundredth of the value's order of magnitude (at least 0.001 per pixel). */
export function stepFor(start) {
  const magnitude = Math.max(Math.abs(start), 0.1);
  return 10 ** (Math.floor(Math.log10(magnitude)) - 2);
}

/** Pixels per whole step when a value moves in whole numbers. */
const WHOLE_STEP_PIXELS = 10;

/**
 * The value after dragging `dx` pixels from `start`; `fine` (Alt held) moves ten times slower.
 * `whole`: the value is a class index or a position (see wholeNumbers), so it moves by whole
 * numbers, one per ten pixels, and Alt changes nothing: 2.03 would only be refused.
 */
export function draggedValue(start, dx, { fine = false, whole = false } = {}) {
  if (whole) return start + Math.trunc(dx / WHOLE_STEP_PIXELS);
  const step = stepFor(start) / (fine ? 10 : 1);
  return roundTo(start + dx * step, step);
}

/** One keyboard nudge (↑/↓): ten pixels' worth (one whole step for a whole number). */
export function nudgedValue(start, direction, { fine = false, whole = false } = {}) {
  return draggedValue(start, 10 * direction, { fine, whole });
}

/**
 * Whether an input node's numbers are to move in whole steps: integers that no gradient reaches,
 * which is what labels, class indices, token ids and positions are (cross_entropy, embedding and
 * indexing refuse a fraction with a 422). An input the gradient reaches keeps moving smoothly,
 * even when it happens to hold an integer (the tutorial's x = 2).
 */
export function wholeNumbers(node, value) {
  return Boolean(node) && node.op === 'input' && node.grad == null && Number.isInteger(value);
}

function roundTo(value, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number(value.toFixed(Math.min(decimals, 12)));
}

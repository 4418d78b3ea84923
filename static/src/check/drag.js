/**
 * The arithmetic of dragging a number: how far a pixel moves it, and how the result is rounded so
 * that the numbers stay readable. Pure; play.js wires it to pointer and key events.
 */

/** Change per pixel: a hundredth of the value's order of magnitude (at least 0.001 per pixel). */
export function stepFor(start) {
  const magnitude = Math.max(Math.abs(start), 0.1);
  return 10 ** (Math.floor(Math.log10(magnitude)) - 2);
}

/** The value after dragging `dx` pixels from `start`; `fine` (Alt held) moves ten times slower. */
export function draggedValue(start, dx, { fine = false } = {}) {
  const step = stepFor(start) / (fine ? 10 : 1);
  return roundTo(start + dx * step, step);
}

/** One keyboard nudge (↑/↓): ten pixels' worth. */
export function nudgedValue(start, direction, { fine = false } = {}) {
  return draggedValue(start, 10 * direction, { fine });
}

function roundTo(value, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number(value.toFixed(Math.min(decimals, 12)));
}

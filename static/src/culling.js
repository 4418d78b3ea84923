/**
 * What to draw: only what is on screen (plus a margin), and at low zoom only shapes. Pure: boxes
 * and transforms in, index lists out; render.js applies them (display: none takes an element out
 * of style, layout and paint, so a step costs the same at 5,000 nodes as at 5).
 */

/** Below this zoom card text is under ~5 px: cards draw as plain boxes (level of detail). */
export const SHAPES_ONLY_BELOW = 0.45;

export function levelOfDetail(scale) {
  return scale < SHAPES_ONLY_BELOW ? 'shapes' : 'full';
}

/** The bounding box of a polyline (an edge's route). */
export function boxOfPoints(points) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of points) {
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (x > x1) x1 = x;
    if (y > y1) y1 = y;
  }
  return x0 === Infinity ? { x: 0, y: 0, width: 0, height: 0 } : { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * The part of the graph under the view ({k, x, y}: screen = x + k · graph), grown by `margin`
 * view-widths on each side so that panning a little shows what is already drawn.
 */
export function visibleRect(transform, view, margin = 0.5) {
  const width = view.width / transform.k;
  const height = view.height / transform.k;
  const left = -transform.x / transform.k;
  const top = -transform.y / transform.k;
  return { x: left - width * margin, y: top - height * margin, width: width * (1 + 2 * margin), height: height * (1 + 2 * margin) };
}

export function intersects(box, rect) {
  return box.x < rect.x + rect.width && box.x + box.width > rect.x && box.y < rect.y + rect.height && box.y + box.height > rect.y;
}

/**
 * Remembers which of `boxes` are shown; `update(rect)` returns the indices to show and to hide
 * so that exactly the boxes meeting `rect` are shown (all start hidden).
 */
export function createCuller(boxes) {
  const shown = new Uint8Array(boxes.length);
  return {
    update(rect) {
      const show = [];
      const hide = [];
      for (let i = 0; i < boxes.length; i += 1) {
        const box = boxes[i];
        const visible = box ? (intersects(box, rect) ? 1 : 0) : 0;
        if (visible === shown[i]) continue;
        shown[i] = visible;
        (visible ? show : hide).push(i);
      }
      return { show, hide };
    },
    isShown(i) {
      return shown[i] === 1;
    },
    get count() {
      let total = 0;
      for (const value of shown) total += value;
      return total;
    },
  };
}

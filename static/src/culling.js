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

/** The grid's cell side (graph units): a few cards a cell. */
const CELL = 400;
/** A box over more cells than this (a long edge) is checked on every query instead. */
const MAX_CELLS = 64;

/** A cell's number (a string key per cell made building the index of 10,000 boxes slow). */
function cellKey(column, row) {
  return column * 0x100000 + row;
}

/**
 * The boxes meeting a rectangle without looking at every box: each box is filed under the grid
 * cells it covers, so a query costs the cells under the rectangle and the boxes filed there (a
 * step's label and a camera move touch what is near, at any graph size).
 */
export function createGridIndex(boxes, cell = CELL) {
  const cells = new Map(); // cellKey(column, row) → indices of the boxes over that cell
  const wide = []; // boxes over more than MAX_CELLS cells
  boxes.forEach((box, index) => {
    if (!box) return;
    const [c0, r0, c1, r1] = span(box);
    if ((c1 - c0 + 1) * (r1 - r0 + 1) > MAX_CELLS) {
      wide.push(index);
      return;
    }
    for (let c = c0; c <= c1; c += 1) {
      for (let r = r0; r <= r1; r += 1) {
        const key = cellKey(c, r);
        if (!cells.has(key)) cells.set(key, []);
        cells.get(key).push(index);
      }
    }
  });
  const seen = new Uint32Array(boxes.length); // query stamps: a box over several cells counts once
  let stamp = 0;

  function span(box) {
    return [Math.floor(box.x / cell), Math.floor(box.y / cell), Math.floor((box.x + box.width) / cell), Math.floor((box.y + box.height) / cell)];
  }

  return {
    /** Indices of the boxes meeting `rect`, in ascending order. */
    query(rect) {
      stamp += 1;
      const found = [];
      const take = (index) => {
        if (seen[index] === stamp) return;
        seen[index] = stamp;
        if (intersects(boxes[index], rect)) found.push(index);
      };
      const [c0, r0, c1, r1] = span(rect);
      if ((c1 - c0 + 1) * (r1 - r0 + 1) > cells.size) {
        // A rectangle over more cells than there are filled ones (zoomed far out): walk the filled ones.
        for (const list of cells.values()) for (const index of list) take(index);
      } else {
        for (let c = c0; c <= c1; c += 1) {
          for (let r = r0; r <= r1; r += 1) {
            const list = cells.get(cellKey(c, r));
            if (list) for (const index of list) take(index);
          }
        }
      }
      for (const index of wide) take(index);
      return found.sort((a, b) => a - b);
    },
  };
}

/**
 * Remembers which of `boxes` are shown; `update(rect)` returns the indices to show and to hide
 * (ascending) so that exactly the boxes meeting `rect` are shown (all start hidden). It costs
 * what is near `rect` and what was shown, not the number of boxes.
 */
export function createCuller(boxes) {
  const index = createGridIndex(boxes);
  let shown = new Set();
  return {
    update(rect) {
      const visible = index.query(rect);
      const next = new Set(visible);
      const show = visible.filter((i) => !shown.has(i));
      const hide = [...shown].filter((i) => !next.has(i)).sort((a, b) => a - b);
      shown = next;
      return { show, hide };
    },
    isShown(i) {
      return shown.has(i);
    },
    get count() {
      return shown.size;
    },
  };
}

/**
 * The overview of a big graph: every card as a dot in a small canvas, the part on screen as a
 * frame; clicking or dragging in it moves the view there. Shown only when the graph does not
 * fit the view. The pure part (`mapScale`, `toGraph`) is tested in Node.
 */

/** Scale and offsets that fit a layout into a map of width × height, centred. */
export function mapScale(layout, width, height) {
  const scale = Math.min(width / Math.max(layout.width, 1), height / Math.max(layout.height, 1));
  return { scale, dx: (width - layout.width * scale) / 2, dy: (height - layout.height * scale) / 2 };
}

/** A point in the map → the graph point under it. */
export function toGraph(fit, x, y) {
  return [(x - fit.dx) / fit.scale, (y - fit.dy) / fit.scale];
}

export function createMinimap(canvas, { onMove }) {
  const context = canvas.getContext('2d');
  const base = document.createElement('canvas');
  let layout = null;
  let fit = null;
  let last = null;

  function size() {
    const ratio = window.devicePixelRatio || 1;
    return { width: canvas.clientWidth || 240, height: canvas.clientHeight || 44, ratio };
  }

  /** Draws every card once per layout (a dot each), kept in an offscreen canvas. */
  function setLayout(nextLayout) {
    layout = nextLayout;
    const { width, height, ratio } = size();
    canvas.width = base.width = Math.round(width * ratio);
    canvas.height = base.height = Math.round(height * ratio);
    fit = { ...mapScale(layout, width, height), width };
    const paint = base.getContext('2d');
    paint.setTransform(ratio, 0, 0, ratio, 0, 0);
    paint.clearRect(0, 0, width, height);
    paint.fillStyle = '#7b8596';
    for (const box of layout.nodes) {
      paint.fillRect(fit.dx + box.x * fit.scale, fit.dy + box.y * fit.scale, Math.max(1, box.width * fit.scale), Math.max(1, box.height * fit.scale));
    }
    paint.fillStyle = '#2f5bd3';
    for (const box of layout.aliases || []) {
      paint.fillRect(fit.dx + box.x * fit.scale, fit.dy + box.y * fit.scale, Math.max(1, box.width * fit.scale), Math.max(1, box.height * fit.scale));
    }
    // Resizing the canvas cleared it: a graph shown again with the same camera (a training
    // step) moves no zoom, so the frame is drawn again here.
    if (last) showView(last.transform, last.view);
  }

  /** The view's frame on the map; the map hides itself while the whole graph is in view. */
  function showView(transform, view) {
    if (!layout || !fit) return;
    last = { transform, view };
    const left = -transform.x / transform.k;
    const top = -transform.y / transform.k;
    const width = view.width / transform.k;
    const height = view.height / transform.k;
    const whole = left <= 0 && top <= 0 && left + width >= layout.width && top + height >= layout.height;
    if (canvas.hidden !== whole) canvas.hidden = whole;
    if (whole) return;
    // Not size(): reading the canvas's size here would make the browser lay the page out in the
    // middle of a step's writes (the camera moves with every step).
    const ratio = canvas.width / fit.width;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(base, 0, 0);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.strokeStyle = '#b93f0a';
    context.lineWidth = 1.5;
    context.strokeRect(fit.dx + left * fit.scale, fit.dy + top * fit.scale, Math.max(3, width * fit.scale), Math.max(3, height * fit.scale));
  }

  function moveTo(event) {
    if (!fit) return;
    const bounds = canvas.getBoundingClientRect();
    const [x, y] = toGraph(fit, event.clientX - bounds.left, event.clientY - bounds.top);
    onMove(x, y);
  }
  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId);
    moveTo(event);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (event.buttons & 1) moveTo(event);
  });

  return { setLayout, showView, get lastView() { return last; } };
}

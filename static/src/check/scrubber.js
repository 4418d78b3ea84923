/**
 * A number that is changed by dragging it sideways (or with ↑/↓ when focused; Alt for fine
 * steps): the inputs editor's scalar fields and the inspector's element field. `onChange(value,
 * eventTime)` is called for every move; the page decides what to recompute.
 */
import { formatNumber } from '../tensor.js';
import { draggedValue, nudgedValue } from './drag.js';

/**
 * Follows a pointer from `event` (a pointerdown) until it is released, anywhere on the page:
 * the element under it may be redrawn meanwhile. `move(dx, dy, event)` on every move.
 */
export function followPointer(event, move, done = () => {}) {
  // The class goes on the viewer's own root (a page's body, a mounted viewer's frame).
  const frame = event.target.closest?.('.cl-body') ?? document.body;
  const startX = event.clientX;
  const startY = event.clientY;
  const onMove = (next) => {
    next.preventDefault();
    move(next.clientX - startX, next.clientY - startY, next);
  };
  const onUp = () => {
    window.removeEventListener('pointermove', onMove);
    window.removeEventListener('pointerup', onUp);
    window.removeEventListener('pointercancel', onUp);
    frame.classList.remove('dragging-value');
    done();
  };
  frame.classList.add('dragging-value');
  window.addEventListener('pointermove', onMove);
  window.addEventListener('pointerup', onUp);
  window.addEventListener('pointercancel', onUp);
}

/**
 * `moves(value)` says how a drag from `value` moves: `{ whole: true }` for whole steps (see
 * drag.js's wholeNumbers); by default it moves smoothly.
 */
export function createScrubber({ label, value, onChange, moves = () => ({}) }) {
  const root = document.createElement('span');
  root.className = 'scrubber';
  root.tabIndex = 0;
  root.setAttribute('role', 'slider');
  root.setAttribute('aria-label', `${label}: drag sideways or press ↑/↓ to change`);
  root.title = 'Drag sideways to change (Alt: finer); ↑/↓ when focused';
  let current = value;

  function set(next, eventTime) {
    current = next;
    root.textContent = formatNumber(next, 6);
    root.setAttribute('aria-valuenow', String(next));
    if (eventTime !== undefined) onChange(next, eventTime);
  }

  root.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    root.focus();
    const start = current;
    const { whole = false } = moves(start);
    followPointer(event, (dx, dy, move) => set(draggedValue(start, dx, { fine: move.altKey, whole }), move.timeStamp));
  });
  root.addEventListener('keydown', (event) => {
    const direction = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1 }[event.key];
    if (!direction) return;
    event.preventDefault();
    event.stopPropagation(); // ←/→ would step the stepper otherwise
    set(nudgedValue(current, direction, { fine: event.altKey, ...moves(current) }), event.timeStamp);
  });
  set(value);
  return { element: root, set: (next) => set(next), get value() { return current; } };
}

/**
 * The check panel under the stepper: the gradient check's one-line summary, and in break-it mode
 * the correct and the broken backward timelines side by side, the current step of each
 * highlighted, the step where they part marked, and the sentence on why.
 */
import { MISTAKES, sideBySide } from './timelines.js';

/** Rows listed around the current and the departing row of a long timeline. */
const ROWS_AROUND = 30;

/** Which rows of a timeline to list: all of a short one, else those near its marked rows. */
export function shownRows(rows) {
  if (rows.length <= 3 * ROWS_AROUND) return () => true;
  const marks = rows.map((row, i) => (row.current || row.parted ? i : -1)).filter((i) => i >= 0);
  if (!marks.length) marks.push(0);
  return (i) => i === rows.length - 1 || marks.some((mark) => Math.abs(i - mark) <= ROWS_AROUND);
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function createCheckPanel(root, { onJump, onClose, onResize }) {
  let gradcheckLine = null; // {text, ok}
  let message = null; // {title, text}: an API error in break-it mode
  let pair = null; // {correct, replay, mode}

  function render(position) {
    const wasHidden = root.hidden;
    // Nothing to show and nothing shown: every step without a check or a replay stops here.
    if (wasHidden && !gradcheckLine && !message && !pair) return;
    fill(position);
    if (wasHidden !== root.hidden) onResize(); // once the panel has its height
  }

  function fill(position) {
    root.replaceChildren();
    root.hidden = !gradcheckLine && !message && !pair;
    if (root.hidden) return;
    const close = element('button', 'icon-button check-close', '✕');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close the check panel');
    close.addEventListener('click', onClose);
    root.append(close);
    if (gradcheckLine) {
      const line = element('p', `gradcheck-summary ${gradcheckLine.ok ? 'ok' : 'bad'}`, gradcheckLine.text);
      line.dataset.testid = 'gradcheck-summary';
      root.append(line);
    }
    if (message) {
      const box = element('div', 'check-message');
      box.setAttribute('role', 'alert');
      box.append(element('strong', '', message.title), element('p', '', message.text));
      root.append(box);
    }
    if (pair) root.append(breakView(position));
  }

  function breakView(position) {
    const { correct, replay, mode } = pair;
    const view = sideBySide(correct, replay, position);
    const box = element('div', 'break-view');
    box.setAttribute('aria-label', `Break it: ${MISTAKES[mode]} beside the correct pass`);
    const why = element('p', `break-why${view.atDeparture ? ' at-departure' : ''}`);
    why.dataset.testid = 'break-why';
    why.append(element('strong', '', `${mode === 'overwrite' ? 'Overwrite' : 'Recursion'} vs correct: `),
      document.createTextNode(replay.diverges.explanation));
    if (view.departurePosition !== null && !view.atDeparture) {
      const jump = element('button', 'link-button', 'Go to where they part');
      jump.type = 'button';
      jump.addEventListener('click', () => onJump(view.departurePosition));
      why.append(' ', jump);
    }
    const columns = element('div', 'timelines');
    columns.append(column('Correct: each node once, in reverse order', view.left, 'correct'),
      column(`Broken: ${mode === 'overwrite' ? 'grad = contribution' : 'the recursion'}`, view.right, 'broken'));
    box.append(why, columns);
    return box;
  }

  function column(title, rows, kind) {
    const box = element('div', `timeline ${kind}`);
    // h3 under the page's h2 sections (heading order).
    box.append(element('h3', '', title));
    const list = element('ol', '');
    list.setAttribute('aria-label', title);
    list.tabIndex = 0; // it scrolls: a keyboard reaches it
    // A long timeline lists the rows around the current one and the departure, not all of them:
    // the panel is drawn again at every step.
    const keep = shownRows(rows);
    let skipped = 0;
    const gap = () => {
      if (!skipped) return;
      list.append(element('li', 'row gap', `… ${skipped} more`));
      skipped = 0;
    };
    for (const [i, row] of rows.entries()) {
      if (!keep(i)) {
        skipped += 1;
        continue;
      }
      gap();
      const classes = ['row'];
      if (row.current) classes.push('current');
      if (row.parted) classes.push('parted');
      if (row.after) classes.push('after');
      const item = element('li', classes.join(' '));
      item.dataset.step = String(row.index);
      item.value = i + 1; // numbered as in the whole timeline when rows are left out
      item.append(element('span', 'edge', row.text), element('span', 'total', `→ ${row.total}`));
      list.append(item);
    }
    gap();
    box.append(list);
    // Keep the current row in view as the stepper moves.
    queueMicrotask(() => {
      const current = list.querySelector('.current');
      if (current) current.scrollIntoView({ block: 'nearest' });
    });
    return box;
  }

  return {
    setGradcheck(line) { gradcheckLine = line; },
    setMessage(next) { message = next; },
    setPair(next) { pair = next; },
    get pair() { return pair; },
    render,
  };
}

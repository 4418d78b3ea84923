/**
 * The node inspector: op, shape, value and gradient of the selected node at the current step.
 * Scalars as numbers, tensors as heatmaps (with indices; multi-head tensors one small map per head,
 * heads.js) and their statistics (min, max, mean,
 * norm, share of zeros, NaN/∞ flags), truncated tensors as their summary; the gradient/value
 * norm ratio; the gradient shows "—" until the backward pass reaches the node, and lists each
 * contribution it received as a button that jumps to that step.
 */
import { createHeatmap } from './heatmap.js';
import { createHeadHeatmaps } from './head-maps.js';
import { hasHeads } from './heads.js';
import { contributionLedger } from './explain.js';
import { formatNumber, formatShape, isScalar, isSummary, stats, toNumber } from './tensor.js';

/** A number for engineers: 6 digits, and float noise shown with its exact value too. */
function precise(value) {
  const text = formatNumber(value, 6);
  return text === '≈0' ? `≈0 (${toNumber(value).toExponential(3)})` : text;
}

/** Statistics of a value as [term, detail] rows, with NaN/∞ counts flagged. */
export function statRows(value, shape) {
  const summary = stats(value, shape);
  const rows = [['min', precise(summary.min)], ['max', precise(summary.max)], ['mean', precise(summary.mean)], ['norm', precise(summary.norm)]];
  if (summary.count !== undefined) rows.push(['zeros', `${formatNumber((100 * summary.zeros) / Math.max(1, summary.count), 3)}% (${summary.zeros} of ${summary.count})`]);
  if (summary.nan) rows.push(['NaN', `⚠ ${summary.nan} entries`]);
  if (summary.inf) rows.push(['±∞', `⚠ ${summary.inf} entries`]);
  return rows;
}

export function createInspector(root, { onClose, onJump, onStep = () => {} }) {
  let opsByName = new Map();

  function setOps(ops) {
    opsByName = new Map((ops || []).map((op) => [op.name, op]));
  }

  // Extra notes about a node from outside the graph response (the Train mode's health marks).
  let notesFor = () => [];
  function setNotes(source) {
    notesFor = source || (() => []);
  }

  function clear() {
    // Every step without a selection clears: the hint is written once, not laid out again each step.
    if (root.childElementCount === 1 && root.firstElementChild.classList.contains('hint')) return;
    root.innerHTML = '<p class="hint">Click a node in the graph (or focus it and press Enter) to inspect its value and gradient.</p>';
  }

  function show(response, view, nodeId) {
    const node = response.nodes[nodeId];
    if (!node) {
      clear();
      return;
    }
    const op = opsByName.get(node.op);
    const span = node.span ? `line ${node.span.line}, column ${node.span.column}` : '';
    root.innerHTML = '';
    const header = element('div', 'inspector-head');
    header.innerHTML = `
      <h3><span class="name"></span> <span class="op-chip"></span></h3>
      <button type="button" class="icon-button close" aria-label="Close the inspector">✕</button>`;
    header.querySelector('.name').textContent = node.label;
    header.querySelector('.op-chip').textContent = node.op;
    header.querySelector('.close').addEventListener('click', onClose);
    root.append(header);

    const facts = element('dl', 'facts');
    addFact(facts, 'shape', formatShape(node.shape));
    if (op) {
      addFact(facts, 'op', `${op.syntax} — ${op.doc}`);
      // The op table's local derivatives, one per operand, named as the op table names them.
      const rules = (op.derivatives || []).filter((rule) => rule.formula).map((rule) => rule.formula);
      if (rules.length) addFact(facts, 'derivatives', rules.join('\n'));
    }
    if (node.params) addFact(facts, 'params', Object.entries(node.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '));
    if (span) {
      const link = element('button', 'link-button');
      link.type = 'button';
      link.textContent = span;
      link.setAttribute('aria-label', `Show ${node.label} in the program, ${span}`);
      link.addEventListener('click', () => onJump(node.span));
      addFact(facts, 'source', link);
    }
    if (node.id === response.output) addFact(facts, 'role', 'output of the program');
    root.append(facts);
    root.append(stepLinks(response, node, view.position, onStep));
    for (const note of notesFor(node.id)) {
      const box = element('p', `health-note health-${note.kind}`);
      box.textContent = `⚠ ${note.card}: ${note.detail}`;
      root.append(box);
    }

    const value = view.computed[node.id] ? node.value : undefined;
    const heads = hasHeads(node, response.nodes, response.groups);
    root.append(section('Value', value, node, 'not computed yet', 'value', heads));
    const grad = view.grads[node.id];
    let gradNote = 'the backward pass has not reached this node yet';
    if (node.grad === null) gradNote = 'no gradient flows here (a constant, requires_grad: false, or not used by the output)';
    const gradSection = section('Gradient', grad, node, gradNote, 'grad', heads);
    root.append(gradSection);
    if (value !== undefined && grad !== undefined && grad !== null) {
      // How big the gradient is next to the value: the scale an update step would change it by.
      const ratio = stats(grad, node.shape).norm / stats(value, node.shape).norm;
      const ratioFacts = element('dl', 'numbers ratio');
      addFact(ratioFacts, '‖grad‖ / ‖value‖', Number.isFinite(ratio) ? formatNumber(ratio, 4) : 'undefined (the value is 0)');
      gradSection.append(ratioFacts);
    }

    const ledger = contributionLedger(response, node.id);
    if (ledger.length > 1) {
      const list = element('ol', 'ledger');
      list.setAttribute('aria-label', `Contributions to the gradient of ${node.label}`);
      const viaCount = new Map();
      for (const row of ledger) viaCount.set(row.via, (viaCount.get(row.via) ?? 0) + 1);
      // A weight shared by 1,000 steps has 1,000 rows: the list shows those around the current
      // step (the inspector costs the same at any size), the rest are counted.
      const [first, last] = ledgerWindow(ledger, view.position);
      if (first > 0) {
        const earlier = element('li', 'more');
        earlier.textContent = `… ${first} earlier contributions`;
        list.append(earlier);
      }
      ledger.forEach((row, i) => {
        if (i < first || (i > last && i !== ledger.length - 1)) return;
        if (i === ledger.length - 1 && last < ledger.length - 2) {
          const more = element('li', 'more');
          more.textContent = `… ${ledger.length - 2 - last} more contributions`;
          list.append(more);
        }
        const arrived = row.index < view.position;
        const item = element('li', arrived ? 'arrived' : 'waiting');
        item.dataset.testid = 'contribution';
        if (row.index === view.position - 1) item.classList.add('current');
        // Each contribution is a way into its step of the timeline.
        const jump = element('button', 'link-button');
        jump.type = 'button';
        jump.textContent = `step ${row.index + 1}`;
        jump.setAttribute('aria-label', `Go to step ${row.index + 1}, the contribution via ${row.via}`);
        jump.addEventListener('click', () => onStep(row.index));
        item.append(jump, `: via ${row.via}${viaCount.get(row.via) > 1 ? ` (operand ${row.slot + 1})` : ''}: ${arrived ? describe(row.contribution, node.shape) : 'not yet'}`);
        list.append(item);
        if (i === ledger.length - 1 && arrived) {
          const sum = element('li', 'sum');
          sum.textContent = `sum = ${describe(row.accumulated, node.shape)}`;
          list.append(sum);
        }
      });
      gradSection.append(list);
    }
  }

  function section(title, value, node, emptyNote, kind, heads) {
    const box = element('section', `inspect-${kind}`);
    const heading = element('h4');
    heading.textContent = title;
    box.append(heading);
    if (value === undefined || value === null) {
      const note = element('p', 'empty');
      note.textContent = `— ${emptyNote}`;
      box.append(note);
      return box;
    }
    if (isScalar(value)) {
      const number = element('p', `big-number ${kind}`);
      number.textContent = precise(value);
      box.append(number);
      if (!Number.isFinite(toNumber(value))) box.append(flag(`${formatNumber(value)}: not a finite number`));
    } else {
      const summary = element('dl', 'numbers summary');
      if (isSummary(value)) addFact(summary, 'truncated', `${formatShape(value.shape)} (too large to send in full)`);
      else {
        const label = kind === 'grad' ? `∂/∂${node.label}` : node.label;
        box.append(heads ? createHeadHeatmaps(value, node.shape, { label }) : createHeatmap(value, node.shape, { label }));
      }
      for (const [term, detail] of statRows(value, node.shape)) addFact(summary, term, detail);
      box.append(summary);
    }
    return box;
  }

  clear();
  return { show, clear, setOps, setNotes };
}

/** Per response: each node's forward step and its last gradient step (indices into `steps`). */
const stepsOfNodes = new WeakMap();

/** The forward step that computes a node and the backward step that completes its gradient, or null. */
export function nodeSteps(response, nodeId) {
  let table = stepsOfNodes.get(response);
  if (!table) {
    table = new Map();
    response.steps.forEach((step, index) => {
      const id = step.phase === 'forward' ? step.node : step.input;
      if (!table.has(id)) table.set(id, { forward: null, gradient: null });
      if (step.phase === 'forward') table.get(id).forward = index;
      else table.get(id).gradient = index;
    });
    stepsOfNodes.set(response, table);
  }
  return table.get(nodeId) ?? { forward: null, gradient: null };
}

/** "Go to this step": buttons to the step that computes the node and the one that completes its gradient. */
function stepLinks(response, node, position, onStep) {
  const { forward, gradient } = nodeSteps(response, node.id);
  const row = element('p', 'step-links');
  const link = (index, text, label) => {
    const button = element('button', 'link-button go-to-step');
    button.type = 'button';
    button.textContent = text;
    button.dataset.step = String(index + 1);
    button.setAttribute('aria-label', label);
    if (index + 1 === position) button.setAttribute('aria-current', 'step');
    button.addEventListener('click', () => onStep(index));
    return button;
  };
  if (forward !== null) row.append(link(forward, `Go to step ${forward + 1} (computed)`, `Go to step ${forward + 1}, where ${node.label} is computed`));
  if (gradient !== null) {
    if (row.childElementCount) row.append(' · ');
    row.append(link(gradient, `Go to step ${gradient + 1} (gradient complete)`, `Go to step ${gradient + 1}, where ${node.label}'s gradient is complete`));
  }
  if (!row.childElementCount) row.textContent = 'No step computes this node or sends it a gradient.';
  return row;
}

/** How many contribution rows the inspector lists at most, around the current step. */
export const LEDGER_ROWS = 40;

/** The first and last ledger rows to list at a timeline position (the last row is always listed too). */
export function ledgerWindow(ledger, position) {
  if (ledger.length <= LEDGER_ROWS) return [0, ledger.length - 1];
  let current = ledger.findIndex((row) => row.index >= position - 1);
  if (current === -1) current = ledger.length - 1;
  const first = Math.max(0, Math.min(current - LEDGER_ROWS / 2, ledger.length - LEDGER_ROWS));
  return [first, first + LEDGER_ROWS - 1];
}

function flag(text) {
  const note = element('p', 'flag');
  note.textContent = `⚠ ${text}`;
  return note;
}

function describe(value, shape) {
  if (isScalar(value)) return formatNumber(value, 6);
  if (isSummary(value)) return `${formatShape(value.shape)} tensor, mean ${formatNumber(value.mean)}`;
  const nested = (item) => (Array.isArray(item) ? `[${item.map(nested).join(', ')}]` : formatNumber(item));
  return shape.length <= 2 && JSON.stringify(value).length < 400 ? nested(value) : `${formatShape(shape)} tensor`;
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function addFact(list, term, detail) {
  const dt = element('dt');
  dt.textContent = term;
  const dd = element('dd');
  if (typeof detail === 'string') dd.textContent = detail;
  else dd.append(detail);
  list.append(dt, dd);
}

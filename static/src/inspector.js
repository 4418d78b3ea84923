/**
 * The node inspector: op, shape, value and gradient of the selected node at the current step.
 * Scalars as numbers, tensors as heatmaps, truncated tensors as their summary; the gradient
 * shows "—" until the backward pass reaches the node, and lists each contribution it received.
 */
import { createHeatmap } from './heatmap.js';
import { contributionLedger } from './explain.js';
import { formatNumber, formatShape, isScalar, isSummary } from './tensor.js';

export function createInspector(root, { onClose, onJump }) {
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
    for (const note of notesFor(node.id)) {
      const box = element('p', `health-note health-${note.kind}`);
      box.textContent = `⚠ ${note.card}: ${note.detail}`;
      root.append(box);
    }

    root.append(section('Value', view.computed[node.id] ? node.value : undefined, node, 'not computed yet', 'value'));
    const grad = view.grads[node.id];
    let gradNote = 'the backward pass has not reached this node yet';
    if (node.grad === null) gradNote = 'no gradient flows here (a constant, requires_grad: false, or not used by the output)';
    const gradSection = section('Gradient', grad, node, gradNote, 'grad');
    root.append(gradSection);

    const ledger = contributionLedger(response, node.id);
    if (ledger.length > 1) {
      const list = element('ol', 'ledger');
      list.setAttribute('aria-label', `Contributions to the gradient of ${node.label}`);
      ledger.forEach((row, i) => {
        const arrived = row.index < view.position;
        const item = element('li', arrived ? 'arrived' : 'waiting');
        item.dataset.testid = 'contribution';
        item.textContent = `via ${row.via}${ledger.filter((other) => other.via === row.via).length > 1 ? ` (operand ${row.slot + 1})` : ''}: ${arrived ? describe(row.contribution, node.shape) : 'not yet'}`;
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

  function section(title, value, node, emptyNote, kind) {
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
      number.textContent = formatNumber(value, 6);
      box.append(number);
    } else if (isSummary(value)) {
      const summary = element('dl', 'facts summary');
      addFact(summary, 'truncated', `${formatShape(value.shape)} (too large to send in full)`);
      for (const key of ['min', 'max', 'mean', 'norm']) addFact(summary, key, formatNumber(value[key], 6));
      box.append(summary);
    } else {
      box.append(createHeatmap(value, node.shape, { label: kind === 'grad' ? `∂/∂${node.label}` : node.label }));
    }
    return box;
  }

  clear();
  return { show, clear, setOps, setNotes };
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

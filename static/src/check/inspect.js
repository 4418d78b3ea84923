/**
 * The inspector's check sections for an input node, appended below what inspector.js shows:
 * the gradient check's numeric and analytic gradients side by side, a nudge of one element by
 * ±h against the first-order prediction grad · h, and (for scalars and small tensors) changing
 * an element by dragging it, on the value heatmap or in a field.
 */
import { formatNumber, elementCount, isSummary } from '../tensor.js';
import { unravel } from '../heatmap.js';
import { checkRows } from './gradcheck-view.js';
import { elementOf } from './edit-inputs.js';
import { createScrubber, followPointer } from './scrubber.js';
import { draggedValue, wholeNumbers } from './drag.js';

/** Tensors up to this many elements can be changed from the inspector. */
export const MAX_PLAYABLE_ELEMENTS = 64;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function elementName(node, index) {
  return node.shape.length ? `${node.label}[${unravel(index, node.shape).join(', ')}]` : node.label;
}

export function createCheckInspector({ onNudge, onElementChange }) {
  // Kept across redraws of the inspector (each step redraws it): the element chosen and the step.
  const chosen = new Map(); // node id → flat index
  let h = 1e-3;
  let lastNudge = null; // {nodeId, index, h, report}

  function append(root, response, node, check) {
    if (!root || node.op !== 'input') return;
    const box = element('section', 'inspect-check');
    if (check) box.append(gradcheckSection(node, check));
    if (node.grad !== null) box.append(nudgeSection(node));
    const playable = !isSummary(node.value) && elementCount(node.shape) <= MAX_PLAYABLE_ELEMENTS;
    if (playable) {
      box.append(changeSection(node));
      attachHeatmapDrag(root, node);
    }
    if (box.childElementCount) root.append(box);
  }

  function gradcheckSection(node, check) {
    const section = element('div', 'check-section');
    section.append(element('h4', '', 'Gradient check'));
    const note = check.checked < check.elements ? ` (a seeded sample of ${check.checked} of ${check.elements})` : '';
    section.append(element('p', 'hint', `Central finite differences against the backward pass${note}.`));
    const table = element('table', 'check-table');
    table.dataset.testid = 'gradcheck-table';
    const head = element('tr');
    for (const title of ['element', 'numeric', 'analytic', 'rel. error']) head.append(element('th', '', title));
    table.append(head);
    for (const row of checkRows(check)) {
      const tr = element('tr', row.error < 1e-6 ? 'ok' : 'bad');
      tr.append(element('td', '', row.element || node.label), element('td', 'num', formatNumber(row.numeric, 10)),
        element('td', 'num', formatNumber(row.analytic, 10)), element('td', 'num', formatNumber(row.error, 2)));
      table.append(tr);
    }
    section.append(table);
    return section;
  }

  function indexPicker(node) {
    const count = elementCount(node.shape);
    const select = element('select', 'element-picker');
    select.setAttribute('aria-label', `Element of ${node.label}`);
    for (let index = 0; index < Math.min(count, 1000); index += 1) select.append(new Option(elementName(node, index), String(index)));
    select.value = String(chosen.get(node.id) ?? 0);
    select.addEventListener('change', () => {
      chosen.set(node.id, Number(select.value));
      select.dispatchEvent(new CustomEvent('element-chosen', { bubbles: true }));
    });
    return select;
  }

  function nudgeSection(node) {
    const section = element('div', 'check-section nudge');
    section.append(element('h4', '', 'Nudge one element'));
    const controls = element('div', 'nudge-controls');
    if (node.shape.length) controls.append(indexPicker(node));
    const step = element('input', 'nudge-h');
    step.type = 'number';
    step.step = 'any';
    step.value = String(h);
    step.setAttribute('aria-label', 'h, the size of the nudge');
    step.addEventListener('change', () => { h = Math.abs(Number(step.value)) || 1e-3; });
    controls.append(element('label', 'muted', 'h'), step);
    const result = element('p', 'nudge-result');
    result.dataset.testid = 'nudge-result';
    for (const sign of [-1, 1]) {
      const button = element('button', 'nudge-button', sign < 0 ? '− h' : '+ h');
      button.type = 'button';
      button.setAttribute('aria-label', `Nudge ${node.label} by ${sign < 0 ? 'minus' : 'plus'} h`);
      button.addEventListener('click', async () => {
        const index = chosen.get(node.id) ?? 0;
        result.textContent = 'Computing…';
        try {
          const report = await onNudge(node, index, sign * h);
          lastNudge = { nodeId: node.id, index, h: sign * h, report };
          showNudge(result, node, lastNudge);
        } catch (error) {
          result.textContent = error.message;
        }
      });
      controls.append(button);
    }
    section.append(controls);
    if (lastNudge && lastNudge.nodeId === node.id) showNudge(result, node, lastNudge);
    else result.textContent = 'L = Σ output · grad_output changes by about grad · h: compare.';
    section.append(result);
    return section;
  }

  function showNudge(result, node, { index, h: delta, report }) {
    result.replaceChildren(
      element('span', '', `${elementName(node, index)} ${delta < 0 ? '−' : '+'} ${formatNumber(Math.abs(delta))}: `),
      element('span', 'change', `ΔL = ${formatNumber(report.change, 8)}`),
      element('span', 'muted', ' vs '),
      element('span', 'predicted', `grad · h = ${formatNumber(report.predicted, 8)}`),
      element('span', 'muted', ` (differ by ${formatNumber(report.difference, 2)}, second order in h)`),
    );
  }

  function changeSection(node) {
    const section = element('div', 'check-section play');
    section.append(element('h4', '', 'Play with it'));
    const row = element('div', 'play-row');
    const index = chosen.get(node.id) ?? 0;
    const scrubber = createScrubber({
      label: elementName(node, index),
      value: elementOf(node.value, node.shape, index),
      onChange: (value, time) => onElementChange(node, chosen.get(node.id) ?? 0, value, time),
      moves: (start) => ({ whole: wholeNumbers(node, start) }),
    });
    scrubber.element.dataset.testid = 'element-scrubber';
    if (node.shape.length) {
      const picker = indexPicker(node);
      picker.addEventListener('element-chosen', () => scrubber.set(elementOf(node.value, node.shape, chosen.get(node.id) ?? 0)));
      row.append(picker);
    } else {
      row.append(element('span', '', `${node.label} =`));
    }
    row.append(scrubber.element);
    section.append(row);
    section.append(element('p', 'hint', node.shape.length
      ? 'Drag a cell of the value heatmap, or this number, sideways (↑/↓ when focused): values and gradients follow.'
      : 'Drag the number sideways (↑/↓ when focused): values and gradients follow.'));
    return section;
  }

  /** Dragging on the value heatmap's canvas changes the element under the pointer. */
  function attachHeatmapDrag(root, node) {
    const canvas = root.querySelector('.inspect-value canvas');
    if (!canvas || !node.shape.length) return;
    canvas.classList.add('draggable');
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      const bounds = canvas.getBoundingClientRect();
      const cols = node.shape[node.shape.length - 1];
      const rows = elementCount(node.shape) / cols;
      const column = Math.floor(((event.clientX - bounds.left) / bounds.width) * cols);
      const row = Math.floor(((event.clientY - bounds.top) / bounds.height) * rows);
      if (column < 0 || row < 0 || column >= cols || row >= rows) return;
      const index = row * cols + column;
      chosen.set(node.id, index);
      const start = elementOf(node.value, node.shape, index);
      const whole = wholeNumbers(node, start);
      followPointer(event, (dx, dy, move) => onElementChange(node, index, draggedValue(start, dx - dy, { fine: move.altKey, whole }), move.timeStamp));
    });
  }

  return { append };
}

/**
 * Marks drawn on the graph's node cards: the gradient check's badge on each input, and on a
 * break-it replay the cards whose gradient is wrong, with the right value beneath. Uses
 * render.js's hooks (decorateNodes, classNode), so the marks survive culling and stepping and
 * reach cards that are off-screen now.
 */
import { formatValueShort } from '../tensor.js';

const SVG = 'http://www.w3.org/2000/svg';
const BADGE_CHAR = 6.6;

function svgElement(tag, attributes, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

export function createOverlay(graph) {
  let wrongIds = [];

  /** badges: [{id, text, ok, title}] */
  function showBadges(badges) {
    const byId = new Map(badges.map((badge) => [badge.id, badge]));
    graph.decorateNodes('check-badge', (node, box) => {
      const badge = byId.get(node.id);
      if (!badge) return null;
      const pill = badge.text.length * BADGE_CHAR + 12;
      const group = svgElement('g', { class: `check-badge ${badge.ok ? 'ok' : 'bad'}`, transform: `translate(${(box?.width ?? 120) - pill + 4},-11)` });
      group.append(
        svgElement('title', {}, badge.title),
        svgElement('rect', { width: pill, height: 18, rx: 9 }),
        svgElement('text', { x: pill / 2, y: 13, 'text-anchor': 'middle' }, badge.text),
      );
      return group;
    });
  }

  function clearBadges() {
    graph.decorateNodes('check-badge', null);
  }

  /** wrong: [{id, right, shape}] from timelines.wrongGradients */
  function markWrong(wrong) {
    clearWrong();
    const byId = new Map(wrong.map((item) => [item.id, item]));
    wrongIds = [...byId.keys()];
    for (const id of wrongIds) graph.classNode(id, 'grad-wrong', true);
    graph.decorateNodes('check-note', (node, box) => {
      const item = byId.get(node.id);
      if (!item) return null;
      return svgElement('text', { class: 'check-note', x: 8, y: (box?.height ?? 76) + 15 }, `✗ correct: ${formatValueShort(item.right, item.shape)}`);
    });
  }

  function clearWrong() {
    for (const id of wrongIds) graph.classNode(id, 'grad-wrong', false);
    wrongIds = [];
    graph.decorateNodes('check-note', null);
  }

  return { showBadges, clearBadges, markWrong, clearWrong };
}

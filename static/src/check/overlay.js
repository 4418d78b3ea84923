/**
 * Marks drawn on the graph's node cards: the gradient check's badge on each input, and on a
 * break-it replay the cards whose gradient is wrong, with the right value beneath. Adds its own
 * elements to the cards render.js draws (never changes render.js's own), and removes them again.
 */
import * as d3 from 'd3';
import { formatValueShort } from '../tensor.js';

const BADGE_CHAR = 6.6;

function card(svg, id) {
  return svg.select(`g.node[data-node="${id}"]`);
}

export function createOverlay(svgElement) {
  const svg = d3.select(svgElement);

  /** badges: [{id, text, ok, title}] */
  function showBadges(badges) {
    clearBadges();
    for (const badge of badges) {
      const node = card(svg, badge.id);
      if (node.empty()) continue;
      const width = Number(node.select('rect.card').attr('width')) || 120;
      const pill = badge.text.length * BADGE_CHAR + 12;
      const group = node.append('g').attr('class', `check-badge ${badge.ok ? 'ok' : 'bad'}`)
        .attr('transform', `translate(${width - pill + 4},-11)`);
      group.append('title').text(badge.title);
      group.append('rect').attr('width', pill).attr('height', 18).attr('rx', 9);
      group.append('text').attr('x', pill / 2).attr('y', 13).attr('text-anchor', 'middle').text(badge.text);
    }
  }

  function clearBadges() {
    svg.selectAll('g.check-badge').remove();
  }

  /** wrong: [{id, right, shape}] from timelines.wrongGradients */
  function markWrong(wrong) {
    clearWrong();
    for (const item of wrong) {
      const node = card(svg, item.id);
      if (node.empty()) continue;
      const height = Number(node.select('rect.card').attr('height')) || 76;
      node.classed('grad-wrong', true);
      node.append('text').attr('class', 'check-note').attr('x', 8).attr('y', height + 15)
        .text(`✗ correct: ${formatValueShort(item.right, item.shape)}`);
    }
  }

  function clearWrong() {
    svg.selectAll('g.node.grad-wrong').classed('grad-wrong', false);
    svg.selectAll('text.check-note').remove();
  }

  return { showBadges, clearBadges, markWrong, clearWrong };
}

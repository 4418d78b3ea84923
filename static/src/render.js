/**
 * Rendering: the only module that touches the graph's SVG. D3 v7 keyed joins: nodes keyed by
 * id, edges by source-target-slot (so `x * x` draws two edges), one shared transition per
 * update. `draw` places a laid-out graph; `update` shows a stepper view on it (pending nodes,
 * the current node or edge, values and gradients known so far).
 */
import * as d3 from 'd3';
import { cardText, midpoint } from './layout.js';
import { formatNumber, formatValueShort, isScalar } from './tensor.js';

const DURATION = 260;
/** Faint gradient labels on every finished edge only while the graph stays readable. */
const MAX_EDGES_WITH_LABELS = 40;
/** Below this zoom a card's numbers cannot be read; big graphs open at READABLE_SCALE instead. */
const MIN_READABLE_SCALE = 0.4;
const READABLE_SCALE = 0.8;

export function createGraphView(svgElement, { onSelect }) {
  const svg = d3.select(svgElement);
  svg.attr('class', 'graph');
  svg.selectAll('*').remove();
  const defs = svg.append('defs');
  for (const [id, className] of [['arrow', 'arrow'], ['arrow-active', 'arrow active'], ['arrow-grad', 'arrow grad']]) {
    defs.append('marker').attr('id', id).attr('class', className)
      .attr('viewBox', '0 0 10 10').attr('refX', 9).attr('refY', 5)
      .attr('markerWidth', 7).attr('markerHeight', 7).attr('orient', 'auto-start-reverse')
      .append('path').attr('d', 'M0,0 L10,5 L0,10 z');
  }
  const viewport = svg.append('g').attr('class', 'viewport');
  const edgeLayer = viewport.append('g').attr('class', 'edges');
  const labelLayer = viewport.append('g').attr('class', 'edge-labels');
  const nodeLayer = viewport.append('g').attr('class', 'nodes');

  const zoom = d3.zoom().scaleExtent([0.05, 4]).on('zoom', (event) => viewport.attr('transform', event.transform));
  svg.call(zoom).on('dblclick.zoom', null);

  let response = null;
  let layout = null;
  let positions = new Map();

  function draw(nextResponse, nextLayout) {
    response = nextResponse;
    layout = nextLayout;
    positions = new Map(layout.nodes.map((box) => [box.id, box]));
    const transition = svg.transition().duration(DURATION);
    const outputId = response.output;

    edgeLayer.selectAll('path.edge')
      .data(layout.edges, (edge) => edge.key)
      .join(
        (enter) => enter.append('path').attr('class', 'edge').attr('d', (edge) => edgePath(edge.points)).style('opacity', 0),
        (update) => update,
        (exit) => exit.transition(transition).style('opacity', 0).remove(),
      )
      .attr('data-key', (edge) => edge.key)
      .transition(transition)
      .style('opacity', 1)
      .attr('d', (edge) => edgePath(edge.points));

    const cards = nodeLayer.selectAll('g.node')
      .data(response.nodes, (node) => node.id)
      .join(
        (enter) => {
          const group = enter.append('g').attr('class', 'node')
            .attr('transform', (node) => translate(positions.get(node.id)))
            .style('opacity', 0);
          group.append('rect').attr('class', 'card');
          group.append('rect').attr('class', 'stripe');
          group.append('text').attr('class', 'title').attr('x', 14).attr('y', 20);
          group.append('rect').attr('class', 'badge-bg');
          group.append('text').attr('class', 'badge').attr('y', 20);
          group.append('text').attr('class', 'shape').attr('x', 14).attr('y', 36);
          group.append('text').attr('class', 'key value-key').attr('x', 14).attr('y', 52).text('value');
          group.append('text').attr('class', 'value').attr('x', 52).attr('y', 52);
          group.append('text').attr('class', 'key grad-key').attr('x', 14).attr('y', 67).text('grad');
          group.append('text').attr('class', 'grad').attr('x', 52).attr('y', 67);
          group.append('title');
          return group;
        },
        (update) => update,
        (exit) => exit.transition(transition).style('opacity', 0).remove(),
      );
    cards
      .attr('data-node', (node) => node.id)
      .attr('data-label', (node) => node.label)
      .attr('tabindex', 0)
      .attr('role', 'button')
      .attr('aria-label', (node) => `${node.label}: ${node.op}, ${cardText(node).shape}. Press Enter to inspect.`)
      .classed('input', (node) => node.op === 'input')
      .classed('constant', (node) => node.op === 'constant')
      .classed('output', (node) => node.id === outputId)
      .on('click', (event, node) => onSelect(node.id))
      .on('keydown', (event, node) => {
        if (event.key === 'Enter') {
          event.preventDefault();
          onSelect(node.id);
        }
      });
    cards.each(function drawCard(node) {
      const box = positions.get(node.id);
      const text = cardText(node);
      const card = d3.select(this);
      card.select('rect.card').attr('width', box.width).attr('height', box.height).attr('rx', 9);
      card.select('rect.stripe').attr('width', 5).attr('height', box.height).attr('rx', 2.5);
      card.select('text.title').text(text.title);
      const badgeWidth = text.badge.length * 6.9 + 10;
      card.select('rect.badge-bg').attr('x', box.width - badgeWidth - 8).attr('y', 8)
        .attr('width', badgeWidth).attr('height', 16).attr('rx', 8);
      card.select('text.badge').attr('x', box.width - 8 - badgeWidth / 2).text(text.badge);
      card.select('text.shape').text(node.id === outputId ? `${text.shape} · output` : text.shape);
      card.select('title').text(`${node.label} (${node.op}) — click to inspect`);
    });
    cards.transition(transition).style('opacity', 1).attr('transform', (node) => translate(positions.get(node.id)));
  }

  /** Shows a stepper view (see stepper.viewAt) and the selected node. */
  function update(view, selected) {
    if (!response) return;
    const { nodes } = response;
    nodeLayer.selectAll('g.node')
      .classed('pending', (node) => !view.computed[node.id])
      .classed('current', (node) => view.current && view.current.phase === 'forward' && view.current.node === node.id)
      .classed('grad-source', (node) => view.current && view.current.phase === 'backward' && view.current.node === node.id)
      .classed('grad-target', (node) => view.current && view.current.phase === 'backward' && view.current.input === node.id)
      .classed('selected', (node) => node.id === selected)
      .classed('has-grad', (node) => view.grads[node.id] !== undefined)
      .each(function showNumbers(node) {
        const card = d3.select(this);
        card.select('text.value').text(view.computed[node.id] ? formatValueShort(node.value, node.shape) : '…');
        const grad = view.grads[node.id];
        const expected = view.expected[node.id];
        // Several contributions: show how many have arrived, so the sum is visibly a sum.
        const counter = expected > 1 ? `  (${view.received[node.id]}/${expected})` : '';
        card.select('text.grad')
          .text(grad === undefined ? '—' : `${formatValueShort(grad, node.shape)}${counter}`)
          .attr('data-grad', grad !== undefined && isScalar(grad) ? formatNumber(grad) : null);
      });

    const labelled = new Set();
    if (view.currentEdge) labelled.add(view.currentEdge);
    if (layout.edges.length <= MAX_EDGES_WITH_LABELS) for (const key of view.edgesDone) labelled.add(key);
    const contributionOf = new Map();
    for (let index = 0; index < view.position; index += 1) {
      const step = response.steps[index];
      if (step.phase === 'backward') contributionOf.set(`${step.input}-${step.node}-${step.slot}`, step);
    }
    const forwardInto = view.current && view.current.phase === 'forward' ? view.current.node : null;
    edgeLayer.selectAll('path.edge')
      .classed('done', (edge) => view.edgesDone.has(edge.key) && edge.key !== view.currentEdge)
      .classed('current', (edge) => edge.key === view.currentEdge)
      .classed('feeding', (edge) => edge.target === forwardInto)
      .classed('pending', (edge) => !view.computed[edge.target])
      .attr('marker-end', (edge) => {
        if (edge.key === view.currentEdge) return 'url(#arrow-grad)';
        return edge.target === forwardInto ? 'url(#arrow-active)' : 'url(#arrow)';
      });

    const labels = layout.edges.filter((edge) => labelled.has(edge.key) && contributionOf.has(edge.key));
    labelLayer.selectAll('g.edge-label')
      .data(labels, (edge) => edge.key)
      .join((enter) => {
        const group = enter.append('g').attr('class', 'edge-label');
        group.append('rect');
        group.append('text');
        return group;
      })
      .attr('data-key', (edge) => edge.key)
      .classed('current', (edge) => edge.key === view.currentEdge)
      .each(function placeLabel(edge) {
        const step = contributionOf.get(edge.key);
        const [x, y] = midpoint(edge.points);
        const text = `∇ ${formatValueShort(step.contribution, nodes[edge.source].shape)}`;
        const group = d3.select(this).attr('transform', `translate(${x},${y})`);
        group.select('text').text(text).attr('text-anchor', 'middle').attr('dy', '0.35em');
        const width = text.length * 7 + 12;
        group.select('rect').attr('x', -width / 2).attr('y', -10).attr('width', width).attr('height', 20).attr('rx', 10);
      });
    labelLayer.raise();
  }

  /**
   * Scales and centres the whole graph in the view. With `readable`, a graph that would shrink
   * past legibility is shown at a readable zoom from its inputs (left edge) instead; stepping
   * then pans along (see reveal) and the fit button still shows everything.
   */
  function fit(animate = true, { readable = false } = {}) {
    if (!layout) return;
    const { width, height } = svgElement.getBoundingClientRect();
    if (!width || !height) return;
    const margin = 24;
    const scale = Math.min(1.4, (width - 2 * margin) / layout.width, (height - 2 * margin) / layout.height);
    let transform = d3.zoomIdentity
      .translate((width - layout.width * scale) / 2, (height - layout.height * scale) / 2)
      .scale(scale);
    if (readable && scale < MIN_READABLE_SCALE) {
      const first = layout.nodes[0];
      const centreY = first ? first.y + first.height / 2 : layout.height / 2;
      transform = d3.zoomIdentity
        .translate(margin, height / 2 - centreY * READABLE_SCALE)
        .scale(READABLE_SCALE);
    }
    (animate ? svg.transition().duration(DURATION) : svg).call(zoom.transform, transform);
  }

  function zoomBy(factor) {
    svg.transition().duration(DURATION).call(zoom.scaleBy, factor);
  }

  /** Pans so a node is visible, keeping the zoom (used when stepping through big graphs). */
  function reveal(nodeId) {
    const box = positions.get(nodeId);
    if (!box) return;
    const { width, height } = svgElement.getBoundingClientRect();
    const transform = d3.zoomTransform(svgElement);
    const [x0, y0] = transform.apply([box.x, box.y]);
    const [x1, y1] = transform.apply([box.x + box.width, box.y + box.height]);
    if (x0 >= 0 && y0 >= 0 && x1 <= width && y1 <= height) return;
    svg.transition().duration(DURATION)
      .call(zoom.translateTo, box.x + box.width / 2, box.y + box.height / 2);
  }

  /**
   * Training health marks (train/health.js: node id → [{kind, card}]): a `health-<kind>` class on
   * each marked node and its marks' short texts just above its card.
   */
  function setHealth(marks) {
    nodeLayer.selectAll('g.node').each(function markHealth(node) {
      const list = (marks && marks.get(node.id)) || [];
      const card = d3.select(this);
      for (const kind of ['dead', 'saturated', 'update-ratio']) card.classed(`health-${kind}`, list.some((mark) => mark.kind === kind));
      card.selectAll('text.health').data(list.length ? [list] : []).join('text')
        .attr('class', 'health').attr('x', 4).attr('y', -6)
        .text((items) => `⚠ ${items.map((mark) => mark.card).join(' · ')}`);
    });
  }

  /** New values and gradients for the same nodes (a drag, a replay): rebinds the cards' data and
   * keeps the layout; the next `update` shows the numbers. */
  function refresh(nextResponse) {
    response = nextResponse;
    nodeLayer.selectAll('g.node').data(response.nodes, (node) => node.id)
      .attr('data-scalar', (node) => String(node.op === 'input' && !Array.isArray(node.value) && typeof node.value !== 'object'));
  }


  /** The camera as a d3 zoom transform ({k, x, y}), read and set (groups.js keeps a card in place). */
  function camera(transform) {
    if (transform) svg.call(zoom.transform, d3.zoomIdentity.translate(transform.x, transform.y).scale(transform.k));
    return d3.zoomTransform(svgElement);
  }


  return { draw, update, refresh, fit, zoomBy, reveal, setHealth, camera, get layout() { return layout; } };
}

function translate(box) {
  return `translate(${box.x},${box.y})`;
}

/** ELK spline routes are cubic Béziers (start, then control-control-end triples). */
export function edgePath(points) {
  if (points.length < 2) return '';
  if ((points.length - 1) % 3 === 0) {
    let path = `M${points[0][0]},${points[0][1]}`;
    for (let i = 1; i < points.length; i += 3) {
      path += `C${points[i][0]},${points[i][1]} ${points[i + 1][0]},${points[i + 1][1]} ${points[i + 2][0]},${points[i + 2][1]}`;
    }
    return path;
  }
  return d3.line().curve(d3.curveBasis)(points);
}

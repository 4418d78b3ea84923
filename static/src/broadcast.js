/**
 * Broadcasting in the forward direction: which edges carry an operand that the op stretches to a
 * bigger shape (a bias (15,) added to a batch (8, 15)). The explanation names them, and the graph
 * labels those edges with both shapes: `b (15,) → (8, 15)`. The backward direction (the sum over
 * the broadcast axes) is in the steps' `summed_axes`, explained by explain.js.
 */
import * as d3 from 'd3';
import { edgeKey } from './stepper.js';

/** Ops whose operands broadcast against each other (the elementwise binary ops), and linear's bias. */
const BROADCASTING = new Set(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']);

/** A shape as numpy prints it: (), (15,), (8, 15). */
export function tupleShape(shape) {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/** The axes of `to` that broadcasting `from` stretched or added. */
export function broadcastAxes(from, to) {
  const lead = to.length - from.length;
  const axes = [];
  for (let k = 0; k < to.length; k += 1) {
    if (k < lead || (from[k - lead] === 1 && to[k] !== 1)) axes.push(k);
  }
  return axes;
}

/** Every forward edge whose operand is broadcast: {key, source, target, slot, from, to, axes, text}. */
export function broadcastEdges(response) {
  const edges = [];
  for (const node of response.nodes) {
    const broadcasting = BROADCASTING.has(node.op) || node.op === 'linear';
    if (!broadcasting) continue;
    node.inputs.forEach((source, slot) => {
      if (node.op === 'linear' && slot !== 2) return;
      const operand = response.nodes[source];
      if (operand.op === 'constant') return;  // a number is a number: nothing to point out
      const axes = broadcastAxes(operand.shape, node.shape);
      if (!axes.length) return;
      edges.push({
        key: edgeKey(source, node.id, slot), source, target: node.id, slot,
        from: operand.shape, to: node.shape, axes,
        text: `${operand.label} ${tupleShape(operand.shape)} → ${tupleShape(node.shape)}`,
      });
    });
  }
  return edges;
}

/** Labels the broadcast edges of a laid-out graph (a layer of the graph's SVG, under the cards). */
export function drawBroadcastLabels(svgElement, response, layout) {
  const viewport = d3.select(svgElement).select('g.viewport');
  let layer = viewport.select('g.broadcast-labels');
  if (layer.empty()) layer = viewport.insert('g', 'g.nodes').attr('class', 'broadcast-labels');
  const routes = new Map(layout.edges.map((edge) => [edge.key, edge]));
  const labels = broadcastEdges(response).filter((edge) => routes.has(edge.key));
  layer.selectAll('g.broadcast-label')
    .data(labels, (edge) => edge.key)
    .join((enter) => {
      const group = enter.append('g').attr('class', 'broadcast-label');
      group.append('text');
      group.append('title');
      return group;
    })
    .attr('data-key', (edge) => edge.key)
    // Where the edge leaves its operand, above it: the middle holds the gradient's label.
    .attr('transform', (edge) => {
      const [x, y] = routes.get(edge.key).points[0] ?? [0, 0];
      return `translate(${x + 6},${y - 8})`;
    })
    .each(function label(edge) {
      const group = d3.select(this);
      group.select('text').text(edge.text);
      group.select('title').text(`${edge.text}: broadcast over ${edge.axes.length === 1 ? 'axis' : 'axes'} ${edge.axes.join(', ')}`);
    });
}

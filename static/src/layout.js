/**
 * Layout adapter: graph JSON → positioned nodes and routed edges. Pure: it builds the ELK input
 * graph and reads ELK's answer; it never touches the page. The ELK instance is passed in, so the
 * page can run it in a Web Worker and the Node tests can run elk.bundled.js directly.
 *
 * Operand order is kept with ports: every op node has one west-side port per operand slot in a
 * fixed order, so the left operand of `a - b` or `a @ b` enters (and is placed) above the right.
 */
import { formatShape, formatValueShort } from './tensor.js';
import { edgeKey } from './stepper.js';

export const CARD = { minWidth: 124, maxWidth: 236, height: 74, padding: 12 };

// Rough glyph widths of the card fonts; good enough to size a box, no DOM needed.
const LABEL_CHAR = 8.2;
const SMALL_CHAR = 6.9;

export const ELK_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.edgeRouting': 'SPLINES',
  // Wide gaps between layers leave room for the gradient labels on the edges.
  'elk.layered.spacing.nodeNodeBetweenLayers': '100',
  'elk.spacing.nodeNode': '26',
  'elk.spacing.edgeNode': '18',
  // NETWORK_SIMPLEX placement with spline routing took 30 s on a 100-node graph; this is ~1 s.
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  // Keep the program's order (ids are creation order) where crossings allow it.
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.padding': '[top=20,left=20,bottom=20,right=20]',
};

/** Operator badges for the card; names from GET /ops, anything else shows its name. */
const OP_BADGE = {
  add: '+', sub: '−', mul: '×', div: '÷', pow: '**', neg: '−x', matmul: '@', transpose: 'ᵀ',
};

export function opBadge(op) {
  return OP_BADGE[op] ?? op;
}

/** The card's text lines, shared by sizing (here) and drawing (render.js). */
export function cardText(node) {
  return {
    title: node.label ?? node.name ?? node.op,
    badge: node.op === 'input' || node.op === 'constant' ? node.op : opBadge(node.op),
    shape: formatShape(node.shape),
    value: formatValueShort(node.value, node.shape),
    grad: formatValueShort(node.grad, node.shape),
  };
}

/** `uses`: how many operand slots read the node; a node read twice shows "(1/2)" after its gradient. */
export function cardWidth(node, uses = 1) {
  const text = cardText(node);
  const counter = uses > 1 ? ` (${uses}/${uses})`.length : 0;
  const title = text.title.length * LABEL_CHAR + text.badge.length * SMALL_CHAR + 34;
  const values = Math.max(text.value.length, text.grad.length + counter, text.shape.length + 9) * SMALL_CHAR + 64;
  return Math.round(Math.min(CARD.maxWidth, Math.max(CARD.minWidth, title, values)));
}

/** The ELK input graph for a /graph response. */
export function toElkGraph(response) {
  const uses = new Int32Array(response.nodes.length);
  for (const node of response.nodes) for (const source of node.inputs) uses[source] += 1;
  const children = response.nodes.map((node) => {
    const ports = [{ id: `n${node.id}.out`, layoutOptions: { 'elk.port.side': 'EAST' } }];
    // ELK orders fixed ports clockwise: on the west side that runs bottom → top, so the last
    // slot comes first in the list to put slot 0 (the left operand) on top.
    for (let slot = node.inputs.length - 1; slot >= 0; slot -= 1) {
      ports.push({ id: `n${node.id}.in${slot}`, layoutOptions: { 'elk.port.side': 'WEST' } });
    }
    return {
      id: `n${node.id}`,
      width: cardWidth(node, uses[node.id]),
      height: CARD.height,
      ports,
      layoutOptions: { 'elk.portConstraints': 'FIXED_ORDER' },
    };
  });
  const edges = [];
  for (const node of response.nodes) {
    node.inputs.forEach((source, slot) => {
      edges.push({
        id: edgeKey(source, node.id, slot),
        sources: [`n${source}.out`],
        targets: [`n${node.id}.in${slot}`],
      });
    });
  }
  return { id: 'root', layoutOptions: ELK_OPTIONS, children, edges };
}

/** ELK's answer → {nodes: [{id, x, y, width, height}], edges: [{key, source, target, slot, points}], width, height}. */
export function fromElkLayout(response, laidOut) {
  const boxes = new Map(laidOut.children.map((child) => [child.id, child]));
  const nodes = response.nodes.map((node) => {
    const box = boxes.get(`n${node.id}`);
    return { id: node.id, x: box.x, y: box.y, width: box.width, height: box.height };
  });
  const routes = new Map((laidOut.edges || []).map((edge) => [edge.id, edge]));
  const edges = [];
  for (const node of response.nodes) {
    node.inputs.forEach((source, slot) => {
      const key = edgeKey(source, node.id, slot);
      edges.push({ key, source, target: node.id, slot, points: routePoints(routes.get(key)) });
    });
  }
  return { nodes, edges, width: laidOut.width, height: laidOut.height };
}

function routePoints(edge) {
  if (!edge || !edge.sections || !edge.sections.length) return [];
  const points = [];
  for (const section of edge.sections) {
    points.push([section.startPoint.x, section.startPoint.y]);
    for (const bend of section.bendPoints || []) points.push([bend.x, bend.y]);
    points.push([section.endPoint.x, section.endPoint.y]);
  }
  return points;
}

/** Past this many nodes ELK trades some crossing reduction for time. */
export const LARGE_GRAPH = 150;
/**
 * Past this many layer-crossings of long edges ELK is not asked at all. A layered layout adds
 * one dummy node per layer an edge spans: a weight shared by every step of a 160-step recurrence
 * means ~80,000 of them, and ELK (like dagre) then takes minutes.
 */
export const MAX_LONG_EDGE_WORK = 20_000;

/**
 * Layers as a layered layout would assign them: ops one right of their deepest operand,
 * inputs and constants one left of their first consumer (not all in column 0).
 */
export function assignLayers(response) {
  const { nodes } = response;
  const layer = new Int32Array(nodes.length);
  const firstUse = new Int32Array(nodes.length).fill(-1);
  // Ids are a topological order, so one forward sweep settles every op's layer.
  for (const node of nodes) {
    if (node.inputs.length === 0) continue;
    let deepest = 0;
    for (const source of node.inputs) {
      if (nodes[source].inputs.length) deepest = Math.max(deepest, layer[source] + 1);
      else deepest = Math.max(deepest, 1);
    }
    layer[node.id] = deepest;
  }
  for (const node of nodes) {
    for (const source of node.inputs) {
      if (nodes[source].inputs.length === 0 && (firstUse[source] === -1 || layer[node.id] < firstUse[source])) {
        firstUse[source] = layer[node.id];
      }
    }
  }
  for (const node of nodes) {
    if (node.inputs.length === 0) layer[node.id] = Math.max(0, firstUse[node.id] - 1);
  }
  return layer;
}

/** How many layers all edges span beyond their own: the dummy nodes a layered layout needs. */
export function longEdgeWork(response, layer = assignLayers(response)) {
  let work = 0;
  for (const node of response.nodes) {
    for (const source of node.inputs) work += Math.max(0, layer[node.id] - layer[source] - 1);
  }
  return work;
}

/**
 * A cheap layered layout for graphs ELK would take minutes on: columns from assignLayers,
 * rows in creation order, straight-ish curves between the operand ports. Same output shape as
 * fromElkLayout, plus `engine: 'quick'`.
 */
export function quickLayout(response) {
  const layer = assignLayers(response);
  const uses = new Int32Array(response.nodes.length);
  for (const node of response.nodes) for (const source of node.inputs) uses[source] += 1;
  const columns = [];
  for (const node of response.nodes) {
    (columns[layer[node.id]] ||= []).push(node);
  }
  const gapX = 100;
  const gapY = 26;
  const pad = 20;
  const boxes = new Array(response.nodes.length);
  let x = pad;
  let height = 0;
  for (const column of columns) {
    if (!column) continue;
    const width = Math.max(...column.map((node) => cardWidth(node, uses[node.id])));
    column.forEach((node, row) => {
      boxes[node.id] = { id: node.id, x, y: pad + row * (CARD.height + gapY), width, height: CARD.height };
    });
    height = Math.max(height, pad + column.length * (CARD.height + gapY));
    x += width + gapX;
  }
  const edges = [];
  for (const node of response.nodes) {
    const target = boxes[node.id];
    node.inputs.forEach((source, slot) => {
      const from = boxes[source];
      const start = [from.x + from.width, from.y + from.height / 2];
      const end = [target.x, target.y + (target.height * (slot + 1)) / (node.inputs.length + 1)];
      const bend = Math.min(60, (end[0] - start[0]) / 2);
      edges.push({
        key: edgeKey(source, node.id, slot), source, target: node.id, slot,
        points: [start, [start[0] + bend, start[1]], [end[0] - bend, end[1]], end],
      });
    });
  }
  return { nodes: boxes, edges, width: x - gapX + pad, height: height + pad, engine: 'quick' };
}

/** Lays out a response with an ELK instance (worker-backed in the page, bundled in tests). */
export async function layoutGraph(elk, response) {
  if (longEdgeWork(response) > MAX_LONG_EDGE_WORK) return quickLayout(response);
  const graph = toElkGraph(response);
  if (response.nodes.length > LARGE_GRAPH) graph.layoutOptions['elk.layered.thoroughness'] = '2';
  const laidOut = await elk.layout(graph);
  return { ...fromElkLayout(response, laidOut), engine: 'elk' };
}

/** The point halfway along a polyline, where an edge's label sits. */
export function midpoint(points) {
  if (points.length === 0) return [0, 0];
  if (points.length === 1) return points[0];
  const lengths = [];
  let total = 0;
  for (let i = 1; i < points.length; i += 1) {
    const length = Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
    lengths.push(length);
    total += length;
  }
  let remaining = total / 2;
  for (let i = 1; i < points.length; i += 1) {
    if (remaining <= lengths[i - 1] || i === points.length - 1) {
      const t = lengths[i - 1] ? remaining / lengths[i - 1] : 0;
      return [
        points[i - 1][0] + (points[i][0] - points[i - 1][0]) * t,
        points[i - 1][1] + (points[i][1] - points[i - 1][1]) * t,
      ];
    }
    remaining -= lengths[i - 1];
  }
  return points[points.length - 1];
}

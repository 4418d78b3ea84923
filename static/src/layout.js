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

export const CARD = { minWidth: 124, maxWidth: 300, height: 74, padding: 12 };

/**
 * Glyph widths of the card fonts (styles.css: title 13 px bold sans, numbers 12 px mono, small
 * text 11 px), rounded up: boxes are sized and text is cut from these, no DOM needed. Text that
 * would still not fit is cut with "…" (fitText), never drawn past its card.
 */
export const CARD_TEXT = { titleChar: 8.4, monoChar: 7.3, smallChar: 6.6, badgeChar: 6.9, labelChar: 6.9, numbersX: 52 };
const LABEL_CHAR = CARD_TEXT.titleChar;

/** Text cut to at most `width` px at `charWidth` px a character, with "…" when cut. */
export function fitText(text, width, charWidth) {
  const room = Math.max(1, Math.floor(width / charWidth));
  return text.length <= room ? text : `${text.slice(0, Math.max(0, room - 1))}…`;
}

export const ELK_OPTIONS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.edgeRouting': 'SPLINES',
  // Gaps between layers leave room for a gradient label on the edges (labels also move off
  // cards along their edge); narrower gaps let more graphs fit at a readable zoom.
  'elk.layered.spacing.nodeNodeBetweenLayers': '72',
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
  // A node may bring its own text (a folded repetition's box, fold.js).
  if (node.card) return node.card;
  return {
    title: node.label ?? node.name ?? node.op,
    badge: node.op === 'input' || node.op === 'constant' ? node.op : opBadge(node.op),
    shape: formatShape(node.shape),
    value: formatValueShort(node.value, node.shape),
    grad: formatValueShort(node.grad, node.shape),
  };
}

/** The operator badge's pill width on a card. */
export function badgeWidth(badge) {
  return badge.length * CARD_TEXT.badgeChar + 10;
}

/** Room for the title on a card of a width: the stripe and padding left, the badge right. */
export function titleRoom(width, badge) {
  return width - badgeWidth(badge) - 30;
}

/** `uses`: how many operand slots read the node; a node read twice shows "(1/2)" after its gradient. */
export function cardWidth(node, uses = 1) {
  const text = cardText(node);
  const counter = uses > 1 ? ` (${uses}/${uses})`.length : 0;
  const title = text.title.length * LABEL_CHAR + badgeWidth(text.badge) + 32;
  const values = Math.max(text.value.length, text.grad.length + counter) * CARD_TEXT.monoChar + CARD_TEXT.numbersX + 8;
  // The shape line may read "8×15 · output" on the output's card.
  const shape = (text.shape.length + 9) * CARD_TEXT.smallChar + 22;
  return Math.round(Math.min(CARD.maxWidth, Math.max(CARD.minWidth, title, values, shape)));
}

/** A shared input's copy beside a use: a chip with its name. */
export const ALIAS = { height: 28, padding: 26 };

export function aliasWidth(node) {
  // "↪ name": the arrow and a space, then the name.
  return Math.round(Math.min(CARD.maxWidth, (String(node.label ?? node.name ?? node.op).length + 2) * LABEL_CHAR + ALIAS.padding));
}

/**
 * Which edges start from a copy of their source instead of the source itself. A weight or bias
 * shared by every step of a recurrence would otherwise send one edge from the far left to every
 * step (1,000 edges crossing the page, and the camera unable to show both ends of a step): each
 * use of an input or constant beyond its first, that sits more than one layer away from it,
 * starts at a small copy ("alias") drawn next to the consumer. Returns the set of edge keys.
 */
export function aliasPlan(response, layer = assignLayers(response)) {
  const aliased = new Set();
  const firstUse = new Map();
  for (const node of response.nodes) {
    node.inputs.forEach((source, slot) => {
      const input = response.nodes[source];
      if (input.inputs.length !== 0) return;
      if (!firstUse.has(source)) {
        firstUse.set(source, node.id);
        return;
      }
      if (layer[node.id] - layer[source] > 1) aliased.add(edgeKey(source, node.id, slot));
    });
  }
  return aliased;
}

/** The ELK input graph for a /graph response (aliases as small nodes of their own). */
export function toElkGraph(response, aliased = aliasPlan(response)) {
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
      const key = edgeKey(source, node.id, slot);
      let from = `n${source}.out`;
      if (aliased.has(key)) {
        from = `a${key}.out`;
        children.push({
          id: `a${key}`,
          width: aliasWidth(response.nodes[source]),
          height: ALIAS.height,
          ports: [{ id: from, layoutOptions: { 'elk.port.side': 'EAST' } }],
          layoutOptions: { 'elk.portConstraints': 'FIXED_ORDER' },
        });
      }
      edges.push({ id: key, sources: [from], targets: [`n${node.id}.in${slot}`] });
    });
  }
  return { id: 'root', layoutOptions: ELK_OPTIONS, children, edges };
}

/** Aliases as laid out: [{key, source, x, y, width, height}] (key: the edge it starts). */
function aliasBoxes(response, boxes, aliased) {
  const aliases = [];
  for (const key of aliased) {
    const box = boxes.get(`a${key}`);
    if (!box) continue;
    aliases.push({ key, source: Number(key.split('-')[0]), x: box.x, y: box.y, width: box.width, height: box.height });
  }
  return aliases;
}

/**
 * ELK's answer → {nodes: [{id, x, y, width, height}], edges: [{key, source, target, slot, points}],
 * aliases: [{key, source, x, y, width, height}], width, height}.
 */
export function fromElkLayout(response, laidOut, aliased = new Set()) {
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
  return { nodes, edges, aliases: aliasBoxes(response, boxes, aliased), width: laidOut.width, height: laidOut.height };
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
  // Then each op moves right to just before its earliest consumer (ids descending: consumers
  // first). Without this the products of a 500-term sum `s = s + w_i * x_i` all sit in column 1
  // and their edges climb a staircase 167,000 px wide to the adds that use them.
  const earliestUse = new Int32Array(nodes.length).fill(-1);
  for (let id = nodes.length - 1; id >= 0; id -= 1) {
    const node = nodes[id];
    if (node.inputs.length && earliestUse[id] > layer[id] + 1) layer[id] = earliestUse[id] - 1;
    for (const source of node.inputs) {
      if (earliestUse[source] === -1 || layer[id] < earliestUse[source]) earliestUse[source] = layer[id];
    }
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

/** How many layers all edges span beyond their own: the dummy nodes a layered layout needs (aliased edges span none). */
export function longEdgeWork(response, layer = assignLayers(response), aliased = new Set()) {
  let work = 0;
  for (const node of response.nodes) {
    node.inputs.forEach((source, slot) => {
      if (!aliased.has(edgeKey(source, node.id, slot))) work += Math.max(0, layer[node.id] - layer[source] - 1);
    });
  }
  return work;
}

/**
 * A cheap layered layout for graphs ELK would take minutes on: columns from assignLayers,
 * rows in creation order, straight-ish curves between the operand ports. Same output shape as
 * fromElkLayout, plus `engine: 'quick'`.
 */
export function quickLayout(response, aliased = aliasPlan(response)) {
  const layer = assignLayers(response);
  const uses = new Int32Array(response.nodes.length);
  for (const node of response.nodes) for (const source of node.inputs) uses[source] += 1;
  // A column holds its nodes and the aliases feeding the next column, in program order (an
  // alias sorts just before its consumer).
  const columns = [];
  for (const node of response.nodes) {
    (columns[layer[node.id]] ||= []).push({ order: node.id, node, width: cardWidth(node, uses[node.id]), height: CARD.height });
  }
  for (const key of aliased) {
    const [source, target] = key.split('-').map(Number);
    const node = response.nodes[source];
    (columns[layer[target] - 1] ||= []).push({ order: target - 0.5, key, source, width: aliasWidth(node), height: ALIAS.height });
  }
  const gapX = 72;
  const gapY = 26;
  const pad = 20;
  const boxes = new Array(response.nodes.length);
  const aliasAt = new Map();
  let x = pad;
  let height = 0;
  for (const column of columns) {
    if (!column) continue;
    column.sort((a, b) => a.order - b.order);
    let width = 0;
    for (const item of column) width = Math.max(width, item.width);
    let y = pad;
    for (const item of column) {
      if (item.node) boxes[item.node.id] = { id: item.node.id, x, y, width, height: item.height };
      else aliasAt.set(item.key, { key: item.key, source: item.source, x: x + width - item.width, y, width: item.width, height: item.height });
      y += item.height + gapY;
    }
    height = Math.max(height, y);
    x += width + gapX;
  }
  const edges = [];
  for (const node of response.nodes) {
    const target = boxes[node.id];
    node.inputs.forEach((source, slot) => {
      const key = edgeKey(source, node.id, slot);
      const from = aliasAt.get(key) ?? boxes[source];
      const start = [from.x + from.width, from.y + from.height / 2];
      const end = [target.x, target.y + (target.height * (slot + 1)) / (node.inputs.length + 1)];
      const bend = Math.min(60, (end[0] - start[0]) / 2);
      edges.push({
        key, source, target: node.id, slot,
        points: [start, [start[0] + bend, start[1]], [end[0] - bend, end[1]], end],
      });
    });
  }
  return { nodes: boxes, edges, aliases: [...aliasAt.values()], width: x - gapX + pad, height: height + pad, engine: 'quick' };
}

/** Past this many nodes the quick layout is used: ELK takes over 0.5 s there (issue 14). */
export const QUICK_LAYOUT_NODES = 300;

/** Lays out a response with an ELK instance (worker-backed in the page, bundled in tests). */
export async function layoutGraph(elk, response) {
  const layer = assignLayers(response);
  const aliased = aliasPlan(response, layer);
  if (response.nodes.length > QUICK_LAYOUT_NODES || longEdgeWork(response, layer, aliased) > MAX_LONG_EDGE_WORK) {
    return quickLayout(response, aliased);
  }
  const graph = toElkGraph(response, aliased);
  if (response.nodes.length > LARGE_GRAPH) graph.layoutOptions['elk.layered.thoroughness'] = '2';
  const laidOut = await elk.layout(graph);
  return { ...fromElkLayout(response, laidOut, aliased), engine: 'elk' };
}

/** The point a fraction `t` (0..1) of the way along a polyline. */
export function pointAlong(points, t) {
  if (points.length === 0) return [0, 0];
  if (points.length === 1) return points[0];
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
  let remaining = total * t;
  for (let i = 1; i < points.length; i += 1) {
    const length = Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
    if (remaining <= length || i === points.length - 1) {
      const f = length ? Math.min(1, remaining / length) : 0;
      return [points[i - 1][0] + (points[i][0] - points[i - 1][0]) * f, points[i - 1][1] + (points[i][1] - points[i - 1][1]) * f];
    }
    remaining -= length;
  }
  return points[points.length - 1];
}

function overlapArea(x, y, size, boxes) {
  const left = x - size.width / 2;
  const top = y - size.height / 2;
  let area = 0;
  for (const box of boxes) {
    const w = Math.min(left + size.width, box.x + box.width) - Math.max(left, box.x);
    const h = Math.min(top + size.height, box.y + box.height) - Math.max(top, box.y);
    if (w > 0 && h > 0) area += w * h;
  }
  return area;
}

/** How much of a label centred at (x, y) lies outside `bounds` (the drawing: the camera frames that). */
function outsideArea(x, y, size, bounds) {
  if (!bounds) return 0;
  const w = Math.max(0, Math.min(x + size.width / 2, bounds.x + bounds.width) - Math.max(x - size.width / 2, bounds.x));
  const h = Math.max(0, Math.min(y + size.height / 2, bounds.y + bounds.height) - Math.max(y - size.height / 2, bounds.y));
  return size.width * size.height - w * h;
}

const ALONG = [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.12, 0.88];
const ASIDE = [0, -24, 24, -48, 48];

/**
 * Where an edge's label sits: the midpoint if the label covers no card there, else the first
 * point along the edge (tried outwards from the middle, then just above or below it, then half
 * the label's width past either end) where it covers none; failing that, where it covers the
 * least. With `bounds` (the drawing's box), a spot partly outside counts as covering that much:
 * a label above the top card would be cut off when the camera frames the drawing. With
 * `freeOnly`, null when no spot covers nothing.
 */
export function labelSpot(points, size, boxes, bounds = null, { freeOnly = false } = {}) {
  let best = null;
  let bestArea = Infinity;
  // A label wider than its edge (a short edge between close cards) may find room only past one
  // end, beside the card there (issue 23: the MNIST page's W1 label lay over W1's card).
  for (const [dx, dy] of [0, size.width / 2, -size.width / 2].flatMap((shift) => ASIDE.map((aside) => [shift, aside]))) {
    for (const t of ALONG) {
      const [x0, y0] = pointAlong(points, t);
      const x = x0 + dx;
      const y = y0 + dy;
      const area = overlapArea(x, y, size, boxes) + outsideArea(x, y, size, bounds);
      if (area === 0) return [x, y];
      if (area < bestArea) {
        bestArea = area;
        best = [x, y];
      }
    }
  }
  if (freeOnly) return null;
  return best ?? midpoint(points);
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

/**
 * Composites, opened and closed: a composite node (linear, mse, softmax_cross_entropy, softmax,
 * log_softmax, sigmoid) opens into the primitives it is made of. The API does the opening (the
 * request's `expand`, see docs/api.md): its nodes carry `group` and `groups` lists the boxes.
 *
 * Here: the layout with each group as an ELK compound node (so its primitives are laid out
 * together, inside a box, and the rest of the graph keeps its layers and order), the boxes drawn
 * behind the cards with a close control, an open control on every composite card, "open all",
 * the inspector's control, and the stepper position carried across a re-run.
 */
import * as d3 from 'd3';
import { aliasPlan, fromElkLayout, toElkGraph } from './layout.js';

/** The composites when GET /ops could not be read (it is the source: ops with a decomposition). */
const DEFAULT_COMPOSITES = ['linear', 'mse', 'softmax_cross_entropy', 'softmax', 'log_softmax', 'sigmoid'];
const PADDING = { top: 30, left: 14, bottom: 14, right: 14 };

export function compositeNames(ops) {
  const names = (ops || []).filter((op) => op.decomposition).map((op) => op.name);
  return names.length ? names : DEFAULT_COMPOSITES;
}

// ------------------------------------------------------------------ layout (pure)

/** The ELK input graph with every group as a compound node holding its members (nested too). */
export function toGroupedElkGraph(response) {
  const graph = toElkGraph(response);
  const groups = response.groups || [];
  if (!groups.length) return graph;
  const boxes = new Map(groups.map((group) => [group.id, {
    id: `g${group.id}`,
    children: [],
    layoutOptions: { 'elk.padding': `[top=${PADDING.top},left=${PADDING.left},bottom=${PADDING.bottom},right=${PADDING.right}]` },
  }]));
  const placed = new Set();
  const roots = [];
  // Members in creation order; a box goes where its first member would have gone, so ELK's
  // model order (the program's order) is kept around it.
  const place = (child, groupId) => {
    if (groupId === null || groupId === undefined) {
      roots.push(child);
      return;
    }
    const box = boxes.get(groupId);
    if (!placed.has(groupId)) {
      placed.add(groupId);
      place(box, groups[groupId].parent);
    }
    box.children.push(child);
  };
  // A shared input's copy (`a<source>-<target>-<slot>`, layout.aliasPlan) sits in its consumer's group.
  const owner = (child) => Number(child.id.startsWith('a') ? child.id.split('-')[1] : child.id.slice(1));
  for (const child of graph.children) place(child, response.nodes[owner(child)].group);
  graph.children = roots;
  graph.layoutOptions = { ...graph.layoutOptions, 'elk.hierarchyHandling': 'INCLUDE_CHILDREN' };
  return graph;
}

/** ELK's nested answer → the flat layout render.js draws, plus `groups`: each box in absolute coordinates. */
export function fromGroupedLayout(response, laidOut) {
  const origin = new Map([[laidOut.id ?? 'root', [0, 0]]]);
  const cards = [];
  const boxes = new Map();
  const stack = [[laidOut, 0, 0]];
  while (stack.length) {
    const [parent, x0, y0] = stack.pop();
    for (const child of parent.children || []) {
      const x = x0 + child.x;
      const y = y0 + child.y;
      if (child.id.startsWith('g')) {
        origin.set(child.id, [x, y]);
        boxes.set(Number(child.id.slice(1)), { x, y, width: child.width, height: child.height });
        stack.push([child, x, y]);
      } else {
        cards.push({ ...child, x, y });
      }
    }
  }
  // Edge sections are relative to their container (the innermost node holding both ends).
  const edges = (laidOut.edges || []).map((edge) => {
    const [dx, dy] = origin.get(edge.container) ?? [0, 0];
    const shift = (point) => ({ x: point.x + dx, y: point.y + dy });
    return {
      ...edge,
      sections: (edge.sections || []).map((section) => ({
        ...section,
        startPoint: shift(section.startPoint),
        endPoint: shift(section.endPoint),
        bendPoints: (section.bendPoints || []).map(shift),
      })),
    };
  });
  const layout = fromElkLayout(response, { ...laidOut, children: cards, edges }, aliasPlan(response));
  layout.groups = groupBoxes(response, layout, boxes);
  return layout;
}

/**
 * Each group's box: ELK's compound node where there is one, else (the quick layout) the bounding
 * box of its members with the same padding. Outer groups first, so inner boxes draw on top.
 */
export function groupBoxes(response, layout, laidOutBoxes = new Map()) {
  const positions = new Map(layout.nodes.map((box) => [box.id, box]));
  return (response.groups || []).map((group) => {
    let box = laidOutBoxes.get(group.id);
    if (!box) {
      const members = group.nodes.map((id) => positions.get(id)).filter(Boolean);
      const x = Math.min(...members.map((m) => m.x)) - PADDING.left;
      const y = Math.min(...members.map((m) => m.y)) - PADDING.top;
      box = {
        x, y,
        width: Math.max(...members.map((m) => m.x + m.width)) + PADDING.right - x,
        height: Math.max(...members.map((m) => m.y + m.height)) + PADDING.bottom - y,
      };
    }
    let depth = 0;
    for (let parent = group.parent; parent !== null && parent !== undefined; parent = response.groups[parent].parent) depth += 1;
    return { ...box, id: group.id, op: group.op, label: group.label, depth };
  }).sort((a, b) => a.depth - b.depth || a.id - b.id);
}

/** Lays out a response with groups (ELK compound nodes). */
export async function layoutWithGroups(elk, response) {
  const laidOut = await elk.layout(toGroupedElkGraph(response));
  return { ...fromGroupedLayout(response, laidOut), engine: 'elk' };
}

// ------------------------------------------------------------------ what to ask for (pure)

/** The request's `expand` after opening (open=true) or closing an op: null, "all" or a list. */
export function toggledExpand(expand, op, open, composites = DEFAULT_COMPOSITES) {
  if (op === null) return open ? 'all' : null;
  const current = expand === 'all' ? [...composites] : [...(expand || [])];
  const next = open ? [...new Set([...current, op])] : current.filter((name) => name !== op);
  if (composites.every((name) => next.includes(name))) return 'all';
  return next.length ? next : null;
}

/**
 * The stepper position in `next` that shows what `position` showed in `previous`: the same
 * node computed, or the gradient into the same node from the same consumer (by label, which
 * stays when a composite opens: its last primitive carries the call's label).
 */
export function matchPosition(previous, position, next) {
  if (!previous || position <= 0) return 0;
  const step = previous.steps[position - 1];
  if (!step) return 0;
  const label = (response, id) => response.nodes[id]?.label;
  const same = (candidate, keys) => keys.every(([field]) => label(next, candidate[field]) === label(previous, step[field]));
  const phase = (candidate) => candidate.phase === step.phase;
  const tries = step.phase === 'forward' ? [[['node']]] : [[['input'], ['node']], [['input']]];
  for (const keys of tries) {
    const index = next.steps.findIndex((candidate) => phase(candidate) && same(candidate, keys));
    if (index >= 0) return index + 1;
  }
  return Math.min(position, next.steps.length);
}

/**
 * The camera that keeps the graph where it was after a composite opens or closes: the same zoom,
 * panned so that a card present before and after (the first input both graphs have, else the
 * output) stays on the same spot of the screen. Null when no card is in both.
 */
export function anchoredCamera(previous, previousLayout, camera, next, nextLayout) {
  if (!previous || !previousLayout || !camera) return null;
  const key = (node) => `${node.op === 'input' ? 'input' : 'node'}:${node.label}`;
  // Boxes by id: a folded drawing (fold.js) lists only the boxes it draws.
  const boxOf = (layout) => new Map(layout.nodes.map((box) => [box.id, box]));
  const previousBoxes = boxOf(previousLayout);
  const before = new Map(previous.nodes.filter((node) => previousBoxes.has(node.id)).map((node) => [key(node), previousBoxes.get(node.id)]));
  const candidates = [...next.nodes.filter((node) => node.op === 'input'), next.nodes[next.output]];
  const anchor = candidates.find((node) => node && before.has(key(node)));
  if (!anchor) return null;
  const old = before.get(key(anchor));
  const now = boxOf(nextLayout).get(anchor.id);
  if (!now) return null;
  return { k: camera.k, x: camera.x + camera.k * (old.x - now.x), y: camera.y + camera.k * (old.y - now.y) };
}

// ------------------------------------------------------------------ drawing

/**
 * The group boxes and controls on the graph's SVG (render.js draws the cards and edges; this
 * adds a layer behind them, inside its zoomed viewport, which render.js's redraws leave alone),
 * the open control on composite cards (render.js's decorateNodes hook: cards come and go with
 * culling), the "open all" button, and the inspector's control.
 * `onToggle(op, open)`: op null with open true/false is "open all"/"close all".
 */
export function createGroupControls(svgElement, graph, toolbar, { onToggle }) {
  let composites = DEFAULT_COMPOSITES;
  let response = null;
  const svg = d3.select(svgElement);

  const allButton = document.createElement('button');
  allButton.type = 'button';
  allButton.id = 'expand-all';
  allButton.className = 'expand-all';
  // "Open all" while any composite is still closed, else "Close all".
  const anyClosed = () => Boolean(response?.nodes.some((node) => composites.includes(node.op)));
  allButton.addEventListener('click', () => onToggle(null, anyClosed()));
  toolbar?.append(allButton);

  function setOps(ops) {
    composites = compositeNames(ops);
  }

  function draw(nextResponse, layout) {
    response = nextResponse;
    const opened = Boolean(response.groups?.length);
    const closed = anyClosed();
    allButton.textContent = closed ? 'Open all' : 'Close all';
    allButton.title = closed ? 'Open every composite (linear, mse, …) into its primitives' : 'Close every composite back into one node';
    allButton.hidden = !opened && !closed;

    const viewport = svg.select('g.viewport');
    let layer = viewport.select('g.groups');
    if (layer.empty()) layer = viewport.insert('g', 'g.edges').attr('class', 'groups');
    const boxes = layer.selectAll('g.group-box')
      .data(layout.groups || [], (box) => box.id)
      .join((enter) => {
        const group = enter.append('g').attr('class', 'group-box');
        group.append('rect').attr('class', 'frame');
        group.append('text').attr('class', 'group-label');
        const close = group.append('g').attr('class', 'group-close').attr('role', 'button').attr('tabindex', 0);
        close.append('rect').attr('width', 50).attr('height', 18).attr('rx', 9);
        close.append('text').attr('x', 25).attr('y', 13).attr('text-anchor', 'middle').text('close');
        return group;
      });
    boxes
      .attr('data-group', (box) => box.id)
      .attr('data-op', (box) => box.op)
      .classed('nested', (box) => box.depth > 0)
      .attr('transform', (box) => `translate(${box.x},${box.y})`);
    boxes.select('rect.frame').attr('width', (box) => box.width).attr('height', (box) => box.height).attr('rx', 12);
    boxes.select('text.group-label').attr('x', 12).attr('y', 19).text((box) => `${box.op} · ${box.label}`);
    boxes.select('g.group-close')
      .attr('transform', (box) => `translate(${box.width - 58},6)`)
      .attr('aria-label', (box) => `Close ${box.op} ${box.label} into one node`)
      .on('click', (event, box) => {
        event.stopPropagation();
        onToggle(box.op, false);
      })
      .on('keydown', (event, box) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onToggle(box.op, false);
        }
      });

    // An open control on every composite card (render.js makes it again whenever a card is created).
    graph.decorateNodes('open-toggle', (node, box) => {
      if (!composites.includes(node.op) || !box) return null;
      const toggle = d3.select(document.createElementNS('http://www.w3.org/2000/svg', 'g'))
        .attr('class', 'open-toggle').attr('role', 'button').attr('tabindex', 0)
        // Just under the card's right edge: inside, it covered the gradient of a card sized to its text.
        .attr('transform', `translate(${box.width - 52},${box.height + 4})`)
        .attr('aria-label', `Open ${node.op} ${node.label} into its primitives`);
      toggle.append('rect').attr('width', 44).attr('height', 16).attr('rx', 8);
      toggle.append('text').attr('x', 22).attr('y', 12).attr('text-anchor', 'middle').text('open');
      toggle.append('title').text(`Open ${node.op} into its primitives`);
      toggle
        .on('click', (event) => {
          event.stopPropagation();
          onToggle(node.op, true);
        })
        .on('keydown', (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            event.stopPropagation();
            onToggle(node.op, true);
          }
        });
      return toggle.node();
    });
  }

  /** The inspector's control for the selected node: open its composite, or close its group. */
  function inspect(root, node) {
    if (!response || !node || !root) return;
    root.querySelector('.group-control')?.remove();
    const group = node.group !== undefined && node.group !== null ? response.groups[node.group] : null;
    let text = null;
    let action = null;
    if (composites.includes(node.op)) {
      text = `Open ${node.op} into its primitives`;
      action = () => onToggle(node.op, true);
    } else if (group) {
      text = `Close ${group.op} (${group.label}) into one node`;
      action = () => onToggle(group.op, false);
    }
    if (!text) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'group-control';
    button.textContent = text;
    button.addEventListener('click', action);
    const head = root.querySelector('.inspector-head');
    if (head) head.after(button);
    else root.prepend(button);
  }

  return { draw, inspect, setOps, get composites() { return composites; } };
}

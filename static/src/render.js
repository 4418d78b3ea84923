/**
 * Rendering: the only module that touches the graph's SVG.
 *
 * Only what is near the view exists in the DOM (culling.js): cards, edges and aliases are
 * created when the camera brings them close and removed when it leaves, so drawing, stepping
 * and panning cost the same at 5,000 nodes as at 5. Far out (level of detail) cards are plain
 * boxes without text. `draw` takes a laid-out graph; `update` shows a stepper view by writing
 * only what changed on the elements that exist; the camera (camera.js) keeps both ends of the
 * current edge in view. Nodes are keyed by id, edges by source-target-slot (`x * x` draws two
 * edges).
 *
 * Hooks for other features: `nodeElement(id)` (null while a card is off-screen),
 * `classNode(id, className, on)`, which adds a class that survives culling and stepping, and
 * `decorateNodes(name, make)`, extra elements on cards (badges, notes, controls) made again
 * whenever a card is created. Layers other modules add to the viewport (group boxes, broadcast
 * labels) stay: `draw` only replaces render.js's own elements.
 */
import * as d3 from 'd3';
import { centreOn, fitScale, frameBoxes, isCut, MAX_SCALE, MIN_SCALE, openingTransform, PRESENT_SCALE, READABLE_SCALE, unionBox } from './camera.js';
import { boxOfPoints, createCuller, createGridIndex, levelOfDetail, visibleRect } from './culling.js';
import { badgeWidth, CARD_TEXT, cardText, fitText, labelSpot, titleRoom } from './layout.js';
import { formatNumber, formatValueShort, isScalar, stats } from './tensor.js';

const SVG = 'http://www.w3.org/2000/svg';
const DURATION = 260;
/** Faint gradient labels on every finished edge only while the graph stays readable. */
const MAX_EDGES_WITH_LABELS = 40;
/** The fit button never zooms out past this: below it a long graph is a hairline. */
const OVERVIEW_SCALE = 0.1;
/** Past this many nodes the camera cuts instead of gliding. */
const ANIMATED_NODES = 300;
/** How far a card may grow to the right to show a replay's extra contribution counter. */
const MAX_CARD_GROWTH = 40;
/** The training health marks' kinds (train/health.js), each a `health-<kind>` class. */
const HEALTH_KINDS = ['dead', 'saturated', 'update-ratio'];

/** Norms of the gradients named so far (a 784×100 gradient is read once, not at every step). */
const gradNorms = new WeakMap();

/** A card's spoken name: "W1, input, 64 by 100, gradient norm 0.0012" (the gradient so far). */
export function cardName(node, grad) {
  const shape = Array.isArray(node.shape) && node.shape.length ? node.shape.join(' by ') : 'scalar';
  let gradient = 'no gradient yet';
  if (grad !== undefined && grad !== null && isScalar(grad)) gradient = `gradient ${formatNumber(grad)}`;
  else if (grad !== undefined && grad !== null) {
    if (!gradNorms.has(grad)) gradNorms.set(grad, stats(grad, node.shape).norm);
    gradient = `gradient norm ${formatNumber(gradNorms.get(grad))}`;
  }
  return `${node.label}, ${node.op}, ${shape}, ${gradient}`;
}

/** Users who ask for less motion get a camera that cuts instead of gliding. */
function prefersReducedMotion() {
  return typeof window !== 'undefined' && window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
}

function svgElement(tag, attributes = {}) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

export function createGraphView(svgRoot, { onSelect, onView = () => {} }) {
  const svg = d3.select(svgRoot);
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
  const edgeLayer = viewport.append('g').attr('class', 'edges').node();
  const aliasLayer = viewport.append('g').attr('class', 'aliases').node();
  const labelLayer = viewport.append('g').attr('class', 'edge-labels');
  const nodeLayer = viewport.append('g').attr('class', 'nodes').node();

  // The view's size, kept by a ResizeObserver: reading it during a step would force the browser
  // to lay the page out in the middle of the step's DOM writes. The SVG itself has a fixed size
  // larger than any screen, clipped by this box, so panels changing height never make the
  // browser lay the drawing out again.
  const viewBox = svgRoot.parentElement ?? svgRoot;
  let knownSize = null;
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(([entry]) => {
      const before = knownSize;
      knownSize = { width: entry.contentRect.width, height: entry.contentRect.height };
      if (!layout) return;
      cull(d3.zoomTransform(svgRoot));
      // The explanation grew under a step (heatmaps) and took height from the view: the step's
      // two ends stay in view (frameBoxes keeps the camera when they still are).
      const shrank = before && (knownSize.height < before.height - 0.5 || knownSize.width < before.width - 0.5);
      if (shrank && lastView?.current) frameStep(lastView, false);
    }).observe(viewBox);
  }
  function viewSize() {
    if (knownSize && knownSize.width) return knownSize;
    const { width, height } = viewBox.getBoundingClientRect();
    return { width, height };
  }

  // The zoom the user chose (wheel, buttons, opening view): the camera never zooms in past it.
  let userScale = READABLE_SCALE;
  const zoom = d3.zoom().scaleExtent([MIN_SCALE, 4]).extent(() => {
    const { width, height } = viewSize();
    return [[0, 0], [width, height]];
  }).on('zoom', (event) => {
    viewport.attr('transform', event.transform);
    if (event.sourceEvent) userScale = event.transform.k;
    svgRoot.dataset.scale = String(event.transform.k);;
    cull(event.transform);
    onView(event.transform, viewSize());
  });
  // Glides interpolate the camera linearly: d3's default (interpolateZoom) zooms out and back in
  // on every pan, and a frame whose scale changes makes the browser lay out every text of the
  // drawing again (5–17 ms a frame with a dozen cards); a pan at one zoom keeps the scale.
  zoom.interpolate(d3.interpolate);
  svg.call(zoom).on('dblclick.zoom', null);

  let response = null;
  let layout = null;
  let positions = new Map();
  let edges = [];
  let aliases = [];
  let aliasIndexByKey = new Map();
  let edgeByKey = new Map();
  // Each drawn edge label's box (graph units), by edge key: hidden while the view's edge cuts it.
  const labelBoxes = new Map();
  // Cards and aliases by place: what an edge label must keep clear of, found without a scan.
  let obstacleIndex = createGridIndex([]);
  let obstacles = [];
  // Elements that exist now (near the view), by node id / edge index / alias index.
  let nodeElements = new Map();
  let edgeElements = new Map();
  let aliasElements = new Map();
  let nodeCuller = createCuller([]);
  let edgeCuller = createCuller([]);
  let aliasCuller = createCuller([]);
  let detail = 'full';
  let lastView = null;
  let lastSelected = null;
  let tabStop = null;
  let extraClasses = new Map();
  // Extra elements on cards, by decoration name: make(node, box) → an element or null.
  const decorations = new Map();
  // Folding (fold-view.js): a folded repetition is drawn as one box standing in its output's id;
  // stepper views and node ids are read in the drawing's ids through these hooks.
  let folding = null;
  const drawnView = (view) => (folding && view ? folding.view(view) : view);
  const drawnNode = (id) => (folding && id !== null && id !== undefined ? folding.node(id) : id);

  function draw(nextResponse, nextLayout) {
    response = nextResponse;
    layout = nextLayout;
    positions = new Map(layout.nodes.map((box) => [box.id, box]));
    edges = layout.edges;
    aliases = layout.aliases || [];
    aliasIndexByKey = new Map(aliases.map((alias, index) => [alias.key, index]));
    edgeByKey = new Map(edges.map((edge) => [edge.key, edge]));
    labelBoxes.clear();
    // An opened composite's box (groups.js) counts by its title row, with the close control.
    obstacles = [...layout.nodes, ...aliases, ...(layout.groups || []).map((group) => ({ x: group.x, y: group.y, width: group.width, height: 28 }))];
    obstacleIndex = createGridIndex(obstacles);
    for (const element of nodeElements.values()) element.remove();
    for (const element of edgeElements.values()) element.remove();
    for (const element of aliasElements.values()) element.remove();
    nodeElements = new Map();
    edgeElements = new Map();
    aliasElements = new Map();
    labelLayer.selectAll('*').remove();
    extraClasses = new Map();
    lastView = null;
    tabStop = response.nodes.length ? response.nodes[0].id : null;
    nodeCuller = createCuller(response.nodes.map((node) => positions.get(node.id)));
    edgeCuller = createCuller(edges.map((edge) => boxOfPoints(edge.points)));
    aliasCuller = createCuller(aliases);
    cull(d3.zoomTransform(svgRoot));
  }

  // ------------------------------------------------------------ creating and removing elements

  function cull(transform) {
    if (!layout) return;
    const level = levelOfDetail(transform.k);
    if (level !== detail) {
      detail = level;
      svgRoot.classList.toggle('lod-shapes', level === 'shapes');
      if (level === 'full') for (const [id, element] of nodeElements) ensureText(element, response.nodes[id]);
    }
    const rect = visibleRect(transform, viewSize());
    sync(nodeCuller, nodeElements, nodeLayer, rect, (id) => createCard(response.nodes[id]), paintNode);
    sync(edgeCuller, edgeElements, edgeLayer, rect, (index) => createEdge(edges[index]), paintEdge);
    sync(aliasCuller, aliasElements, aliasLayer, rect, (index) => createAlias(aliases[index]), paintAlias);
    hideCutLabels(transform);
  }

  /** Hides the edge labels the view's edge cuts (a truncated number misleads); whole ones show. */
  function hideCutLabels(transform) {
    const rect = visibleRect(transform, viewSize(), 0);
    labelLayer.selectAll('g.edge-label').classed('cut', (edge) => labelBoxes.has(edge.key) && isCut(labelBoxes.get(edge.key), rect));
  }

  /** Removes the elements that left `rect`, creates (and paints) those that came into it. */
  function sync(culler, elements, parent, rect, create, paint) {
    const { show, hide } = culler.update(rect);
    for (const key of hide) {
      elements.get(key)?.remove();
      elements.delete(key);
    }
    for (const key of show) {
      const element = create(key);
      elements.set(key, element);
      parent.append(element);
      if (lastView) paint(key, element);
    }
  }

  function createEdge(edge) {
    return svgElement('path', { class: 'edge pending', d: edgePath(edge.points), 'data-key': edge.key, 'marker-end': 'url(#arrow)' });
  }

  function createCard(node) {
    const box = positions.get(node.id);
    const group = svgElement('g', {
      class: baseClass(node), transform: `translate(${box.x},${box.y})`, 'data-node': node.id,
      // A group, not a button: a card holds controls of its own (open a composite, a check badge),
      // and a button's content is presentational. Its name is said, not its many text lines.
      'data-label': node.sourceLabel ?? node.label, 'data-name': node.label, role: 'group',
      'aria-roledescription': 'node',
      // One card in the tab order (roving tabindex): Tab reaches the stepper without walking every node.
      tabindex: node.id === tabStop ? 0 : -1,
      'aria-label': cardName(node, undefined),
      'data-scalar': String(node.op === 'input' && isScalar(node.value)),
    });
    group.append(
      svgElement('rect', { class: 'card', width: box.width, height: box.height, rx: 9 }),
      svgElement('rect', { class: 'stripe', width: 5, height: box.height, rx: 2.5 }),
    );
    group.addEventListener('click', () => onSelect(node.id));
    group.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        onSelect(node.id);
      } else if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && (group.dataset.scalar !== 'true' || event.shiftKey)) {
        // Every card is reachable by keyboard: ↓/↑ move to the next/previous node in program order
        // (Shift+↓/↑ on a scalar input's card, where ↓/↑ nudge its value: check/tools.js).
        event.preventDefault();
        event.stopPropagation();
        focusNeighbour(node.id, event.key === 'ArrowDown' ? 1 : -1);
      }
    });
    group.shown = { classes: null, value: null, gradRef: undefined, counter: null };
    if (detail === 'full') ensureText(group, node);
    for (const name of decorations.keys()) decorate(group, node, name);
    return group;
  }

  /** The card's text, made the first time the card is shown at a readable zoom. */
  function ensureText(group, node) {
    if (group.querySelector('text')) return;
    const box = positions.get(node.id);
    const text = cardText(node);
    const badge = badgeWidth(text.badge);
    const outputId = response.output;
    const title = svgElement('text', { class: 'title', x: 14, y: 20 });
    title.textContent = fitText(text.title, titleRoom(box.width, text.badge), CARD_TEXT.titleChar);
    const badgeBg = svgElement('rect', { class: 'badge-bg', x: box.width - badge - 8, y: 8, width: badge, height: 16, rx: 8 });
    const badgeText = svgElement('text', { class: 'badge', x: box.width - 8 - badge / 2, y: 20 });
    badgeText.textContent = text.badge;
    const shape = svgElement('text', { class: 'shape', x: 14, y: 36 });
    shape.textContent = fitText(node.id === outputId ? `${text.shape} · output` : text.shape, box.width - 22, CARD_TEXT.smallChar);
    const valueKey = svgElement('text', { class: 'key value-key', x: 14, y: 52 });
    valueKey.textContent = 'value';
    const value = svgElement('text', { class: 'value', x: CARD_TEXT.numbersX, y: 52 });
    const gradKey = svgElement('text', { class: 'key grad-key', x: 14, y: 67 });
    gradKey.textContent = 'grad';
    const grad = svgElement('text', { class: 'grad', x: CARD_TEXT.numbersX, y: 67 });
    const tooltip = svgElement('title');
    const source = node.sourceLabel && node.sourceLabel !== node.label ? ` = ${node.sourceLabel}` : '';
    tooltip.textContent = `${node.label}${source} (${node.op}) — click to inspect`;
    group.append(title, badgeBg, badgeText, shape, valueKey, value, gradKey, grad, tooltip);
    // Decorations stay on top of the text made after them.
    group.append(...group.querySelectorAll(':scope > [data-decoration]'));
    group.shown.value = null;
    group.shown.gradRef = undefined;
    if (lastView) paintNode(node.id, group);
  }

  /** Copies of shared inputs beside their far uses (layout.aliasPlan); a click inspects the input. */
  function createAlias(alias) {
    const node = response.nodes[alias.source];
    const group = svgElement('g', { class: 'alias', transform: `translate(${alias.x},${alias.y})`, 'data-key': alias.key, 'data-alias-of': alias.source });
    const text = svgElement('text', { x: 10, y: 18 });
    text.textContent = `↪ ${node.label}`;
    const tooltip = svgElement('title');
    tooltip.textContent = `${node.label}, shared: drawn again here instead of an edge across the graph. Click to inspect it.`;
    group.append(svgElement('rect', { width: alias.width, height: alias.height, rx: 14 }), text, tooltip);
    group.addEventListener('click', () => onSelect(alias.source));
    return group;
  }

  // ------------------------------------------------------------ showing a step

  function baseClass(node) {
    let classes = 'node';
    if (node.op === 'input') classes += ' input';
    if (node.op === 'constant') classes += ' constant';
    if (node.id === response.output) classes += ' output';
    const extras = extraClasses.get(node.id);
    if (extras && extras.size) classes += ` ${[...extras].join(' ')}`;
    return classes;
  }

  function paintNode(id, element) {
    const view = lastView;
    const node = response.nodes[id];
    const { current } = view;
    const shown = element.shown;
    let classes = baseClass(node);
    if (!view.computed[id]) classes += ' pending';
    if (current && current.phase === 'forward' && current.node === id) classes += ' current';
    if (current && current.phase === 'backward' && current.node === id) classes += ' grad-source';
    if (current && current.phase === 'backward' && current.input === id) classes += ' grad-target';
    if (id === lastSelected) classes += ' selected';
    if (view.grads[id] !== undefined) classes += ' has-grad';
    if (shown.classes !== classes) {
      element.setAttribute('class', classes);
      shown.classes = classes;
    }
    const tabindex = id === tabStop ? '0' : '-1';
    if (element.getAttribute('tabindex') !== tabindex) element.setAttribute('tabindex', tabindex);
    const valueText = element.querySelector('text.value');
    if (!valueText) return;
    const box = positions.get(id);
    const computed = Boolean(view.computed[id]);
    if (shown.value !== computed) {
      shown.value = computed;
      valueText.textContent = fitText(computed ? formatValueShort(node.value, node.shape) : '…', box.width - CARD_TEXT.numbersX - 8, CARD_TEXT.monoChar);
    }
    const grad = view.grads[id];
    const expected = view.expected[id];
    // Several contributions: show how many have arrived, so the sum is visibly a sum.
    const counter = expected > 1 ? `  (${view.received[id]}/${expected})` : '';
    if (shown.gradRef !== grad || shown.counter !== counter) {
      if (shown.gradRef !== grad) element.setAttribute('aria-label', cardName(node, grad));
      shown.gradRef = grad;
      shown.counter = counter;
      const gradText = element.querySelector('text.grad');
      const numbers = grad === undefined ? '—' : formatValueShort(grad, node.shape);
      // A replay (break-it) can send a node more contributions than the layout made room for:
      // the card then grows a little to the right rather than turn short numbers into "…".
      const room = box.width - CARD_TEXT.numbersX - 8;
      const full = (numbers.length + counter.length) * CARD_TEXT.monoChar;
      const grow = full > room && full - room <= MAX_CARD_GROWTH ? Math.ceil(full - room) : 0;
      gradText.textContent = (full <= room || grow ? numbers : fitText(numbers, room - counter.length * CARD_TEXT.monoChar, CARD_TEXT.monoChar)) + counter;
      const cardRect = element.querySelector('rect.card');
      if (Number(cardRect.getAttribute('width')) !== box.width + grow) cardRect.setAttribute('width', box.width + grow);
      if (grad !== undefined && isScalar(grad)) gradText.setAttribute('data-grad', formatNumber(grad));
      else gradText.removeAttribute('data-grad');
    }
  }

  function paintEdge(index, element) {
    const view = lastView;
    const edge = edges[index];
    const forwardNode = view.current && view.current.phase === 'forward' ? view.current.node : null;
    let classes = 'edge';
    if (edge.key === view.currentEdge) classes += ' current';
    else if (view.edgesDone.has(edge.key)) classes += ' done';
    if (edge.target === forwardNode) classes += ' feeding';
    if (!view.computed[edge.target]) classes += ' pending';
    if (element.shownClasses === classes) return;
    element.shownClasses = classes;
    element.setAttribute('class', classes);
    let marker = 'url(#arrow)';
    if (edge.key === view.currentEdge) marker = 'url(#arrow-grad)';
    else if (edge.target === forwardNode) marker = 'url(#arrow-active)';
    element.setAttribute('marker-end', marker);
  }

  function paintAlias(index, element) {
    const { current } = lastView;
    const alias = aliases[index];
    let classes = 'alias';
    if (current) {
      const [source, target, slot] = alias.key.split('-').map(Number);
      if (current.phase === 'backward' && current.input === source && current.node === target && current.slot === slot) classes += ' grad-target';
      if (current.phase === 'forward' && current.node === target) classes += ' feeding';
    }
    if (element.getAttribute('class') !== classes) element.setAttribute('class', classes);
  }

  /** Shows a stepper view (see stepper.viewAt) and the selected node, on the elements that exist. */
  function update(view, selected) {
    if (!response) return;
    view = drawnView(view);
    selected = drawnNode(selected);
    lastView = view;
    lastSelected = selected;
    const { current } = view;
    tabStop = selected ?? (current ? (current.phase === 'backward' ? current.input : current.node) : response.nodes[0]?.id ?? null);
    for (const [id, element] of nodeElements) paintNode(id, element);
    for (const [index, element] of edgeElements) paintEdge(index, element);
    for (const [index, element] of aliasElements) paintAlias(index, element);
    drawEdgeLabels(view);
  }

  function drawEdgeLabels(view) {
    const labelled = [];
    if (view.currentEdge) labelled.push(view.currentEdge);
    if (edges.length <= MAX_EDGES_WITH_LABELS) for (const key of view.edgesDone) if (key !== view.currentEdge) labelled.push(key);
    const contributionOf = new Map();
    // The current edge's contribution is the current step (a weight shared by every step of a
    // recurrence has thousands of contributions: none is searched).
    if (view.currentEdge) contributionOf.set(view.currentEdge, view.current);
    for (const key of labelled) {
      if (key === view.currentEdge) continue;
      const [source] = key.split('-').map(Number);
      for (const { step } of view.contributions.get(source) || []) {
        if (`${step.input}-${step.node}-${step.slot}` === key) contributionOf.set(key, step);
      }
    }
    const labels = labelled.filter((key) => contributionOf.has(key) && edgeByKey.has(key)).map((key) => edgeByKey.get(key));
    const nearby = (edge) => {
      // Cards, aliases and group titles near the label's edge: what it must not cover.
      const box = boxOfPoints(edge.points);
      const area = { x: box.x - 200, y: box.y - 100, width: box.width + 400, height: box.height + 200 };
      return obstacleIndex.query(area).map((index) => obstacles[index]);
    };
    const placed = [];
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
        const text = `∇ ${formatValueShort(step.contribution, response.nodes[edge.source].shape, 2)}`;
        const width = text.length * CARD_TEXT.labelChar + 14;
        // On the edge, but off every card (the edge's midpoint can sit on a neighbour).
        // A gap of 6 px to every card where there is room (a label flush against a card reads as
        // part of it), else the spot covering least; inside the drawing, which the camera frames
        // (above the top card it was cut off).
        const around = [...nearby(edge), ...placed];
        const drawing = { x: 0, y: 0, width: layout.width, height: layout.height };
        const [x, y] = labelSpot(edge.points, { width: width + 12, height: 28 }, around, drawing, { freeOnly: true })
          ?? labelSpot(edge.points, { width, height: 20 }, around, drawing);
        // Labels placed earlier (the current edge's first) are kept clear too: edges that meet
        // at an opened composite's inner node would stack their labels.
        placed.push({ x: x - width / 2, y: y - 10, width, height: 20 });
        labelBoxes.set(edge.key, placed[placed.length - 1]);
        const group = d3.select(this).attr('transform', `translate(${x},${y})`);
        group.select('text').text(text).attr('text-anchor', 'middle').attr('dy', '0.35em');
        group.select('rect').attr('x', -width / 2).attr('y', -10).attr('width', width).attr('height', 20).attr('rx', 10);
      });
    hideCutLabels(d3.zoomTransform(svgRoot));
  }

  // ------------------------------------------------------------ camera

  function apply(transform, animate) {
    const next = d3.zoomIdentity.translate(transform.x, transform.y).scale(transform.k);
    const current = d3.zoomTransform(svgRoot);
    if (current.k === next.k && current.x === next.x && current.y === next.y) return;
    const smooth = animate && response && response.nodes.length <= ANIMATED_NODES && !prefersReducedMotion();
    (smooth ? svg.transition().duration(DURATION) : svg.interrupt()).call(zoom.transform, next);
  }

  /** The boxes a step connects: a forward step's node and its operands, a backward step's two ends (an alias stands for its input). */
  function stepBoxes(view) {
    view = drawnView(view);
    if (!view || !view.current || !response) return [];
    const { current } = view;
    const endOf = (source, target, slot) => {
      const index = aliasIndexByKey.get(`${source}-${target}-${slot}`);
      return index === undefined ? positions.get(source) : aliases[index];
    };
    if (current.phase === 'forward') {
      const node = response.nodes[current.node];
      return [positions.get(current.node), ...node.inputs.map((source, slot) => endOf(source, current.node, slot))];
    }
    return [endOf(current.input, current.node, current.slot), positions.get(current.node)];
  }

  /**
   * Fits the whole graph. With `readable`, a graph that cannot be read whole opens at a
   * readable zoom around `focus` (a stepper view: its step's two ends) instead.
   */
  function fit(animate = true, { readable = false, focus = null } = {}) {
    if (!layout) return;
    const view = viewSize();
    if (!view.width || !view.height) return;
    const graphBox = { x: 0, y: 0, width: layout.width, height: layout.height };
    let transform;
    if (readable) {
      const focusBoxes = stepBoxes(focus).filter(Boolean);
      transform = openingTransform(graphBox, focusBoxes.length ? focusBoxes : layout.nodes.slice(0, 1), view);
    } else if (fitScale(graphBox, view) >= OVERVIEW_SCALE) {
      transform = centreOn(graphBox, view, Math.min(MAX_SCALE, fitScale(graphBox, view)));
    } else {
      // Too long to show whole as more than a hairline: an overview around the current step
      // (the minimap shows the whole).
      const stepAt = stepBoxes(lastView).filter(Boolean);
      const centre = stepAt.length ? unionOf(stepAt) : layout.nodes[0];
      transform = centreOn(centre, view, OVERVIEW_SCALE);
    }
    userScale = Math.max(READABLE_SCALE, transform.k);
    apply(transform, animate);
  }

  function zoomBy(factor) {
    userScale = d3.zoomTransform(svgRoot).k * factor;
    svg.transition().duration(DURATION).call(zoom.scaleBy, factor);
  }

  function frameBoxesNow(boxes, animate) {
    if (!layout || !boxes.length) return;
    const current = d3.zoomTransform(svgRoot);
    const maxScale = presenting ? PRESENT_SCALE : MAX_SCALE;
    apply(frameBoxes(boxes, viewSize(), { k: current.k, x: current.x, y: current.y }, { preferredScale: userScale, maxScale }), animate);
  }

  /**
   * The presentation view (a projector): steps are framed at PRESENT_SCALE, where every card text
   * is at least 20 px; leaving it returns to the camera from before.
   */
  let presenting = false;
  let cameraBefore = null;
  function present(on, view) {
    if (on === presenting) return;
    presenting = on;
    if (on) {
      cameraBefore = { transform: d3.zoomTransform(svgRoot), userScale };
      userScale = PRESENT_SCALE;
      const boxes = view ? stepBoxes(view).filter(Boolean) : [];
      const box = boxes.length ? boxes : [...positions.values()].slice(0, 1);
      const centre = unionBox(box);
      if (centre) apply(centreOn(centre, viewSize(), PRESENT_SCALE), false);
    } else if (cameraBefore) {
      userScale = cameraBefore.userScale;
      apply(cameraBefore.transform, false);
    }
  }

  /** Moves the camera so both ends of the view's current step are in view. */
  function frameStep(view, animate = true) {
    frameBoxesNow(stepBoxes(view).filter(Boolean), animate);
  }

  /** Moves the camera so every given node is in view. */
  function frame(nodeIds, animate = true) {
    frameBoxesNow(nodeIds.map((id) => positions.get(drawnNode(id))).filter(Boolean), animate);
  }

  /** Moves keyboard focus to the card `delta` places from `id` (program order), brought into view. */
  function focusNeighbour(id, delta) {
    const ids = response.nodes.map((item) => item.id).filter((item) => positions.has(item));
    const next = ids[ids.indexOf(id) + delta];
    if (next === undefined) return;
    frameBoxesNow([positions.get(next)], false);
    cull(d3.zoomTransform(svgRoot));
    const element = nodeElements.get(next);
    if (!element) return;
    nodeElements.get(tabStop)?.setAttribute('tabindex', '-1');
    tabStop = next;
    element.setAttribute('tabindex', '0');
    element.focus({ preventScroll: true });
  }

  /** Kept for callers that show one node. */
  function reveal(nodeId) {
    frame([nodeId]);
  }

  /** Moves the view's centre to a point of the graph, keeping the zoom (the minimap uses it). */
  function centreAt(x, y) {
    if (!layout) return;
    svg.interrupt().call(zoom.translateTo, x, y);
  }

  /**
   * The whole graph as a detached <svg class="graph"> (every card, edge and alias, with the
   * current step's state), for exports: the page itself only holds what is near the view.
   */
  function fullDrawing() {
    const copy = svgRoot.cloneNode(false);
    copy.removeAttribute('style');
    copy.append(svgRoot.querySelector('defs').cloneNode(true));
    const group = svgElement('g', { class: 'viewport' });
    const edgeGroup = svgElement('g', { class: 'edges' });
    const aliasGroup = svgElement('g', { class: 'aliases' });
    const nodeGroup = svgElement('g', { class: 'nodes' });
    edges.forEach((edge, index) => {
      const element = createEdge(edge);
      if (lastView) paintEdge(index, element);
      edgeGroup.append(element);
    });
    aliases.forEach((alias, index) => {
      const element = createAlias(alias);
      if (lastView) paintAlias(index, element);
      aliasGroup.append(element);
    });
    for (const node of response?.nodes ?? []) {
      if (!positions.has(node.id)) continue; // inside a folded repetition's box
      const element = createCard(node);
      ensureText(element, node);
      nodeGroup.append(element);
    }
    const others = [...viewport.node().children].filter((layer) => ![edgeLayer, aliasLayer, labelLayer.node(), nodeLayer].includes(layer));
    group.append(...others.filter((layer) => layer.matches('.groups')).map((layer) => layer.cloneNode(true)));
    group.append(edgeGroup, aliasGroup, labelLayer.node().cloneNode(true));
    group.append(...others.filter((layer) => !layer.matches('.groups')).map((layer) => layer.cloneNode(true)), nodeGroup);
    copy.append(group);
    return copy;
  }

  // ------------------------------------------------------------ hooks

  /** Replaces one decoration's element on a card by a new one from its maker. */
  function decorate(group, node, name) {
    group.querySelector(`:scope > [data-decoration="${name}"]`)?.remove();
    const make = decorations.get(name);
    const element = make && make(node, positions.get(node.id));
    if (!element) return;
    element.setAttribute('data-decoration', name);
    group.append(element);
  }

  /**
   * Extra elements on cards: `make(node, box)` returns an SVG element (in card coordinates) or
   * null; it is called for every card that exists now and for each card created later, so the
   * decoration survives culling, stepping and redraws. `make` null removes the decoration.
   */
  function decorateNodes(name, make) {
    if (make) decorations.set(name, make);
    else decorations.delete(name);
    for (const [id, element] of nodeElements) decorate(element, response.nodes[id], name);
  }

  /**
   * Training health marks (train/health.js: node id → [{kind, card}]): a `health-<kind>` class on
   * each marked node and its marks' short texts just above its card.
   */
  function setHealth(marks) {
    for (const node of response?.nodes ?? []) {
      const list = marks?.get(node.id) ?? [];
      for (const kind of HEALTH_KINDS) if (list.some((mark) => mark.kind === kind) || extraClasses.get(node.id)?.has(`health-${kind}`)) classNode(node.id, `health-${kind}`, list.some((mark) => mark.kind === kind));
    }
    decorateNodes('health', marks && marks.size ? (node) => {
      const list = marks.get(node.id);
      if (!list || !list.length) return null;
      const text = svgElement('text', { class: 'health', x: 4, y: -6 });
      text.textContent = `⚠ ${list.map((mark) => mark.card).join(' · ')}`;
      return text;
    } : null);
  }

  /**
   * New values and gradients for the same nodes (a drag, a replay): keeps the layout and the
   * elements; the next `update` writes every visible card's numbers again.
   */
  function refresh(nextResponse) {
    response = nextResponse;
    for (const [id, element] of nodeElements) {
      element.shown.value = null;
      element.shown.gradRef = undefined;
      element.shown.counter = null;
      element.setAttribute('data-scalar', String(response.nodes[id].op === 'input' && isScalar(response.nodes[id].value)));
    }
  }

  /** The camera as a d3 zoom transform ({k, x, y}), read and set (groups.js keeps a card in place). */
  function camera(transform) {
    if (transform) {
      svg.interrupt().call(zoom.transform, d3.zoomIdentity.translate(transform.x, transform.y).scale(transform.k));
      userScale = Math.max(READABLE_SCALE, transform.k);
    }
    return d3.zoomTransform(svgRoot);
  }

  /** Folding's hooks ({view(view), node(id)}: into the drawing's ids), or null. */
  function setFolding(hooks) {
    folding = hooks;
  }

  function nodeElement(id) {
    return nodeElements.get(id) ?? null;
  }

  /** Adds or removes a class on a card; it survives stepping and culling. */
  function classNode(id, className, on = true) {
    if (!response?.nodes[id]) return;
    if (!extraClasses.has(id)) extraClasses.set(id, new Set());
    const extras = extraClasses.get(id);
    if (on) extras.add(className);
    else extras.delete(className);
    const element = nodeElements.get(id);
    if (element) {
      element.classList.toggle(className, on);
      element.shown.classes = null;
    }
  }

  return {
    draw, update, refresh, fit, zoomBy, reveal, frame, frameStep, stepBoxes, centreAt, camera, present,
    nodeElement, classNode, decorateNodes, setHealth, fullDrawing, setFolding,
    get layout() { return layout; },
    get boxes() { return positions; },
    get transform() { return d3.zoomTransform(svgRoot); },
    get viewSize() { return viewSize(); },
    /** How many cards exist in the DOM now (culling; for tests). */
    get drawnCount() { return nodeElements.size; },
  };
}

function unionOf(boxes) {
  const x0 = Math.min(...boxes.map((box) => box.x));
  const y0 = Math.min(...boxes.map((box) => box.y));
  const x1 = Math.max(...boxes.map((box) => box.x + box.width));
  const y1 = Math.max(...boxes.map((box) => box.y + box.height));
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
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

/**
 * Rendering: the only module that touches the graph's SVG. `draw` builds the cards and edges of
 * a laid-out graph once (D3 keyed joins: nodes by id, edges by source-target-slot, so `x * x`
 * draws two edges); `update` shows a stepper view by touching only what changed since the last
 * view (a step costs the same at 5,000 nodes as at 5); the camera (camera.js) keeps both ends of
 * the current edge in view.
 *
 * Hooks for other features: `nodeElement(id)` and `classNode(id, className, on)` add a class or
 * a badge to a card without knowing how it is drawn.
 */
import * as d3 from 'd3';
import { centreOn, fitScale, frameBoxes, MAX_SCALE, MIN_SCALE, openingTransform, READABLE_SCALE } from './camera.js';
import { badgeWidth, CARD_TEXT, cardText, fitText, labelSpot, titleRoom } from './layout.js';
import { formatNumber, formatValueShort, isScalar } from './tensor.js';

const DURATION = 260;
/** Faint gradient labels on every finished edge only while the graph stays readable. */
const MAX_EDGES_WITH_LABELS = 40;
/** Past this many nodes nothing animates (transitions of thousands of elements cost frames). */
const ANIMATED_NODES = 300;

/** Users who ask for less motion get a camera that cuts instead of gliding. */
function prefersReducedMotion() {
  return typeof window !== 'undefined' && window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
}

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
  const aliasLayer = viewport.append('g').attr('class', 'aliases');
  const labelLayer = viewport.append('g').attr('class', 'edge-labels');
  const nodeLayer = viewport.append('g').attr('class', 'nodes');

  // The zoom the user chose (wheel, buttons, opening view): the camera never zooms in past it.
  let userScale = READABLE_SCALE;
  const zoom = d3.zoom().scaleExtent([MIN_SCALE, 4]).on('zoom', (event) => {
    viewport.attr('transform', event.transform);
    if (event.sourceEvent) userScale = event.transform.k;
    svgElement.dataset.scale = String(event.transform.k);
  });
  svg.call(zoom).on('dblclick.zoom', null);

  let response = null;
  let layout = null;
  let positions = new Map();
  let nodeElements = [];
  let edgeElements = new Map();
  // What each element shows now, so an update writes only the differences.
  let shownNode = [];
  let shownEdge = new Map();
  let tabStop = null;
  let aliasByKey = new Map();
  let litAliases = [];

  function draw(nextResponse, nextLayout) {
    response = nextResponse;
    layout = nextLayout;
    positions = new Map(layout.nodes.map((box) => [box.id, box]));
    const outputId = response.output;
    const animate = response.nodes.length <= ANIMATED_NODES && !prefersReducedMotion();
    const transition = svg.transition().duration(animate ? DURATION : 0);

    const edges = edgeLayer.selectAll('path.edge')
      .data(layout.edges, (edge) => edge.key)
      .join(
        (enter) => enter.append('path').attr('class', 'edge pending').attr('d', (edge) => edgePath(edge.points)),
        (update) => update,
        (exit) => exit.remove(),
      )
      .attr('data-key', (edge) => edge.key)
      .attr('class', 'edge pending')
      .attr('marker-end', 'url(#arrow)');
    (animate ? edges.transition(transition) : edges).attr('d', (edge) => edgePath(edge.points));

    const cards = nodeLayer.selectAll('g.node')
      .data(response.nodes, (node) => node.id)
      .join(
        (enter) => {
          const group = enter.append('g').attr('class', 'node')
            .attr('transform', (node) => translate(positions.get(node.id)));
          group.append('rect').attr('class', 'card');
          group.append('rect').attr('class', 'stripe');
          group.append('text').attr('class', 'title').attr('x', 14).attr('y', 20);
          group.append('rect').attr('class', 'badge-bg');
          group.append('text').attr('class', 'badge').attr('y', 20);
          group.append('text').attr('class', 'shape').attr('x', 14).attr('y', 36);
          group.append('text').attr('class', 'key value-key').attr('x', 14).attr('y', 52).text('value');
          group.append('text').attr('class', 'value').attr('x', CARD_TEXT.numbersX).attr('y', 52);
          group.append('text').attr('class', 'key grad-key').attr('x', 14).attr('y', 67).text('grad');
          group.append('text').attr('class', 'grad').attr('x', CARD_TEXT.numbersX).attr('y', 67);
          group.append('title');
          return group;
        },
        (update) => update,
        (exit) => exit.remove(),
      );
    cards
      .attr('data-node', (node) => node.id)
      .attr('data-label', (node) => node.sourceLabel ?? node.label)
      .attr('data-name', (node) => node.label)
      // One card in the tab order (roving tabindex): Tab reaches the stepper without walking every node.
      .attr('tabindex', -1)
      .attr('role', 'button')
      .attr('aria-label', (node) => `${node.label}: ${node.op}, ${cardText(node).shape}. Press Enter to inspect.`)
      .attr('class', (node) => nodeClass(node, outputId))
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
      const badge = badgeWidth(text.badge);
      card.select('text.title').text(fitText(text.title, titleRoom(box.width, text.badge), CARD_TEXT.titleChar));
      card.select('rect.badge-bg').attr('x', box.width - badge - 8).attr('y', 8)
        .attr('width', badge).attr('height', 16).attr('rx', 8);
      card.select('text.badge').attr('x', box.width - 8 - badge / 2).text(text.badge);
      card.select('text.shape').text(fitText(node.id === outputId ? `${text.shape} · output` : text.shape, box.width - 22, CARD_TEXT.smallChar));
      const source = node.sourceLabel && node.sourceLabel !== node.label ? ` = ${node.sourceLabel}` : '';
      card.select('title').text(`${node.label}${source} (${node.op}) — click to inspect`);
    });
    cards.attr('transform', (node) => translate(positions.get(node.id)));

    drawAliases();
    nodeElements = [];
    cards.each(function keep(node) { nodeElements[node.id] = this; });
    edgeElements = new Map();
    edges.each(function keep(edge) { edgeElements.set(edge.key, { element: this, edge }); });
    shownNode = response.nodes.map(() => ({ classes: null, value: null, grad: null, gradRef: undefined, counter: null }));
    shownEdge = new Map();
    labelLayer.selectAll('*').remove();
    tabStop = null;
    setTabStop(response.nodes.length ? response.nodes[0].id : null);
  }

  /** Copies of shared inputs beside their far uses (layout.aliasPlan); a click inspects the input. */
  function drawAliases() {
    const aliases = aliasLayer.selectAll('g.alias')
      .data(layout.aliases || [], (alias) => alias.key)
      .join((enter) => {
        const group = enter.append('g').attr('class', 'alias');
        group.append('rect');
        group.append('text').attr('x', 10).attr('y', 18);
        group.append('title');
        return group;
      })
      .attr('transform', (alias) => translate(alias))
      .attr('data-key', (alias) => alias.key)
      .attr('data-alias-of', (alias) => alias.source)
      .on('click', (event, alias) => onSelect(alias.source));
    aliases.select('rect').attr('width', (alias) => alias.width).attr('height', (alias) => alias.height).attr('rx', 14);
    aliases.select('text').text((alias) => `↪ ${response.nodes[alias.source].label}`);
    aliases.select('title').text((alias) => `${response.nodes[alias.source].label}, shared: drawn again here instead of an edge across the graph. Click to inspect it.`);
    aliasByKey = new Map();
    aliases.each(function keep(alias) { aliasByKey.set(alias.key, { element: this, box: alias }); });
    litAliases = [];
  }

  /** The boxes a step connects: a forward step's node and its operands, a backward step's two ends (an alias stands for its input). */
  function stepBoxes(view) {
    if (!view || !view.current || !response) return [];
    const { current } = view;
    const endOf = (source, target, slot) => aliasByKey.get(`${source}-${target}-${slot}`)?.box ?? positions.get(source);
    if (current.phase === 'forward') {
      const node = response.nodes[current.node];
      return [positions.get(current.node), ...node.inputs.map((source, slot) => endOf(source, current.node, slot))];
    }
    return [endOf(current.input, current.node, current.slot), positions.get(current.node)];
  }

  function lightAliases(view) {
    for (const element of litAliases) element.setAttribute('class', 'alias');
    litAliases = [];
    if (!view.current || !aliasByKey.size) return;
    const { current } = view;
    const keys = current.phase === 'backward'
      ? [`${current.input}-${current.node}-${current.slot}`]
      : response.nodes[current.node].inputs.map((source, slot) => `${source}-${current.node}-${slot}`);
    for (const key of keys) {
      const alias = aliasByKey.get(key);
      if (!alias) continue;
      alias.element.setAttribute('class', `alias ${current.phase === 'backward' ? 'grad-target' : 'feeding'}`);
      litAliases.push(alias.element);
    }
  }

  function setTabStop(id) {
    if (tabStop === id) return;
    if (tabStop !== null && nodeElements[tabStop]) nodeElements[tabStop].setAttribute('tabindex', '-1');
    tabStop = id;
    if (id !== null && nodeElements[id]) nodeElements[id].setAttribute('tabindex', '0');
  }

  /** Shows a stepper view (see stepper.viewAt) and the selected node: writes only what changed. */
  function update(view, selected) {
    if (!response) return;
    const { nodes } = response;
    const outputId = response.output;
    const current = view.current;
    const forwardNode = current && current.phase === 'forward' ? current.node : null;
    const gradSource = current && current.phase === 'backward' ? current.node : null;
    const gradTarget = current && current.phase === 'backward' ? current.input : null;
    for (const node of nodes) {
      const id = node.id;
      const element = nodeElements[id];
      if (!element) continue;
      const shown = shownNode[id];
      let classes = nodeClass(node, outputId);
      if (!view.computed[id]) classes += ' pending';
      if (id === forwardNode) classes += ' current';
      if (id === gradSource) classes += ' grad-source';
      if (id === gradTarget) classes += ' grad-target';
      if (id === selected) classes += ' selected';
      if (view.grads[id] !== undefined) classes += ' has-grad';
      if (node.extraClasses) classes += node.extraClasses;
      if (shown.classes !== classes) {
        element.setAttribute('class', classes);
        shown.classes = classes;
      }
      const box = positions.get(id);
      const computed = Boolean(view.computed[id]);
      if (shown.value !== computed) {
        shown.value = computed;
        const text = computed ? formatValueShort(node.value, node.shape) : '…';
        element.querySelector('text.value').textContent = fitText(text, box.width - CARD_TEXT.numbersX - 8, CARD_TEXT.monoChar);
      }
      const grad = view.grads[id];
      const expected = view.expected[id];
      // Several contributions: show how many have arrived, so the sum is visibly a sum.
      const counter = expected > 1 ? `  (${view.received[id]}/${expected})` : '';
      if (shown.gradRef !== grad || shown.counter !== counter) {
        shown.gradRef = grad;
        shown.counter = counter;
        const gradText = element.querySelector('text.grad');
        const numbers = grad === undefined ? '—' : formatValueShort(grad, node.shape);
        gradText.textContent = fitText(numbers, box.width - CARD_TEXT.numbersX - 8 - counter.length * CARD_TEXT.monoChar, CARD_TEXT.monoChar) + counter;
        if (grad !== undefined && isScalar(grad)) gradText.setAttribute('data-grad', formatNumber(grad));
        else gradText.removeAttribute('data-grad');
      }
    }
    setTabStop(selected ?? (current ? (gradTarget ?? forwardNode) : nodes[0]?.id ?? null));

    for (const [key, { element, edge }] of edgeElements) {
      let classes = 'edge';
      if (view.edgesDone.has(key) && key !== view.currentEdge) classes += ' done';
      if (key === view.currentEdge) classes += ' current';
      if (edge.target === forwardNode) classes += ' feeding';
      if (!view.computed[edge.target]) classes += ' pending';
      if (shownEdge.get(key) === classes) continue;
      shownEdge.set(key, classes);
      element.setAttribute('class', classes);
      let marker = 'url(#arrow)';
      if (key === view.currentEdge) marker = 'url(#arrow-grad)';
      else if (edge.target === forwardNode) marker = 'url(#arrow-active)';
      element.setAttribute('marker-end', marker);
    }
    lightAliases(view);
    drawEdgeLabels(view);
  }

  function drawEdgeLabels(view) {
    const labelled = [];
    if (view.currentEdge) labelled.push(view.currentEdge);
    if (layout.edges.length <= MAX_EDGES_WITH_LABELS) for (const key of view.edgesDone) if (key !== view.currentEdge) labelled.push(key);
    const contributionOf = new Map();
    for (const key of labelled) {
      const contributions = view.contributions.get(Number(key.split('-')[0])) || [];
      for (const { step } of contributions) if (`${step.input}-${step.node}-${step.slot}` === key) contributionOf.set(key, step);
    }
    const labels = labelled.filter((key) => contributionOf.has(key)).map((key) => edgeElements.get(key).edge);
    const boxes = layout.aliases?.length ? [...layout.nodes, ...layout.aliases] : layout.nodes;
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
        const [x, y] = labelSpot(edge.points, { width, height: 20 }, boxes);
        const group = d3.select(this).attr('transform', `translate(${x},${y})`);
        group.select('text').text(text).attr('text-anchor', 'middle').attr('dy', '0.35em');
        group.select('rect').attr('x', -width / 2).attr('y', -10).attr('width', width).attr('height', 20).attr('rx', 10);
      });
  }

  function viewSize() {
    const { width, height } = svgElement.getBoundingClientRect();
    return { width, height };
  }

  function apply(transform, animate) {
    const next = d3.zoomIdentity.translate(transform.x, transform.y).scale(transform.k);
    const current = d3.zoomTransform(svgElement);
    if (current.k === next.k && current.x === next.x && current.y === next.y) return;
    const smooth = animate && response && response.nodes.length <= ANIMATED_NODES && !prefersReducedMotion();
    (smooth ? svg.transition().duration(DURATION) : svg.interrupt()).call(zoom.transform, next);
  }

  /**
   * Fits the whole graph. With `readable`, a graph that cannot be read whole opens at a
   * readable zoom around `focus` (node ids: the current step's ends) instead.
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
    } else {
      transform = centreOn(graphBox, view, Math.max(MIN_SCALE, Math.min(MAX_SCALE, fitScale(graphBox, view))));
    }
    userScale = Math.max(READABLE_SCALE, transform.k);
    apply(transform, animate);
  }

  function zoomBy(factor) {
    userScale = d3.zoomTransform(svgElement).k * factor;
    svg.transition().duration(DURATION).call(zoom.scaleBy, factor);
  }

  /** Moves the camera so both ends of the view's current step are in view. */
  function frameStep(view, animate = true) {
    frameBoxesNow(stepBoxes(view).filter(Boolean), animate);
  }

  /** Moves the camera so every given node is in view. */
  function frame(nodeIds, animate = true) {
    if (!layout) return;
    frameBoxesNow(nodeIds.map((id) => positions.get(id)).filter(Boolean), animate);
  }

  function frameBoxesNow(boxes, animate) {
    if (!layout || !boxes.length) return;
    const view = viewSize();
    const current = d3.zoomTransform(svgElement);
    const next = frameBoxes(boxes, view, { k: current.k, x: current.x, y: current.y }, { preferredScale: userScale });
    apply(next, animate);
  }

  /** Kept for callers that show one node. */
  function reveal(nodeId) {
    frame([nodeId]);
  }

  function nodeElement(id) {
    return nodeElements[id] ?? null;
  }

  /** Adds or removes a class on a card; it survives stepping (kept in the card's class list). */
  function classNode(id, className, on = true) {
    const node = response?.nodes[id];
    if (!node) return;
    const extras = new Set((node.extraClasses || '').split(' ').filter(Boolean));
    if (on) extras.add(className);
    else extras.delete(className);
    node.extraClasses = extras.size ? ` ${[...extras].join(' ')}` : '';
    nodeElements[id]?.classList.toggle(className, on);
    if (shownNode[id]) shownNode[id].classes = null;
  }

  return {
    draw, update, fit, zoomBy, reveal, frame, frameStep, stepBoxes, nodeElement, classNode,
    get layout() { return layout; },
    get boxes() { return positions; },
  };
}

function nodeClass(node, outputId) {
  let classes = 'node';
  if (node.op === 'input') classes += ' input';
  if (node.op === 'constant') classes += ' constant';
  if (node.id === outputId) classes += ' output';
  return classes;
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

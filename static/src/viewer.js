/**
 * The viewer: graph, stepper, explanation, inspector, composites and module groups, gradient
 * check, break-it and dragging inputs, from one graph response. Three hosts mount it: the page
 * (main.js, around its editors, examples, training and URL), the notebook widget, and the
 * standalone HTML file (chainlens.save_html, the page's Export → HTML).
 *
 *   const viewer = mountViewer(element, { body, request, compute, height, torchGrads });
 *   viewer.setBody(body, request[, { torchGrads }]); viewer.destroy();
 *
 * - body: a graph response as POST /graph/backward answers it (object or column layout);
 * - request: the request that produced it ({expression, inputs, grad_output}): the tools that
 *   need a new body (dragging an input, Break it, the gradient check, opening a composite) ask
 *   for one with it;
 * - compute(path, requestBody) → Promise<json> (optional): computes a route ('/graph/backward',
 *   '/graph/gradcheck', with a query string where needed); rejects with an Error carrying
 *   `.status` and `.detail` (the 4xx body). Without it, dragging is off and the other tools say
 *   that they need chainlens running;
 * - height: the viewer's CSS height (a number: pixels; default: it fills the element);
 * - torchGrads: {input name: number or nested array}, PyTorch's gradients, shown beside
 *   chainlens's in the inspector;
 * - ops (optional): the op table (GET /ops's `ops`): the inspector's docs and local derivatives,
 *   and which ops are composites that open.
 *
 * A mounted viewer lives in a shadow root of its own (its styles never reach the host's, the
 * host's never reach it; KaTeX's @font-face rules alone go to the document, where browsers
 * read them), takes keys while focus is inside it, and keeps no state outside itself: several
 * viewers on one page work. The page mounts it with `page` (its own DOM and styles, keys on
 * the document, the editors as the request): see main.js.
 */
import { ApiError, graphApi } from './api.js';
import './styles.css';
import './groups.css'; // composite groups, heatmaps in the explanation, broadcast labels
import './fold.css'; // folded repetitions
import './viewer-frame.css'; // a mounted viewer's own frame (scoped under .cl-viewer)
import { createElk } from './elk-host.js';
import { mountFrame } from './viewer-frame.js';
import { PAUSE_ICON, PLAY_ICON, placeParts } from './viewer-markup.js';
import { createExplainPanel } from './explain-panel.js';
import { explainView } from './explain.js';
import { createInspector } from './inspector.js';
import { drawBroadcastLabels } from './broadcast.js';
import { anchoredCamera, createGroupControls, layoutWithGroups, matchPosition, toggledExpand } from './groups.js';
import { createFoldControls } from './fold-view.js';
import { layoutGraph } from './layout.js';
import { createGraphView } from './render.js';
import { backwardStart, buildTimeline, createViewCursor, nextTouching, reduce, stepsPerTick, tickInterval } from './stepper.js';
import { createCheckTools } from './check/tools.js';
import { errorBody, errorTitle } from './error-text.js';
import { withDisplayNames } from './names.js';
import { createMinimap } from './minimap.js';
import { sameStructure } from './train/scrub.js';
import { fromColumns } from './columns.js';
import { torchGradLine } from './torch-grads.js';

const STEP_KEYS = { ArrowLeft: 'prev', ArrowRight: 'next', Home: 'first', End: 'last', ' ': 'toggle' };

/**
 * Mounts a viewer into `element` (see the module's comment). Returns `{ setBody, destroy }`; the
 * page's mount (options.page) returns more: the parts its editors and training drive.
 */
export function mountViewer(element, options = {}) {
  const { body = null, request = null, compute = null, height = null, torchGrads = null, ops = null, page = null } = options;
  const { root, frame, host } = page ? { root: document, frame: document.body, host: page } : mountFrame(element, height);
  const viewer = createViewer({ root, frame, host, compute: page ? page.compute : compute, torchGrads, standalone: !page });
  if (ops) viewer.setOps(ops);
  if (body) viewer.setBody(body, request);
  return viewer;
}

function createViewer({ root, frame, host, compute, torchGrads: firstTorchGrads, standalone }) {
  let torchGrads = firstTorchGrads;
  if (host) placeParts(document.body);
  const $ = (selector) => root.querySelector(selector);
  const api = graphApi(compute);
  const elk = createElk();
  const cleanups = []; // what destroy() undoes: listeners outside the viewer's own elements, observers
  const listen = (target, type, handler, capture) => {
    target.addEventListener(type, handler, capture);
    cleanups.push(() => target.removeEventListener(type, handler, capture));
  };

  // A mounted viewer holds its request; the page reads its editors (host.readRequest).
  let held = null;
  const source = host ?? {
    readRequest: () => held && { expression: held.expression, inputs: held.inputs, grad_output: held.grad_output ?? null },
    readInputs: () => held?.inputs ?? null,
    writeInputs: (inputs) => { held = { ...held, inputs }; },
    program: () => held?.expression ?? '',
    showError: showFrameError,
    clearErrors: () => { const box = $('#error-box'); if (box) box.hidden = true; },
    onChange: () => {},
    onJump: () => {},
  };

  const state = {
    response: null,
    rawResponse: null,
    timeline: null,
    viewAt: null, // the timeline's view cursor (stepper.createViewCursor)
    layout: null,
    view: null,
    stepper: { position: 0, total: 0, playing: false, speed: 1 },
    selected: null,
    runId: 0,
    timer: null,
    expand: null, // the composites opened into their primitives (the request's `expand`)
  };

  // Exposed for the browser tests and the benchmark: timings and the current position.
  const probe = {
    ready: false,
    runs: 0,
    lastLayoutMs: null,
    lastRenderMs: null,
    nodeCount: 0,
    get position() { return state.stepper.position; },
    get total() { return state.stepper.total; },
    get response() { return state.response; },
    get expand() { return state.expand; },
    /** Repetitions found and how many are folded (fold-view.js). */
    get folds() { return { count: folding.folds.length, closed: folding.closed.size }; },
    get layoutSize() { return state.layout ? { width: state.layout.width, height: state.layout.height } : null; },
    /** Cards in the DOM now: only those near the view exist (render.js). */
    get drawnCount() { return graph.drawnCount; },
    get backwardCount() { return state.timeline ? state.timeline.total - state.timeline.forwardCount : 0; },
    /** Moves to a position as the slider does (the benchmark times steps from there). */
    seek(position) { dispatch({ type: 'seek', position }); },
    lastPaintedAt: null,
  };

  const minimap = createMinimap($('#minimap'), { onMove: (x, y) => graph.centreAt(x, y) });
  const graph = createGraphView($('#graph'), { onSelect: select, onView: (transform, view) => minimap.showView(transform, view) });
  const explainPanel = createExplainPanel($('#explain'));
  const groupControls = createGroupControls($('#graph'), graph, $('.graph-tools'), { onToggle: toggleGroup });
  const folding = createFoldControls($('#graph'), graph, $('.graph-tools'), { onChange: refold });
  const inspector = createInspector($('#inspector'), {
    onClose: () => select(null),
    onJump: (span) => source.onJump(span),
    onStep: (index) => dispatch({ type: 'seek', position: index + 1 }),
    onSelect: (nodeId) => select(nodeId),
  });

  const check = createCheckTools({
    svg: $('#graph'),
    graph,
    panelRoot: $('#check-panel'),
    inspectorRoot: $('#inspector'),
    scrubbersRoot: $('#input-scrubbers'),
    controls: {
      check: $('#check-gradients'), breakIt: $('#break-it'), mode: $('#break-mode'),
      pytorch: $('#export-pytorch'), dot: $('#export-dot'),
    },
    api: { ...api, ...(host?.api ?? {}) },
    frame,
    canCompute: Boolean(compute),
    readRequest,
    readInputs: () => source.readInputs(),
    writeInputs: (inputs) => { source.writeInputs(inputs); source.onChange(); },
    present,
    run: () => run({ position: state.stepper.position, selected: state.selected }),
    getState: () => state,
    pause: () => { if (state.stepper.playing) dispatch({ type: 'toggle' }); },
    seek: (position) => dispatch({ type: 'seek', position }),
    refit: () => graph.fit(false, { readable: true }),
    probe,
    showError: fail,
    trainCheck: () => host?.trainCheck?.() ?? null,
  });

  // ---------------------------------------------------------------- running a program

  /** The request as the tools send it: the host's (or held) request with the opened composites. */
  function readRequest({ quiet = false } = {}) {
    const body = source.readRequest({ quiet });
    if (!body) return null;
    return state.expand ? { ...body, expand: state.expand } : body;
  }

  /** The one error path (runs, the tools): shown by the host, the graph marked as the last good run's. */
  function fail(error) {
    source.showError(error);
    // A saved view that cannot compute still shows a good graph.
    if (error.kind !== 'offline') markStale(true);
  }

  /** A mounted viewer's error box: the 4xx body's title and message. */
  function showFrameError(error) {
    const box = $('#error-box');
    const title = document.createElement('strong');
    title.textContent = errorTitle(error);
    const message = document.createElement('p');
    message.textContent = errorBody(error, title.textContent, false);
    box.replaceChildren(title, message);
    box.hidden = false;
  }

  /** After an error the graph on screen is the last good run's: say so, until a run succeeds. */
  function markStale(stale) {
    $('.graph-wrap').classList.toggle('stale', stale && Boolean(state.response));
    $('#stale-note').hidden = !(stale && state.response);
  }

  /** Asks for the request's graph and shows the answer (or the error where it belongs). */
  async function run({ position = 0, selected = null, match = null, keepCamera = false } = {}) {
    const runId = ++state.runId;
    stopPlaying();
    source.clearErrors();
    const body = readRequest();
    if (!body) return;
    setStatus('Computing…');
    let response;
    try {
      response = await api.runBackward(body);
    } catch (error) {
      if (runId !== state.runId) return;
      setStatus('');
      if (!(error instanceof ApiError)) throw error;
      fail(error.error);
      source.onChange();
      return;
    }
    if (runId !== state.runId) return;
    await showResponse(response, { position, selected, runId, match, keepCamera });
  }

  /**
   * Shows a graph response (from /graph/backward, or a training step's from /train/graph) in the
   * graph view, stepper, explanation and inspector. A response with the same structure as the one
   * shown keeps its layout and camera (scrubbing a run's steps), and `position` 'keep' keeps the
   * stepper where it is when the timeline has the same length.
   */
  async function showResponse(rawResponse, {
    position = 0, selected = null, runId = state.runId, match = null, keepCamera = false,
  } = {}) {
    // One unambiguous short name per node (h₁, h₂ for a reassigned h), shared by every view.
    const response = withDisplayNames(rawResponse);
    const reuse = sameStructure(state.response, response);
    // Repeated structure (steps of a recurrence, layers) found again, folded by default when big.
    folding.prepare(response, { source: source.program(), keep: reuse });
    if (!reuse) setStatus(response.nodes.length > 150 ? `Laying out ${response.nodes.length} nodes…` : '');
    const layoutStart = performance.now();
    const layout = reuse ? state.layout : await layoutShown(response);
    // The page answers input between reading and laying out a big graph and drawing it: one task
    // for all of it was the longest task of a 5,000-node run.
    if (!reuse && response.nodes.length > 300) await nextTask();
    if (runId !== state.runId) return;
    const timeline = buildTimeline(response);
    // 'keep': stay at the same step of the same timeline (scrubbing); a new graph opens at its end,
    // where every value and gradient of that iteration is shown.
    if (position === 'keep') position = reuse && state.timeline && state.timeline.total === timeline.total ? state.stepper.position : timeline.total;
    const renderStart = performance.now();
    probe.lastLayoutMs = renderStart - layoutStart;
    probe.lastLayoutEngine = layout.engine;
    const previous = { response: state.response, layout: state.layout, camera: graph.camera() };
    markStale(false);
    fillNodeNames(response);
    load(response, rawResponse, timeline, match ? match(response) : position);
    state.layout = layout;
    state.selected = selected !== null && response.nodes[selected] ? selected : null;
    drawShown(response, layout);
    if (!reuse) {
      // Opening or closing a group keeps the clicked card where it was; anything else opens framed
      // on the current step (the same structure, a training step, keeps its camera).
      const kept = keepCamera && anchoredCamera(previous.response, previous.layout, previous.camera, response, layout);
      if (kept) graph.camera(kept);
      else graph.fit(false, { readable: true, focus: state.viewAt(Math.max(1, state.stepper.position)) });
    }
    showStep({ camera: false });
    // Count the frame that paints the drawing too: the message posted from requestAnimationFrame
    // arrives after that frame is presented.
    probe.lastPaintedAt = await paintedFrame();
    probe.lastRenderMs = probe.lastPaintedAt - renderStart;
    probe.nodeCount = response.nodes.length;
    check.onRun(response);
    probe.runs += 1;
    probe.ready = true;
    setStatus(layout.engine === 'quick' ? `${response.nodes.length} nodes: laid out in columns by depth (the quick layout)` : '', { fade: true });
    // Folded by default (a big graph): say what the boxes are and how to open them.
    if (folding.closed.size && !reuse) setStatus(`${response.nodes.length} nodes: ${folding.closed.size} repetitions folded (open a box, or Open all)`, { fade: true });
  }

  /** The layout of a response as it is drawn: folded (fold-view.js), else with its opened composites, else plain. */
  async function layoutShown(response) {
    return (await folding.layout(elk))
      ?? (response.groups?.length ? layoutWithGroups(elk, response) : layoutGraph(elk, response));
  }

  /** Draws a laid-out response: cards and edges, minimap, composite and fold boxes, broadcast labels, health marks. */
  function drawShown(response, layout) {
    const drawn = folding.drawn(response);
    graph.draw(drawn, layout);
    minimap.setLayout(layout);
    groupControls.draw(drawn, layout);
    folding.draw(layout);
    drawBroadcastLabels($('#graph'), drawn, layout);
    source.afterDraw?.();
  }

  /**
   * A repetition folded or opened (fold-view.js): laid out and drawn again, the stepper where it
   * was. A single box keeps its place on screen; everything at once fits the graph again.
   */
  async function refold({ fold = null } = {}) {
    if (!state.response) return;
    const runId = state.runId;
    const before = fold === null ? null : folding.placeOf(fold);
    const camera = graph.camera();
    const layout = await layoutShown(state.response);
    if (runId !== state.runId) return;
    state.layout = layout;
    drawShown(state.response, layout);
    const after = fold === null ? null : folding.placeOf(fold);
    if (before && after) graph.camera({ k: camera.k, x: camera.x + camera.k * (before.x - after.x), y: camera.y + camera.k * (before.y - after.y) });
    // Everything folded or opened at once: the graph opens again as a new one would.
    if (fold === null) graph.fit(false, { readable: true, focus: state.viewAt(Math.max(1, state.stepper.position)) });
    showStep({ camera: false });
    if (fold !== null && !folding.closed.has(fold)) graph.frame(folding.folds[fold].nodes, false);
    probe.lastPaintedAt = await paintedFrame();
  }

  /** Shows a response for the same nodes on the current layout (a replay, or new values after a
   * drag): no new layout, the numbers change in place. */
  function present(rawResponse, { position = state.stepper.position } = {}) {
    const response = withDisplayNames(rawResponse);
    graph.refresh(folding.drawn(response));
    load(response, rawResponse, buildTimeline(response), position);
    showStep();
  }

  /** Makes `response` the one shown: its timeline, and the stepper and its controls at `position`. */
  function load(response, rawResponse, timeline, position) {
    state.response = response;
    state.rawResponse = rawResponse;
    state.timeline = timeline;
    // Steps move this cursor by the steps in between: no replay from the start at every step.
    state.viewAt = createViewCursor(timeline);
    // Its checkpoints (a long jump then costs a few steps) are made while the page is idle.
    const cursor = state.viewAt;
    if (timeline.total > 64) (window.requestIdleCallback ?? setTimeout)(() => state.viewAt === cursor && cursor.prepare());
    explainPanel.forget();
    state.stepper = reduce(state.stepper, { type: 'load', total: timeline.total, position });
    $('#step-slider').max = String(timeline.total);
    $('#step-input').max = String(timeline.total);
  }

  let statusTimer = null;
  /** The status line under the graph; with `fade`, a note that goes away after a few seconds. */
  function setStatus(text, { fade = false } = {}) {
    const status = $('#graph-status');
    clearTimeout(statusTimer);
    status.textContent = text;
    status.hidden = !text;
    if (fade && text) statusTimer = setTimeout(() => { status.hidden = true; }, 6000);
  }

  /** Opens (or closes) a composite op, or all of them (op null), and asks for the graph again. */
  function toggleGroup(op, open) {
    state.expand = toggledExpand(state.expand, op, open, groupControls.composites);
    const previous = state.response;
    const position = state.stepper.position;
    // The same step, found again in the new timeline once it is known.
    return run({ position: 0, selected: null, match: (next) => matchPosition(previous, position, next), keepCamera: true });
  }

  // ---------------------------------------------------------------- stepping

  function dispatch(action) {
    if (!state.timeline) return;
    const before = state.stepper;
    state.stepper = reduce(state.stepper, action);
    if (before.playing !== state.stepper.playing) {
      if (state.stepper.playing) schedule();
      else clearTimeout(state.timer);
    }
    if (before.position !== state.stepper.position || before.playing !== state.stepper.playing || before.speed !== state.stepper.speed) showStep();
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      dispatch({ type: 'tick', steps: stepsPerTick(state.stepper.speed) });
      if (state.stepper.playing) schedule();
    }, tickInterval(state.stepper.speed));
  }

  function stopPlaying() {
    clearTimeout(state.timer);
    state.stepper = { ...state.stepper, playing: false };
  }

  function stepHeading(view) {
    const { timeline } = state;
    if (!view.current) return 'Start: the inputs are known';
    if (view.current.phase === 'forward') {
      const node = state.response.nodes[view.current.node];
      return `Forward pass · step ${view.position} of ${timeline.forwardCount}: compute ${node.label}`;
    }
    const backwardIndex = view.position - timeline.forwardCount;
    const input = state.response.nodes[view.current.input];
    const done = view.phase === 'done' ? ' · done' : '';
    return `Backward pass · step ${backwardIndex} of ${timeline.total - timeline.forwardCount}: gradient into ${input.label}${done}`;
  }

  function showStep({ camera = true } = {}) {
    const view = state.viewAt(state.stepper.position);
    state.view = view;
    graph.update(view, state.selected);
    // The camera keeps both ends of the current edge in view, at every graph size.
    if (camera && view.current) graph.frameStep(view, !state.stepper.playing || state.stepper.speed <= 1);
    const explanation = explainView(state.response, view);
    const heading = stepHeading(view);
    explainPanel.show(explanation, heading);
    // Screen readers hear the step's heading and its result; not during playback (a flood).
    if (!state.stepper.playing) announceStep(heading, explanation);
    if (state.selected !== null) inspect(state.selected);
    else inspector.clear();
    const { position, total, playing, speed } = state.stepper;
    $('#step-slider').value = String(position);
    $('#step-slider').setAttribute('aria-valuetext', `step ${position} of ${total}`);
    if (root.activeElement !== $('#step-input')) $('#step-input').value = String(position);
    let phase = 'start';
    if (view.current) phase = view.phase === 'done' ? 'done' : view.current.phase;
    $('#step-label').textContent = `/ ${total} · ${phase}`;
    $('#step-label').dataset.position = String(position);
    $('#step-label').dataset.phase = view.phase;
    const play = $('#step-play');
    // Written only when it changes: a new icon each step is a style and layout pass for nothing.
    if (play.getAttribute('aria-pressed') !== String(playing)) {
      play.innerHTML = playing ? PAUSE_ICON : PLAY_ICON;
      play.setAttribute('aria-label', playing ? 'Pause (Space)' : 'Play (Space)');
      play.setAttribute('aria-pressed', String(playing));
    }
    $('#step-speed').value = String(speed);
    $('#step-first').disabled = position === 0;
    $('#step-prev').disabled = position === 0;
    $('#step-next').disabled = position === total;
    $('#step-last').disabled = position === total;
    $('#step-touching').disabled = state.selected === null;
    frame.dataset.phase = view.current ? view.current.phase : 'start';
    source.onChange();
    check.onStep(view);
  }

  /** The inspector on node `nodeId` at the current step: its sections, the group's, PyTorch's gradient. */
  function inspect(nodeId) {
    inspector.show(state.response, state.view, nodeId);
    const node = state.response.nodes[nodeId];
    groupControls.inspect($('#inspector'), node);
    const torchLine = torchGradLine(node, torchGrads, state.view?.grads[node.id]);
    if (torchLine) $('#inspector').append(torchLine);
  }

  let announceTimer = null;
  /** The polite live region: a step's heading and its lines, said once the stepping settles. */
  function announceStep(heading, explanation) {
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => {
      const text = [heading, ...explanation.lines.map((line) => line.text)].join('. ');
      const region = $('#step-announce');
      if (region.textContent !== text) region.textContent = text;
    }, 150);
  }

  function select(nodeId) {
    state.selected = nodeId;
    $('#step-touching').disabled = nodeId === null;
    if (state.view) {
      graph.update(state.view, nodeId);
      if (nodeId === null) inspector.clear();
      else inspect(nodeId);
      check.onStep(state.view);
    }
    source.onChange();
  }

  // ---------------------------------------------------------------- controls

  function bindControls() {
    const on = (selector, type, handler) => listen($(selector), type, handler);
    on('#step-first', 'click', () => dispatch({ type: 'first' }));
    on('#step-prev', 'click', () => dispatch({ type: 'prev' }));
    on('#step-play', 'click', () => dispatch({ type: 'toggle' }));
    on('#step-next', 'click', () => dispatch({ type: 'next' }));
    on('#step-last', 'click', () => dispatch({ type: 'last' }));
    on('#step-slider', 'input', (event) => dispatch({ type: 'seek', position: Number(event.target.value) }));
    // Typing a step number: the slider moves several steps a pixel on long timelines.
    on('#step-input', 'change', (event) => dispatch({ type: 'seek', position: Number(event.target.value) }));
    on('#step-speed', 'change', (event) => {
      const wasPlaying = state.stepper.playing;
      dispatch({ type: 'speed', speed: Number(event.target.value) });
      if (wasPlaying) schedule();
    });
    on('#node-search', 'submit', (event) => {
      event.preventDefault();
      findNode($('#node-search-input').value);
    });
    on('#node-search-input', 'change', (event) => findNode(event.target.value));
    on('#step-backward-start', 'click', () => jumpToBackward());
    on('#step-touching', 'click', () => jumpToNextTouching());
    on('#fit', 'click', () => graph.fit());
    on('#present', 'click', () => setPresenting(frame.dataset.present !== 'true'));
    on('#zoom-in', 'click', () => graph.zoomBy(1.25));
    on('#zoom-out', 'click', () => graph.zoomBy(0.8));
    if (standalone) {
      // A mounted viewer takes keys while focus is inside it, and follows its own size.
      listen(frame, 'keydown', (event) => { if (onKey(event)) event.stopPropagation(); });
      const resized = new ResizeObserver(() => state.view && graph.frameStep(state.view, false));
      resized.observe($('.graph-canvas'));
      cleanups.push(() => resized.disconnect());
    } else {
      listen(document, 'keydown', onKey);
      listen(window, 'resize', () => state.view && graph.frameStep(state.view, false));
    }
  }

  /**
   * The presentation view (P, or the Present button): the graph and the explanation only, large;
   * the stepper's keys still work. The camera moves once the frame has its new size.
   */
  async function setPresenting(on) {
    if ((frame.dataset.present === 'true') === on) return;
    frame.dataset.present = String(on);
    const button = $('#present');
    button.setAttribute('aria-pressed', String(on));
    button.textContent = on ? 'Exit presentation' : 'Present';
    await paintedFrame();
    graph.present(on, state.view);
    probe.presentedAt = performance.now();
  }

  /** Selects the node whose display name (or source text) matches, and brings it into view. */
  function findNode(query) {
    const wanted = query.trim().toLowerCase();
    if (!wanted || !state.response) return;
    const { nodes } = state.response;
    const node = nodes.find((item) => item.label.toLowerCase() === wanted)
      ?? nodes.find((item) => String(item.sourceLabel).toLowerCase() === wanted)
      ?? nodes.find((item) => item.label.toLowerCase().includes(wanted) || String(item.sourceLabel).toLowerCase().includes(wanted));
    if (!node) {
      setStatus(`No node is named "${query.trim()}".`, { fade: true });
      return;
    }
    select(node.id);
    graph.frame([node.id]);
  }

  function fillNodeNames(response) {
    const list = $('#node-names');
    // A datalist of thousands of options costs more than it helps: the first 500 are offered.
    list.replaceChildren(...response.nodes.slice(0, 500).map((node) => new Option(node.sourceLabel !== node.label ? node.sourceLabel : '', node.label)));
  }

  function jumpToBackward() {
    if (state.timeline) dispatch({ type: 'seek', position: backwardStart(state.timeline) + 1 });
  }

  function jumpToNextTouching() {
    if (!state.timeline || state.selected === null) return;
    const next = nextTouching(state.timeline, state.stepper.position, state.selected);
    if (next !== null) dispatch({ type: 'seek', position: next });
  }

  const JUMP_KEYS = { b: jumpToBackward, B: jumpToBackward, n: jumpToNextTouching, N: jumpToNextTouching };

  /** The viewer's keys; true when the key was taken. */
  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return false;
    const target = event.target instanceof Element ? event.target : frame;
    if (event.key === 'Escape' && frame.dataset.present === 'true' && !target.closest('textarea')) {
      event.preventDefault();
      setPresenting(false);
      return true;
    }
    if (event.key === 'Escape' && state.selected !== null && !target.closest('textarea')) {
      event.preventDefault();
      select(null);
      return true;
    }
    // Typing keeps its keys; the slider keeps its arrows. Space plays/pauses everywhere else,
    // also on a focused button (after clicking Run or Next): Enter still presses buttons.
    if (target.closest('textarea, input:not([type="range"]), select, [contenteditable="true"]')) return false;
    if (target.closest('input[type="range"]') && event.key !== ' ') return false;
    if (event.key === ' ' && target.closest('summary, a')) return false;
    if (check.onKey(event)) return true;
    if (event.key === 'p' || event.key === 'P') {
      event.preventDefault();
      setPresenting(frame.dataset.present !== 'true');
      return true;
    }
    if (JUMP_KEYS[event.key]) {
      event.preventDefault();
      JUMP_KEYS[event.key]();
      return true;
    }
    const action = STEP_KEYS[event.key];
    if (!action) return false;
    event.preventDefault();
    dispatch({ type: action });
    return true;
  }

  bindControls();
  if (standalone) {
    const offline = !compute;
    // Tools that would need a computation they cannot have: the check and break buttons say so
    // when pressed (api.js OFFLINE_MESSAGE); a saved file shows its graph and steps only.
    $('.viewer-bar').dataset.offline = String(offline);
  }

  /**
   * Shows `body` (a /graph/backward answer, either layout) for `request`, from the start as the
   * page does; `torchGrads`, when given, replaces PyTorch's gradients (another model's result).
   */
  async function setBody(body, request = held, extras = {}) {
    held = request ? { ...request } : held;
    if (extras.torchGrads !== undefined) torchGrads = extras.torchGrads;
    state.expand = held?.expand ?? null;
    state.runId += 1;
    stopPlaying();
    source.clearErrors();
    await showResponse(fromColumns(body), { position: 0 });
  }

  function destroy() {
    clearTimeout(state.timer);
    clearTimeout(statusTimer);
    clearTimeout(announceTimer);
    state.runId += 1;
    for (const cleanup of cleanups) cleanup();
    elk.terminateWorker?.();
    if (standalone) frame.getRootNode().host?.remove();
  }

  return {
    setBody,
    destroy,
    // For the page (main.js): its runs, training steps and exports.
    probe,
    run,
    readRequest,
    showResponse,
    present,
    fail,
    markStale,
    setStatus,
    select,
    stopPlaying,
    get state() { return state; },
    graph,
    inspector,
    setOps(ops) {
      inspector.setOps(ops);
      groupControls.setOps(ops);
    },
    refreshInspector() {
      if (state.selected !== null && state.view) inspect(state.selected);
    },
  };
}

/** Resolves in a new task (a message to itself: no timer clamping). */
function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

/** Resolves with the time just after the next frame is painted. */
function paintedFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => nextTask().then(() => resolve(performance.now()))));
}

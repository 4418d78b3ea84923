/**
 * Wiring: reads the URL, loads examples and the op table, runs programs through the API,
 * lays out and draws the graph, and drives the stepper, explanation and inspector from one
 * state. Each of those jobs lives in its own module; this file only connects them.
 */
import ELK from 'elkjs/lib/elk-api.js';
import './styles.css';
import './groups.css'; // composite groups, heatmaps in the explanation, broadcast labels
import './fold.css'; // folded repetitions
import { ApiError, fetchExamples, fetchOps, runBackward } from './api.js';
import { createEditor } from './editor.js';
import { createExplainPanel } from './explain-panel.js';
import { explainView } from './explain.js';
import { exportJson, exportPng, exportSvg } from './exporter.js';
import { createInspector } from './inspector.js';
import { drawBroadcastLabels } from './broadcast.js';
import { anchoredCamera, createGroupControls, layoutWithGroups, matchPosition, toggledExpand } from './groups.js';
import { createFoldControls } from './fold-view.js';
import { formatJson, parseJson } from './json-format.js';
import { layoutGraph } from './layout.js';
import { createGraphView } from './render.js';
import { backwardStart, buildTimeline, createViewCursor, nextTouching, reduce, stepsPerTick, tickInterval } from './stepper.js';
import { createCheckTools } from './check/tools.js';
import { decodeState, encodeState } from './urlstate.js';
import { errorBody, errorTitle } from './error-text.js';
import { withDisplayNames } from './names.js';
import { createMinimap } from './minimap.js';
import { createTrainPanel } from './train/train-panel.js';
import { sameStructure } from './train/scrub.js';

/** The tutorial's chain rule: shown when the URL names no program (and if /examples fails). */
const DEFAULT_EXAMPLE = {
  id: 'chain-rule',
  title: 'The chain rule',
  description: 'f = (x + y) · z',
  expression: 'q = x + y\nf = q * z',
  inputs: { x: -2, y: 5, z: -4 },
  grad_output: null,
};

const PLAY_ICON = '<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 2.5v11l9-5.5z"/></svg>';
const PAUSE_ICON = '<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 3h3v10H4zM9 3h3v10H9z"/></svg>';

const $ = (selector) => document.querySelector(selector);

// Layout runs in a Web Worker: big graphs never freeze the page.
const elk = new ELK({ workerUrl: new URL('./elk-worker.min.js', import.meta.url).href });

const state = {
  examples: [],
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
window.__chainlens = probe;

const programEditor = createEditor($('#program-editor'), { label: 'Program', onSubmit: run, onInput: noteEdited });
const inputsEditor = createEditor($('#inputs-editor'), { label: 'Inputs as JSON', onSubmit: run, onInput: noteEdited });
const gradEditor = createEditor($('#grad-editor'), { label: 'Upstream gradient (grad_output) as JSON, optional', onSubmit: run, onInput: noteEdited });
const minimap = createMinimap($('#minimap'), { onMove: (x, y) => graph.centreAt(x, y) });
const graph = createGraphView($('#graph'), { onSelect: select, onView: (transform, view) => minimap.showView(transform, view) });
const explainPanel = createExplainPanel($('#explain'));
const groupControls = createGroupControls($('#graph'), graph, $('.graph-tools'), { onToggle: toggleGroup });
const folding = createFoldControls($('#graph'), graph, $('.graph-tools'), { onChange: refold });
const inspector = createInspector($('#inspector'), {
  onClose: () => select(null),
  onJump: (span) => programEditor.focusAt(span.line, span.column),
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
  readRequest,
  readInputs: () => parseJson(inputsEditor.value, 'The inputs').value ?? null,
  writeInputs: (inputs) => { inputsEditor.value = formatJson(inputs); writeUrl(); },
  present,
  run: () => run({ position: state.stepper.position, selected: state.selected }),
  getState: () => state,
  pause: () => { if (state.stepper.playing) dispatch({ type: 'toggle' }); },
  seek: (position) => dispatch({ type: 'seek', position }),
  refit: () => graph.fit(false, { readable: true }),
  probe,
  showError: showApiError,
  trainCheck: () => trainPanel.gradcheckRequest(),
});

function noteEdited() {
  $('#run').classList.add('attention');
  // The picker names an example only while the program still is that example.
  const picker = $('#example-select');
  const example = state.examples.find((item) => item.id === picker.value);
  if (example && example.expression !== programEditor.value) {
    picker.value = '';
    $('#example-description').textContent = '';
  }
}

// ------------------------------------------------------------------ running a program

function loadExample(example) {
  programEditor.value = example.expression;
  inputsEditor.value = formatJson(example.inputs);
  gradEditor.value = example.grad_output === null || example.grad_output === undefined ? '' : formatJson(example.grad_output);
  $('#grad-details').open = Boolean(gradEditor.value);
  $('#example-description').textContent = example.description || '';
}

function showError(error) {
  const box = $('#error-box');
  box.hidden = false;
  box.replaceChildren();
  const where = error.line ? `Line ${error.line}, column ${error.column ?? 1}` : '';
  const title = document.createElement('strong');
  title.textContent = errorTitle(error);
  const message = document.createElement('p');
  // The place is said once, by the button below.
  message.textContent = errorBody(error, title.textContent, Boolean(where));
  box.append(title, message);
  if (where) {
    const jump = document.createElement('button');
    jump.type = 'button';
    jump.className = 'link-button';
    jump.textContent = `Go to ${where.toLowerCase()}`;
    jump.addEventListener('click', () => (error.target || programEditor).focusAt(error.line, error.column ?? 1));
    box.append(jump);
  }
  for (const suggestion of error.suggestions || []) {
    const fix = document.createElement('button');
    fix.type = 'button';
    fix.className = 'suggestion';
    fix.textContent = `Use ${suggestion}`;
    fix.addEventListener('click', () => {
      programEditor.replaceMark(suggestion);
      run();
    });
    box.append(fix);
  }
}

/**
 * The one error path (runs, training, the check tools): a 4xx body's error shown with its title,
 * program errors (line/column) marked in the editor, and the graph marked as the last good run's.
 */
function showApiError(error) {
  if (error.line) programEditor.markError(error);
  showError(error);
  markStale(true);
}

/** After an error the graph on screen is the last good run's: say so, until a run succeeds. */
function markStale(stale) {
  const wrap = $('.graph-wrap');
  wrap.classList.toggle('stale', stale && Boolean(state.response));
  $('#stale-note').hidden = !(stale && state.response);
}

function clearErrors() {
  $('#error-box').hidden = true;
  programEditor.markError(null);
  inputsEditor.markError(null);
  gradEditor.markError(null);
}

/** An editor's JSON ({value} or {error}); an error is marked in the editor unless `quiet`. */
function readJson(editor, what, quiet) {
  const parsed = parseJson(editor.value, what);
  if (parsed.error && !quiet) {
    editor.markError(parsed.error);
    showApiError({ ...parsed.error, target: editor });
  }
  return parsed;
}

/** The editors as a request body, or null after marking what is wrong (unless `quiet`). */
function readRequest({ quiet = false } = {}) {
  const inputs = readJson(inputsEditor, 'The inputs', quiet);
  if (inputs.error) return null;
  let gradOutput = null;
  if (gradEditor.value.trim()) {
    const parsed = readJson(gradEditor, 'The upstream gradient', quiet);
    if (parsed.error) return null;
    gradOutput = parsed.value;
  }
  const body = { expression: programEditor.value, inputs: inputs.value, grad_output: gradOutput };
  return state.expand ? { ...body, expand: state.expand } : body;
}

/** Reads the editors, asks the API, and shows the answer (or the error where it belongs). */
async function run({ position = 0, selected = null, match = null, keepCamera = false } = {}) {
  const runId = ++state.runId;
  stopPlaying();
  clearErrors();
  $('#run').classList.remove('attention');
  const body = readRequest();
  if (!body) return;
  setStatus('Computing…');
  let response;
  try {
    response = await runBackward(body);
  } catch (error) {
    if (runId !== state.runId) return;
    setStatus('');
    if (!(error instanceof ApiError)) throw error;
    showApiError(error.error);
    writeUrl();
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
  folding.prepare(response, { source: programEditor.value, keep: reuse });
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
  trainPanel.afterDraw();
}

/**
 * Lays out and draws the shown response again after a fold opened or closed (fold-view.js): no
 * request; the step, the selection and the check tools' marks stay. The toggled fold keeps its
 * place on screen, and an opened one is brought whole into view.
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

// ------------------------------------------------------------------ Train mode (train/train-panel.js)

const trainPanel = createTrainPanel({
  root: document.body,
  readProgram: () => {
    const body = readRequest();
    return body && { expression: body.expression, inputs: body.inputs };
  },
  showError: showApiError,
  clearErrors,
  showResponse: (response, options) => {
    state.runId += 1;
    stopPlaying();
    return showResponse(response, { position: 'keep', selected: state.selected, ...options });
  },
  setHealth: (marks) => {
    graph.setHealth(marks);
    if (state.selected !== null && state.view) inspector.show(state.response, state.view, state.selected);
  },
  currentResponse: () => state.response,
});
inspector.setNotes((nodeId) => trainPanel.notesFor(nodeId));

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


let statusTimer = null;
/** The status line under the graph; with `fade`, a note that goes away after a few seconds. */
function setStatus(text, { fade = false } = {}) {
  const status = $('#graph-status');
  clearTimeout(statusTimer);
  status.textContent = text;
  status.hidden = !text;
  if (fade && text) statusTimer = setTimeout(() => { status.hidden = true; }, 6000);
}

/** Opens (or closes) a composite op, or all of them (op null), and re-asks the API. */
function toggleGroup(op, open) {
  state.expand = toggledExpand(state.expand, op, open, groupControls.composites);
  const previous = state.response;
  const position = state.stepper.position;
  // The same step, found again in the new timeline once it is known.
  return run({ position: 0, selected: null, match: (next) => matchPosition(previous, position, next), keepCamera: true });
}

// ------------------------------------------------------------------ stepping

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
  if (state.selected !== null) {
    inspector.show(state.response, view, state.selected);
    groupControls.inspect($('#inspector'), state.response.nodes[state.selected]);
  } else inspector.clear();
  const { position, total, playing, speed } = state.stepper;
  $('#step-slider').value = String(position);
  $('#step-slider').setAttribute('aria-valuetext', `step ${position} of ${total}`);
  if (document.activeElement !== $('#step-input')) $('#step-input').value = String(position);
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
  document.body.dataset.phase = view.current ? view.current.phase : 'start';
  writeUrl();
  check.onStep(view);
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
    else {
      inspector.show(state.response, state.view, nodeId);
      groupControls.inspect($('#inspector'), state.response.nodes[nodeId]);
    }
    check.onStep(state.view);
  }
  writeUrl();
}

// ------------------------------------------------------------------ URL state

let urlTimer = null;
function writeUrl() {
  // Coalesced: playing at 4× should not flood the history API.
  clearTimeout(urlTimer);
  urlTimer = setTimeout(() => {
    const hash = encodeState({
      expression: programEditor.value,
      inputs: inputsEditor.value,
      gradOutput: gradEditor.value,
      step: state.response ? state.stepper.position : null,
      node: state.selected,
    });
    if (hash !== window.location.hash) history.replaceState(null, '', hash);
  }, 80);
}

// ------------------------------------------------------------------ controls

function bindControls() {
  $('#run').addEventListener('click', () => run());
  $('#step-first').addEventListener('click', () => dispatch({ type: 'first' }));
  $('#step-prev').addEventListener('click', () => dispatch({ type: 'prev' }));
  $('#step-play').addEventListener('click', () => dispatch({ type: 'toggle' }));
  $('#step-next').addEventListener('click', () => dispatch({ type: 'next' }));
  $('#step-last').addEventListener('click', () => dispatch({ type: 'last' }));
  $('#step-slider').addEventListener('input', (event) => dispatch({ type: 'seek', position: Number(event.target.value) }));
  // Typing a step number: the slider moves several steps a pixel on long timelines.
  $('#step-input').addEventListener('change', (event) => dispatch({ type: 'seek', position: Number(event.target.value) }));
  $('#step-speed').addEventListener('change', (event) => {
    const wasPlaying = state.stepper.playing;
    dispatch({ type: 'speed', speed: Number(event.target.value) });
    if (wasPlaying) schedule();
  });
  $('#node-search').addEventListener('submit', (event) => {
    event.preventDefault();
    findNode($('#node-search-input').value);
  });
  $('#node-search-input').addEventListener('change', (event) => findNode(event.target.value));
  $('#step-backward-start').addEventListener('click', () => jumpToBackward());
  $('#step-touching').addEventListener('click', () => jumpToNextTouching());
  $('#fit').addEventListener('click', () => graph.fit());
  $('#present').addEventListener('click', () => setPresenting(document.body.dataset.present !== 'true'));
  $('#zoom-in').addEventListener('click', () => graph.zoomBy(1.25));
  $('#zoom-out').addEventListener('click', () => graph.zoomBy(0.8));
  $('#example-select').addEventListener('change', (event) => {
    const example = state.examples.find((item) => item.id === event.target.value);
    if (!example) return;
    loadExample(example);
    trainPanel.useExample(example);
    // An example on a dataset read from CHAINLENS_DATA_DIR (MNIST: 60,000 images) opens on step 1's
    // batch: the program on every row of it is far past the work limit of /graph/backward.
    if (example.train && example.requires_dataset) trainPanel.preview();
    else run();
  });
  $('#share').addEventListener('click', async () => {
    writeUrl();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const button = $('#share');
    try {
      await navigator.clipboard.writeText(window.location.href);
      button.textContent = 'Link copied';
    } catch {
      // No clipboard permission (plain http, or a test browser): the address bar has the link.
      button.textContent = 'Link in address bar';
    }
    setTimeout(() => { button.textContent = 'Copy link'; }, 1600);
  });
  // Exports draw the whole graph: the page holds only the cards near the view.
  $('#export-svg').addEventListener('click', () => state.layout && exportSvg(graph.fullDrawing(), state.layout));
  $('#export-png').addEventListener('click', async () => {
    if (!state.layout) return;
    try {
      const { scale } = await exportPng(graph.fullDrawing(), state.layout);
      if (scale < 2) setStatus(`The graph is large: the PNG is drawn at ${Math.round(scale * 100)}% (the SVG export keeps every detail).`, { fade: true });
    } catch (error) {
      setStatus(`No PNG: ${error.message}. The SVG export works at any size.`, { fade: true });
    }
  });
  $('#export-json').addEventListener('click', () => state.rawResponse && exportJson(state.rawResponse));
  document.addEventListener('keydown', onKey);
  window.addEventListener('resize', () => state.view && graph.frameStep(state.view, false));
}

/**
 * The presentation view (P, or the Present button): the graph and the explanation only, large;
 * the stepper's keys still work. The camera moves once the page has its new size.
 */
async function setPresenting(on) {
  if ((document.body.dataset.present === 'true') === on) return;
  document.body.dataset.present = String(on);
  const button = $('#present');
  button.setAttribute('aria-pressed', String(on));
  button.textContent = on ? 'Exit presentation' : 'Present';
  await paintedFrame();
  graph.present(on, state.view);
  probe.presentedAt = performance.now();
}

const STEP_KEYS = { ArrowLeft: 'prev', ArrowRight: 'next', Home: 'first', End: 'last', ' ': 'toggle' };
const JUMP_KEYS = { b: jumpToBackward, B: jumpToBackward, n: jumpToNextTouching, N: jumpToNextTouching };

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

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target instanceof Element ? event.target : document.body;
  if (event.key === 'Escape' && document.body.dataset.present === 'true' && !target.closest('textarea')) {
    event.preventDefault();
    setPresenting(false);
    return;
  }
  if (event.key === 'Escape' && state.selected !== null && !target.closest('textarea')) {
    event.preventDefault();
    select(null);
    return;
  }
  // Typing keeps its keys; the slider keeps its arrows. Space plays/pauses everywhere else,
  // also on a focused button (after clicking Run or Next): Enter still presses buttons.
  if (target.closest('textarea, input:not([type="range"]), select, [contenteditable="true"]')) return;
  if (target.closest('input[type="range"]') && event.key !== ' ') return;
  if (event.key === ' ' && target.closest('summary, a')) return;
  if (check.onKey(event)) return;
  if (event.key === 'p' || event.key === 'P') {
    event.preventDefault();
    setPresenting(document.body.dataset.present !== 'true');
    return;
  }
  if (JUMP_KEYS[event.key]) {
    event.preventDefault();
    JUMP_KEYS[event.key]();
    return;
  }
  const action = STEP_KEYS[event.key];
  if (!action) return;
  event.preventDefault();
  dispatch({ type: action });
}

// ------------------------------------------------------------------ start

async function start() {
  bindControls();
  const fromUrl = decodeState(window.location.hash);
  const examplesRequest = fetchExamples().catch(() => [DEFAULT_EXAMPLE]);
  fetchOps().then((body) => {
    inspector.setOps(body.ops);
    groupControls.setOps(body.ops);
  }).catch(() => {});
  if (fromUrl) {
    programEditor.value = fromUrl.expression;
    inputsEditor.value = fromUrl.inputs;
    gradEditor.value = fromUrl.gradOutput;
    $('#grad-details').open = Boolean(fromUrl.gradOutput);
  } else {
    loadExample(DEFAULT_EXAMPLE);
  }
  const runDone = run({ position: fromUrl?.step ?? 0, selected: fromUrl?.node ?? null });
  state.examples = await examplesRequest;
  const picker = $('#example-select');
  picker.replaceChildren(...[
    new Option('Choose an example…', ''),
    ...state.examples.map((example) => new Option(example.title, example.id)),
  ]);
  const current = state.examples.find((example) => example.expression === programEditor.value);
  if (current) {
    picker.value = current.id;
    $('#example-description').textContent = current.description || '';
  }
  trainPanel.useExample(current || null);
  await runDone;
}

start();

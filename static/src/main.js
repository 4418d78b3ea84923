/**
 * The page: the editors, examples, training, exports and URL state around the viewer
 * (viewer.js, mounted on the page's own markup). The viewer draws and steps the graph; this
 * file reads the editors into requests, shows errors where they belong and keeps the URL.
 */
import {
  ApiError, fetchExamples, fetchExport, fetchOps, fetchTrainHtml, runTrainGradcheck, serverCompute,
} from './api.js';
import { createEditor } from './editor.js';
import { download, exportJson, exportPng, exportSvg } from './exporter.js';
import { formatJson, parseJson } from './json-format.js';
import { decodeState, encodeState } from './urlstate.js';
import { errorBody, errorTitle } from './error-text.js';
import { mountViewer } from './viewer.js';
import { createTrainPanel } from './train/train-panel.js';

/** The tutorial's chain rule: shown when the URL names no program (and if /examples fails). */
const DEFAULT_EXAMPLE = {
  id: 'chain-rule',
  title: 'The chain rule',
  description: 'f = (x + y) · z',
  expression: 'q = x + y\nf = q * z',
  inputs: { x: -2, y: 5, z: -4 },
  grad_output: null,
};

const $ = (selector) => document.querySelector(selector);

let examples = [];

const programEditor = createEditor($('#program-editor'), { label: 'Program', onSubmit: run, onInput: noteEdited });
const inputsEditor = createEditor($('#inputs-editor'), { label: 'Inputs as JSON', onSubmit: run, onInput: noteEdited });
const gradEditor = createEditor($('#grad-editor'), { label: 'Upstream gradient (grad_output) as JSON, optional', onSubmit: run, onInput: noteEdited });

const viewer = mountViewer(document.body, {
  page: {
    compute: serverCompute,
    api: { runTrainGradcheck, fetchExport },
    readRequest,
    readInputs: () => parseJson(inputsEditor.value, 'The inputs').value ?? null,
    writeInputs: (inputs) => { inputsEditor.value = formatJson(inputs); },
    program: () => programEditor.value,
    showError: (error) => {
      if (error.line) programEditor.markError(error);
      showError(error);
    },
    clearErrors: () => {
      clearErrors();
      $('#run').classList.remove('attention');
    },
    onChange: writeUrl,
    onJump: (span) => programEditor.focusAt(span.line, span.column),
    trainCheck: () => trainPanel.stepRequest(),
    afterDraw: () => trainPanel.afterDraw(),
  },
});
const { state } = viewer;
// Exposed for the browser tests and the benchmark: timings and the current position.
window.__chainlens = viewer.probe;

function noteEdited() {
  $('#run').classList.add('attention');
  // The picker names an example only while the program still is that example.
  const picker = $('#example-select');
  const example = examples.find((item) => item.id === picker.value);
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
  viewer.fail(error);
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
  return { expression: programEditor.value, inputs: inputs.value, grad_output: gradOutput };
}

/** Reads the editors, asks the API, and shows the answer (or the error where it belongs). */
function run(options) {
  return viewer.run(options);
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
    viewer.stopPlaying();
    return viewer.showResponse(response, { position: 'keep', selected: state.selected, ...options });
  },
  setHealth: (marks) => {
    viewer.graph.setHealth(marks);
    viewer.refreshInspector();
  },
  currentResponse: () => state.response,
});
viewer.inspector.setNotes((nodeId) => trainPanel.notesFor(nodeId));

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
  $('#example-select').addEventListener('change', (event) => {
    const example = examples.find((item) => item.id === event.target.value);
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
  $('#export-svg').addEventListener('click', () => state.layout && exportSvg(viewer.graph.fullDrawing(), state.layout));
  $('#export-png').addEventListener('click', async () => {
    if (!state.layout) return;
    try {
      const { scale } = await exportPng(viewer.graph.fullDrawing(), state.layout);
      if (scale < 2) viewer.setStatus(`The graph is large: the PNG is drawn at ${Math.round(scale * 100)}% (the SVG export keeps every detail).`, { fade: true });
    } catch (error) {
      viewer.setStatus(`No PNG: ${error.message}. The SVG export works at any size.`, { fade: true });
    }
  });
  $('#export-json').addEventListener('click', () => state.rawResponse && exportJson(state.rawResponse));
  $('#export-html').addEventListener('click', exportHtml);
}

/**
 * Export → HTML: the graph on screen as one standalone file (the code of chainlens.save_html). Its
 * request, with the composites opened, goes to the server's POST /graph/html; in Train mode the step
 * in view (train-panel.js stepRequest: the scrubbed step, else the first batch) goes to POST
 * /train/html, which saves that step's graph and its program with θ(k−1) and the batch as inputs.
 */
async function exportHtml() {
  const training = trainPanel.stepRequest();
  const body = training ? { ...training.body, at: training.at ?? 1 } : viewer.readRequest();
  if (!body || !state.response) return;
  const button = $('#export-html');
  let text;
  try {
    text = training ? await fetchTrainHtml(body) : await fetchExport('html', body);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showApiError(error.error);
    return;
  }
  download(training ? `chainlens-step-${body.at}.html` : 'chainlens-graph.html', new Blob([text], { type: 'text/html' }));
  viewer.probe.lastExport = { kind: 'html', bytes: text.length, at: training ? body.at : null };
  button.textContent = 'Saved .html';
  setTimeout(() => { button.textContent = 'HTML'; }, 1600);
}

// ------------------------------------------------------------------ start

async function start() {
  bindControls();
  const fromUrl = decodeState(window.location.hash);
  const examplesRequest = fetchExamples().catch(() => [DEFAULT_EXAMPLE]);
  fetchOps().then((body) => viewer.setOps(body.ops)).catch(() => {});
  if (fromUrl) {
    programEditor.value = fromUrl.expression;
    inputsEditor.value = fromUrl.inputs;
    gradEditor.value = fromUrl.gradOutput;
    $('#grad-details').open = Boolean(fromUrl.gradOutput);
  } else {
    loadExample(DEFAULT_EXAMPLE);
  }
  const runDone = run({ position: fromUrl?.step ?? 0, selected: fromUrl?.node ?? null });
  examples = await examplesRequest;
  const picker = $('#example-select');
  picker.replaceChildren(...[
    new Option('Choose an example…', ''),
    ...examples.map((example) => new Option(example.title, example.id)),
  ]);
  const current = examples.find((example) => example.expression === programEditor.value);
  if (current) {
    picker.value = current.id;
    $('#example-description').textContent = current.description || '';
  }
  trainPanel.useExample(current || null);
  await runDone;
}

start();

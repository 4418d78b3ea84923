/**
 * The Train mode: the optimizer form, Train / Stop, the status line, the live chart, the scrubber
 * over the run's steps, health marks, and (for image data) the results panel. It runs the
 * program in the page's editors with the form's `train` config through POST /train, and shows
 * step k's graph through the page's own graph view (`showResponse`, given by main.js).
 * The pure parts live beside it: ndjson, chart-data, health, scrub, images, train-config.
 */
import { ApiError, fetchDatasets, fetchTrainGraph, openTrainingStream, runBackward } from '../api.js';
import { formatNumber, isSummary, formatShape, toNumber } from '../tensor.js';
import { createLossSeries, latestFigures } from './chart-data.js';
import { healthMarks, marksKey, paramNodesOf } from './health.js';
import { createImagePanel } from './image-panel.js';
import {
  evalRowSpec, firstLayerWeight, imageRows, predictionCells, shownRowCount, weightImages,
} from './images.js';
import { createLossChart } from './loss-chart.js';
import { addScrubStep, createLatestLoader, positionOfStep, stepAtPosition } from './scrub.js';
import { configFromForm, FIELDS, formFromConfig } from './train-config.js';
import { readNdjson } from './ndjson.js';
import './train.css';

const DEFAULT_TRAIN = { optimizer: { name: 'sgd', lr: 0.01, momentum: 0 }, steps: 500, record_every: 10 };
/** Elements per tensor that a graph response carries in full (CHAINLENS_MAX_FULL_ELEMENTS) when no response said. */
const DEFAULT_FULL_ELEMENTS = 10_000;

export function createTrainPanel({ readProgram, showError, clearErrors, showResponse, setHealth, currentResponse }) {
  const $ = (selector) => document.querySelector(selector);
  const form = $('#train-form');
  const status = $('#train-status');
  const scrubber = $('#train-scrub');
  const scrubLabel = $('#train-scrub-label');
  const chart = createLossChart($('#train-chart'), { onPick: (step) => scrubTo(step, { snap: true }) });
  const images = createImagePanel($('#train-images'), { onPickDigit: (cell) => showSaliency(cell) });

  let example = null;
  let run = null; // { body, start, records, steps (the scrubber offers), series, controller, state, done, error }
  let marks = new Map();
  let statusFrame = null;
  let datasets = null;

  // Exposed for the browser tests and the benchmark (window.__chainlens.train).
  const probe = {
    get state() { return run ? run.state : 'idle'; },
    get records() { return run ? run.records.length : 0; },
    get recordList() { return run ? run.records : []; },
    get lastStep() { return run && run.records.length ? run.records[run.records.length - 1].step : null; },
    get start() { return run ? run.start : null; },
    get done() { return run ? run.done : null; },
    get error() { return run ? run.error : null; },
    get body() { return run ? run.body : null; },
    get shownStep() { return shownStep; },
    get chartDraws() { return chart.draws; },
    get chartDrawMs() { return chart.drawMs; },
    get longestChartDrawMs() { return chart.longestDrawMs; },
    get lineMs() { return lineMs; },
    get saliency() { return saliency; },
    marks: () => Array.from(marks, ([id, list]) => ({ id, kinds: list.map((mark) => mark.kind) })),
  };
  if (window.__chainlens) window.__chainlens.train = probe;
  let shownStep = null;
  let saliency = null;
  let lineMs = 0; // time spent handling stream lines (for bench/ui_train.py)

  // ---------------------------------------------------------------- mode and form

  function setMode(mode) {
    document.body.dataset.mode = mode;
    $('#mode-explore').setAttribute('aria-pressed', String(mode === 'explore'));
    $('#mode-train').setAttribute('aria-pressed', String(mode === 'train'));
    if (mode === 'train') chart.invalidate();
    window.dispatchEvent(new Event('resize'));
  }

  function fillForm(train) {
    const values = formFromConfig(train);
    for (const [name, value] of Object.entries(values)) {
      const field = form.elements.namedItem(name);
      if (field) field.value = value;
    }
    showOptimizerFields();
  }

  function formValues() {
    return Object.fromEntries(Object.keys(FIELDS).map((name) => [name, form.elements.namedItem(name)?.value ?? '']));
  }

  function showOptimizerFields() {
    form.dataset.optimizer = form.elements.namedItem('optimizer').value;
  }

  /** An example was picked (or the page opened on one): its train config fills the form. */
  function useExample(next) {
    example = next;
    fillForm((next && next.train) || DEFAULT_TRAIN);
    if (next && next.train) setMode('train');
  }

  /**
   * Step 1 of the run the form describes (the initial parameters and the first batch), from
   * POST /train/graph, as the scrubber shows it: what a training example on a big dataset opens
   * on, as the program on every row (POST /graph/backward) is past the work limit for MNIST's
   * 60,000 images, and a batch is what each step of the run computes.
   */
  async function preview() {
    clearErrors();
    const program = readProgram();
    if (!program) return;
    const config = configFromForm(formValues(), (example && example.train) || DEFAULT_TRAIN);
    if (config.error) return;
    const train = { ...config.train, steps: 1, record_every: 1, eval: null };
    try {
      await showResponse(await fetchTrainGraph({ expression: program.expression, inputs: program.inputs, train }, 1));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(error.error);
    }
  }

  /**
   * The training step in view, what G checks (POST /train/gradcheck) and Export → HTML saves (POST
   * /train/html) in Train mode: step k's batch when a step of a run is loaded, else the first batch
   * of the run the form describes (`at` null: step 1); null outside Train mode, or with nothing to
   * train (the ordinary check and export then run).
   */
  function stepRequest() {
    if (document.body.dataset.mode !== 'train') return null;
    if (run && run.start && shownStep !== null) {
      return { body: { ...run.body, at: shownStep }, at: shownStep, what: `step ${shownStep}'s batch` };
    }
    if (!example || !example.train) return null;
    const program = readProgram();
    if (!program) return null;
    const config = configFromForm(formValues(), example.train);
    if (config.error) return null;
    return { body: { expression: program.expression, inputs: program.inputs, train: config.train }, at: null, what: 'the first batch' };
  }

  // ---------------------------------------------------------------- a run

  function setStatus(text, kind = '') {
    status.textContent = text;
    status.className = `train-status ${kind}`;
  }

  async function train() {
    if (run && run.state === 'running') return;
    clearErrors();
    form.querySelectorAll('.invalid').forEach((field) => field.classList.remove('invalid'));
    const program = readProgram();
    if (!program) return;
    const config = configFromForm(formValues(), (example && example.train) || DEFAULT_TRAIN);
    if (config.error) {
      form.elements.namedItem(config.error.field).classList.add('invalid');
      form.elements.namedItem(config.error.field).focus();
      setStatus(config.error.message, 'error');
      return;
    }
    const body = { expression: program.expression, inputs: program.inputs, train: config.train };
    const series = createLossSeries();
    lineMs = 0;
    run = { body, start: null, records: [], steps: [], series, controller: new AbortController(), state: 'running', done: null, error: null };
    const current = run;
    marks = new Map();
    drawnMarks = '';
    setHealth(marks);
    images.clear();
    chart.reset(series, config.train.steps);
    updateScrubber();
    setButtons();
    setStatus('Starting…');
    try {
      const response = await openTrainingStream(body, current.controller.signal);
      await readNdjson(response, (line) => {
        const started = performance.now();
        onLine(current, line);
        lineMs += performance.now() - started;
      });
      if (current.state === 'running') finish(current, 'stopped', 'The stream ended without a done line.');
    } catch (error) {
      if (error.name === 'AbortError') {
        finish(current, 'stopped', `Stopped at step ${probe.lastStep ?? 0} of ${config.train.steps}.`);
      } else if (error instanceof ApiError) {
        finish(current, 'refused', `Not started: ${error.error.message}`, 'error');
        showError(error.error);
      } else {
        finish(current, 'failed', `The run failed: ${error.message}`, 'error');
      }
    }
  }

  function finish(current, state, text, kind = '') {
    current.state = state;
    if (current === run) {
      setStatus(text, kind);
      setButtons();
      updateScrubber();
    }
  }

  function onLine(current, line) {
    if (current !== run) return;
    if (line.type === 'start') {
      current.start = line;
      setStatus(`Training: 0 of ${line.steps} steps…`);
      scrubTo(1);
    } else if (line.type === 'record') {
      current.records.push(line);
      addScrubStep(current.steps, line.step);
      current.series.pushRecord(line);
      chart.invalidate();
      // Status, scrubber range and health marks follow the records at most once a frame.
      if (statusFrame === null) statusFrame = requestAnimationFrame(showProgress);
    } else if (line.type === 'done') {
      current.done = line;
      finish(current, 'done', doneText(current));
      showProgress();
      scrubTo(line.step);
      showImages(current);
    } else if (line.type === 'error') {
      current.error = line;
      if (line.losses) current.series.pushRecord({ step: line.step ?? current.series.lastStep ?? 0, losses: line.losses });
      chart.invalidate();
      finish(current, 'diverged', line.message, 'error');
    }
  }

  function showProgress() {
    statusFrame = null;
    if (!run) return;
    const record = run.records[run.records.length - 1];
    if (!record) return;
    if (run.state === 'running') {
      const figures = latestFigures(record);
      const accuracy = figures.accuracy === null ? '' : ` · test accuracy ${formatNumber(figures.accuracy * 100, 3)}%`;
      setStatus(`Training: step ${record.step} of ${run.start.steps} · loss ${formatNumber(figures.loss)}${accuracy}`);
    }
    updateScrubber();
    // While training the marks follow the newest record; once a step is scrubbed to, its record.
    if (run.state === 'running' || shownStep === null) showMarks(record);
  }

  function doneText(current) {
    const { done, start } = current;
    const figures = latestFigures(current.records[current.records.length - 1]) || {};
    let text = `Done: ${start.steps} steps · last loss ${formatNumber(figures.loss)}`;
    if (done.eval) {
      if (done.eval.accuracy !== null && done.eval.accuracy !== undefined) text += ` · test accuracy ${formatNumber(toNumber(done.eval.accuracy) * 100, 3)}%`;
      else if (done.eval.loss !== null && done.eval.loss !== undefined) text += ` · eval loss ${formatNumber(done.eval.loss)}`;
      const predictions = done.eval.predictions;
      if (Array.isArray(predictions) && predictions.length <= 4 && (done.eval.accuracy === null || done.eval.accuracy === undefined)) {
        text += ` · prediction ${predictions.map((p) => formatNumber(Array.isArray(p) ? p[0] : p, 5)).join(', ')}`;
      }
    }
    return text;
  }

  function stop() {
    if (run && run.state === 'running') run.controller.abort();
  }

  function setButtons() {
    const running = Boolean(run && run.state === 'running');
    $('#train-start').disabled = running;
    $('#train-stop').disabled = !running;
    document.body.dataset.training = running ? 'running' : 'idle';
  }

  // ---------------------------------------------------------------- scrubbing through the run

  const loader = createLatestLoader(
    (step) => fetchTrainGraph(run.body, step),
    {
      onResult: async (step, response) => {
        shownStep = step;
        await showResponse(response);
        scrubLabel.textContent = stepLabel(step, response);
        scrubLabel.dataset.step = String(step);
        updateScrubber();
        chart.mark(step);
        const record = run.records.find((item) => item.step === step);
        if (record) showMarks(record);
        else if (run.state !== 'running') showMarks(null);
      },
      onError: (step, error) => {
        if (error instanceof ApiError) showError(error.error);
        else throw error;
      },
    },
  );

  function stepLabel(step, response) {
    const loss = response.nodes[response.output].value;
    return `step ${step} of ${run.body.train.steps} · loss ${formatNumber(loss)}`;
  }

  /** Loads step k's graph; `snap` moves k to the nearest step the scrubber offers (chart clicks). */
  function scrubTo(step, { snap = false } = {}) {
    if (!run || !run.start) return;
    const { steps } = run;
    const wanted = snap && steps.length ? steps[positionOfStep(steps, step)] : step;
    const target = Math.min(Math.max(1, wanted), run.start.steps);
    if (target !== shownStep) {
      scrubLabel.textContent = `loading step ${target}…`;
      delete scrubLabel.dataset.step;
    }
    loader.want(target);
  }

  function updateScrubber() {
    const steps = run ? run.steps : [];
    scrubber.max = String(Math.max(0, steps.length - 1));
    scrubber.disabled = steps.length < 2;
    if (shownStep !== null && steps.length) scrubber.value = String(positionOfStep(steps, shownStep));
    scrubber.setAttribute('aria-valuetext', shownStep === null ? 'no step loaded' : `step ${shownStep}`);
  }

  // ---------------------------------------------------------------- health

  let drawnMarks = '';
  function showMarks(record) {
    marks = record ? healthMarks(record, paramNodesOf(run.start), (currentResponse() || { nodes: [] }).nodes) : new Map();
    // The graph is touched only when what it shows changes: a repaint of it every frame of a
    // long run was the page's largest cost (bench/ui_train.py).
    const key = marksKey(marks);
    if (key !== drawnMarks) {
      drawnMarks = key;
      setHealth(marks);
    }
  }

  // ---------------------------------------------------------------- image results

  async function datasetList() {
    if (!datasets) datasets = await fetchDatasets();
    return datasets;
  }

  /** The run's image input and labels input (dataset inputs), with their dataset's description. */
  async function imageData(current) {
    const data = (current.start && current.start.data) || {};
    const list = await datasetList();
    let image = null;
    let labels = null;
    for (const [name, spec] of Object.entries(data)) {
      const dataset = list.find((item) => item.name === spec.dataset);
      const field = dataset && dataset.fields.find((item) => item.name === spec.field);
      if (field && field.image_shape) image = { name, spec, shape: field.image_shape, pixels: field.shape[0] };
      else if (spec.field === 'labels') labels = { name, spec };
    }
    return image && labels ? { image, labels } : null;
  }

  async function showImages(current) {
    const evalSpecs = current.body.train.eval;
    const predictions = current.done.eval && current.done.eval.predictions;
    const found = await imageData(current);
    if (!found || !evalSpecs || !Array.isArray(predictions)) return;
    const { image, labels } = found;
    const imageSpec = evalSpecs[image.name];
    const labelSpec = evalSpecs[labels.name];
    if (!imageSpec || !labelSpec || imageSpec.dataset === undefined) return;
    const limit = (currentResponse() && currentResponse().truncated_elements) || DEFAULT_FULL_ELEMENTS;
    const rows = Array.from({ length: shownRowCount(predictions.length, image.pixels, limit) }, (_, i) => i);
    const response = await runBackward({
      expression: `s = sum(${image.name}) + sum(${labels.name})`,
      inputs: { [image.name]: evalRowSpec(imageSpec, rows), [labels.name]: evalRowSpec(labelSpec, rows) },
    });
    if (current !== run) return;
    const byName = (name) => response.nodes.find((node) => node.name === name);
    const pixels = imageRows(byName(image.name).value, byName(image.name).shape);
    const truth = byName(labels.name).value;
    const cells = predictionCells(predictions.slice(0, rows.length), truth).map((cell) => ({ ...cell, pixels: pixels[cell.index] }));
    current.imageInfo = { image, labels, imageSpec, labelSpec };
    images.showPredictions(cells, image.shape, { totalRows: predictions.length, accuracy: current.done.eval.accuracy });
    const weightName = firstLayerWeight(currentResponse(), image.name);
    const weight = weightName && current.done.params[weightName];
    const weightShape = weightName && current.start.params[weightName].shape;
    const unitImages = weight ? weightImages(weight, weightShape) : null;
    images.showWeights(unitImages, image.shape, {
      name: weightName,
      why: weightName
        ? `${weightName} (${formatShape(weightShape)}) came back from the run as a summary: it has more elements than the server sends in full (CHAINLENS_MAX_FULL_ELEMENTS).`
        : 'The image input does not enter a linear layer directly.',
    });
    if (cells.length) showSaliency(cells.find((cell) => cell.wrong) || cells[0]);
  }

  /**
   * ∂loss/∂pixels of one test image with the trained parameters: the program run by
   * POST /graph/backward on that image alone, the image input taking a gradient. It needs every
   * trained parameter in full (the `done` line summarizes tensors past the response limit).
   */
  async function showSaliency(cell) {
    const current = run;
    if (!current || !current.done || !current.imageInfo) return;
    const { image, labels, imageSpec, labelSpec } = current.imageInfo;
    const summarized = Object.entries(current.done.params).filter(([, value]) => isSummary(value));
    if (summarized.length) {
      const names = summarized.map(([name, value]) => `${name} (${formatShape(value.shape)})`).join(', ');
      images.showSaliency(cell, null, image.shape, {
        why: `Not available: it needs every trained parameter in full, and ${names} came back from the run as a summary `
          + '(more elements than CHAINLENS_MAX_FULL_ELEMENTS).',
      });
      return;
    }
    images.showSaliencyPending(cell);
    const trained = Object.fromEntries(Object.entries(current.done.params).map(([name, value]) => [name, { value }]));
    try {
      const response = await runBackward({
        expression: current.body.expression,
        inputs: {
          ...current.body.inputs,
          ...trained,
          [image.name]: evalRowSpec(imageSpec, [cell.index], { requires_grad: true }),
          [labels.name]: evalRowSpec(labelSpec, [cell.index]),
        },
      });
      if (current !== run) return;
      const node = response.nodes.find((item) => item.name === image.name);
      const grad = imageRows(node.grad, node.shape)[0];
      saliency = { row: cell.index, grad: Array.from(grad) };
      images.showSaliency(cell, grad, image.shape);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      images.showSaliency(cell, null, image.shape, { why: error.error.message });
    }
  }

  // ---------------------------------------------------------------- wiring

  $('#mode-explore').addEventListener('click', () => setMode('explore'));
  $('#mode-train').addEventListener('click', () => setMode('train'));
  form.elements.namedItem('optimizer').addEventListener('change', showOptimizerFields);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    train();
  });
  $('#train-stop').addEventListener('click', stop);
  scrubber.addEventListener('input', () => {
    if (!run) return;
    const step = stepAtPosition(run.steps, Number(scrubber.value));
    if (step !== null) scrubTo(step);
  });
  setMode('explore');
  setButtons();

  return {
    useExample,
    preview,
    /** After the graph is drawn again, its marks are drawn again (the node groups may be new). */
    afterDraw() {
      drawnMarks = marksKey(marks);
      setHealth(marks);
    },
    notesFor(nodeId) { return marks.get(nodeId) || []; },
    stepRequest,
  };
}

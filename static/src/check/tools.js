/**
 * Check it, break it, play with it, take it to PyTorch: the wiring of the check tools into the
 * page. main.js creates this once and calls onRun after every full run, onStep after every
 * stepper move, and onKey for keys the stepper does not take. The page's own state stays in
 * main.js: this module shows responses through `present` (no new layout) and asks for runs.
 *
 * - "Check gradients" (G): POST /graph/gradcheck → a badge per input, the summary, and numeric
 *   beside analytic in the inspector (with the ±h nudge).
 * - "Break it" (X): the chosen mistake replayed (POST /graph/backward with mode) beside the
 *   correct run: wrong gradients marked, both timelines in the panel, the stepper placed at (and
 *   playback stopped at) the first step where they part.
 * - Dragging a scalar input (its card, or its field under the inputs editor) or a small tensor's
 *   element (the inspector): the editor's JSON changes, the graph's numbers update in place.
 * - "PyTorch" copies the POST /graph/pytorch script; "DOT" downloads POST /graph/dot.
 */
import { ApiError } from '../api.js';
import { download } from '../exporter.js';
import { isScalar, toNumber } from '../tensor.js';
import { nudgedValue, draggedValue, wholeNumbers } from './drag.js';
import { elementOf, scalarInputs, withElement } from './edit-inputs.js';
import { badgeFor, nudgeReport, objective, summary } from './gradcheck-view.js';
import { createCheckInspector } from './inspect.js';
import { createOverlay } from './overlay.js';
import { createCheckPanel } from './panel.js';
import { createScrubber, followPointer } from './scrubber.js';
import { wrongGradients } from './timelines.js';
import './check.css';

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));

/**
 * `api`: the graph routes (api.js graphApi: runBackward, runForward, runReplay, runGradcheck; the
 * page adds runTrainGradcheck and fetchExport). `canCompute` false (a saved file): no dragging
 * and no drag fields, the other tools say they need chainlens running. `frame`: the element whose
 * classes say "breaking" and "dragging-value" (the page's body, a viewer's own root).
 */
export function createCheckTools({
  svg, graph, panelRoot, inspectorRoot, scrubbersRoot, controls, api, frame, canCompute = true,
  readRequest, readInputs, writeInputs, present, run, getState, pause, seek, refit, probe, showError,
  trainCheck = () => null,
}) {
  const { runBackward, runForward, runGradcheck, runReplay, runTrainGradcheck, fetchExport } = api;
  const overlay = createOverlay(graph);
  const panel = createCheckPanel(panelRoot, {
    onJump: (position) => seek(position),
    onResize: refit, // the panel takes height from the graph when it opens, and gives it back
    onClose: () => {
      if (breakOn) setBreak(false);
      panel.setGradcheck(null);
      panel.setMessage(null);
      overlay.clearBadges();
      panel.render(getState().stepper.position);
    },
  });
  const checkInspector = createCheckInspector({ onNudge: nudge, onElementChange: changeInput });
  let correct = null; // the last correct response (its layout is the page's)
  let lastCheck = null; // the last gradcheck answer, for the current values
  let breakOn = false;
  const scrubbers = new Map(); // input name → scrubber under the inputs editor
  probe.dragTimings = [];

  // ------------------------------------------------------------------ check gradients

  async function checkGradients() {
    // A training example checks the batch in view (train-panel.js stepRequest), not every row.
    const training = trainCheck();
    const body = training ? training.body : readRequest();
    if (!body || !correct) return;
    const button = controls.check;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      lastCheck = training ? await runTrainGradcheck(body) : await runGradcheck(body);
      probe.lastGradcheck = { route: training ? '/train/gradcheck' : '/graph/gradcheck', at: training ? training.at : null };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      panel.setMessage({ title: 'The gradient check was refused', text: error.error.message });
      panel.render(getState().stepper.position);
      return;
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
    const worst = toNumber(lastCheck.max_rel_error);
    const batch = training ? `${training.what}: ` : '';
    panel.setGradcheck({ text: batch + summary(lastCheck), ok: Number.isFinite(worst) && worst < 1e-6 });
    panel.setMessage(null);
    showBadges();
    refreshStep();
    probe.gradchecks = (probe.gradchecks || 0) + 1;
  }

  function showBadges() {
    if (!lastCheck) return;
    const response = getState().response;
    overlay.showBadges(response.nodes
      .filter((node) => node.op === 'input' && lastCheck.inputs[node.name])
      .map((node) => {
        const badge = badgeFor(lastCheck.inputs[node.name]);
        return { id: node.id, ...badge, title: `worst relative error of ${node.name}'s ${lastCheck.inputs[node.name].checked} checked elements` };
      }));
  }

  function forgetCheck() {
    if (!lastCheck) return;
    lastCheck = null;
    overlay.clearBadges();
    panel.setGradcheck({ text: 'The values changed: check the gradients again (G).', ok: true });
  }

  // ------------------------------------------------------------------ break it

  async function setBreak(on) {
    breakOn = on;
    controls.breakIt.setAttribute('aria-pressed', String(on));
    frame.classList.toggle('breaking', on);
    refit();
    if (on) {
      await loadReplay();
      return;
    }
    panel.setPair(null);
    panel.setMessage(null);
    overlay.clearWrong();
    if (correct) present(correct, { position: Math.min(getState().stepper.position, correct.steps.length) });
  }

  async function loadReplay(body = readRequest(), retried = false) {
    if (!body) return;
    const mode = controls.mode.value;
    let pair;
    try {
      pair = await Promise.all([runBackward(body), runReplay(body, mode)]);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      panel.setPair(null);
      overlay.clearWrong();
      panel.setMessage({
        title: error.status === 413 ? 'This replay would take too many steps' : 'The replay failed',
        text: error.error.message,
      });
      breakOn = false;
      controls.breakIt.setAttribute('aria-pressed', 'false');
      frame.classList.remove('breaking');
      if (correct) present(correct, { position: getState().stepper.position });
      return;
    }
    const [right, replay] = pair;
    if (!sameGraph(right, getState().response)) {
      if (retried) return;
      await run(); // the program changed since its layout: lay it out, then replay it
      await loadReplay(body, true);
      return;
    }
    if (!breakOn || mode !== controls.mode.value) return; // toggled or switched meanwhile
    correct = right;
    panel.setMessage(null);
    panel.setPair({ correct: right, replay, mode });
    const firstStep = replay.diverges.first_step;
    present(replay, { position: firstStep === null ? replay.steps.length : firstStep + 1 });
    overlay.markWrong(wrongGradients(right, replay));
    showBadges();
  }

  // ------------------------------------------------------------------ play with it

  let inflight = false;
  let pending = null;

  /** A new value for element `index` of input `node`; the latest one wins while a request runs. */
  function changeInput(node, index, value, eventTime = performance.now()) {
    const inputs = readInputs();
    if (!inputs) return;
    const name = node.name ?? node.label;
    const next = withElement(inputs, name, node, index, value);
    if (!next) return;
    pending = { inputs: next, eventTime };
    if (!inflight) flush(); // sends the request before the editor is rewritten below
    writeInputs(next);
    const scrubber = scrubbers.get(name);
    if (scrubber && !node.shape.length) scrubber.set(value);
  }

  async function flush() {
    const job = pending;
    pending = null;
    const base = readRequest({ quiet: true });
    if (!job || !base) return;
    inflight = true;
    const body = { ...base, inputs: job.inputs };
    try {
      const asked = performance.now();
      const [right, replay] = await Promise.all([
        runBackward(body), breakOn ? runReplay(body, controls.mode.value) : null,
      ]);
      const answered = performance.now();
      if (!sameGraph(right, getState().response)) {
        inflight = false;
        pending = null;
        await run();
        return;
      }
      correct = right;
      forgetCheck();
      if (replay) {
        panel.setPair({ correct: right, replay, mode: controls.mode.value });
        present(replay, { position: getState().stepper.position });
        overlay.markWrong(wrongGradients(right, replay));
      } else {
        present(right, { position: getState().stepper.position });
      }
      const shown = performance.now();
      await nextFrame();
      probe.dragTimings.push(performance.now() - job.eventTime);
      // Where the time goes: waiting for the event's turn, the request, the update, the frame.
      probe.dragParts = probe.dragParts || [];
      probe.dragParts.push({ queued: asked - job.eventTime, request: answered - asked, update: shown - answered, frame: performance.now() - shown });
      probe.dragUpdates = (probe.dragUpdates || 0) + 1;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(error.error);
    } finally {
      inflight = false;
    }
    if (pending) flush();
  }

  function scalarInputNode(target) {
    if (!canCompute) return null;
    const cardElement = target && target.closest ? target.closest('g.node.input') : null;
    if (!cardElement) return null;
    const node = getState().response?.nodes[Number(cardElement.dataset.node)];
    return node && isScalar(node.value) ? node : null;
  }

  // A scalar input's card is dragged sideways to change it. Caught in the capture phase, so that
  // the zoom behaviour (which pans on a drag) never sees it.
  svg.addEventListener('mousedown', (event) => { if (scalarInputNode(event.target)) event.stopPropagation(); }, true);
  svg.addEventListener('pointerdown', (event) => {
    const node = scalarInputNode(event.target);
    if (!node || event.button !== 0) return;
    event.stopPropagation();
    const start = toNumber(node.value);
    const whole = wholeNumbers(node, start);
    const cardElement = event.target.closest('g.node');
    cardElement.classList.add('dragging');
    followPointer(
      event,
      (dx, dy, move) => changeInput(node, 0, draggedValue(start, dx, { fine: move.altKey, whole }), move.timeStamp),
      () => cardElement.classList.remove('dragging'),
    );
  }, true);

  function buildScrubbers() {
    scrubbers.clear();
    scrubbersRoot.replaceChildren();
    const inputs = canCompute ? readInputs() : null;
    const found = inputs ? scalarInputs(inputs) : [];
    scrubbersRoot.hidden = !found.length;
    if (!found.length) return;
    const title = document.createElement('span');
    title.className = 'scrubbers-title';
    title.textContent = 'Drag:';
    scrubbersRoot.append(title);
    for (const { name, value } of found) {
      const item = document.createElement('span');
      item.className = 'scrub-item';
      const label = document.createElement('span');
      label.textContent = `${name} =`;
      const inputNode = () => getState().response?.nodes.find((candidate) => candidate.op === 'input' && candidate.name === name);
      const scrubber = createScrubber({
        label: name,
        value,
        onChange: (next, time) => changeInput(inputNode() || { name, label: name, shape: [], value }, 0, next, time),
        moves: (start) => ({ whole: wholeNumbers(inputNode(), start) }),
      });
      scrubber.element.dataset.input = name;
      scrubbers.set(name, scrubber);
      item.append(label, scrubber.element);
      scrubbersRoot.append(item);
    }
  }

  async function nudge(node, index, h) {
    const base = readRequest({ quiet: true });
    const inputs = readInputs();
    if (!base || !inputs) throw new Error('The program or its inputs have an error.');
    const before = getState().response;
    const start = elementOf(node.value, node.shape, index);
    const moved = withElement(inputs, node.name, node, index, start + h);
    if (!moved) throw new Error('This tensor was too large to send in full: it cannot be nudged here.');
    const forward = await runForward({ ...base, inputs: moved });
    const gradOutput = base.grad_output;
    const grad = elementOf(node.grad, node.shape, index);
    const at = objective(before.nodes[before.output].value, gradOutput);
    const after = objective(forward.nodes[forward.output].value, gradOutput);
    return nudgeReport(at, after, grad, h);
  }

  // ------------------------------------------------------------------ exports

  async function exportScript(kind) {
    const body = readRequest();
    if (!body) return;
    let text;
    try {
      text = await fetchExport(kind, body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(error.error);
      return;
    }
    probe.lastExport = { kind, text };
    const button = kind === 'pytorch' ? controls.pytorch : controls.dot;
    const label = button.textContent;
    if (kind === 'pytorch') {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        // No clipboard permission (plain http, a test browser): the script is downloaded instead.
        download('chainlens.py', new Blob([text], { type: 'text/x-python' }));
        button.textContent = 'Saved .py';
      }
    } else {
      download('chainlens-graph.dot', new Blob([text], { type: 'text/vnd.graphviz' }));
      button.textContent = 'Saved .dot';
    }
    setTimeout(() => { button.textContent = label; }, 1600);
  }

  // ------------------------------------------------------------------ hooks for main.js

  function refreshStep() {
    const state = getState();
    if (state.view) onStep(state.view);
  }

  function onRun(response) {
    correct = response;
    lastCheck = null;
    overlay.clearBadges();
    overlay.clearWrong();
    panel.setGradcheck(null);
    panel.setPair(null);
    buildScrubbers();
    if (breakOn) loadReplay();
    else panel.render(getState().stepper.position);
  }

  function onStep(view) {
    const state = getState();
    if (breakOn && panel.pair && state.stepper.playing) {
      const firstStep = panel.pair.replay.diverges.first_step;
      if (firstStep !== null && view.position === firstStep + 1) {
        pause(); // stops at the first step where the two runs part
        return;
      }
    }
    panel.render(view.position);
    if (state.selected !== null && state.response) {
      const node = state.response.nodes[state.selected];
      if (node) checkInspector.append(inspectorRoot, state.response, node, lastCheck && node.op === 'input' ? lastCheck.inputs[node.name] : null);
    }
  }

  /** Keys of the check tools; true when the key was taken. */
  function onKey(event) {
    const node = scalarInputNode(event.target);
    if (node && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
      event.preventDefault();
      const start = toNumber(node.value);
      const direction = event.key === 'ArrowUp' ? 1 : -1;
      changeInput(node, 0, nudgedValue(start, direction, { fine: event.altKey, whole: wholeNumbers(node, start) }), event.timeStamp);
      return true;
    }
    if (event.key === 'g' || event.key === 'G') {
      event.preventDefault();
      checkGradients();
      return true;
    }
    // X ("✗"): B is the stepper's jump to the backward pass (main.js JUMP_KEYS).
    if (event.key === 'x' || event.key === 'X') {
      event.preventDefault();
      setBreak(!breakOn);
      return true;
    }
    return false;
  }

  controls.check.addEventListener('click', checkGradients);
  controls.breakIt.addEventListener('click', () => setBreak(!breakOn));
  controls.mode.addEventListener('change', () => { if (breakOn) loadReplay(); });
  if (fetchExport) {
    controls.pytorch.addEventListener('click', () => exportScript('pytorch'));
    controls.dot.addEventListener('click', () => exportScript('dot'));
  }

  return { onRun, onStep, onKey };
}

function sameGraph(a, b) {
  return Boolean(a && b) && a.nodes.length === b.nodes.length
    // The server's names: the graph on screen carries display names (names.js) beside them.
    && a.nodes.every((node, i) => node.op === b.nodes[i].op && (node.sourceLabel ?? node.label) === (b.nodes[i].sourceLabel ?? b.nodes[i].label));
}

/**
 * The scrubber over a run's iterations: which steps it offers (step 1 and every recorded step),
 * slider position ↔ step, and a loader that keeps one `POST /train/graph` in flight and, while
 * the user drags, only the newest wanted step waiting (older wishes are dropped, never queued).
 * Pure apart from the `load` function it is given.
 */

/** The steps the scrubber offers: the first step, then every recorded step, ascending. */
export function scrubSteps(records) {
  const steps = [];
  for (const record of records) addScrubStep(steps, record.step);
  return steps;
}

/**
 * Adds a record's step to the scrubber's steps as it arrives (what scrubSteps does for all of
 * them): a page that rebuilt the list from every record each frame spent O(records) per frame,
 * 20,000 records in a run recorded at every step.
 */
export function addScrubStep(steps, step) {
  if (!steps.length) steps.push(1);
  if (step > steps[steps.length - 1]) steps.push(step);
  return steps;
}

/** The slider position (index into the ascending steps) closest to `step`; the earlier one on ties. */
export function positionOfStep(steps, step) {
  let low = 0;
  let high = steps.length - 1;
  while (low < high) { // the first position whose step is ≥ step (or the last one)
    const middle = (low + high) >> 1;
    if (steps[middle] < step) low = middle + 1;
    else high = middle;
  }
  if (low > 0 && Math.abs(steps[low - 1] - step) <= Math.abs(steps[low] - step)) return low - 1;
  return low;
}

export function stepAtPosition(steps, position) {
  if (!steps.length) return null;
  return steps[Math.max(0, Math.min(steps.length - 1, Math.round(position)))];
}

/**
 * Wraps `load(step) → Promise`: want(step) starts it unless a load is running, in which case
 * the step waits (replacing any step that was waiting). onResult(step, value) and
 * onError(step, error) fire for loads whose step is still the newest wanted one.
 */
export function createLatestLoader(load, { onResult, onError }) {
  let running = null;
  let waiting = null;
  let newest = null;

  function start(step) {
    running = step;
    Promise.resolve()
      .then(() => load(step))
      .then(
        (value) => { if (step === newest) onResult(step, value); },
        (error) => { if (step === newest) onError(step, error); },
      )
      .finally(() => {
        running = null;
        if (waiting !== null) {
          const next = waiting;
          waiting = null;
          start(next);
        }
      });
  }

  function want(step) {
    newest = step;
    if (running === null) start(step);
    else if (running !== step) waiting = step;
    else waiting = null;
  }

  return { want, get busy() { return running !== null; } };
}

/**
 * Whether two graph responses have the same nodes and edges (ops, operands, shapes): the layout
 * of one then serves the other, so scrubbing through a run does not lay the graph out again.
 */
export function sameStructure(a, b) {
  if (!a || !b || a.nodes.length !== b.nodes.length || a.output !== b.output) return false;
  return a.nodes.every((node, i) => {
    const other = b.nodes[i];
    return node.op === other.op && node.label === other.label
      && String(node.inputs) === String(other.inputs) && String(node.shape) === String(other.shape);
  });
}

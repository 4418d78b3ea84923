/**
 * The scrubber over a run's iterations: which steps it offers (step 1 and every recorded step),
 * slider position ↔ step, and a loader that keeps one `POST /train/graph` in flight and, while
 * the user drags, only the newest wanted step waiting (older wishes are dropped, never queued).
 * Pure apart from the `load` function it is given.
 */

/** The steps the scrubber offers: the first step, then every recorded step, ascending. */
export function scrubSteps(records) {
  const steps = [];
  if (records.length) steps.push(1);
  for (const record of records) {
    if (record.step > steps[steps.length - 1]) steps.push(record.step);
  }
  return steps;
}

/** The slider position (index into steps) closest to `step`. */
export function positionOfStep(steps, step) {
  let best = 0;
  for (let i = 1; i < steps.length; i += 1) {
    if (Math.abs(steps[i] - step) < Math.abs(steps[best] - step)) best = i;
  }
  return best;
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

/**
 * The stepper: a pure state machine over the response's `steps`.
 *
 * A position p in 0..N (N = steps.length) means "the first p steps have been applied"; the
 * current step is steps[p - 1] (none at p = 0, where only inputs and constants are known).
 * `viewAt` derives everything the page shows at a position (which nodes are computed, each
 * node's gradient so far, which edges have carried gradient); `reduce` moves the position.
 * No DOM, no timers: main.js owns the clock, render.js the pixels.
 */

export const SPEEDS = [0.5, 1, 2, 4, 16, 100, 1000];
/** Playback never redraws faster than a frame; faster speeds take several steps a tick. */
const FRAME_MS = 16;

/** `${source}-${target}-${slot}`: an edge's identity; `x * x` has two edges between one pair. */
export function edgeKey(source, target, slot) {
  return `${source}-${target}-${slot}`;
}

/** Facts computed once per response, reused for every position. */
export function buildTimeline(response) {
  const { nodes, steps, output } = response;
  const forwardCount = steps.filter((step) => step.phase === 'forward').length;
  const expected = new Int32Array(nodes.length);
  for (const step of steps) {
    if (step.phase === 'backward') expected[step.input] += 1;
  }
  const firstBackward = steps.find((step) => step.phase === 'backward');
  // The seed reaches the output before any edge carries it; the first event shows it as `upstream`.
  const seed = firstBackward && firstBackward.node === output ? firstBackward.upstream : nodes[output].grad;
  return { nodes, steps, output, forwardCount, expected, seed, total: steps.length };
}

/** Everything visible at position p (the steps before it replayed from the start: O(p)). */
export function viewAt(timeline, position) {
  return createViewCursor(timeline, { checkpoints: false })(position);
}

/** At most this many checkpoints a timeline (each holds a copy of the per-node arrays). */
export const MAX_CHECKPOINTS = 32;

/** Steps between two checkpoints: at least 64, more on long timelines (MAX_CHECKPOINTS at most). */
export function checkpointEvery(total) {
  return Math.max(64, Math.ceil(total / MAX_CHECKPOINTS));
}

/**
 * `at(position)` → the view at a position, as viewAt gives it, reached from the position asked
 * before by applying or undoing only the steps in between: a step (→, ←, playback) costs one
 * step's work at any graph size. A jump farther than the checkpoints' spacing starts from the
 * nearest checkpoint instead (a copy of the cursor's state every `checkpointEvery(total)` steps,
 * made in one pass on the first long jump or by `at.prepare()`), so a jump anywhere costs a copy
 * and at most half a spacing of steps. The views share the cursor's arrays, so a view is only
 * valid until the next call. `at.stats` counts the steps applied and undone and the restores.
 */
export function createViewCursor(timeline, { checkpoints: useCheckpoints = true } = {}) {
  const { nodes, steps, output, forwardCount, expected } = timeline;
  const every = checkpointEvery(steps.length);
  let checkpoints = null; // checkpoints[i]: the state at position i * every
  let byInput = null; // node id → every backward step into it, in order (contributions rebuilt from it)
  const stats = { applied: 0, undone: 0, restored: 0 };
  let computed;
  let grads;
  let received;
  let edgesDone;
  let edgeCounts; // a replayed mistake can send a gradient along one edge more than once
  let contributions;
  let at = 0;
  let seeded = false; // grads[output] holds the seed, not a contribution

  function reset() {
    computed = new Uint8Array(nodes.length);
    for (const node of nodes) {
      if (node.op === 'input' || node.op === 'constant') computed[node.id] = 1;
    }
    grads = new Array(nodes.length).fill(undefined);
    received = new Int32Array(nodes.length);
    edgesDone = new Set();
    edgeCounts = new Map();
    contributions = new Map(); // node id → [{step, index}] received so far
    at = 0;
    seeded = false;
  }

  /** The gradient shown on `input` once `step` is its latest contribution. */
  function gradAfter(input, step) {
    // Steps may carry summaries of large tensors; the node carries the full final gradient.
    return received[input] === expected[input] && nodes[input].grad !== null ? nodes[input].grad : step.accumulated;
  }

  function apply(index) {
    const step = steps[index];
    if (step.phase === 'forward') {
      computed[step.node] = 1;
      return;
    }
    received[step.input] += 1;
    const key = edgeKey(step.input, step.node, step.slot);
    edgeCounts.set(key, (edgeCounts.get(key) ?? 0) + 1);
    edgesDone.add(key);
    grads[step.input] = gradAfter(step.input, step);
    if (!contributions.has(step.input)) contributions.set(step.input, []);
    contributions.get(step.input).push({ step, index });
  }

  function undo(index) {
    const step = steps[index];
    if (step.phase === 'forward') {
      computed[step.node] = 0;
      return;
    }
    received[step.input] -= 1;
    const key = edgeKey(step.input, step.node, step.slot);
    const count = edgeCounts.get(key) - 1;
    if (count) edgeCounts.set(key, count);
    else {
      edgeCounts.delete(key);
      edgesDone.delete(key);
    }
    const list = contributions.get(step.input);
    list.pop();
    if (list.length) grads[step.input] = gradAfter(step.input, list[list.length - 1].step);
    else {
      contributions.delete(step.input);
      grads[step.input] = undefined;
    }
  }

  /** A copy of the state at `at` (never seeded: made between views). */
  function snapshot() {
    return { at, computed: computed.slice(), grads: grads.slice(), received: received.slice(), edgeCounts: new Map(edgeCounts) };
  }

  function restore(saved) {
    at = saved.at;
    computed = saved.computed.slice();
    grads = saved.grads.slice();
    received = saved.received.slice();
    edgeCounts = new Map(saved.edgeCounts);
    edgesDone = new Set(edgeCounts.keys());
    // A node's contributions so far are the first `received` of every step into it.
    contributions = new Map();
    for (const [input, list] of byInput) if (received[input]) contributions.set(input, list.slice(0, received[input]));
    stats.restored += 1;
  }

  /** One pass over the timeline, keeping a copy of the state every `every` steps; back to the start. */
  function prepare() {
    if (checkpoints || !useCheckpoints) return;
    byInput = new Map();
    steps.forEach((step, index) => {
      if (step.phase !== 'backward') return;
      if (!byInput.has(step.input)) byInput.set(step.input, []);
      byInput.get(step.input).push({ step, index });
    });
    const position = at;
    reset();
    checkpoints = [snapshot()];
    while (at < steps.length) {
      apply(at++);
      if (at % every === 0 || at === steps.length) checkpoints.push(snapshot());
    }
    restore(nearestCheckpoint(position));
    stats.restored -= 1;
    while (at < position) apply(at++);
    while (at > position) undo(--at);
  }

  /** The checkpoint nearest to p (they sit at every multiple of `every`, and at the end). */
  function nearestCheckpoint(p) {
    const below = checkpoints[Math.min(checkpoints.length - 1, Math.floor(p / every))];
    const above = checkpoints[Math.floor(p / every) + 1];
    return above && above.at - p < p - below.at ? above : below;
  }

  /** Moves the state to position p: by the steps in between, or from the nearest checkpoint when that is shorter. */
  function seek(p) {
    if (useCheckpoints && Math.abs(p - at) > every / 2) {
      prepare();
      const nearest = nearestCheckpoint(p);
      if (Math.abs(p - nearest.at) < Math.abs(p - at)) restore(nearest);
    } else if (p < at - p) reset(); // replaying p steps from the start beats undoing at - p of them
    stats.applied += Math.max(0, p - at);
    stats.undone += Math.max(0, at - p);
    while (at < p) apply(at++);
    while (at > p) undo(--at);
  }

  reset();
  function viewAtPosition(position) {
    const p = clamp(position, 0, timeline.total);
    if (seeded) {
      grads[output] = undefined;
      seeded = false;
    }
    seek(p);
    const inBackward = p > forwardCount;
    // The seed reaches the output before any edge carries it: shown from the backward pass on.
    if (inBackward && timeline.seed !== null && timeline.seed !== undefined && grads[output] === undefined) {
      grads[output] = timeline.seed;
      seeded = true;
    }
    const current = p > 0 ? steps[p - 1] : null;
    let phase = 'start';
    if (current) phase = p === timeline.total ? 'done' : current.phase;
    if (p === timeline.total && timeline.total === 0) phase = 'done';
    let currentEdge = null;
    if (current && current.phase === 'backward') {
      currentEdge = edgeKey(current.input, current.node, current.slot);
    }
    return {
      position: p,
      total: timeline.total,
      phase,
      current,
      currentEdge,
      currentNode: current ? current.node : null,
      computed,
      grads,
      received,
      expected,
      edgesDone,
      contributions,
      inBackward,
    };
  }
  viewAtPosition.prepare = prepare;
  viewAtPosition.stats = stats;
  viewAtPosition.every = every;
  return viewAtPosition;
}

/** The stepper's controls as a reducer: state {position, total, playing, speed}. */
export function reduce(state, action) {
  const { total } = state;
  switch (action.type) {
    case 'first':
      return { ...state, position: 0, playing: false };
    case 'last':
      return { ...state, position: total, playing: false };
    case 'prev':
      return { ...state, position: clamp(state.position - 1, 0, total), playing: false };
    case 'next':
      return { ...state, position: clamp(state.position + 1, 0, total), playing: false };
    case 'seek':
      return { ...state, position: clamp(Math.round(action.position), 0, total), playing: false };
    case 'toggle':
      if (state.playing) return { ...state, playing: false };
      // Playing from the end starts over, as media players do.
      return { ...state, playing: total > 0, position: state.position >= total ? 0 : state.position };
    case 'tick': {
      if (!state.playing) return state;
      const position = clamp(state.position + (action.steps ?? 1), 0, total);
      return { ...state, position, playing: position < total };
    }
    case 'speed':
      return SPEEDS.includes(action.speed) ? { ...state, speed: action.speed } : state;
    case 'load':
      return { position: clamp(action.position ?? 0, 0, action.total), total: action.total, playing: false, speed: state.speed ?? 1 };
    default:
      return state;
  }
}

/** Milliseconds between automatic steps at a speed multiplier (at least a frame). */
export function tickInterval(speed) {
  return Math.max(FRAME_MS, Math.round(900 / speed));
}

/** Steps taken per tick: 1 up to ~56×, more beyond (1000× crosses 40,000 steps in ~36 s). */
export function stepsPerTick(speed) {
  return Math.max(1, Math.round((speed * FRAME_MS) / 900));
}

/** The position right after the forward pass (the backward pass's first step is next). */
export function backwardStart(timeline) {
  return timeline.forwardCount;
}

/**
 * The next position after `position` whose step touches node `nodeId` (computes it, sends it a
 * gradient or sends one from it), or null. `direction` -1 searches backwards.
 */
export function nextTouching(timeline, position, nodeId, direction = 1) {
  const { steps } = timeline;
  for (let p = position + direction; p >= 1 && p <= steps.length; p += direction) {
    const step = steps[p - 1];
    if (step.node === nodeId || (step.phase === 'backward' && step.input === nodeId)) return p;
  }
  return null;
}

function clamp(value, low, high) {
  if (!Number.isFinite(value)) return low;
  return Math.min(high, Math.max(low, value));
}

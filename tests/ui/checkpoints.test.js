// Issue 23: a jump along the timeline costs a few steps' work at any distance. The view cursor
// keeps a copy of its state every `checkpointEvery(total)` steps and seeks from the nearest one;
// the views it gives are exactly those of a replay from the start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTimeline, checkpointEvery, createViewCursor, MAX_CHECKPOINTS, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

/** A view as plain data: what the page reads from it. */
function plain(view) {
  return {
    position: view.position,
    phase: view.phase,
    currentEdge: view.currentEdge,
    grads: view.grads.map((grad) => (grad === undefined ? 'none' : grad)),
    computed: Array.from(view.computed),
    received: Array.from(view.received),
    edgesDone: [...view.edgesDone].sort(),
    contributions: [...view.contributions.entries()].sort(([a], [b]) => a - b)
      .map(([node, list]) => [node, list.map(({ index }) => index)]),
  };
}

/** h_k = h_{k-1} * w, `length` times, one weight shared by every step: 2·length + 2 steps... */
function sharedRecurrence(length) {
  const nodes = [
    { id: 0, op: 'input', label: 'w', shape: [], value: 0.9, grad: 0 },
    { id: 1, op: 'input', label: 'h0', shape: [], value: 1, grad: 0 },
  ];
  const steps = [];
  for (let k = 1; k <= length; k += 1) {
    nodes.push({ id: k + 1, op: 'mul', label: `h${k}`, shape: [], value: 0.9 ** k, grad: 0 });
    steps.push({ phase: 'forward', node: k + 1 });
  }
  let sharedSum = 0;
  for (let k = length; k >= 1; k -= 1) {
    const upstream = 0.9 ** (length - k);
    nodes[k].grad = upstream * 0.9; // into h_{k-1}
    sharedSum += upstream * 0.9 ** (k - 1);
    steps.push({ phase: 'backward', node: k + 1, input: k, slot: 0, upstream, contribution: upstream * 0.9, accumulated: upstream * 0.9, summed_axes: [] });
    steps.push({ phase: 'backward', node: k + 1, input: 0, slot: 1, upstream, contribution: upstream * 0.9 ** (k - 1), accumulated: sharedSum, summed_axes: [] });
  }
  nodes[0].grad = sharedSum;
  nodes[length + 1].grad = 1;
  return { nodes, steps, output: length + 1 };
}

/** Deterministic long jumps and short steps over [0, total]. */
function jumps(total, count = 300) {
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const positions = [total, 0, Math.floor(total / 2), total - 1, 1];
  for (let i = 0; i < count; i += 1) {
    const last = positions.at(-1);
    positions.push(random() < 0.3 ? last + (random() < 0.5 ? 1 : -1) : Math.floor(random() * (total + 1)));
  }
  return positions;
}

test('checkpoints are spaced so that a timeline has at most MAX_CHECKPOINTS of them', () => {
  assert.equal(checkpointEvery(100), 64);
  assert.equal(checkpointEvery(13_328), Math.ceil(13_328 / MAX_CHECKPOINTS));
  assert.ok(Math.ceil(400_000 / checkpointEvery(400_000)) <= MAX_CHECKPOINTS);
});

test('the checkpointed cursor shows at every position what a replay from the start shows', () => {
  const cases = [['shared recurrence of 700', sharedRecurrence(700)]];
  for (const name of ['recurrence', 'shared-intermediate-naive-recursion', 'regression-mlp.expanded']) cases.push([name, fixture(name)]);
  for (const [name, response] of cases) {
    const timeline = buildTimeline(response);
    const at = createViewCursor(timeline);
    for (const position of jumps(timeline.total, 120)) {
      assert.deepEqual(plain(at(position)), plain(viewAt(timeline, position)), `${name} at ${position}`);
    }
  }
});

test('a jump anywhere costs at most half a checkpoint spacing of steps, at any distance', () => {
  const timeline = buildTimeline(sharedRecurrence(3000)); // 9,000 steps
  const at = createViewCursor(timeline);
  at.prepare();
  const every = at.every;
  assert.ok(every < timeline.total / 20);
  let worst = 0;
  for (const position of jumps(timeline.total)) {
    const before = { ...at.stats };
    at(position);
    const walked = at.stats.applied - before.applied + at.stats.undone - before.undone;
    assert.ok(at.stats.restored - before.restored <= 1);
    worst = Math.max(worst, walked);
  }
  assert.ok(worst <= every / 2 + 1, `a jump walked ${worst} steps (spacing ${every})`);
  // The end's view is right after those jumps.
  assert.deepEqual(plain(at(timeline.total)), plain(viewAt(timeline, timeline.total)));
  // Without checkpoints the same jump from the end to the middle walks half the timeline.
  const plainCursor = createViewCursor(timeline, { checkpoints: false });
  plainCursor(timeline.total);
  const before = plainCursor.stats.undone + plainCursor.stats.applied;
  plainCursor(Math.floor(timeline.total / 2));
  assert.ok(plainCursor.stats.undone + plainCursor.stats.applied - before >= timeline.total / 2 - 1);
});

test('single steps never restore a checkpoint: they cost one step', () => {
  const timeline = buildTimeline(sharedRecurrence(500));
  const at = createViewCursor(timeline);
  at(700);
  const before = { ...at.stats };
  for (let p = 701; p < 800; p += 1) at(p);
  for (let p = 798; p > 600; p -= 1) at(p);
  assert.equal(at.stats.restored, before.restored);
  assert.equal(at.stats.applied - before.applied + at.stats.undone - before.undone, 99 + 198);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTimeline, edgeKey, reduce, tickInterval, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

const chain = fixture('chain-rule');
const shared = fixture('shared-parameter');

test('position 0: inputs known, ops pending, no gradients anywhere', () => {
  const view = viewAt(buildTimeline(chain), 0);
  assert.equal(view.current, null);
  assert.equal(view.phase, 'start');
  assert.deepEqual(Array.from(view.computed), [1, 1, 0, 1, 0]);
  assert.ok(view.grads.every((grad) => grad === undefined), 'no gradient may show as 0 before backward');
});

test('forward steps compute nodes in order; gradients stay unknown during the forward pass', () => {
  const timeline = buildTimeline(chain);
  const view = viewAt(timeline, 2);
  assert.equal(view.phase, 'forward');
  assert.equal(view.currentNode, 4);
  assert.ok(view.computed.every((flag) => flag === 1));
  assert.ok(view.grads.every((grad) => grad === undefined));
});

test('the first backward step shows the seed on the output and one gradient', () => {
  const view = viewAt(buildTimeline(chain), 3);
  assert.equal(view.phase, 'backward');
  assert.equal(view.grads[4], 1);
  assert.equal(view.grads[2], -4);
  assert.equal(view.grads[0], undefined);
  assert.equal(view.currentEdge, edgeKey(2, 4, 0));
});

test('the end of the chain rule: dx = -4, dy = -4, dz = 3', () => {
  const timeline = buildTimeline(chain);
  const view = viewAt(timeline, timeline.total);
  assert.equal(view.phase, 'done');
  assert.deepEqual([view.grads[0], view.grads[1], view.grads[3]], [-4, -4, 3]);
  assert.equal(view.edgesDone.size, 4);
});

test('a node used twice receives two contributions and ends with their sum', () => {
  const timeline = buildTimeline(shared);
  const a = 1;
  assert.equal(timeline.expected[a], 2);
  const firstIndex = shared.steps.findIndex((step) => step.phase === 'backward' && step.input === a);
  const afterFirst = viewAt(timeline, firstIndex + 1);
  assert.equal(afterFirst.received[a], 1);
  assert.deepEqual(afterFirst.grads[a], shared.steps[firstIndex].contribution);
  const end = viewAt(timeline, timeline.total);
  assert.equal(end.received[a], 2);
  assert.deepEqual(end.grads[a], shared.nodes[a].grad);
  const [first, second] = end.contributions.get(a).map(({ step }) => step.contribution);
  const sum = first.map((row, i) => row.map((x, j) => x + second[i][j]));
  assert.deepEqual(end.grads[a], sum);
});

test('x * x: two edges between one pair are distinct keys', () => {
  assert.notEqual(edgeKey(0, 1, 0), edgeKey(0, 1, 1));
  const intermediate = fixture('shared-intermediate');
  const timeline = buildTimeline(intermediate);
  const view = viewAt(timeline, timeline.total);
  const q = intermediate.nodes.find((node) => node.name === 'q').id;
  const y = intermediate.nodes.find((node) => node.name === 'y').id;
  assert.ok(view.edgesDone.has(edgeKey(q, y, 0)) && view.edgesDone.has(edgeKey(q, y, 1)));
  assert.equal(view.grads[q], 6);
});

test('positions are clamped to the timeline', () => {
  const timeline = buildTimeline(chain);
  assert.equal(viewAt(timeline, -3).position, 0);
  assert.equal(viewAt(timeline, 99).position, timeline.total);
});

test('reduce: next/prev/first/last/seek clamp and stop playback', () => {
  let state = reduce({ speed: 1 }, { type: 'load', total: 6 });
  assert.deepEqual(state, { position: 0, total: 6, playing: false, speed: 1 });
  state = reduce(state, { type: 'prev' });
  assert.equal(state.position, 0);
  state = reduce(state, { type: 'next' });
  assert.equal(state.position, 1);
  state = reduce(state, { type: 'last' });
  assert.equal(state.position, 6);
  state = reduce(state, { type: 'next' });
  assert.equal(state.position, 6);
  state = reduce(state, { type: 'seek', position: 2.6 });
  assert.equal(state.position, 3);
  state = reduce(state, { type: 'first' });
  assert.equal(state.position, 0);
});

test('reduce: play ticks to the end and stops; playing from the end starts over', () => {
  let state = reduce({ speed: 1 }, { type: 'load', total: 2, position: 1 });
  state = reduce(state, { type: 'toggle' });
  assert.equal(state.playing, true);
  state = reduce(state, { type: 'tick' });
  assert.deepEqual([state.position, state.playing], [2, false]);
  state = reduce(state, { type: 'tick' });
  assert.equal(state.position, 2, 'a tick while paused does nothing');
  state = reduce(state, { type: 'toggle' });
  assert.deepEqual([state.position, state.playing], [0, true]);
  state = reduce(state, { type: 'next' });
  assert.equal(state.playing, false, 'a manual step pauses');
});

test('reduce: speed accepts only offered speeds; faster means shorter ticks', () => {
  const state = reduce({ position: 0, total: 3, playing: false, speed: 1 }, { type: 'speed', speed: 3 });
  assert.equal(state.speed, 1);
  assert.equal(reduce(state, { type: 'speed', speed: 4 }).speed, 4);
  assert.ok(tickInterval(4) < tickInterval(1));
});

test('a load position beyond the timeline (an old link) lands on the last step', () => {
  assert.equal(reduce({ speed: 1 }, { type: 'load', total: 4, position: 40 }).position, 4);
});

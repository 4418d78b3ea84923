import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addScrubStep, createLatestLoader, positionOfStep, sameStructure, scrubSteps, stepAtPosition } from '../../static/src/train/scrub.js';
import { fixture } from './load.js';

test('the scrubber offers step 1 and every recorded step', () => {
  const records = [{ step: 20 }, { step: 40 }, { step: 50 }];
  assert.deepEqual(scrubSteps(records), [1, 20, 40, 50]);
  assert.deepEqual(scrubSteps([{ step: 1 }, { step: 2 }]), [1, 2]);
  assert.deepEqual(scrubSteps([]), []);
});

test('slider positions map to steps and back (nearest offered step)', () => {
  const steps = [1, 20, 40, 50];
  assert.equal(stepAtPosition(steps, 0), 1);
  assert.equal(stepAtPosition(steps, 2), 40);
  assert.equal(stepAtPosition(steps, 9), 50);
  assert.equal(stepAtPosition([], 0), null);
  assert.equal(positionOfStep(steps, 40), 2);
  assert.equal(positionOfStep(steps, 33), 2);
  assert.equal(positionOfStep(steps, 9), 0);
  assert.equal(positionOfStep(steps, 1000), 3);
});

test('steps added one record at a time are the steps of all records; the nearest is found on ties too', () => {
  const records = [{ step: 20 }, { step: 40 }, { step: 40 }, { step: 60 }];
  const steps = [];
  for (const record of records) addScrubStep(steps, record.step);
  assert.deepEqual(steps, scrubSteps(records));
  assert.deepEqual(steps, [1, 20, 40, 60]);
  assert.equal(positionOfStep(steps, 30), 1); // 20 and 40 are as near: the earlier
  assert.equal(positionOfStep(steps, 31), 2);
  assert.equal(positionOfStep(steps, 10), 0); // 1 and 20 are 9 and 10 away
  assert.equal(positionOfStep(steps, 11), 1);
  assert.equal(positionOfStep([], 5), 0);
  assert.equal(positionOfStep([7], 5), 0);
});

/** A load whose answers the test releases by hand, in any order. */
function manualLoad() {
  const calls = [];
  const load = (step) => new Promise((resolve, reject) => calls.push({ step, resolve, reject }));
  return { calls, load };
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test('dragging: one load in flight, only the newest wish waits, older wishes are dropped', async () => {
  const { calls, load } = manualLoad();
  const shown = [];
  const loader = createLatestLoader(load, { onResult: (step, value) => shown.push([step, value]), onError: assert.fail });
  loader.want(20);
  loader.want(40);
  loader.want(60);
  await settle();
  assert.deepEqual(calls.map((call) => call.step), [20]);
  calls[0].resolve('graph 20');
  await settle();
  // 20 is no longer wanted: not shown; 60 (not 40) loads next.
  assert.deepEqual(shown, []);
  assert.deepEqual(calls.map((call) => call.step), [20, 60]);
  calls[1].resolve('graph 60');
  await settle();
  assert.deepEqual(shown, [[60, 'graph 60']]);
  assert.equal(loader.busy, false);
});

test('an error reaches onError only for the newest wish', async () => {
  const { calls, load } = manualLoad();
  const errors = [];
  const loader = createLatestLoader(load, { onResult: assert.fail, onError: (step, error) => errors.push([step, error.message]) });
  loader.want(5);
  await settle();
  calls[0].reject(new Error('at 5 is past a divergence'));
  await settle();
  assert.deepEqual(errors, [[5, 'at 5 is past a divergence']]);
});

test('the same graph at another step has the same structure; another program does not', () => {
  const mlp = fixture('regression-mlp');
  const later = structuredClone(mlp);
  later.nodes.forEach((node) => { node.value = 0; node.grad = 0; });
  assert.equal(sameStructure(mlp, later), true);
  assert.equal(sameStructure(mlp, fixture('chain-rule')), false);
  const reshaped = structuredClone(mlp);
  reshaped.nodes[0].shape = [7, 3];
  assert.equal(sameStructure(mlp, reshaped), false);
  assert.equal(sameStructure(null, mlp), false);
});

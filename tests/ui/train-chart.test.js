import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLossSeries, latestFigures } from '../../static/src/train/chart-data.js';

/** Records as POST /train streams them: `losses` since the last record, the last one at `step`. */
function recordsOf(losses, every, evalAt = () => null) {
  const records = [];
  for (let end = every; end <= losses.length; end += every) {
    records.push({ type: 'record', step: end, losses: losses.slice(end - every, end), eval: evalAt(end) });
  }
  return records;
}

test('a short run keeps one point per step, at its step, with its loss', () => {
  const series = createLossSeries({ maxBuckets: 8 });
  for (const record of recordsOf([9, 7, 5, 4], 2)) series.pushRecord(record);
  assert.deepEqual(series.points().map((point) => [point.step, point.mean]), [[1, 9], [2, 7], [3, 5], [4, 4]]);
  assert.deepEqual(series.extent(), [4, 9]);
  assert.equal(series.lastStep, 4);
});

test('20,000 steps reduce to at most maxBuckets points keeping the extremes and the mean', () => {
  const losses = Array.from({ length: 20_000 }, (_, i) => 100 / (1 + i / 50) + (i % 7 === 0 ? 3 : 0));
  const series = createLossSeries({ maxBuckets: 400 });
  for (const record of recordsOf(losses, 20)) series.pushRecord(record);
  const points = series.points();
  assert.ok(points.length <= 400 && points.length > 200, `${points.length} points`);
  assert.equal(series.count, 20_000);
  assert.equal(series.bucketWidth, 64);
  assert.deepEqual(series.extent(), [Math.min(...losses), Math.max(...losses)]);
  // Every step is in exactly one bucket: the weighted means give back the overall mean.
  const total = losses.reduce((sum, loss) => sum + loss, 0);
  const widths = points.map((point, i) => (i < points.length - 1 ? 64 : 20_000 - 64 * (points.length - 1)));
  const weighted = points.reduce((sum, point, i) => sum + point.mean * widths[i], 0);
  assert.ok(Math.abs(weighted - total) / total < 1e-12);
  for (let i = 1; i < points.length; i += 1) assert.ok(points[i].step > points[i - 1].step);
  assert.equal(points[0].step, (1 + 64) / 2);
  assert.equal(points[0].max, 103); // step 1 (i = 0) carries the +3 bump
});

test('non-finite losses (a diverging run, sent as strings) are counted, not drawn', () => {
  const series = createLossSeries({ maxBuckets: 4 });
  series.pushRecord({ step: 3, losses: [2, 'Infinity', 'NaN'] });
  assert.equal(series.count, 1);
  assert.equal(series.nonFinite, 2);
  assert.deepEqual(series.extent(), [2, 2]);
  assert.equal(series.lastStep, 3);
});

test('evaluation points follow the records that carry them', () => {
  const series = createLossSeries();
  const records = recordsOf([5, 4, 3, 2, 1, 0.5], 3, (step) => ({ loss: 4 - step / 2, accuracy: step / 10 }));
  for (const record of records) series.pushRecord(record);
  assert.deepEqual(series.evals, [{ step: 3, loss: 2.5, accuracy: 0.3 }, { step: 6, loss: 1, accuracy: 0.6 }]);
  assert.deepEqual(latestFigures(records[1]), { step: 6, loss: 0.5, accuracy: 0.6 });
  assert.deepEqual(latestFigures({ step: 2, losses: [1, 'NaN'] }), { step: 2, loss: 1, accuracy: null });
});

test('bucket counts must be even', () => {
  assert.throws(() => createLossSeries({ maxBuckets: 5 }), /even/);
});

test('evaluation points stay at most maxBuckets, evenly thinned, ending at the latest one', () => {
  const series = createLossSeries({ maxBuckets: 4 });
  for (let step = 1; step <= 20; step += 1) series.pushRecord({ step, losses: [1], eval: { loss: step, accuracy: null } });
  assert.ok(series.evals.length <= 4, `${series.evals.length} points`);
  assert.equal(series.evals[series.evals.length - 1].step, 20);
  const steps = series.evals.map((point) => point.step);
  // spacing 8 by now: 1..20 kept as 8, 16 and the newest
  assert.deepEqual(steps, [8, 16, 20]);
  assert.deepEqual(series.evals.map((point) => point.loss), steps);
});

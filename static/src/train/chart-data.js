/**
 * The loss chart's data, reduced as it arrives: a run of 20,000 steps must not cost 20,000 path
 * points per frame. Losses fall into at most `maxBuckets` buckets (min, max, mean, first and last
 * step); when the buckets fill up, neighbours merge pairwise and the bucket width doubles, so one
 * loss costs O(1) amortized and the drawing costs O(maxBuckets) whatever the run's length.
 * Pure: records in, arrays out; the D3 drawing is loss-chart.js.
 */
import { toNumber } from '../tensor.js';

const DEFAULT_MAX_BUCKETS = 400;

function bucketOf(step, loss) {
  return { first: step, last: step, min: loss, max: loss, sum: loss, count: 1 };
}

function mergeInto(target, bucket) {
  target.last = bucket.last;
  target.min = Math.min(target.min, bucket.min);
  target.max = Math.max(target.max, bucket.max);
  target.sum += bucket.sum;
  target.count += bucket.count;
}

export function createLossSeries({ maxBuckets = DEFAULT_MAX_BUCKETS } = {}) {
  if (maxBuckets < 2 || maxBuckets % 2) throw new Error('maxBuckets must be an even number ≥ 2');
  let buckets = [];
  let width = 1; // steps per bucket
  let count = 0;
  let nonFinite = 0;
  let lastStep = null;
  // Evaluation points (one per record that carries one: 20,000 for a run evaluated every step)
  // are kept to at most maxBuckets as well: when full, every other one goes and the spacing
  // doubles; the newest point always replaces the last kept one until a new one is due, so the
  // curve ends at the latest evaluation.
  let evals = [];
  let evalSpacing = 1;
  let sinceKept = 0;

  function halve() {
    const merged = [];
    for (let i = 0; i < buckets.length; i += 2) {
      const pair = { ...buckets[i] };
      if (buckets[i + 1]) mergeInto(pair, buckets[i + 1]);
      merged.push(pair);
    }
    buckets = merged;
    width *= 2;
  }

  /** One step's loss. A non-finite loss (a diverging run) is counted, not drawn. */
  function pushLoss(step, rawLoss) {
    const loss = toNumber(rawLoss);
    lastStep = step;
    if (!Number.isFinite(loss)) {
      nonFinite += 1;
      return;
    }
    count += 1;
    const tail = buckets[buckets.length - 1];
    if (tail && tail.count < width) {
      mergeInto(tail, bucketOf(step, loss));
      return;
    }
    if (buckets.length === maxBuckets) halve();
    const again = buckets[buckets.length - 1];
    if (again && again.count < width) mergeInto(again, bucketOf(step, loss));
    else buckets.push(bucketOf(step, loss));
  }

  /**
   * A `record` line: `losses` are every step's loss since the previous record, the last one
   * being step `record.step`; `eval` (when the run evaluates) is one point at `record.step`.
   */
  function pushRecord(record) {
    const losses = record.losses || [];
    const firstStep = record.step - losses.length + 1;
    losses.forEach((loss, i) => pushLoss(firstStep + i, loss));
    if (losses.length === 0) lastStep = record.step;
    if (record.eval) {
      pushEval({
        step: record.step,
        loss: record.eval.loss === undefined || record.eval.loss === null ? null : toNumber(record.eval.loss),
        accuracy: record.eval.accuracy === undefined || record.eval.accuracy === null ? null : toNumber(record.eval.accuracy),
      });
    }
  }

  function pushEval(point) {
    if (evals.length && sinceKept < evalSpacing) {
      evals[evals.length - 1] = point;
      sinceKept += 1;
      return;
    }
    if (evals.length === maxBuckets) {
      evals = evals.filter((_, i) => i % 2 === 1);
      evalSpacing *= 2;
    }
    evals.push(point);
    sinceKept = 1;
  }

  /** What the chart draws: one point per bucket (its mean at its middle step) and its min–max band. */
  function points() {
    return buckets.map((bucket) => ({
      step: (bucket.first + bucket.last) / 2,
      mean: bucket.sum / bucket.count,
      min: bucket.min,
      max: bucket.max,
    }));
  }

  /** Smallest and largest loss seen (for the y scale), or null before the first finite loss. */
  function extent() {
    if (!buckets.length) return null;
    let low = Infinity;
    let high = -Infinity;
    for (const bucket of buckets) {
      low = Math.min(low, bucket.min);
      high = Math.max(high, bucket.max);
    }
    return [low, high];
  }

  return {
    pushLoss,
    pushRecord,
    points,
    extent,
    get evals() { return evals; },
    get count() { return count; },
    get nonFinite() { return nonFinite; },
    get lastStep() { return lastStep; },
    get bucketWidth() { return width; },
  };
}

/** The latest finite loss and accuracy for the status line, from the records so far. */
export function latestFigures(record) {
  if (!record) return null;
  const losses = (record.losses || []).map(toNumber).filter(Number.isFinite);
  return {
    step: record.step,
    loss: losses.length ? losses[losses.length - 1] : null,
    accuracy: record.eval && record.eval.accuracy !== undefined && record.eval.accuracy !== null ? toNumber(record.eval.accuracy) : null,
  };
}

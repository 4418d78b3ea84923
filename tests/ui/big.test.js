// Issue 14 (big graphs): the pure parts that keep a step's cost independent of the graph's size:
// the view cursor, the grid index behind culling and edge labels, the level of detail, the
// contribution ledgers and the break-it panel's row window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTimeline, createViewCursor, viewAt } from '../../static/src/stepper.js';
import { createCuller, createGridIndex, intersects, levelOfDetail, SHAPES_ONLY_BELOW, visibleRect } from '../../static/src/culling.js';
import { contributionLedger } from '../../static/src/explain.js';
import { shownRows } from '../../static/src/check/panel.js';
import { fixture } from './load.js';

/** A view as plain data: what the page reads from it. */
function plain(view) {
  return {
    position: view.position,
    phase: view.phase,
    currentEdge: view.currentEdge,
    currentNode: view.currentNode,
    inBackward: view.inBackward,
    computed: Array.from(view.computed),
    grads: view.grads.map((grad) => (grad === undefined ? 'none' : grad)),
    received: Array.from(view.received),
    edgesDone: [...view.edgesDone].sort(),
    contributions: [...view.contributions.entries()].sort(([a], [b]) => a - b)
      .map(([node, list]) => [node, list.map(({ index }) => index)]),
  };
}

/** A deterministic walk: steps forward and back, jumps, the ends, and out-of-range positions. */
function walk(total) {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const positions = [0, 1, 2, 1, total, total - 1, -5, total + 9, Math.floor(total / 2)];
  let position = positions.at(-1);
  for (let i = 0; i < 200; i += 1) {
    const r = random();
    if (r < 0.4) position += 1;
    else if (r < 0.7) position -= 1;
    else position = Math.floor(random() * (total + 1));
    positions.push(position);
  }
  return positions;
}

test('the view cursor shows at every position what a replay from the start shows', () => {
  // The naive-recursion replay sends gradient along the same edge twice: undoing one of them
  // must leave the edge done.
  for (const name of ['recurrence', 'shared-intermediate-naive-recursion', 'regression-mlp.expanded', 'shared-parameter', 'chain-rule']) {
    const timeline = buildTimeline(fixture(name));
    const at = createViewCursor(timeline);
    for (const position of walk(timeline.total)) {
      assert.deepEqual(plain(at(position)), plain(viewAt(timeline, position)), `${name} at ${position}`);
    }
  }
});

test('the view cursor undoes a repeated edge without losing it', () => {
  const timeline = buildTimeline(fixture('shared-intermediate-naive-recursion'));
  const twice = timeline.steps.findIndex((step, index) => step.phase === 'backward'
    && timeline.steps.slice(0, index).some((earlier) => earlier.phase === 'backward' && earlier.input === step.input && earlier.node === step.node && earlier.slot === step.slot));
  assert.ok(twice > 0, 'the fixture repeats an edge');
  const step = timeline.steps[twice];
  const key = `${step.input}-${step.node}-${step.slot}`;
  const at = createViewCursor(timeline);
  assert.equal(at(twice + 1).edgesDone.has(key), true);
  assert.equal(at(twice).edgesDone.has(key), true, 'carried once before: still done');
  assert.equal(at(twice).received[step.input], viewAt(timeline, twice).received[step.input]);
});

test('the grid index finds exactly the boxes that meet a rectangle, long edges included', () => {
  let seed = 3;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const boxes = Array.from({ length: 3000 }, (_, i) => (i % 97 === 0
    ? { x: random() * 1000, y: random() * 1000, width: 40000 * random(), height: 60 } // an edge across the graph
    : { x: random() * 60000, y: random() * 4000, width: 124, height: 74 }));
  boxes[5] = null; // a missing box (no route) is never found
  const index = createGridIndex(boxes);
  const rects = [
    { x: 0, y: 0, width: 1366, height: 768 },
    { x: 20000, y: 1000, width: 900, height: 500 },
    { x: -5000, y: -5000, width: 100000, height: 20000 }, // zoomed far out: every box
    { x: 70000, y: 0, width: 100, height: 100 }, // past the graph: none
  ];
  for (const rect of rects) {
    const expected = boxes.flatMap((box, i) => (box && intersects(box, rect) ? [i] : []));
    assert.deepEqual(index.query(rect), expected);
  }
  assert.equal(index.query(rects[2]).length, 2999);
});

test('culling at 5,000 boxes shows the boxes in view and says which changed', () => {
  const boxes = Array.from({ length: 5000 }, (_, i) => ({ x: (i % 1000) * 200, y: Math.floor(i / 1000) * 150, width: 124, height: 74 }));
  const culler = createCuller(boxes);
  const view = { width: 1000, height: 600 };
  const first = culler.update(visibleRect({ k: 1, x: 0, y: 0 }, view, 0));
  assert.deepEqual(first.show, [0, 1, 2, 3, 4, 1000, 1001, 1002, 1003, 1004, 2000, 2001, 2002, 2003, 2004, 3000, 3001, 3002, 3003, 3004]);
  assert.deepEqual(first.hide, []);
  // One card's width to the right: the first column leaves, the sixth comes.
  const panned = culler.update(visibleRect({ k: 1, x: -200, y: 0 }, view, 0));
  assert.deepEqual(panned.show, [5, 1005, 2005, 3005]);
  assert.deepEqual(panned.hide, [0, 1000, 2000, 3000]);
  assert.equal(culler.count, 20);
  assert.equal(culler.isShown(5), true);
  assert.equal(culler.isShown(0), false);
  // The same rectangle again changes nothing.
  assert.deepEqual(culler.update(visibleRect({ k: 1, x: -200, y: 0 }, view, 0)), { show: [], hide: [] });
});

test('level of detail: plain shapes below the zoom where card text is unreadable', () => {
  assert.equal(SHAPES_ONLY_BELOW, 0.45);
  assert.equal(levelOfDetail(4), 'full');
  assert.equal(levelOfDetail(SHAPES_ONLY_BELOW), 'full');
  assert.equal(levelOfDetail(SHAPES_ONLY_BELOW - 0.001), 'shapes');
  assert.equal(levelOfDetail(0.1), 'shapes');
  assert.equal(levelOfDetail(0), 'shapes');
});

test('a node\'s contribution ledger lists its backward steps in order, each once', () => {
  const response = fixture('recurrence');
  for (const node of response.nodes) {
    const expected = response.steps.flatMap((step, index) => (step.phase === 'backward' && step.input === node.id ? [index] : []));
    const ledger = contributionLedger(response, node.id);
    assert.deepEqual(ledger.map((row) => row.index), expected, node.label);
    assert.equal(contributionLedger(response, node.id), ledger, 'read once per response');
  }
  const shared = response.nodes.find((node) => contributionLedger(response, node.id).length > 2);
  assert.ok(shared, 'the recurrence has a weight used at every step');
});

test('the break-it timelines list every row of a short pass and a window around the marks of a long one', () => {
  const short = Array.from({ length: 20 }, (_, i) => ({ current: i === 4, parted: false }));
  assert.ok(short.every((_, i) => shownRows(short)(i)));
  const long = Array.from({ length: 1000 }, (_, i) => ({ current: i === 500, parted: i === 40 }));
  const keep = shownRows(long);
  const kept = long.map((_, i) => i).filter(keep);
  assert.deepEqual(kept.filter((i) => i < 100), Array.from({ length: 61 }, (_, i) => i + 10), 'around the departure');
  assert.ok(kept.includes(470) && kept.includes(530) && !kept.includes(469) && !kept.includes(531), 'around the current row');
  assert.ok(kept.includes(999), 'the last row, with the final total');
  assert.equal(kept.length, 61 + 61 + 1);
});

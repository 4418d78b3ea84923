// Pure logic behind issue 15: display names, camera framing, label placement, text fitting,
// PNG scaling, error titles, shortened sums, float noise, long-timeline navigation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { displayNames, subscript, withDisplayNames } from '../../static/src/names.js';
import { centreOn, frameBoxes, isInView, openingTransform, READABLE_SCALE, unionBox } from '../../static/src/camera.js';
import { fitText, labelSpot, pointAlong } from '../../static/src/layout.js';
import { errorBody, errorTitle, messageWithoutPlace } from '../../static/src/error-text.js';
import { shortSum, texLabel } from '../../static/src/explain.js';
import { formatNumber } from '../../static/src/tensor.js';
import { backwardStart, buildTimeline, nextTouching, stepsPerTick, tickInterval } from '../../static/src/stepper.js';

const fixture = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url)));

// The recurrence example's nodes, as the API sends them (ids are creation order).
const recurrence = [
  { id: 0, op: 'input', name: 'h0', label: 'h0', inputs: [] },
  { id: 1, op: 'input', name: 'w', label: 'w', inputs: [] },
  { id: 2, op: 'mul', name: null, label: 'h0 * w', inputs: [0, 1] },
  { id: 3, op: 'input', name: 'b', label: 'b', inputs: [] },
  { id: 4, op: 'add', name: null, label: 'h0 * w + b', inputs: [2, 3] },
  { id: 5, op: 'tanh', name: 'h', label: 'h', inputs: [4] },
  { id: 6, op: 'mul', name: null, label: 'h * w', inputs: [5, 1] },
  { id: 7, op: 'add', name: null, label: 'h * w + b', inputs: [6, 3] },
  { id: 8, op: 'tanh', name: 'h', label: 'h', inputs: [7] },
  { id: 9, op: 'mul', name: null, label: 'h * w', inputs: [8, 1] },
  { id: 10, op: 'add', name: null, label: 'h * w + b', inputs: [9, 3] },
  { id: 11, op: 'tanh', name: 'h', label: 'h', inputs: [10] },
];

test('reassigned names get one subscript per assignment, and the text that uses them follows', () => {
  const names = displayNames(recurrence).map((name) => name.short);
  assert.deepEqual(names, ['h0', 'w', 'h0 * w', 'b', 'h0 * w + b', 'h₁', 'h₁ * w', 'h₁ * w + b', 'h₂', 'h₂ * w', 'h₂ * w + b', 'h₃']);
  assert.equal(subscript(120), '₁₂₀');
});

test('an input reassigned later reads h₀; names used once stay as they are', () => {
  const nodes = [
    { id: 0, op: 'input', name: 'h', label: 'h', inputs: [] },
    { id: 1, op: 'tanh', name: 'h', label: 'h', inputs: [0] },
    { id: 2, op: 'input', name: 'z', label: 'z', inputs: [] },
    { id: 3, op: 'mul', name: 'f', label: 'f', inputs: [1, 2] },
  ];
  assert.deepEqual(displayNames(nodes).map((name) => name.short), ['h₀', 'h₁', 'z', 'f']);
});

test('a label the server shortened with … is never used as a name: op and counter instead', () => {
  const nodes = [
    { id: 0, op: 'input', name: 'p', label: 'p', inputs: [] },
    { id: 1, op: 'log', name: null, label: 'log(p)', inputs: [0] },
    { id: 2, op: 'sum', name: null, label: 'sum(onehot * log(p), ax…', inputs: [1] },
    { id: 3, op: 'mean', name: 'loss', label: 'loss', inputs: [2] },
  ];
  const names = displayNames(nodes);
  assert.deepEqual(names.map((name) => name.short), ['p', 'log(p)', 'sum₁', 'loss']);
  assert.equal(names[2].full, 'sum(onehot * log(p), ax…');
  const display = withDisplayNames({ nodes, output: 3, steps: [] });
  assert.equal(display.nodes[2].label, 'sum₁');
  assert.equal(display.nodes[2].sourceLabel, 'sum(onehot * log(p), ax…');
  assert.equal(nodes[2].label, 'sum(onehot * log(p), ax…', 'the response itself is not changed');
});

test('display names become TeX subscripts in equations', () => {
  assert.equal(texLabel('h₂'), 'h_{2}');
  assert.equal(texLabel('h₁ * w'), 'h_{1} \\cdot w');
  assert.equal(texLabel('sum₁'), '\\operatorname{sum}_{1}');
});

test('the camera keeps a view that already shows both ends, else centres them readably', () => {
  const view = { width: 800, height: 500 };
  const a = { x: 0, y: 0, width: 124, height: 74 };
  const b = { x: 300, y: 100, width: 124, height: 74 };
  const current = { k: 1, x: 50, y: 50 };
  assert.deepEqual(frameBoxes([a, b], view, current), current);
  const far = { x: 3000, y: 100, width: 124, height: 74 };
  const moved = frameBoxes([a, far], view, current);
  assert.ok(isInView(a, view, moved) && isInView(far, view, moved), 'both ends in view');
  assert.ok(moved.k < 1 && moved.k > 0.2, `zoomed out only as needed: ${moved.k}`);
  const near = frameBoxes([b], view, { k: 1, x: -2000, y: 0 });
  assert.equal(near.k, 1);
  assert.ok(isInView(b, view, near));
  assert.deepEqual(centreOn({ x: 0, y: 0, width: 100, height: 100 }, view, 1), { k: 1, x: 350, y: 200 });
  assert.deepEqual(unionBox([a, b]), { x: 0, y: 0, width: 424, height: 174 });
});

test('a graph that fits readably opens whole; one that does not opens at a readable zoom on its first step', () => {
  const view = { width: 800, height: 500 };
  const small = openingTransform({ x: 0, y: 0, width: 500, height: 300 }, [], view);
  assert.ok(small.k >= READABLE_SCALE);
  const first = [{ x: 20, y: 20, width: 124, height: 74 }, { x: 244, y: 20, width: 124, height: 74 }];
  const big = openingTransform({ x: 0, y: 0, width: 40000, height: 3000 }, first, view);
  assert.equal(big.k, READABLE_SCALE);
  for (const box of first) assert.ok(isInView(box, view, big));
});

test('edge labels move along the edge off the cards', () => {
  const points = [[0, 0], [400, 0]];
  assert.deepEqual(pointAlong(points, 0.25), [100, 0]);
  const card = { x: 170, y: -30, width: 60, height: 60 };
  const [x] = labelSpot(points, { width: 40, height: 20 }, [card]);
  assert.ok(x + 20 <= 170 || x - 20 >= 230, `label at ${x} clear of the card`);
});

test('text is cut to its card with …', () => {
  assert.equal(fitText('[-0.2552, 0.1234, 0.5, 1]', 100, 7.3), '[-0.2552, 0.…');
  assert.equal(fitText('0.5', 100, 7.3), '0.5');
});

test('error titles in plain words, the place said once', () => {
  assert.equal(errorTitle({ kind: 'invalid_json', message: 'The inputs are not valid JSON: x' }), 'The inputs are not valid JSON');
  assert.equal(errorTitle({ kind: 'invalid_json', message: 'The upstream gradient is not valid JSON' }), 'The upstream gradient is not valid JSON');
  assert.equal(errorTitle({ kind: 'unknown_name' }), 'Unknown name');
  assert.equal(errorTitle({ kind: 'some_new_kind' }), 'Some new kind');
  assert.equal(messageWithoutPlace('Unexpected token (line 2, column 5)'), 'Unexpected token');
  assert.equal(messageWithoutPlace('unknown name zz at line 1, column 3'), 'unknown name zz');
  const json = { kind: 'invalid_json', message: "The inputs are not valid JSON: Unexpected token '}' (line 1, column 24)" };
  assert.equal(errorBody(json, errorTitle(json), true), "Unexpected token '}'");
});

test('long running sums are shortened, short ones written out', () => {
  const terms = Array.from({ length: 40 }, (_, i) => String(i));
  assert.equal(shortSum(terms, (n) => `… ${n} more terms …`), '0 + 1 + 2 + … 35 more terms … + 38 + 39');
  assert.equal(shortSum(['1', '2', '3'], () => 'x'), '1 + 2 + 3');
});

test('float noise reads ≈0, not -2.776e-17', () => {
  assert.equal(formatNumber(-2.7755575615628914e-17), '≈0');
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(3e-9), '3e-9');
});

test('long timelines: backward start, next step touching a node, fast playback', () => {
  const timeline = buildTimeline(fixture('shared-parameter'));
  assert.equal(backwardStart(timeline), timeline.forwardCount);
  const nodeId = 1; // `a`, used twice
  const first = nextTouching(timeline, 0, nodeId);
  assert.ok(first !== null);
  const step = timeline.steps[first - 1];
  assert.ok(step.node === nodeId || step.input === nodeId);
  const second = nextTouching(timeline, first, nodeId);
  assert.ok(second > first);
  assert.equal(nextTouching(timeline, second, nodeId, -1), first);
  // 1000× crosses 40,000 steps in under a minute.
  const seconds = (40000 / stepsPerTick(1000)) * tickInterval(1000) / 1000;
  assert.ok(seconds < 60, `${seconds} s`);
  assert.equal(stepsPerTick(1), 1);
});

test('culling shows only the boxes near the view, and says what changed', async () => {
  const { createCuller, visibleRect, levelOfDetail, boxOfPoints } = await import('../../static/src/culling.js');
  const boxes = Array.from({ length: 5000 }, (_, i) => ({ x: i * 200, y: 0, width: 124, height: 74 }));
  const culler = createCuller(boxes);
  const view = { width: 800, height: 500 };
  const rect = visibleRect({ k: 1, x: 0, y: 0 }, view, 0);
  const first = culler.update(rect);
  assert.deepEqual(first.show, [0, 1, 2, 3]);
  assert.deepEqual(first.hide, []);
  const panned = culler.update(visibleRect({ k: 1, x: -400, y: 0 }, view, 0));
  assert.deepEqual(panned, { show: [4, 5], hide: [0, 1] });
  assert.equal(culler.count, 4);
  assert.equal(levelOfDetail(1), 'full');
  assert.equal(levelOfDetail(0.1), 'shapes');
  assert.deepEqual(boxOfPoints([[3, 4], [-1, 10], [7, 2]]), { x: -1, y: 2, width: 8, height: 8 });
});

test('shared inputs far from a use are drawn as a copy there, not as an edge across the graph', async () => {
  const { aliasPlan, quickLayout } = await import('../../static/src/layout.js');
  const nodes = [...recurrence.map((node) => ({ ...node, shape: [], value: 0.5, grad: 0.1 }))];
  const response = { nodes, output: 11, steps: [] };
  const aliased = aliasPlan(response);
  // w and b: the first step's uses stay edges, the later steps' uses start at copies.
  assert.deepEqual([...aliased].sort(), ['1-6-1', '1-9-1', '3-10-1', '3-7-1']);
  const layout = quickLayout(response, aliased);
  assert.equal(layout.aliases.length, 4);
  for (const alias of layout.aliases) {
    const target = layout.nodes[Number(alias.key.split('-')[1])];
    assert.ok(target.x - (alias.x + alias.width) <= 100, `copy of ${alias.source} sits beside its use`);
  }
});

test('the minimap maps its points back to the graph', async () => {
  const { mapScale, toGraph } = await import('../../static/src/minimap.js');
  const fit = mapScale({ width: 24000, height: 440 }, 240, 44);
  assert.equal(fit.scale, 0.01);
  const [x, y] = toGraph(fit, 120, 22);
  assert.ok(Math.abs(x - 12000) < 1e-9 && Math.abs(y - 220) < 1e-9, `${x}, ${y}`);
});

test('the inspector lists at most 40 contributions, around the current step', async () => {
  // inspector.js imports heatmap.js (d3 in Node is fine; no DOM is touched at import).
  const { ledgerWindow, LEDGER_ROWS } = await import('../../static/src/inspector.js');
  const ledger = Array.from({ length: 1000 }, (_, i) => ({ index: 100 + i * 3 }));
  assert.deepEqual(ledgerWindow(ledger.slice(0, 10), 0), [0, 9]);
  const [first, last] = ledgerWindow(ledger, 100 + 500 * 3 + 1);
  assert.equal(last - first + 1, LEDGER_ROWS);
  assert.ok(first <= 500 && 500 <= last);
  assert.deepEqual(ledgerWindow(ledger, 0), [0, LEDGER_ROWS - 1]);
  assert.deepEqual(ledgerWindow(ledger, 1e9), [1000 - LEDGER_ROWS, 999]);
});

test('a long sum of products is a band, not a staircase: each product sits just before its add', async () => {
  const { assignLayers } = await import('../../static/src/layout.js');
  // s = w0 * x0; s = s + w1 * x1; s = s + w2 * x2 (ids in creation order).
  const nodes = [
    { id: 0, op: 'input', inputs: [] }, { id: 1, op: 'input', inputs: [] }, { id: 2, op: 'mul', inputs: [0, 1] },
    { id: 3, op: 'input', inputs: [] }, { id: 4, op: 'input', inputs: [] }, { id: 5, op: 'mul', inputs: [3, 4] },
    { id: 6, op: 'add', inputs: [2, 5] },
    { id: 7, op: 'input', inputs: [] }, { id: 8, op: 'input', inputs: [] }, { id: 9, op: 'mul', inputs: [7, 8] },
    { id: 10, op: 'add', inputs: [6, 9] },
  ];
  const layer = assignLayers({ nodes });
  assert.equal(layer[9], layer[10] - 1, 'the last product moved next to its add');
  assert.equal(layer[7], layer[9] - 1, 'its inputs just before it');
  assert.equal(layer[6], 2);
});

test('a negated negative number reads -(-0.3185), never --0.3185', async () => {
  const { explainForward } = await import('../../static/src/explain.js');
  const response = {
    nodes: [
      { id: 0, op: 'input', name: 'a', label: 'a', shape: [], value: -0.3185, grad: -1, inputs: [] },
      { id: 1, op: 'neg', name: 'b', label: 'b', shape: [], value: 0.3185, grad: 1, inputs: [0] },
    ],
    output: 1,
  };
  const { lines } = explainForward(response, { phase: 'forward', node: 1 });
  assert.equal(lines[0].text, 'b = -a = -(-0.3185) = 0.3185');
});

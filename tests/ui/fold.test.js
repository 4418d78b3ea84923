// Folding repeated structure (fold.js): which runs of statements fold, what each fold holds, the
// drawn graph with boxes (edges rerouted, shared parameters once), its layout, and stepper views
// read in the drawing's ids, on real API responses (fixtures/regenerate.py) and, for sizes no
// fixture should carry, on recurrences built here the way the engine numbers them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ELK from 'elkjs/lib/elk.bundled.js';
import {
  columnFrames, drawnLayout, drawnView, findFolds, FOLD_BY_DEFAULT, foldedByDefault, foldedGraph, statements, stepInsideBox,
} from '../../static/src/fold.js';
import { quickLayout } from '../../static/src/layout.js';
import { withDisplayNames } from '../../static/src/names.js';
import { buildTimeline, edgeKey, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

const sharedRnn = fixture('fold-shared-rnn'); // h = tanh(h0 * w + b), then 11 × h = tanh(h * w + b); loss = h * h
const perStepRnn = fixture('fold-per-step-rnn'); // h = tanh(h * w_i + 1), i = 1..6
const mlp = fixture('fold-mlp'); // three relu(linear) layers, a last linear, mse
const mlpOpen = fixture('fold-mlp.expanded');
const none = fixture('fold-none');

const byName = (response, name) => response.nodes.filter((node) => node.name === name).map((node) => node.id);
const allClosed = (folds) => new Set(folds.map((fold) => fold.id));

/** A recurrence of `steps` statements numbered as the engine numbers them (inputs at first use). */
function recurrence(steps) {
  const nodes = [];
  const add = (node) => { nodes.push({ id: nodes.length, name: null, shape: [], params: undefined, ...node }); return nodes.length - 1; };
  let h = add({ op: 'input', name: 'h0', label: 'h0', inputs: [] });
  const w = add({ op: 'input', name: 'w', label: 'w', inputs: [] });
  let b = null;
  for (let step = 1; step <= steps; step += 1) {
    const span = { line: step, column: 5, end_line: step, end_column: step === 1 ? 21 : 20 };
    const mul = add({ op: 'mul', label: 'h * w', inputs: [h, w], span });
    if (b === null) b = add({ op: 'input', name: 'b', label: 'b', inputs: [] });
    const sum = add({ op: 'add', label: 'h * w + b', inputs: [mul, b], span });
    h = add({ op: 'tanh', name: 'h', label: 'h', inputs: [sum], span });
  }
  return { nodes, output: h, steps: [] };
}

test('statements end at each assigned op; the unassigned final expression is one more', () => {
  assert.equal(statements(sharedRnn).length, 13);
  assert.deepEqual(statements(none).map(([, last]) => sharedOrName(none, last)), ['a', 'b', 'c', 'd']);
  assert.deepEqual(statements({ nodes: [{ id: 0, op: 'input', name: 'x', inputs: [] }, { id: 1, op: 'exp', name: null, inputs: [0] }] }), [[0, 1]]);
});

function sharedOrName(response, id) {
  return response.nodes[id].name;
}

test('a recurrence with shared parameters folds into one box per step; w and b stay outside, drawn once', () => {
  const folds = findFolds(sharedRnn);
  assert.equal(folds.length, 12);
  const [w] = byName(sharedRnn, 'w');
  const [b] = byName(sharedRnn, 'b');
  const [h0] = byName(sharedRnn, 'h0');
  const hs = byName(sharedRnn, 'h');
  folds.forEach((fold, index) => {
    assert.equal(fold.kind, 'step');
    assert.equal(fold.index, index + 1);
    assert.equal(fold.count, 12);
    assert.equal(fold.run, 0);
    assert.equal(fold.output, hs[index]);
    assert.deepEqual(fold.nodes.map((id) => sharedRnn.nodes[id].op), ['mul', 'add', 'tanh']);
    // What a step reads: the step before (h0 for the first), then the shared w and b.
    assert.deepEqual(fold.inputs, [index === 0 ? h0 : hs[index - 1], w, b]);
    assert.deepEqual(fold.outputs, [hs[index]]);
    for (const shared of [w, b, h0]) assert.ok(!fold.nodes.includes(shared));
  });
  assert.equal(folds[0].label, 'step 1 of 12: h = tanh(h0 * w + b)');
  assert.equal(folds[2].label, 'step 3 of 12: h = tanh(h * w + b)');
  // The final `loss = h * h` is not part of the run.
  const loss = byName(sharedRnn, 'loss')[0];
  assert.ok(folds.every((fold) => !fold.nodes.includes(loss)));
});

test('labels quote the program text when it is given, and the written name under display names', () => {
  // The program as typed, with TANH so the text read from the spans shows where it came from.
  const source = 'h = TANH(h0 * w + b)\n' + 'h = TANH(h * w + b)\n'.repeat(11) + 'loss = h * h';
  const folds = findFolds(withDisplayNames(sharedRnn), { source });
  assert.equal(folds[0].source, 'h = TANH(h0 * w + b)');
  assert.equal(folds[1].label, 'step 2 of 12: h = TANH(h * w + b)');
  // Without the text: rebuilt from the op and its operands' labels.
  assert.equal(findFolds(withDisplayNames(sharedRnn))[1].source, 'h = tanh(h * w + b)');
});

test('a recurrence with a weight per step folds each weight and literal into its step', () => {
  const folds = findFolds(perStepRnn);
  assert.equal(folds.length, 6);
  const hs = byName(perStepRnn, 'h').filter((id) => perStepRnn.nodes[id].op !== 'input');
  folds.forEach((fold, index) => {
    const members = fold.nodes.map((id) => perStepRnn.nodes[id]);
    assert.deepEqual(members.filter((node) => node.op === 'input').map((node) => node.name), [`w${index + 1}`]);
    assert.equal(members.filter((node) => node.op === 'constant').length, 1);
    assert.equal(fold.kind, 'step', 'h is reassigned');
    assert.deepEqual(fold.inputs, [index === 0 ? byName(perStepRnn, 'h')[0] : hs[index - 1]]);
  });
  // The first step's start (the input h) stays outside: later steps read the step before there.
  assert.ok(!folds[0].nodes.includes(byName(perStepRnn, 'h')[0]));
});

test('the layers of an MLP fold, plain and opened into primitives; the last linear and the loss do not', () => {
  for (const response of [mlp, mlpOpen]) {
    const folds = findFolds(response);
    assert.equal(folds.length, 3);
    folds.forEach((fold, index) => {
      assert.equal(fold.kind, 'layer');
      assert.equal(fold.title, `layer ${index + 1} of 3`);
      const names = fold.nodes.map((id) => response.nodes[id]).filter((node) => node.op === 'input').map((node) => node.name);
      assert.deepEqual(names, [`W${index + 1}`, `b${index + 1}`]);
      assert.equal(response.nodes[fold.output].name, `h${index + 1}`);
    });
    assert.equal(folds[1].source, 'h2 = relu(linear(h1, W2, b2))');
    const y = byName(response, 'y')[0];
    assert.ok(folds.every((fold) => fold.nodes.every((id) => id < y)));
  }
  // Opened: each layer holds its linear's primitives (its whole composite group).
  const folds = findFolds(mlpOpen);
  for (const group of mlpOpen.groups.filter((item) => item.nodes.every((id) => id < folds[2].output))) {
    assert.ok(folds.some((fold) => group.nodes.every((id) => fold.nodes.includes(id))), group.label);
  }
});

test('graphs without repetition have no folds', () => {
  for (const name of ['fold-none', 'chain-rule', 'regression-mlp', 'regression-mlp.expanded', 'softmax-classifier.expanded', 'op-kinds', 'shared-intermediate']) {
    assert.deepEqual(findFolds(fixture(name)), [], name);
  }
  // Two single-op statements in a row (the tutorial's `q = x * a; y = q * q`) are not folded;
  // look-alike statements that do not feed each other are not a repetition.
  const apart = {
    nodes: [
      { id: 0, op: 'input', name: 'x', shape: [], inputs: [] },
      { id: 1, op: 'exp', name: 'a', shape: [], inputs: [0] },
      { id: 2, op: 'exp', name: 'b', shape: [], inputs: [0] },
      { id: 3, op: 'add', name: 'c', shape: [], inputs: [1, 2] },
    ],
    output: 3,
  };
  assert.deepEqual(findFolds(apart), []);
  // A chain of one op per statement hides nothing in a box; with a term of its own per step it does.
  const chain = (withTerms) => {
    const nodes = [{ id: 0, op: 'input', name: 's', shape: [], inputs: [] }];
    let s = 0;
    for (let i = 1; i <= 4; i += 1) {
      const inputs = [s];
      if (withTerms) inputs.push(nodes.push({ id: nodes.length, op: 'input', name: `x${i}`, shape: [], inputs: [] }) - 1);
      s = nodes.push({ id: nodes.length, op: withTerms ? 'add' : 'exp', name: 's', label: 's', shape: [], inputs }) - 1;
    }
    return { nodes, output: s };
  };
  assert.deepEqual(findFolds(chain(false)), []);
  const terms = findFolds(chain(true));
  assert.deepEqual(terms.map((fold) => fold.nodes.length), [2, 2, 2, 2]);
  assert.equal(terms[3].label, 'step 4 of 4: s = s + x4');
});

test('detection is deterministic: the same folds on every call and on a copy', () => {
  const first = findFolds(mlpOpen);
  assert.deepEqual(findFolds(mlpOpen), first);
  assert.deepEqual(findFolds(JSON.parse(JSON.stringify(mlpOpen))), first);
  assert.deepEqual(findFolds(recurrence(300)), findFolds(recurrence(300)));
});

test('big graphs and long runs open folded; small ones open unfolded', () => {
  assert.equal(foldedByDefault(sharedRnn, findFolds(sharedRnn)), false);
  assert.equal(foldedByDefault(none, []), false);
  const long = recurrence(FOLD_BY_DEFAULT.repetitions);
  assert.ok(long.nodes.length <= FOLD_BY_DEFAULT.nodes);
  assert.equal(foldedByDefault(long, findFolds(long)), true);
  const big = recurrence(200);
  const folds = findFolds(big);
  assert.equal(folds.length, 200);
  assert.equal(foldedByDefault(big, folds), true);
  assert.equal(findFolds(recurrence(5000)).length, 5000);
});

test('the folded graph: a box per closed step, edges rerouted to it, shared parameters once', () => {
  const folds = findFolds(sharedRnn);
  const folded = foldedGraph(sharedRnn, folds, allClosed(folds));
  const { compact } = folded;
  // h0, w, b, 12 boxes and the loss.
  assert.equal(compact.nodes.length, 16);
  assert.deepEqual(compact.nodes.map((node) => node.op), ['input', 'input', 'input', ...Array(12).fill('fold'), 'mul']);
  compact.nodes.forEach((node) => assert.ok(node.inputs.every((source) => source < node.id), 'ids stay a topological order'));
  // Every box reads the box before (h0 for the first), w and b: one edge each from w and b.
  const [w, b] = [1, 2];
  compact.nodes.filter((node) => node.op === 'fold').forEach((box, index) => {
    assert.deepEqual(box.inputs, [index === 0 ? 0 : box.id - 1, w, b]);
  });
  assert.equal(compact.nodes[compact.output].op, 'mul');
  // Drawn ids: a box keeps its output's id, so values, gradients and hooks by id stay right.
  const hs = byName(sharedRnn, 'h');
  assert.deepEqual(folded.drawnIds.slice(3, 15), hs);
  const box3 = folded.nodes[hs[2]];
  assert.equal(box3.op, 'fold');
  assert.equal(box3.value, sharedRnn.nodes[hs[2]].value);
  assert.equal(box3.card.shape, 'h = tanh(h * w + b)');
  // Edges: the one from step 2 into step 3's mul is drawn from box 2 to box 3; inside edges vanish.
  const mul3 = folds[2].nodes[0];
  const into = edgeKey(hs[1], hs[2], 0);
  assert.equal(folded.keyOf(edgeKey(hs[1], mul3, 0)), into);
  assert.deepEqual(folded.originalKeys(into), [edgeKey(hs[1], mul3, 0)]);
  assert.equal(folded.keyOf(edgeKey(mul3, folds[2].nodes[1], 0)), null);
  // w feeds the box at its second input, b at its third (b enters the add, not the mul).
  assert.equal(folded.keyOf(edgeKey(1, mul3, 1)), edgeKey(1, hs[2], 1));
  assert.deepEqual(folded.originalKeys(edgeKey(3, hs[2], 2)), [edgeKey(3, folds[2].nodes[1], 1)]);
  // The loss reads the last box twice (x * x draws two edges), under its own keys.
  const loss = byName(sharedRnn, 'loss')[0];
  for (const slot of [0, 1]) {
    assert.equal(folded.keyOf(edgeKey(hs[11], loss, slot)), edgeKey(hs[11], loss, slot));
    assert.deepEqual(folded.originalKeys(edgeKey(hs[11], loss, slot)), [edgeKey(hs[11], loss, slot)]);
  }
});

test('nothing closed: the graph is drawn as it is', () => {
  const folds = findFolds(sharedRnn);
  const folded = foldedGraph(sharedRnn, folds, new Set());
  assert.equal(folded.compact.nodes.length, sharedRnn.nodes.length);
  assert.equal(folded.keyOf(edgeKey(0, 2, 0)), edgeKey(0, 2, 0));
  const view = viewAt(buildTimeline(sharedRnn), 5);
  assert.equal(drawnView(view, folded), view);
});

test('the layout of the folded graph is in the drawing ids: every edge between drawn boxes', () => {
  const folds = findFolds(sharedRnn);
  const folded = foldedGraph(sharedRnn, folds, allClosed(folds));
  const layout = drawnLayout(quickLayout(folded.compact), folded);
  const drawn = new Set(layout.nodes.map((box) => box.id));
  assert.equal(drawn.size, 16);
  for (const edge of layout.edges) {
    assert.ok(drawn.has(edge.source) && drawn.has(edge.target), edge.key);
    assert.equal(edge.key, edgeKey(edge.source, edge.target, edge.slot));
  }
  // w and b: drawn once, with a small copy beside each far box instead of an edge across the page.
  for (const alias of layout.aliases) assert.ok([1, 3].includes(alias.source));
  assert.ok(layout.aliases.length >= 2 * 10);
});

test('an opened step among closed ones gets a frame around its cards (ELK compound node)', async () => {
  const folds = findFolds(sharedRnn);
  const closed = allClosed(folds);
  closed.delete(4);
  const folded = foldedGraph(sharedRnn, folds, closed);
  assert.deepEqual([...folded.frames.values()], [4]);
  const { layoutWithGroups } = await import('../../static/src/groups.js');
  const layout = drawnLayout(await layoutWithGroups(new ELK(), folded.compact), folded);
  assert.equal(layout.frames.length, 1);
  const [frame] = layout.frames;
  assert.equal(frame.fold, 4);
  const boxes = new Map(layout.nodes.map((box) => [box.id, box]));
  for (const id of folds[4].nodes) {
    const box = boxes.get(id);
    assert.ok(box, `member ${id} drawn`);
    assert.ok(box.x >= frame.x && box.y >= frame.y && box.x + box.width <= frame.x + frame.width && box.y + box.height <= frame.y + frame.height, `member ${id} inside the frame`);
  }
  // The quick layout (big graphs): the frame holds the step's ops.
  const quick = quickLayout(folded.compact);
  quick.groups = columnFrames(folded.compact, quick, folded.frames);
  const [quickFrame] = drawnLayout(quick, folded).frames;
  assert.equal(quickFrame.fold, 4);
  for (const c of folded.compact.groups[[...folded.frames.keys()][0]].nodes) assert.ok(inside(quick.nodes[c], quickFrame));
  // No composite group is mistaken for a frame.
  assert.deepEqual(layout.groups, []);
});

test('in columns a frame takes in a step\'s own weights only where it covers no other step\'s card', () => {
  // Per-step weights: in columns w_i sits beside the box of the step before.
  const response = { nodes: [], output: 0 };
  const add = (node) => response.nodes.push({ id: response.nodes.length, name: null, shape: [], ...node }) - 1;
  let h = add({ op: 'input', name: 'x', inputs: [] });
  for (let i = 0; i < 40; i += 1) {
    const w = add({ op: 'input', name: `w${i}`, inputs: [] });
    const mul = add({ op: 'mul', inputs: [h, w] });
    const b = add({ op: 'input', name: `b${i}`, inputs: [] });
    const sum = add({ op: 'add', inputs: [mul, b] });
    h = add({ op: 'tanh', name: 'h', inputs: [sum] });
  }
  response.output = h;
  const folds = findFolds(response);
  assert.equal(folds.length, 40);
  const closed = allClosed(folds);
  closed.delete(5);
  const folded = foldedGraph(response, folds, closed);
  const layout = quickLayout(folded.compact);
  const [frame] = columnFrames(folded.compact, layout, folded.frames);
  const members = new Set(folded.compact.groups[frame.id].nodes);
  for (const box of layout.nodes) {
    if (members.has(box.id)) continue;
    assert.ok(!overlaps(box, frame), `${folded.compact.nodes[box.id].op} ${box.id} is not inside step 6's frame`);
  }
  for (const c of members) if (folded.compact.nodes[c].op !== 'input') assert.ok(inside(layout.nodes[c], frame));
});

function inside(box, frame) {
  return box.x >= frame.x && box.y >= frame.y && box.x + box.width <= frame.x + frame.width && box.y + box.height <= frame.y + frame.height;
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

test('opened MLP layers keep their composites inside the frame; closed ones hide them', () => {
  const folds = findFolds(mlpOpen);
  const folded = foldedGraph(mlpOpen, folds, new Set([0, 2]));
  const frame = [...folded.frames.keys()][0];
  const kept = folded.compact.groups.filter((group) => group.op !== 'fold');
  // Layer 2's linear (inside the frame), the last linear, mse and its parts: all members drawn.
  assert.ok(kept.some((group) => group.parent === frame && group.op === 'linear'));
  assert.ok(kept.every((group) => group.nodes.every((c) => c < folded.compact.nodes.length)));
  assert.ok(!kept.some((group) => group.label.includes('W1') || group.label.includes('W3')));
});

test('a step inside a closed box: the box is current, and the marker names the node', () => {
  const response = withDisplayNames(sharedRnn);
  const folds = findFolds(response);
  const folded = foldedGraph(response, folds, allClosed(folds));
  const timeline = buildTimeline(response);
  const hs = byName(sharedRnn, 'h');
  // Forward step 4 computes step 2's mul (h₁ * w).
  const forward = viewAt(timeline, 4);
  assert.equal(forward.current.node, folds[1].nodes[0]);
  const mapped = drawnView(forward, folded);
  assert.equal(mapped.current.node, hs[1]);
  assert.equal(mapped.computed, forward.computed, 'nothing is copied per step');
  assert.equal(mapped.grads, forward.grads);
  assert.deepEqual(stepInsideBox(forward, folded, response), { box: hs[1], text: 'now: h₁ * w' });
  // The step computing h₂ (the box's own output): still inside its box.
  assert.deepEqual(stepInsideBox(viewAt(timeline, 6), folded, response), { box: hs[1], text: 'now: h₂' });
  // The loss is drawn as itself: no marker.
  assert.equal(stepInsideBox(viewAt(timeline, timeline.forwardCount), folded, response), null);
});

test('backward steps read through the key maps: edges done, the current edge, internal steps', () => {
  const folds = findFolds(sharedRnn);
  const folded = foldedGraph(sharedRnn, folds, allClosed(folds));
  const timeline = buildTimeline(sharedRnn);
  const hs = byName(sharedRnn, 'h');
  const [w] = byName(sharedRnn, 'w');
  const mul12 = folds[11].nodes[0];
  // The step that sends the gradient from step 12's mul into h₁₁ crosses from box 12 to box 11.
  const index = sharedRnn.steps.findIndex((step) => step.phase === 'backward' && step.node === mul12 && step.input === hs[10]);
  const view = drawnView(viewAt(timeline, index + 1), folded);
  const key = edgeKey(hs[10], hs[11], 0);
  assert.equal(view.currentEdge, key);
  assert.deepEqual({ node: view.current.node, input: view.current.input, slot: view.current.slot }, { node: hs[11], input: hs[10], slot: 0 });
  assert.equal(view.edgesDone.has(key), true);
  assert.ok([...view.edgesDone].includes(key));
  // The label's contribution is found under the drawn key.
  const contribution = view.contributions.get(hs[10]).find(({ step }) => edgeKey(step.input, step.node, step.slot) === key);
  assert.ok(contribution);
  // Before that step the edge is not done; the gradient into w from step 12 is drawn on w's edge into box 12.
  assert.equal(drawnView(viewAt(timeline, index), folded).edgesDone.has(key), false);
  const intoW = sharedRnn.steps.findIndex((step) => step.phase === 'backward' && step.node === mul12 && step.input === w);
  const wView = drawnView(viewAt(timeline, intoW + 1), folded);
  assert.equal(wView.currentEdge, edgeKey(w, hs[11], 1));
  assert.deepEqual(stepInsideBox(viewAt(timeline, intoW + 1), folded, withDisplayNames(sharedRnn)).box, hs[11]);
  // A step inside one box: both ends on the box, no edge.
  const withinBox = sharedRnn.steps.findIndex((step) => step.phase === 'backward' && step.node === hs[11]);
  const insideView = drawnView(viewAt(timeline, withinBox + 1), folded);
  assert.equal(insideView.currentEdge, null);
  assert.equal(insideView.current.node, insideView.current.input);
});

// The math of every kind of backward step (elementwise, broadcast, reduction, matmul, each
// composite, plain and opened into its primitives), the group layout and the controls' pure
// parts, on real API responses (fixtures/regenerate.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import ELK from 'elkjs/lib/elk.bundled.js';
import katex from 'katex';
import { countPlaceholders, graphFixtures } from '../../scripts/count_placeholders.mjs';
import { broadcastAxes, broadcastEdges, tupleShape } from '../../static/src/broadcast.js';
import { explainView } from '../../static/src/explain.js';
import {
  anchoredCamera, fromGroupedLayout, groupBoxes, matchPosition, toggledExpand, toGroupedElkGraph,
} from '../../static/src/groups.js';
import { layoutGraph } from '../../static/src/layout.js';
import { buildTimeline, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

const kinds = fixture('op-kinds');
const kindsOpen = fixture('op-kinds.expanded');
const mlp = fixture('regression-mlp');
const mlpOpen = fixture('regression-mlp.expanded');
const classifier = fixture('softmax-classifier');
const classifierOpen = fixture('softmax-classifier.expanded');
const neuronOpen = fixture('neuron.expanded');

/** The explanation of the first backward step matching `where(step, nodes)`. */
function backwardStep(response, where) {
  const index = response.steps.findIndex((step) => step.phase === 'backward' && where(step, response.nodes));
  assert.ok(index >= 0, 'no such step');
  return explainView(response, viewAt(buildTimeline(response), index + 1));
}

const into = (inputLabel, consumerOp) => (step, nodes) => nodes[step.input].label === inputLabel
  && (!consumerOp || nodes[step.node].op === consumerOp);
const texts = (explanation) => explanation.lines.map((line) => line.text);

test('no step of any example shows a placeholder, plain or opened', () => {
  const fixtures = graphFixtures();
  assert.ok(fixtures.length >= 12);
  for (const [name, response] of fixtures) {
    const { placeholders, backward } = countPlaceholders(response);
    assert.ok(backward > 0, name);
    assert.deepEqual(placeholders, [], `${name}: steps ${placeholders} show a placeholder`);
  }
});

test('every line of every step typesets with KaTeX', () => {
  for (const response of [kinds, kindsOpen, mlp, mlpOpen, classifier, classifierOpen, neuronOpen]) {
    const timeline = buildTimeline(response);
    for (let position = 0; position <= timeline.total; position += 1) {
      for (const line of explainView(response, viewAt(timeline, position)).lines) {
        assert.doesNotThrow(() => katex.renderToString(line.tex, { throwOnError: true }), line.tex);
      }
    }
  }
});

test('matmul: ∂L/∂W = xᵀ · ∂L/∂out with the actual matrices', () => {
  const explanation = backwardStep(kinds, into('W', 'matmul'));
  assert.deepEqual(texts(explanation), [
    '∂loss/∂W via (x @ W) = xᵀ · ∂loss/∂(x @ W)',
    '= [[1, 0.25], [-0.5, 2]] · [[0.9072, 0.7307, 2.361], [1.402, 1.214, 0.5768]]',
    '= [[1.258, 1.034, 2.506], [2.351, 2.063, -0.02709]]',
    '∂loss/∂W = [[0.04903, -0.02797, -0.02106], [0.004863, -0.02397, 0.01911]] + [[1.258, 1.034, 2.506], [2.351, 2.063, -0.02709]] = [[1.307, 1.006, 2.485], [2.356, 2.039, -0.007982]]',
  ]);
  assert.match(explanation.lines[1].tex, /\\begin\{bmatrix\}1 & 0\.25 \\\\ -0\.5 & 2\\end\{bmatrix\} \\cdot \\begin\{bmatrix\}/);
  const left = backwardStep(kinds, into('x', 'matmul'));
  assert.equal(texts(left)[0], '∂loss/∂x via (x @ W) = ∂loss/∂(x @ W) · Wᵀ');
  assert.equal(texts(left)[1], '= [[0.9072, 0.7307, 2.361], [1.402, 1.214, 0.5768]] · [[0.5, 1.5], [-1, 0.25], [0.75, -0.5]]');
});

test('elementwise on tensors: upstream ⊙ local = contribution', () => {
  const explanation = backwardStep(kinds, into('p', 'mul'));
  assert.deepEqual(texts(explanation), [
    '∂loss/∂p = ∂loss/∂(p * lp) ⊙ ∂(p * lp)/∂p',
    '= [[1, 1, 1], [1, 1, 1]] ⊙ [[-3.409, -1.6, -0.1512], [-0.03365, -0.2254, -1.964]]',
    '= [[-3.409, -1.6, -0.1512], [-0.03365, -0.2254, -1.964]]',
  ]);
});

test('broadcast: the sum over the broadcast axis with the numbers before and after', () => {
  const explanation = backwardStep(kinds, into('b', 'add'));
  assert.deepEqual(texts(explanation).slice(0, 3), [
    '∂loss/∂b via h = Σ over axis 0 of (∂loss/∂h ⊙ ∂h/∂b)',
    '= Σ over axis 0 of ([[0.9072, 0.7307, 2.361], [1.402, 1.214, 0.5768]] ⊙ 1)',
    '= [2.309, 1.945, 2.938]',
  ]);
  assert.ok(explanation.notes.includes('summed over axis 0 to undo the broadcast'));
  // Too large to write out (8×15 → (15,)): the before and after as heatmaps.
  const large = backwardStep(mlp, into('b1'));
  assert.ok(large.notes.includes('summed over axis 0 to undo the broadcast'));
  assert.deepEqual(large.heatmaps.map((map) => `${map.label} ${map.shape}`), [
    '∂loss/∂(linear(x, W1, b1)) 8,15', '∂loss/∂b1 15',
  ]);
  assert.equal(texts(large)[1], '8×15 → (15,)');
  assert.equal(texts(large)[2], 'min -30.79, max 5.79, norm 40.45');
  assert.equal(texts(large)[3], 'summed over axis 0: 8×15 → (15,)');
});

test('forward broadcasting: the edge and the step name both shapes', () => {
  assert.deepEqual(broadcastAxes([15], [8, 15]), [0]);
  assert.deepEqual(broadcastAxes([3, 1], [2, 3, 4]), [0, 2]);
  assert.equal(tupleShape([15]), '(15,)');
  const edges = broadcastEdges(mlp);
  assert.deepEqual(edges.map((edge) => edge.text), ['b1 (15,) → (8, 15)', 'b2 (1,) → (8, 1)']);
  const opened = broadcastEdges(mlpOpen).map((edge) => edge.text);
  assert.deepEqual(opened, ['b1 (15,) → (8, 15)', 'b2 (1,) → (8, 1)', 't (8, 1) → (8, 1)'].filter((text) => !text.startsWith('t')));
  const timeline = buildTimeline(mlp);
  const forward = explainView(mlp, viewAt(timeline, mlp.steps.findIndex((step) => step.phase === 'forward' && mlp.nodes[step.node].label === 'linear(x, W1, b1)') + 1));
  assert.ok(forward.notes.includes('b1 (15,) → (8, 15): broadcast over axis 0'), forward.notes.join('\n'));
});

test('reductions: sum copies, mean shares by 1/n, max routes to the maxima', () => {
  assert.deepEqual(texts(backwardStep(kinds, into('r', 'sum'))), [
    '∂loss/∂r = ∂loss/∂sum(r) copied to each summed element', '= [1, 1, 1, 1, 1, 1]', 'with ∂loss/∂sum(r) = 1',
  ]);
  assert.deepEqual(texts(backwardStep(kinds, into('m', 'mean'))).slice(0, 2), [
    '∂loss/∂m = (1/2) · ∂loss/∂mean(m) to each averaged element', '= [0.5, 0.5]',
  ]);
  const max = texts(backwardStep(kinds, into('h', 'max')));
  assert.equal(max[0], '∂loss/∂h via m = ∂loss/∂m at the maxima of h, 0 elsewhere');
  assert.equal(max[1], '= [[0, 0, 0.5], [0.5, 0, 0]]');
});

test('each composite, closed: its vjp with the numbers it reads', () => {
  // softmax and log_softmax
  assert.match(texts(backwardStep(kinds, into('h', 'softmax')))[0], /^∂loss\/∂h via p = p ⊙ \(∂loss\/∂p − Σ ∂loss\/∂p ⊙ p\)$/);
  assert.match(texts(backwardStep(kinds, into('h', 'log_softmax')))[2], /^with ∂loss\/∂lp = \[\[0\.1795, .*exp\(lp\) = \[\[0\.03309/);
  // sigmoid (elementwise, s·(1 − s) as its local derivative)
  assert.equal(texts(backwardStep(kinds, into('h', 'sigmoid')))[0], '∂loss/∂h via s = ∂loss/∂s ⊙ ∂s/∂h');
  // mse with reduction="sum": ∂L/∂s = g · 2 · (s − t)
  assert.deepEqual(texts(backwardStep(kinds, into('s', 'mse'))), [
    '∂loss/∂s = ∂loss/∂(mse(s, t, reduction="su…) · 2 · (s − t)',
    '= 1 · 2 · [[0.4626, -0.79, 0.7858], [-0.03824, 0.5125, -0.6254]]',
    '= [[0.9251, -1.58, 1.572], [-0.07647, 1.025, -1.251]]',
  ]);
  // softmax cross-entropy: g · (1/N)(softmax(z) − onehot(y))
  const ce = texts(backwardStep(classifier, into('logits', 'softmax_cross_entropy')));
  assert.equal(ce[0], '∂loss/∂logits = ∂loss/∂loss · (1/4) · (softmax(logits) − onehot(labels))');
  assert.match(ce[2], /^with softmax\(logits\) = \[\[0\.0177, 0\.6135, 0\.3688\], .*onehot\(labels\) = \[\[1, 0, 0\], \[0, 0, 1\], \[0, 1, 0\], \[0, 0, 1\]\]$/);
  // linear: W as xᵀ · ∂L/∂out (large here: a heatmap of each, and the sizes in one line)
  const linear = backwardStep(mlp, into('W1', 'linear'));
  assert.equal(texts(linear)[0], '∂loss/∂W1 = xᵀ · ∂loss/∂(linear(x, W1, b1))');
  assert.equal(texts(linear)[1], '3×8, 8×15 → 3×15');
  assert.equal(texts(linear)[2], 'min -440.4, max 117.1, norm 794.2');
  assert.deepEqual(linear.heatmaps.map((map) => map.shape.join('×')), ['3×8', '8×15', '3×15']);
  // ... and the same numbers once opened: the step into W1 comes from the matmul x @ W1.
  const opened = backwardStep(mlpOpen, into('W1', 'matmul'));
  assert.equal(texts(opened)[0], '∂loss/∂W1 = xᵀ · ∂loss/∂(x @ W1)');
  assert.deepEqual(texts(opened).slice(1, 3), texts(linear).slice(1, 3));
});

test('each composite, opened: its primitives explain themselves', () => {
  // cross-entropy's onehot: the local derivative of log_softmax(z) * onehot is the one-hot matrix.
  const product = texts(backwardStep(classifierOpen, into('log_softmax(logits)', 'mul')));
  assert.match(product[1], /⊙ \[\[1, 0, 0\], \[0, 0, 1\], \[0, 1, 0\], \[0, 0, 1\]\]$/);
  // sigmoid as 1 / (1 + exp(-z)): the chain through div, add, exp and neg, scalars throughout.
  assert.equal(texts(backwardStep(neuronOpen, into('z', 'neg')))[0], '∂s/∂z = ∂s/∂(-z) · ∂(-z)/∂z = -0.2179 · (-1) = 0.2179');
  // The max shift of log_softmax is detached: no step goes into the max node.
  const maxNode = classifierOpen.nodes.find((node) => node.op === 'max');
  assert.ok(!classifierOpen.steps.some((step) => step.phase === 'backward' && (step.input === maxNode.id || step.node === maxNode.id)));
  // The same gradients as the closed run, on every input.
  for (const [plain, open] of [[mlp, mlpOpen], [classifier, classifierOpen]]) {
    for (const node of plain.nodes.filter((n) => n.op === 'input')) {
      const twin = open.nodes.find((n) => n.op === 'input' && n.name === node.name);
      assert.deepEqual(flat(twin.grad).map((x) => x.toPrecision(10)), flat(node.grad).map((x) => x.toPrecision(10)), node.name);
    }
  }
});

function flat(value) {
  if (value === null) return [];
  return Array.isArray(value) ? value.flat(Infinity).map(Number) : [Number(value)];
}

test('groups: compound ELK nodes, boxes around their members, nested boxes inside', async () => {
  const graph = toGroupedElkGraph(classifierOpen);
  const ids = (node) => (node.children || []).map((child) => child.id);
  const [ce, logSoftmax] = ['softmax_cross_entropy', 'log_softmax'].map((op) => classifierOpen.groups.find((g) => g.op === op));
  assert.equal(logSoftmax.parent, ce.id);
  const outer = graph.children.find((child) => child.id === `g${ce.id}`);
  const inner = outer.children.find((child) => child.id === `g${logSoftmax.id}`);
  assert.ok(inner, 'log_softmax sits inside the cross-entropy box');
  assert.deepEqual(ids(inner).sort(), logSoftmax.nodes.map((id) => `n${id}`).sort());
  assert.equal(graph.layoutOptions['elk.hierarchyHandling'], 'INCLUDE_CHILDREN');
  const layout = fromGroupedLayout(classifierOpen, await new ELK().layout(graph));
  assert.equal(layout.nodes.length, classifierOpen.nodes.length);
  for (const box of layout.groups) {
    for (const id of classifierOpen.groups[box.id].nodes) {
      const card = layout.nodes[id];
      assert.ok(card.x >= box.x && card.y >= box.y && card.x + card.width <= box.x + box.width + 0.5
        && card.y + card.height <= box.y + box.height + 0.5, `node ${id} outside group ${box.id}`);
    }
  }
  assert.deepEqual(layout.groups.map((box) => [box.op, box.depth]), [['linear', 0], ['softmax_cross_entropy', 0], ['log_softmax', 1]]);
  // Every edge ends where its cards are (container offsets applied).
  for (const edge of layout.edges) {
    const [x, y] = edge.points.at(-1);
    const target = layout.nodes[edge.target];
    assert.ok(Math.abs(x - target.x) < 1 && y >= target.y && y <= target.y + target.height, edge.key);
  }
  // Without ELK's boxes (the quick layout), boxes are the members' bounding boxes.
  const fallback = groupBoxes(classifierOpen, layout);
  assert.equal(fallback.length, 3);
});

test('what to ask for: open one, open all, close one', () => {
  assert.deepEqual(toggledExpand(null, 'linear', true), ['linear']);
  assert.equal(toggledExpand(['linear'], null, true), 'all');
  assert.equal(toggledExpand('all', null, false), null);
  assert.deepEqual(toggledExpand('all', 'mse', false), ['linear', 'softmax_cross_entropy', 'softmax', 'log_softmax', 'sigmoid']);
  assert.equal(toggledExpand(['linear'], 'linear', false), null);
});

test('the stepper stays on the same step when a composite opens', () => {
  const intoW1 = mlp.steps.findIndex((step) => step.phase === 'backward' && mlp.nodes[step.input].label === 'W1') + 1;
  const matched = matchPosition(mlp, intoW1, mlpOpen);
  const step = mlpOpen.steps[matched - 1];
  assert.equal(step.phase, 'backward');
  assert.equal(mlpOpen.nodes[step.input].label, 'W1');
  const intoLoss = mlp.steps.findIndex((s) => s.phase === 'forward' && mlp.nodes[s.node].label === 'loss') + 1;
  assert.equal(mlpOpen.nodes[mlpOpen.steps[matchPosition(mlp, intoLoss, mlpOpen) - 1].node].label, 'loss');
  assert.equal(matchPosition(mlp, 0, mlpOpen), 0);
});

test('the camera keeps the first input where it was when a composite opens', async () => {
  const elk = new ELK();
  const before = await layoutGraph(elk, mlp);
  const after = fromGroupedLayout(mlpOpen, await elk.layout(toGroupedElkGraph(mlpOpen)));
  const camera = { k: 0.8, x: 30, y: -12 };
  const kept = anchoredCamera(mlp, before, camera, mlpOpen, after);
  const x = (response, layout) => layout.nodes[response.nodes.find((node) => node.name === 'x').id];
  const screen = (box, t) => [t.x + t.k * box.x, t.y + t.k * box.y];
  assert.equal(kept.k, 0.8);
  const [x0, y0] = screen(x(mlp, before), camera);
  const [x1, y1] = screen(x(mlpOpen, after), kept);
  assert.ok(Math.abs(x0 - x1) < 1e-9 && Math.abs(y0 - y1) < 1e-9);
  assert.equal(anchoredCamera(null, before, camera, mlpOpen, after), null);
});

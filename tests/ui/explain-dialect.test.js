// The steps of pasted PyTorch explained (issue 19): an index's backward as its scatter-add, row by
// row; cat and split as slices of the upstream gradient; where and masked_fill as the gradient
// masked; comparisons, argmax and constants as places no gradient flows. Against real responses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import katex from 'katex';
import { explainView } from '../../static/src/explain.js';
import { describeKey, gatherSources, indexSources, scatterUnits } from '../../static/src/index-math.js';
import { buildTimeline, viewAt } from '../../static/src/stepper.js';
import { flatten, formatNumber } from '../../static/src/tensor.js';
import { fixture } from './load.js';

const steps = fixture('dialect-steps');
const embedding = fixture('embedding-scatter');
const makemore = fixture('makemore-batchnorm');
const NEW_FIXTURES = ['dialect-steps', 'dialect-steps.expanded', 'embedding-scatter', 'makemore-batchnorm', 'gpt-head',
  'gpt-head.expanded', 'pytorch-mlp', 'pytorch-mlp.expanded', 'numpy-two-layer', 'micrograd-neuron'];

/** The explanation at the first step of `phase` on a node named (or labelled) `name`, into `input`. */
function explainStep(response, phase, name, input = null) {
  const timeline = buildTimeline(response);
  for (let position = 1; position <= timeline.total; position += 1) {
    const view = viewAt(timeline, position);
    const node = response.nodes[view.current.node];
    if (view.current.phase !== phase || (node.name ?? node.label) !== name) continue;
    if (input !== null && response.nodes[view.current.input].label !== input) continue;
    return { explanation: explainView(response, view), step: view.current };
  }
  throw new Error(`no ${phase} step on ${name}`);
}

const texts = (explanation) => explanation.lines.map((line) => line.text);

test('the subscript is written back as the program wrote it', () => {
  assert.equal(describeKey(['tensor'], ['Xb']), '[Xb]');
  assert.equal(describeKey([[null, null, null], 0, 'tensor'], ['Yb']), '[:, 0, Yb]');
  assert.equal(describeKey([null, '...', [1, null, 2], -1], []), '[None, ..., 1::2, -1]');
  assert.equal(explainStep(steps, 'forward', 'picked').explanation.lines[0].text.split(' = ')[1], 'logp[range(3), y]');
});

test('index sources follow PyTorch: ints select first, tensors pair, a new axis and ... read nothing', () => {
  const gather = indexSources([5, 2], ['tensor'], [{ value: [[0, 3], [4, 0]], shape: [2, 2] }]);
  assert.deepEqual(gather.shape, [2, 2, 2]);
  assert.deepEqual([...gather.sources], [0, 1, 6, 7, 8, 9, 0, 1]);
  const paired = indexSources([3, 4], ['tensor', 'tensor'], [{ value: [0, 1, 2], shape: [3] }, { value: [1, -1, 3], shape: [3] }]);
  assert.deepEqual(paired.shape, [3]);
  assert.deepEqual([...paired.sources], [1, 7, 11]);
  // x[0, :, i] of a (2, 3, 4) tensor has shape (3, 2) in PyTorch (numpy would give (2, 3)).
  const mixed = indexSources([2, 3, 4], [0, [null, null, null], 'tensor'], [{ value: [3, 0], shape: [2] }]);
  assert.deepEqual(mixed.shape, [3, 2]);
  assert.deepEqual([...mixed.sources], [3, 0, 7, 4, 11, 8]);
  const basic = indexSources([3, 4], [null, '...', [1, null, 2]], []);
  assert.deepEqual(basic.shape, [1, 3, 2]);
  assert.deepEqual([...basic.sources], [1, 3, 5, 7, 9, 11]);
  // Tensors apart (a slice between them): their paired axes go first.
  const apart = indexSources([2, 3, 4], ['tensor', [null, null, null], 'tensor'], [{ value: [1, 0], shape: [2] }, { value: [2, 3], shape: [2] }]);
  assert.deepEqual(apart.shape, [2, 3]);
  assert.deepEqual([...apart.sources], [14, 18, 22, 3, 7, 11]);
});

test('every index and gather step of the fixtures: the scatter-add read back in JS is the engine\'s contribution', () => {
  let checked = 0;
  for (const name of NEW_FIXTURES) {
    const response = fixture(name);
    for (const step of response.steps) {
      const node = response.nodes[step.node];
      if (step.phase !== 'backward' || step.slot !== 0 || !['index', 'gather'].includes(node.op) || !Array.isArray(step.upstream)) continue;
      const [x, ...indices] = node.inputs.map((id) => response.nodes[id]);
      const read = node.op === 'index' ? indexSources(x.shape, node.params.key, indices) : gatherSources(x.shape, indices[0], node.params?.axis ?? 0);
      const upstream = flatten(step.upstream, node.shape).data;
      const scattered = new Float64Array(flatten(x.value, x.shape).data.length);
      read.sources.forEach((source, e) => { scattered[source] += upstream[e]; });
      assert.deepEqual([...scattered], [...flatten(step.contribution, x.shape).data], `${name}: ${node.label}`);
      checked += 1;
    }
  }
  assert.ok(checked >= 6, `only ${checked} index steps`);
});

test('an embedding lookup\'s backward, row by row: row 0, read three times, adds three rows of g', () => {
  const { explanation, step } = explainStep(embedding, 'backward', 'emb');
  const lines = texts(explanation);
  assert.equal(lines[0], '∂loss/∂C = scatter-add of g into zeros (5×2) at C[Xb]');
  assert.deepEqual(lines.slice(3, 5), ['g = ∂loss/∂emb', 'row by row:']);
  const row0 = lines.find((line) => line.startsWith('row 0 of ∂loss/∂C'));
  const total = step.contribution[0].map((v) => formatNumber(v)).join(', ');
  assert.equal(row0, `row 0 of ∂loss/∂C = g[0, 0] + g[1, 0] + g[2, 1] = [${total}]`);
  // Two rows of g are written out beside their sum (makemore's row 15, 'o', read twice); more
  // would not fit on the panel's line.
  const makemoreRows = explainStep(makemore, 'backward', 'emb');
  const twice = texts(makemoreRows.explanation).find((line) => line.startsWith('row 15 of'));
  const [g6, g7] = [makemoreRows.step.upstream[6][2], makemoreRows.step.upstream[7][1]];
  const vector = (row) => `[${row.map((v) => formatNumber(v)).join(', ')}]`;
  assert.equal(twice, `row 15 of ∂loss/∂C = g[6, 2] + g[7, 1] = ${vector(g6)} + ${vector(g7)} = ${vector(makemoreRows.step.contribution[15])}`);
  assert.ok(lines.some((line) => line.startsWith('row 1 of ∂loss/∂C = g[1, 1] = [')));
  assert.equal(lines.at(-1), 'the other row of ∂loss/∂C is 0: nothing was read from it');
  assert.match(explainStep(embedding, 'forward', 'emb').explanation.notes.join('\n'), /Xb is positions: no gradient flows to it/);
});

test('makemore: the paired index logprobs[range(n), Yb] sends each g[i] to one element', () => {
  const { explanation } = explainStep(makemore, 'backward', 'logprobs[range(n), Yb]');
  const lines = texts(explanation);
  assert.equal(lines[0], '∂loss/∂logprobs = scatter-add of g into zeros (8×27) at logprobs[range(n), Yb]');
  assert.ok(lines.includes('g = ∂loss/∂(logprobs[range(n), Yb])'));
  assert.ok(lines.includes('element by element:'));
  const Yb = makemore.nodes.find((node) => node.name === 'Yb').value;
  Yb.forEach((label, i) => assert.ok(lines.includes(`∂loss/∂logprobs[${i}, ${label}] = g[${i}] = -0.125`), `row ${i}`));
  assert.equal(lines.at(-1), `the other ${8 * 27 - 8} elements of ∂loss/∂logprobs are 0: nothing was read from them`);
  // The embedding of 8 contexts: row 0 ('.') is read 12 times, its sum elided in the middle.
  const rows = texts(explainStep(makemore, 'backward', 'emb').explanation);
  assert.match(rows.find((line) => line.startsWith('row 0 of')), /= g\[0, 0\] \+ g\[0, 1\] \+ … 9 more … \+ g\[7, 0\] = \[/);
});

test('cat and split: each operand gets its slice of the upstream gradient', () => {
  const a = explainStep(steps, 'backward', 'h', 'a').explanation;
  assert.equal(a.lines[0].text, '∂loss/∂a via h = ∂loss/∂h[:, 0:2]');
  assert.ok(a.notes.includes("the slice of ∂loss/∂h at a's place in the concatenation (axis 1)"));
  const b = explainStep(steps, 'backward', 'h', 'b').explanation;
  assert.equal(b.lines[0].text, '∂loss/∂b via h = ∂loss/∂h[:, 2:4]');
  // The value shown is that slice of the upstream gradient.
  const h = steps.nodes.find((node) => node.name === 'h');
  assert.equal(b.lines[1].text, `= ${JSON.stringify(h.grad.map((row) => row.slice(2).map(Number))).replaceAll(',', ', ')}`);
  const q = explainStep(steps, 'backward', 'q').explanation;
  assert.equal(q.lines[0].text, '∂loss/∂h via q = ∂loss/∂q placed at h[:, 2:4], 0 elsewhere');
});

test('where and masked_fill: the gradient masked, with the mask written out', () => {
  const toA = texts(explainStep(steps, 'backward', 'w', 'a').explanation);
  assert.equal(toA[0], '∂loss/∂a via w = ∂loss/∂w ⊙ 1[a > 0]');
  assert.equal(toA[1], '= [[1, 1], [1, 1]] ⊙ [[1, 0], [1, 0]]');
  const toB = texts(explainStep(steps, 'backward', 'w', 'b').explanation);
  assert.equal(toB[1], '= [[1, 1], [1, 1]] ⊙ [[0, 1], [0, 1]]');
  const filled = explainStep(steps, 'backward', 'f').explanation;
  assert.equal(filled.lines[0].text, '∂loss/∂s = ∂loss/∂f ⊙ 1[not (tril == 0)]');
  assert.ok(filled.notes.includes('the gradient masked: ∂loss/∂f passes where (tril == 0) is false, 0 where it filled in -∞'));
  assert.match(filled.lines[1].text, /⊙ \[\[1, 0, 0\], \[1, 1, 0\], \[1, 1, 1\]\]$/);
  assert.equal(explainStep(steps, 'forward', 'f').explanation.lines[0].text.split(' = ')[1], 'masked_fill(s, (tril == 0), value=-∞)');
});

test('comparisons, argmax and constants say that no gradient flows', () => {
  const compare = explainStep(steps, 'forward', 'a > 0').explanation;
  assert.equal(compare.lines[0].text, 'a > 0 = [[1, 0], [1, 0]]');
  assert.ok(compare.notes.some((note) => /no gradient flows back through it/.test(note)));
  assert.match(explainStep(steps, 'forward', 'k').explanation.notes.join('\n'), /no gradient flows back through argmax to a/);
  assert.match(explainStep(steps, 'forward', 'torch.ones(3, 3)').explanation.notes.join('\n'), /a constant: no gradient flows out of it/);
  // ... and no backward step ever reaches them.
  const silent = new Set(steps.nodes.filter((node) => ['gt', 'eq', 'argmax', 'ones'].includes(node.op)).map((node) => node.id));
  assert.ok(silent.size >= 4);
  assert.ok(steps.steps.every((step) => step.phase !== 'backward' || !silent.has(step.node)));
});

test('clamp: the gradient passes inside the bounds, bounds included', () => {
  const lines = texts(explainStep(steps, 'backward', 'c').explanation);
  assert.equal(lines[0], '∂loss/∂a via c = ∂loss/∂c ⊙ 1[-0.5 ≤ a ≤ 0.5]');
  assert.equal(lines[1], '= [[1, 1], [1, 1]] ⊙ [[1, 0], [0, 1]]');
});

test('every explanation of the dialect examples typesets with KaTeX', () => {
  for (const name of NEW_FIXTURES) {
    const response = fixture(name);
    const timeline = buildTimeline(response);
    for (let position = 0; position <= timeline.total; position += 1) {
      for (const line of explainView(response, viewAt(timeline, position)).lines) {
        assert.doesNotThrow(() => katex.renderToString(line.tex, { throwOnError: true }), `${name}: ${line.tex}`);
      }
    }
  }
});

test('scatter units group rows only when whole rows are read', () => {
  const rows = scatterUnits([4, 3], indexSources([4, 3], ['tensor'], [{ value: [2, 2, 0], shape: [3] }]));
  assert.equal(rows.mode, 'rows');
  assert.deepEqual(rows.units.map((unit) => [unit.target, unit.from]), [[[0], [[2]]], [[2], [[0], [1]]]]);
  assert.equal(rows.missed, 2);
  const columns = scatterUnits([4, 3], indexSources([4, 3], [[null, null, null], 'tensor'], [{ value: [1, 1], shape: [2] }]));
  assert.equal(columns.mode, 'elements');
  assert.equal(columns.units.length, 4);
  assert.deepEqual(columns.units[0], { target: [0, 1], from: [[0, 0], [0, 1]] });
});

test('gather reads along one axis: torch.gather and the values of x.max(1)', () => {
  // x (2, 3), index [[2], [0]] along axis 1: x[0, 2] and x[1, 0].
  const read = gatherSources([2, 3], { value: [[2], [0]], shape: [2, 1] }, 1);
  assert.deepEqual(read.shape, [2, 1]);
  assert.deepEqual([...read.sources], [2, 3]);
  const down = gatherSources([3, 2], { value: [[2, -1]], shape: [1, 2] }, 0);
  assert.deepEqual([...down.sources], [4, 5]);
});

test('the values of x.max(1) are a gather at the argmax: the gradient goes to one element per row', () => {
  const forward = explainStep(steps, 'forward', 'm').explanation;
  assert.match(forward.notes.join('\n'), /the values of PyTorch's max with a dim: the element at the index it returns \(the first on ties\)/);
  const { explanation, step } = explainStep(steps, 'backward', 'm');
  assert.equal(explanation.lines[0].text, '∂loss/∂a via m = scatter-add of g into zeros (2×2) along axis 1, at the maxima');
  // a = [[0.25, -1.5], [2, -0.25]]: the maxima are at columns 0 and 0.
  assert.deepEqual(step.contribution, [[1, 0], [1, 0]]);
  assert.ok(texts(explanation).includes('∂loss/∂a[1, 0] = g[1, 0] = 1'));
});

test('F.linear reads as PyTorch documents it: x @ W.T + b, and its backward as g · W', () => {
  const mlp = fixture('pytorch-mlp');
  const forward = explainStep(mlp, 'forward', 'F.linear(x, W1, b1)').explanation;
  assert.match(forward.lines[0].text, /^x @ W1\.T \+ b1 = \[\[/);
  assert.doesNotThrow(() => katex.renderToString(forward.lines[0].tex, { throwOnError: true }));
  const toX = explainStep(mlp, 'backward', 'F.linear(x, W1, b1)', 'x').explanation;
  assert.match(toX.lines[0].text, /^∂loss\/∂x = ∂loss\/∂\(F\.linear\(x, W1, b1\)\) · W1$/);
});

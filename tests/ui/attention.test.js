// Attention written out by hand (attention.js, explain-attention.js): recognised from the graph in the
// spellings courses use, drawn head by head, each step naming q, k, v, the scores, the mask and the weights.
// Against real responses: the menu's nanoGPT example (plain and with its softmax opened) and the variants.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attentionRole, handWrittenAttention } from '../../static/src/attention.js';
import { explainView } from '../../static/src/explain.js';
import { hasHeads } from '../../static/src/heads.js';
import { withDisplayNames } from '../../static/src/names.js';
import { buildTimeline, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

const nanogpt = withDisplayNames(fixture('hand-written-attention'));
const opened = withDisplayNames(fixture('hand-written-attention.expanded'));
const variants = withDisplayNames(fixture('hand-written-variants'));

/** A pattern's parts as the program's text names them (the server's labels). */
function labelled(response, pattern) {
  const label = (id) => (id === null ? null : response.nodes[id].sourceLabel);
  return {
    q: label(pattern.q), k: label(pattern.k), keyT: label(pattern.keyT), scores: label(pattern.scores),
    scale: pattern.scale && label(pattern.scale.id), factor: pattern.scale ? Number(pattern.scale.factor.toFixed(12)) : null,
    mask: pattern.mask && `${pattern.mask.kind}:${label(pattern.mask.condition)}`, weights: label(pattern.weights),
    v: label(pattern.v), output: label(pattern.output),
  };
}

/** The explanation of the first step of `phase` on node `id` (into `input`, for a backward step). */
function explainAt(response, phase, id, input = null) {
  const timeline = buildTimeline(response);
  for (let position = 1; position <= timeline.total; position += 1) {
    const view = viewAt(timeline, position);
    if (view.current.phase === phase && view.current.node === id && (input === null || view.current.input === input)) {
      return explainView(response, view);
    }
  }
  throw new Error(`no ${phase} step on node ${id}`);
}

test('nanoGPT\'s attention by hand: q, k, v, the scores, the scale, the mask, the weights and the output', () => {
  const [pattern, ...others] = handWrittenAttention(nanogpt.nodes, nanogpt.groups);
  assert.deepEqual(others, []);
  assert.deepEqual(labelled(nanogpt, pattern), {
    q: 'q', k: 'k', keyT: 'k.transpose(-2, -1)', scores: 'q @ k.transpose(-2, -1)', scale: 'att', factor: 0.5,
    mask: 'fill:mask[:, :, :T, :T] == 0', weights: 'att', v: 'v', output: 'y',
  });
  assert.deepEqual([pattern.q, pattern.k, pattern.v].map((id) => nanogpt.nodes[id].op), ['transpose', 'transpose', 'transpose']);
  assert.equal(nanogpt.nodes[pattern.masked].op, 'masked_fill');
  assert.equal(pattern.softmax, null); // closed: one softmax op
});

test('its (B, heads, T, T) tensors, and q, k, v, are drawn head by head; the mask and the heads put back are not', () => {
  const drawn = nanogpt.nodes.filter((n) => hasHeads(n, nanogpt.nodes, nanogpt.groups)).map((n) => `${n.label}:${n.op}`);
  assert.deepEqual(drawn, ['k₂:transpose', 'q₂:transpose', 'v₂:transpose', 'k₂.transpose(-2, -1):transpose',
    'q₂ @ k₂.transpose(-2, -1):matmul', 'att₁:mul', 'att₂:masked_fill', 'att₃:softmax', 'y₁:matmul']);
  for (const node of nanogpt.nodes.filter((n) => hasHeads(n, nanogpt.nodes, nanogpt.groups))) {
    assert.deepEqual(node.shape.slice(0, 2), [2, 2], `${node.label}: (B, nh, …)`);
  }
});

test('with the softmax opened, its shift, exponentials and sums are the weights being made, head by head', () => {
  const [pattern] = handWrittenAttention(opened.nodes, opened.groups);
  const softmax = opened.groups[pattern.softmax];
  assert.equal(softmax.op, 'softmax');
  assert.equal(pattern.weights, softmax.output);
  for (const id of softmax.nodes) {
    const node = opened.nodes[id];
    assert.equal(attentionRole(node, opened.nodes, opened.groups).role, 'weights', node.label);
    assert.equal(hasHeads(node, opened.nodes, opened.groups), node.shape.length === 4, node.label);
  }
  // the opened softmax's own steps explain its backward: no second, closed-softmax note
  const into = opened.nodes[pattern.weights].inputs[0];
  assert.ok(!explainAt(opened, 'backward', pattern.weights, into).notes.some((note) => note.startsWith('softmax\'s backward')));
});

test('the spellings courses use: / √hs, a 0/1 mask input, .softmax(-1), .T, torch.where, an added mask, mask then scale', () => {
  const found = handWrittenAttention(variants.nodes, variants.groups).map((pattern) => labelled(variants, pattern));
  const factor = Number((2 ** -0.5).toFixed(12)); // hs = 2
  assert.deepEqual(found, [
    { q: 'q', k: 'k', keyT: 'k.mT', scores: 'torch.matmul(q, k.mT)', scale: 'a', factor, mask: 'fill:mask == 0',
      weights: 'a', v: 'v', output: 'ya' },
    { q: 'q[0, 0]', k: 'k[0, 0]', keyT: 'k[0, 0].T', scores: 'q[0, 0] @ k[0, 0].T', scale: 's', factor,
      mask: 'fill:mask == 1', weights: 'torch.softmax(s, dim=-1)', v: 'v[0, 0]', output: 'yb' },
    { q: 'q', k: 'k', keyT: 'k.transpose(2, 3)', scores: 'q @ k.transpose(2, 3)', scale: null, factor: null,
      mask: 'add:bias', weights: 'torch.softmax(q @ k.tra…', v: 'v', output: 'yc' },
    { q: 'q', k: 'k', keyT: 'k.transpose(-2, -1)', scores: 'd', scale: 'd', factor,
      mask: 'fill:torch.triu(torch.ones(T…', weights: 'F.softmax(d, dim=-1)', v: 'v', output: 'yd' },
  ]);
  // torch.where keeps the scores where the condition holds: it fills where it does not
  assert.equal(handWrittenAttention(variants.nodes, variants.groups)[1].mask.fillsWhen, false);
  // the look-alikes: softmax between matmuls with no transposed operand (ne), a softmax over the heads (nf)
  for (const name of ['ne', 'nf']) {
    const node = variants.nodes.find((n) => n.name === name);
    assert.equal(attentionRole(node, variants.nodes, variants.groups), null, name);
    assert.equal(hasHeads(variants.nodes[node.inputs[0]], variants.nodes, variants.groups), false, name);
  }
});

test('one head of a batch (B, T, hs from matmuls) is recognised but has no heads; one head unbatched neither', () => {
  const head = withDisplayNames(fixture('gpt-head'));
  const [pattern] = handWrittenAttention(head.nodes, head.groups);
  assert.equal(head.nodes[pattern.scores].shape.length, 3);
  assert.deepEqual(head.nodes.filter((n) => hasHeads(n, head.nodes, head.groups)), []);
  const yb = variants.nodes.find((n) => n.name === 'yb');
  assert.equal(attentionRole(yb, variants.nodes, variants.groups).role, 'output');
  assert.equal(hasHeads(yb, variants.nodes, variants.groups), false); // 2-D
});

test('unbatched heads (nh, T, hs), queries moved into heads by a transpose: heads on axis 0', () => {
  const node = (id, op, shape, inputs = [], params = null) => ({ id, op, shape, inputs, params, grad: [] });
  const nodes = [
    node(0, 'input', [4, 6]),
    node(1, 'reshape', [4, 2, 3], [0]),
    node(2, 'transpose', [2, 4, 3], [1], { axes: [1, 0, 2] }), // q = x.view(T, nh, hs).transpose(0, 1)
    node(3, 'transpose', [2, 3, 4], [2], { axes: [0, 2, 1] }), // q.transpose(-2, -1), here standing for k
    node(4, 'matmul', [2, 4, 4], [2, 3]),
    node(5, 'softmax', [2, 4, 4], [4], { axis: -1 }),
    node(6, 'matmul', [2, 4, 3], [5, 2]),
    node(7, 'exp', [2, 4, 3], [6]),
  ];
  assert.deepEqual(nodes.map((n) => hasHeads(n, nodes)), [false, false, true, true, true, true, true, false]);
  // the same from matmuls (one head of a batch): axis 0 is the batch
  const batch = nodes.map((n) => (n.id === 2 ? { ...n, op: 'matmul', inputs: [1, 1] } : n));
  assert.deepEqual(batch.map((n) => hasHeads(n, batch)), [false, false, false, false, false, false, false, false]);
  // an added tensor that takes a gradient is a learned bias, not a mask: no attention; a constant one is a mask
  const added = (grad) => [...nodes.slice(0, 5), { ...node(5, 'input', [4, 4]), grad }, node(6, 'add', [2, 4, 4], [4, 5]),
    node(7, 'softmax', [2, 4, 4], [6], { axis: -1 }), node(8, 'matmul', [2, 4, 3], [7, 2])];
  assert.equal(handWrittenAttention(added([[0]])).length, 0);
  assert.deepEqual(handWrittenAttention(added(null)).map((pattern) => pattern.mask), [{ id: 6, kind: 'add', condition: 5, fillsWhen: null, slot: 0 }]);
});

test('each forward step names its part: q and k in the scores, the scale, the causal mask, the weights, v', () => {
  const [pattern] = handWrittenAttention(nanogpt.nodes, nanogpt.groups);
  const note = (id) => explainAt(nanogpt, 'forward', id).notes.at(-1);
  assert.match(note(pattern.q), /^the queries of an attention \(scores = q₂ @ \(k₂\.transpose\(-2, -1\)\)\).*in each head on its own$/);
  assert.match(note(pattern.scores), /^the scores: entry \[i, j\] is query i \(row i of q₂\) · key j \(row j of k₂\)/);
  assert.match(note(pattern.scale.id), /^the scores scaled by 0\.5 \(1\/√4\)/);
  assert.equal(note(pattern.masked), 'the mask: where mask[:, :, :T, :T] == 0 holds (every key after the query\'s own '
    + 'position, the future: each query sees itself and the tokens before it), att₂ holds -∞ in place of the score; '
    + 'the softmax gives those keys weight 0');
  assert.match(note(pattern.weights), /^the attention weights: softmax along each row .* \(0 at the masked keys\)$/);
  assert.match(note(pattern.output), /^the output: row i of y₁ = att₃ @ v₂ is query i's weights' mix of the value rows/);
  // the variants: -1e9 gives about 0; torch.where fills where its condition does not hold; an added mask
  const [divided, where, added] = handWrittenAttention(variants.nodes, variants.groups);
  const variantNote = (id) => explainAt(variants, 'forward', id).notes.at(-1);
  assert.match(variantNote(divided.masked), /-1e9 in place of the score; the softmax gives those keys a weight of about 0$/);
  assert.match(variantNote(where.masked), /^the mask: where mask == 1 does not hold \(every key after/);
  assert.match(variantNote(added.masked), /^the mask: bias is added to the scores; where it is -∞ or very negative \(every key after/);
});

test('each backward step says where its gradient comes from, with the program\'s names', () => {
  const [pattern] = handWrittenAttention(nanogpt.nodes, nanogpt.groups);
  const notes = (id, input) => explainAt(nanogpt, 'backward', id, input).notes;
  const scores = '∂loss/∂(q₂ @ k₂.transpose(-2, -1))';
  assert.ok(notes(pattern.output, pattern.v).includes('into the values: ∂loss/∂v₂ = att₃ᵀ @ ∂loss/∂y₁: each value row gets '
    + 'the gradient of every output row in proportion to the weight that output gave it'));
  assert.ok(notes(pattern.output, pattern.weights).some((n) => n.startsWith('into the weights: ∂loss/∂att₃ = ∂loss/∂y₁ @ v₂ᵀ')));
  assert.ok(notes(pattern.weights, pattern.masked).some((n) => n.includes('a masked key had weight 0, so its score gets gradient 0')));
  assert.ok(notes(pattern.masked, pattern.scale.id).some((n) => n.startsWith('the mask: a masked score never reaches the output')));
  assert.ok(notes(pattern.scale.id, pattern.scores).includes('the scale: the scores\' gradient is scaled by the same 0.5 (1/√4)'));
  assert.ok(notes(pattern.scores, pattern.q).some((n) => n.startsWith(`into the queries: ∂loss/∂q₂ = ${scores} @ k₂:`)));
  assert.ok(notes(pattern.scores, pattern.keyT).some((n) => n.startsWith(`into the keys: ∂loss/∂(k₂.transpose(-2, -1)) = q₂ᵀ @ ${scores}:`)));
  // and the step's heatmaps of (B, heads, T, T) tensors are one map per head
  const maps = explainAt(nanogpt, 'backward', pattern.weights, pattern.masked).heatmaps;
  assert.ok(maps.length >= 2 && maps.every((map) => map.heads), JSON.stringify(maps.map((map) => map.label)));
});

test('other programs get no attention notes', () => {
  for (const name of ['pytorch-mlp', 'small-convolution', 'transformer-block']) {
    const response = withDisplayNames(fixture(name));
    assert.deepEqual(handWrittenAttention(response.nodes, response.groups), [], name);
  }
});

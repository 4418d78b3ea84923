// einsum and PyTorch's bool tensors explained (nanoGPT's masked attention as pasted, tests/ui/fixtures/
// einsum-masks.json): einsum's step reads as the sum it is, the masks as places no gradient flows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import katex from 'katex';
import { einsumNote, explainView } from '../../static/src/explain.js';
import { buildTimeline, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

const response = fixture('einsum-masks');

/** The explanation at the first step of `phase` on the node labelled `label`. */
function explainStep(phase, label) {
  const timeline = buildTimeline(response);
  for (let position = 1; position <= timeline.total; position += 1) {
    const view = viewAt(timeline, position);
    const node = response.nodes[view.current.node];
    if (view.current.phase === phase && (node.name ?? node.label) === label) return explainView(response, view);
  }
  throw new Error(`no ${phase} step on ${label}`);
}

test('einsum reads as the program wrote it and as the sum it is', () => {
  const scores = explainStep('forward', "torch.einsum('btc,bsc->…");
  assert.equal(scores.lines[0].text, "einsum('btc,bsc->bts', q, k)"); // (a 3-D result is not written out)
  assert.ok(scores.notes.includes('out[b,t,s] = Σ_c q[b,t,c]·k[b,s,c]: summed over c, the letters not in the output'), scores.notes);
  const mix = explainStep('forward', 'y');
  assert.match(mix.lines[0].text, /^y = einsum\('bts,bsc->btc', w, v\)/);
  assert.ok(mix.notes.some((note) => note.startsWith('out[b,t,c] = Σ_s w[b,t,s]·v[b,s,c]')), mix.notes);
  // an implicit output: the letters written once (none here: the trace)
  assert.ok(explainStep('forward', "torch.einsum('ii', mask)").notes.includes('out = Σ_i mask[i,i]: summed over i, the letters not in the output'));
});

test('an implicit output is the letters written once, alphabetically, after the axes under ...', () => {
  const node = { op: 'einsum', params: { equation: '...jb,...ja' } };
  assert.equal(einsumNote(node, [{ label: 'x' }, { label: 'y' }]), 'out[…,a,b] = Σ_j x[…,j,b]·y[…,j,a]: summed over j, the letters not in the output');
  assert.equal(einsumNote({ op: 'einsum', params: { equation: 'i,j->ij' } }, [{ label: 'u' }, { label: 'v' }]),
    'out[i,j] = u[i]·v[j]: nothing summed: every letter is kept');
  assert.equal(einsumNote({ op: 'matmul' }, []), null);
});

test('.bool(), ~ and the logical ops say that no gradient flows through a mask', () => {
  for (const label of ['mask', '~mask', 'both']) {
    assert.ok(explainStep('forward', label).notes.some((note) => /^a mask \(PyTorch's bool tensor\).*no gradient flows back through it$/.test(note)), label);
  }
  assert.match(explainStep('forward', 'mask').notes.join('\n'), /1 where the value is nonzero/);
  const masks = new Set(response.nodes.filter((node) => ['bool', 'logical_not', 'logical_and'].includes(node.op)).map((node) => node.id));
  assert.equal(masks.size, 3);
  assert.ok(response.steps.every((step) => step.phase !== 'backward' || !masks.has(step.node)));
});

test('every explanation of the einsum program typesets with KaTeX', () => {
  const timeline = buildTimeline(response);
  for (let position = 0; position <= timeline.total; position += 1) {
    for (const line of explainView(response, viewAt(timeline, position)).lines) {
      assert.doesNotThrow(() => katex.renderToString(line.tex, { throwOnError: true }), line.tex);
    }
  }
});

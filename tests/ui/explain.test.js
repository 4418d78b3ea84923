import assert from 'node:assert/strict';
import { test } from 'node:test';
import katex from 'katex';
import { broadcastNote, contributionLedger, explainView, texLabel, textValue } from '../../static/src/explain.js';
import { buildTimeline, viewAt } from '../../static/src/stepper.js';
import { fixture } from './load.js';

const chain = fixture('chain-rule');
const shared = fixture('shared-parameter');
const mlp = fixture('regression-mlp');

function explainAt(response, position) {
  return explainView(response, viewAt(buildTimeline(response), position));
}

test('forward step: q = x + y = -2 + 5 = 3', () => {
  const explanation = explainAt(chain, 1);
  assert.equal(explanation.kind, 'forward');
  assert.equal(explanation.lines[0].text, 'q = x + y = -2 + 5 = 3');
  assert.equal(explanation.lines[0].tex, 'q = x + y = -2 + 5 = 3');
});

test('forward step with a negative operand parenthesises it', () => {
  assert.equal(explainAt(chain, 2).lines[0].text, 'f = q · z = 3 · (-4) = -12');
});

test('backward step: ∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4', () => {
  const explanation = explainAt(chain, 5);
  assert.equal(explanation.kind, 'backward');
  assert.equal(explanation.lines[0].text, '∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4');
  assert.match(explanation.lines[0].tex, /\\frac\{\\partial f\}\{\\partial x\} = /);
  assert.ok(explanation.notes.includes('local derivative: ∂q/∂x = 1'));
});

test('a shared tensor: the second contribution shows the running sum', () => {
  const a = 1;
  const ledger = contributionLedger(shared, a);
  assert.equal(ledger.length, 2);
  const second = explainAt(shared, ledger[1].index + 1);
  assert.match(second.lines[0].text, /^∂y\/∂a via \(x \* a\) = /);
  // The formula, "= upstream ⊙ local", "= contribution" (matrices, one per line), then the running sum.
  assert.equal(second.lines.length, 4);
  assert.equal(second.lines[3].text,
    '∂y/∂a = [[1.5, -2, -6.5], [14, -2, 0], [6.5, 6, 4.125]] + [[0.5, -1, -6], [12, 0, 0], [7, 8, 3.375]] = [[2, -3, -12.5], [26, -2, 0], [13.5, 14, 7.5]]');
  assert.match(second.notes.join('\n'), /sum of all 2 contributions/);
  const first = explainAt(shared, ledger[0].index + 1);
  assert.match(first.notes.join('\n'), /contribution 1 of 2, more to come/);
});

test('an undone broadcast is named: summed over axis 0', () => {
  const index = shared.steps.findIndex((step) => step.phase === 'backward' && step.summed_axes.length);
  const explanation = explainAt(shared, index + 1);
  assert.ok(explanation.notes.includes('summed over axis 0 to undo the broadcast'));
  assert.match(explanation.lines[0].tex, /\\sum_\{\\text\{axis 0\}\}/);
  assert.equal(broadcastNote([0, 2]), 'summed over axes 0, 2 to undo the broadcast');
  assert.equal(broadcastNote([]), null);
});

test('every explanation of the examples typesets with KaTeX', () => {
  for (const response of [chain, shared, mlp]) {
    const timeline = buildTimeline(response);
    for (let position = 0; position <= timeline.total; position += 1) {
      for (const line of explainView(response, viewAt(timeline, position)).lines) {
        assert.doesNotThrow(() => katex.renderToString(line.tex, { throwOnError: true }), line.tex);
      }
    }
  }
});

test('labels become TeX: indices, functions, operators, transposes', () => {
  assert.equal(texLabel('W1'), 'W_{1}');
  assert.equal(texLabel('x * a + b'), 'x \\cdot a + b');
  assert.equal(texLabel('relu(h)'), '\\operatorname{relu} ( h )');
  assert.equal(texLabel('loss'), '\\mathit{loss}');
  assert.equal(texLabel('W.T'), 'W^{\\top}');
});

test('values as text: numbers, non-finite strings, summaries', () => {
  assert.equal(textValue(-4, []), '-4');
  assert.equal(textValue('NaN', []), 'NaN');
  assert.equal(textValue('-Infinity', []), '-∞');
  assert.equal(textValue({ truncated: true, shape: [784, 100], min: 0, max: 1, mean: 0.5, norm: 3 }, [784, 100]),
    '784×100 tensor (mean 0.5)');
});

test('the last step sums up every input gradient', () => {
  const explanation = explainAt(chain, chain.steps.length);
  assert.equal(explanation.notes.at(-1), 'Backward pass complete: ∂f/∂x = -4, ∂f/∂y = -4, ∂f/∂z = 3.');
  assert.ok(!explainAt(chain, 5).notes.some((note) => note.startsWith('Backward pass complete')));
});

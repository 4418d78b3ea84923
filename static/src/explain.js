/**
 * Explanations: a step of the timeline → TeX and plain text with the numbers in it.
 * Pure (no DOM, no KaTeX): the panel typesets `tex`; `text` is the same statement in plain
 * characters for screen readers, tooltips and tests.
 *
 * forward:  q = x + y = -2 + 5 = 3
 * backward: ∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4, plus the running sum where a node collects
 *           several contributions and a note where a broadcast is undone.
 */
import { elementCount, flatten, formatNumber, formatShape, isScalar, isSummary, stats } from './tensor.js';
import { broadcastEdges } from './broadcast.js';
import { describeKey } from './index-math.js';
import { SUM_TERMS, combine, escapeTex, shortSum, texNumber, vjpRule } from './vjp-math.js';
import { layerForwardNotes, layerNotes } from './explain-layers.js';
import { attentionBackwardNotes, attentionForwardNotes } from './explain-attention.js';
import { convBackwardLines } from './explain-conv.js';
import { markHeads } from './heads.js';

/** Tensors up to about 6×6 (at most 2-D) are written out as matrices; larger ones as heatmaps. */
export const MAX_MATRIX_ELEMENTS = 36;
const MAX_MATRIX_COLUMNS = 6;
const MAX_MATRIX_ROWS = 6;

/** Small enough to write out element by element without the line running off the panel. */
export function isWritable(shape) {
  return shape.length <= 2 && elementCount(shape) <= MAX_MATRIX_ELEMENTS && (shape.at(-1) ?? 1) <= MAX_MATRIX_COLUMNS
    && (shape.length < 2 || shape[0] <= MAX_MATRIX_ROWS);
}

/** A value that can be written out: a number, or a small tensor sent in full. */
function isShown(value, shape) {
  return isScalar(value) || (Array.isArray(value) && isWritable(shape));
}

const FUNCTION_NAMES = new Set([
  'exp', 'log', 'sqrt', 'abs', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'sum', 'mean', 'max', 'min',
  'softmax', 'log_softmax', 'mse', 'softmax_cross_entropy', 'linear', 'transpose', 'reshape',
  'maximum', 'minimum', 'onehot', 'detach', 'index', 'cat', 'stack', 'where', 'masked_fill', 'argmax', 'argmin',
  'tril', 'triu', 'clamp', 'logsumexp', 'var', 'std', 'linear_t', 'ones', 'zeros', 'full', 'arange', 'eye',
  'ones_like', 'zeros_like', 'full_like', 'view', 'permute', 'split', 'chunk', 'flatten', 'squeeze', 'unsqueeze',
  'einsum', 'bool', 'logical_not', 'logical_and', 'logical_or', 'logical_xor',
]);

// ---------------------------------------------------------------- labels as TeX

const TOKEN = /\s+|[A-Za-z_][A-Za-z0-9_]*[₀-₉]*|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|\*\*|\.T|…|./g;

/** A node label (a name, a constant, or source text such as `x * a + b`) as TeX. */
export function texLabel(label) {
  const parts = [];
  for (const [token] of String(label).matchAll(TOKEN)) {
    if (/^\s+$/.test(token)) continue;
    if (/^[A-Za-z_]/.test(token)) parts.push(texIdentifier(token));
    else if (/^[\d.]/.test(token) && token !== '.T') parts.push(token);
    else parts.push(TEX_SYMBOL[token] ?? escapeTex(token));
  }
  return parts.join(' ').replace(/ \^\{\\top\}/g, '^{\\top}');
}

const TEX_SYMBOL = {
  '*': '\\cdot', '**': '^', '@': '\\mathbin{@}', '.T': '^{\\top}', '…': '\\ldots', '-': '-', '+': '+',
  '/': '/', '(': '(', ')': ')', ',': ',\\,', '=': '=', '~': '\\lnot', // ~mask: logical not
};

function texIdentifier(word) {
  // Display names subscript reassigned names (names.js: h₁, h₂): TeX subscripts.
  const [, name, sub] = /^(.*?)([₀-₉]*)$/.exec(word);
  if (sub) return `${texIdentifier(name)}_{${[...sub].map((digit) => digit.charCodeAt(0) - 0x2080).join('')}}`;
  if (FUNCTION_NAMES.has(name)) return `\\operatorname{${escapeTex(name)}}`;
  const indexed = /^([A-Za-z])_?(\d+)$/.exec(name);
  if (indexed) return `${indexed[1]}_{${indexed[2]}}`;
  if (name.length === 1) return name;
  return `\\mathit{${escapeTex(name)}}`;
}

/** True when a label must be parenthesised as an operand (`(x * a + b) * a`). */
function isCompound(label) {
  return /[\s+\-*/@]/.test(String(label).replace(/^-?\d+\.?\d*$/, ''));
}

function operandTex(label) {
  const tex = texLabel(label);
  return isCompound(label) ? `\\left(${tex}\\right)` : tex;
}

function operandText(label) {
  return isCompound(label) ? `(${label})` : String(label);
}

/** ∂a/∂b as TeX and as text. */
function partial(top, bottom) {
  return {
    tex: `\\frac{\\partial ${operandTex(top)}}{\\partial ${operandTex(bottom)}}`,
    text: `∂${operandText(top)}/∂${operandText(bottom)}`,
  };
}

// ---------------------------------------------------------------- values as TeX

/** A value as TeX: a number, a small matrix, or the tensor's shape and norm. */
export function texValue(value, shape, { parenthesizeNegative = false } = {}) {
  if (value === null || value === undefined) return '\\text{—}';
  if (isScalar(value)) {
    const text = texNumber(value);
    return parenthesizeNegative && text.startsWith('-') ? `(${text})` : text;
  }
  if (isSummary(value)) {
    return `\\left[\\,${formatShape(value.shape).replace('×', '\\times ')}\\text{ tensor, mean }${texNumber(value.mean)}\\,\\right]`;
  }
  if (isWritable(shape)) {
    const { data, rows, cols } = flatten(value, shape);
    const lines = [];
    for (let r = 0; r < rows; r += 1) {
      lines.push(Array.from(data.subarray(r * cols, (r + 1) * cols), (x) => texNumber(x)).join(' & '));
    }
    return `\\begin{bmatrix}${lines.join(' \\\\ ')}\\end{bmatrix}`;
  }
  return `\\left[\\,${shape.join('\\times ')}\\text{ tensor}\\,\\right]`;
}

/** A value as plain text: a number, a bracketed small tensor, or its shape. */
export function textValue(value, shape) {
  if (value === null || value === undefined) return '—';
  if (isScalar(value)) return formatNumber(value);
  if (isSummary(value)) return `${formatShape(value.shape)} tensor (mean ${formatNumber(value.mean)})`;
  if (isWritable(shape)) {
    // At most 2-D here, so the nesting is shallow.
    const nested = (item) => (Array.isArray(item) ? `[${item.map(nested).join(', ')}]` : formatNumber(item));
    return nested(value);
  }
  return `${formatShape(shape)} tensor`;
}

function parenthesizedText(value, shape) {
  const text = textValue(value, shape);
  return text.startsWith('-') ? `(${text})` : text;
}

// ---------------------------------------------------------------- forward

const INFIX = {
  add: '+', sub: '-', mul: '\\cdot', matmul: '\\mathbin{@}',
  gt: '>', lt: '<', ge: '\\geq', le: '\\leq', eq: '\\mathrel{==}', ne: '\\neq',
};
const INFIX_TEXT = { add: '+', sub: '-', mul: '·', matmul: '@', gt: '>', lt: '<', ge: '>=', le: '<=', eq: '==', ne: '!=' };

/** `template(operands)` for an op, operands being {tex, text} pairs; null result → generic call. */
function applyOp(node, operands, asValues) {
  const { op } = node;
  if (op in INFIX && operands.length === 2) {
    return {
      tex: `${operands[0].tex} ${INFIX[op]} ${operands[1].tex}`,
      text: `${operands[0].text} ${INFIX_TEXT[op]} ${operands[1].text}`,
    };
  }
  if (op === 'div') {
    return { tex: `\\frac{${operands[0].rawTex}}{${operands[1].rawTex}}`, text: `${operands[0].text} / ${operands[1].text}` };
  }
  if (op === 'pow') {
    return { tex: `${operands[0].tex}^{${operands[1].rawTex}}`, text: `${operands[0].text} ** ${operands[1].text}` };
  }
  if (op === 'neg') return { tex: `-${operands[0].tex}`, text: `-${/^-/.test(operands[0].text) ? `(${operands[0].text})` : operands[0].text}` };
  if (op === 'transpose' && !node.params?.axes) return { tex: `${operands[0].tex}^{\\top}`, text: `${operands[0].text}.T` };
  if (op === 'linear_t' && operands.length === 3 && !asValues) {
    // F.linear as PyTorch documents it: the weight is (out, in), so it is used transposed.
    return {
      tex: `${operands[0].tex} \\mathbin{@} ${operands[1].tex}^{\\top} + ${operands[2].tex}`,
      text: `${operands[0].text} @ ${operands[1].text}.T + ${operands[2].text}`,
    };
  }
  if (op === 'einsum' && typeof node.params?.equation === 'string' && !asValues) {
    // as the program wrote it: the equation first, then the operands
    const equation = `'${node.params.equation}'`;
    return {
      tex: `\\operatorname{einsum}\\left(\\text{${escapeTex(equation)}},\\; ${operands.map((arg) => arg.rawTex ?? arg.tex).join(',\\; ')}\\right)`,
      text: `einsum(${[equation, ...operands.map((arg) => arg.text)].join(', ')})`,
    };
  }
  if (op === 'index' && Array.isArray(node.params?.key)) {
    // x[key] as the program wrote it, the index tensors by their labels.
    const subscript = describeKey(node.params.key, operands.slice(1).map((operand) => operand.text));
    return { tex: `${operands[0].tex}\\text{${escapeTex(subscript)}}`, text: `${operands[0].text}${subscript}` };
  }
  const params = Object.entries(node.params || {})
    .filter(([, value]) => value !== null && value !== false)
    .map(([name, value]) => {
      // -inf (masked_fill's value) arrives as the string "-Infinity": written as the number it is.
      const shown = isScalar(value) ? formatNumber(value) : JSON.stringify(value);
      const shownTex = isScalar(value) ? texNumber(value) : escapeTex(shown);
      return { tex: `\\text{${escapeTex(name)}}=${shownTex}`, text: `${name}=${shown}` };
    });
  const args = asValues ? operands : [...operands, ...params];
  return {
    tex: `\\operatorname{${escapeTex(op)}}\\left(${args.map((arg) => arg.rawTex ?? arg.tex).join(',\\; ')}\\right)`,
    text: `${op}(${args.map((arg) => arg.text).join(', ')})`,
  };
}

export function explainForward(response, step) {
  const node = response.nodes[step.node];
  const operands = node.inputs.map((id) => response.nodes[id]);
  const symbolic = applyOp(node, operands.map((operand) => ({
    tex: operandTex(operand.label), rawTex: texLabel(operand.label), text: operandText(operand.label),
  })), false);
  const allSmall = [node, ...operands].every((n) => isScalar(n.value) || (!isSummary(n.value) && isWritable(n.shape)));
  const texParts = [];
  const textParts = [];
  if (node.name) {
    texParts.push(texLabel(node.name));
    textParts.push(node.name);
  }
  texParts.push(symbolic.tex);
  textParts.push(symbolic.text);
  // Numbers substituted in: only when every operand is a scalar (matrices side by side get too wide).
  if (operands.length && operands.every((operand) => isScalar(operand.value))) {
    const numeric = applyOp(node, operands.map((operand, index) => ({
      tex: texValue(operand.value, [], { parenthesizeNegative: index > 0 || node.op === 'neg' || node.op === 'pow' }),
      rawTex: texValue(operand.value, []),
      text: index > 0 ? parenthesizedText(operand.value, []) : textValue(operand.value, []),
    })), true);
    texParts.push(numeric.tex);
    textParts.push(numeric.text);
  }
  if (allSmall || isScalar(node.value)) {
    texParts.push(texValue(node.value, node.shape));
    textParts.push(textValue(node.value, node.shape));
  }
  const lines = [{ tex: texParts.join(' = '), text: textParts.join(' = ') }];
  const notes = broadcastEdges(response)
    .filter((edge) => edge.target === node.id)
    .map((edge) => `${edge.text}: broadcast over ${edge.axes.length === 1 ? 'axis' : 'axes'} ${edge.axes.join(', ')}`);
  const stopped = noGradientNote(node, operands);
  if (stopped) notes.push(stopped);
  notes.push(...layerForwardNotes(node, operands)); // a layer's step in words (explain-layers.js)
  const summed = einsumNote(node, operands);
  if (summed) notes.push(summed);
  notes.push(...attentionForwardNotes(response, node, operandText)); // attention written out by hand (explain-attention.js)
  if (!isScalar(node.value)) {
    lines.push({
      tex: `${texLabel(node.name ?? node.label)} \\in \\mathbb{R}^{${node.shape.join('\\times ')}}`,
      text: `shape ${formatShape(node.shape)}`,
    });
  }
  return { kind: 'forward', node: node.id, lines, notes };
}

const COMPARISONS = new Set(['gt', 'lt', 'ge', 'le', 'eq', 'ne']);
const MASKS = new Set(['bool', 'logical_not', 'logical_and', 'logical_or', 'logical_xor']);
const CONSTANT_MAKERS = new Set(['ones', 'zeros', 'full', 'arange', 'eye']);
const SHAPE_ONLY = new Set(['ones_like', 'zeros_like', 'full_like']);

/** Where a step's result or one of its operands takes no gradient, the words that say so. */
export function noGradientNote(node, operands) {
  const labels = (list) => list.map((operand) => operand.label).join(', ');
  if (COMPARISONS.has(node.op)) {
    return 'a comparison: 1 where it holds, 0 elsewhere; flat almost everywhere, so no gradient flows back through it';
  }
  if (MASKS.has(node.op)) {
    return `a mask (PyTorch's bool tensor): 1 where ${node.op === 'bool' ? 'the value is nonzero' : 'it holds'}, 0 elsewhere; no gradient flows back through it`;
  }
  if (node.op === 'argmax' || node.op === 'argmin') {
    return `positions, not values: no gradient flows back through ${node.op} to ${labels(operands)}`;
  }
  if (CONSTANT_MAKERS.has(node.op)) return 'a constant: no gradient flows out of it';
  if (SHAPE_ONLY.has(node.op)) return `only the shape of ${labels(operands)} is read: no gradient flows back to it`;
  if (node.op === 'where') return `${operands[0].label} only chooses: it takes no gradient`;
  if (node.op === 'masked_fill') return `${operands[1].label} only chooses where to fill: it takes no gradient`;
  if (node.op === 'gather' && ['argmax', 'argmin'].includes(operands[1]?.op)) {
    const extreme = operands[1].op === 'argmax' ? 'maximum' : 'minimum';
    return `the values of PyTorch's ${extreme.slice(0, 3)} with a dim: the element at the index it returns (the first on ties), so the whole gradient goes back to that one element`;
  }
  if (node.op === 'index' && operands.length > 1) {
    return `${labels(operands.slice(1))} ${operands.length > 2 ? 'are' : 'is'} positions: no gradient flows to ${operands.length > 2 ? 'them' : 'it'}`;
  }
  return null;
}

/**
 * einsum's forward step as the sum it is, from the equation as written: `bid,bjd->bij` on q and k
 * reads out[b,i,j] = Σ_d q[b,i,d]·k[b,j,d]. Without `->` the output is the letters written once,
 * alphabetically (after the axes under `...`); every other letter is summed over.
 */
export function einsumNote(node, operands) {
  const equation = node.params?.equation;
  if (node.op !== 'einsum' || typeof equation !== 'string') return null;
  const [inputs, written] = equation.split('->');
  const letters = inputs.replace(/[^A-Za-z]/g, '');
  const once = [...new Set(letters)].filter((letter) => letters.split(letter).length === 2).sort().join('');
  const output = written ?? `${inputs.includes('...') ? '...' : ''}${once}`;
  const summed = [...new Set(letters)].filter((letter) => !output.includes(letter));
  const indexed = (term) => (term ? `[${term.replace('...', '…').split('').join(',')}]` : '');
  const product = inputs.split(',').map((term, k) => `${operands[k]?.label ?? '?'}${indexed(term)}`).join('·');
  const sum = summed.length ? `Σ_${summed.join(',')} ` : '';
  return `out${indexed(output)} = ${sum}${product}: ${summed.length ? `summed over ${summed.join(', ')}, the letters not in the output` : 'nothing summed: every letter is kept'}`;
}

// ---------------------------------------------------------------- backward

/** Plain words for summed axes: "summed over axis 0 to undo the broadcast". */
export function broadcastNote(summedAxes) {
  if (!summedAxes || summedAxes.length === 0) return null;
  const axes = summedAxes.length === 1 ? `axis ${summedAxes[0]}` : `axes ${summedAxes.join(', ')}`;
  return `summed over ${axes} to undo the broadcast`;
}

/** Every contribution a node receives over the whole timeline, with the running sum after each. */
export function contributionLedger(response, inputId) {
  // Every node's ledger from one pass over the steps, once per response: a step's explanation
  // and the inspector look one up without walking the whole timeline again.
  if (!ledgers.has(response)) {
    const byInput = new Map();
    response.steps.forEach((step, index) => {
      if (step.phase !== 'backward') return;
      if (!byInput.has(step.input)) byInput.set(step.input, []);
      byInput.get(step.input).push({
        index,
        via: response.nodes[step.node].label,
        consumer: step.node,
        slot: step.slot,
        contribution: step.contribution,
        accumulated: step.accumulated,
      });
    });
    ledgers.set(response, byInput);
  }
  return ledgers.get(response).get(inputId) ?? NO_ROWS;
}
const ledgers = new WeakMap();
const NO_ROWS = Object.freeze([]);

export function explainBackward(response, step, stepIndex) {
  const out = response.nodes[response.output];
  const consumer = response.nodes[step.node];
  const input = response.nodes[step.input];
  const inputShape = input.shape;
  const upstreamShape = consumer.shape;
  const total = partial(out.label, input.label);
  const upstream = partial(out.label, consumer.label);
  const local = partial(consumer.label, input.label);
  const ledger = contributionLedger(response, step.input);
  const position = ledger.findIndex((row) => row.index === stepIndex);
  const several = ledger.length > 1;
  const note = broadcastNote(step.summed_axes);
  const elementwise = step.local && step.local.value !== null && step.local.value !== undefined;

  // Left side: the whole gradient when this edge is its only contribution, else this edge's share.
  // `q * q` sends two contributions through one consumer: then the operand slot tells them apart.
  const sameConsumerTwice = ledger.filter((row) => row.via === consumer.label).length > 1;
  const viaTex = sameConsumerTwice ? `${operandTex(consumer.label)},\\ \\text{operand } ${step.slot + 1}` : operandTex(consumer.label);
  const lhs = several
    ? { tex: `${total.tex}\\Big|_{\\text{via } ${viaTex}}`, text: `${total.text} via ${operandText(consumer.label)}${sameConsumerTwice ? `, operand ${step.slot + 1}` : ''}` }
    : total;
  const axes = note ? note.replace(/^summed over /, '').replace(/ to undo the broadcast$/, '') : '';
  const wrap = (tex) => (note ? `\\textstyle\\sum_{\\text{${axes}}}\\!\\left(${tex}\\right)` : tex);
  const wrapText = (text) => (note ? `Σ over ${axes} of (${text})` : text);

  // The factors of this step, each with its value: ∂L/∂out, and the local derivative or the
  // operands the vjp reads.
  const upstreamTerm = { tex: upstream.tex, text: upstream.text, value: step.upstream, shape: upstreamShape };
  const contribution = { tex: lhs.tex, text: lhs.text, value: step.contribution, shape: inputShape };
  let symbolic;
  let terms;
  let product = null;
  let beforeSum = null;
  let ruleLines = [];
  let ruleNotes = [];
  if (elementwise) {
    const scalarProduct = isScalar(step.upstream) && isScalar(step.local.value);
    const op = scalarProduct ? ['\\cdot', '·'] : ['\\odot', '⊙'];
    const localTerm = { tex: local.tex, text: local.text, value: step.local.value, shape: shapeOf(step.local.value, upstreamShape) };
    symbolic = { tex: `${upstream.tex} ${op[0]} ${local.tex}`, text: `${upstream.text} ${op[1]} ${local.text}` };
    terms = [upstreamTerm, localTerm];
    product = (show) => ({
      tex: `${show(upstreamTerm).tex} ${op[0]} ${show(localTerm, true).tex}`,
      text: `${show(upstreamTerm).text} ${op[1]} ${show(localTerm, true).text}`,
    });
    if (note && Array.isArray(step.upstream)) {
      beforeSum = step.local.value === 1 ? step.upstream : combine(step.upstream, step.local.value, (x, y) => x * y);
    }
  } else {
    const operands = consumer.inputs.map((id) => termOf(response.nodes[id]));
    const rule = vjpRule(consumer, step.slot, upstreamTerm, operands, termOf(consumer), termOf(out));
    if (rule) {
      symbolic = { tex: rule.tex, text: rule.text };
      terms = rule.terms;
      product = rule.product ?? null;
      ruleLines = rule.lines ?? [];  // an index's scatter-add, row by row
      ruleNotes = rule.notes ?? [];
    } else {
      // No rule of ours: the op table's own formula, with the numbers it reads.
      const formula = (step.local?.formula ?? '').replace(/^[^=]*=\s*/, '');
      symbolic = { tex: `\\text{${escapeTex(formula)}}`, text: formula };
      terms = [upstreamTerm];
    }
    if (note && consumer.op === 'linear' && step.slot === 2) beforeSum = step.upstream;
  }

  const texParts = [lhs.tex, wrap(symbolic.tex)];
  const textParts = [lhs.text, wrapText(symbolic.text)];
  const lines = [];
  const heatmaps = [];
  const small = [...terms, contribution].every((term) => isShown(term.value, term.shape));
  if (small) {
    const numbers = [];
    if (product) {
      const numeric = product(show);
      numbers.push({ tex: wrap(numeric.tex), text: wrapText(numeric.text) });
    }
    numbers.push(show(contribution));
    if ([...terms, contribution].every((term) => isScalar(term.value))) {
      lines.push({ tex: [...texParts, ...numbers.map((n) => n.tex)].join(' = '), text: [...textParts, ...numbers.map((n) => n.text)].join(' = ') });
    } else {
      // Matrices side by side run off the panel: the formula, then each "= ..." on a line of its own.
      lines.push({ tex: texParts.join(' = '), text: textParts.join(' = ') });
      for (const part of numbers) lines.push({ tex: `= ${part.tex}`, text: `= ${part.text}` });
    }
    if (!product) {
      // The formula is not a plain product: its factors' values, one by one.
      const where = terms.filter((term) => !isScalar(term.value) || term !== upstreamTerm || terms.length === 1);
      lines.push({
        tex: `\\text{with } ${where.map((term) => `${term.tex} = ${show(term).tex}`).join(',\\quad ')}`,
        text: `with ${where.map((term) => `${term.text} = ${show(term).text}`).join(', ')}`,
      });
    }
  } else {
    lines.push({ tex: texParts.join(' = '), text: textParts.join(' = ') });
    // Too large to write out: the shapes that meet, a summary of the result, a heatmap of each.
    // Two short lines (they sit beside the heatmaps): the shapes that meet, the result's range.
    const shapes = `${terms.map((term) => shapeText(term)).join(elementwise ? ' ⊙ ' : ', ')} → ${formatShape(inputShape)}`;
    const range = rangeText(contribution);
    lines.push({ tex: `\\text{${escapeTex(shapes)}}`, text: shapes });
    lines.push({ tex: `\\text{${escapeTex(range)}}`, text: range });
    for (const term of [...terms, contribution]) {
      if (Array.isArray(term.value)) heatmaps.push({ label: term.text, value: term.value, shape: term.shape });
    }
  }

  lines.push(...ruleLines);
  // A small convolution's gradient entries worked out (explain-conv.js): the patch, the kernel, the sum.
  const operandTerms = consumer.inputs.map((id) => termOf(response.nodes[id]));
  lines.push(...convBackwardLines(consumer, step.slot, { operands: operandTerms, upstream: upstreamTerm, gradient: total }));

  if (note) {
    // Broadcasting undone: the numbers before and after the sum over the broadcast axes.
    const before = beforeSum === null ? null : { value: beforeSum, shape: upstreamShape, tex: '', text: '' };
    if (small && product) {
      // The product line above already reads Σ(before) = after, with the numbers.
    } else if (before && isShown(before.value, before.shape) && isShown(step.contribution, inputShape)) {
      lines.push({
        tex: `\\textstyle\\sum_{\\text{${axes}}} ${show(before).tex} = ${show(contribution).tex}`,
        text: `Σ over ${axes}: ${show(before).text} → ${show(contribution).text}`,
      });
    } else {
      const from = formatShape(upstreamShape);
      lines.push({
        tex: `\\text{${escapeTex(`summed over ${axes}: ${from} → ${formatShape(inputShape)}`)}}`,
        text: `summed over ${axes}: ${from} → ${formatShape(inputShape)}`,
      });
      if (before && Array.isArray(before.value) && before.value !== step.upstream) heatmaps.push({ label: `before the sum over ${axes}`, value: before.value, shape: upstreamShape });
    }
  }

  if (several && position > 0) {
    // The running sum: everything received so far on this node.
    const received = ledger.slice(0, position + 1);
    const partialSum = position + 1 < ledger.length;
    const equals = partialSum ? '\\mathrel{\\overset{\\text{so far}}{=}}' : '=';
    const accumulated = { value: step.accumulated, shape: inputShape, tex: total.tex, text: total.text };
    if (received.every((row) => isShown(row.contribution, inputShape)) && isShown(step.accumulated, inputShape)) {
      const sumTex = shortSum(sumTerms(received, (row, i) => texValue(row.contribution, inputShape, { parenthesizeNegative: i > 0 })), (n) => `\\ldots\\text{ ${n} more terms }\\ldots`);
      const sumText = shortSum(sumTerms(received, (row, i) => (i > 0 ? parenthesizedText(row.contribution, inputShape) : textValue(row.contribution, inputShape))), (n) => `… ${n} more terms …`);
      lines.push({
        tex: `${total.tex} ${equals} ${sumTex} = ${texValue(step.accumulated, inputShape)}`,
        text: `${total.text} ${partialSum ? '(so far) ' : ''}= ${sumText} = ${textValue(step.accumulated, inputShape)}`,
      });
    } else {
      const summary = `sum of ${received.length} contributions: ${rangeText(accumulated)}`;
      lines.push({ tex: `${total.tex} ${equals} \\text{${escapeTex(summary)}}`, text: `${total.text} ${partialSum ? '(so far) ' : ''}= ${summary}` });
      if (Array.isArray(step.accumulated)) heatmaps.push({ label: `${total.text} accumulated`, value: step.accumulated, shape: inputShape });
    }
  }
  const notes = [];
  if (step.local?.formula) notes.push(`local derivative: ${step.local.formula}`);
  notes.push(...ruleNotes);
  notes.push(...layerNotes(consumer, step.slot)); // why a layer's step looks so (explain-layers.js)
  notes.push(...attentionBackwardNotes(response, consumer, step.slot, operandText));
  if (note) notes.push(note);
  if (several) {
    notes.push(position + 1 < ledger.length
      ? `${input.label} is used ${ledger.length} times: contribution ${position + 1} of ${ledger.length}, more to come`
      : `${input.label} is used ${ledger.length} times: its gradient is the sum of all ${ledger.length} contributions`);
  }
  markHeads(heatmaps, [consumer, input, ...consumer.inputs.map((id) => response.nodes[id])], response); // attention: a map per head
  return { kind: 'backward', node: consumer.id, input: input.id, lines, notes, heatmaps, ledger, ledgerPosition: position };
}

/** A node as a term of a formula: its label as TeX and text, with its value. */
function termOf(node) {
  return { tex: operandTex(node.label), text: operandText(node.label), value: node.value, shape: node.shape, op: node.op };
}

/** A small term's value, as TeX and text (negative numbers in parentheses where asked). */
function show(term, parenthesize = false) {
  const shape = isScalar(term.value) ? [] : term.shape;
  return {
    tex: texValue(term.value, shape, { parenthesizeNegative: parenthesize }),
    text: parenthesize ? parenthesizedText(term.value, shape) : textValue(term.value, shape),
  };
}

function shapeText(term) {
  return isScalar(term.value) ? 'scalar' : formatShape(term.shape);
}

/** A value too large to write out, in a few numbers: its range and norm. */
function rangeText(term) {
  const { min, max, norm } = stats(term.value, term.shape);
  return `min ${formatNumber(min)}, max ${formatNumber(max)}, norm ${formatNumber(norm)}`;
}

export { shortSum };

/** `rows` formatted for shortSum: only the terms it keeps are written (a weight shared by every
 * step of a long recurrence has thousands of terms). */
function sumTerms(rows, format) {
  const kept = rows.length <= SUM_TERMS ? null : new Set([0, 1, 2, rows.length - 2, rows.length - 1]);
  return rows.map((row, i) => (kept && !kept.has(i) ? '' : format(row, i)));
}

function shapeOf(value, fallbackShape) {
  return isScalar(value) ? [] : fallbackShape;
}

/** The panel's content at a stepper view (see stepper.viewAt). */
export function explainView(response, view) {
  if (!view.current) {
    return {
      kind: 'start',
      lines: [],
      notes: [response.steps.length
        ? 'Inputs are known. Step forward (→) to compute each node in order; then the backward pass sends gradients back along each edge.'
        : 'Nothing to compute: the program is a single input.'],
    };
  }
  const index = view.position - 1;
  const explanation = view.current.phase === 'forward'
    ? explainForward(response, view.current)
    : explainBackward(response, view.current, index);
  if (view.phase === 'done' && view.inBackward) explanation.notes.push(summary(response));
  return explanation;
}

const MAX_SUMMARY_GRADS = 8;

/** The last step also sums up: every input's gradient, as the whole pass produced it. */
function summary(response) {
  const out = response.nodes[response.output];
  const grads = response.nodes
    .filter((node) => node.op === 'input' && node.grad !== null)
    .map((node) => `∂${operandText(out.label)}/∂${node.label} = ${isScalar(node.grad) ? formatNumber(node.grad) : `${formatShape(node.shape)}, norm ${formatNumber(stats(node.grad, node.shape).norm)}`}`);
  const shown = grads.slice(0, MAX_SUMMARY_GRADS).join(', ');
  const more = grads.length > MAX_SUMMARY_GRADS ? ` and ${grads.length - MAX_SUMMARY_GRADS} more (click an input to inspect it)` : '';
  return `Backward pass complete${grads.length ? `: ${shown}${more}` : ''}.`;
}

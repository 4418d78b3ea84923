/**
 * The vector-Jacobian products of the ops that are not elementwise, as the math a student reads:
 * for a backward step into operand `slot` of `node`, the formula (∂L/∂W = xᵀ · ∂L/∂out) and the
 * factors it multiplies, each with its actual value, so the explanation can typeset the real
 * matrices (or heatmaps of them). Pure: values in, terms out; the op table's own formula text
 * (step.local.formula) is the fallback for an op without a rule here.
 *
 * A rule answers {tex, text, factors: [{tex, text, value, shape} | {operator, text}]}; `upstream`
 * and the operands are {tex, text, value, shape} terms built by explain.js.
 */
import { elementCount, flatten } from './tensor.js';

/** A 2-D (or 1-D, as one row) value transposed; other ranks are not transposed here. */
export function transposed(term) {
  if (term.shape.length > 2 || term.value === null || typeof term.value !== 'object' || !Array.isArray(term.value)) return null;
  const shape = term.shape.length === 1 ? [term.shape[0], 1] : [term.shape[1], term.shape[0]];
  const { data, rows, cols } = flatten(term.value, term.shape);
  const value = [];
  for (let c = 0; c < cols; c += 1) {
    const row = [];
    for (let r = 0; r < rows; r += 1) row.push(data[r * cols + c]);
    value.push(row);
  }
  return { tex: `${term.tex}^{\\top}`, text: `${term.text}ᵀ`, value, shape };
}

/** Row-wise softmax of a 1-D or 2-D value (the last axis), as the engine computes it. */
export function softmaxRows(value, shape) {
  const { data, rows, cols } = flatten(value, shape);
  const out = [];
  for (let r = 0; r < rows; r += 1) {
    const row = Array.from(data.subarray(r * cols, (r + 1) * cols));
    const top = Math.max(...row);
    const exps = row.map((x) => Math.exp(x - top));
    const total = exps.reduce((a, b) => a + b, 0);
    out.push(exps.map((x) => x / total));
  }
  return shape.length === 1 ? out[0] : out;
}

/** onehot(labels, classes) for labels of shape () or (N,). */
export function onehotRows(labels, classes) {
  const row = (label) => Array.from({ length: classes }, (_, c) => (c === Number(label) ? 1 : 0));
  return Array.isArray(labels) ? labels.map(row) : row(labels);
}

/** fn applied elementwise to nested lists (or a list and a number), as numpy broadcasts them here. */
export function combine(a, b, fn) {
  if (!Array.isArray(a)) return Array.isArray(b) ? b.map((y) => combine(a, y, fn)) : fn(Number(a), Number(b));
  if (!Array.isArray(b)) return a.map((x) => combine(x, b, fn));
  return a.map((x, i) => combine(x, b[i], fn));
}

const sameShape = (a, b) => a.shape.length === b.shape.length && a.shape.every((size, k) => size === b.shape[k]);

/**
 * The rule of op `node.op` for operand `slot`: upstream is ∂L/∂node, operands the node's
 * operand terms, out the node's own term. Answers {tex, text, terms, product} or null when the
 * op has no rule here: `terms` are the values the formula reads (shown with their numbers), and
 * `product`, where the formula is a plain product of them, writes it with each term rendered
 * by `show` (so the numbers can be substituted in: [g] · [Wᵀ]).
 */
export function vjpRule(node, slot, upstream, operands, out) {
  const rule = RULES[node.op];
  return rule ? rule(slot, upstream, operands, out, node) : null;
}

function product(terms, operators) {
  return (show) => ({
    tex: terms.map((term, i) => (i ? `${operators[i - 1][0]} ${show(term).tex}` : show(term).tex)).join(' '),
    text: terms.map((term, i) => (i ? `${operators[i - 1][1]} ${show(term).text}` : show(term).text)).join(' '),
  });
}

const DOT = ['\\cdot', '·'];
const ODOT = ['\\odot', '⊙'];

function scalarTerm(tex, text, value) {
  return { tex, text, value, shape: [] };
}

const RULES = {
  matmul(slot, upstream, [a, b]) {
    if (a.shape.length !== 2 || b.shape.length !== 2) return null;
    const [left, right] = slot === 0 ? [upstream, transposed(b)] : [transposed(a), upstream];
    if (!left || !right) return null;  // a value sent as a summary cannot be transposed
    return {
      tex: `${left.tex} \\cdot ${right.tex}`, text: `${left.text} · ${right.text}`,
      terms: [left, right], product: product([left, right], [DOT]),
    };
  },
  linear(slot, upstream, [x, W], out) {
    if (slot === 2) return { tex: upstream.tex, text: upstream.text, terms: [upstream], product: product([upstream], []) };
    if (upstream.shape.length !== 2) return null;
    return RULES.matmul(slot, upstream, [x, W], out);
  },
  sum(slot, upstream) {
    return {
      tex: `${upstream.tex}\\ \\text{copied to each summed element}`,
      text: `${upstream.text} copied to each summed element`,
      terms: [upstream],
    };
  },
  mean(slot, upstream, [x], out) {
    const n = elementCount(x.shape) / Math.max(1, elementCount(out.shape));
    return {
      tex: `\\tfrac{1}{${n}}\\, ${upstream.tex}\\ \\text{to each averaged element}`,
      text: `(1/${n}) · ${upstream.text} to each averaged element`,
      terms: [upstream],
    };
  },
  max(slot, upstream, [x]) {
    return {
      tex: `${upstream.tex}\\ \\text{at the maxima of } ${x.tex},\\ 0\\ \\text{elsewhere}`,
      text: `${upstream.text} at the maxima of ${x.text}, 0 elsewhere`,
      terms: [upstream, x],
    };
  },
  min(slot, upstream, [x]) {
    return {
      tex: `${upstream.tex}\\ \\text{at the minima of } ${x.tex},\\ 0\\ \\text{elsewhere}`,
      text: `${upstream.text} at the minima of ${x.text}, 0 elsewhere`,
      terms: [upstream, x],
    };
  },
  softmax(slot, upstream, operands, out) {
    return {
      tex: `${out.tex} \\odot \\left(${upstream.tex} - \\textstyle\\sum ${upstream.tex} \\odot ${out.tex}\\right)`,
      text: `${out.text} ⊙ (${upstream.text} − Σ ${upstream.text} ⊙ ${out.text})`,
      terms: [out, upstream],
    };
  },
  log_softmax(slot, upstream, operands, out) {
    const probabilities = { tex: `e^{${out.tex}}`, text: `exp(${out.text})`, value: combine(out.value, 0, (x) => Math.exp(x)), shape: out.shape };
    return {
      tex: `${upstream.tex} - e^{${out.tex}} \\textstyle\\sum ${upstream.tex}`,
      text: `${upstream.text} − exp(${out.text}) · Σ ${upstream.text}`,
      terms: [upstream, probabilities],
    };
  },
  mse(slot, upstream, [pred, target], out, node) {
    if (!sameShape(pred, target) || pred.value === null || target.value === null) return null;
    const reduction = node.params?.reduction ?? 'mean';
    const n = reduction === 'mean' ? elementCount(pred.shape) : 1;
    const sign = slot === 0 ? 1 : -1;
    const difference = {
      tex: `(${pred.tex} - ${target.tex})`, text: `(${pred.text} − ${target.text})`,
      value: combine(pred.value, target.value, (p, t) => p - t), shape: pred.shape,
    };
    const two = n === 1 ? ['2', '2'] : [`\\tfrac{2}{${n}}`, `2/${n}`];
    const factor = scalarTerm(`${sign < 0 ? '-' : ''}${two[0]}`, `${sign < 0 ? '−' : ''}${two[1]}`, (2 * sign) / n);
    const first = reduction === 'none' ? ODOT : DOT;
    return {
      tex: `${upstream.tex} ${first[0]} ${factor.tex} ${difference.tex}`,
      text: `${upstream.text} ${first[1]} ${factor.text} · ${difference.text}`,
      terms: [upstream, difference], product: product([upstream, factor, difference], [first, DOT]),
    };
  },
  softmax_cross_entropy(slot, upstream, [logits, labels], out, node) {
    const params = node.params || {};
    const plain = !params.weight && (params.ignore_index ?? null) === null && !params.label_smoothing;
    if (!plain || logits.value === null || labels.value === null || logits.shape.length > 2) return null;
    const classes = logits.shape.at(-1);
    const reduction = params.reduction ?? 'mean';
    const n = reduction === 'mean' && logits.shape.length === 2 ? logits.shape[0] : 1;
    const probabilities = { tex: `\\operatorname{softmax}(${logits.tex})`, text: `softmax(${logits.text})`, value: softmaxRows(logits.value, logits.shape), shape: logits.shape };
    const onehot = { tex: `\\operatorname{onehot}(${labels.tex})`, text: `onehot(${labels.text})`, value: onehotRows(labels.value, classes), shape: logits.shape };
    const scale = reduction === 'none' ? '\\odot_{\\text{rows}}' : '\\cdot';
    return {
      tex: `${upstream.tex} ${scale} \\tfrac{1}{${n}} \\left(${probabilities.tex} - ${onehot.tex}\\right)`,
      text: `${upstream.text} ${reduction === 'none' ? '⊙ (by row)' : '·'} (1/${n}) · (${probabilities.text} − ${onehot.text})`,
      terms: [upstream, probabilities, onehot],
    };
  },
  transpose(slot, upstream) {
    if (upstream.shape.length !== 2) return null;
    return { tex: `\\left(${upstream.tex}\\right)^{\\top}`, text: `(${upstream.text})ᵀ`, terms: [upstream] };
  },
  reshape(slot, upstream, [x]) {
    return {
      tex: `${upstream.tex}\\ \\text{reshaped to } (${x.shape.join(',\\,')})`,
      text: `${upstream.text} reshaped to (${x.shape.join(', ')})`,
      terms: [upstream],
    };
  },
};

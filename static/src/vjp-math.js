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
import { elementCount, flatten, formatNumber, formatShape, isSummary, toNumber } from './tensor.js';
import { describeKey, gatherSources, indexSources, scatterUnits } from './index-math.js';

/** Characters TeX reads as commands, escaped (in \text{} and in math alike). */
export function escapeTex(text) {
  return String(text).replace(/[\\{}&#%$_^~]/g, (char) => (char === '\\' ? '\\backslash ' : `\\${char}`));
}

const textTex = (text) => `\\text{${escapeTex(text)}}`;

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
  // An operand already transposed (h @ W2.T) is bracketed: W^{\\top}^{\\top} is a TeX error.
  const tex = /\^/.test(term.tex) ? `\\left(${term.tex}\\right)^{\\top}` : `${term.tex}^{\\top}`;
  return { tex, text: `${term.text}ᵀ`, value, shape };
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
export function vjpRule(node, slot, upstream, operands, out, loss = { tex: 'L', text: 'L' }) {
  const rule = RULES[node.op];
  return rule ? rule(slot, upstream, operands, out, node, loss) : null;
}

/** Sums of more than SUM_TERMS terms keep their first three and last two around "… n terms …". */
export const SUM_TERMS = 6;
export function shortSum(terms, elided) {
  if (terms.length <= SUM_TERMS) return terms.join(' + ');
  return [...terms.slice(0, 3), elided(terms.length - 5), ...terms.slice(-2)].join(' + ');
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
  linear_t(slot, upstream, [x, W]) {
    // F.linear: out = x @ Wᵀ + b, so ∂L/∂x = g · W and ∂L/∂W = gᵀ · x.
    if (slot === 2) return { tex: upstream.tex, text: upstream.text, terms: [upstream], product: product([upstream], []) };
    if (upstream.shape.length !== 2 || x.shape.length !== 2) return null;
    const [left, right] = slot === 0 ? [upstream, W] : [transposed(upstream), x];
    if (!left) return null;
    return {
      tex: `${left.tex} \\cdot ${right.tex}`, text: `${left.text} · ${right.text}`,
      terms: [left, right], product: product([left, right], [DOT]),
    };
  },
  index(slot, upstream, [x, ...indices], out, node, loss) {
    if (slot !== 0) return null;
    const key = node.params?.key ?? [];
    const at = `${x.text}${describeKey(key, indices.map((index) => index.text))}`;
    if (!indices.length) {
      // A basic index (a slice, split's pieces) reads each element once: nothing adds up.
      return {
        tex: `${upstream.tex}\\ \\text{placed at } ${textTex(at)}\\text{, 0 elsewhere}`,
        text: `${upstream.text} placed at ${at}, 0 elsewhere`,
        terms: [upstream],
      };
    }
    // The upstream gradient is called g: the headline and the rows below stay short.
    const zeros = formatShape(x.shape);
    return {
      tex: `\\text{scatter-add of } g \\text{ into zeros (${zeros}) at } ${textTex(at)}`,
      text: `scatter-add of g into zeros (${zeros}) at ${at}`,
      terms: [upstream],
      lines: [{ tex: `g = ${upstream.tex}`, text: `g = ${upstream.text}` }, ...scatterLines(x, indexSources(x.shape, key, indices), upstream, loss)],
      notes: ['each element of g goes back to where it was read from; where an index repeats, they add up'],
    };
  },
  gather(slot, upstream, [x, index], out, node, loss) {
    // torch.gather / the pair of x.max(1): the same scatter-add as an index, along one axis.
    if (slot !== 0) return null;
    const axis = normalAxis(node.params?.axis ?? 0, x.shape.length);
    const zeros = formatShape(x.shape);
    // The values of x.max(1): gathered at the argmax, which is what sends ties' gradient to one element.
    const extreme = { argmax: 'the maxima', argmin: 'the minima' }[index.op];
    const at = extreme ? { tex: `\\text{${extreme}}`, text: extreme } : index;
    return {
      tex: `\\text{scatter-add of } g \\text{ into zeros (${zeros}) along axis ${axis}, at } ${at.tex}`,
      text: `scatter-add of g into zeros (${zeros}) along axis ${axis}, at ${at.text}`,
      terms: [upstream],
      lines: [{ tex: `g = ${upstream.tex}`, text: `g = ${upstream.text}` }, ...scatterLines(x, gatherSources(x.shape, index, axis), upstream, loss)],
      notes: [`each element of g goes back to the position along axis ${axis} that ${extreme ? index.op : index.text} names; repeats add up`],
    };
  },
  cat(slot, upstream, operands, out, node) {
    const axis = normalAxis(node.params?.axis ?? 0, out.shape.length);
    const start = operands.slice(0, slot).reduce((total, operand) => total + operand.shape[axis], 0);
    const stop = start + operands[slot].shape[axis];
    const cut = out.shape.map((_, k) => (k === axis ? `${start}:${stop}` : ':')).join(', ');
    return sliceOf(upstream, cut, `${operands[slot].text}'s place in the concatenation (axis ${axis})`);
  },
  stack(slot, upstream, operands, out, node) {
    const axis = normalAxis(node.params?.axis ?? 0, out.shape.length);
    const cut = out.shape.map((_, k) => (k === axis ? String(slot) : ':')).slice(0, axis + 1).join(', ');
    return sliceOf(upstream, cut, `${operands[slot].text}'s position along the new axis ${axis}`);
  },
  where(slot, upstream, [cond]) {
    if (slot === 0) return null;
    return masked(upstream, cond, slot === 1, slot === 1 ? `passes where ${cond.text} holds, 0 elsewhere` : `passes where ${cond.text} does not hold, 0 elsewhere`);
  },
  masked_fill(slot, upstream, [, mask], out, node) {
    if (slot !== 0) return null;
    const value = formatNumber(node.params?.value ?? 0);
    return masked(upstream, mask, false, `passes where ${mask.text} is false, 0 where it filled in ${value}`);
  },
  clamp(slot, upstream, [x], out, node) {
    const low = node.params?.min ?? null;
    const high = node.params?.max ?? null;
    const bounds = [low === null ? null : formatNumber(low), high === null ? null : formatNumber(high)];
    const condition = { tex: `${bounds[0] ?? ''}${bounds[0] ? ' \\leq ' : ''}${x.tex}${bounds[1] ? ' \\leq ' : ''}${bounds[1] ?? ''}`,
      text: `${bounds[0] ?? ''}${bounds[0] ? ' ≤ ' : ''}${x.text}${bounds[1] ? ' ≤ ' : ''}${bounds[1] ?? ''}` };
    const inside = (v) => (low === null || v >= toNumber(low)) && (high === null || v <= toNumber(high));
    const cond = { ...condition, value: valueOf(x) === null ? null : combine(x.value, 0, (v) => (inside(v) ? 1 : 0)), shape: x.shape };
    return masked(upstream, cond, true, `passes where ${condition.text} (bounds included), 0 elsewhere`);
  },
  tril(slot, upstream, operands, out, node) {
    return triangle(upstream, 'lower', 'above', node.params?.diagonal ?? 0);
  },
  triu(slot, upstream, operands, out, node) {
    return triangle(upstream, 'upper', 'below', node.params?.diagonal ?? 0);
  },
};

function normalAxis(axis, ndim) {
  return axis < 0 ? axis + ndim : axis;
}

function valueOf(term) {
  return term.value === null || term.value === undefined || isSummary(term.value) ? null : term.value;
}

/** ∂L/∂operand as a slice of the upstream gradient (cat, stack). */
function sliceOf(upstream, cut, where) {
  return {
    tex: `${upstream.tex}\\left[${escapeTex(cut)}\\right]`,
    text: `${upstream.text}[${cut}]`,
    terms: [upstream],
    notes: [`the slice of ${upstream.text} at ${where}`],
  };
}

/** ∂L/∂out ⊙ 1[condition] (or its complement): where, masked_fill, clamp. */
function masked(upstream, cond, holds, words) {
  // Inside 1[...] a compound condition needs no parentheses of its own: 1[a > 0], not 1[(a > 0)].
  const tex = holds ? cond.tex.replace(/^\\left\((.*)\\right\)$/, '$1') : cond.tex;
  const text = holds ? cond.text.replace(/^\((.*)\)$/, '$1') : cond.text;
  const indicator = {
    tex: `\\mathbb{1}\\left[${holds ? '' : '\\lnot\\,'}${tex}\\right]`,
    text: `1[${holds ? '' : 'not '}${text}]`,
    value: valueOf(cond) === null ? null : combine(cond.value, 0, (c) => ((toNumber(c) !== 0) === holds ? 1 : 0)),
    shape: cond.shape,
  };
  const together = indicator.value !== null && sameShape(indicator, upstream);
  return {
    tex: `${upstream.tex} \\odot ${indicator.tex}`,
    text: `${upstream.text} ⊙ ${indicator.text}`,
    terms: together ? [upstream, indicator] : [upstream],
    product: together ? product([upstream, indicator], [ODOT]) : null,
    notes: [`the gradient masked: ${upstream.text} ${words}`],
  };
}

function triangle(upstream, kept, zeroed, diagonal) {
  const which = diagonal ? ` (diagonal ${diagonal})` : '';
  return {
    tex: `\\text{the ${kept} triangle${escapeTex(which)} of } ${upstream.tex}\\text{, 0 ${zeroed} it}`,
    text: `the ${kept} triangle${which} of ${upstream.text}, 0 ${zeroed} it`,
    terms: [upstream],
  };
}

/** Rows (or elements) written out in the scatter-add of an index: at most this many. */
export const MAX_SCATTER_LINES = 8;
/** Results up to this many elements are read back element by element for the scatter-add. */
const MAX_SCATTER_ELEMENTS = 4096;
/** A row sum is written with its vectors when it has at most this many terms of at most 6 numbers. */
const MAX_WRITTEN_TERMS = 2;

/**
 * The scatter-add of an index, row by row: which positions of the upstream gradient g add into each
 * row of ∂L/∂x that receives anything (or each element, when rows are not read whole), with the
 * numbers where they fit on a line.
 */
function scatterLines(x, read, upstream, loss) {
  const g = valueOf(upstream);
  if (g === null || elementCount(upstream.shape) > MAX_SCATTER_ELEMENTS) return [];
  if (!read || read.shape.length !== upstream.shape.length || read.shape.some((size, k) => size !== upstream.shape[k])) return [];
  const { mode, units, missed } = scatterUnits(x.shape, read);
  const data = flatten(g, upstream.shape).data;
  const rowSize = mode === 'rows' ? elementCount(x.shape.slice(1)) : 1;
  const outerStrides = [];
  const outer = mode === 'rows' ? upstream.shape.slice(0, upstream.shape.length - (x.shape.length - 1)) : upstream.shape;
  for (let k = outer.length - 1, stride = 1; k >= 0; k -= 1) { outerStrides[k] = stride; stride *= outer[k]; }
  const at = (position) => position.reduce((flat, i, k) => flat + i * outerStrides[k], 0) * rowSize;
  const vector = (start) => Array.from(data.subarray(start, start + rowSize));
  const lines = [mode === 'rows' ? { tex: textTex('row by row:'), text: 'row by row:' } : { tex: textTex('element by element:'), text: 'element by element:' }];
  const written = rowSize <= 6;
  for (const unit of units.slice(0, MAX_SCATTER_LINES)) {
    const where = unit.target.join(', ');
    const names = unit.from.map((position) => ({ tex: `g_{${position.join(',')}}`, text: `g[${position.join(', ')}]` }));
    const elided = (n) => ({ tex: `\\ldots\\text{ ${n} more }\\ldots`, text: `… ${n} more …` });
    const values = unit.from.map((position) => vector(at(position)));
    const total = values.reduce((sum, row) => sum.map((v, i) => v + row[i]));
    const number = (row) => (rowSize === 1 && mode === 'elements' ? formatNumber(row[0]) : `[${row.map((v) => formatNumber(v)).join(', ')}]`);
    const numberTex = (row) => (rowSize === 1 && mode === 'elements' ? texNumber(row[0]) : `\\begin{bmatrix}${row.map(texNumber).join(' & ')}\\end{bmatrix}`);
    const head = mode === 'rows'
      ? { tex: `\\text{row ${where} of } \\partial ${loss.tex}/\\partial ${x.tex}`, text: `row ${where} of ∂${loss.text}/∂${x.text}` }
      : { tex: `\\partial ${loss.tex}/\\partial ${x.tex}_{${unit.target.join(',')}}`, text: `∂${loss.text}/∂${x.text}[${where}]` };
    // A row read many times (the padding character's embedding) keeps its first two terms and its last.
    const short = (parts, gap) => (parts.length <= 4 ? parts : [...parts.slice(0, 2), gap(parts.length - 3), parts.at(-1)]).join(' + ');
    const texParts = [head.tex, short(names.map((name) => name.tex), (n) => elided(n).tex)];
    const textParts = [head.text, short(names.map((name) => name.text), (n) => elided(n).text)];
    if (written && values.length > 1 && values.length <= MAX_WRITTEN_TERMS) {
      texParts.push(values.map(numberTex).join(' + '));
      textParts.push(values.map(number).join(' + '));
    }
    if (written) {
      texParts.push(numberTex(total));
      textParts.push(number(total));
    }
    lines.push({ tex: texParts.join(' = '), text: textParts.join(' = ') });
  }
  if (units.length > MAX_SCATTER_LINES) {
    const more = units.length - MAX_SCATTER_LINES;
    const what = mode === 'rows' ? `row${more === 1 ? '' : 's'}` : `element${more === 1 ? '' : 's'}`;
    lines.push({ tex: `\\ldots\\text{ and ${more} more ${what}}`, text: `… and ${more} more ${what}` });
  }
  if (missed > 0) {
    const what = mode === 'rows' ? `row${missed === 1 ? '' : 's'}` : `element${missed === 1 ? '' : 's'}`;
    const [count, verb, pronoun] = missed === 1 ? ['', 'is', 'it'] : [`${missed} `, 'are', 'them'];
    lines.push({
      tex: `\\text{the other ${count}${what} of } \\partial ${loss.tex}/\\partial ${x.tex} \\text{ ${verb} 0: nothing was read from ${pronoun}}`,
      text: `the other ${count}${what} of ∂${loss.text}/∂${x.text} ${verb} 0: nothing was read from ${pronoun}`,
    });
  }
  return lines;
}

/** A number as TeX: ∞, ≈0 and exponents spelled for KaTeX. */
export function texNumber(value) {
  return formatNumber(value).replace('∞', '\\infty').replace('≈', '\\approx ').replace(/e(-?\d+)$/, '\\times 10^{$1}');
}

// A small convolution's backward step in real numbers (explain.js adds these lines to the step):
// the weight's gradient entry by entry, as ∂L/∂out correlated with the input patch that kernel
// weight met; the input's, as the ∂L/∂out entries each input element reached met by the kernel
// weights it was multiplied with (a full correlation with the kernel turned 180°); the bias's, as
// the sum of its channel's ∂L/∂out. Larger steps keep explain.js's shapes, statistics and heatmaps.
// (explain.js imports this module and it reads explain.js's matrix writers: a cycle that is safe,
// as neither uses the other before the page runs.)

import { texValue, textValue } from './explain.js';
import { SUM_TERMS, shortSum, texNumber } from './vjp-math.js';
import { elementCount, formatNumber, isSummary } from './tensor.js';

/** Lines (gradient entries) a step shows; the rest are counted. */
export const MAX_ENTRIES = 9;
/** Products worked out per step at most: past it the step is not small. */
const MAX_PRODUCTS = 4096;
/** ∂L/∂out and the patch are written as matrices up to this side (explain.js's isWritable). */
const MAX_SIDE = 6;

function pair(value, fallback) {
  if (value === undefined || value === null) return [fallback, fallback];
  return Array.isArray(value) ? (value.length === 1 ? [value[0], value[0]] : value) : [value, value];
}

/**
 * The convolution as 4-D nested arrays and its geometry: x [N][C][H][W], w [O][C/groups][kh][kw],
 * g (∂L/∂out, when `upstream` is given) [N][O][Ho][Wo]; a conv1d is a conv2d of height 1, an unbatched
 * input a batch of one (explain-layers.js's forward step uses it too).
 * Null when a value came as a summary.
 */
export function convGeometry(node, operands, upstream = null) {
  const [input, weight] = operands;
  const values = [input.value, weight.value, ...(upstream ? [upstream.value] : [])];
  if (values.some((value) => value === null || value === undefined || isSummary(value))) return null;
  const one = node.op === 'conv1d';
  const batched = input.shape.length === (one ? 3 : 4);
  // A conv1d's [C][L] image is [C][1][L]; its [O][C][k] kernel [O][C][1][k].
  const image = (value) => (one ? value.map((channel) => [channel]) : value);
  const x = (batched ? input.value : [input.value]).map(image);
  const g = upstream ? (batched ? upstream.value : [upstream.value]).map(image) : null;
  const w = one ? weight.value.map(image) : weight.value;
  const params = node.params ?? {};
  // A conv1d's height axis has the defaults (stride 1, no padding, dilation 1).
  const [stride, padding, dilation] = [['stride', 1], ['padding', 0], ['dilation', 1]].map(([name, fallback]) => (one
    ? [fallback, pair(params[name], fallback)[0]]
    : pair(params[name], fallback)));
  return { x, w, g, batched, one, stride, padding, dilation, groups: params.groups ?? 1 };
}

/** The input element at padded position (r, q) of image n, channel c: 0 in the padding. */
export function inputAt({ x, padding }, n, c, r, q) {
  const row = r - padding[0];
  const col = q - padding[1];
  const image = x[n][c];
  return row >= 0 && col >= 0 && row < image.length && col < image[0].length ? { value: image[row][col], row, col } : null;
}

/**
 * An index as the program's tensors have it: "o, c, i, j" without a conv1d's height axis, and
 * without the first axis where it is the batch (`batchFirst`) of an unbatched input.
 */
function written(geometry, [first, second, row, col], batchFirst) {
  return [...(batchFirst && !geometry.batched ? [] : [first]), second, ...(geometry.one ? [] : [row]), col].join(', ');
}

function products(pairs) {
  const first = (number, k) => (k ? paren(number) : number); // "a·b + (-c)·d"
  const tex = shortSum(pairs.map(([a, b], k) => `${first(texNumber(a), k)}\\cdot${paren(texNumber(b))}`), (n) => `\\ldots\\text{ ${n} more }\\ldots`);
  const text = shortSum(pairs.map(([a, b], k) => `${first(formatNumber(a), k)}·${paren(formatNumber(b))}`), (n) => `… ${n} more …`);
  return { tex, text };
}

/** " = 0.125", or " ≈ 0" where the sum is float noise (formatNumber's ≈0): "= ≈0" would read oddly. */
function result(total) {
  const text = formatNumber(total);
  return text.startsWith('≈') ? { tex: ' \\approx 0', text: ' ≈ 0' } : { tex: ` = ${texNumber(total)}`, text: ` = ${text}` };
}

function paren(number) {
  return number.startsWith('-') ? `(${number})` : number;
}

/** ∂L/∂W[o, c, i, j] = Σ over n, y, x of ∂L/∂out[n, o, y, x] · x at the place kernel weight (i, j) met. */
function weightLines(geometry, gradient, upstream) {
  const { w, g, stride, dilation, groups } = geometry;
  const [N, O, Ho, Wo] = [g.length, w.length, g[0][0].length, g[0][0][0].length];
  const perGroup = O / groups;
  const [C, kh, kw] = [w[0].length, w[0][0].length, w[0][0][0].length];
  const count = O * C * kh * kw;
  const lines = [];
  const asMatrix = N === 1 && Ho <= MAX_SIDE && Wo <= MAX_SIDE;
  for (let entry = 0; entry < Math.min(count, MAX_ENTRIES); entry += 1) {
    const [o, c, i, j] = [Math.floor(entry / (C * kh * kw)), Math.floor(entry / (kh * kw)) % C, Math.floor(entry / kw) % kh, entry % kw];
    const channel = Math.floor(o / perGroup) * C + c;
    const pairs = [];
    const patch = [];
    let total = 0;
    for (let n = 0; n < N; n += 1) {
      for (let y = 0; y < Ho; y += 1) {
        const patchRow = [];
        for (let q = 0; q < Wo; q += 1) {
          const met = inputAt(geometry, n, channel, y * stride[0] + i * dilation[0], q * stride[1] + j * dilation[1]);
          const value = met ? met.value : 0;
          patchRow.push(value);
          pairs.push([g[n][o][y][q], value]);
          total += g[n][o][y][q] * value;
        }
        patch.push(patchRow);
      }
    }
    const index = written(geometry, [o, c, i, j], false);
    const lhs = { tex: `\\left(${gradient.tex}\\right)_{${index}}`, text: `${gradient.text}[${index}]` };
    if (asMatrix) {
      // One image: ∂L/∂out of channel o (written once, on a line of its own) ⊙ the Ho × Wo patch, summed.
      const shape = [Ho, Wo];
      const upstreamIndex = geometry.batched ? `0, ${o}` : `${o}`;
      const g0 = { tex: `\\left(${upstream.tex}\\right)_{${upstreamIndex}}`, text: `${upstream.text}[${upstreamIndex}]` };
      if (c === 0 && i === 0 && j === 0) {
        lines.push({ tex: `${g0.tex} = ${texValue(g[0][o], shape)}`, text: `${g0.text} = ${textValue(g[0][o], shape)}`, wide: true });
      }
      lines.push({
        tex: `${lhs.tex} = \\textstyle\\sum ${g0.tex} \\odot ${texValue(patch, shape)}${result(total).tex}`,
        text: `${lhs.text} = Σ ${g0.text} ⊙ patch ${textValue(patch, shape)}${result(total).text}`,
        entry,
        value: total,
        wide: true,
      });
    } else {
      const sum = products(pairs);
      lines.push({ tex: `${lhs.tex} = ${sum.tex}${result(total).tex}`, text: `${lhs.text} = ${sum.text}${result(total).text}`, entry, value: total, wide: true });
    }
  }
  return { lines, count };
}

/** ∂L/∂x[n, c, r, q] = Σ of ∂L/∂out[n, o, y, x] · W[o, c', i, j] over every output that read x[n, c, r, q]. */
function inputLines(geometry, gradient, upstream, [input, weight]) {
  const { x, w, g, stride, padding, dilation, groups } = geometry;
  const [Cin, H, W] = [x[0].length, x[0][0].length, x[0][0][0].length];
  const [O, Cg, kh, kw] = [w.length, w[0].length, w[0][0].length, w[0][0][0].length];
  const perGroup = O / groups;
  const [Ho, Wo] = [g[0][0].length, g[0][0][0].length];
  const lines = [];
  const count = elementCount(input.shape);
  for (let entry = 0; entry < Math.min(count, MAX_ENTRIES); entry += 1) {
    const [n, c, r, q] = [Math.floor(entry / (Cin * H * W)), Math.floor(entry / (H * W)) % Cin, Math.floor(entry / W) % H, entry % W];
    const group = Math.floor(c / Cg);
    const pairs = [];
    const names = [];
    let total = 0;
    for (let o = group * perGroup; o < (group + 1) * perGroup; o += 1) {
      for (let i = 0; i < kh; i += 1) {
        for (let j = 0; j < kw; j += 1) {
          // Output (y, x) read this element with weight (i, j) when y·stride + i·dilation lands on it.
          const rowAt = r + padding[0] - i * dilation[0];
          const colAt = q + padding[1] - j * dilation[1];
          if (rowAt % stride[0] || colAt % stride[1]) continue;
          const [y, xo] = [rowAt / stride[0], colAt / stride[1]];
          if (y < 0 || xo < 0 || y >= Ho || xo >= Wo) continue;
          pairs.push([g[n][o][y][xo], w[o][c % Cg][i][j]]);
          names.push(`${upstream.text}[${written(geometry, [n, o, y, xo], true)}]·${weight.text}[${written(geometry, [o, c % Cg, i, j], false)}]`);
          total += g[n][o][y][xo] * w[o][c % Cg][i][j];
        }
      }
    }
    const index = written(geometry, [n, c, r, q], true);
    const lhs = { tex: `\\left(${gradient.tex}\\right)_{${index}}`, text: `${gradient.text}[${index}]` };
    if (!pairs.length) {
      lines.push({ tex: `${lhs.tex} = 0 \\quad\\text{(no output read it)}`, text: `${lhs.text} = 0 (no output read it)`, entry, value: 0, wide: true });
      continue;
    }
    const sum = products(pairs);
    const which = pairs.length <= SUM_TERMS ? ` (${names.join(' + ')})` : ` (${pairs.length} products)`;
    lines.push({ tex: `${lhs.tex} = ${sum.tex}${result(total).tex}`, text: `${lhs.text} = ${sum.text}${result(total).text}${which}`, entry, value: total, wide: true });
  }
  return { lines, count };
}

/** ∂L/∂b[o] = Σ ∂L/∂out[n, o, y, x]: every output of channel o added b[o]. */
function biasLines(geometry, gradient, upstream) {
  const { g } = geometry;
  const O = g[0].length;
  const lines = [];
  for (let o = 0; o < Math.min(O, MAX_ENTRIES); o += 1) {
    const values = g.flatMap((image) => image[o].flat());
    const total = values.reduce((sum, value) => sum + value, 0);
    const terms = shortSum(values.map((value, k) => (k ? paren(formatNumber(value)) : formatNumber(value))), (n) => `… ${n} more …`);
    const texTerms = shortSum(values.map((value, k) => (k ? paren(texNumber(value)) : texNumber(value))), (n) => `\\ldots\\text{ ${n} more }\\ldots`);
    const channel = geometry.batched ? `[:, ${o}]` : `[${o}]`;
    lines.push({
      tex: `\\left(${gradient.tex}\\right)_{${o}} = \\textstyle\\sum \\left(${upstream.tex}\\right)_{${channel.slice(1, -1)}} = ${texTerms}${result(total).tex}`,
      text: `${gradient.text}[${o}] = Σ ${upstream.text}${channel} = ${terms}${result(total).text}`,
      entry: o,
      value: total,
      wide: true,
    });
  }
  return { lines, count: O };
}

/**
 * Lines for a conv1d/conv2d backward step whose operands are small and sent in full; none otherwise.
 * Each entry's line carries `entry` (its flat index in the operand) and `value` (the sum worked out);
 * every line is `wide` (the panel sets it below the step's heatmaps, across the whole panel).
 * `operands` and `upstream` are explain.js's terms ({tex, text, value, shape}); `gradient` the
 * left side ∂L/∂operand as TeX and text.
 */
export function convBackwardLines(node, slot, { operands, upstream, gradient }) {
  if (!['conv1d', 'conv2d'].includes(node.op) || !operands || slot > 2) return [];
  const geometry = convGeometry(node, operands, upstream);
  if (!geometry) return [];
  const { x, w, g } = geometry;
  const work = x.length * w.length * w[0].length * w[0][0].length * w[0][0][0].length * g[0][0].length * g[0][0][0].length;
  if (work > MAX_PRODUCTS) return []; // large: explain.js's shapes, statistics and heatmaps
  const made = [inputLines, weightLines, biasLines][slot](geometry, gradient, upstream, operands);
  const lines = [...made.lines];
  if (made.count > MAX_ENTRIES) {
    const more = `… ${made.count - MAX_ENTRIES} more entries, each made the same way`;
    lines.push({ tex: `\\text{${more}}`, text: more, wide: true });
  }
  return lines;
}

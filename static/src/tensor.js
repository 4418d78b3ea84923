/**
 * Values as the API sends them: numbers, nested lists, non-finite numbers as strings
 * ("NaN", "Infinity", "-Infinity") and summaries of large tensors ({truncated: true, ...}).
 * Pure helpers shared by the explanation, the node cards and the inspector; no DOM here.
 */

const NON_FINITE = { NaN, Infinity, '-Infinity': -Infinity };

/** A JSON scalar (number or non-finite string) as a JS number. */
export function toNumber(value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value in NON_FINITE) return NON_FINITE[value];
  return NaN;
}

export function isSummary(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && value.truncated === true;
}

export function isScalar(value) {
  return typeof value === 'number' || (typeof value === 'string' && value in NON_FINITE);
}

/**
 * Formats a number for people: up to 4 significant digits, no trailing zeros, a real minus sign
 * avoided on purpose (tests and users copy these), exponent form for very large/small values.
 */
export function formatNumber(value, digits = 4) {
  const x = toNumber(value);
  if (x !== 0 && Math.abs(x) < NOISE) return '≈0';
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '-∞';
  if (x === 0) return '0';
  const magnitude = Math.abs(x);
  if (magnitude >= 1e6 || magnitude < 1e-4) {
    const [mantissa, exponent] = x.toExponential(digits - 1).split('e');
    return `${trimZeros(mantissa)}e${Number(exponent)}`;
  }
  // Integers up to 6 digits are shown whole (12, -12, 30000), fractions rounded.
  if (Number.isInteger(x)) return String(x);
  return trimZeros(x.toPrecision(digits));
}

/**
 * Below this magnitude a number is shown as "≈0": float noise (-2.776e-17 where 0 is meant,
 * from float64 rounding around values near 1) reads as zero, and the "≈" says it is not exact;
 * the inspector's 6-digit read-outs still give the exact value.
 */
export const NOISE = 1e-15;

function trimZeros(text) {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** The shape as people write it: "scalar", "(3,)", "3×3". */
export function formatShape(shape) {
  if (!shape || shape.length === 0) return 'scalar';
  if (shape.length === 1) return `(${shape[0]},)`;
  return shape.join('×');
}

export function elementCount(shape) {
  return (shape || []).reduce((product, size) => product * size, 1);
}

/**
 * A nested list (or a scalar) as a flat Float64Array plus a 2-D view for display:
 * rows = product of all but the last axis, cols = the last axis (a vector is one row).
 */
export function flatten(value, shape) {
  const size = elementCount(shape);
  const data = new Float64Array(size);
  let index = 0;
  // Iterative walk: deep nesting must not recurse.
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i -= 1) stack.push(item[i]);
    } else {
      data[index] = toNumber(item);
      index += 1;
    }
  }
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const rows = cols ? size / cols : 0;
  return { data, rows, cols };
}

/**
 * Min, max, mean and Euclidean norm of the finite entries (summaries carry these already), and
 * for full tensors the element count, the share of exact zeros and the NaN / ±∞ counts.
 */
export function stats(value, shape) {
  if (isSummary(value)) {
    return { min: toNumber(value.min), max: toNumber(value.max), mean: toNumber(value.mean), norm: toNumber(value.norm) };
  }
  if (isScalar(value)) {
    const x = toNumber(value);
    const finite = Number.isFinite(x);
    return {
      min: x, max: x, mean: x, norm: Math.abs(x), count: 1, zeros: x === 0 ? 1 : 0,
      nan: Number.isNaN(x) ? 1 : 0, inf: !finite && !Number.isNaN(x) ? 1 : 0,
    };
  }
  const { data } = flatten(value, shape);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let squares = 0;
  let count = 0;
  let zeros = 0;
  let nan = 0;
  let inf = 0;
  for (const x of data) {
    if (x === 0) zeros += 1;
    if (Number.isNaN(x)) nan += 1;
    else if (!Number.isFinite(x)) inf += 1;
    if (!Number.isFinite(x)) continue;
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
    squares += x * x;
    count += 1;
  }
  const counts = { count: data.length, zeros, nan, inf };
  return count
    ? { min, max, mean: sum / count, norm: Math.sqrt(squares), ...counts }
    : { min: NaN, max: NaN, mean: NaN, norm: NaN, ...counts };
}

/** A short one-line rendering of any value: "3", "[1, 2, 3]", "3×3 tensor", or a summary. */
export function formatValueShort(value, shape, maxElements = 4) {
  if (value === null || value === undefined) return '—';
  if (isScalar(value)) return formatNumber(value);
  if (isSummary(value)) return `${formatShape(value.shape)} · mean ${formatNumber(value.mean)}`;
  if (shape.length === 1 && shape[0] <= maxElements) {
    return `[${value.map((x) => formatNumber(x)).join(', ')}]`;
  }
  const { norm } = stats(value, shape);
  return `‖·‖ ${formatNumber(norm)}`;
}

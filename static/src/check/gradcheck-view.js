/**
 * What the page shows of a POST /graph/gradcheck answer: a badge per input (green below 1e-6)
 * and, for the inspector, rows of element | numeric | analytic | relative error. Pure.
 */
import { formatNumber, toNumber } from '../tensor.js';
import { unravel } from '../heatmap.js';

export const GREEN_BELOW = 1e-6;

/** The badge of one input: its worst relative error, and whether that is below 1e-6. */
export function badgeFor(check) {
  const error = toNumber(check.max_rel_error);
  const ok = Number.isFinite(error) && error < GREEN_BELOW;
  return { ok, text: `${ok ? '✓' : '✗'} ${error === 0 ? '0' : formatNumber(error, 2)}`, error };
}

/** The inspector's rows for one input, at most `limit` of them (the worst first when cut). */
export function checkRows(check, limit = 12) {
  const list = (x) => (Array.isArray(x) ? x : [x]);
  const numeric = list(check.numeric);
  const analytic = list(check.analytic);
  const errors = list(check.rel_error);
  const rows = check.indices.map((flat, i) => ({
    element: check.shape.length ? `[${unravel(flat, check.shape).join(', ')}]` : '',
    flat,
    numeric: toNumber(numeric[i]),
    analytic: toNumber(analytic[i]),
    error: toNumber(errors[i]),
  }));
  if (rows.length <= limit) return rows;
  const worst = (row) => (Number.isNaN(row.error) ? Infinity : row.error);
  return rows.slice().sort((a, b) => worst(b) - worst(a)).slice(0, limit);
}

/** One line for the check panel: "worst relative error 5.1e-12 over 2 inputs: all below 1e-6". */
export function summary(body) {
  const names = Object.keys(body.inputs);
  if (!names.length) return 'No input takes a gradient: nothing to check.';
  const worst = toNumber(body.max_rel_error);
  const bad = names.filter((name) => !badgeFor(body.inputs[name]).ok);
  const checked = names.reduce((sum, name) => sum + body.inputs[name].checked, 0);
  const head = `Gradient check: ${checked} element${checked === 1 ? '' : 's'} of ${names.length} input${names.length === 1 ? '' : 's'}, worst relative error ${formatNumber(worst, 2)}`;
  return bad.length ? `${head}. Above 1e-6: ${bad.join(', ')}.` : `${head}: all below 1e-6.`;
}

/** L = Σ output · grad_output, the number the finite differences and the nudge look at. */
export function objective(output, gradOutput) {
  const values = Array.isArray(output) ? output.flat(Infinity).map(toNumber) : [toNumber(output)];
  if (gradOutput === null || gradOutput === undefined) return values.reduce((sum, x) => sum + x, 0);
  const weights = Array.isArray(gradOutput) ? gradOutput.flat(Infinity).map(toNumber) : [toNumber(gradOutput)];
  return values.reduce((sum, x, i) => sum + x * weights[i], 0);
}

/** The nudge's comparison: the change of L against its first-order prediction grad · h. */
export function nudgeReport(before, after, grad, h) {
  const change = after - before;
  const predicted = grad * h;
  return { change, predicted, difference: change - predicted };
}

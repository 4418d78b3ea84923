/**
 * Display names: one unambiguous, short name per node, used alike by the graph, the explanation
 * and the inspector. Pure: no DOM.
 *
 * - A name assigned more than once (`h = tanh(h0 * w + b)` three times, or an input `h` later
 *   reassigned) gets a subscript per assignment in program order: h₁, h₂, h₃ (an input that is
 *   reassigned later reads h₀), so a step never reads "∂h/∂h".
 * - An unnamed node shows its source text; names in that text that were reassigned are
 *   subscripted like the node they refer to (the latest assignment before it: ids are creation
 *   order, so `h * w` inside the second line reads `h₁ * w`).
 * - Source text the server shortened with "…" (or too long for an equation) is never put in an
 *   equation: such a node reads as its op with a counter (mean₁, sum₂); the full text stays in
 *   `sourceLabel` for tooltips.
 */

/** Longest source text used as a name inside equations and on cards. */
export const MAX_NAME_CHARS = 24;

const SUBSCRIPT_DIGITS = '₀₁₂₃₄₅₆₇₈₉';

export function subscript(number) {
  return String(number).replace(/\d/g, (digit) => SUBSCRIPT_DIGITS[Number(digit)]);
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/g;

/** Display names of a response's nodes, by id: [{short, full}]. */
export function displayNames(nodes) {
  const assignments = new Map(); // name → ids that carry it, in id order
  for (const node of nodes) {
    if (!node.name) continue;
    if (!assignments.has(node.name)) assignments.set(node.name, []);
    assignments.get(node.name).push(node.id);
  }
  const reassigned = new Set([...assignments].filter(([, ids]) => ids.length > 1).map(([name]) => name));
  const short = new Array(nodes.length);
  for (const [name, ids] of assignments) {
    if (!reassigned.has(name)) {
      short[ids[0]] = name;
      continue;
    }
    // An input reassigned later is the value before the first assignment: h₀.
    const offset = nodes[ids[0]].op === 'input' ? 0 : 1;
    ids.forEach((id, index) => { short[id] = `${name}${subscript(index + offset)}`; });
  }
  const opCounters = new Map();
  for (const node of nodes) {
    if (short[node.id] !== undefined) continue;
    const label = String(node.label ?? node.op);
    if (label.includes('…') || label.length > MAX_NAME_CHARS) {
      const count = (opCounters.get(node.op) ?? 0) + 1;
      opCounters.set(node.op, count);
      short[node.id] = `${node.op}${subscript(count)}`;
      continue;
    }
    short[node.id] = reassigned.size
      ? label.replace(IDENTIFIER, (word) => (reassigned.has(word) ? latestBefore(assignments.get(word), node.id, short, word) : word))
      : label;
  }
  return nodes.map((node) => ({ short: short[node.id], full: String(node.label ?? node.op) }));
}

/** The display name of the latest assignment of `name` created before node `id`. */
function latestBefore(ids, id, short, name) {
  let found = null;
  for (const candidate of ids) {
    if (candidate < id) found = candidate;
    else break;
  }
  return found === null ? name : short[found];
}

/**
 * The response with display names in `label` (and `name`), the server's text kept in
 * `sourceLabel`: the explanation, inspector and cards then read the same names without knowing
 * about this module. The original response is not changed.
 */
export function withDisplayNames(response) {
  // Already named (a response shown again: a replay of the graph on screen): names stay as they are.
  if (response.nodes.length && response.nodes.every((node) => node.sourceLabel !== undefined)) return response;
  const names = displayNames(response.nodes);
  const nodes = response.nodes.map((node, index) => ({
    ...node,
    label: names[index].short,
    name: node.name ? names[index].short : node.name,
    sourceLabel: node.label,
  }));
  return { ...response, nodes };
}

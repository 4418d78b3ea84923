/**
 * Changing one number of the request's inputs, for dragging and nudging: pure functions over the
 * inputs object as the inputs editor holds it (numbers, nested lists, {value, requires_grad},
 * initializers, dataset rows). An input that is not written out as numbers (an initializer, a
 * dataset) is replaced by the values the server computed for it, so the change is exact.
 */
import { flatten, isScalar, isSummary, toNumber } from '../tensor.js';

/** The inputs whose value is one number, in the editor's order: [{name, value}]. */
export function scalarInputs(inputs) {
  const found = [];
  for (const [name, raw] of Object.entries(inputs || {})) {
    const value = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'value' in raw ? raw.value : raw;
    if (typeof value === 'number') found.push({ name, value });
  }
  return found;
}

/** A flat list back into nested lists of a shape (row-major, as numpy). */
export function nest(data, shape) {
  if (!shape.length) return data[0];
  let level = Array.from(data);
  for (let axis = shape.length - 1; axis > 0; axis -= 1) {
    const size = shape[axis];
    const grouped = [];
    for (let start = 0; start < level.length; start += size) grouped.push(level.slice(start, start + size));
    level = grouped;
  }
  return level;
}

/**
 * New inputs where element `index` (flat, row-major) of input `name` is `value`. `node` is that
 * input's node of the last response (its value and shape), used when the input is not literal.
 * Returns null when the element cannot be changed (a summary: the tensor was too large to send).
 */
export function withElement(inputs, name, node, index, value) {
  const raw = inputs[name];
  const isObject = raw !== null && typeof raw === 'object' && !Array.isArray(raw);
  const literal = isObject ? ('value' in raw ? raw.value : undefined) : raw;
  let current = literal;
  if (current === undefined) {
    if (!node || isSummary(node.value)) return null;
    current = node.value;
  }
  const shape = node ? node.shape : [];
  let changed;
  if (isScalar(current)) {
    changed = value;
  } else {
    const { data } = flatten(current, shape);
    if (index < 0 || index >= data.length) return null;
    data[index] = value;
    changed = nest(data, shape);
  }
  const next = { ...inputs };
  if (isObject) {
    // An initializer or a dataset becomes its values; requires_grad is kept as it was.
    next[name] = 'requires_grad' in raw ? { value: changed, requires_grad: raw.requires_grad } : { value: changed };
  } else {
    next[name] = changed;
  }
  return next;
}

/** Element `index` of a value as a number (scalars have the one element 0). */
export function elementOf(value, shape, index) {
  if (isScalar(value)) return toNumber(value);
  return flatten(value, shape).data[index];
}

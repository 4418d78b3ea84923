/**
 * The `index` op read back for the explanation: which element of x each element of the result was
 * read from, so the backward step can be told as the scatter-add it is (row by row: "row 3 of
 * ∂L/∂C = g[0, 1] + g[2, 0]"). Pure: shapes, the op's static key and the index tensors' values in,
 * positions out; no DOM.
 *
 * The key is the one app/engine/indexing.py documents (its JSON form): per subscript item an int,
 * null (a new axis), "..." (Ellipsis), [start, stop, step] (a slice, each int or null) or "tensor"
 * (the next index operand). PyTorch's semantics: ints select first, the tensors are the advanced
 * indices, broadcast together, their axes in place when they are adjacent, else first.
 */
import { elementCount, flatten, isSummary } from './tensor.js';

export const KEY_ELLIPSIS = '...';
export const KEY_TENSOR = 'tensor';

function itemText(item) {
  if (item === null) return 'None';
  if (Array.isArray(item)) {
    const [start, stop, step] = item.map((part) => (part === null || part === undefined ? '' : String(part)));
    return step ? `${start}:${stop}:${step}` : `${start}:${stop}`;
  }
  return String(item);
}

/** The subscript as a program writes it, with the index operands' labels: `[:, 0, Yb]`. */
export function describeKey(key, labels) {
  let next = 0;
  return `[${key.map((item) => (item === KEY_TENSOR ? (labels[next++] ?? '?') : itemText(item))).join(', ')}]`;
}

/** The key with its Ellipsis (or the axes it leaves out) written as full slices. */
function expanded(key, ndim) {
  const consuming = key.filter((item) => item !== null && item !== KEY_ELLIPSIS).length;
  const full = Array.from({ length: Math.max(0, ndim - consuming) }, () => [null, null, null]);
  const at = key.indexOf(KEY_ELLIPSIS);
  return at < 0 ? [...key, ...full] : [...key.slice(0, at), ...full, ...key.slice(at + 1)];
}

/** Python's slice(start, stop, step).indices(size) as the list of positions. */
function slicePositions([start, stop, step], size) {
  const by = step ?? 1;
  const clip = (value, fallback) => {
    if (value === null || value === undefined) return fallback;
    const v = value < 0 ? value + size : value;
    return Math.min(Math.max(v, 0), size);
  };
  const positions = [];
  for (let i = clip(start, 0); i < clip(stop, size); i += by) positions.push(i);
  return positions;
}

function broadcastShapes(shapes) {
  const rank = Math.max(0, ...shapes.map((shape) => shape.length));
  const out = [];
  for (let k = 0; k < rank; k += 1) {
    let size = 1;
    for (const shape of shapes) {
      const d = shape[shape.length - rank + k];
      if (d !== undefined && d !== 1) size = d;
    }
    out.push(size);
  }
  return out;
}

function stridesOf(shape) {
  const strides = new Array(shape.length).fill(1);
  for (let k = shape.length - 2; k >= 0; k -= 1) strides[k] = strides[k + 1] * shape[k + 1];
  return strides;
}

/**
 * Where each element of x[key] was read from: {shape, sources}, sources[e] being the flat position
 * in x of the result's flat element e (row-major). `indices` are the index operands as
 * {value, shape}; null when a value was sent as a summary (too large to read back here).
 */
export function indexSources(xShape, key, indices) {
  if (indices.some((index) => index.value === null || isSummary(index.value))) return null;
  const xStrides = stridesOf(xShape);
  // The basic part: per axis of the view, the x positions it walks (null for a new axis), plus a
  // fixed offset from the ints; the tensors' axes are kept whole here and gathered below.
  const viewAxes = [];
  const tensorAxes = [];
  let offset = 0;
  let axis = 0;
  for (const item of expanded(key, xShape.length)) {
    if (item === null) {
      viewAxes.push({ positions: [0], stride: 0 });
      continue;
    }
    const size = xShape[axis];
    if (item === KEY_TENSOR) {
      tensorAxes.push(viewAxes.length);
      viewAxes.push({ positions: null, stride: xStrides[axis], size });
    } else if (Array.isArray(item)) {
      viewAxes.push({ positions: slicePositions(item, size), stride: xStrides[axis] });
    } else {
      offset += (item < 0 ? item + size : item) * xStrides[axis];
    }
    axis += 1;
  }
  const tensors = indices.map(({ value, shape }) => ({ data: flatten(value, shape).data, shape }));
  const paired = broadcastShapes(tensors.map((tensor) => tensor.shape));
  const rest = viewAxes.map((_, k) => k).filter((k) => !tensorAxes.includes(k));
  const adjacent = tensorAxes.every((k, i) => k === tensorAxes[0] + i);
  const at = tensorAxes.length && adjacent ? rest.filter((k) => k < tensorAxes[0]).length : 0;
  // The result's axes: the basic ones, with the paired index shape inserted at `at`.
  const layout = [
    ...rest.slice(0, at).map((k) => ({ axis: k })),
    ...(tensorAxes.length ? paired.map((size, p) => ({ paired: p, size })) : []),
    ...rest.slice(at).map((k) => ({ axis: k })),
  ];
  const shape = layout.map((part) => (part.paired === undefined ? viewAxes[part.axis].positions.length : part.size));
  const count = elementCount(shape);
  const sources = new Int32Array(count);
  const position = new Array(shape.length).fill(0);
  const pairedAt = new Array(paired.length).fill(0);
  for (let e = 0; e < count; e += 1) {
    let source = offset;
    layout.forEach((part, k) => {
      if (part.paired === undefined) source += viewAxes[part.axis].positions[position[k]] * viewAxes[part.axis].stride;
      else pairedAt[part.paired] = position[k];
    });
    tensorAxes.forEach((viewAxis, t) => {
      const { data, shape: tShape } = tensors[t];
      let flat = 0;
      tShape.forEach((size, d) => {
        flat = flat * size + (size === 1 ? 0 : pairedAt[paired.length - tShape.length + d]);
      });
      const { size, stride } = viewAxes[viewAxis];
      const i = data[flat];
      source += (i < 0 ? i + size : i) * stride;
    });
    sources[e] = source;
    for (let k = shape.length - 1; k >= 0; k -= 1) {
      position[k] += 1;
      if (position[k] < shape[k]) break;
      position[k] = 0;
    }
  }
  return { shape, sources };
}

/** A flat position as its multi-index. */
export function unravel(flat, shape) {
  const index = new Array(shape.length);
  let rest = flat;
  for (let k = shape.length - 1; k >= 0; k -= 1) {
    index[k] = rest % shape[k];
    rest = Math.floor(rest / shape[k]);
  }
  return index;
}

/**
 * The scatter-add grouped by what receives it. When every row of the result that the trailing axes
 * span is a whole row of x (an embedding lookup, C[Xb]), the units are rows: each receiving row of x
 * with the result's row positions that add into it ({mode: 'rows'}); otherwise single elements
 * ({mode: 'elements'}). Units in order of x's position; `missed` counts the rows (or elements)
 * of x nothing was read from (their gradient is 0).
 */
export function scatterUnits(xShape, read) {
  const { shape, sources } = read;
  const rowSize = elementCount(xShape.slice(1));
  const tail = xShape.length - 1;
  const rows = xShape.length >= 2 && shape.length >= tail && rowSize > 0
    && shape.slice(shape.length - tail).every((size, k) => size === xShape[1 + k])
    && sources.every((source, e) => source === sources[e - (e % rowSize)] + (e % rowSize))
    && sources.every((source, e) => e % rowSize !== 0 || source % rowSize === 0);
  const unit = rows ? rowSize : 1;
  const outer = rows ? shape.slice(0, shape.length - tail) : shape;
  const byTarget = new Map();
  for (let e = 0; e < sources.length; e += unit) {
    const target = rows ? sources[e] / rowSize : sources[e];
    if (!byTarget.has(target)) byTarget.set(target, []);
    byTarget.get(target).push(unravel(e / unit, outer));
  }
  const targets = [...byTarget.keys()].sort((a, b) => a - b);
  const total = rows ? xShape[0] : elementCount(xShape);
  return {
    mode: rows ? 'rows' : 'elements',
    units: targets.map((target) => ({ target: rows ? [target] : unravel(target, xShape), from: byTarget.get(target) })),
    missed: total - targets.length,
    outer,
  };
}

/**
 * Where each element of gather(x, index, axis) was read from (torch.gather, np.take_along_axis):
 * the result has index's shape, and its element at p comes from x at p with p[axis] = index[p].
 * {shape, sources} as indexSources answers; null when a value was sent as a summary.
 */
export function gatherSources(xShape, index, axis) {
  if (index.value === null || isSummary(index.value)) return null;
  const { shape } = index;
  const along = axis < 0 ? axis + xShape.length : axis;
  const data = flatten(index.value, shape).data;
  const xStrides = stridesOf(xShape);
  const sources = new Int32Array(data.length);
  for (let e = 0; e < data.length; e += 1) {
    const position = unravel(e, shape);
    const i = data[e];
    position[along] = i < 0 ? i + xShape[along] : i;
    sources[e] = position.reduce((flat, p, k) => flat + p * xStrides[k], 0);
  }
  return { shape: [...shape], sources };
}

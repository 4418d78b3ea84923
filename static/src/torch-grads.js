/**
 * PyTorch's gradient beside chainlens's in the inspector (a from_torch result's `torch_grads`,
 * mountViewer's `torchGrads`): "PyTorch: …" and how far the two are apart, measured as
 * chainlens.from_torch measures it: the largest difference over the elements, relative to the
 * larger of the two gradients' largest elements.
 */
import { flatten, formatValueShort } from './tensor.js';

/** max |a − b| / max(max |a|, max |b|) over two gradients of `shape` (0 when both are 0). */
export function relativeDifference(ours, theirs, shape) {
  const a = flatten(ours, shape).data;
  const b = flatten(theirs, shape).data;
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i += 1) {
    difference = Math.max(difference, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
  }
  return scale ? difference / scale : difference;
}

/**
 * The inspector's line for input `node`, or null when PyTorch has no gradient for it. `ours`: the
 * gradient at the current step (undefined before the backward pass reaches it; a summary of a
 * large tensor has no elements to compare).
 */
export function torchGradLine(node, torchGrads, ours) {
  const name = node.op === 'input' ? node.name ?? node.sourceLabel ?? node.label : null;
  if (name === null || !torchGrads || !(name in torchGrads)) return null;
  const theirs = torchGrads[name];
  const box = document.createElement('p');
  box.className = 'torch-grad';
  const label = document.createElement('strong');
  label.textContent = 'PyTorch: ';
  box.append(label, formatValueShort(theirs, node.shape));
  if (ours !== undefined && ours !== null && !ours.shape) {
    box.append(` · relative difference from chainlens's ${relativeDifference(ours, theirs, node.shape).toExponential(1)}`);
  }
  return box;
}

"""The `index` op's key: its static shape rule, its forward (a gather) and its backward (a scatter-add).

A key is a tuple with one item per subscript item, as the parser builds it from `x[...]`:

- an int: selects one position of an axis (negative counts from the end);
- None: a new axis of size 1;
- KEY_ELLIPSIS ("..."): as many full slices as the other items leave axes;
- a 3-tuple (start, stop, step) of ints or None: a slice;
- KEY_TENSOR ("tensor"): the next tensor operand, an integer-valued float64 tensor (a gather).

Semantics are PyTorch's, which differ from numpy's in one place: ints select first, as basic
indexing, and only the tensors are advanced indices (a 0-d tensor, `x[t]` with t = targets[k],
selects as an int does, as in PyTorch). So `x[0, :, i]` of a (2, 3, 4) tensor has
shape (3, len(i)) as in PyTorch (numpy, which counts the 0 as an advanced index, gives (len(i), 3)).
Tensor indices pair as numpy pairs them: broadcast together, their result axes in place of theirs
when they are adjacent, else first.

Both passes run in two stages: the basic part of the key (ints, slices, new axes; the tensors'
axes kept whole) gives a view, then the tensors gather from that view. The backward pass undoes
them in reverse: one np.add.at into zeros of the view's shape (repeated indices accumulate), then
that placed into zeros of x's shape (a basic index never repeats an element).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.engine.shapes import ShapeError, broadcast

KEY_ELLIPSIS = "..."
KEY_TENSOR = "tensor"

Key = tuple[Any, ...]
_ROWS: Key = (KEY_TENSOR,)  # x[i] for an index tensor i: the embedding lookup


class IndexValueError(ValueError):
    """An index tensor's values do not fit (not integers, out of range): app.engine.ops makes it an OpError."""


def _expanded(key: Key, ndim: int) -> list[Any]:
    """The key with its Ellipsis (or, without one, the axes it leaves) written out as full slices."""
    consuming = sum(1 for item in key if item is not None and item != KEY_ELLIPSIS)
    if consuming > ndim:
        raise ShapeError(f"the subscript indexes {consuming} axes of a tensor with {ndim}")
    ellipses = sum(1 for item in key if item == KEY_ELLIPSIS)
    if ellipses > 1:
        raise ShapeError("a subscript may hold one ... only")
    full = [(None, None, None)] * (ndim - consuming)
    if not ellipses:
        return list(key) + full
    at = key.index(KEY_ELLIPSIS)
    return list(key[:at]) + full + list(key[at + 1 :])


def _plan(key: Key, shape: tuple[int, ...]) -> tuple[tuple[Any, ...], list[int], tuple[int, ...], list[int]]:
    """(the basic key as numpy takes it, the axes of the view the tensors index, the view's shape,
    per tensor the size of the axis it indexes). Checks ints against their axes."""
    basic: list[Any] = []
    tensor_axes: list[int] = []
    view: list[int] = []
    sizes: list[int] = []
    axis = 0
    for item in _expanded(key, len(shape)):
        if item is None:
            basic.append(None)
            view.append(1)
            continue
        size = shape[axis]
        if item == KEY_TENSOR:
            basic.append(slice(None))
            tensor_axes.append(len(view))
            view.append(size)
            sizes.append(size)
        elif isinstance(item, tuple):
            start, stop, step = item
            if step == 0:
                raise ShapeError("a slice step cannot be zero")
            if step is not None and step < 0:
                raise ShapeError("a slice step must be positive (as in PyTorch)")
            cut = slice(start, stop, step)
            basic.append(cut)
            view.append(len(range(*cut.indices(size))))
        else:
            if not -size <= item < size:
                raise ShapeError(f"index {item} is out of range for axis {axis} of size {size}")
            basic.append(item)
        axis += 1
    return tuple(basic), tensor_axes, tuple(view), sizes


def _advanced(view: tuple[int, ...], tensor_axes: list[int], index_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape after the tensors index `view` at `tensor_axes` (numpy's placement rule)."""
    rest = [d for k, d in enumerate(view) if k not in tensor_axes]
    adjacent = tensor_axes == list(range(tensor_axes[0], tensor_axes[0] + len(tensor_axes)))
    at = tensor_axes[0] if adjacent else 0
    return tuple(rest[:at]) + index_shape + tuple(rest[at:])


def _selected(key: Key, indices: tuple[Any, ...], values: bool) -> tuple[Key, tuple[Any, ...]]:
    """The key with each 0-d tensor operand as the int it selects (0 for a shape, `values` False:
    every int is checked against its axis there), and the other tensor operands."""
    if all(np.ndim(index) if values else index for index in indices):
        return key, indices
    items: list[Any] = []
    rest = []
    operands = iter(indices)
    for item in key:
        if item != KEY_TENSOR:
            items.append(item)
            continue
        index = next(operands)
        if np.ndim(index) if values else index:
            rest.append(index)
            items.append(item)
        elif not values:
            items.append(0)
        else:
            value = float(index)
            if not (math.isfinite(value) and value == round(value)):
                raise IndexValueError("index values must be integers")
            items.append(int(value))
    return tuple(items), tuple(rest)


def index_shape(x: tuple[int, ...], *indices: tuple[int, ...], key: Key) -> tuple[int, ...]:
    """The result's shape, from x's shape, the tensor operands' shapes and the key."""
    tensors = sum(1 for item in key if item == KEY_TENSOR)
    if tensors != len(indices):
        raise ShapeError(f"the subscript names {tensors} tensor indices but {len(indices)} are given")
    key, indices = _selected(key, indices, values=False)
    _, tensor_axes, view, _ = _plan(key, x)
    if not indices:
        return view
    try:
        paired = broadcast(*indices)
    except ShapeError:
        raise ShapeError("the index tensors cannot be broadcast together") from None
    return _advanced(view, tensor_axes, paired)


def _integer_indices(index: Any, size: int, lowest: int | None = None) -> np.ndarray:
    """A float64 index tensor as intp, checked: integer values in [lowest, size), lowest -size
    unless given (gather, as torch.gather, takes no negative positions)."""
    values = np.asarray(index, dtype=np.float64)
    positions: np.ndarray
    with np.errstate(invalid="ignore"):  # NaN and ±inf cast to some int, which then differs from them
        positions = values.astype(np.intp)
    low = -size if lowest is None else lowest
    if not np.equal(positions, values).all():
        if not np.equal(values, np.round(values)).all():  # (an integer past intp's range is out of range below)
            raise IndexValueError("index values must be integers")
        positions = values  # compared as floats
    if positions.size and (positions.min() < low or positions.max() >= size):
        raise IndexValueError(
            f"index values must lie in [{low}, {size - 1}] for an axis of size {size}, "
            f"got {values.min():g}..{values.max():g}"
        )
    return positions


def _planned(
    x_shape: tuple[int, ...], indices: tuple[Any, ...], key: Key
) -> tuple[Key, list[int], tuple[int, ...], list[int], tuple[Any, ...]]:
    """_plan at run time: 0-d tensors become the ints they select (checked as ints are, always)."""
    key, indices = _selected(key, indices, values=True)
    try:
        basic, tensor_axes, view, sizes = _plan(key, x_shape)
    except ShapeError as exc:  # a 0-d tensor's value out of range: the other ints were checked statically
        raise IndexValueError(str(exc)) from None
    return basic, tensor_axes, view, sizes, indices


def _advanced_key(tensor_axes: list[int], view: tuple[int, ...], sizes: list[int], indices: tuple[Any, ...]) -> Key:
    advanced: list[Any] = [slice(None)] * len(view)
    for axis, index, size in zip(tensor_axes, indices, sizes):
        advanced[axis] = _integer_indices(index, size)
    return tuple(advanced)


def index_forward(x: Any, *indices: Any, key: Key) -> Any:
    """x[key]. Positions are checked where PyTorch checks them: a 0-d tensor's always (it selects),
    the others where the result has elements, and a non-empty index into an axis of size 0 always."""
    if key == _ROWS and np.ndim(indices[0]) and np.size(indices[0]) and np.ndim(x) and np.size(x):
        # C[Xb], an embedding lookup, at every training step: rows of x, nothing to plan
        return np.asarray(x)[_integer_indices(indices[0], np.shape(x)[0])]
    basic, tensor_axes, view_shape, sizes, indices = _planned(np.shape(x), indices, key)
    view = np.asarray(x)[basic]
    if not indices:
        return view
    paired = np.broadcast_shapes(*map(np.shape, indices))
    if 0 not in paired and 0 in sizes:
        raise IndexValueError("index values must lie in an axis of size 0: there is no position there")
    shape = _advanced(view_shape, tensor_axes, paired)
    if 0 in shape:
        return np.zeros(shape)
    return view[_advanced_key(tensor_axes, view_shape, sizes, indices)]


def index_backward(grad: Any, x: Any, *indices: Any, key: Key) -> np.ndarray:
    """∂L/∂x: the upstream gradient scattered back where each element was read from, added up
    where an index repeats (np.add.at), zeros where nothing was read."""
    shape = np.shape(x)
    result = np.zeros(shape)
    if np.size(grad) == 0:  # nothing was read (and, as in PyTorch, no position was checked)
        return result
    if key == _ROWS and np.ndim(indices[0]) and np.ndim(x):
        np.add.at(result, _integer_indices(indices[0], shape[0]), grad)
        return result
    basic, tensor_axes, view_shape, sizes, indices = _planned(shape, indices, key)
    if not indices:
        result[basic] = grad
        return result
    view = result[basic]  # a view of result: adding into it adds into result
    np.add.at(view, _advanced_key(tensor_axes, view_shape, sizes, indices), grad)
    return result


def index_work(out: tuple[int, ...], x: tuple[int, ...], *indices: tuple[int, ...]) -> int:
    return max(math.prod(out), 1)


# --- gather: torch.gather / np.take_along_axis -----------------------------------------------------


def gather_shape(x: tuple[int, ...], index: tuple[int, ...], axis: int) -> tuple[int, ...]:
    """The index's shape: it has x's axes, each (but `axis`) no longer than x's."""
    if not x:
        raise ShapeError("gather needs a tensor with at least one axis")
    if len(index) != len(x):
        raise ShapeError(f"the index has {len(index)} axes; gather needs as many as the tensor's {len(x)}")
    if not -len(x) <= axis < len(x):
        raise ShapeError(f"axis {axis} is out of range for a tensor with {len(x)} axes")
    at = axis % len(x)
    if any(i > d for k, (i, d) in enumerate(zip(index, x)) if k != at):
        raise ShapeError(f"the index may not be longer than the tensor on any axis but {axis}")
    return index


def _gather_key(x_shape: tuple[int, ...], index: Any, axis: int) -> tuple[np.ndarray, ...]:
    """Per axis of x, the positions read: the index's values along `axis`, its own position elsewhere."""
    at = axis % len(x_shape)
    positions = _integer_indices(index, x_shape[at], lowest=0)
    ndim = len(x_shape)
    key = [np.arange(n).reshape((1,) * k + (n,) + (1,) * (ndim - k - 1)) for k, n in enumerate(positions.shape)]
    key[at] = positions
    return tuple(key)


def gather_forward(x: Any, index: Any, axis: int) -> Any:
    return np.asarray(x)[_gather_key(np.shape(x), index, axis)]


def gather_backward(grad: Any, x: Any, index: Any, axis: int) -> np.ndarray:
    """∂L/∂x: each upstream element added where it was read from (np.add.at: repeats add up)."""
    result = np.zeros(np.shape(x))
    if np.size(grad) == 0:  # nothing was read
        return result
    np.add.at(result, _gather_key(np.shape(x), index, axis), grad)
    return result

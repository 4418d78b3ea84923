"""Shape arithmetic shared by the op table and the walker: broadcasting, axes, reductions.

Shapes are tuples of ints. `ShapeError` is raised with a message that the builder completes
with the operands' names and the place in the program.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import prod
from typing import Any

import numpy as np

# Axes of any one tensor (an input, or a reshape's result): numpy's own limit is 64 (32 before
# numpy 2), and PyTorch's 25.
MAX_AXES = 32


class ShapeError(ValueError):
    """Operands whose shapes do not fit the op."""


class ArgumentError(ShapeError):
    """A call's arguments do not fit the op for a reason other than shapes (a negative stride, a
    batch of one in training mode): its message stands on its own, without the operands' shapes."""


def fmt(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def size(shape: Iterable[int]) -> int:
    return prod(shape)


def broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """numpy's broadcasting rule, without allocating anything."""
    ndim = max(map(len, shapes))
    out = []
    for k in range(-ndim, 0):
        dims = {s[k] for s in shapes if len(s) >= -k} - {1}
        if len(dims) > 1:
            raise ShapeError("cannot be broadcast together")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def normalize_axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    """`axis` as given (None, an int or a tuple of ints) → sorted non-negative axes, or None for all."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"axis {a} is out of range for a tensor with {ndim} axes")
        result.append(a % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"axis {axis} repeats an axis")
    return tuple(sorted(result))


def reduced_shape(shape: tuple[int, ...], axis: Any, keepdims: bool) -> tuple[int, ...]:
    axes = normalize_axes(axis, len(shape))
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdims:
        return tuple(1 if k in axes else d for k, d in enumerate(shape))
    return tuple(d for k, d in enumerate(shape) if k not in axes)


def expand_reduced(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Give a reduction's gradient its reduced axes back (size 1), ready to broadcast to `shape`."""
    if keepdims or not shape:
        return grad
    axes = normalize_axes(axis, len(shape))
    if axes is None:
        return np.reshape(grad, (1,) * len(shape))
    return np.expand_dims(grad, axes)


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """Sum `grad` over every axis that broadcasting added or stretched, then give it `shape` exactly.

    Returns the reduced gradient and the summed axes (in grad's coordinates). This is the one place
    where broadcast gradients are reduced (the tutorial summed over one argmax-chosen axis only).
    """
    if len(shape) == 1 and type(grad) is np.ndarray and grad.ndim == 2 and grad.shape[1] == shape[0]:
        # a bias's gradient, rows summed (at every edge into one: the shape arithmetic below cost
        # as much as the sum of a small batch); the same reduction as below, to the bit
        return np.add.reduce(grad, axis=0), (0,)
    grad_shape = np.shape(grad)
    lead = len(grad_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + k for k, d in enumerate(shape) if d == 1 and grad_shape[lead + k] != 1)
    # (np.add.reduce is what np.sum calls, without its dispatch: a bias's gradient, at every edge into one)
    reduced = np.add.reduce(grad, axis=axes) if axes else grad
    if not shape:
        return float(reduced), axes
    return np.reshape(reduced, shape), axes

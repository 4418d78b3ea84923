"""The op table: every operation of the language, declared once.

The parser, the engine, `GET /ops` and the tests all read this table; adding an op means adding
one entry here (and the finite-difference and PyTorch tests pick it up by themselves).

Vocabulary, as in PyTorch's derivatives.yaml:

- operands are named per op (`a`, `b` for binary ops, `x` for unary ones, `logits`, `W`, ...);
- `out` is the op's result and `grad` the upstream gradient ∂L/∂out, shaped like `out`;
- `m` is the math backend: `SCALAR` (Python floats and the math module) when every operand and
  the result are scalars, else `ARRAY` (numpy). A Python float costs about a third of a 0-d numpy
  array, so elementwise ops are written once against `m` and run on either.

An *elementwise* op declares its local derivatives ∂out/∂operand (`local`), as functions of `m`,
`out` and the operands; the walker multiplies each by `grad` and sums away broadcast axes, so the
step record can show upstream · local = contribution. Every other op declares vector-Jacobian
products (`vjp`), functions of `grad`, `out` and the operands that return ∂L/∂operand in the
operand's (possibly broadcast) shape; the walker sums broadcast axes away there too. A `None`
vjp marks an operand that takes no gradient (class labels).

Formula texts use `{out}` and the operand names as placeholders, filled with node labels in the
step record and with the placeholders' own names in `GET /ops`. Where a derivative is undefined
at a point (relu and abs at 0, ties in max, maximum and minimum) we do what PyTorch does.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from app.engine import indexing
from app.engine.kernels import scalar_kernel, scalar_parts
from app.engine.shapes import (
    MAX_AXES,
    ShapeError,
    broadcast,
    expand_reduced,
    fmt,
    normalize_axes,
    reduced_shape,
    size,
    unbroadcast,
)

CONSTANTS = {"pi": math.pi, "e": math.e}
KEY_ELLIPSIS, KEY_TENSOR = indexing.KEY_ELLIPSIS, indexing.KEY_TENSOR  # the index op's key items (see indexing)


class OpError(ValueError):
    """An operand's *values* (not its shape) do not fit the op, e.g. labels out of range."""


# Parameter kinds declared outside the parser (app/engine/layers.py adds "number" and "ints"): kind ->
# (convert, expected): convert takes the literal and answers the value or raises ValueError; expected
# describes an accepted literal for the error message.
PARAM_KINDS: dict[str, tuple[Callable[[Any], Any], str]] = {}

# The value of an optional operand a call leaves out (see Op.optional): empty, and never written to.
ABSENT = np.zeros(0)
ABSENT.flags.writeable = False


# --- math backends -------------------------------------------------------------------------------


def _guarded(math_fn: Callable[..., float], numpy_fn: Callable[..., Any]) -> Callable[..., float]:
    """math's function on floats, falling back to numpy's IEEE answer (inf, nan) where math raises."""

    def fn(*args: float) -> float:
        try:
            return math_fn(*args)
        except (ValueError, OverflowError, ZeroDivisionError):
            return float(numpy_fn(*map(np.float64, args)))

    return fn


class SCALAR:
    """Python floats. Results equal numpy's, including inf and nan where math would raise."""

    exp = staticmethod(_guarded(math.exp, np.exp))
    log = staticmethod(_guarded(math.log, np.log))
    sqrt = staticmethod(_guarded(math.sqrt, np.sqrt))
    sin = staticmethod(_guarded(math.sin, np.sin))
    cos = staticmethod(_guarded(math.cos, np.cos))
    tanh = staticmethod(math.tanh)
    div = staticmethod(_guarded(operator.truediv, np.divide))
    pow = staticmethod(_guarded(math.pow, np.power))

    @staticmethod
    def where(cond: Any, if_true: Any, if_false: Any) -> Any:
        return if_true if cond else if_false

    @staticmethod
    def sigmoid(x: float) -> float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        z: float = SCALAR.exp(x)
        return z / (1.0 + z)

    @staticmethod
    def relu(x: float) -> float:
        return 0.0 if x <= 0 else x  # nan stays nan, as in PyTorch

    @staticmethod
    def nonzero(x: float) -> float:
        return 0.0 if x == 0 else 1.0  # nan is not zero

    @staticmethod
    def maximum(a: float, b: float) -> float:
        return a if (a >= b or a != a) else b  # nan wins, as in numpy and PyTorch

    @staticmethod
    def minimum(a: float, b: float) -> float:
        return a if (a <= b or a != a) else b


class ARRAY:
    """numpy, float64. Runs under np.errstate(all="ignore"): inf and nan are answers, not errors."""

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tanh = staticmethod(np.tanh)
    div = staticmethod(np.divide)
    pow = staticmethod(np.power)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        # Both branches are evaluated; each is exact where it is chosen and never overflows there.
        return np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))

    @staticmethod
    def relu(x: Any) -> Any:
        return np.maximum(x, 0.0)

    @staticmethod
    def nonzero(x: Any) -> Any:
        # The comparison's booleans converted, one pass: `(x != 0) * 1.0` gives the same numbers in
        # two (relu's local derivative, at every training step of every ReLU network).
        return np.not_equal(x, 0.0).astype(np.float64)


def _wins(a: Any, b: Any) -> Any:
    """Local derivative of max(a, b) w.r.t. a: 1 where a > b, ½ on ties, 0 where a < b (PyTorch)."""
    return 1.0 - (a < b) - 0.5 * (a == b)


# --- the table's entry type ----------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A keyword argument of an op, given as a literal (`axis=0`, `keepdims=True`, `(3, 2)`)."""

    name: str
    # "axes": None, an int or a tuple of ints; "axis": an int; "bool"; "shape": a tuple of ints
    # (an int is taken as a 1-tuple); "perm": None or a tuple of ints (an int as a 1-tuple);
    # "count": an int >= 1; "index": None or an int; "fraction": a number in [0, 1];
    # "numbers": None or a tuple of numbers (an int or float as a 1-tuple); "enum": one of
    # `choices`, written as a string literal (`reduction="sum"`): the one place strings are allowed.
    kind: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()


# eq=False: an op is its table entry, compared and hashed by identity. The generated __eq__
# compared every field, which made `ops.count(None)` over a graph's 10,000 op nodes cost 0.5-0.8 ms.
@dataclass(frozen=True, eq=False)
class Op:
    name: str
    operands: tuple[str, ...]
    doc: str
    shape: Callable[..., tuple[int, ...]]  # (operand shapes..., **params) -> result shape
    forward: Callable[..., Any]  # (m, operand values..., **params) -> result
    formulas: tuple[str, ...]  # one per operand
    local: tuple[Callable[..., Any], ...] | None = None  # elementwise: (m, out, operands...) -> ∂out/∂operand
    vjp: tuple[Callable[..., Any] | None, ...] | None = None  # else: (grad, out, operands..., **params)
    params: tuple[Param, ...] = ()
    work: Callable[..., int] | None = None  # (result shape, operand shapes...) -> cost; default size
    syntax: str = ""  # how the op reads in a program, for forward explanations and /ops
    # Composites only: (**params) -> the op as a program of primitives (see app/engine/expand.py).
    # Operands are bound by their names; `{C}` is the class count, filled in from the shapes.
    decomposition: Callable[..., str] | None = None
    # Optional, for a training step's repeated passes (app.engine.lean): the forward that also keeps
    # what the vjps need, (operands..., **params) -> (result, saved), and per operand the vjp
    # that reads it, (grad, out, saved) -> gradient. Both give the same numbers as forward and vjp
    # (which are written in terms of the same helpers); they only skip recomputing. An elementwise op
    # may have them too: a training step's vjps then take the place of its local derivatives.
    forward_saving: Callable[..., tuple[Any, ...]] | None = None
    vjp_saved: tuple[Callable[..., Any] | None, ...] | None = None
    # The last operand name stands for any number of operands (cat's tensors, index's index
    # tensors): formulas, vjp and the syntax's placeholder are declared once for all of them, and
    # that vjp is called with `part=k`, the position among them of the operand it is asked for.
    variadic: bool = False
    # The forward runs even where its result is empty, for the checks it makes (index positions
    # that PyTorch refuses there too); other ops' empty results are zeros, uncomputed (run.skips_empty).
    checks_values: bool = False
    # Elementwise ops only, optional: per operand, (m, out, operands...) -> where PyTorch *masks*
    # that operand's gradient to 0 rather than multiplying the upstream gradient by a local
    # derivative of 0 (relu's threshold_backward, maximum's masked_fill, pow's where at exponent
    # 0). The two differ only where the upstream gradient is infinite or NaN (inf · 0 is NaN); the
    # walker applies the masks then (app.engine.run). A training step (app.engine.lean) does not:
    # a gradient that is not finite ends the run as diverged.
    masks: tuple[Callable[..., Any] | None, ...] | None = None
    # Trailing operands a call may leave out or give as None (PyTorch's `bias=None`): the parser puts
    # an empty constant of shape (0,) in their place, which the op's rules read as "not given".
    optional: tuple[str, ...] = ()
    # Where the cost depends on parameters or on an intermediate larger than the result (a
    # convolution's patches, attention's scores): (result shape, operand shapes..., **params) ->
    # (work, elements of the largest intermediate). Checked like `work` and the tensor limit.
    budget: Callable[..., tuple[int, int]] | None = None
    # Elementwise ops on Python floats in one call: (operands...) -> (out, ∂out/∂operand, ...), made
    # from forward and local (app/engine/kernels.py). A training step's forward pass
    # (app.engine.lean) computes a scalar node's local derivatives along with its value, every one
    # of them needed. Set once, as an attribute: a walker reads it at every scalar node, and a
    # cached_property's lookup cost two and a half times a field's.
    scalar: Callable[..., tuple[Any, ...]] | None = field(init=False, repr=False, compare=False)
    # The same, taken apart for app.engine.run's walker (kernels.scalar_parts): the forward on Python
    # floats as one call on the operands, and per operand the local derivative as None (1), a float, the
    # position of an argument among (out, operands...), or the table's function of (m, out,
    # operands...). The walker computes a node's value forward and its local derivatives backward,
    # only where a gradient flows. `derivatives` is None for an op with masks: the walker takes
    # its edges the long way, where it watches for a gradient the masks would change.
    scalar_forward: Callable[..., Any] | None = field(init=False, repr=False, compare=False)
    derivatives: tuple[Any, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kernel = None if self.local is None else scalar_kernel(self.forward, self.local, SCALAR)
        object.__setattr__(self, "scalar", kernel)  # (a frozen dataclass: set as its __init__ sets fields)
        forward, derivatives = (None, None) if self.local is None else scalar_parts(self.forward, self.local, SCALAR)
        object.__setattr__(self, "scalar_forward", forward)
        object.__setattr__(self, "derivatives", derivatives if self.masks is None else None)

    @property
    def elementwise(self) -> bool:
        return self.local is not None

    @property
    def fixed_operands(self) -> int:
        """How many operands come before the variadic one (all of them when there is none)."""
        return len(self.operands) - 1 if self.variadic else len(self.operands)

    def declared(self, slot: int) -> int:
        """The position in `operands` (and formulas, vjp) of the operand at `slot`."""
        return min(slot, len(self.operands) - 1) if self.variadic else slot

    def differentiable(self, slot: int) -> bool:
        vjps = self.vjp
        if vjps is None:  # elementwise: a local derivative for every operand
            return True
        return vjps[min(slot, len(vjps) - 1) if self.variadic else slot] is not None

    def vjp_at(self, slot: int) -> Callable[..., Any] | None:
        """The vjp of the operand at `slot` (None for an elementwise op); for a variadic operand,
        bound to its part."""
        vjps = self.vjp
        if vjps is None:
            return None
        if not self.variadic or slot < len(self.operands) - 1:
            return vjps[slot]
        vjp = vjps[-1]
        return vjp and partial(vjp, part=slot - len(self.operands) + 1)

    def placeholders(self, labels: list[str] | tuple[str, ...]) -> dict[str, str]:
        """The syntax's placeholders filled with the operands' labels (a variadic one's joined)."""
        if not self.variadic:
            return dict(zip(self.operands, labels))
        fixed = len(self.operands) - 1
        names = dict(zip(self.operands[:fixed], labels))
        names[self.operands[-1]] = ", ".join(labels[fixed:])
        return names

    def filled_formulas(self, out: str, labels: list[str] | tuple[str, ...]) -> list[str]:
        """One formula text per operand slot, with `out`'s and the operands' labels put in."""
        if not self.variadic:
            names = dict(zip(self.operands, labels), out=out)
            return [template.format(**names) for template in self.formulas]
        names = self.placeholders(labels) | {"out": out}
        fixed = len(self.operands) - 1
        texts = [template.format(**names) for template in self.formulas[:fixed]]
        last = self.operands[-1]
        return texts + [self.formulas[-1].format(**(names | {last: label})) for label in labels[fixed:]]

    def signature(self) -> str:
        params = [f"{p.name}={_literal(p.default)}" if not p.required else p.name for p in self.params]
        operands = [f"{name}=None" if name in self.optional else name for name in self.operands]
        if self.variadic:  # as Python writes a variadic parameter
            operands[-1] = "*" + operands[-1]
        return f"{self.name}({', '.join(operands + params)})"


def _literal(value: Any) -> str:
    """A parameter's value as the program writes it (strings in double quotes)."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


# --- shape rules ---------------------------------------------------------------------------------


def _same_shape(x: Any) -> Any:
    return x


def _broadcast_shape(*shapes: Any) -> Any:
    return broadcast(*shapes)


def _matmul_shape(a: Any, b: Any) -> Any:
    if not a or not b:
        raise ShapeError("matmul needs operands with at least one axis, not scalars")
    k_a = a[-1]
    k_b = b[0] if len(b) == 1 else b[-2]
    if k_a != k_b:
        raise ShapeError(
            f"matmul needs the last axis of the left operand ({k_a}) to equal "
            f"the {'only' if len(b) == 1 else 'second-to-last'} axis of the right one ({k_b})"
        )
    batch = broadcast(a[:-2], b[:-2])
    return batch + a[-2:-1] + b[-1:] if len(b) > 1 else batch + a[-2:-1]


def _matmul_work(out: Any, a: Any, b: Any) -> Any:
    return size(out) * a[-1]


def _reduce_shape(x: Any, axis: Any = None, keepdims: Any = False) -> Any:
    return reduced_shape(x, axis, keepdims)


def _extremum_shape(x: Any, axis: Any = None, keepdims: Any = False) -> Any:
    # As PyTorch: refused only where a reduced axis is empty (amax over axis 1 of a (0, 3) tensor
    # is an empty (0,) tensor; over axis 0 it has no answer).
    axes = normalize_axes(axis, len(x))
    empty = [a for a in (range(len(x)) if axes is None else axes) if x[a] == 0]
    if empty:
        raise ShapeError(f"the tensor is empty along axis {empty[0]}: it has no maximum or minimum there")
    return reduced_shape(x, axis, keepdims)


def _softmax_shape(x: Any, axis: Any = -1) -> Any:
    normalize_axes(axis, len(x))
    return x


def _mse_shape(pred: Any, target: Any, reduction: Any = "mean") -> Any:
    full = broadcast(pred, target)
    return full if reduction == "none" else ()


def _cross_entropy_shape(
    logits: Any,
    labels: Any,
    weight: Any = None,
    ignore_index: Any = None,
    label_smoothing: Any = 0.0,
    reduction: Any = "mean",
) -> Any:
    if not ((len(logits) == 2 and labels == logits[:1]) or (len(logits) == 1 and labels == ())):
        raise ShapeError(
            "softmax_cross_entropy needs logits of shape (N, C) with labels of shape (N,), "
            "or logits (C,) with one scalar label"
        )
    if weight is not None and len(weight) != logits[-1]:
        raise ShapeError(f"weight has {len(weight)} entries for {logits[-1]} classes; give one per class")
    return labels if reduction == "none" else ()


def _onehot_shape(labels: Any, classes: Any, ignore_index: Any = None) -> Any:
    return (*labels, classes)


def _linear_shape(x: Any, W: Any, b: Any) -> Any:
    return broadcast(_matmul_shape(x, W), b)


def _transpose_shape(x: Any, axes: Any = None) -> Any:
    if axes is None:
        return x[::-1]
    if len(axes) != len(x) or normalize_axes(axes, len(x)) != tuple(range(len(x))):
        raise ShapeError(f"axes {axes} is not a permutation of the {len(x)} axes")
    return tuple(x[a] for a in axes)


def _reshape_shape(x: Any, shape: Any) -> Any:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if len(shape) > MAX_AXES:  # numpy refuses more than 64 (a ValueError, not ours)
        raise ShapeError(f"shape has {len(shape)} axes; the limit is {MAX_AXES}")
    unknown = [k for k, d in enumerate(shape) if d == -1]
    if len(unknown) > 1 or any(d < -1 for d in shape):
        raise ShapeError(f"shape {fmt(shape)} may hold one -1 and otherwise sizes of 0 or more")
    known = size(d for d in shape if d != -1)
    if unknown:
        if known == 0 or size(x) % known:
            raise ShapeError(f"cannot reshape {size(x)} elements into {fmt(shape)}")
        shape = tuple(size(x) // known if d == -1 else d for d in shape)
    if size(shape) != size(x):
        raise ShapeError(f"cannot reshape {size(x)} elements into {fmt(shape)}")
    return shape


# --- forward and backward of the ops that are not elementwise --------------------------------------


def _matmul_operands(grad: Any, a: Any, b: Any) -> Any:
    """a and b promoted to 2-D as numpy's matmul promotes 1-D operands, and grad in that shape."""
    a2 = a[np.newaxis, :] if a.ndim == 1 else a
    b2 = b[:, np.newaxis] if b.ndim == 1 else b
    g2 = np.reshape(grad, (*np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]), a2.shape[-2], b2.shape[-1]))
    return a2, b2, g2


# Each operand's vjp computes only its own product: the other one would be thrown away.
_COPIED = 1 << 15  # elements of the largest bᵀ that _matmul_grad_a copies (256 KB, about an L2 cache)


def _matmul_grad_a(grad: Any, a: Any, b: Any) -> Any:
    """∂L/∂a of a @ b, with numpy's rules for 1-D operands (promoted, then squeezed)."""
    if a.ndim == 2 and b.ndim == 2:  # the common case, with nothing to promote or broadcast
        # bᵀ copied to a C-ordered array first: BLAS multiplies by a transposed operand
        # (dgemm "NT") slower than it copies one; for a (32, 200) @ (200, 100) gradient, 36 µs
        # against 3 + 30 (a training step's largest product after the forward one). Not past
        # _COPIED elements: a transposing copy that outgrows the cache costs more than the product
        # it speeds up (bᵀ of (784, 100): copy + product 312 µs, the product of bᵀ as it is 197).
        return grad @ (np.ascontiguousarray(b.T) if b.size <= _COPIED else b.T)
    _, b2, g2 = _matmul_operands(grad, a, b)
    grad_a = g2 @ np.swapaxes(b2, -1, -2)
    return grad_a[..., 0, :] if a.ndim == 1 else grad_a


def _matmul_grad_b(grad: Any, a: Any, b: Any) -> Any:
    """∂L/∂b of a @ b, with numpy's rules for 1-D operands (promoted, then squeezed)."""
    if a.ndim == 2 and b.ndim == 2:
        return a.T @ grad
    a2, _, g2 = _matmul_operands(grad, a, b)
    grad_b = np.swapaxes(a2, -1, -2) @ g2
    return grad_b[..., :, 0] if b.ndim == 1 else grad_b


def _linear_grad(matmul_grad: Any) -> Any:
    """A vjp of linear's x or W: the bias may have broadcast the output to more batch axes than
    x @ W has, so the gradient is first summed back to the shape of x @ W."""

    def vjp(grad: Any, out: Any, x: Any, W: Any, b: Any) -> Any:
        # The common case (2-D x and W, a bias that broadcasts no further) skips the shape
        # arithmetic: it cost a few µs a call, a fifth of a small network's training step.
        if x.ndim == 2 and W.ndim == 2 and grad.shape == (x.shape[0], W.shape[1]):
            return matmul_grad(grad, x, W)
        inner = _matmul_shape(np.shape(x), np.shape(W))
        return matmul_grad(unbroadcast(grad, inner)[0] if np.shape(grad) != inner else grad, x, W)

    return vjp


def _sum_vjp(grad: Any, out: Any, x: Any, axis: Any = None, keepdims: Any = False) -> Any:
    return np.broadcast_to(expand_reduced(grad, np.shape(x), axis, keepdims), np.shape(x))


def _mean_vjp(grad: Any, out: Any, x: Any, axis: Any = None, keepdims: Any = False) -> Any:
    count = np.size(x) // max(np.size(out), 1)
    return _sum_vjp(grad, out, x, axis, keepdims) / count


def _extremum_vjp(grad: Any, out: Any, x: Any, axis: Any = None, keepdims: Any = False) -> Any:
    shape = np.shape(x)
    result = expand_reduced(out, shape, axis, keepdims)
    # As PyTorch's amax and amin: a NaN extremum equals no element, so its count is 0 and every
    # element of its slice gets 0 · (grad / 0), NaN.
    hits = x == result
    axes = normalize_axes(axis, len(shape))
    count = np.sum(hits, axis=axes, keepdims=True)
    return hits * (expand_reduced(grad, shape, axis, keepdims) / count)


# np.max and np.sum are np.maximum.reduce and np.add.reduce behind a Python wrapper that costs
# about a microsecond a call; called directly here (the same reductions, the same results), as the
# loss ops run at every training step.
def _softmax_parts(x: Any, axis: Any = -1) -> Any:
    """(x − max, exp(x − max), Σ exp(x − max)) along `axis`: softmax, log_softmax and the loss all
    start from these, so the same numbers come out whichever of them computes them."""
    shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return shifted, exps, np.add.reduce(exps, axis=axis, keepdims=True)


def _softmax(x: Any, axis: Any = -1) -> Any:
    _, exps, total = _softmax_parts(x, axis)
    return exps / total


def _log_softmax(x: Any, axis: Any = -1) -> Any:
    shifted, _, total = _softmax_parts(x, axis)
    return shifted - np.log(total)


def _class_indices(labels: Any, classes: int) -> np.ndarray:
    # (a row of float labels, the usual operand, as it is: atleast_1d and asarray are Python calls)
    usual = type(labels) is np.ndarray and labels.ndim == 1 and labels.dtype == np.float64
    flat = labels if usual else np.atleast_1d(np.asarray(labels, dtype=np.float64))
    # The usual case in one comparison and two reductions: a label that is a class index is its own
    # conversion to an integer (a fraction, ±inf and NaN are not), and lies in [0, classes). Anything
    # else is looked at below, for its error. (The cast's warning on NaN or inf is the callers'
    # np.errstate to silence: every walker runs under errstate(all="ignore").)
    # (the ufuncs' reductions: an array's all, min and max are Python wrappers around them)
    picked = flat.astype(np.intp)
    if np.logical_and.reduce(picked == flat) and (
        not picked.size or (np.minimum.reduce(picked) >= 0 and np.maximum.reduce(picked) < classes)
    ):
        return picked
    # NaN fails `flat == round(flat)`; ±inf pass it but fall outside the range checked next.
    if not (flat == flat.round()).all():
        raise OpError("labels must be integer class indices")
    if flat.size and (flat.min() < 0 or flat.max() >= classes):
        raise OpError(f"labels must be class indices in [0, {classes - 1}], got {flat.min():g}..{flat.max():g}")
    return flat.astype(np.intp)


def _onehot(labels: Any, classes: int, ignore_index: Any = None) -> np.ndarray:
    """labels (any shape) → one row of `classes` per label, 1 at its class; a label equal to
    ignore_index gives a row of zeros."""
    flat = np.atleast_1d(np.asarray(labels, dtype=np.float64)).ravel()
    rows = np.zeros((flat.size, classes))
    if ignore_index is None:  # every row has its class (no masks: they cost more than the rest)
        rows[np.arange(flat.size), _class_indices(flat, classes)] = 1.0
    else:
        kept = flat != ignore_index
        rows[np.arange(flat.size)[kept], _class_indices(flat[kept], classes)] = 1.0
    return rows.reshape((*np.shape(labels), classes))


def _cross_entropy_targets(
    logits: Any, labels: Any, weight: Any, ignore_index: Any, label_smoothing: Any, checked: Any = False
) -> Any:
    """The rows of logits (N, C), the target weights q with which every row's loss is
    −Σ_c q·log_softmax, and the total weight the mean divides by, Σ w[label] over the kept rows.

    As PyTorch defines it: q = (1 − ε)·w[label]·onehot(label) + (ε/C)·w over every class, rows
    whose label is ignore_index count nowhere; the mean divides by Σ w[label] of the kept rows.

    Without class weights, smoothing and ignore_index (a classifier's usual loss) q is
    onehot(label), and it is answered as each row's class (intp, shape (N,)): `_q_dot` and the
    vjp then pick one entry per row where they would multiply by zeros, which gives the same
    bits (x·0 adds ±0 to a sum) at a fraction of the cost; a training step runs this twice.
    `checked`: the labels were checked already (by the forward pass; see the vjp).
    """
    # (logits (N, C) and labels (N,), the usual operands, as they are: atleast_2d and reshape are
    # Python calls that cost more than a small batch's loss)
    rows = logits if type(logits) is np.ndarray and logits.ndim == 2 else np.atleast_2d(logits)
    classes = rows.shape[-1]
    if np.shape(labels) != rows.shape[:1]:
        labels = np.reshape(labels, rows.shape[:1])
    if weight is None and ignore_index is None and not label_smoothing:
        picked = labels.astype(np.intp) if checked else _class_indices(labels, classes)
        return rows, picked, np.float64(picked.size)
    onehot = _onehot(labels, classes, ignore_index)
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    row_weight = onehot @ w
    q = (1.0 - label_smoothing) * onehot * w
    if label_smoothing:
        q = q + (label_smoothing / classes) * np.add.reduce(onehot, axis=1, keepdims=True) * w
    return rows, q, np.add.reduce(row_weight)


def _q_dot(q: Any, values: Any) -> Any:
    """Σ_c q·values of every row, q as _cross_entropy_targets answers it (one-hot: each row's class)."""
    if q.ndim == 1:
        return values[np.arange(q.size), q]
    return np.add.reduce(q * values, axis=1)


def _cross_entropy_parts(
    logits: Any, labels: Any, weight: Any, ignore_index: Any, label_smoothing: Any, reduction: Any
) -> Any:
    """(the loss, its exponentials and their row sums, q, the total weight): the loss, and what
    its gradient is made of."""
    rows, q, total_weight = _cross_entropy_targets(logits, labels, weight, ignore_index, label_smoothing)
    # Shift by the row max before exponentiating: logits near 1000 stay finite.
    shifted, exps, total = _softmax_parts(rows, -1)
    per_row = -_q_dot(q, shifted - np.log(total))  # − q · log_softmax
    if reduction == "none":
        loss = np.reshape(per_row, np.shape(labels))
    else:
        loss = np.add.reduce(per_row)
        if reduction == "mean":
            loss = loss / total_weight
    return loss, exps, total, q, total_weight


def _cross_entropy(
    logits: Any,
    labels: Any,
    weight: Any = None,
    ignore_index: Any = None,
    label_smoothing: Any = 0.0,
    reduction: Any = "mean",
) -> Any:
    # The ordinary forward does not form the softmax: its vjp makes it only if it runs.
    return _cross_entropy_parts(logits, labels, weight, ignore_index, label_smoothing, reduction)[0]


def _cross_entropy_saving(
    logits: Any,
    labels: Any,
    weight: Any = None,
    ignore_index: Any = None,
    label_smoothing: Any = 0.0,
    reduction: Any = "mean",
) -> Any:
    """(the loss, what its vjp needs): the softmax comes out of the loss's own exponentials, so a
    training step (app.engine.lean) does not compute it again in the backward pass."""
    loss, exps, total, q, total_weight = _cross_entropy_parts(
        logits, labels, weight, ignore_index, label_smoothing, reduction
    )
    return loss, (exps / total, q, total_weight, reduction, np.shape(logits))


def _cross_entropy_vjp(
    grad: Any,
    out: Any,
    logits: Any,
    labels: Any,
    weight: Any = None,
    ignore_index: Any = None,
    label_smoothing: Any = 0.0,
    reduction: Any = "mean",
) -> Any:
    # A vjp runs only after its node's forward pass succeeded on the same operands (app.engine.run,
    # app.engine.lean), and that pass checked the labels: they are class indices (checked=True
    # saves a fifth of this vjp, at every training step).
    rows, q, total_weight = _cross_entropy_targets(logits, labels, weight, ignore_index, label_smoothing, checked=True)
    return _cross_entropy_grad(grad, None, (_softmax(rows, -1), q, total_weight, reduction, np.shape(logits)))


def _cross_entropy_grad(grad: Any, out: Any, saved: Any) -> Any:
    """∂L/∂logits from the softmax and targets (the vjp's, or the ones the forward pass kept).
    The softmax is consumed: it becomes the gradient, in place."""
    softmax, q, total_weight, reduction, shape = saved
    if reduction == "none":
        per_row = np.reshape(grad, (softmax.shape[0], 1))
    else:
        per_row = grad if reduction == "sum" else grad / total_weight
    # (a mean's or a sum's per_row is one float: math's test, not an array's, at every training step)
    if not (math.isfinite(per_row) if isinstance(per_row, float) else np.isfinite(per_row).all()):
        return np.reshape(_cross_entropy_grad_scattered(softmax, q, per_row), shape)
    # ∂(−Σ q·log softmax)/∂z = softmax·Σq − q, row by row.
    delta = softmax
    if q.ndim == 1:  # one-hot q: Σq is 1 in every row, and q is 1 at the row's class only
        delta[np.arange(q.size), q] -= 1.0
    else:
        delta = delta * np.add.reduce(q, axis=1, keepdims=True) - q
    delta *= per_row  # (delta is this function's own array: in place, the same products)
    return delta if delta.shape == shape else np.reshape(delta, shape)


def _cross_entropy_grad_scattered(softmax: np.ndarray, q: np.ndarray, per_row: Any) -> np.ndarray:
    """∂L/∂logits as PyTorch forms it: the upstream gradient scattered into the targets' places,
    g = −q·per_row there and 0 elsewhere (never multiplied), then log_softmax's backward
    g − softmax·Σg. The same numbers as the factored form where per_row is finite; where it is
    infinite or NaN, the places outside the targets hold 0 where the factored form has inf · 0."""
    if q.ndim == 1:
        g = np.zeros(softmax.shape)
        g[np.arange(q.size), q] = -np.reshape(per_row, -1) if np.ndim(per_row) else -per_row
    else:
        g = np.where(q != 0, -q * per_row, 0.0)
    grad: np.ndarray = g - softmax * np.add.reduce(g, axis=1, keepdims=True)  # (numpy's stubs answer Any)
    return grad


def _mse(pred: Any, target: Any, reduction: Any = "mean") -> Any:
    squared = np.square(np.subtract(pred, target))
    if reduction == "none":
        return squared
    # np.mean is this sum divided by the count, behind two Python wrappers that cost more than
    # a small batch's arithmetic (mse is a regression's loss: it runs at every training step).
    total = np.add.reduce(squared, axis=None)
    return total if reduction == "sum" else total / np.size(squared)


def _mse_vjp_pred(grad: Any, out: Any, pred: Any, target: Any, reduction: Any = "mean") -> Any:
    diff = np.subtract(pred, target)
    if reduction == "mean":
        return diff * (2.0 * grad / max(np.size(diff), 1))
    return diff * (2.0 * np.asarray(grad))


def _transpose_vjp(grad: Any, out: Any, x: Any, axes: Any = None) -> Any:
    # argsort inverts the permutation only once negative axes are made positive.
    return np.transpose(grad, None if axes is None else np.argsort([a % np.ndim(x) for a in axes]))


# --- indexing, joining, selecting: the ops PyTorch programs are written with --------------------


def _index_forward(m: type, x: Any, *indices: Any, key: indexing.Key) -> Any:
    try:
        return indexing.index_forward(x, *indices, key=key)
    except indexing.IndexValueError as exc:
        raise OpError(str(exc)) from None


def _index_vjp(grad: Any, out: Any, x: Any, *indices: Any, key: indexing.Key) -> np.ndarray:
    try:
        return indexing.index_backward(grad, x, *indices, key=key)
    except indexing.IndexValueError as exc:  # the forward checked them: only a replay with other values gets here
        raise OpError(str(exc)) from None


def _gather_forward(m: type, x: Any, index: Any, axis: int) -> Any:
    try:
        return indexing.gather_forward(x, index, axis)
    except indexing.IndexValueError as exc:
        raise OpError(str(exc)) from None


def _gather_vjp(grad: Any, out: Any, x: Any, index: Any, axis: int) -> np.ndarray:
    try:
        return indexing.gather_backward(grad, x, index, axis)
    except indexing.IndexValueError as exc:
        raise OpError(str(exc)) from None


def _joined_axis(first: tuple[int, ...], axis: int, extra: int, name: str) -> int:
    """axis made non-negative for a result of len(first) + extra axes."""
    ndim = len(first) + extra
    if not -ndim <= axis < ndim:
        raise ShapeError(f"axis {axis} is out of range for {name} of tensors with {len(first)} axes")
    return axis % ndim


def _cat_shape(*tensors: tuple[int, ...], axis: int = 0) -> tuple[int, ...]:
    if not tensors:
        raise ShapeError("cat needs at least one tensor")
    first = tensors[0]
    if not first:
        raise ShapeError("scalars cannot be concatenated (they have no axis): stack them")
    at = _joined_axis(first, axis, 0, "cat")
    for shape in tensors[1:]:
        if len(shape) != len(first) or any(d != e for k, (d, e) in enumerate(zip(shape, first)) if k != at):
            raise ShapeError(f"cat along axis {axis} needs the same sizes on every other axis")
    return (*first[:at], sum(shape[at] for shape in tensors), *first[at + 1 :])


def _cat_vjp(grad: Any, out: Any, *tensors: Any, part: int, axis: int = 0) -> Any:
    """The slice of the upstream gradient where operand `part` was placed."""
    at = axis % np.ndim(grad)
    offset = sum(np.shape(t)[at] for t in tensors[:part])
    return grad[(slice(None),) * at + (slice(offset, offset + np.shape(tensors[part])[at]),)]


def _stack_shape(*tensors: tuple[int, ...], axis: int = 0) -> tuple[int, ...]:
    if not tensors:
        raise ShapeError("stack needs at least one tensor")
    first = tensors[0]
    if any(shape != first for shape in tensors[1:]):
        raise ShapeError("stack needs tensors of one shape")
    at = _joined_axis(first, axis, 1, "stack")
    return (*first[:at], len(tensors), *first[at:])


def _stack_vjp(grad: Any, out: Any, *tensors: Any, part: int, axis: int = 0) -> Any:
    return np.take(grad, part, axis=axis % np.ndim(grad))


def _true(cond: Any) -> Any:
    """A condition or mask tensor as booleans: nonzero is true (NaN too, as bool(nan) is)."""
    return np.not_equal(cond, 0.0)


def _masked_fill(m: type, x: Any, mask: Any, value: float) -> np.ndarray:
    return np.where(_true(mask), value, np.asarray(x, dtype=np.float64))


def _comparison(name: str, ufunc: np.ufunc, symbol: str) -> Op:
    return Op(
        name,
        _BINARY,
        f"{symbol.strip()} elementwise, broadcasting: 1.0 where it holds, else 0.0 (a mask). "
        "No gradient flows through a comparison.",
        _broadcast_shape,
        lambda m, a, b: np.asarray(ufunc(a, b), dtype=np.float64),
        ("a comparison takes no gradient", "a comparison takes no gradient"),
        vjp=(None, None),
        syntax=f"{{a}} {symbol} {{b}}",
    )


def _logical(name: str, combine: Callable[..., Any], doc: str, operands: tuple[str, ...] = ("a", "b")) -> Op:
    """A logical op on masks (PyTorch's bool tensors): operands are true where nonzero (NaN too, as
    in PyTorch); the result is 1.0 where it holds, else 0.0. No gradient, as through a comparison."""
    return Op(
        name,
        operands,
        doc + " No gradient flows through it.",
        _same_shape if len(operands) == 1 else _broadcast_shape,
        lambda m, *masks: np.asarray(combine(*map(_true, masks)), dtype=np.float64),
        ("a logical op takes no gradient",) * len(operands),
        vjp=(None,) * len(operands),
        syntax=f"{name}({', '.join('{' + operand + '}' for operand in operands)})",
    )


def _arg_extremum(fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
    def forward(m: type, x: Any, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
        # As PyTorch: the first position of the extremum (NaN counts as the extremum), as a float.
        return np.asarray(fn(x, axis=axis, keepdims=keepdims), dtype=np.float64)

    return forward


def _triangle_shape(x: tuple[int, ...], diagonal: int = 0) -> tuple[int, ...]:
    if len(x) < 2:
        raise ShapeError("tril and triu need a tensor with at least two axes")
    return x


def _clamp_shape(x: tuple[int, ...], min: float | None = None, max: float | None = None) -> tuple[int, ...]:
    if min is None and max is None:
        raise ShapeError("clamp needs min or max (or both)")
    return x


def _clamp(m: type, x: Any, min: float | None = None, max: float | None = None) -> np.ndarray:
    out = np.asarray(x, dtype=np.float64)
    if min is not None:
        out = np.maximum(out, min)  # NaN stays NaN, as in PyTorch
    if max is not None:
        out = np.minimum(out, max)
    return out


def _clamp_vjp(grad: Any, out: Any, x: Any, min: float | None = None, max: float | None = None) -> Any:
    """The gradient passes where min <= x <= max, bounds included (PyTorch's rule); not at NaN.
    Elsewhere it is 0 even where the upstream gradient is inf or NaN (PyTorch's where, not grad · 0)."""
    inside = np.ones(np.shape(x), dtype=bool)
    if min is not None:
        inside &= np.greater_equal(x, min)
    if max is not None:
        inside &= np.less_equal(x, max)
    return np.where(inside, grad, 0.0)


def _kept(value: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """A reduction computed with keepdims=True, given the shape asked for."""
    return value if keepdims else np.reshape(value, reduced_shape(shape, axis, False))


def _logsumexp(m: type, x: Any, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:  # a sum of no exponentials: log 0
        return np.full(reduced_shape(x.shape, axis, keepdims), -np.inf)
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # rows of -inf (or with +inf) are not shifted: PyTorch's answer
    total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return _kept(total, x.shape, axis, keepdims)


def _logsumexp_vjp(grad: Any, out: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    shape = np.shape(x)
    return expand_reduced(grad, shape, axis, keepdims) * np.exp(x - expand_reduced(out, shape, axis, keepdims))


def _deviation_shape(
    x: tuple[int, ...], axis: Any = None, correction: float = 1, keepdims: bool = False
) -> tuple[int, ...]:
    return reduced_shape(x, axis, keepdims)


def _reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    axes = normalize_axes(axis, len(shape))
    return size(shape) if axes is None else size(shape[a] for a in axes)


def _deviations(x: Any, axis: Any, correction: float) -> tuple[np.ndarray, float]:
    """(x − mean, n − correction) of a var or std over `axis`."""
    x = np.asarray(x, dtype=np.float64)
    n = _reduced_count(x.shape, axis)
    mean = np.divide(np.sum(x, axis=axis, keepdims=True), n)
    return x - mean, n - correction


def _var(m: type, x: Any, axis: Any = None, correction: float = 1, keepdims: bool = False) -> np.ndarray:
    deviations, divisor = _deviations(x, axis, correction)
    squares = np.sum(deviations * deviations, axis=axis, keepdims=True)
    # PyTorch divides by max(0, n − correction) here (inf or NaN past it), by n − correction in the vjp
    return _kept(np.divide(squares, max(0.0, divisor)), np.shape(x), axis, keepdims)


def _var_vjp(grad: Any, out: Any, x: Any, axis: Any = None, correction: float = 1, keepdims: bool = False) -> Any:
    deviations, divisor = _deviations(x, axis, correction)
    return expand_reduced(grad, np.shape(x), axis, keepdims) * np.divide(2.0 * deviations, divisor)


def _std_vjp(grad: Any, out: Any, x: Any, axis: Any = None, correction: float = 1, keepdims: bool = False) -> Any:
    # ∂std = ∂var / (2·std); where std is 0 PyTorch takes the gradient as 0, not 0/0.
    half = np.where(np.equal(out, 0.0), 0.0, np.divide(grad, 2.0 * np.asarray(out)))
    return _var_vjp(half, None, x, axis, correction, keepdims)


def _made_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    if any(d < 0 for d in shape):
        raise ShapeError(f"shape {fmt(shape)} has a negative size")
    return tuple(shape)


def _arange_bounds(start: float, end: float | None) -> tuple[float, float]:
    """As Python's range and PyTorch's arange: one bound given is the end, counting from 0."""
    return (0, start) if end is None else (start, end)


def _arange_shape(start: float = 0, end: float | None = None, step: float = 1) -> tuple[int, ...]:
    return (_arange_count(*_arange_bounds(start, end), step),)


def _arange(m: type, start: float = 0, end: float | None = None, step: float = 1) -> np.ndarray:
    start, end = _arange_bounds(start, end)
    return start + np.arange(_arange_count(start, end, step)) * float(step)


def _arange_count(start: float, end: float, step: float) -> int:
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise ShapeError("arange needs finite start, end and step")
    if step == 0:
        raise ShapeError("arange's step cannot be zero")
    steps = (end - start) / step
    if not abs(steps) < 1e18:  # arange(0, 1e308, 1e-308): past any limit (and inf, past math.ceil)
        raise ShapeError(f"arange from {start} to {end} by {step} has more elements than a tensor can hold")
    count = math.ceil(steps)
    if count < 0:
        raise ShapeError(f"arange from {start} to {end} cannot go by steps of {step}")
    return count


def _eye_shape(n: int, m: int | None = None) -> tuple[int, ...]:
    return _made_shape((n, n if m is None else m))


_LINEAR_GRAD_A, _LINEAR_GRAD_B = _linear_grad(_matmul_grad_a), _linear_grad(_matmul_grad_b)


def _linear_t_shape(x: tuple[int, ...], W: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if len(W) not in (1, 2):
        raise ShapeError("linear_t needs a weight of shape (out, in) or (in,)")
    shape: tuple[int, ...] = _linear_shape(x, W[::-1], b)
    return shape


def _linear_t_grad_W(grad: Any, out: Any, x: Any, W: Any, b: Any) -> Any:
    """∂L/∂W of x @ Wᵀ + b: linear's gradient of Wᵀ, transposed back (its last two axes: a batched
    x leaves batch axes in front, which the walker sums away); a 1-D W is its own transpose."""
    grad_wt = _LINEAR_GRAD_B(grad, out, x, np.transpose(W), b)
    return grad_wt if np.ndim(W) == 1 else np.swapaxes(grad_wt, -1, -2)


_NO_GRAD = "{x} takes no gradient (only its shape is used)"


# --- the table -----------------------------------------------------------------------------------

_UNARY = ("x",)
_BINARY = ("a", "b")
_REDUCE_PARAMS = (Param("axis", "axes"), Param("keepdims", "bool", False))
_REDUCTIONS = ("mean", "sum", "none")
_REDUCED = {"mean": "mean({})", "sum": "sum({})", "none": "{}"}


def _cross_entropy_program(
    weight: Any = None, ignore_index: Any = None, label_smoothing: Any = 0.0, reduction: Any = "mean"
) -> str:
    """softmax_cross_entropy as primitives, for the options given; `weight` is bound to a constant
    of the given class weights and {C} is the class count (see app/engine/expand.py)."""
    if weight is None and ignore_index is None and not label_smoothing:
        return "-" + _REDUCED[reduction].format("sum(log_softmax(logits) * onehot(labels, {C}), axis=-1)")
    weighted = " * weight" if weight is not None else ""
    ignore = f", ignore_index={ignore_index}" if ignore_index is not None else ""
    lines = [
        "logp = log_softmax(logits)",
        f"targets = onehot(labels, {{C}}{ignore})",
        f"nll = -sum(logp * targets{weighted}, axis=-1)",
    ]
    rows = "nll"
    if label_smoothing:
        kept = " * sum(targets, axis=-1)" if ignore_index is not None else ""  # ignored rows count nowhere
        lines.append(f"smooth = -sum(logp{weighted}, axis=-1){kept}")
        lines.append(f"rows = {1.0 - label_smoothing!r} * nll + {label_smoothing!r} / {{C}} * smooth")
        rows = "rows"
    if reduction == "mean" and (weight is not None or ignore_index is not None):
        # PyTorch's mean divides by the summed class weights of the rows kept, not by N.
        lines.append(f"sum({rows}) / sum(targets{weighted})")
    else:
        lines.append(_REDUCED[reduction].format(rows))
    return "\n".join(lines)


def _unary(name: Any, forward: Any, local: Any, formula: Any, doc: Any, decomposition: Any = None) -> Any:
    return Op(
        name,
        _UNARY,
        doc,
        _same_shape,
        forward,
        (formula,),
        local=(local,),
        syntax=f"{name}({{x}})",
        decomposition=decomposition,
    )


def _binary(name: Any, forward: Any, locals_: Any, formulas: Any, syntax: Any, doc: Any) -> Any:
    return Op(name, _BINARY, doc, _broadcast_shape, forward, formulas, local=locals_, syntax=syntax)


_OPS = [
    _binary(
        "add",
        lambda m, a, b: a + b,
        (lambda m, out, a, b: 1.0, lambda m, out, a, b: 1.0),
        ("∂{out}/∂{a} = 1", "∂{out}/∂{b} = 1"),
        "{a} + {b}",
        "Elementwise sum, broadcasting.",
    ),
    _binary(
        "sub",
        lambda m, a, b: a - b,
        (lambda m, out, a, b: 1.0, lambda m, out, a, b: -1.0),
        ("∂{out}/∂{a} = 1", "∂{out}/∂{b} = −1"),
        "{a} - {b}",
        "Elementwise difference, broadcasting.",
    ),
    _binary(
        "mul",
        lambda m, a, b: a * b,
        (lambda m, out, a, b: b, lambda m, out, a, b: a),
        ("∂{out}/∂{a} = {b}", "∂{out}/∂{b} = {a}"),
        "{a} * {b}",
        "Elementwise product, broadcasting.",
    ),
    _binary(
        "div",
        lambda m, a, b: m.div(a, b),
        (lambda m, out, a, b: m.div(1.0, b), lambda m, out, a, b: m.div(-a, b * b)),
        ("∂{out}/∂{a} = 1/{b}", "∂{out}/∂{b} = −{a}/{b}²"),
        "{a} / {b}",
        "Elementwise quotient, broadcasting.",
    ),
    replace(
        _binary(
            "pow",
            lambda m, a, b: m.pow(a, b),
            (
                lambda m, out, a, b: m.where(b == 0, 0.0, b * m.pow(a, b - 1.0)),
                lambda m, out, a, b: m.where((a == 0) & (b >= 0), 0.0, out * m.log(a)),
            ),
            ("∂{out}/∂{a} = {b}·{a}^({b}−1)", "∂{out}/∂{b} = {out}·ln {a}"),
            "{a} ** {b}",
            "Elementwise power, broadcasting.",
        ),
        masks=(lambda m, out, a, b: b == 0, None),
    ),
    replace(
        _binary(
            "maximum",
            lambda m, a, b: m.maximum(a, b),
            (lambda m, out, a, b: _wins(a, b), lambda m, out, a, b: _wins(b, a)),
            ("∂{out}/∂{a} = [{a} > {b}] (½ on ties)", "∂{out}/∂{b} = [{b} > {a}] (½ on ties)"),
            "maximum({a}, {b})",
            "Elementwise maximum, broadcasting.",
        ),
        masks=(lambda m, out, a, b: a < b, lambda m, out, a, b: b < a),
    ),
    replace(
        _binary(
            "minimum",
            lambda m, a, b: m.minimum(a, b),
            (lambda m, out, a, b: _wins(b, a), lambda m, out, a, b: _wins(a, b)),
            ("∂{out}/∂{a} = [{a} < {b}] (½ on ties)", "∂{out}/∂{b} = [{b} < {a}] (½ on ties)"),
            "minimum({a}, {b})",
            "Elementwise minimum, broadcasting.",
        ),
        masks=(lambda m, out, a, b: a > b, lambda m, out, a, b: b > a),
    ),
    Op(
        "neg",
        _UNARY,
        "Negation, -x.",
        _same_shape,
        lambda m, x: -x,
        ("∂{out}/∂{x} = −1",),
        local=(lambda m, out, x: -1.0,),
        syntax="-{x}",
    ),
    _unary("exp", lambda m, x: m.exp(x), lambda m, out, x: out, "∂{out}/∂{x} = exp({x}) = {out}", "e to the power x."),
    _unary(
        "log",
        lambda m, x: m.log(x),
        lambda m, out, x: m.div(1.0, x),
        "∂{out}/∂{x} = 1/{x}",
        "Natural logarithm; log(0) = -inf.",
    ),
    _unary(
        "sqrt", lambda m, x: m.sqrt(x), lambda m, out, x: m.div(0.5, out), "∂{out}/∂{x} = 1/(2·{out})", "Square root."
    ),
    _unary(
        "abs",
        lambda m, x: abs(x),
        lambda m, out, x: (x > 0) * 1.0 - (x < 0) * 1.0,
        "∂{out}/∂{x} = sign({x})",
        "Absolute value; its derivative at 0 is 0, as in PyTorch.",
    ),
    _unary("sin", lambda m, x: m.sin(x), lambda m, out, x: m.cos(x), "∂{out}/∂{x} = cos({x})", "Sine."),
    _unary("cos", lambda m, x: m.cos(x), lambda m, out, x: -m.sin(x), "∂{out}/∂{x} = −sin({x})", "Cosine."),
    _unary(
        "tanh",
        lambda m, x: m.tanh(x),
        lambda m, out, x: 1.0 - out * out,
        "∂{out}/∂{x} = 1 − {out}²",
        "Hyperbolic tangent.",
    ),
    _unary(
        "sigmoid",
        lambda m, x: m.sigmoid(x),
        lambda m, out, x: out * (1.0 - out),
        "∂{out}/∂{x} = {out}·(1 − {out})",
        "Logistic sigmoid 1/(1 + e^-x); derivative s·(1 − s) of its output s.",
        decomposition=lambda: "1 / (1 + exp(-x))",
    ),
    # relu's derivative is read off its result, as PyTorch's threshold_backward does (0 where
    # out <= 0, else 1): a NaN input passes the gradient on, where [x > 0] would stop it.
    replace(
        _unary(
            "relu",
            lambda m, x: m.relu(x),
            lambda m, out, x: m.nonzero(out),
            "∂{out}/∂{x} = [{x} > 0]",
            "max(x, 0); its derivative at 0 is 0, as in PyTorch.",
        ),
        masks=(lambda m, out, x: out == 0,),
    ),
    Op(
        "matmul",
        _BINARY,
        "Matrix product a @ b, with numpy's rules for 1-D and batched operands.",
        _matmul_shape,
        lambda m, a, b: np.matmul(a, b),
        ("∂L/∂{a} = ∂L/∂{out} @ {b}ᵀ", "∂L/∂{b} = {a}ᵀ @ ∂L/∂{out}"),
        vjp=(lambda grad, out, a, b: _matmul_grad_a(grad, a, b), lambda grad, out, a, b: _matmul_grad_b(grad, a, b)),
        work=_matmul_work,
        syntax="{a} @ {b}",
    ),
    Op(
        "sum",
        _UNARY,
        "Sum over `axis` (all axes when None).",
        _reduce_shape,
        lambda m, x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
        ("∂L/∂{x} = ∂L/∂{out} copied to every summed element",),
        vjp=(_sum_vjp,),
        params=_REDUCE_PARAMS,
        work=lambda out, x: size(x),
        syntax="sum({x})",
    ),
    Op(
        "mean",
        _UNARY,
        "Mean over `axis` (all axes when None).",
        _reduce_shape,
        lambda m, x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
        ("∂L/∂{x} = ∂L/∂{out} / n for every averaged element",),
        vjp=(_mean_vjp,),
        params=_REDUCE_PARAMS,
        work=lambda out, x: size(x),
        syntax="mean({x})",
    ),
    Op(
        "max",
        _UNARY,
        "Maximum over `axis`; ties share the gradient evenly, as in PyTorch.",
        _extremum_shape,
        lambda m, x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
        ("∂L/∂{x} = ∂L/∂{out} at the maxima (split evenly on ties), 0 elsewhere",),
        vjp=(_extremum_vjp,),
        params=_REDUCE_PARAMS,
        work=lambda out, x: size(x),
        syntax="max({x})",
    ),
    Op(
        "min",
        _UNARY,
        "Minimum over `axis`; ties share the gradient evenly, as in PyTorch.",
        _extremum_shape,
        lambda m, x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims),
        ("∂L/∂{x} = ∂L/∂{out} at the minima (split evenly on ties), 0 elsewhere",),
        vjp=(_extremum_vjp,),
        params=_REDUCE_PARAMS,
        work=lambda out, x: size(x),
        syntax="min({x})",
    ),
    Op(
        "softmax",
        _UNARY,
        "exp(x) / sum(exp(x)) along `axis`, shifted by the max for stability.",
        _softmax_shape,
        lambda m, x, axis=-1: _softmax(x, axis),
        ("∂L/∂{x} = {out} ⊙ (∂L/∂{out} − Σ ∂L/∂{out} ⊙ {out})",),
        vjp=(lambda grad, out, x, axis=-1: out * (grad - np.sum(grad * out, axis=axis, keepdims=True)),),
        params=(Param("axis", "axis", -1),),
        work=lambda out, x: 4 * size(x),
        syntax="softmax({x})",
        decomposition=lambda axis=-1: (
            f"shift = detach(max(x, axis={axis}, keepdims=True))\n"
            f"e = exp(x - shift)\n"
            f"e / sum(e, axis={axis}, keepdims=True)"
        ),
    ),
    Op(
        "log_softmax",
        _UNARY,
        "x − log(sum(exp(x))) along `axis`, computed stably.",
        _softmax_shape,
        lambda m, x, axis=-1: _log_softmax(x, axis),
        ("∂L/∂{x} = ∂L/∂{out} − exp({out}) · Σ ∂L/∂{out}",),
        vjp=(lambda grad, out, x, axis=-1: grad - np.exp(out) * np.sum(grad, axis=axis, keepdims=True),),
        params=(Param("axis", "axis", -1),),
        work=lambda out, x: 4 * size(x),
        syntax="log_softmax({x})",
        decomposition=lambda axis=-1: (
            f"shift = detach(max(x, axis={axis}, keepdims=True))\n"
            f"shifted = x - shift\n"
            f"shifted - log(sum(exp(shifted), axis={axis}, keepdims=True))"
        ),
    ),
    Op(
        "mse",
        ("pred", "target"),
        'Squared error (pred − target)², averaged (reduction="mean"), summed ("sum") or kept per '
        'element ("none"), as PyTorch\'s mse_loss.',
        _mse_shape,
        lambda m, pred, target, reduction="mean": _mse(pred, target, reduction),
        ("∂L/∂{pred} = ∂L/∂{out} · 2({pred} − {target})/n", "∂L/∂{target} = −∂L/∂{out} · 2({pred} − {target})/n"),
        vjp=(
            _mse_vjp_pred,
            lambda grad, out, pred, target, reduction="mean": -_mse_vjp_pred(grad, out, pred, target, reduction),
        ),
        params=(Param("reduction", "enum", "mean", choices=_REDUCTIONS),),
        work=lambda out, pred, target: 3 * size(broadcast(pred, target)),
        syntax="mse({pred}, {target})",
        decomposition=lambda reduction="mean": _REDUCED[reduction].format("(pred - target) ** 2"),
    ),
    Op(
        "softmax_cross_entropy",
        ("logits", "labels"),
        "Cross-entropy of softmax(logits) against integer class labels, as PyTorch's cross_entropy: "
        "class `weight`, `ignore_index`, `label_smoothing` and `reduction` as it defines them.",
        _cross_entropy_shape,
        lambda m, logits, labels, **options: _cross_entropy(logits, labels, **options),
        ("∂L/∂{logits} = ∂L/∂{out} · (softmax({logits}) − onehot({labels}))/N", "labels take no gradient"),
        vjp=(_cross_entropy_vjp, None),
        work=lambda out, logits, labels: 5 * size(logits),
        forward_saving=_cross_entropy_saving,
        vjp_saved=(_cross_entropy_grad, None),
        params=(
            Param("weight", "numbers"),
            Param("ignore_index", "index"),
            Param("label_smoothing", "fraction", 0.0),
            Param("reduction", "enum", "mean", choices=_REDUCTIONS),
        ),
        syntax="softmax_cross_entropy({logits}, {labels})",
        decomposition=_cross_entropy_program,
    ),
    Op(
        "linear",
        ("x", "W", "b"),
        "x @ W + b with W of shape (in, out), as the tutorial's Linear layer.",
        _linear_shape,
        lambda m, x, W, b: np.matmul(x, W) + b,
        ("∂L/∂{x} = ∂L/∂{out} @ {W}ᵀ", "∂L/∂{W} = {x}ᵀ @ ∂L/∂{out}", "∂L/∂{b} = ∂L/∂{out}"),
        vjp=(_linear_grad(_matmul_grad_a), _linear_grad(_matmul_grad_b), lambda grad, out, x, W, b: grad),
        work=lambda out, x, W, b: size(out) * (x[-1] + 1),
        syntax="linear({x}, {W}, {b})",
        decomposition=lambda: "x @ W + b",
    ),
    Op(
        "onehot",
        ("labels",),
        "One row of `classes` per integer label, 1 at its class and 0 elsewhere; "
        "a label equal to `ignore_index` gives a row of zeros. Labels take no gradient.",
        _onehot_shape,
        lambda m, labels, classes, ignore_index=None: _onehot(labels, classes, ignore_index),
        ("labels take no gradient",),
        vjp=(None,),
        params=(Param("classes", "count", required=True), Param("ignore_index", "index")),
        work=lambda out, labels: size(out),
        syntax="onehot({labels})",
    ),
    Op(
        "detach",
        _UNARY,
        "x itself, with no gradient flowing back through it (PyTorch's x.detach()): "
        "the max shift inside softmax and log_softmax.",
        _same_shape,
        lambda m, x: x,
        ("no gradient flows back through detach",),
        vjp=(None,),
        syntax="detach({x})",
    ),
    Op(
        "transpose",
        _UNARY,
        "Reverses the axes (or permutes them by `axes`); also written x.T.",
        _transpose_shape,
        lambda m, x, axes=None: np.transpose(x, axes),
        ("∂L/∂{x} = (∂L/∂{out})ᵀ",),
        vjp=(_transpose_vjp,),
        params=(Param("axes", "perm"),),
        syntax="{x}.T",
    ),
    Op(
        "reshape",
        _UNARY,
        "The same elements in a new shape (one size may be -1).",
        _reshape_shape,
        lambda m, x, shape: np.reshape(x, shape),
        ("∂L/∂{x} = ∂L/∂{out} reshaped to the shape of {x}",),
        vjp=(lambda grad, out, x, shape: np.reshape(grad, np.shape(x)),),
        params=(Param("shape", "shape", required=True),),
        syntax="reshape({x})",
    ),
]

_NO_GRADIENT = "no gradient flows out of a constant"
_MAKER_SHAPE = (Param("shape", "shape", required=True),)

_OPS += [
    Op(
        "index",
        ("x", "indices"),
        "x[key]: PyTorch's indexing (ints, slices, None, ..., and integer tensors that gather, paired as numpy "
        "pairs them). The parser builds it from a subscript; `key` says item by item what the subscript holds. "
        "Its backward is a scatter-add: repeated indices add up. Index tensors take no gradient.",
        indexing.index_shape,
        _index_forward,
        (
            "∂L/∂{x} = ∂L/∂{out} scatter-added into zeros shaped like {x}, at the positions read (repeats add up)",
            "{indices} are positions: they take no gradient",
        ),
        vjp=(_index_vjp, None),
        params=(Param("key", "key", required=True),),
        work=indexing.index_work,
        syntax="{x}[…]",
        variadic=True,
        checks_values=True,
    ),
    Op(
        "gather",
        ("x", "index"),
        "Values of x picked along `axis` by an integer tensor with x's axes, as "
        "torch.gather and np.take_along_axis: out[i][j] = x[i][index[i][j]] for axis=1. The pair "
        "torch.max(x, dim) reads its values this way (the whole gradient goes to the first maximum). "
        "The index takes no gradient.",
        indexing.gather_shape,
        _gather_forward,
        (
            "∂L/∂{x} = ∂L/∂{out} scatter-added into zeros shaped like {x}, at the positions {index} read",
            "{index} holds positions: it takes no gradient",
        ),
        vjp=(_gather_vjp, None),
        params=(Param("axis", "axis", required=True),),
        syntax="gather({x}, {index})",
    ),
    Op(
        "cat",
        ("tensors",),
        "The tensors joined end to end along `axis` (sizes equal on the other axes).",
        _cat_shape,
        lambda m, *tensors, axis=0: np.concatenate(tensors, axis=axis),
        ("∂L/∂{tensors} = the slice of ∂L/∂{out} where {tensors} was placed",),
        vjp=(_cat_vjp,),
        params=(Param("axis", "axis", 0),),
        syntax="cat({tensors})",
        variadic=True,
    ),
    Op(
        "stack",
        ("tensors",),
        "The tensors (all of one shape) stacked along a new axis `axis`.",
        _stack_shape,
        lambda m, *tensors, axis=0: np.stack(tensors, axis=axis),
        ("∂L/∂{tensors} = the slice of ∂L/∂{out} at {tensors}'s position along the new axis",),
        vjp=(_stack_vjp,),
        params=(Param("axis", "axis", 0),),
        syntax="stack({tensors})",
        variadic=True,
    ),
    Op(
        "where",
        ("cond", "a", "b"),
        "a where cond is nonzero (true), else b, broadcasting all three. The condition takes no gradient.",
        _broadcast_shape,
        lambda m, cond, a, b: np.where(_true(cond), a, b),
        (
            "{cond} is a condition: it takes no gradient",
            "∂L/∂{a} = ∂L/∂{out} where {cond} holds, 0 elsewhere",
            "∂L/∂{b} = ∂L/∂{out} where {cond} does not hold, 0 elsewhere",
        ),
        vjp=(
            None,
            lambda grad, out, cond, a, b: np.where(_true(cond), grad, 0.0),
            lambda grad, out, cond, a, b: np.where(_true(cond), 0.0, grad),
        ),
        syntax="where({cond}, {a}, {b})",
    ),
    Op(
        "masked_fill",
        ("x", "mask"),
        "x with `value` where mask is nonzero (true); value may be -inf "
        "(a masked softmax's scores). The mask takes no gradient.",
        lambda x, mask, value: broadcast(x, mask),
        _masked_fill,
        ("∂L/∂{x} = ∂L/∂{out} where {mask} is false, 0 where it filled", "{mask} is a mask: it takes no gradient"),
        vjp=(lambda grad, out, x, mask, value: np.where(_true(mask), 0.0, grad), None),
        params=(Param("value", "number", required=True),),
        syntax="masked_fill({x}, {mask})",
    ),
    _comparison("gt", np.greater, ">"),
    _comparison("lt", np.less, "<"),
    _comparison("ge", np.greater_equal, ">="),
    _comparison("le", np.less_equal, "<="),
    _comparison("eq", np.equal, "=="),
    _comparison("ne", np.not_equal, "!="),
    _logical(
        "bool", lambda mask: mask, "x as a mask: 1.0 where x is nonzero (true), else 0.0: PyTorch's x.bool().", _UNARY
    ),
    _logical("logical_not", np.logical_not, "1.0 where x is zero (false), else 0.0: PyTorch's ~mask.", _UNARY),
    _logical("logical_and", np.logical_and, "1.0 where a and b are both nonzero (true), else 0.0, broadcasting."),
    _logical("logical_or", np.logical_or, "1.0 where a or b is nonzero (true), else 0.0, broadcasting."),
    _logical("logical_xor", np.logical_xor, "1.0 where exactly one of a and b is nonzero (true), else 0.0."),
    Op(
        "argmax",
        _UNARY,
        "The position of the maximum over `axis` (of the flattened tensor when None), as a "
        "float; the first one on ties, as PyTorch. No gradient.",
        _extremum_shape,
        _arg_extremum(np.argmax),
        ("a position takes no gradient",),
        vjp=(None,),
        params=(Param("axis", "index"), Param("keepdims", "bool", False)),
        work=lambda out, x: size(x),
        syntax="argmax({x})",
    ),
    Op(
        "argmin",
        _UNARY,
        "The position of the minimum over `axis` (of the flattened tensor when None), as a "
        "float; the first one on ties, as PyTorch. No gradient.",
        _extremum_shape,
        _arg_extremum(np.argmin),
        ("a position takes no gradient",),
        vjp=(None,),
        params=(Param("axis", "index"), Param("keepdims", "bool", False)),
        work=lambda out, x: size(x),
        syntax="argmin({x})",
    ),
    Op(
        "tril",
        _UNARY,
        "The lower triangle of the last two axes (on and below diagonal `diagonal`), zeros above.",
        _triangle_shape,
        lambda m, x, diagonal=0: np.tril(x, diagonal),
        ("∂L/∂{x} = the lower triangle of ∂L/∂{out}, 0 above it",),
        vjp=(lambda grad, out, x, diagonal=0: np.tril(grad, diagonal),),
        params=(Param("diagonal", "int", 0),),
        syntax="tril({x})",
    ),
    Op(
        "triu",
        _UNARY,
        "The upper triangle of the last two axes (on and above diagonal `diagonal`), zeros below.",
        _triangle_shape,
        lambda m, x, diagonal=0: np.triu(x, diagonal),
        ("∂L/∂{x} = the upper triangle of ∂L/∂{out}, 0 below it",),
        vjp=(lambda grad, out, x, diagonal=0: np.triu(grad, diagonal),),
        params=(Param("diagonal", "int", 0),),
        syntax="triu({x})",
    ),
    Op(
        "clamp",
        _UNARY,
        "x limited to [min, max] (either bound may be None); the gradient passes where "
        "min <= x <= max, bounds included, as PyTorch.",
        _clamp_shape,
        _clamp,
        ("∂L/∂{x} = ∂L/∂{out} where min ≤ {x} ≤ max, 0 elsewhere",),
        vjp=(_clamp_vjp,),
        params=(Param("min", "bound"), Param("max", "bound")),
        syntax="clamp({x})",
    ),
    Op(
        "logsumexp",
        _UNARY,
        "log(sum(exp(x))) over `axis`, shifted by the max for stability (rows of -inf give -inf, as PyTorch).",
        _reduce_shape,
        _logsumexp,
        ("∂L/∂{x} = ∂L/∂{out} · exp({x} − {out}) (the softmax of {x})",),
        vjp=(_logsumexp_vjp,),
        params=(Param("axis", "axes", required=True), Param("keepdims", "bool", False)),
        work=lambda out, x: 4 * size(x),
        syntax="logsumexp({x})",
        decomposition=lambda axis=None, keepdims=False: (
            f"shift = detach(max(x, axis={axis!r}, keepdims=True))\n"
            f"log(sum(exp(x - shift), axis={axis!r}, keepdims={keepdims!r})) + "
            f"{'shift' if keepdims else f'sum(shift, axis={axis!r})'}"
        ),
    ),
    Op(
        "var",
        _UNARY,
        "Variance over `axis`: the summed squared deviations divided by n − correction (PyTorch's "
        "default correction=1; numpy's ddof=0 is correction=0).",
        _deviation_shape,
        _var,
        ("∂L/∂{x} = ∂L/∂{out} · 2({x} − mean)/(n − correction)",),
        vjp=(_var_vjp,),
        params=(Param("axis", "axes"), Param("correction", "number", 1), Param("keepdims", "bool", False)),
        work=lambda out, x: 3 * size(x),
        syntax="var({x})",
    ),
    Op(
        "std",
        _UNARY,
        "Standard deviation over `axis`: the square root of var with the same correction.",
        _deviation_shape,
        lambda m, x, axis=None, correction=1, keepdims=False: np.sqrt(_var(m, x, axis, correction, keepdims)),
        ("∂L/∂{x} = ∂L/∂{out} · ({x} − mean)/((n − correction)·{out})",),
        vjp=(_std_vjp,),
        params=(Param("axis", "axes"), Param("correction", "number", 1), Param("keepdims", "bool", False)),
        work=lambda out, x: 3 * size(x),
        syntax="std({x})",
    ),
    Op(
        "linear_t",
        ("x", "W", "b"),
        "x @ W.T + b with W of shape (out, in): PyTorch's F.linear (the bare `linear` takes W as (in, out)).",
        _linear_t_shape,
        lambda m, x, W, b: np.matmul(x, np.transpose(W)) + b,
        ("∂L/∂{x} = ∂L/∂{out} @ {W}", "∂L/∂{W} = (∂L/∂{out})ᵀ @ {x}", "∂L/∂{b} = ∂L/∂{out}"),
        vjp=(
            lambda grad, out, x, W, b: _LINEAR_GRAD_A(grad, out, x, np.transpose(W), b),
            _linear_t_grad_W,
            lambda grad, out, x, W, b: grad,
        ),
        work=lambda out, x, W, b: size(out) * (x[-1] + 1),
        syntax="linear_t({x}, {W}, {b})",
        decomposition=lambda: "x @ W.T + b",
    ),
    Op(
        "ones",
        (),
        "A tensor of ones of the given shape.",
        _made_shape,
        lambda m, shape: np.ones(shape),
        (),
        vjp=(),
        params=_MAKER_SHAPE,
        syntax="ones(…)",
    ),
    Op(
        "zeros",
        (),
        "A tensor of zeros of the given shape.",
        _made_shape,
        lambda m, shape: np.zeros(shape),
        (),
        vjp=(),
        params=_MAKER_SHAPE,
        syntax="zeros(…)",
    ),
    Op(
        "full",
        (),
        "A tensor of the given shape, every element `fill_value` (which may be ±inf).",
        lambda shape, fill_value: _made_shape(shape),
        lambda m, shape, fill_value: np.full(shape, float(fill_value)),
        (),
        vjp=(),
        params=(*_MAKER_SHAPE, Param("fill_value", "number", required=True)),
        syntax="full(…)",
    ),
    Op(
        "arange",
        (),
        "start, start + step, ... up to end (excluded), as floats; arange(n) counts 0 to n − 1 "
        "(one bound given is the end), as PyTorch's arange and Python's range.",
        _arange_shape,
        _arange,
        (),
        vjp=(),
        params=(Param("start", "number", 0), Param("end", "number"), Param("step", "number", 1)),
        syntax="arange(…)",
    ),
    Op(
        "eye",
        (),
        "The identity matrix with n rows and m columns (m = n when None).",
        _eye_shape,
        lambda m_, n, m=None: np.eye(n, m),
        (),
        vjp=(),
        params=(Param("n", "int", required=True), Param("m", "index")),
        syntax="eye(…)",
    ),
    Op(
        "ones_like",
        _UNARY,
        "Ones shaped like x; x takes no gradient.",
        _same_shape,
        lambda m, x: np.ones(np.shape(x)),
        (_NO_GRAD,),
        vjp=(None,),
        syntax="ones_like({x})",
    ),
    Op(
        "zeros_like",
        _UNARY,
        "Zeros shaped like x; x takes no gradient.",
        _same_shape,
        lambda m, x: np.zeros(np.shape(x)),
        (_NO_GRAD,),
        vjp=(None,),
        syntax="zeros_like({x})",
    ),
    Op(
        "full_like",
        _UNARY,
        "`fill_value` shaped like x; x takes no gradient.",
        lambda x, fill_value: x,
        lambda m, x, fill_value: np.full(np.shape(x), float(fill_value)),
        (_NO_GRAD,),
        vjp=(None,),
        params=(Param("fill_value", "number", required=True),),
        syntax="full_like({x})",
    ),
]

OPS: dict[str, Op] = {op.name: op for op in _OPS}

# How the parser spells the operator forms of ops.
BINARY_OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "@": "matmul"}

# The layers' ops (norms, attention, convolution, losses) live in their own module, which imports this
# one's helpers: it can only be imported once OPS exists.
from app.engine.layers import LAYERS  # noqa: E402

OPS.update(LAYERS)

from app.engine.einsum import EINSUM  # noqa: E402  (the same: it imports this module's Op)

OPS[EINSUM.name] = EINSUM

"""The layers people learn after the tutorial: activations, losses, normalisation, embedding,
convolution, pooling, attention and dropout, as entries of the one op table (app/engine/ops.py
merges `LAYERS` into OPS).

Every op follows PyTorch's functional form (torch.nn.functional): its semantics, argument names
and defaults, float64. Operands PyTorch lets a call leave out (`weight=None`, `bias=None`,
`attn_mask=None`) are `Op.optional`: the parser passes an empty array of shape (0,) for them, which
the rules below read as "not given" (`_given`).

Composites declare their decomposition beside them: a program of primitives, built from the
operands' shapes (which axes a norm reduces, which operands are absent), see app/engine/expand.py.
Convolution and pooling are primitives: their forward and backward passes are numpy matmuls over
stride-trick windows (im2col), looping at most over the kernel's offsets, never over pixels.
Their cost and their largest intermediate are declared (`budget`) and checked before anything is
allocated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from app.engine.ops import ARRAY, PARAM_KINDS, SCALAR, Op, OpError, Param, _log_softmax
from app.engine.shapes import ArgumentError, ShapeError, broadcast, fmt, normalize_axes, size

Shape = tuple[int, ...]
_REDUCTIONS = ("mean", "sum", "none")
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_LOG_TWO_OVER_SQRT_PI = math.log(2.0 / math.sqrt(math.pi))


# --- parameter kinds -------------------------------------------------------------------------------


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(value)
    return float(value)


def _number_or_none(value: Any) -> float | None:
    return None if value is None else _number(value)


def _ints(value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, tuple) else (value,)
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(value)
    return tuple(items)


def _ints_or_none(value: Any) -> tuple[int, ...] | None:
    return None if value is None else _ints(value)


PARAM_KINDS.update(
    {
        "number": (_number, "a number such as 1e-5"),
        "number?": (_number_or_none, "None or a number such as 0.5"),
        "ints": (_ints, "an integer or a tuple of integers such as (2, 2)"),
        "ints?": (_ints_or_none, "None, an integer or a tuple of integers such as (2, 2)"),
    }
)


def _given(shape_or_value: Any) -> bool:
    """An optional operand was given (the parser passes an empty (0,) array for one left out)."""
    shape = shape_or_value if isinstance(shape_or_value, tuple) else np.shape(shape_or_value)
    return shape != (0,)


def _recorded(saving: Callable[..., tuple[Any, Any]], saved_vjp: Callable[..., Any]) -> Callable[..., Any]:
    """The recorded pass's vjp (operands and parameters given): the training step's vjp, on what the
    forward that keeps (`saving`) keeps. One derivative for both passes. `saving` takes value=False:
    what its vjps need only, not the result (the recorded pass has it; each vjp remakes the rest)."""

    def vjp(grad: Any, out: Any, *operands: Any, **params: Any) -> Any:
        return saved_vjp(grad, out, saving(*operands, value=False, **params)[1])

    return vjp


def _forward_of(saving: Callable[..., tuple[Any, Any]]) -> Callable[..., Any]:
    """The plain forward of an op whose forward keeps what its vjps need: the same numbers, to the bit."""

    def forward(m: Any, *operands: Any, **params: Any) -> Any:
        return saving(*operands, **params)[0]

    return forward


def _reduce(per: Any, reduction: str) -> Any:
    if reduction == "none":
        return per
    total = np.add.reduce(np.asarray(per), axis=None)
    return total if reduction == "sum" else total / np.size(per)


def _spread(grad: Any, shape: Shape, reduction: str) -> Any:
    """The upstream gradient of a reduced loss, back on every element of `shape`."""
    if reduction == "none":
        return grad
    return np.broadcast_to(grad if reduction == "sum" else np.divide(grad, size(shape)), shape)


def _loss_shape(full: Shape, reduction: str) -> Shape:
    return full if reduction == "none" else ()


def _same(name: str, a: Shape, b: Shape) -> Shape:
    if a != b:
        raise ShapeError(f"{name} needs the target to have the input's shape, as PyTorch does")
    return a


# --- activations -------------------------------------------------------------------------------------
# Ops without parameters are elementwise (their local derivative shows in the step record, and
# scalars run on Python floats); those with parameters declare vjps, since local derivatives
# receive no parameters.

# erf on arrays: two rational approximations, near-minimax (fitted by scripts/fit_erf.py), piecewise by |x|:
# x·T(x²)/U(x²) below 1.5 (degrees 6 and 6, 2e-18 relative), else 1 − exp(−x²)·P(|x|)/Q(|x|) with the sign
# put back (degrees 5 and 5, erfc within 7e-19). Within 3 ulp of math.erf and 5e-16 relative
# (tests/test_layers_parity.py checks a dense grid and the extremes), about 10 times faster than math.erf
# element by element. Past |x| = 6 erf is 1 to the last bit, so |x| is clamped there (inf included).
_ERF_T: tuple[float, ...] = (
    *(0.08717190753846568, 6.258371495919725, 237.56110251799007, 2497.236051577822),
    *(37699.82272143705, 127947.95979648086, 826095.0341708928),
)
_ERF_U: tuple[float, ...] = (  # U is monic: its leading 1 is implied
    *(41.87137073507887, 846.7439605554777, 10348.938944673571, 79342.10323739193),
    *(357426.8144500752, 732107.6622650614),
)
_ERFC_P: tuple[float, ...] = (
    *(-2.448421422059928e-06, 0.5642682094936713, 3.911546617480044),
    *(12.635205152436452, 21.678893074026668, 18.037705273329383),
)
_ERFC_Q: tuple[float, ...] = (  # monic too
    *(6.93514137624781, 22.87546592184426, 42.02269360615747),
    *(42.03325265912085, 18.03755931852919),
)


def _scratch(x: Any) -> np.ndarray:
    """A new float64 array of x's shape (0-d for a number), for a chain of in-place ufuncs (which, given
    no `out`, would answer a 0-d operand with a numpy scalar)."""
    return np.empty(np.shape(x), dtype=np.float64)


def _horner(z: np.ndarray, coefs: tuple[float, ...], monic: bool, out: np.ndarray | None = None) -> np.ndarray:
    """The polynomial of `coefs` (highest power first, after an implied leading 1 when `monic`) at z,
    in place on one array (`out`, else a new one)."""
    acc: np.ndarray
    if monic:
        acc, rest = np.add(z, coefs[0], out=out), coefs[1:]
    else:
        acc, rest = np.multiply(z, coefs[0], out=out), coefs[2:]
        acc += coefs[1]
    for c in rest:
        acc *= z
        acc += c
    return acc


_ERF_BLOCK = 1 << 15  # elements per block of erf's first branch: its three arrays stay in a core's L2 cache


def _erf_array(x: Any, gauss: np.ndarray | None = None) -> np.ndarray:
    """erf(x), and given `gauss` (a flat array of x's size) exp(−x²) into it, the derivative's factor.

    The branch for |x| < 1.5 runs on every element, block by block: gathering the elements below 1.5 and
    scattering their results back would cost as much as computing the others, which the branch for
    |x| ≥ 1.5 then overwrites (87 % of a standard normal sample is below 1.5)."""
    flat = np.ravel(np.asarray(x, dtype=np.float64))
    n = flat.size
    out = np.empty(n)
    far = np.empty(n, dtype=bool)  # |x| ≥ 1.5, inf included; NaN is not (the first branch keeps it NaN)
    block = max(1, min(n, _ERF_BLOCK))
    z, u = np.empty(block), np.empty(block)
    with np.errstate(over="ignore", invalid="ignore"):  # x² overflows past 1e154 (the second branch's)
        for start in range(0, n, block):
            part = slice(start, start + block)
            xs = flat[part]
            zs = np.square(xs, out=z[: len(xs)])
            np.greater_equal(zs, 2.25, out=far[part])  # (1.5² = 2.25 exactly)
            y = _horner(zs, _ERF_T, False, out[part])
            y *= xs
            y /= _horner(zs, _ERF_U, True, u[: len(xs)])
            if gauss is not None:
                np.negative(zs, out=gauss[part])
                np.exp(gauss[part], out=gauss[part])
    outer = np.flatnonzero(far)
    xo = flat[outer]
    a = np.abs(xo)
    np.minimum(a, 6.0, out=a)
    if gauss is None:
        e = np.square(a)
        np.negative(e, out=e)
        np.exp(e, out=e)
    else:  # the same exp(−x²) where |x| ≤ 6; past 6 either is too small to change 1 − e
        e = gauss[outer]
    e *= _horner(a, _ERFC_P, False)
    e /= _horner(a, _ERFC_Q, True)
    np.subtract(1.0, e, out=e)
    out[outer] = np.copysign(e, xo, out=e)
    return out.reshape(np.shape(x))


def _erf(m: Any, x: Any) -> Any:
    """The error function: math.erf on a Python float, _erf_array's vectorised rational approximations
    on an array (numpy has no erf)."""
    if m is SCALAR:
        return math.erf(x)
    return _erf_array(x)


def _erf_local(m: Any, out: Any, x: Any) -> Any:
    # 2/√π·exp(−x²) as exp(log(2/√π) − x²): one pass fewer, and as exact (x²'s rounding dominates both)
    if m is SCALAR:
        return m.exp(_LOG_TWO_OVER_SQRT_PI - x * x)
    local = np.square(x, out=_scratch(x))
    np.subtract(_LOG_TWO_OVER_SQRT_PI, local, out=local)
    return np.exp(local, out=local)


def _erf_keeping(x: Any) -> tuple[Any, Any]:
    """(erf(x), x) for a training step, whose vjp needs x only: it then multiplies the upstream gradient
    into the local derivative's own array, where multiplying by a local derivative makes a new one."""
    return _erf_array(x), x


def _erf_kept(grad: Any, out: Any, x: Any) -> Any:
    local = _erf_local(ARRAY, out, x)
    local *= grad
    return local


def _sigmoid(m: Any, x: Any) -> Any:
    """The logistic function 1/(1 + exp(−x)), a few ulp from exact everywhere; where exp(−x) overflows
    (ARRAY runs under np.errstate(all="ignore")) it gives the limit, 0. On arrays four passes in place and
    no branch: a where() over a mask as random as the signs of x costs more than the exponential."""
    if m is SCALAR:
        return SCALAR.sigmoid(x)
    s = np.negative(x, out=_scratch(x))
    np.exp(s, out=s)
    s += 1.0
    return np.reciprocal(s, out=s)


def _silu(m: Any, x: Any) -> Any:
    if m is SCALAR:
        return x * SCALAR.sigmoid(x)
    d = np.negative(x, out=_scratch(x))  # x/(1 + exp(−x)), as PyTorch computes it
    np.exp(d, out=d)
    d += 1.0
    return np.divide(x, d, out=d)


def _silu_local(m: Any, out: Any, x: Any) -> Any:
    s = _sigmoid(m, x)
    if m is SCALAR:
        return s * (1.0 + x * (1.0 - s))
    return _silu_local_of(s, out)


def _silu_local_of(s: Any, out: Any) -> Any:
    local = np.subtract(1.0, s)  # s·(1 + x·(1 − s)) = s + out·(1 − s), out = x·s: three passes, not five
    local *= out
    local += s
    return local


def _silu_saving(x: Any) -> tuple[Any, Any]:
    """(silu(x), 1 + exp(−x)): the denominator kept for the training step's vjp, whose sigmoid is its
    reciprocal (the same numbers as _silu and _silu_local)."""
    d = np.negative(x, out=_scratch(x))
    np.exp(d, out=d)
    d += 1.0
    return np.divide(x, d), d


def _silu_saved(grad: Any, out: Any, d: Any) -> Any:
    local = _silu_local_of(np.reciprocal(d), out)
    local *= grad
    return local


def _gelu_tanh_parts(x: Any) -> tuple[Any, Any]:
    """(t, (1 + t)/2), t = tanh(√(2/π)·(x + 0.044715·x³)): PyTorch's tanh approximation of Φ(x), in place."""
    t = np.square(x, out=_scratch(x))
    t *= 0.044715
    t += 1.0
    t *= x
    t *= _SQRT_2_OVER_PI
    np.tanh(t, out=t)
    half = np.add(t, 1.0, out=_scratch(x))
    half *= 0.5
    return t, half


def _gelu(m: Any, x: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        half = _gelu_tanh_parts(x)[1]
        return np.multiply(x, half, out=half)
    return x * (0.5 * (1.0 + _erf(ARRAY, x * math.sqrt(0.5))))


def _gelu_vjp(grad: Any, out: Any, x: Any, approximate: str = "none") -> Any:
    return grad * _gelu_saving(x, approximate)[1]


def _gelu_saving(x: Any, approximate: str = "none") -> tuple[Any, Any]:
    """(gelu, its local derivative): one erf (or tanh) for both, in a training step."""
    if approximate == "tanh":
        # (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), where x/2·(1 − t²) = gelu·(1 − t)
        t, half = _gelu_tanh_parts(x)
        value = np.multiply(x, half, out=_scratch(x))
        slope = np.square(x, out=_scratch(x))
        slope *= 3 * 0.044715 * _SQRT_2_OVER_PI
        slope += _SQRT_2_OVER_PI
        local = np.subtract(1.0, t, out=t)
        local *= value
        local *= slope
        local += half
        return value, local
    scaled = np.multiply(x, math.sqrt(0.5), out=_scratch(x))
    gauss = np.empty(scaled.size)
    cdf = _erf_array(scaled, gauss)
    cdf += 1.0
    cdf *= 0.5
    # Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π), its exponential the one erf computed: in place on one array
    local = gauss.reshape(np.shape(x))
    local *= x
    local *= 1.0 / math.sqrt(2.0 * math.pi)
    local += cdf
    return np.multiply(x, cdf, out=scaled), local  # (x/√2 is spent: its array takes gelu)


def _gelu_program(approximate: str = "none", shapes: list[Any] | None = None) -> Any:
    if approximate == "tanh":
        text = "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))"
    else:
        text = "0.5 * x * (1 + erf(x * 0.7071067811865476))"
    return text if shapes is None else (text, {})


def _softplus(m: Any, x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    scaled = np.multiply(x, beta)
    # log1p(exp(βx))/β, and x itself past the threshold (PyTorch's switch to the linear branch).
    return np.where(scaled > threshold, x, np.log1p(np.exp(scaled)) / beta)


def _softplus_vjp(grad: Any, out: Any, x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    scaled = np.multiply(x, beta)
    return grad * np.where(scaled > threshold, 1.0, _sigmoid(ARRAY, np.asarray(scaled, dtype=np.float64)))


def _leaky_relu(m: Any, x: Any, negative_slope: float = 0.01) -> Any:
    # x where x > 0, slope·x elsewhere: the larger of the two for a slope below 1, the smaller above, so
    # no where() (whose branch on a random mask costs more than the arithmetic). A slope of 0 or not
    # finite keeps it: there inf·slope is NaN where PyTorch's select gives x.
    if negative_slope != 0.0 and math.isfinite(negative_slope):
        pick = np.maximum if negative_slope <= 1.0 else np.minimum
        return pick(x, np.multiply(x, negative_slope))
    return np.where(np.greater(x, 0.0), x, np.multiply(x, negative_slope))


def _leaky_relu_vjp(grad: Any, out: Any, x: Any, negative_slope: float = 0.01) -> Any:
    if not math.isfinite(negative_slope):
        return np.where(np.greater(x, 0.0), grad, np.multiply(grad, negative_slope))
    local = np.multiply(np.greater(x, 0.0), 1.0 - negative_slope)  # 1 where x > 0, the slope elsewhere
    local += negative_slope
    return grad * local


def _elu(m: Any, x: Any, alpha: float = 1.0) -> Any:
    if not math.isfinite(alpha):  # α·expm1(0) would be NaN where x > 0
        return np.where(np.greater(x, 0.0), x, alpha * np.expm1(np.minimum(x, 0.0)))
    out = np.minimum(x, 0.0, out=_scratch(x))
    np.expm1(out, out=out)
    out *= alpha
    if 0.0 <= alpha <= 1.0:  # α·(exp(x) − 1) ≥ x where x ≤ 0 (it is convex, of slope α ≤ 1 at 0), and 0 where x > 0
        return np.maximum(out, x, out=out)
    # max(x, 0) + α·(exp(min(x, 0)) − 1): one term is 0 on either side, so no where()
    out += np.maximum(x, 0.0)
    return out


def _elu_vjp(grad: Any, out: Any, x: Any, alpha: float = 1.0) -> Any:
    # PyTorch's elu_backward picks by x <= 0, so NaN takes the upstream gradient as it is.
    if not 0.0 <= alpha <= 1.0:
        return np.where(np.less_equal(x, 0.0), grad * alpha * np.exp(np.minimum(x, 0.0)), grad)
    # The local derivative without a where() (which, over a mask as random as x's signs, costs more than the
    # exponential): α·exp(x) ≤ 1 where x <= 0, 1 elsewhere (NaN included, where fmin gives 0): the larger
    # of α·exp(min(x, 0)) and the indicator of not x <= 0.
    local = np.fmin(x, 0.0, out=_scratch(x))
    np.exp(local, out=local)
    local *= alpha
    above = np.less_equal(x, 0.0, out=np.empty(np.shape(x), dtype=bool))
    np.logical_not(above, out=above)
    np.maximum(local, above, out=local)
    local *= grad
    return local


def _hardtanh(m: Any, x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    return np.clip(x, min_val, max_val)  # (NaN stays NaN)


def _hardtanh_vjp(grad: Any, out: Any, x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    """PyTorch's hardtanh_backward masks (0 where x <= min_val or x >= max_val): NaN passes the upstream
    gradient, and an infinite upstream gradient gives 0 at the edges rather than inf · 0. As a bitwise and
    of the gradient's bits with all ones (inside) or zeros (at the edges): a where() over a mask as random
    as x costs two and a half times as much."""
    edge = np.less_equal(x, min_val, out=np.empty(np.shape(x), dtype=bool))
    edge |= np.greater_equal(x, max_val)
    keep = edge.astype(np.int64)  # 1 at the edges
    keep -= 1  # 0 at the edges, −1 (every bit set) inside
    keep &= np.asarray(grad, dtype=np.float64).view(np.int64)
    return keep.view(np.float64)


def _hardtanh_shape(x: Shape, min_val: float = -1.0, max_val: float = 1.0) -> Shape:
    if max_val < min_val:
        raise ArgumentError(f"max_val ({max_val:g}) must be at least min_val ({min_val:g})")
    return x


def _activation(
    name: str,
    forward: Callable[..., Any],
    vjp: Callable[..., Any],
    formula: str,
    doc: str,
    params: tuple[Any, ...],
    shape: Callable[..., Any] | None = None,
    decomposition: Callable[..., Any] | None = None,
    saving: Callable[..., Any] | None = None,
) -> Op:
    return Op(
        name,
        ("x",),
        doc,
        shape or (lambda x, **p: x),
        forward,
        (formula,),
        vjp=(vjp,),
        params=params,
        syntax=f"{name}({{x}})",
        decomposition=decomposition,
        forward_saving=saving,
        vjp_saved=None if saving is None else (lambda grad, out, local: grad * local,),
    )


_ACTIVATIONS = [
    Op(
        "erf",
        ("x",),
        "The error function 2/√π ∫₀ˣ e^(−t²) dt.",
        lambda x: x,
        _erf,
        ("∂{out}/∂{x} = 2/√π · exp(−{x}²)",),
        local=(_erf_local,),
        syntax="erf({x})",
        forward_saving=_erf_keeping,
        vjp_saved=(_erf_kept,),
    ),
    Op(
        "silu",
        ("x",),
        "x · sigmoid(x) (also called swish).",
        lambda x: x,
        _silu,
        ("∂{out}/∂{x} = s·(1 + {x}·(1 − s)), s = sigmoid({x})",),
        local=(_silu_local,),
        syntax="silu({x})",
        decomposition=lambda: "x * sigmoid(x)",
        forward_saving=_silu_saving,
        vjp_saved=(_silu_saved,),
    ),
    _activation(
        "gelu",
        _gelu,
        _gelu_vjp,
        "∂L/∂{x} = ∂L/∂{out} · (Φ({x}) + {x}·φ({x}))",
        'x·Φ(x), Φ the standard normal CDF; approximate="tanh" uses PyTorch\'s tanh formula.',
        (Param("approximate", "enum", "none", choices=("none", "tanh")),),
        decomposition=_gelu_program,
        saving=_gelu_saving,
    ),
    _activation(
        "softplus",
        _softplus,
        _softplus_vjp,
        "∂L/∂{x} = ∂L/∂{out} · sigmoid(β·{x}) (1 past the threshold)",
        "log(1 + exp(β·x))/β, and x itself where β·x > threshold (PyTorch's default 20).",
        (Param("beta", "number", 1.0), Param("threshold", "number", 20.0)),
    ),
    _activation(
        "leaky_relu",
        _leaky_relu,
        _leaky_relu_vjp,
        "∂L/∂{x} = ∂L/∂{out} · (1 if {x} > 0 else negative_slope)",
        "x where x > 0, negative_slope·x elsewhere.",
        (Param("negative_slope", "number", 0.01),),
    ),
    _activation(
        "elu",
        _elu,
        _elu_vjp,
        "∂L/∂{x} = ∂L/∂{out} · (1 if {x} > 0 else α·exp({x}))",
        "x where x > 0, α·(exp(x) − 1) elsewhere.",
        (Param("alpha", "number", 1.0),),
    ),
    _activation(
        "hardtanh",
        _hardtanh,
        _hardtanh_vjp,
        "∂L/∂{x} = ∂L/∂{out} where min_val < {x} < max_val, else 0",
        "x clamped to [min_val, max_val]; its derivative is 0 at the edges, as in PyTorch.",
        (Param("min_val", "number", -1.0), Param("max_val", "number", 1.0)),
        shape=_hardtanh_shape,
    ),
]


# --- losses ------------------------------------------------------------------------------------------


def _pointwise_shape(name: str, same: bool = False) -> Callable[..., Shape]:
    def shape(input: Shape, target: Shape, reduction: str = "mean", **options: Any) -> Shape:
        full = _same(name, input, target) if same else broadcast(input, target)
        return _loss_shape(full, reduction)

    return shape


def _l1(m: Any, input: Any, target: Any, reduction: str = "mean") -> Any:
    return _reduce(np.abs(np.subtract(input, target)), reduction)


def _l1_vjp(sign: float) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, input: Any, target: Any, reduction: str = "mean") -> Any:
        diff = np.subtract(input, target)
        # sign(NaN) is 0 in PyTorch's l1 backward (numpy's is NaN)
        return sign * _spread(grad, np.shape(diff), reduction) * np.where(np.isnan(diff), 0.0, np.sign(diff))

    return vjp


def _huber_parts(input: Any, target: Any, beta: float) -> tuple[Any, Any]:
    """(d = input − target, |d|), d an array even of numbers (its vjps' local derivative is made in it)."""
    diff = np.subtract(input, target, out=np.empty(broadcast(np.shape(input), np.shape(target))))
    return diff, np.abs(diff)


def _huber_core(a: Any, delta: float) -> Any:
    """q·(|d| − q/2), q = min(|d|, δ): d²/2 inside δ, δ·(|d| − δ/2) outside, without a where()."""
    q = np.minimum(a, delta)
    per = np.multiply(q, -0.5)
    per += a
    per *= q
    return per


def _smooth_l1_saving(
    input: Any, target: Any, reduction: str = "mean", beta: float = 1.0, value: bool = True
) -> tuple[Any, tuple[Any, str]]:
    """(smooth_l1_loss or None for value=False, its local derivative d/β clipped to [−1, 1] — sign(d) for
    β = 0 — and the reduction)."""
    diff, a = _huber_parts(input, target, beta)
    if beta == 0:
        return (_reduce(a, reduction) if value else None), (np.sign(diff), reduction)
    per = None
    if value:
        per = _huber_core(a, beta)
        per /= beta
    diff /= beta
    return (_reduce(per, reduction) if value else None), (np.clip(diff, -1.0, 1.0, out=diff), reduction)


def _huber_saving(
    input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, value: bool = True
) -> tuple[Any, tuple[Any, str]]:
    """(huber_loss or None for value=False, its local derivative d clipped to [−δ, δ] — δ·sign(d) outside —
    and the reduction)."""
    diff, a = _huber_parts(input, target, delta)
    loss = _reduce(_huber_core(a, delta), reduction) if value else None
    return loss, (np.clip(diff, -delta, delta, out=diff), reduction)


def _pointwise_saved(sign: float) -> Callable[..., Any]:
    """The input's (sign 1) or the target's (−1) vjp of a loss of input − target, from its kept local derivative."""

    def vjp(grad: Any, out: Any, saved: tuple[Any, str]) -> Any:
        local, reduction = saved
        return _spread(grad if sign > 0 else np.negative(grad), np.shape(local), reduction) * local

    return vjp


def _nonnegative(name: str) -> Callable[..., Any]:
    def shape(input: Shape, target: Shape, reduction: str = "mean", **options: float) -> Shape:
        for key, value in options.items():
            if value < 0:
                raise ArgumentError(f"{key} must be 0 or more, got {value:g}")
        return _pointwise_shape(name)(input, target, reduction)

    return shape


_REDUCED = {"mean": "mean({})", "sum": "sum({})", "none": "{}"}


def _bce(m: Any, input: Any, target: Any, weight: Any, reduction: str = "mean") -> Any:
    if np.any((np.asarray(input) < 0) | (np.asarray(input) > 1)):
        raise OpError("all elements of input should be between 0 and 1, as binary_cross_entropy's probabilities")
    # PyTorch clamps each log at −100, so a probability of 0 or 1 gives a finite loss.
    per = -(
        target * np.maximum(np.log(input), -100.0)
        + (1.0 - np.asarray(target)) * np.maximum(np.log1p(-np.asarray(input)), -100.0)
    )
    if _given(weight):
        per = per * weight
    return _reduce(per, reduction)


def _bce_weight(weight: Any) -> Any:
    return weight if _given(weight) else 1.0


def _bce_vjp_input(grad: Any, out: Any, input: Any, target: Any, weight: Any, reduction: str = "mean") -> Any:
    g = _spread(grad, np.shape(input), reduction) * _bce_weight(weight)
    return g * (input - target) / np.maximum((1.0 - np.asarray(input)) * input, 1e-12)


def _bce_vjp_target(grad: Any, out: Any, input: Any, target: Any, weight: Any, reduction: str = "mean") -> Any:
    g = _spread(grad, np.shape(input), reduction) * _bce_weight(weight)
    return g * (np.maximum(np.log1p(-np.asarray(input)), -100.0) - np.maximum(np.log(input), -100.0))


def _bce_shape(input: Shape, target: Shape, weight: Shape, reduction: str = "mean") -> Shape:
    _same("binary_cross_entropy", input, target)
    if _given(weight):
        broadcast(input, weight)
        if broadcast(input, weight) != input:
            raise ShapeError("weight must broadcast to the input's shape")
    return _loss_shape(input, reduction)


def _bce_program(reduction: str = "mean", shapes: list[Any] | None = None) -> Any:
    # each log clamped at −100, as PyTorch clamps them (a probability of exactly 0 or 1)
    per = "-(target * maximum(log(input), -100) + (1 - target) * maximum(log(1 - input), -100))"
    if shapes is not None and _given(shapes[2]):
        per += " * detach(weight)"  # PyTorch's weight takes no gradient
    text = _REDUCED[reduction].format(per)
    return text if shapes is None else (text, {})


def _softplus_neg(x: Any) -> Any:
    """log(1 + exp(−x)), stably (PyTorch's log1p(exp(−|x|)) + max(−x, 0))."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(-np.asarray(x), 0.0)


def _bce_log_weight(target: Any, pos_weight: Any) -> Any:
    return (pos_weight - 1.0) * target + 1.0 if _given(pos_weight) else 1.0


def _bce_logits_parts(input: Any, target: Any, pos_weight: Any) -> tuple[Any, Any]:
    log_weight = _bce_log_weight(target, pos_weight)
    per = (1.0 - np.asarray(target)) * input + log_weight * _softplus_neg(input)
    return per, log_weight


def _bce_logits(m: Any, input: Any, target: Any, weight: Any, pos_weight: Any, reduction: str = "mean") -> Any:
    per, _ = _bce_logits_parts(input, target, pos_weight)
    return _reduce(per * weight if _given(weight) else per, reduction)


def _bce_logits_vjp(slot: int) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, input: Any, target: Any, weight: Any, pos_weight: Any, reduction: str = "mean") -> Any:
        g = _spread(grad, broadcast(np.shape(input), np.shape(target)), reduction)
        if slot == 2:
            return g * _bce_logits_parts(input, target, pos_weight)[0]
        log_weight = _bce_log_weight(target, pos_weight)
        if _given(weight):
            g = g * weight
        if slot == 0:  # (1 − t) − lw·sigmoid(−x)
            local = _sigmoid(ARRAY, -np.asarray(input, dtype=np.float64))
            if _given(pos_weight):
                local = local * log_weight
            return g * np.subtract(np.subtract(1.0, target), local)
        if slot == 1:  # −x, or with pos_weight −softplus(x) + pw·softplus(−x) (PyTorch's form: inf, not inf − inf)
            if _given(pos_weight):
                return g * (-_softplus_neg(-np.asarray(input)) + pos_weight * _softplus_neg(input))
            return g * -np.asarray(input)
        return g * target * _softplus_neg(input)  # pos_weight

    return vjp


def _bce_logits_shape(input: Shape, target: Shape, weight: Shape, pos_weight: Shape, reduction: str = "mean") -> Shape:
    _same("binary_cross_entropy_with_logits", input, target)
    for name, shape in (("weight", weight), ("pos_weight", pos_weight)):
        if _given(shape) and broadcast(input, shape) != input:
            raise ShapeError(f"{name} must broadcast to the input's shape")
    return _loss_shape(input, reduction)


def _bce_logits_program(reduction: str = "mean", shapes: list[Any] | None = None) -> Any:
    # softplus(−x) written as max(−x, 0) + log(1 + exp(−|x|)), PyTorch's stable form
    lines = ["sp = maximum(-input, 0) + log(1 + exp(-abs(input)))"]
    if shapes is not None and _given(shapes[3]):
        lines.append("per = (1 - target) * input + ((detach(pos_weight) - 1) * target + 1) * sp")
    else:
        lines.append("per = (1 - target) * input + sp")
    per = "per * detach(weight)" if shapes is not None and _given(shapes[2]) else "per"
    lines.append(_REDUCED[reduction].format(per))
    text = "\n".join(lines)
    return text if shapes is None else (text, {})


def _class_targets(input: Any, target: Any, ignore_index: int) -> tuple[Any, Any, Any]:
    """(rows (N, C), class per row (intp, ignored rows at 0), kept rows mask) of nll_loss's operands."""
    rows = np.atleast_2d(input)
    classes = rows.shape[1]
    labels = np.atleast_1d(np.asarray(target, dtype=np.float64)).ravel()
    if not (labels == labels.round()).all():
        raise OpError("target must hold integer class indices")
    kept = labels != ignore_index
    if kept.any() and (labels[kept].min() < 0 or labels[kept].max() >= classes):
        raise OpError(
            f"target must hold class indices in [0, {classes - 1}] (or ignore_index), "
            f"got {labels[kept].min():g}..{labels[kept].max():g}"
        )
    return rows, np.where(kept, labels, 0).astype(np.intp), kept


def _nll_shape(
    input: Shape,
    target: Shape,
    weight: tuple[Any, ...] | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Shape:
    if not ((len(input) == 2 and target == input[:1]) or (len(input) == 1 and target == ())):
        raise ShapeError(
            "nll_loss needs input of shape (N, C) with target of shape (N,), or (C,) with one scalar target"
        )
    if weight is not None and len(weight) != input[-1]:
        raise ShapeError(f"weight has {len(weight)} entries for {input[-1]} classes; give one per class")
    return target if reduction == "none" else ()


def _nll_parts(input: Any, target: Any, weight: tuple[Any, ...] | None, ignore_index: int) -> tuple[Any, Any, Any, Any]:
    rows, labels, kept = _class_targets(input, target, ignore_index)
    w = np.ones(rows.shape[1]) if weight is None else np.asarray(weight, dtype=np.float64)
    row_weight = w[labels] * kept
    return rows, labels, row_weight, np.add.reduce(row_weight)


def _nll(
    m: Any,
    input: Any,
    target: Any,
    weight: tuple[Any, ...] | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Any:
    rows, labels, row_weight, total = _nll_parts(input, target, weight, ignore_index)
    per = -rows[np.arange(labels.size), labels] * row_weight
    if reduction == "none":
        return np.reshape(per, np.shape(target))
    return np.add.reduce(per) / (total if reduction == "mean" else 1.0)


def _nll_vjp(
    grad: Any,
    out: Any,
    input: Any,
    target: Any,
    weight: tuple[Any, ...] | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Any:
    rows, labels, row_weight, total = _nll_parts(input, target, weight, ignore_index)
    per_row = np.reshape(grad, (-1,)) if reduction == "none" else (grad / total if reduction == "mean" else grad)
    result = np.zeros(rows.shape)
    # an ignored row is skipped, as PyTorch skips it: 0 even where the upstream gradient is inf or NaN
    result[np.arange(labels.size), labels] = np.where(row_weight != 0, -row_weight * per_row, 0.0)
    return np.reshape(result, np.shape(input))


def _nll_program(weight: tuple[Any, ...] | None = None, ignore_index: int = -100, reduction: str = "mean") -> str:
    weighted = " * weight" if weight is not None else ""
    lines = [
        f"targets = onehot(target, {{C}}, ignore_index={ignore_index})",
        f"per = -sum(input * targets{weighted}, axis=-1)",
    ]
    if reduction == "mean":
        lines.append(f"sum(per) / sum(targets{weighted})")
    else:
        lines.append(_REDUCED[reduction].format("per"))
    return "\n".join(lines)


def _kl_div(m: Any, input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Any:
    if log_target:
        per = np.exp(target) * (np.subtract(target, input))
    else:  # xlogy(t, t) − t·input: 0 where t = 0, as PyTorch
        t = np.asarray(target, dtype=np.float64)
        per = np.where(t == 0, 0.0, t * np.log(np.where(t == 0, 1.0, t))) - t * input
    return _kl_reduce(per, reduction)


def _kl_reduce(per: Any, reduction: str) -> Any:
    if reduction == "batchmean":
        return np.add.reduce(np.asarray(per), axis=None) / (np.shape(per)[0] if np.ndim(per) else 1)
    return _reduce(per, reduction)


def _kl_spread(grad: Any, shape: Shape, reduction: str) -> Any:
    if reduction == "batchmean":
        return np.broadcast_to(np.divide(grad, shape[0] if shape else 1), shape)
    return _spread(grad, shape, reduction)


def _kl_vjp(slot: int) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Any:
        g = _kl_spread(grad, broadcast(np.shape(input), np.shape(target)), reduction)
        # The target's gradient as PyTorch's autograd sums it through exp(t)·(t − x) or xlogy(t, t) − t·x,
        # so that inf and NaN (and 0 · inf) come out where they come out there.
        if log_target:
            e = np.exp(target)
            return g * -e if slot == 0 else g * np.subtract(target, input) * e + g * e
        t = np.asarray(target, dtype=np.float64)
        if slot == 0:
            return g * -t
        xlogy = np.where(np.isnan(t), np.nan, np.where(t != 0, np.log(np.where(t != 0, t, 1.0)), 0.0))
        return g * xlogy + g * (t / t) - g * input

    return vjp


def _kl_shape(input: Shape, target: Shape, reduction: str = "mean", log_target: bool = False) -> Shape:
    return _loss_shape(broadcast(input, target), reduction)


def _cosine_shape(x1: Shape, x2: Shape, dim: int = 1, eps: float = 1e-8) -> Shape:
    full = broadcast(x1, x2)
    axis = normalize_axes(dim, len(full)) or (0,)  # an int axis: never None
    return tuple(d for k, d in enumerate(full) if k != axis[0])


def _cosine_parts(x1: Any, x2: Any, dim: int, eps: float) -> tuple[Any, Any, Any, Any, Any, Any]:
    a, b = np.broadcast_arrays(np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64))
    n1 = np.sqrt(np.add.reduce(a * a, axis=dim, keepdims=True))
    n2 = np.sqrt(np.add.reduce(b * b, axis=dim, keepdims=True))
    d1, d2 = np.maximum(n1, eps), np.maximum(n2, eps)
    return a, b, n1, n2, d1, d2


def _cosine(m: Any, x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
    a, b, _, _, d1, d2 = _cosine_parts(x1, x2, dim, eps)
    return np.add.reduce((a / d1) * (b / d2), axis=dim)


def _cosine_vjp(slot: int) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Any:
        a, b, n1, n2, d1, d2 = _cosine_parts(x1, x2, dim, eps)
        if slot == 1:
            a, b, n1, n2, d1, d2 = b, a, n2, n1, d2, d1
        g = np.expand_dims(grad, dim)
        s = np.add.reduce(a * b, axis=dim, keepdims=True) / (d1 * d1 * d2)
        # PyTorch clamps the norms in place, outside autograd: its gradient goes through the norm as if
        # it were unclamped, a/‖a‖ (0 where ‖a‖ = 0), with the clamped value elsewhere (so do we, to match it)
        return g * (b / (d1 * d2) - s * a / np.where(n1 > 0, n1, np.inf))

    return vjp


def _cosine_program(dim: int = 1, eps: float = 1e-8, shapes: list[Any] | None = None) -> Any:
    text = (
        f"n1 = maximum(sqrt(sum(x1 ** 2, axis={dim}, keepdims=True)), {eps!r})\n"
        f"n2 = maximum(sqrt(sum(x2 ** 2, axis={dim}, keepdims=True)), {eps!r})\n"
        f"sum(x1 / n1 * (x2 / n2), axis={dim})"
    )
    return text if shapes is None else (text, {})


def _probs_shape(
    input: Shape,
    target: Shape,
    weight: tuple[Any, ...] | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Shape:
    if len(input) not in (1, 2) or target != input:
        raise ShapeError(
            "cross_entropy_probs needs input of shape (N, C) or (C,) and target (class probabilities) of the same shape"
        )
    if weight is not None and len(weight) != input[-1]:
        raise ShapeError(f"weight has {len(weight)} entries for {input[-1]} classes; give one per class")
    return input[:-1] if reduction == "none" else ()


def _probs_targets(target: Any, weight: tuple[Any, ...] | None, label_smoothing: float) -> Any:
    classes = np.shape(target)[-1]
    q = target if not label_smoothing else target * (1.0 - label_smoothing) + label_smoothing / classes
    return q * np.asarray(weight) if weight is not None else q


def _probs_rows(grad: Any, input: Any, reduction: str) -> Any:
    """The upstream gradient of every row's loss (PyTorch's mean divides by the rows, not the weights)."""
    rows = np.shape(input)[0] if np.ndim(input) == 2 else 1
    if reduction == "none":
        return np.reshape(grad, (*np.shape(input)[:-1], 1))
    return np.divide(grad, rows) if reduction == "mean" else grad


def _probs_saving(
    input: Any,
    target: Any,
    weight: tuple[Any, ...] | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    value: bool = True,
) -> tuple[Any, tuple[Any, ...]]:
    """(cross_entropy_probs or None for value=False, what its vjps need: the log-softmax, the weighted
    targets and the parameters)."""
    log_p = _log_softmax(input, -1)
    q = _probs_targets(target, weight, label_smoothing)
    saved = (log_p, q, weight, label_smoothing, reduction)
    if not value:
        return None, saved
    per = -np.add.reduce(log_p * q, axis=-1)
    if reduction == "none":
        return per, saved
    total = np.add.reduce(np.atleast_1d(per))
    return (total / (np.shape(input)[0] if np.ndim(input) == 2 else 1) if reduction == "mean" else total), saved


def _probs_saved_input(grad: Any, out: Any, saved: tuple[Any, ...]) -> Any:
    log_p, q, _, _, reduction = saved
    # log_softmax's backward on −q·g, in PyTorch's order: an infinite g gives inf − inf = NaN there too
    g = -q * _probs_rows(grad, log_p, reduction)
    return g - np.exp(log_p) * np.add.reduce(g, axis=-1, keepdims=True)


def _probs_saved_target(grad: Any, out: Any, saved: tuple[Any, ...]) -> Any:
    log_p, _, weight, label_smoothing, reduction = saved
    local = -log_p * (1.0 - label_smoothing)
    if weight is not None:
        local = local * np.asarray(weight)
    return local * _probs_rows(grad, log_p, reduction)


def _probs_program(weight: tuple[Any, ...] | None = None, label_smoothing: float = 0.0, reduction: str = "mean") -> str:
    q = "target" if not label_smoothing else f"(target * {1.0 - label_smoothing!r} + {label_smoothing!r} / {{C}})"
    weighted = " * weight" if weight is not None else ""
    per = f"-sum(log_softmax(input) * {q}{weighted}, axis=-1)"
    return _REDUCED[reduction].format(per)


def _loss(
    name: str,
    operands: tuple[str, ...],
    doc: str,
    shape: Callable[..., Any],
    forward: Callable[..., Any],
    formulas: tuple[Any, ...],
    vjp: tuple[Any, ...],
    params: tuple[Any, ...],
    decomposition: Callable[..., Any] | None = None,
    optional: tuple[Any, ...] = (),
    work: int = 4,
    saving: tuple[Callable[..., Any], tuple[Callable[..., Any], ...]] | None = None,
) -> Op:
    """A loss's entry; `saving`: (its forward that keeps what its vjps need, the vjps that read it)."""
    return Op(
        name,
        operands,
        doc,
        shape,
        forward,
        formulas,
        vjp=vjp,
        params=params,
        work=lambda out, first, *rest: work * max(size(first), size(out)),
        syntax=f"{name}({', '.join('{' + o + '}' for o in operands if o not in optional)})",
        decomposition=decomposition,
        optional=optional,
        forward_saving=None if saving is None else saving[0],
        vjp_saved=None if saving is None else saving[1],
    )


_POINTWISE_SAVED = (_pointwise_saved(1.0), _pointwise_saved(-1.0))
_REDUCTION = Param("reduction", "enum", "mean", choices=_REDUCTIONS)

_LOSSES = [
    _loss(
        "l1_loss",
        ("input", "target"),
        "|input − target|, reduced as `reduction` says (PyTorch's l1_loss).",
        _pointwise_shape("l1_loss"),
        _l1,
        (
            "∂L/∂{input} = ∂L/∂{out} · sign({input} − {target})/n",
            "∂L/∂{target} = −∂L/∂{out} · sign({input} − {target})/n",
        ),
        (_l1_vjp(1.0), _l1_vjp(-1.0)),
        (_REDUCTION,),
        decomposition=lambda reduction="mean": _REDUCED[reduction].format("abs(input - target)"),
    ),
    _loss(
        "smooth_l1_loss",
        ("input", "target"),
        "0.5·d²/β where |d| < β, else |d| − 0.5·β, d = input − target (PyTorch's smooth_l1_loss).",
        _nonnegative("smooth_l1_loss"),
        _forward_of(_smooth_l1_saving),
        ("∂L/∂{input} = ∂L/∂{out} · (d/β if |d| < β else sign(d))", "∂L/∂{target} = −∂L/∂{input}"),
        tuple(_recorded(_smooth_l1_saving, _pointwise_saved(sign)) for sign in (1.0, -1.0)),
        (_REDUCTION, Param("beta", "number", 1.0)),
        decomposition=lambda reduction="mean", beta=1.0: (
            _REDUCED[reduction].format("abs(input - target)")
            if beta == 0
            else f"a = abs(input - target)\nq = minimum(a, {beta!r})\n"
            + _REDUCED[reduction].format(f"q * (a - 0.5 * q) / {beta!r}")
        ),
        saving=(_smooth_l1_saving, _POINTWISE_SAVED),
    ),
    _loss(
        "huber_loss",
        ("input", "target"),
        "0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ), d = input − target (PyTorch's huber_loss).",
        _nonnegative("huber_loss"),
        _forward_of(_huber_saving),
        ("∂L/∂{input} = ∂L/∂{out} · (d if |d| < δ else δ·sign(d))", "∂L/∂{target} = −∂L/∂{input}"),
        tuple(_recorded(_huber_saving, _pointwise_saved(sign)) for sign in (1.0, -1.0)),
        (_REDUCTION, Param("delta", "number", 1.0)),
        decomposition=lambda reduction="mean", delta=1.0: (
            f"a = abs(input - target)\nq = minimum(a, {delta!r})\n" + _REDUCED[reduction].format("q * (a - 0.5 * q)")
        ),
        saving=(_huber_saving, _POINTWISE_SAVED),
    ),
    _loss(
        "binary_cross_entropy",
        ("input", "target", "weight"),
        "−(t·log p + (1 − t)·log(1 − p)) of probabilities p (each log clamped at −100, as PyTorch), "
        "times `weight` where given.",
        _bce_shape,
        _bce,
        (
            "∂L/∂{input} = ∂L/∂{out} · ({input} − {target}) / ({input}·(1 − {input}))",
            "∂L/∂{target} = ∂L/∂{out} · (log(1 − {input}) − log {input})",
            "weight takes no gradient (as in PyTorch)",
        ),
        (_bce_vjp_input, _bce_vjp_target, None),
        (_REDUCTION,),
        _bce_program,
        optional=("weight",),
        work=6,
    ),
    _loss(
        "binary_cross_entropy_with_logits",
        ("input", "target", "weight", "pos_weight"),
        "Binary cross-entropy of sigmoid(input), computed stably from the logits; `pos_weight` "
        "weighs the positive term per class, `weight` every element.",
        _bce_logits_shape,
        _bce_logits,
        (
            "∂L/∂{input} = ∂L/∂{out} · ((1 − t) − (1 + (pw − 1)·t)·sigmoid(−{input}))",
            "∂L/∂{target} = ∂L/∂{out} · (−{input} + (pw − 1)·softplus(−{input}))",
            "weight takes no gradient (as in PyTorch)",
            "pos_weight takes no gradient (as in PyTorch)",
        ),
        (_bce_logits_vjp(0), _bce_logits_vjp(1), None, None),
        (_REDUCTION,),
        _bce_logits_program,
        optional=("weight", "pos_weight"),
        work=8,
    ),
    _loss(
        "nll_loss",
        ("input", "target"),
        "−input[target] of log-probabilities, per row; class `weight`, `ignore_index` and `reduction` "
        "as PyTorch's nll_loss (its mean divides by the kept rows' weights).",
        _nll_shape,
        _nll,
        ("∂L/∂{input} = −∂L/∂{out} · w at each row's target class", "target takes no gradient"),
        (_nll_vjp, None),
        (Param("weight", "numbers"), Param("ignore_index", "index", -100), _REDUCTION),
        _nll_program,
        work=2,
    ),
    _loss(
        "kl_div",
        ("input", "target"),
        "target·(log target − input) of log-probabilities `input` (0 where target is 0), or "
        'exp(target)·(target − input) with log_target=True; reduction "batchmean" divides by the batch.',
        _kl_shape,
        _kl_div,
        ("∂L/∂{input} = −∂L/∂{out} · {target}", "∂L/∂{target} = ∂L/∂{out} · (log {target} + 1 − {input})"),
        (_kl_vjp(0), _kl_vjp(1)),
        (
            Param("reduction", "enum", "mean", choices=("mean", "batchmean", "sum", "none")),
            Param("log_target", "bool", False),
        ),
    ),
    _loss(
        "cross_entropy_probs",
        ("input", "target"),
        "Cross-entropy of softmax(input) against class probabilities `target` (PyTorch's cross_entropy "
        "with a float target): −Σ w·t·log_softmax per row; its mean divides by the rows.",
        _probs_shape,
        _forward_of(_probs_saving),
        (
            "∂L/∂{input} = ∂L/∂{out} · (softmax({input})·Σ w·t − w·t)",
            "∂L/∂{target} = −∂L/∂{out} · w·log_softmax({input})",
        ),
        (_recorded(_probs_saving, _probs_saved_input), _recorded(_probs_saving, _probs_saved_target)),
        (Param("weight", "numbers"), Param("label_smoothing", "fraction", 0.0), _REDUCTION),
        _probs_program,
        work=5,
        saving=(_probs_saving, (_probs_saved_input, _probs_saved_target)),
    ),
    Op(
        "cosine_similarity",
        ("x1", "x2"),
        "x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along `dim`, broadcasting.",
        _cosine_shape,
        _cosine,
        (
            "∂L/∂{x1} = ∂L/∂{out} · ({x2}/(‖{x1}‖‖{x2}‖) − {out}·{x1}/‖{x1}‖²)",
            "∂L/∂{x2} = ∂L/∂{out} · ({x1}/(‖{x1}‖‖{x2}‖) − {out}·{x2}/‖{x2}‖²)",
        ),
        vjp=(_cosine_vjp(0), _cosine_vjp(1)),
        params=(Param("dim", "axis", 1), Param("eps", "number", 1e-8)),
        work=lambda out, x1, x2: 6 * size(broadcast(x1, x2)),
        syntax="cosine_similarity({x1}, {x2})",
        decomposition=_cosine_program,
    ),
]


# --- normalisation -----------------------------------------------------------------------------------


def _check_eps(eps: float) -> None:
    if not eps >= 0:
        raise ArgumentError(f"eps must be 0 or more, got {eps:g}")


def _affine_shape(name: str, operand: Shape, want: Shape) -> None:
    if _given(operand) and operand != want:
        raise ShapeError(f"{name} must have shape {fmt(want)}")


def _layer_norm_shape(input: Shape, weight: Shape, bias: Shape, normalized_shape: Shape, eps: float = 1e-5) -> Shape:
    _check_eps(eps)
    k = len(normalized_shape)
    if not k or input[len(input) - k :] != tuple(normalized_shape) or k > len(input):
        raise ShapeError(f"normalized_shape {fmt(tuple(normalized_shape))} must be the input's last axes")
    _affine_shape("weight", weight, tuple(normalized_shape))
    _affine_shape("bias", bias, tuple(normalized_shape))
    return input


def _row_sums(rows: np.ndarray) -> np.ndarray:
    """Σ along the last axis of a 2-D array, as one matrix-vector product (BLAS: twice numpy's reduce)."""
    return rows @ np.ones(rows.shape[1])


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ a·b along the last axis of two 2-D arrays of one shape, without forming the product: a stack of
    (1, n)·(n, 1) matrix products (faster than einsum's loop)."""
    return np.reshape(np.matmul(a[:, None, :], b[:, :, None]), len(a))


class _RowBuffers:
    """Within it, numpy's ufunc buffers hold at most a row of `length` (the norms' per-row statistics
    broadcast along rows of that length). With its default buffer of 8192 elements, longer than a row,
    numpy's iterator copies an operand broadcast along the rows, such as x − mean[:, None], into its
    buffer element by element: each per-row operation then costs 2.5 times a same-shape one; with the
    buffer no longer than a row, the operand goes to the vectorised loop as one number per row. (numpy
    keeps the size per thread: a server's other threads keep theirs.)"""

    def __init__(self, length: int) -> None:
        self.size = max(16, min(length, 8192) // 16 * 16)  # a multiple of 16 (numpy's rule), at most its default
        self.old = 0

    def __enter__(self) -> None:
        self.old = np.setbufsize(self.size)

    def __exit__(self, *exc: object) -> None:
        np.setbufsize(self.old)


_BLOCK_BYTES = 1 << 19


def _blocks(count: int, row_bytes: int) -> list[slice]:
    """`count` rows of `row_bytes` each, as slices of about 512 KiB (one row at least). The norms make
    their several element-wise passes block by block: a block and its two or three temporaries stay in
    a core's L2 cache (2 MiB here), so only a block's first read and last write go to memory. (Blocks
    of 256 KiB measured the same on layer_norm's (512, 256) and up to 10% slower on the channel norms'
    4 MiB, whose blocks take more small steps each; blocks of 1 MiB no longer fit with their temporaries.)"""
    step = max(1, _BLOCK_BYTES // max(row_bytes, 1))
    return [slice(start, min(start + step, count)) for start in range(0, count, step)]


def _longest(blocks: list[slice]) -> int:
    """The rows of _blocks' first (and longest) slice; 0 for none."""
    return blocks[0].stop if blocks else 0


def _rstd(sum_squares: np.ndarray, count: int, eps: float, out: np.ndarray | None = None) -> np.ndarray:
    """1/√(var + eps), var = the biased variance from sums of squared deviations of `count` values
    each; into `out` (in place without it)."""
    out = np.divide(sum_squares, count, out=sum_squares if out is None else out)
    out += eps
    np.sqrt(out, out=out)
    return np.divide(1.0, out, out=out)


def _last_axes(count: int) -> tuple[int, ...]:
    return tuple(range(-count, 0))


class _Outer:
    """column·rowᵀ, for one row and columns of up to `count` entries, as a matrix product over two terms,
    the second zero: BLAS writes it at the speed of a copy, where numpy runs a product over one term, or
    one broadcast along rows, at a fraction of that. Exact: each entry one rounded product."""

    def __init__(self, row: np.ndarray, count: int) -> None:
        self.left, self.right = np.zeros((count, 2)), np.zeros((2, len(row)))
        self.right[0] = row

    def __call__(self, column: np.ndarray, out: np.ndarray) -> np.ndarray:
        left = self.left[: len(column)]
        left[:, 0] = column
        return np.matmul(left, self.right, out=out)


def _layer_norm_saving(
    input: Any, weight: Any, bias: Any, normalized_shape: Shape, eps: float = 1e-5, value: bool = True
) -> tuple[Any, dict[str, Any]]:
    """(layer_norm or None for value=False, what its vjps need): over rows of the last axes, x̂ = (x − mean)·rstd with
    rstd = 1/√(var + eps) and the biased variance (two passes: exact for any mean), then x̂·weight + bias;
    block by block (_blocks). Its vjps keep the centred values x − mean (x̂ would take one more pass) and rstd."""
    shape = np.shape(input)
    width = size(tuple(normalized_shape))
    rows = np.reshape(np.asarray(input, dtype=np.float64), (-1, width))
    centred, rstd = np.empty(rows.shape), np.empty(len(rows))
    w, b = (np.ravel(operand) if _given(operand) else None for operand in (weight, bias))
    out = np.empty(rows.shape) if value else None
    blocks = _blocks(len(rows), rows.itemsize * width)
    scaled = _Outer(w, _longest(blocks)) if out is not None and w is not None else None  # rstd·weight
    with _RowBuffers(width):
        for block in blocks:
            x, xc, r = rows[block], centred[block], rstd[block]
            means = _row_sums(x)
            means /= width
            np.subtract(x, means[:, None], out=xc)
            _rstd(_row_dots(xc, xc), width, eps, out=r)
            if out is None:
                continue
            ob = out[block]
            if scaled is None:
                np.multiply(xc, r[:, None], out=ob)
            else:
                np.multiply(scaled(r, ob), xc, out=ob)
            if b is not None:
                ob += b
    saved = {"centred": centred, "rstd": rstd, "weight": w, "blocks": blocks, "shape": shape}
    saved["tail"] = tuple(normalized_shape)
    return (np.reshape(out, shape) if out is not None else None), saved


def _layer_norm_grad(slot: int, grad: Any, saved: dict[str, Any]) -> Any:
    """layer_norm's ∂L/∂input (slot 0), ∂L/∂weight (1) or ∂L/∂bias (2), from what its forward kept.

    The input's vjp, which runs first in a training step, also takes the weight's and the bias's sums
    (block by block, while each block of the gradient and of x − mean is in the cache) and leaves them
    for their vjps; it builds its result in the centred values' buffer, block by block after the sums."""
    part = ("∂input", "∂weight", "∂bias")[slot]
    if part in saved:
        return saved.pop(part)
    centred, rstd, w, blocks = saved["centred"], saved["rstd"], saved["weight"], saved["blocks"]
    g = np.reshape(grad, centred.shape)
    width = centred.shape[1]
    d_bias, d_weight = np.zeros(width), np.zeros(width)
    across, down = np.ones(width) if w is None else w, np.ones(_longest(blocks))
    cubed = rstd * rstd * rstd / width  # coefficients of the paths through the variance and the mean
    rstd_mean = rstd / width
    scaled = _Outer(w, _longest(blocks)) if not slot and w is not None else None  # rstd·weight
    spare = np.empty((_longest(blocks), width))  # one block reused (a new array per block costs 5%)
    with _RowBuffers(width):
        for block in blocks:
            gb, xc, r = g[block], centred[block], rstd[block]
            gx = np.multiply(gb, xc, out=spare[: len(gb)])  # g·(x − mean): by columns, with rstd, ∂weight
            d_bias += down[: len(gb)] @ gb
            d_weight += r @ gx
            if slot:
                continue
            # rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = ∂L/∂x̂ = ∂L/∂out·weight and x̂ = (x − mean)·rstd: the
            # direct path, the path through the mean and the one through the variance (makemore's batch-norm
            # derivation), as g·rstd − ((x − mean)·rstd³·mean(g·(x − mean)) + rstd·mean(g))
            through_var, through_mean = gx @ across, gb @ across
            through_var *= cubed[block]
            through_mean *= rstd_mean[block]
            np.multiply(xc, through_var[:, None], out=xc)
            xc += through_mean[:, None]
            direct = np.multiply(gb, r[:, None], out=gx) if scaled is None else np.multiply(scaled(r, gx), gb, out=gx)
            np.subtract(direct, xc, out=xc)
    found = {"∂weight": np.reshape(d_weight, saved["tail"]), "∂bias": np.reshape(d_bias, saved["tail"])}
    if slot:
        return found[part]
    saved.update(found)
    del saved["centred"]  # now the result's
    return np.reshape(centred, saved["shape"])


def _layer_norm_saved(slot: int) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, saved: dict[str, Any]) -> Any:
        return _layer_norm_grad(slot, grad, saved)

    return vjp


def _norm_program(axes: str, weight: str | None, bias: str | None, eps: float) -> str:
    lines = [
        f"mu = mean(input, axis={axes}, keepdims=True)",
        "xc = input - mu",
        f"var = mean(xc ** 2, axis={axes}, keepdims=True)",
        f"xhat = xc * (var + {eps!r}) ** -0.5",
    ]
    out = "xhat"
    if weight is not None:
        out = f"{out} * {weight}"
    if bias is not None:
        out = f"{out} + {bias}"
    lines.append(out)
    return "\n".join(lines)


def _layer_norm_program(normalized_shape: Shape = (1,), eps: float = 1e-5, shapes: list[Any] | None = None) -> Any:
    axes = repr(_last_axes(len(normalized_shape)))
    if shapes is None:
        return _norm_program(axes, "weight", "bias", eps)
    return _norm_program(axes, "weight" if _given(shapes[1]) else None, "bias" if _given(shapes[2]) else None, eps), {}


def _batch_axes(ndim: int) -> tuple[int, ...]:
    return (0, *tuple(range(2, ndim)))


def _batch_norm_shape(
    input: Shape,
    running_mean: Shape,
    running_var: Shape,
    weight: Shape,
    bias: Shape,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Shape:
    _check_eps(eps)
    if len(input) < 2:
        raise ShapeError("batch_norm needs an input of shape (N, C) or (N, C, ...)")
    channels = input[1]
    for name, shape in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _affine_shape(name, shape, (channels,))
    if training and size(input) // max(channels, 1) <= 1:
        raise ArgumentError(
            f"expected more than 1 value per channel when training, got input size {fmt(input)} "
            "(PyTorch's error: a batch of one has no variance; use training=False)"
        )
    if not training and not (_given(running_mean) and _given(running_var)):
        raise ArgumentError("running_mean and running_var must be given in evaluation mode (training=False)")
    return input


def _per_row(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Σ along the last axis of each row of an (N, ..., L) block (of a·b when b is given): (N, rows a sample)."""
    rows = np.reshape(a, (size(a.shape[:-1]), a.shape[-1]))
    sums = _row_sums(rows) if b is None else _row_dots(rows, np.reshape(b, rows.shape))
    return np.reshape(sums, (len(a), size(a.shape[1:-1])))


def _alpha(rstd: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """rstd·weight per channel, (samples or 1, G, C/G) from rstd (samples or 1, G) and weight (G, C/G)."""
    return rstd[..., None] * weight if weight is not None else rstd[..., None]


def _channel_norm_saving(
    input: Any, mean: Any, var: Any, weight: Any, bias: Any, groups: int | None, eps: float, value: bool = True
) -> tuple[Any, dict[str, Any]]:
    """batch_norm and group_norm over an (N, G, C/G, L) view of the input, G groups of channels (each
    channel its own for batch_norm, groups None): (result, what their vjps need).

    The statistics are per sample and group for group_norm, per channel over the batch for batch_norm
    (mean None), or given per channel (batch_norm's evaluation); the variance from the centred values
    (two passes: exact for any mean). The result is x·α + β per channel, α = weight·rstd, β = bias − mean·α:
    PyTorch's own order, so that an infinite or NaN weight or bias gives its answers (inf − inf and 0·inf
    are NaN there too). Block by block over the samples (_blocks): in one sweep for group_norm, whose
    statistics are each sample's own; in three for batch_norm's, which pool the batch. The centred values
    are a block's scratch here: the vjps keep the input and the means and make them again, into their
    result (an array of the input's size less to write here and to read there)."""
    shape = np.shape(input)
    n, c = shape[0], shape[1]
    by_sample, training = groups is not None, mean is None
    length = size(shape[2:])  # (spelled out: reshape cannot infer an axis of an empty input)
    x4 = np.reshape(np.asarray(input, dtype=np.float64), (n, groups or c, c // (groups or c), length))
    count = c // (groups or c) * length * (1 if by_sample else n)  # the values behind each statistic
    blocks = _blocks(n, x4.itemsize * c * length)
    w, b = (np.reshape(operand, x4.shape[1:3]) if _given(operand) else None for operand in (weight, bias))
    out = np.empty(x4.shape) if value else None
    scratch = np.empty((_longest(blocks) if out is None or not by_sample else 0, *x4.shape[1:]))

    def write(block: slice, mean: np.ndarray, rstd: np.ndarray) -> None:
        """The result's block from its statistics, (samples or 1, G) each."""
        if out is None:
            return
        ob = out[block]
        if w is None and b is None:
            np.subtract(x4[block], mean[..., None, None], out=ob)
            ob *= rstd[..., None, None]
            return
        alpha = _alpha(rstd, w)
        shift = mean[..., None] * alpha
        shift = np.subtract(b, shift, out=shift) if b is not None else np.negative(shift, out=shift)
        np.multiply(x4[block], alpha[..., None], out=ob)
        ob += shift[..., None]

    with _RowBuffers(length):
        if not training:  # running statistics, (C,) each
            mean, rstd = np.reshape(mean, (1, c)), 1.0 / np.sqrt(np.reshape(var, (1, c)) + eps)
            for block in blocks:
                write(block, mean, rstd)
        elif by_sample:
            per_sample = x4.shape[1]  # (groups)
            rows = np.reshape(x4, (n * per_sample, count))  # a row per sample and group
            if out is None:
                rows_c = np.reshape(scratch, (len(scratch) * per_sample, count))
            else:  # the centred values into the result's block, where x·α + β then overwrites them (a block
                rows_c = np.reshape(out, rows.shape)  # fewer in the cache than with a scratch: 5-10% faster)
            mean, rstd = np.empty(x4.shape[:2]), np.empty(x4.shape[:2])
            for block in blocks:
                start = 0 if out is None else block.start * per_sample
                x = rows[block.start * per_sample : block.stop * per_sample]
                means = _row_sums(x)
                means /= count
                xc = np.subtract(x, means[:, None], out=rows_c[start : start + len(x)])
                mean[block] = np.reshape(means, (-1, per_sample))
                rstd[block] = np.reshape(_rstd(_row_dots(xc, xc), count, eps), (-1, per_sample))
                write(block, mean[block], rstd[block])
        else:
            mean = np.add.reduce(_per_row(x4), axis=0, keepdims=True) / count
            squares = np.empty((n, c))
            for block in blocks:
                xc = np.subtract(x4[block], mean[..., None, None], out=scratch[: block.stop - block.start])
                squares[block] = _per_row(xc, xc)
            rstd = _rstd(np.add.reduce(squares, axis=0, keepdims=True), count, eps)
            for block in blocks:
                write(block, mean, rstd)
    saved = {"input": x4, "mean": mean, "rstd": rstd, "weight": w, "by_sample": by_sample, "count": count}
    saved["training"], saved["blocks"], saved["shape"] = training, blocks, shape
    return (None if out is None else np.reshape(out, shape)), saved


def _channel_norm_grad(part: str, grad: Any, saved: dict[str, Any]) -> Any:
    """∂L/∂input, ∂L/∂weight or ∂L/∂bias (`part`) of batch_norm or group_norm, from what the forward kept.

    The weight's and the bias's are per-channel sums that the input's also needs: the input's vjp, which
    runs first in a training step, leaves them for theirs. Block by block as the forward: in one sweep
    for group_norm, in two for batch_norm (its statistics pool the whole batch's sums); the centred values
    made again from the input, into the input's gradient (into a block's scratch for the others')."""
    kept = saved.pop("∂" + part, None)
    if kept is not None:
        return kept
    x4, mean, rstd, w, count, blocks = (saved[key] for key in ("input", "mean", "rstd", "weight", "count", "blocks"))
    n, groups, per = x4.shape[:3]
    g4 = np.reshape(grad, x4.shape)
    if part == "input" and not saved["training"]:
        return np.reshape(g4 * _alpha(rstd, w)[..., None], saved["shape"])
    sums = np.empty((2, n, groups, per))  # Σ over space of g and of g·(x − mean), per sample and channel
    result = np.empty(x4.shape) if part == "input" else None
    scratch = np.empty((_longest(blocks), *x4.shape[1:])) if result is None else result

    def add_up(block: slice) -> None:
        centred = result[block] if result is not None else scratch[: block.stop - block.start]
        np.subtract(x4[block], (mean[block] if saved["by_sample"] else mean)[..., None, None], out=centred)
        sums[0, block] = np.reshape(_per_row(g4[block]), (-1, groups, per))
        sums[1, block] = np.reshape(_per_row(g4[block], centred), (-1, groups, per))

    def write(block: slice, summed: np.ndarray) -> None:
        # rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = ∂L/∂x̂ = ∂L/∂out·weight and x̂ = (x − mean)·rstd: the
        # direct path, the path through the mean and the one through the variance (makemore's derivation),
        # as g·rstd − ((x − mean)·rstd³·mean(g·(x − mean)) + rstd·mean(g)), the bracket in place on the
        # centred values (their sums are taken); `summed`: the block's sums (group_norm) or all (batch_norm)
        pooled = np.add.reduce(summed * w if w is not None else summed, axis=3)  # over each group's channels
        if not saved["by_sample"]:
            pooled = np.add.reduce(pooled, axis=1, keepdims=True)  # and over the batch
        pooled *= coefficients[:, block] if saved["by_sample"] else coefficients
        centred = scratch[block]
        centred *= pooled[1, ..., None, None]
        centred += pooled[0, ..., None, None]
        scale = (alpha[block] if saved["by_sample"] else alpha)[..., None]
        np.subtract(np.multiply(g4[block], scale, out=direct[: len(centred)]), centred, out=centred)

    coefficients = np.stack([rstd / count, rstd * rstd * rstd / count])  # of the paths through the mean, the variance
    alpha = _alpha(rstd, w)
    direct = np.empty((_longest(blocks) if result is not None else 0, *x4.shape[1:]))  # g·α, a block at a time
    with _RowBuffers(x4.shape[3]):
        if result is None or not saved["by_sample"]:
            for block in blocks:
                add_up(block)
        if result is not None:
            for block in blocks:
                if saved["by_sample"]:
                    add_up(block)
                    write(block, sums[:, block])
                else:
                    write(block, sums)
    found = {"∂weight": np.add.reduce(sums[1] * rstd[..., None], axis=0), "∂bias": np.add.reduce(sums[0], axis=0)}
    found = {key: np.ravel(total) for key, total in found.items()}
    if result is None:
        return found["∂" + part]
    saved.update(found)
    return np.reshape(result, saved["shape"])


def _channel_norm_saved(part: str) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, saved: dict[str, Any]) -> Any:
        return _channel_norm_grad(part, grad, saved)

    return vjp


def _batch_norm_saving(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any,
    bias: Any,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    value: bool = True,
) -> tuple[Any, dict[str, Any]]:
    if training:
        return _channel_norm_saving(input, None, None, weight, bias, None, eps, value)
    mean, var = (
        np.ravel(np.asarray(running_mean, dtype=np.float64)),
        np.ravel(np.asarray(running_var, dtype=np.float64)),
    )
    return _channel_norm_saving(input, mean, var, weight, bias, None, eps, value)


def _group_norm_saving(
    input: Any, weight: Any, bias: Any, num_groups: int, eps: float = 1e-5, value: bool = True
) -> tuple[Any, dict[str, Any]]:
    return _channel_norm_saving(input, None, None, weight, bias, num_groups, eps, value)


def _batch_norm_program(
    training: bool = False, momentum: float = 0.1, eps: float = 1e-5, shapes: list[Any] | None = None
) -> Any:
    if shapes is None:  # GET /ops: a (N, C) input with every operand given
        return _batch_norm_program(training, momentum, eps, [(2, 3), (3,), (3,), (3,), (3,)])[0]
    ndim = len(shapes[0])
    view = "" if ndim == 2 else f", {(-1,) + (1,) * (ndim - 2)!r}"
    lines = []
    names: dict[str, str | None] = {}
    for name, shape in zip(("running_mean", "running_var", "weight", "bias"), shapes[1:]):
        if not _given(shape):
            names[name] = None
        elif view:
            alias = {"running_mean": "rm", "running_var": "rv", "weight": "w", "bias": "b"}[name]
            lines.append(f"{alias} = reshape({name}{view})")
            names[name] = alias
        else:
            names[name] = name
    if training:
        text = _norm_program(repr(_batch_axes(ndim)), names["weight"], names["bias"], eps)
    else:  # the running statistics take no gradient (PyTorch's neither)
        text = (
            f"xhat = (input - detach({names['running_mean']})) * (detach({names['running_var']}) + {eps!r}) ** -0.5\n"
        )
        text += (
            "xhat"
            + (f" * {names['weight']}" if names["weight"] else "")
            + (f" + {names['bias']}" if names["bias"] else "")
        )
    return "\n".join([*lines, text]), {}


def _group_norm_shape(input: Shape, weight: Shape, bias: Shape, num_groups: int, eps: float = 1e-5) -> Shape:
    _check_eps(eps)
    if len(input) < 2:
        raise ShapeError("group_norm needs an input of shape (N, C, ...)")
    if input[1] % num_groups:
        raise ShapeError(f"the {input[1]} channels do not divide into num_groups={num_groups} groups")
    _affine_shape("weight", weight, input[1:2])
    _affine_shape("bias", bias, input[1:2])
    return input


def _group_norm_program(num_groups: int = 1, eps: float = 1e-5, shapes: list[Any] | None = None) -> Any:
    if shapes is None:  # GET /ops: an (N, C, L) input with weight and bias
        return _group_norm_program(num_groups, eps, [(2, 4, 3), (4,), (4,)])[0]
    shape = shapes[0]
    view = (-1,) + (1,) * (len(shape) - 2)
    lines = [
        f"xg = reshape(input, {(shape[0], num_groups, -1)!r})",
        _norm_program("-1", None, None, eps).replace("input", "xg"),
    ]
    lines[-1] = lines[-1].rsplit("\n", 1)[0]  # its last line (xhat) is reshaped below
    out = f"reshape(xhat, {tuple(shape)!r})"
    if _given(shapes[1]):
        out += f" * reshape(weight, {view!r})"
    if _given(shapes[2]):
        out += f" + reshape(bias, {view!r})"
    return "\n".join([*lines, out]), {}


def _normalize_shape(input: Shape, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Shape:
    _check_eps(eps)
    if not p > 0:
        raise ArgumentError(f"p must be a positive number, got {p:g}")
    normalize_axes(dim, len(input))
    return input


def _norm_along(x: Any, p: float, dim: int) -> Any:
    if p == 2:
        return np.sqrt(np.add.reduce(x * x, axis=dim, keepdims=True))
    return np.add.reduce(np.abs(x) ** p, axis=dim, keepdims=True) ** (1.0 / p)


def _normalize(m: Any, input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Any:
    return input / np.maximum(_norm_along(input, p, dim), eps)


def _normalize_vjp(grad: Any, out: Any, input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Any:
    norm = _norm_along(input, p, dim)
    denom = np.maximum(norm, eps)
    # y = x/d with d = max(‖x‖, eps): the direct path, and the path through the norm where it is not clamped
    through = np.add.reduce(grad * input, axis=dim, keepdims=True) / (denom * denom) * (norm >= eps)
    d_norm = np.sign(input) * np.abs(input) ** (p - 1) / np.where(norm > 0, norm, 1.0) ** (p - 1)
    return grad / denom - through * d_norm


def _normalize_program(p: float = 2.0, dim: int = 1, eps: float = 1e-12, shapes: list[Any] | None = None) -> Any:
    text = f"norm = sum(abs(input) ** {p!r}, axis={dim}, keepdims=True) ** {1.0 / p!r}\ninput / maximum(norm, {eps!r})"
    return text if shapes is None else (text, {})


_EPS = Param("eps", "number", 1e-5)

_NORMS = [
    Op(
        "layer_norm",
        ("input", "weight", "bias"),
        "Normalises over the last axes (`normalized_shape`): (x − mean)/√(var + eps) with the biased "
        "variance, then · weight + bias where given (PyTorch's layer_norm).",
        _layer_norm_shape,
        _forward_of(_layer_norm_saving),
        (
            "∂L/∂{input} = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = ∂L/∂{out}·{weight}",
            "∂L/∂{weight} = Σ ∂L/∂{out}·x̂",
            "∂L/∂{bias} = Σ ∂L/∂{out}",
        ),
        vjp=tuple(_recorded(_layer_norm_saving, _layer_norm_saved(slot)) for slot in range(3)),
        params=(Param("normalized_shape", "shape", required=True), _EPS),
        optional=("weight", "bias"),
        work=lambda out, x, w, b: 8 * size(x),
        syntax="layer_norm({input})",
        decomposition=_layer_norm_program,
        forward_saving=_layer_norm_saving,
        vjp_saved=(_layer_norm_saved(0), _layer_norm_saved(1), _layer_norm_saved(2)),
    ),
    Op(
        "batch_norm",
        ("input", "running_mean", "running_var", "weight", "bias"),
        "Normalises each channel (axis 1) over the batch and spatial axes: with training=True by the "
        "batch's mean and biased variance, else by running_mean and running_var; then · weight + bias. "
        "momentum only updates PyTorch's running statistics, a side effect outside the result.",
        _batch_norm_shape,
        _forward_of(_batch_norm_saving),
        (
            (
                "∂L/∂{input} = rstd·(g − mean(g) − x̂·mean(g·x̂)) in training (the mean's and the variance's "
                "paths), rstd·g in evaluation"
            ),
            "running statistics take no gradient",
            "running statistics take no gradient",
            "∂L/∂{weight} = Σ ∂L/∂{out}·x̂",
            "∂L/∂{bias} = Σ ∂L/∂{out}",
        ),
        vjp=(
            _recorded(_batch_norm_saving, _channel_norm_saved("input")),
            None,
            None,
            _recorded(_batch_norm_saving, _channel_norm_saved("weight")),
            _recorded(_batch_norm_saving, _channel_norm_saved("bias")),
        ),
        params=(Param("training", "bool", False), Param("momentum", "number", 0.1), _EPS),
        optional=("running_mean", "running_var", "weight", "bias"),
        work=lambda out, x, *rest: 8 * size(x),
        syntax="batch_norm({input})",
        decomposition=_batch_norm_program,
        forward_saving=_batch_norm_saving,
        vjp_saved=(
            _channel_norm_saved("input"),
            None,
            None,
            _channel_norm_saved("weight"),
            _channel_norm_saved("bias"),
        ),
    ),
    Op(
        "group_norm",
        ("input", "weight", "bias"),
        "Normalises each sample's channels in `num_groups` groups (PyTorch's group_norm), then · weight + bias "
        "per channel.",
        _group_norm_shape,
        _forward_of(_group_norm_saving),
        (
            "∂L/∂{input} = rstd·(g − mean(g) − x̂·mean(g·x̂)) per group",
            "∂L/∂{weight} = Σ ∂L/∂{out}·x̂",
            "∂L/∂{bias} = Σ ∂L/∂{out}",
        ),
        vjp=tuple(_recorded(_group_norm_saving, _channel_norm_saved(part)) for part in ("input", "weight", "bias")),
        params=(Param("num_groups", "count", required=True), _EPS),
        optional=("weight", "bias"),
        work=lambda out, x, w, b: 8 * size(x),
        syntax="group_norm({input})",
        decomposition=_group_norm_program,
        forward_saving=_group_norm_saving,
        vjp_saved=(_channel_norm_saved("input"), _channel_norm_saved("weight"), _channel_norm_saved("bias")),
    ),
    Op(
        "normalize",
        ("input",),
        "input / max(‖input‖_p, eps) along `dim` (PyTorch's normalize; L2 by default).",
        _normalize_shape,
        _normalize,
        ("∂L/∂{input} = (g − {out}·Σ g·{out})/‖{input}‖ for p = 2",),
        vjp=(_normalize_vjp,),
        params=(Param("p", "number", 2.0), Param("dim", "axis", 1), Param("eps", "number", 1e-12)),
        work=lambda out, x: 5 * size(x),
        syntax="normalize({input})",
        decomposition=_normalize_program,
    ),
]


# --- embedding ---------------------------------------------------------------------------------------


def _embedding_shape(input: Shape, weight: Shape, padding_idx: int | None = None) -> Shape:
    if len(weight) != 2:
        raise ShapeError("embedding needs a weight of shape (num_embeddings, embedding_dim)")
    if padding_idx is not None and not -weight[0] <= padding_idx < weight[0]:
        raise ArgumentError(f"padding_idx {padding_idx} must be within [-{weight[0]}, {weight[0] - 1}]")
    return input + weight[1:]


def _indices(input: Any, count: int) -> Any:
    flat = np.atleast_1d(np.asarray(input, dtype=np.float64)).ravel()
    if not (flat == flat.round()).all():
        raise OpError("embedding's input must hold integer indices")
    if flat.size and (flat.min() < 0 or flat.max() >= count):
        raise OpError(f"embedding's indices must be in [0, {count - 1}], got {flat.min():g}..{flat.max():g}")
    return flat.astype(np.intp)


def _embedding(m: Any, input: Any, weight: Any, padding_idx: int | None = None) -> Any:
    return np.reshape(weight[_indices(input, weight.shape[0])], np.shape(input) + weight.shape[1:])


def _embedding_vjp(grad: Any, out: Any, input: Any, weight: Any, padding_idx: int | None = None) -> Any:
    rows = _indices(input, weight.shape[0])
    width = weight.shape[1]
    # a scatter-add (repeated rows accumulate), as one bincount over the flat positions row·D + column
    places = (rows[:, np.newaxis] * width + np.arange(width)).ravel()
    result = np.bincount(places, weights=np.ravel(grad), minlength=weight.size).reshape(weight.shape)
    if padding_idx is not None:
        result[padding_idx] = 0.0  # the padding row takes no gradient, as in PyTorch
    return result


_EMBEDDING = Op(
    "embedding",
    ("input", "weight"),
    "Rows of `weight` picked by the integer indices `input` (PyTorch's embedding); its backward adds each "
    "row's gradient into the rows picked (a scatter-add), none into padding_idx.",
    _embedding_shape,
    _embedding,
    ("indices take no gradient", "∂L/∂{weight}[i] = Σ ∂L/∂{out} over the places i was picked"),
    vjp=(None, _embedding_vjp),
    params=(Param("padding_idx", "index"),),
    work=lambda out, idx, w: size(out) + size(w),
    syntax="embedding({input}, {weight})",
)


# --- convolution and pooling -------------------------------------------------------------------------


def _pair(value: tuple[int, ...], name: str, dims: int) -> tuple[int, ...]:
    if len(value) == 1:
        return value * dims
    if len(value) != dims:
        raise ArgumentError(f"{name} must be one integer or {dims} of them, got {value}")
    return tuple(value)


def _positive(name: str, values: tuple[int, ...], least: int = 1) -> None:
    if any(v < least for v in values):
        raise ArgumentError(f"{name} must be {'positive' if least else 'zero or more'}, got {values}")


def _out_size(length: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _conv_geometry(
    input: Shape,
    weight: Shape,
    dims: int,
    stride: tuple[Any, ...],
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
    groups: int,
) -> tuple[Shape, tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    """(output shape, kernel, stride, padding, dilation) of a convolution; ShapeError or
    ArgumentError where the arguments do not fit (PyTorch's conditions)."""
    name = f"conv{dims}d"
    if len(input) not in (dims + 1, dims + 2):
        raise ShapeError(f"{name} needs an input of shape (N, C, {'L' if dims == 1 else 'H, W'}) or without N")
    if len(weight) != dims + 2:
        raise ShapeError(
            f"{name} needs a weight of shape (out_channels, in_channels/groups, {'k' if dims == 1 else 'kH, kW'})"
        )
    stride, padding, dilation = (
        _pair(v, n, dims) for v, n in ((stride, "stride"), (padding, "padding"), (dilation, "dilation"))
    )
    _positive("stride", stride)
    _positive("padding", padding, 0)
    _positive("dilation", dilation)
    kernel = weight[2:]
    _positive("the kernel size", kernel)
    _positive("out_channels (the weight's first axis)", weight[:1])
    channels = input[-dims - 1]
    if weight[1] * groups != channels:
        raise ShapeError(
            f"the input has {channels} channels but the weight expects {weight[1]}·groups = {weight[1] * groups}"
        )
    if weight[0] % groups:
        raise ShapeError(f"out_channels ({weight[0]}) must divide into groups={groups}")
    spatial = input[-dims:]
    out = tuple(_out_size(n, k, s, p, d) for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation))
    if any(o < 1 for o in out):
        raise ShapeError(
            f"the kernel (dilated: {tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))}) is larger "
            f"than the padded input {tuple(n + 2 * p for n, p in zip(spatial, padding))}"
        )
    return (*input[: -dims - 1], weight[0], *out), kernel, stride, padding, dilation


def _conv_shape(dims: int) -> Callable[..., Shape]:
    def shape(
        input: Shape,
        weight: Shape,
        bias: Shape,
        stride: tuple[Any, ...] = (1,),
        padding: tuple[Any, ...] = (0,),
        dilation: tuple[Any, ...] = (1,),
        groups: int = 1,
    ) -> Shape:
        out = _conv_geometry(input, weight, dims, stride, padding, dilation, groups)[0]
        _affine_shape("bias", bias, weight[:1])
        return out

    return shape


def _conv_budget(dims: int) -> Callable[..., tuple[int, int]]:
    def budget(
        out: Shape,
        input: Shape,
        weight: Shape,
        bias: Shape,
        stride: tuple[Any, ...] = (1,),
        padding: tuple[Any, ...] = (0,),
        dilation: tuple[Any, ...] = (1,),
        groups: int = 1,
    ) -> tuple[int, int]:
        _, kernel, _, padding, _ = _conv_geometry(input, weight, dims, stride, padding, dilation, groups)
        patches = size(out) // weight[0] * input[-dims - 1] * size(kernel)  # the im2col matrix
        padded = size(input[:-dims]) * size(tuple(n + 2 * p for n, p in zip(input[-dims:], padding)))
        return size(out) * (size(weight[1:]) + 1) + patches + padded, max(patches, padded)

    return budget


def _as_2d(x: Any, dims: int) -> Any:
    """A conv1d operand (N, C, L) as conv2d's (N, C, 1, L)."""
    return x[..., np.newaxis, :] if dims == 1 else x


def _batched(x: Any, dims: int) -> tuple[Any, bool]:
    """The input with a batch axis (PyTorch accepts an unbatched (C, *spatial) input)."""
    return (x[np.newaxis], True) if np.ndim(x) == dims + 1 else (x, False)


def _windows(
    padded: Any, kernel: tuple[Any, ...], stride: tuple[Any, ...], dilation: tuple[Any, ...], out: tuple[Any, ...]
) -> Any:
    """A read-only view (N, C, Ho, Wo, kH, kW) of every kernel window of `padded`: no copy."""
    n, c = padded.shape[:2]
    s0, s1, s2, s3 = padded.strides
    return as_strided(
        padded,
        (n, c, *tuple(out), *tuple(kernel)),
        (s0, s1, s2 * stride[0], s3 * stride[1], s2 * dilation[0], s3 * dilation[1]),
        writeable=False,
    )


def _pad(x: Any, padding: tuple[Any, ...], value: float = 0.0) -> Any:
    """x (N, C, H, W) with `padding` rows and columns of `value` around it (np.pad's own Python
    costs more than the copy on a training step's small images)."""
    if not any(padding):
        return x
    n, c, h, w = x.shape
    padded = np.full((n, c, h + 2 * padding[0], w + 2 * padding[1]), value)
    padded[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w] = x
    return padded


def _conv_setup(
    input: Any,
    weight: Any,
    dims: int,
    stride: tuple[Any, ...],
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
    groups: int,
) -> tuple[Any, ...]:
    x, unbatched = _batched(np.asarray(input, dtype=np.float64), dims)
    x, w = _as_2d(x, dims), _as_2d(np.asarray(weight, dtype=np.float64), dims)
    if dims == 1:  # conv1d is conv2d over a height of 1
        stride, padding, dilation = (
            (1, *_pair(stride, "", 1)),
            (0, *_pair(padding, "", 1)),
            (1, *_pair(dilation, "", 1)),
        )
    else:
        stride, padding, dilation = _pair(stride, "", 2), _pair(padding, "", 2), _pair(dilation, "", 2)
    kernel = w.shape[2:]
    out = tuple(_out_size(n, k, s, p, d) for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation))
    return x, w, unbatched, kernel, stride, padding, dilation, out


def _patches(
    x: Any,
    kernel: tuple[Any, ...],
    stride: tuple[Any, ...],
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
    out: tuple[Any, ...],
    groups: int,
) -> Any:
    """im2col, per sample: (N, groups, C/groups·kH·kW, Ho·Wo), every window of every group's channels as a
    column. In this order the copy reads whole output rows (Wo values a stride apart), and the matmuls
    with the kernels give the output and take its gradient in their own (N, C, Ho·Wo) layout, where
    patches as rows (N·Ho·Wo, C·kH·kW) cost a copy of short strided runs and a transpose of the result
    (a third of the convolution's time on 32×32 images)."""
    n = x.shape[0]
    windows = _windows(_pad(x, padding), kernel, stride, dilation, out)  # (N, C, Ho, Wo, kH, kW)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, groups, -1, out[0] * out[1])


def _conv_saving(dims: int) -> Callable[..., Any]:
    """(the convolution, what its vjps need: the patches, the kernels and the geometry)."""

    def forward(
        input: Any,
        weight: Any,
        bias: Any,
        stride: tuple[Any, ...] = (1,),
        padding: tuple[Any, ...] = (0,),
        dilation: tuple[Any, ...] = (1,),
        groups: int = 1,
    ) -> tuple[Any, tuple[Any, ...]]:
        x, w, unbatched, kernel, stride, padding, dilation, out = _conv_setup(
            input, weight, dims, stride, padding, dilation, groups
        )
        n, c_out = x.shape[0], w.shape[0]
        cols = _patches(x, kernel, stride, padding, dilation, out, groups)
        kernels = w.reshape(groups, c_out // groups, -1)
        result = np.matmul(kernels, cols)  # (N, groups, out/groups, Ho·Wo), one matmul per sample
        if _given(bias):
            result += np.reshape(bias, (groups, -1, 1))
        result = result.reshape(n, c_out, *out)
        if dims == 1:
            result = result[:, :, 0, :]
        saved = (cols, kernels, x.shape, np.shape(weight), unbatched, kernel, stride, padding, dilation, out, groups)
        return result[0] if unbatched else result, saved

    return forward


def _grad_rows(grad: Any, dims: int, unbatched: bool, groups: int) -> Any:
    """The upstream gradient as (N, groups, out/groups, Ho·Wo): a view of it where it is contiguous."""
    g = np.asarray(grad, dtype=np.float64)
    n, c_out = (1, len(g)) if unbatched else g.shape[:2]
    return np.reshape(g, (n, groups, c_out // groups, -1))


def _conv(dims: int) -> Callable[..., Any]:
    saving = _conv_saving(dims)

    def forward(m: Any, *operands: Any, **params: Any) -> Any:
        return saving(*operands, **params)[0]

    return forward


def _conv_grad(dims: int, slot: int) -> Callable[..., Any]:
    """A vjp of the convolution from what its forward kept (see _conv_saving)."""

    def vjp(grad: Any, out_value: Any, saved: tuple[Any, ...]) -> Any:
        cols, kernels, shape, weight_shape, unbatched, kernel, stride, padding, dilation, out, groups = saved
        if slot == 2:  # Σ over the batch and positions: per (sample, channel) row first, as one matmul
            g = np.asarray(grad, dtype=np.float64)
            rows = np.reshape(g, (-1, int(np.prod(np.shape(g)[2:], dtype=int))) if not unbatched else (len(g), -1))
            sums = _row_sums(rows)
            return sums if unbatched else np.add.reduce(np.reshape(sums, np.shape(g)[:2]), axis=0)
        g = _grad_rows(grad, dims, unbatched, groups)  # (N, groups, out/groups, Ho·Wo)
        if slot == 1:  # each kernel weight met one entry of every patch: Σ over samples of gradient · patches
            per_sample = np.matmul(g, cols.transpose(0, 1, 3, 2))  # (N, groups, out/groups, C/groups·kH·kW)
            return np.reshape(np.add.reduce(per_sample, axis=0), weight_shape)
        # the input: every patch's gradient (kernels · gradient) added back where the patch came from (col2im)
        n, c = shape[:2]
        patches = np.matmul(kernels.transpose(0, 2, 1), g)  # (N, groups, C/groups·kH·kW, Ho·Wo)
        patches = patches.reshape(n, c, kernel[0], kernel[1], out[0], out[1])
        padded = _add_windows(patches, shape, kernel, stride, padding, dilation, out)
        result = padded[:, :, padding[0] : padding[0] + shape[2], padding[1] : padding[1] + shape[3]]
        if dims == 1:
            result = result[:, :, 0, :]
        return result[0] if unbatched else result

    return vjp


def _conv_vjp(dims: int, slot: int) -> Callable[..., Any]:
    saving, grad_of = _conv_saving(dims), _conv_grad(dims, slot)

    def vjp(grad: Any, out_value: Any, *operands: Any, **params: Any) -> Any:
        if slot == 2:  # the bias needs no patches
            return grad_of(grad, out_value, (None,) * 4 + (np.ndim(operands[0]) == dims + 1,) + (None,) * 6)
        return grad_of(grad, out_value, saving(*operands, **params)[1])

    return vjp


def _add_windows(
    values: Any,
    shape: tuple[Any, ...],
    kernel: tuple[Any, ...],
    stride: tuple[Any, ...],
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
    out: tuple[Any, ...],
) -> Any:
    """col2im: values (N, C, kH, kW, Ho, Wo) added into a zero padded input at their windows' places,
    one strided slice per kernel offset (kH·kW numpy additions, no loop over pixels)."""
    n, c, h, w = shape
    padded = np.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]))
    for i in range(kernel[0]):
        top = i * dilation[0]
        rows = slice(top, top + stride[0] * (out[0] - 1) + 1, stride[0])
        for j in range(kernel[1]):
            left = j * dilation[1]
            padded[:, :, rows, left : left + stride[1] * (out[1] - 1) + 1 : stride[1]] += values[:, :, i, j]
    return padded


def _conv_op(dims: int) -> Op:
    name = f"conv{dims}d"
    return Op(
        name,
        ("input", "weight", "bias"),
        f"{dims}-D cross-correlation of `input` with the kernels `weight` (+ bias), with stride, zero "
        "padding, dilation and groups as PyTorch's " + name + "; computed as one matmul of the input's "
        "patches (im2col) with the kernels.",
        _conv_shape(dims),
        _conv(dims),
        (
            "∂L/∂{input} = each patch's gradient (∂L/∂{out} · kernel) added back where the patch came from",
            "∂L/∂{weight} = Σ over positions of ∂L/∂{out} · the input patch the kernel met there",
            "∂L/∂{bias} = Σ ∂L/∂{out} over batch and positions",
        ),
        vjp=(_conv_vjp(dims, 0), _conv_vjp(dims, 1), _conv_vjp(dims, 2)),
        params=(
            Param("stride", "ints", (1,)),
            Param("padding", "ints", (0,)),
            Param("dilation", "ints", (1,)),
            Param("groups", "count", 1),
        ),
        optional=("bias",),
        budget=_conv_budget(dims),
        syntax=f"{name}({{input}}, {{weight}})",
        forward_saving=_conv_saving(dims),
        vjp_saved=tuple(_conv_grad(dims, slot) for slot in range(3)),
    )


def _pool_geometry(
    name: str,
    input: Shape,
    kernel_size: tuple[Any, ...],
    stride: tuple[Any, ...] | None,
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
) -> tuple[Shape, tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    if len(input) not in (3, 4):
        raise ShapeError(f"{name} needs an input of shape (N, C, H, W) or (C, H, W)")
    kernel = _pair(kernel_size, "kernel_size", 2)
    stride = kernel if stride is None or stride == () else _pair(stride, "stride", 2)
    padding, dilation = _pair(padding, "padding", 2), _pair(dilation, "dilation", 2)
    _positive("kernel_size", kernel)
    _positive("stride", stride)
    _positive("padding", padding, 0)
    _positive("dilation", dilation)
    if any(p > ((k - 1) * d + 1) // 2 for p, k, d in zip(padding, kernel, dilation)):
        raise ArgumentError(f"padding {padding} should be at most half of the kernel size {kernel} (PyTorch's rule)")
    out = tuple(_out_size(n, k, s, p, d) for n, k, s, p, d in zip(input[-2:], kernel, stride, padding, dilation))
    if any(o < 1 for o in out):
        raise ShapeError(f"the output would be {out}: the window is larger than the padded input")
    return input[:-2] + out, kernel, stride, padding, dilation


def _pool_budget(name: str) -> Callable[..., tuple[int, int]]:
    def budget(
        out: Shape,
        input: Shape,
        kernel_size: tuple[Any, ...] = (1,),
        stride: tuple[Any, ...] | None = None,
        padding: tuple[Any, ...] = (0,),
        dilation: tuple[Any, ...] = (1,),
        **ignored: Any,
    ) -> tuple[int, int]:
        _, kernel, _, padding, _ = _pool_geometry(name, input, kernel_size, stride, padding, dilation)
        padded = size(input[:-2]) * (input[-2] + 2 * padding[0]) * (input[-1] + 2 * padding[1])
        windows = size(out) * size(kernel)
        return windows + padded, max(windows, padded)

    return budget


def _pool_setup(
    name: str,
    input: Any,
    kernel_size: tuple[Any, ...],
    stride: tuple[Any, ...] | None,
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
) -> tuple[Any, ...]:
    x, unbatched = _batched(np.asarray(input, dtype=np.float64), 2)
    out_shape, kernel, stride, padding, dilation = _pool_geometry(name, x.shape, kernel_size, stride, padding, dilation)
    return x, unbatched, out_shape[-2:], kernel, stride, padding, dilation


def _max_pool_parts(
    input: Any,
    kernel_size: tuple[Any, ...],
    stride: tuple[Any, ...] | None,
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
) -> tuple[Any, ...]:
    x, unbatched, out, kernel, stride, padding, dilation = _pool_setup(
        "max_pool2d", input, kernel_size, stride, padding, dilation
    )
    padded = _pad(x, padding, -np.inf)  # PyTorch pads a max pool with −inf
    flat = _windows(padded, kernel, stride, dilation, out).reshape(x.shape[:2] + out + (-1,))
    winner = np.argmax(flat, axis=-1)  # the first maximum in each window, as PyTorch picks it
    # A window with NaN: numpy's argmax gives its first NaN, PyTorch's scan (val > max || isnan(val)) its last.
    nan = np.isnan(np.take_along_axis(flat, winner[..., np.newaxis], axis=-1)[..., 0])
    if nan.any():
        last = flat.shape[-1] - 1 - np.argmax(np.isnan(flat[..., ::-1]), axis=-1)
        winner = np.where(nan, last, winner)
    return x, unbatched, out, kernel, stride, padding, dilation, padded, flat, winner


def _max_pool(
    m: Any,
    input: Any,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    dilation: tuple[Any, ...] = (1,),
) -> Any:
    kernel = _tiles(input, kernel_size, stride, padding, dilation)
    if kernel is not None:
        return _max_tiles(np.asarray(input, dtype=np.float64), kernel)
    _, unbatched, *_, flat, winner = _max_pool_parts(input, kernel_size, stride, padding, dilation)
    result = np.take_along_axis(flat, winner[..., np.newaxis], axis=-1)[..., 0]
    return result[0] if unbatched else result


def _tiles(
    input: Any,
    kernel_size: tuple[Any, ...],
    stride: tuple[Any, ...] | None,
    padding: tuple[Any, ...],
    dilation: tuple[Any, ...],
) -> tuple[int, int] | None:
    """The kernel, where the windows tile the input (stride = kernel, no padding, no dilation: the
    usual 2 × 2 pool), else None."""
    kernel = _pair(kernel_size, "kernel_size", 2)
    if (stride is None or _pair(stride, "stride", 2) == kernel) and not any(padding) and set(dilation) == {1}:
        return kernel[0], kernel[1]
    return None


def _tile_views(x: Any, kernel: tuple[int, int]) -> list[Any]:
    """Per kernel offset (in PyTorch's scan order), the view of the element each window has there."""
    kh, kw = kernel
    ho, wo = (x.shape[-2] - kh) // kh + 1, (x.shape[-1] - kw) // kw + 1
    return [x[..., i : i + kh * ho : kh, j : j + kw * wo : kw] for i in range(kh) for j in range(kw)]


def _max_tiles(x: Any, kernel: tuple[int, int]) -> Any:
    views = _tile_views(x, kernel)
    result = views[0].copy()
    for view in views[1:]:
        np.maximum(result, view, out=result)  # nan wins, as in PyTorch
    return result


def _max_tiles_grad(grad: Any, x: Any, result: Any, kernel: tuple[int, int]) -> Any:
    """Each window's gradient to its first maximum (its last NaN, if any): the offsets in scan order,
    each taking the windows whose maximum it holds and no earlier offset took."""
    covered = x.shape[-2] % kernel[0] == 0 and x.shape[-1] % kernel[1] == 0  # every element in a window
    out = np.empty(x.shape) if covered else np.zeros(x.shape)
    g = np.asarray(grad, dtype=np.float64)
    # gradient · hit where the gradient is finite (a training step's always is): a where() over a mask
    # as random as the maxima's places costs several times more
    finite = bool(np.isfinite(g).all())
    taken = np.zeros(result.shape, dtype=bool)
    hit = np.empty(result.shape, dtype=bool)
    nan = np.isnan(result)
    views = list(zip(_tile_views(x, kernel), _tile_views(out, kernel)))
    for view, target in views:
        np.equal(view, result, out=hit)  # never in a window whose maximum is NaN
        np.greater(hit, taken, out=hit)  # and no earlier offset took it
        if finite:
            np.multiply(g, hit, out=target)
        else:
            target[...] = np.where(hit, g, 0.0)
        taken |= hit
    if nan.any():  # PyTorch's scan (val > max || isnan(val)) keeps a window's last NaN
        taken = ~nan
        for view, target in reversed(views):
            hit = np.isnan(view) & ~taken
            target[...] = np.where(hit, grad, target)
            taken |= hit
    return out


def _max_pool_saving(
    input: Any,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    dilation: tuple[Any, ...] = (1,),
) -> tuple[Any, ...]:
    kernel = _tiles(input, kernel_size, stride, padding, dilation)
    if kernel is not None:
        x = np.asarray(input, dtype=np.float64)
        result = _max_tiles(x, kernel)
        return result, ("tiles", x, result, kernel)
    x, unbatched, out, kernel, stride, padding, dilation, padded, flat, winner = _max_pool_parts(
        input, kernel_size, stride, padding, dilation
    )
    result = np.take_along_axis(flat, winner[..., np.newaxis], axis=-1)[..., 0]
    return result[0] if unbatched else result, (
        x.shape,
        unbatched,
        out,
        kernel,
        stride,
        padding,
        dilation,
        padded.shape,
        winner,
    )


def _max_pool_vjp(
    grad: Any,
    out_value: Any,
    input: Any,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    dilation: tuple[Any, ...] = (1,),
) -> Any:
    return _max_pool_saved(grad, out_value, _max_pool_saving(input, kernel_size, stride, padding, dilation)[1])


def _max_pool_saved(grad: Any, out_value: Any, saved: tuple[Any, ...]) -> Any:
    if saved[0] == "tiles":
        return _max_tiles_grad(grad, saved[1], saved[2], saved[3])
    shape, unbatched, out, kernel, stride, padding, dilation, padded_shape, winner = saved
    n, c, hp, wp = padded_shape
    # each window's gradient goes to its maximum's place in the padded input (overlaps add up)
    rows = np.arange(out[0])[:, np.newaxis] * stride[0] + (winner // kernel[1]) * dilation[0]
    cols = np.arange(out[1]) * stride[1] + (winner % kernel[1]) * dilation[1]
    planes = np.arange(n * c).reshape(n, c, 1, 1)
    flat = (planes * hp + rows) * wp + cols
    g = np.asarray(grad, dtype=np.float64)
    g = g[np.newaxis] if unbatched else g
    summed = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * c * hp * wp).reshape(n, c, hp, wp)
    result = summed[:, :, padding[0] : padding[0] + shape[2], padding[1] : padding[1] + shape[3]]
    return result[0] if unbatched else result


def _max_pool_shape(
    input: Shape,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    dilation: tuple[Any, ...] = (1,),
) -> Shape:
    return _pool_geometry("max_pool2d", input, kernel_size, stride, padding, dilation)[0]


def _window_sums(windows: Any) -> Any:
    """Σ over each window of _windows' view (N, C, Ho, Wo, kH, kW), a new (N, C, Ho, Wo) array: one strided
    addition per kernel offset, in the window's row-major order (numpy's reduce over the two short strided
    axes takes several times as long)."""
    total = np.array(windows[..., 0, 0])
    for i in range(windows.shape[-2]):
        for j in range(windows.shape[-1]):
            if i or j:
                total += windows[..., i, j]
    return total


def _avg_divisor(
    x: Any,
    out: tuple[Any, ...],
    kernel: tuple[Any, ...],
    stride: tuple[Any, ...],
    padding: tuple[Any, ...],
    count_include_pad: bool,
    divisor_override: int | None,
) -> Any:
    if divisor_override is not None:
        return float(divisor_override)
    if count_include_pad or not any(padding):
        return float(size(kernel))
    ones = _pad(np.ones((1, 1, *x.shape[2:])), padding)
    return _windows(ones, kernel, stride, (1, 1), out).sum(axis=(-2, -1))[0, 0]


def _avg_pool(
    m: Any,
    input: Any,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    x, unbatched, out, kernel, stride, padding, dilation = _pool_setup(
        "avg_pool2d", input, kernel_size, stride, padding, (1,)
    )
    windows = _windows(_pad(x, padding), kernel, stride, dilation, out)
    result = _window_sums(windows)
    result /= _avg_divisor(x, out, kernel, stride, padding, count_include_pad, divisor_override)
    return result[0] if unbatched else result


def _avg_pool_vjp(
    grad: Any,
    out_value: Any,
    input: Any,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    x, unbatched, out, kernel, stride, padding, dilation = _pool_setup(
        "avg_pool2d", input, kernel_size, stride, padding, (1,)
    )
    g = np.asarray(grad, dtype=np.float64)
    g = (g[np.newaxis] if unbatched else g) / _avg_divisor(
        x, out, kernel, stride, padding, count_include_pad, divisor_override
    )
    spread = np.broadcast_to(g[:, :, np.newaxis, np.newaxis], g.shape[:2] + kernel + out)
    padded = _add_windows(spread, x.shape, kernel, stride, padding, dilation, out)
    result = padded[:, :, padding[0] : padding[0] + x.shape[2], padding[1] : padding[1] + x.shape[3]]
    return result[0] if unbatched else result


def _avg_pool_shape(
    input: Shape,
    kernel_size: tuple[Any, ...] = (1,),
    stride: tuple[Any, ...] | None = None,
    padding: tuple[Any, ...] = (0,),
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Shape:
    if divisor_override is not None and divisor_override < 1:
        raise ArgumentError(f"divisor_override must be a positive integer, got {divisor_override}")
    return _pool_geometry("avg_pool2d", input, kernel_size, stride, padding, (1,))[0]


_POOL_PARAMS = (Param("kernel_size", "ints", required=True), Param("stride", "ints?"), Param("padding", "ints", (0,)))

_CONVOLUTION = [
    _conv_op(1),
    _conv_op(2),
    Op(
        "max_pool2d",
        ("input",),
        "The maximum of each kernel_size window (stride defaults to the kernel size; −inf padding), as "
        "PyTorch's max_pool2d.",
        _max_pool_shape,
        _max_pool,
        ("∂L/∂{input} = ∂L/∂{out} at each window's (first) maximum, 0 elsewhere",),
        vjp=(_max_pool_vjp,),
        params=(*_POOL_PARAMS, Param("dilation", "ints", (1,))),
        forward_saving=_max_pool_saving,
        vjp_saved=(_max_pool_saved,),
        budget=_pool_budget("max_pool2d"),
        syntax="max_pool2d({input})",
    ),
    Op(
        "avg_pool2d",
        ("input",),
        "The mean of each kernel_size window (stride defaults to the kernel size; zero padding, counted "
        "unless count_include_pad=False), as PyTorch's avg_pool2d.",
        _avg_pool_shape,
        _avg_pool,
        ("∂L/∂{input} = ∂L/∂{out} / window size, spread over each window",),
        vjp=(_avg_pool_vjp,),
        params=(*_POOL_PARAMS, Param("count_include_pad", "bool", True), Param("divisor_override", "index")),
        budget=_pool_budget("avg_pool2d"),
        syntax="avg_pool2d({input})",
    ),
]


# --- attention ---------------------------------------------------------------------------------------


def _attention_shape(
    query: Shape,
    key: Shape,
    value: Shape,
    attn_mask: Shape,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    bool_mask: bool = False,
) -> Shape:
    if min(len(query), len(key), len(value)) < 2:
        raise ShapeError("scaled_dot_product_attention needs query (..., L, E), key (..., S, E) and value (..., S, Ev)")
    if query[-1] != key[-1]:
        raise ShapeError(f"query and key must share their last axis (E): {query[-1]} and {key[-1]}")
    if key[-2] != value[-2]:
        raise ShapeError(f"key and value must have as many rows (S): {key[-2]} and {value[-2]}")
    if dropout_p:
        raise ArgumentError(
            "dropout_p must be 0: attention's dropout draws random numbers that a step-by-step replay cannot reproduce"
        )
    batch = broadcast(query[:-2], key[:-2], value[:-2])
    scores = (*batch, query[-2], key[-2])
    if _given(attn_mask):
        if is_causal:
            raise ArgumentError("give either attn_mask or is_causal=True, not both (PyTorch refuses both)")
        try:
            fits = broadcast(scores, attn_mask) == scores
        except ShapeError:
            fits = False
        if not fits:
            raise ShapeError(f"attn_mask must broadcast to the scores' shape {fmt(scores)}")
    return (*batch, query[-2], value[-1])


def _attention_budget(
    out: Shape, query: Shape, key: Shape, value: Shape, attn_mask: Shape, **params: Any
) -> tuple[int, int]:
    scores = size(broadcast(query[:-2], key[:-2], value[:-2])) * query[-2] * key[-2]
    return scores * (query[-1] + value[-1] + 4), scores


def _attention_bias(attn_mask: Any, is_causal: bool, bool_mask: bool, rows: int, cols: int) -> Any:
    """What is added to the scores: the float mask itself, or 0 where a boolean mask (or the causal
    one) lets a position take part and −inf where it does not."""
    if is_causal:
        return np.where(np.tril(np.ones((rows, cols), dtype=bool)), 0.0, -np.inf)
    if not _given(attn_mask):
        return 0.0
    if bool_mask:
        mask = np.asarray(attn_mask)
        if not np.isin(mask, (0.0, 1.0)).all():
            raise OpError("a boolean attn_mask (bool_mask=True) must hold only 0 and 1")
        return np.where(mask != 0, 0.0, -np.inf)
    return attn_mask


def _attention_parts(
    query: Any, key: Any, value: Any, attn_mask: Any, is_causal: bool, scale: float | None, bool_mask: bool
) -> tuple[Any, float]:
    """The attention weights and the scale. A row that every position is masked out of has weights
    0 (PyTorch's safe softmax since 2.5), not NaN."""
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = np.matmul(query, np.swapaxes(key, -1, -2)) * factor
    scores = scores + _attention_bias(attn_mask, is_causal, bool_mask, query.shape[-2], key.shape[-2])
    top = np.max(scores, axis=-1, keepdims=True)
    exps = np.exp(scores - np.where(np.isneginf(top), 0.0, top))
    total = np.sum(exps, axis=-1, keepdims=True)
    return exps / np.where(total == 0, 1.0, total), factor


def _attention(
    m: Any,
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    bool_mask: bool = False,
) -> Any:
    weights, _ = _attention_parts(query, key, value, attn_mask, is_causal, scale, bool_mask)
    return np.matmul(weights, value)


def _attention_saving(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    bool_mask: bool = False,
) -> tuple[Any, ...]:
    weights, factor = _attention_parts(query, key, value, attn_mask, is_causal, scale, bool_mask)
    return np.matmul(weights, value), (weights, factor, query, key, value)


def _attention_vjp(slot: int) -> Callable[..., Any]:
    def vjp(
        grad: Any,
        out: Any,
        query: Any,
        key: Any,
        value: Any,
        attn_mask: Any,
        dropout_p: float = 0.0,
        is_causal: bool = False,
        scale: float | None = None,
        bool_mask: bool = False,
    ) -> Any:
        weights, factor = _attention_parts(query, key, value, attn_mask, is_causal, scale, bool_mask)
        return _attention_saved(slot)(grad, out, (weights, factor, query, key, value))

    return vjp


def _attention_saved(slot: int) -> Callable[..., Any]:
    def vjp(grad: Any, out: Any, saved: tuple[Any, ...]) -> Any:
        weights, factor, query, key, value = saved
        if slot == 2:
            return np.matmul(np.swapaxes(weights, -1, -2), grad)
        d_weights = np.matmul(grad, np.swapaxes(value, -1, -2))
        d_scores = weights * (d_weights - np.sum(d_weights * weights, axis=-1, keepdims=True))
        if slot == 3:
            return d_scores
        if slot == 0:
            return np.matmul(d_scores, key) * factor
        return np.matmul(np.swapaxes(d_scores, -1, -2), query) * factor

    return vjp


def _attention_program(
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    bool_mask: bool = False,
    shapes: list[Any] | None = None,
) -> Any:
    if shapes is None:  # GET /ops: (L, E) operands without a mask
        return _attention_program(dropout_p, is_causal, scale, bool_mask, [(4, 3), (4, 3), (4, 3), (0,)])[0]
    query, key = shapes[0], shapes[1]
    ndim = len(key)
    perm = (*tuple(range(ndim - 2)), ndim - 1, ndim - 2)
    factor = 1.0 / math.sqrt(query[-1]) if scale is None else scale
    lines = [f"scores = query @ transpose(key, axes={perm!r}) * {factor!r}"]
    constants: dict[str, Any] = {}
    masked = _given(shapes[3]) and shapes[3] != ()  # a scalar float mask shifts every score alike: no effect
    if is_causal:
        constants["causal"] = np.where(np.tril(np.ones((query[-2], key[-2]), dtype=bool)), 0.0, -np.inf)
        lines.append("scores = scores + causal")
    elif masked:
        # a boolean mask as 0 and −inf: log of 1 is 0 and log of 0 is −inf
        lines.append("scores = scores + " + ("detach(log(attn_mask))" if bool_mask else "attn_mask"))
    if masked:
        # softmax, kept at 0 on a row that is masked out entirely (a sum of 1 or more is unchanged by the tiny
        # term, and its square stays above 0, so the quotient's derivative stays finite there)
        lines += [
            "shift = detach(maximum(max(scores, axis=-1, keepdims=True), -1e308))",
            "e = exp(scores - shift)",
            "weights = e / (sum(e, axis=-1, keepdims=True) + 1e-150)",
        ]
    else:
        lines.append("weights = softmax(scores, axis=-1)")
    lines.append("weights @ value")
    return "\n".join(lines), constants


_ATTENTION = Op(
    "scaled_dot_product_attention",
    ("query", "key", "value", "attn_mask"),
    "softmax(query @ keyᵀ · scale + mask) @ value (PyTorch's scaled_dot_product_attention; scale "
    "defaults to 1/√E). attn_mask is added to the scores (a float mask), or with bool_mask=True "
    "holds 1 where a position takes part and 0 where it does not; is_causal=True masks the future.",
    _attention_shape,
    _attention,
    (
        "∂L/∂{query} = dS @ {key} · scale, dS = P ⊙ (dP − Σ dP ⊙ P), dP = ∂L/∂{out} @ {value}ᵀ",
        "∂L/∂{key} = dSᵀ @ {query} · scale",
        "∂L/∂{value} = Pᵀ @ ∂L/∂{out}",
        "∂L/∂{attn_mask} = dS",
    ),
    vjp=(_attention_vjp(0), _attention_vjp(1), _attention_vjp(2), _attention_vjp(3)),
    params=(
        Param("dropout_p", "number", 0.0),
        Param("is_causal", "bool", False),
        Param("scale", "number?"),
        Param("bool_mask", "bool", False),
    ),
    optional=("attn_mask",),
    budget=_attention_budget,
    syntax="scaled_dot_product_attention({query}, {key}, {value})",
    forward_saving=_attention_saving,
    vjp_saved=tuple(_attention_saved(slot) for slot in range(4)),
    decomposition=_attention_program,
)


# --- dropout -----------------------------------------------------------------------------------------


def _dropout_shape(input: Shape, mask: Shape, p: float = 0.5, training: bool = True) -> Shape:
    if not 0 <= p <= 1:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p:g}")
    if training and p and not _given(mask):
        raise ArgumentError(
            "with training=True dropout draws random numbers, which a step-by-step replay cannot "
            "reproduce: give the keep mask as an input (mask=m, 1 keeps and 0 drops an element), "
            "or training=False (the identity)"
        )
    if mask == () and input != ():
        # PyTorch's dropout(x, 0.2) gives p by position; here the second operand is the keep mask
        raise ArgumentError("the second argument is the keep mask (a tensor of 1s and 0s); give the probability as p=")
    if _given(mask) and broadcast(input, mask) != input:
        raise ShapeError("mask must broadcast to the input's shape")
    return input


def _dropout_scale(mask: Any, p: float, training: bool) -> Any:
    if not training or not p:
        return None
    return np.asarray(mask) * (0.0 if p == 1 else 1.0 / (1.0 - p))


def _dropout(m: Any, input: Any, mask: Any, p: float = 0.5, training: bool = True) -> Any:
    scale = _dropout_scale(mask, p, training)
    return input if scale is None else input * scale


_DROPOUT = Op(
    "dropout",
    ("input", "mask"),
    "With training=False or p=0 the identity; with training=True, input · mask / (1 − p) for a given "
    "keep mask (PyTorch draws that mask at random; a replay needs it given).",
    _dropout_shape,
    _dropout,
    ("∂L/∂{input} = ∂L/∂{out} · mask / (1 − p)", "the mask takes no gradient"),
    vjp=(
        lambda grad, out, input, mask, p=0.5, training=True: (
            grad if _dropout_scale(mask, p, training) is None else grad * _dropout_scale(mask, p, training)
        ),
        None,
    ),
    params=(Param("p", "fraction", 0.5), Param("training", "bool", True)),
    optional=("mask",),
    work=lambda out, x, mask: size(x),
    syntax="dropout({input})",
)


LAYERS: dict[str, Op] = {
    op.name: op for op in [*_ACTIVATIONS, *_LOSSES, *_NORMS, _EMBEDDING, *_CONVOLUTION, _ATTENTION, _DROPOUT]
}

# Composites whose decomposition reads the operands' shapes (see app/engine/expand.py).
SHAPED = frozenset(
    {
        "gelu",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "cosine_similarity",
        "layer_norm",
        "batch_norm",
        "group_norm",
        "normalize",
        "scaled_dot_product_attention",
    }
)

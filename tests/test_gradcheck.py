"""Finite-difference checks of every op in the op table, through the whole pipeline.

Each case is a one-line program `out = op(...)`, run through `app.core.evaluate` with a random
upstream gradient `c` (grad_output). The engine's gradient of every input must equal the central
difference of `sum(out * c)` (float64, eps 1e-6) -- i.e. the op's vector-Jacobian product,
broadcast reduction included -- and must have exactly the input's shape.

`DOMAINS` below is the one place that knows each op's domain: which shapes to try (scalar,
vector, matrix, broadcast, batched, parameters) and where to draw values (log/sqrt positive,
relu/abs away from 0, max/maximum without ties, integer labels, ...). A test fails when an op
of `OPS` has no entry, so a new op is checked the moment it exists.

Values are drawn by hypothesis with derandomize=True: the same examples on every run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from layers_domains import layer_domains
from op_calls import call_text, evaluate_call

from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.ops import OPS

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-6
EXAMPLES = 8

# --- value domains -------------------------------------------------------------------------------
# "real": anywhere in [-2, 2] (smooth ops)
# "pos": [0.3, 3] (log, sqrt, the base of pow)
# "nonzero": |v| in [0.3, 2], either sign (relu, abs away from their kink; divisors)
# "distinct": every element of every "distinct" input differs from every other by >= 0.04
#             (max, min, maximum, minimum away from ties; std away from a slice without spread)
# ("label", C): integer class indices in [0, C), given with requires_grad=false
# ("position", n): integer indices in [-n, n) (negative ones count from the end), requires_grad=false
# "mask": 0.0 or 1.0 (a condition, a mask), given with requires_grad=false
# "detached": like "real", but only ever read through detach (or a comparison, or a shape): no
#             gradient may reach it
#
# A case with `params` calls its op through the engine's API (tests/op_calls.py) on the inputs in
# their order: the ops the language writes with syntax of its own (a subscript builds `index`,
# a list `cat`) and options such as correction= are tried as they reach the engine.


@dataclass(frozen=True)
class Case:
    kind: str  # scalar, vector, matrix, tensor, broadcast, batched, params, syntax ...
    program: str
    inputs: tuple[tuple[str, tuple[int, ...], object], ...]  # (name, shape, domain)
    op: str | None = None  # with params: called directly
    params: dict | None = None

    @property
    def id(self) -> str:
        shapes = " ".join(f"{name}{shape}".replace(" ", "") for name, shape, _ in self.inputs)
        return f"{self.kind}:{self.program.removeprefix('out = ')}:{shapes}"


def _case(kind, program, **inputs):
    return Case(kind, program, tuple((name, tuple(shape), dom) for name, (shape, dom) in inputs.items()))


def _call(kind, op, params, **inputs):
    """A case calling `op` on the inputs (in their order) with `params`, through the engine's API."""
    return Case(
        kind,
        call_text(op, list(inputs), params),
        tuple((name, tuple(shape), dom) for name, (shape, dom) in inputs.items()),
        op,
        params,
    )


_BINARY_SHAPES = [
    ("scalar", (), ()),
    ("vector", (4,), (4,)),
    ("matrix", (2, 3), (2, 3)),
    ("broadcast", (2, 3), (3,)),
    ("broadcast", (3, 1), (1, 4)),
    ("broadcast", (), (2, 3)),
    ("broadcast", (2, 1, 3), (4, 1)),
]
_OPERATOR = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


def _binary(name, dom_a, dom_b):
    cases = [_case(kind, f"out = {name}(a, b)", a=(sa, dom_a), b=(sb, dom_b)) for kind, sa, sb in _BINARY_SHAPES]
    if name in _OPERATOR:  # the operator spelling builds the same op
        cases.append(_case("syntax", f"out = a {_OPERATOR[name]} b", a=((2, 3), dom_a), b=((3,), dom_b)))
        cases.append(_case("syntax", f"out = a {_OPERATOR[name]} b", a=((), dom_a), b=((), dom_b)))
    return cases


def _unary(name, dom):
    return [
        _case(kind, f"out = {name}(x)", x=(shape, dom))
        for kind, shape in [("scalar", ()), ("vector", (5,)), ("matrix", (2, 3)), ("tensor", (2, 1, 3))]
    ]


def _reduce(name, dom):
    calls = [
        ("scalar", (), ""),
        ("vector", (5,), ""),
        ("vector", (5,), ", axis=0"),
        ("vector", (5,), ", axis=-1, keepdims=True"),
        ("matrix", (2, 3), ""),
        ("matrix", (2, 3), ", axis=0"),
        ("matrix", (2, 3), ", axis=1, keepdims=True"),
        ("matrix", (2, 3), ", axis=(0, 1)"),
        ("matrix", (2, 3), ", axis=None, keepdims=True"),
        ("matrix", (2, 3), ", axis=(-1,)"),
        ("tensor", (2, 3, 4), ", axis=(0, 2)"),
        ("tensor", (2, 3, 4), ", axis=1, keepdims=True"),
        ("tensor", (2, 3, 4), ", axis=(2, 0), keepdims=True"),
    ]
    return [_case(kind, f"out = {name}(x{params})", x=(shape, dom)) for kind, shape, params in calls]


def _softmax_like(name):
    calls = [
        ("vector", (4,), ""),
        ("matrix", (2, 3), ""),
        ("matrix", (2, 3), ", axis=0"),
        ("matrix", (2, 3), ", axis=1"),
        ("tensor", (2, 3, 2), ", axis=1"),
        ("tensor", (2, 3, 2), ", axis=-3"),
    ]
    return [_case(kind, f"out = {name}(x{params})", x=(shape, "real")) for kind, shape, params in calls]


DOMAINS: dict[str, list[Case]] = {
    "add": _binary("add", "real", "real"),
    "sub": _binary("sub", "real", "real"),
    "mul": _binary("mul", "real", "real"),
    "div": _binary("div", "real", "nonzero"),
    "pow": _binary("pow", "pos", "real"),
    "maximum": _binary("maximum", "distinct", "distinct"),
    "minimum": _binary("minimum", "distinct", "distinct"),
    "neg": [*_unary("neg", "real"), _case("syntax", "out = -x", x=((2, 3), "real"))],
    "exp": _unary("exp", "real"),
    "log": _unary("log", "pos"),
    "sqrt": _unary("sqrt", "pos"),
    "abs": _unary("abs", "nonzero"),
    "sin": _unary("sin", "real"),
    "cos": _unary("cos", "real"),
    "tanh": _unary("tanh", "real"),
    "sigmoid": _unary("sigmoid", "real"),
    "relu": _unary("relu", "nonzero"),
    "matmul": [
        _case("vector", "out = matmul(a, b)", a=((3,), "real"), b=((3,), "real")),
        _case("matrix", "out = matmul(a, b)", a=((2, 3), "real"), b=((3, 4), "real")),
        _case("matvec", "out = matmul(a, b)", a=((2, 3), "real"), b=((3,), "real")),
        _case("vecmat", "out = matmul(a, b)", a=((3,), "real"), b=((3, 2), "real")),
        _case("batched", "out = matmul(a, b)", a=((2, 2, 3), "real"), b=((2, 3, 2), "real")),
        _case("broadcast", "out = matmul(a, b)", a=((2, 2, 3), "real"), b=((3, 4), "real")),
        _case("broadcast", "out = matmul(a, b)", a=((2, 1, 2, 3), "real"), b=((3, 3, 2), "real")),
        _case("broadcast", "out = matmul(a, b)", a=((3,), "real"), b=((2, 3, 4), "real")),
        _case("broadcast", "out = matmul(a, b)", a=((2, 2, 3), "real"), b=((3,), "real")),
        _case("syntax", "out = a @ b", a=((2, 3), "real"), b=((3, 2), "real")),
    ],
    "sum": _reduce("sum", "real"),
    "mean": _reduce("mean", "real"),
    "max": _reduce("max", "distinct"),
    "min": _reduce("min", "distinct"),
    "softmax": _softmax_like("softmax"),
    "log_softmax": _softmax_like("log_softmax"),
    "mse": [_case(kind, "out = mse(p, t)", p=(sp, "real"), t=(st_, "real")) for kind, sp, st_ in _BINARY_SHAPES]
    + [
        _case("params", f'out = mse(p, t, reduction="{reduction}")', p=((2, 3), "real"), t=((3,), "real"))
        for reduction in ("mean", "sum", "none")
    ],
    "softmax_cross_entropy": [
        _case("matrix", "out = softmax_cross_entropy(z, y)", z=((4, 3), "real"), y=((4,), ("label", 3))),
        _case("vector", "out = softmax_cross_entropy(z, y)", z=((5,), "real"), y=((), ("label", 5))),
        _case("matrix", "out = softmax_cross_entropy(z, y)", z=((1, 5), "real"), y=((1,), ("label", 5))),
        _case("matrix", "out = softmax_cross_entropy(z, y)", z=((3, 2), "real"), y=((3,), ("label", 2))),
        _case(
            "params", 'out = softmax_cross_entropy(z, y, reduction="sum")', z=((4, 3), "real"), y=((4,), ("label", 3))
        ),
        _case(
            "params", 'out = softmax_cross_entropy(z, y, reduction="none")', z=((4, 3), "real"), y=((4,), ("label", 3))
        ),
        _case(
            "params",
            "out = softmax_cross_entropy(z, y, weight=(0.5, 2, 1))",
            z=((4, 3), "real"),
            y=((4,), ("label", 3)),
        ),
        # Label 2 drawn or not, the ignored rows count nowhere.
        _case(
            "params", "out = softmax_cross_entropy(z, y, ignore_index=2)", z=((5, 3), "real"), y=((5,), ("label", 2))
        ),
        _case(
            "params",
            "out = softmax_cross_entropy(z, y, label_smoothing=0.15)",
            z=((4, 3), "real"),
            y=((4,), ("label", 3)),
        ),
        _case(
            "params",
            "out = softmax_cross_entropy(z, y, weight=(1, 3, 0.5), ignore_index=0, "
            'label_smoothing=0.3, reduction="none")',
            z=((4, 3), "real"),
            y=((4,), ("label", 3)),
        ),
        _case(
            "params",
            "out = softmax_cross_entropy(z, y, weight=(1, 3, 0.5, 2), label_smoothing=0.2)",
            z=((4,), "real"),
            y=((), ("label", 4)),
        ),
    ],
    "onehot": [
        _case("vector", "out = onehot(y, 3)", y=((4,), ("label", 3))),
        _case("params", "out = onehot(y, classes=4, ignore_index=1)", y=((2, 3), ("label", 4))),
    ],
    "detach": _unary("detach", "detached"),
    "linear": [
        _case("vector", "out = linear(x, W, b)", x=((3,), "real"), W=((3, 2), "real"), b=((2,), "real")),
        _case("matrix", "out = linear(x, W, b)", x=((4, 3), "real"), W=((3, 2), "real"), b=((2,), "real")),
        _case("broadcast", "out = linear(x, W, b)", x=((4, 3), "real"), W=((3, 2), "real"), b=((), "real")),
        _case("broadcast", "out = linear(x, W, b)", x=((4, 3), "real"), W=((3, 2), "real"), b=((1, 2), "real")),
        _case("broadcast", "out = linear(x, W, b)", x=((3,), "real"), W=((3, 2), "real"), b=((4, 1), "real")),
        _case("batched", "out = linear(x, W, b)", x=((2, 4, 3), "real"), W=((3, 2), "real"), b=((2,), "real")),
        _case("broadcast", "out = linear(x, W, b)", x=((4, 3), "real"), W=((3, 2), "real"), b=((2, 1, 2), "real")),
        _case("vector", "out = linear(x, W, b)", x=((3,), "real"), W=((3,), "real"), b=((), "real")),
    ],
    "transpose": [
        _case("scalar", "out = transpose(x)", x=((), "real")),
        _case("vector", "out = transpose(x)", x=((4,), "real")),
        _case("matrix", "out = transpose(x)", x=((2, 3), "real")),
        _case("syntax", "out = x.T", x=((2, 3), "real")),
        _case("tensor", "out = transpose(x)", x=((2, 3, 4), "real")),
        _case("params", "out = transpose(x, axes=(1, 0, 2))", x=((2, 3, 4), "real")),
        _case("params", "out = transpose(x, axes=(2, 0, 1))", x=((2, 3, 4), "real")),
        _case("params", "out = transpose(x, (1, 2, 0))", x=((2, 3, 4), "real")),
        # Negative axes are accepted by the shape rule and numpy; the gradient must invert them too.
        _case("params", "out = transpose(x, axes=(-1, 0, 1))", x=((2, 3, 4), "real")),
        _case("params", "out = transpose(x, axes=(0, -1, 1))", x=((2, 3, 4), "real")),
    ],
    "reshape": [
        _case("scalar", "out = reshape(x, (1,))", x=((), "real")),
        _case("scalar", "out = reshape(x, ())", x=((1,), "real")),
        _case("vector", "out = reshape(x, (2, -1))", x=((6,), "real")),
        _case("vector", "out = reshape(x, 6)", x=((2, 3), "real")),
        _case("matrix", "out = reshape(x, (3, 2))", x=((2, 3), "real")),
        _case("matrix", "out = reshape(x, shape=(-1,))", x=((2, 3), "real")),
        _case("tensor", "out = reshape(x, (-1, 4))", x=((2, 3, 4), "real")),
        _case("tensor", "out = reshape(x, (4, 1, -1))", x=((2, 3, 2), "real")),
    ],
    # --- indexing: every kind of subscript item, repeated and negative positions, empty results ---
    "index": [
        _call("vector", "index", {"key": (1,)}, x=((4,), "real")),
        _call("vector", "index", {"key": (-1,)}, x=((4,), "real")),
        _call("matrix", "index", {"key": (0,)}, x=((3, 4), "real")),
        _call("matrix", "index", {"key": ((None, None, None), -2)}, x=((3, 4), "real")),
        _call("slice", "index", {"key": ((1, None, None),)}, x=((4, 3), "real")),
        _call("slice", "index", {"key": ((None, None, 2), (-2, None, None))}, x=((5, 3), "real")),
        _call("slice", "index", {"key": ((3, 1, None),)}, x=((4, 3), "real")),  # empty
        _call("newaxis", "index", {"key": ((None, None, None), None)}, x=((3, 2), "real")),
        _call("ellipsis", "index", {"key": ("...", -1)}, x=((2, 3, 4), "real")),
        _call("ellipsis", "index", {"key": (None, "...", 1, (None, 2, None))}, x=((2, 3, 4), "real")),
        # C[Xb]: an embedding lookup; rows repeat (8 positions drawn for 6 places) and count from the end
        _call("gather", "index", {"key": ("tensor",)}, C=((4, 3), "real"), i=((6,), ("position", 4))),
        _call("gather", "index", {"key": ("tensor",)}, C=((5, 2), "real"), i=((3, 2), ("position", 5))),
        _call("gather", "index", {"key": ("tensor",)}, C=((3, 2), "real"), i=((0,), ("position", 3))),
        # logprobs[range(n), Yb]: paired tensors
        _call(
            "paired",
            "index",
            {"key": ("tensor", "tensor")},
            x=((4, 3), "real"),
            r=((5,), ("position", 4)),
            y=((5,), ("position", 3)),
        ),
        _call(
            "paired",
            "index",
            {"key": ("tensor", (None, None, None), "tensor")},
            x=((3, 4, 2), "real"),
            i=((2, 1), ("position", 3)),
            j=((3,), ("position", 2)),
        ),  # apart: the paired axes go first
        _call(
            "paired",
            "index",
            {"key": (0, (None, None, None), "tensor")},
            x=((2, 3, 4), "real"),
            i=((5,), ("position", 4)),
        ),  # the int selects first, as in PyTorch
        _call(
            "paired",
            "index",
            {"key": ((None, None, None), "tensor", (1, None, None))},
            x=((2, 3, 4), "real"),
            i=((2, 2), ("position", 3)),
        ),
        # a 0-d tensor selects as an int does (PyTorch), here apart from the other tensor
        _call(
            "select",
            "index",
            {"key": ("tensor", (None, None, None), "tensor")},
            x=((2, 3, 4), "real"),
            t=((), ("position", 2)),
            i=((5,), ("position", 4)),
        ),
    ],
    "gather": [
        _call("vector", "gather", {"axis": 0}, x=((4,), "real"), i=((6,), ("label", 4))),
        _call("matrix", "gather", {"axis": 1}, x=((3, 4), "real"), i=((3, 5), ("label", 4))),
        _call("matrix", "gather", {"axis": -2}, x=((3, 4), "real"), i=((2, 3), ("label", 3))),
        _call("tensor", "gather", {"axis": 2}, x=((2, 3, 4), "real"), i=((2, 2, 1), ("label", 4))),
    ],
    "cat": [
        _call("vector", "cat", {"axis": 0}, a=((2,), "real"), b=((3,), "real")),
        _call("matrix", "cat", {"axis": 0}, a=((2, 3), "real"), b=((1, 3), "real")),
        _call("matrix", "cat", {"axis": 1}, a=((2, 3), "real"), b=((2, 1), "real"), c=((2, 2), "real")),
        _call("tensor", "cat", {"axis": -1}, a=((2, 1, 2), "real"), b=((2, 1, 3), "real")),
        _call("empty", "cat", {"axis": 0}, a=((0, 3), "real"), b=((2, 3), "real")),
        _call("single", "cat", {"axis": 0}, a=((3,), "real")),
    ],
    "stack": [
        _call("scalar", "stack", {"axis": 0}, a=((), "real"), b=((), "real")),
        _call("vector", "stack", {"axis": 0}, a=((3,), "real"), b=((3,), "real")),
        _call("vector", "stack", {"axis": -1}, a=((3,), "real"), b=((3,), "real"), c=((3,), "real")),
        _call("matrix", "stack", {"axis": 1}, a=((2, 3), "real"), b=((2, 3), "real")),
    ],
    "where": [
        _case("scalar", "out = where(c, a, b)", c=((), "mask"), a=((), "real"), b=((), "real")),
        _case("vector", "out = where(c, a, b)", c=((4,), "mask"), a=((4,), "real"), b=((4,), "real")),
        _case("matrix", "out = where(c, a, b)", c=((2, 3), "mask"), a=((2, 3), "real"), b=((2, 3), "real")),
        _case("broadcast", "out = where(c, a, b)", c=((2, 3), "mask"), a=((3,), "real"), b=((), "real")),
        _case("broadcast", "out = where(c, a, b)", c=((3, 1), "mask"), a=((1, 2), "real"), b=((3, 2), "real")),
    ],
    "masked_fill": [
        _call("vector", "masked_fill", {"value": -3.0}, x=((4,), "real"), m=((4,), "mask")),
        _call("matrix", "masked_fill", {"value": 0.5}, x=((2, 3), "real"), m=((2, 3), "mask")),
        _call("broadcast", "masked_fill", {"value": -5.0}, x=((2, 3), "real"), m=((3,), "mask")),
        _call("broadcast", "masked_fill", {"value": 2.0}, x=((3,), "real"), m=((2, 3), "mask")),
    ],
    **{
        name: [
            _case(kind, f"out = {name}(a, b)", a=(sa, "detached"), b=(sb, "detached"))
            for kind, sa, sb in _BINARY_SHAPES
        ]
        for name in ("gt", "lt", "ge", "le", "eq", "ne")
    },
    **{
        name: [
            _case(kind, f"out = {name}(x)", x=(shape, dom))
            for kind, shape, dom in [
                ("scalar", (), "detached"),
                ("vector", (5,), "mask"),
                ("matrix", (2, 3), "detached"),
            ]
        ]
        for name in ("bool", "logical_not")
    },
    **{
        name: [
            _case(kind, f"out = {name}(a, b)", a=(sa, "mask"), b=(sb, "detached")) for kind, sa, sb in _BINARY_SHAPES
        ]
        for name in ("logical_and", "logical_or", "logical_xor")
    },
    # einsum: each operand's gradient is an einsum of the others (tests/test_einsum.py: PyTorch)
    "einsum": [
        _case(kind, f'out = einsum("{equation}", {", ".join(inputs)})', **inputs)
        for kind, equation, inputs in [
            ("matrix", "ij,jk->ik", {"a": ((2, 3), "real"), "b": ((3, 4), "real")}),
            ("batched", "bij,bjk->bik", {"a": ((2, 2, 3), "real"), "b": ((2, 3, 2), "real")}),
            ("vector", "i,j->ij", {"a": ((3,), "real"), "b": ((2,), "real")}),
            ("matrix", "ij->ji", {"x": ((2, 3), "real")}),
            ("matrix", "ii->", {"x": ((3, 3), "real")}),
            ("matrix", "ii->i", {"x": ((3, 3), "real")}),
            ("matrix", "ij->", {"x": ((2, 3), "real")}),
            ("batched", "...ij,...jk->...ik", {"a": ((2, 1, 2, 3), "real"), "b": ((3, 3, 2), "real")}),
            ("broadcast", "ij,ij->ij", {"a": ((3, 1), "real"), "b": ((3, 4), "real")}),
            ("broadcast", "ij,jk", {"a": ((2, 1), "real"), "b": ((3, 4), "real")}),
            ("tensor", "ij,jk,kl->il", {"a": ((2, 3), "real"), "b": ((3, 2), "real"), "c": ((2, 4), "real")}),
            ("tensor", "bid,bjd->bij", {"q": ((2, 3, 4), "real"), "k": ((2, 2, 4), "real")}),
            ("tensor", "iji->j", {"x": ((2, 3, 2), "real")}),
            ("scalar", "i,i", {"a": ((3,), "real"), "b": ((3,), "real")}),
        ]
    ]
    + [_call("scalar", "einsum", {"equation": "->"}, x=((), "real"))],  # (a program's quoted word is never empty)
    **{
        name: [
            _case("vector", f"out = {name}(x)", x=((5,), "detached")),
            _case("matrix", f"out = {name}(x)", x=((2, 3), "detached")),
            _case("matrix", f"out = {name}(x, axis=1)", x=((2, 3), "detached")),
            _case("matrix", f"out = {name}(x, axis=0, keepdims=True)", x=((2, 3), "detached")),
            _case("tensor", f"out = {name}(x, axis=-1)", x=((2, 3, 4), "detached")),
        ]
        for name in ("argmax", "argmin")
    },
    **{
        name: [
            _case("matrix", f"out = {name}(x)", x=((3, 3), "real")),
            _case("matrix", f"out = {name}(x)", x=((2, 4), "real")),
            _case("tensor", f"out = {name}(x)", x=((2, 3, 4), "real")),
            _call("params", name, {"diagonal": 1}, x=((3, 4), "real")),
            _call("params", name, {"diagonal": -1}, x=((2, 3, 3), "real")),
        ]
        for name in ("tril", "triu")
    },
    "clamp": [  # "nonzero" values lie 0.2 or more from the bounds ±0.1
        _call("scalar", "clamp", {"min": -0.1, "max": 0.1}, x=((), "nonzero")),
        _call("vector", "clamp", {"min": -0.1, "max": 0.1}, x=((6,), "nonzero")),
        _call("matrix", "clamp", {"min": 0.1}, x=((2, 3), "nonzero")),
        _call("matrix", "clamp", {"max": -0.1}, x=((2, 3), "nonzero")),
    ],
    "logsumexp": [
        _case("vector", "out = logsumexp(x, axis=0)", x=((4,), "real")),
        _case("matrix", "out = logsumexp(x, axis=1)", x=((2, 3), "real")),
        _case("matrix", "out = logsumexp(x, axis=0, keepdims=True)", x=((2, 3), "real")),
        _case("matrix", "out = logsumexp(x, axis=(0, 1))", x=((2, 3), "real")),
        _case("tensor", "out = logsumexp(x, axis=-1, keepdims=True)", x=((2, 3, 2), "real")),
    ],
    # std is not smooth where a slice has (almost) no spread: a slice of four values within 1e-4 of
    # each other put central differences off by 1e-4; its elements are kept apart, as max's are.
    **{
        name: [
            _case("vector", f"out = {name}(x)", x=((5,), dom)),
            _case("matrix", f"out = {name}(x, axis=0)", x=((3, 2), dom)),
            _case("matrix", f"out = {name}(x, axis=1, keepdims=True)", x=((2, 4), dom)),
            _case("tensor", f"out = {name}(x, axis=(0, 2))", x=((2, 3, 2), dom)),
            _call("params", name, {"axis": 1, "correction": 0, "keepdims": False}, x=((2, 3), dom)),
            _call("params", name, {"axis": None, "correction": 2, "keepdims": False}, x=((2, 3), dom)),
        ]
        for name, dom in (("var", "real"), ("std", "distinct"))
    },
    "linear_t": [
        _case("vector", "out = linear_t(x, W, b)", x=((3,), "real"), W=((2, 3), "real"), b=((2,), "real")),
        _case("matrix", "out = linear_t(x, W, b)", x=((4, 3), "real"), W=((2, 3), "real"), b=((2,), "real")),
        _case("batched", "out = linear_t(x, W, b)", x=((2, 4, 3), "real"), W=((2, 3), "real"), b=((2,), "real")),
        _case("broadcast", "out = linear_t(x, W, b)", x=((4, 3), "real"), W=((2, 3), "real"), b=((4, 1), "real")),
        _case("vector", "out = linear_t(x, W, b)", x=((4, 3), "real"), W=((3,), "real"), b=((), "real")),
    ],
    "ones": [_case("maker", "out = ones(shape=(2, 3))"), _case("maker", "out = ones(())")],
    "zeros": [_case("maker", "out = zeros((4,))")],
    "full": [_call("maker", "full", {"shape": (2, 2), "fill_value": -1.5})],
    "arange": [
        _call("maker", "arange", {"start": 0, "end": 5, "step": 1}),
        _call("maker", "arange", {"start": 1.5, "end": -1, "step": -0.5}),
    ],
    "eye": [_call("maker", "eye", {"n": 3}), _call("maker", "eye", {"n": 2, "m": 4})],
    "ones_like": [_case("like", "out = ones_like(x)", x=((2, 3), "detached"))],
    "zeros_like": [_case("like", "out = zeros_like(x)", x=((3,), "detached"))],
    "full_like": [_call("like", "full_like", {"fill_value": 4.0}, x=((2, 2), "detached"))],
}

DOMAINS.update(layer_domains(_case, _unary))  # the layers' ops: tests/layers_domains.py

ALL_CASES = [pytest.param(name, case, id=f"{name}-{case.id}") for name in DOMAINS for case in DOMAINS[name]]


# --- drawing values ------------------------------------------------------------------------------

_FLOAT = {"allow_nan": False, "allow_infinity": False, "allow_subnormal": False}


def _elements(dom):
    if dom in ("real", "detached"):
        return st.floats(-2.0, 2.0, **_FLOAT)
    if dom == "pos":
        return st.floats(0.3, 3.0, **_FLOAT)
    if dom == "prob":  # probabilities away from 0 and 1 (binary cross-entropy)
        return st.floats(0.05, 0.95, **_FLOAT)
    if dom == "nonzero":
        return st.tuples(st.booleans(), st.floats(0.3, 2.0, **_FLOAT)).map(lambda t: -t[1] if t[0] else t[1])
    raise AssertionError(f"unknown domain {dom!r}")


def _draw_inputs(data, case: Case) -> dict[str, np.ndarray]:
    values: dict[str, np.ndarray] = {}
    distinct = [(name, shape) for name, shape, dom in case.inputs if dom == "distinct"]
    if distinct:
        total = sum(int(np.prod(shape)) for _, shape in distinct)
        ints = data.draw(st.lists(st.integers(-60, 60), min_size=total, max_size=total, unique=True))
        jitter = data.draw(hnp.arrays(np.float64, total, elements=st.floats(0.0, 0.01, **_FLOAT)))
        pool = np.array(ints, dtype=np.float64) * 0.05 + jitter
        at = 0
        for name, shape in distinct:
            n = int(np.prod(shape))
            values[name] = pool[at : at + n].reshape(shape)
            at += n
    for name, shape, dom in case.inputs:
        if dom == "distinct":
            continue
        if isinstance(dom, tuple) and dom[0] == "label":
            values[name] = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(0, dom[1] - 1).map(float)))
        elif isinstance(dom, tuple) and dom[0] == "position":
            values[name] = data.draw(
                hnp.arrays(np.float64, shape, elements=st.integers(-dom[1], dom[1] - 1).map(float))
            )
        elif dom == "mask":
            values[name] = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
        else:
            values[name] = data.draw(hnp.arrays(np.float64, shape, elements=_elements(dom)))
    return values


def _is_label(dom) -> bool:
    """An input given with requires_grad=false: labels, index positions, masks."""
    return (isinstance(dom, tuple) and dom[0] in ("label", "position")) or dom == "mask"


def _as_json(value: np.ndarray):
    return float(value) if np.ndim(value) == 0 else value.tolist()


def _request(case: Case, values: dict[str, np.ndarray]) -> dict:
    inputs = {}
    for name, shape, dom in case.inputs:
        if 0 in shape:  # a nested list does not carry an empty tensor's shape; an initializer does
            inputs[name] = {"init": "zeros", "shape": list(shape), "requires_grad": not _is_label(dom)}
        elif _is_label(dom):
            inputs[name] = {"value": _as_json(values[name]), "requires_grad": False}
        else:
            inputs[name] = _as_json(values[name])
    return inputs


def _run(case: Case, values: dict[str, np.ndarray], grad_output=None, backward: bool = True):
    """The case's run; grad_output an array (a direct call keeps an empty one's shape)."""
    if case.params is not None:
        return evaluate_call(case.op, case.params, _request(case, values), grad_output, backward=backward)
    grad_output = None if grad_output is None else _as_json(grad_output)
    return evaluate(case.program, _request(case, values), grad_output=grad_output, backward=backward)


def _input_node(result, name: str) -> int:
    graph = result.graph
    nodes = [k for k, n in enumerate(graph.names) if n == name and graph.ops[k] is None]
    assert len(nodes) == 1, f"input {name} should be exactly one leaf node, found {nodes}"
    return nodes[0]


def _loss(case: Case, values: dict[str, np.ndarray], c: np.ndarray) -> float:
    result = _run(case, values, backward=False)
    return float(np.sum(np.asarray(result.values[result.output], dtype=np.float64) * c))


def check_gradients(case: Case, values: dict[str, np.ndarray], c: np.ndarray) -> None:
    try:
        result = _run(case, values, grad_output=c)
    except ProgramError:
        raise
    except Exception as exc:  # an engine crash is a failed check, said plainly
        raise AssertionError(f"{case.program}: the engine raised {type(exc).__name__}: {exc}") from exc
    for name, shape, dom in case.inputs:
        grad = result.grads[_input_node(result, name)]
        if _is_label(dom) or dom == "detached":
            assert grad is None, f"{name} takes no gradient (requires_grad=false or detached) but got one"
            continue
        assert grad is not None, f"no gradient reached {name}"
        assert np.shape(grad) == shape, f"∂L/∂{name} has shape {np.shape(grad)}, {name} has shape {shape}"
        numeric = np.zeros(shape)
        for index in np.ndindex(*shape):
            plus = {k: v.copy() for k, v in values.items()}
            minus = {k: v.copy() for k, v in values.items()}
            plus[name][index] += EPS
            minus[name][index] -= EPS
            numeric[index] = (_loss(case, plus, c) - _loss(case, minus, c)) / (2 * EPS)
        np.testing.assert_allclose(
            np.asarray(grad, dtype=np.float64),
            numeric,
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"{case.program}: ∂L/∂{name} differs from central differences",
        )


# --- the tests -----------------------------------------------------------------------------------


def test_every_op_has_a_domain_entry():
    missing = sorted(set(OPS) - set(DOMAINS))
    assert not missing, f"ops without an entry in DOMAINS (add their shapes and value domains): {missing}"
    stale = sorted(set(DOMAINS) - set(OPS))
    assert not stale, f"DOMAINS names ops that are not in OPS: {stale}"


def test_every_entry_builds_its_op():
    """Each case's program really consists of the op it is filed under (a typo cannot hide an op)."""
    for name, cases in DOMAINS.items():
        assert cases, f"{name} has no cases"
        for case in cases:
            values = {n: (np.ones(s) if not _is_label(d) else np.zeros(s)) for n, s, d in case.inputs}
            if case.params is not None:
                assert case.op == name, f"{case.program} calls {case.op}, filed under {name}"

            result = _run(case, values, backward=False)
            built = {op.name for op in result.graph.ops if op is not None}
            assert built == {name}, f"{case.program} builds {built}, expected only {name}"


def test_elementwise_ops_are_tried_on_scalars_and_broadcasts():
    for name, op in OPS.items():
        if not op.elementwise:
            continue
        kinds = {case.kind for case in DOMAINS[name]}
        assert "scalar" in kinds, f"{name}: no scalar case (the Python-float path)"
        assert {"vector", "matrix"} <= kinds, f"{name}: no vector or matrix case"
        if len(op.operands) == 2:
            assert "broadcast" in kinds, f"{name}: no broadcast case"


@pytest.mark.parametrize(("op_name", "case"), ALL_CASES)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure reports its example as drawn, fast
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_gradient_matches_central_differences(op_name, case, data):
    values = _draw_inputs(data, case)
    forward = _run(case, values, backward=False)
    out_shape = np.shape(forward.values[forward.output])
    c = data.draw(hnp.arrays(np.float64, out_shape, elements=st.floats(-2.0, 2.0, **_FLOAT)), label="c")
    check_gradients(case, values, c)


@pytest.mark.parametrize("slot_error", [1.001, 1.0])
def test_gradcheck_catches_a_wrong_derivative(monkeypatch, slot_error):
    """The checker can fail: an op whose local derivative is off by 0.1 % is rejected."""
    case = _case("vector", "out = sin(x)", x=((3,), "real"))
    values = {"x": np.array([0.1, 0.5, -0.7])}
    c = np.array([1.0, -0.5, 2.0])
    wrong = dataclasses.replace(OPS["sin"], local=(lambda m, out, x: m.cos(x) * slot_error,))
    monkeypatch.setitem(OPS, "sin", wrong)
    if slot_error == 1.0:
        check_gradients(case, values, c)  # the same op with the right derivative passes
    else:
        with pytest.raises(AssertionError, match="differs from central differences"):
            check_gradients(case, values, c)


# --- the point rules PyTorch uses where a derivative is undefined ---------------------------------


def _grads(program: str, inputs: dict, grad_output=None) -> dict:
    result = evaluate(program, inputs, grad_output=grad_output)
    return {name: result.grads[_input_node(result, name)] for name in inputs}


@pytest.mark.parametrize("x", [0, 0.0, -0.0])
def test_relu_derivative_at_zero_is_zero(x):
    assert _grads("y = relu(x)", {"x": x}) == {"x": 0.0}
    assert evaluate("y = relu(x)", {"x": x}).values[-1] == 0.0


def test_relu_derivative_on_a_tensor():
    g = _grads("y = relu(x)", {"x": [-1.0, 0.0, 2.0, -0.0]})["x"]
    assert np.asarray(g).tolist() == [0.0, 0.0, 1.0, 0.0]


def test_abs_derivative_at_zero_is_zero():
    assert _grads("y = abs(x)", {"x": 0.0}) == {"x": 0.0}
    g = _grads("y = abs(x)", {"x": [-1.5, 0.0, 2.0]})["x"]
    assert np.asarray(g).tolist() == [-1.0, 0.0, 1.0]


def test_max_ties_split_the_gradient_evenly():
    assert np.asarray(_grads("y = max(x)", {"x": [1.0, 3.0, 3.0]})["x"]).tolist() == [0.0, 0.5, 0.5]
    assert np.asarray(_grads("y = max(x)", {"x": [2.0, 2.0, 2.0, 2.0]})["x"]).tolist() == [0.25] * 4
    g = _grads("y = max(x, axis=1)", {"x": [[2.0, 2.0, 1.0], [1.0, 5.0, 0.0]]}, [4.0, 3.0])["x"]
    assert np.asarray(g).tolist() == [[2.0, 2.0, 0.0], [0.0, 3.0, 0.0]]
    g = _grads("y = max(x, axis=0, keepdims=True)", {"x": [[7.0, 1.0], [7.0, 2.0], [7.0, 2.0]]}, [[3.0, 1.0]])["x"]
    assert np.asarray(g).tolist() == [[1.0, 0.0], [1.0, 0.5], [1.0, 0.5]]


def test_min_ties_split_the_gradient_evenly():
    assert np.asarray(_grads("y = min(x)", {"x": [1.0, 3.0, 1.0]})["x"]).tolist() == [0.5, 0.0, 0.5]
    g = _grads("y = min(x, axis=(0, 1))", {"x": [[0.0, 0.0], [0.0, 0.0]]})["x"]
    assert np.asarray(g).tolist() == [[0.25, 0.25], [0.25, 0.25]]


def test_maximum_and_minimum_ties_give_half_each():
    for op in ("maximum", "minimum"):
        assert _grads(f"y = {op}(a, b)", {"a": 2.0, "b": 2.0}) == {"a": 0.5, "b": 0.5}
    g = _grads("y = maximum(a, b)", {"a": [1.0, 2.0, 3.0], "b": 2.0})
    assert np.asarray(g["a"]).tolist() == [0.0, 0.5, 1.0]
    assert g["b"] == 1.5
    g = _grads("y = minimum(a, b)", {"a": [1.0, 2.0, 3.0], "b": 2.0})
    assert np.asarray(g["a"]).tolist() == [1.0, 0.5, 0.0]
    assert g["b"] == 1.5
    # x with itself: both operand slots tie, and together they carry the whole gradient
    assert _grads("y = maximum(x, x)", {"x": 3.0}) == {"x": 1.0}


def test_pow_at_zero_base_follows_pytorch():
    # d(a**b)/da = b·a^(b−1) is 0 at a = 0 for b = 2 and for b = 0; d/db = out·ln a is taken as 0
    # at a = 0 with b >= 0 (PyTorch masks it rather than giving 0·(−inf) = nan).
    assert _grads("y = a ** b", {"a": 0.0, "b": 2.0}) == {"a": 0.0, "b": 0.0}
    assert _grads("y = a ** b", {"a": 0.0, "b": 0.0}) == {"a": 0.0, "b": 0.0}
    g = _grads("y = a ** b", {"a": [0.0, 0.0], "b": [2.0, 0.0]})
    assert np.asarray(g["a"]).tolist() == [0.0, 0.0] and np.asarray(g["b"]).tolist() == [0.0, 0.0]


def test_labels_take_no_gradient_even_when_they_ask_for_one():
    result = evaluate("out = softmax_cross_entropy(z, y)", {"z": [[1.0, 2.0], [0.5, -1.0]], "y": [1, 0]})
    assert result.grads[_input_node(result, "z")] is not None
    assert result.grads[_input_node(result, "y")] is None

"""The one table from what torch.fx records to lines of a chainlens program in the PyTorch dialect.

torch.fx's symbolic trace records four kinds of calls, and each has its part of the table:

- FUNCTIONS: `call_function` targets, the function objects themselves: `torch.*` and `F.*`
  functions (spelled as the user spelled them: `torch.tanh(x)`, `F.softmax(x, dim=1)`; the
  dialect reads them with PyTorch's meaning), `operator.*` (`a + b`, `x[:, 0]`, `a @ b`) and
  `getattr` (`x.shape`, `pair.values`);
- METHODS: `call_method` names, Tensor methods (`h.sum(1, keepdim=True)`);
- MODULES: `call_module` targets, by the leaf module's type: a Linear is `F.linear(x, fc1_weight,
  fc1_bias)`, its parameters becoming inputs named after their module path;
- layer ops the engine gains in its own time (conv2d, layer_norm, batch_norm, embedding, gelu,
  ...) are written as bare op calls with PyTorch's argument names, and offered only once the op
  table has the op (as app.engine.dialects offers only what the engine can run).

The torch and F rows are made from app.engine.dialects' own namespace table, so the translation
offers exactly what the dialect reads. A row is a function of the Call and answers the right-hand
side of the line; it raises Refused for a case it cannot translate (a Dropout in training).
"""
from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from app.engine.dialects import METHODS as DIALECT_METHODS
from app.engine.dialects import NAMESPACES
from app.engine.ops import OPS


class Refused(Exception):
    """A row that cannot translate this particular call (its message says why)."""


@dataclass
class Call:
    """One fx call being translated: its operands as program text, and the module it belongs to."""

    node: fx.Node
    args: list[str]  # rendered, in order
    kwargs: dict[str, str]  # rendered, the ones a row passes on (see DROPPED)
    raw_kwargs: Mapping[str, Any]  # as fx recorded them, for static decisions
    module: nn.Module | None  # the leaf module of a call_module
    param: Callable[[str], str | None]  # a parameter or buffer of the module → its input name (None if absent)
    text: Callable[[Any], str]  # any fx argument → program text


Row = Callable[[Call], str]

# Keywords fx records that change nothing in our float64, out-of-place world; None means the default.
DROPPED = frozenset(("_stacklevel", "inplace"))


def _call(head: str, args: list[str], kwargs: Mapping[str, str]) -> str:
    return f"{head}({', '.join([*args, *(f'{k}={v}' for k, v in kwargs.items())])})"


def _namespaced(prefix: str, name: str) -> Row:
    return lambda c: _call(f"{prefix}.{name}", c.args, c.kwargs)


def _method(name: str) -> Row:
    return lambda c: _call(f"{c.args[0]}.{name}", c.args[1:], c.kwargs)


def _bare(name: str) -> Row:
    return lambda c: _call(name, c.args, c.kwargs)


def _infix(symbol: str) -> Row:
    return lambda c: f"{_operand(c.args[0])} {symbol} {_operand(c.args[1])}"


def _operand(text: str) -> str:
    """An operand of an infix operator: a name or number as it is, anything else parenthesized."""
    return text if text.replace("_", "a").replace(".", "0").isalnum() else f"({text})"


def _subscript(c: Call) -> str:
    key = c.node.args[1]
    parts = key if isinstance(key, tuple) else (key,)
    return f"{_operand(c.args[0])}[{', '.join(map(c.text, parts))}]" if parts else f"{c.args[0]}[()]"


def _attribute(c: Call) -> str:
    name = c.node.args[1]
    if name not in ("shape", "T", "mT", "values", "indices", "ndim"):
        raise Refused(f"the attribute .{name}")
    return f"{_operand(c.args[0])}.{name}"


def _dropout(c: Call) -> str:
    if c.raw_kwargs.get("training", len(c.node.args) > 2 and c.node.args[2]):
        raise Refused("dropout in training mode is random: call model.eval() first")
    return c.args[0]


OPERATORS: dict[Any, Row] = {
    operator.add: _infix("+"), operator.sub: _infix("-"), operator.mul: _infix("*"),
    operator.truediv: _infix("/"), operator.floordiv: _infix("//"), operator.mod: _infix("%"),
    operator.matmul: _infix("@"), operator.pow: _infix("**"),
    operator.gt: _infix(">"), operator.lt: _infix("<"), operator.ge: _infix(">="), operator.le: _infix("<="),
    operator.eq: _infix("=="), operator.ne: _infix("!="),
    operator.neg: lambda c: f"-{_operand(c.args[0])}",
    operator.pos: lambda c: c.args[0],
    operator.getitem: _subscript,
    builtins.getattr: _attribute,
}

# Layer functions as bare op calls with PyTorch's own argument names (the engine's layer ops).
_LAYER_FUNCTIONS: dict[str, Any] = {
    "conv1d": F.conv1d, "conv2d": F.conv2d, "max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d,
    "batch_norm": F.batch_norm, "layer_norm": F.layer_norm, "embedding": F.embedding, "gelu": F.gelu,
    "silu": F.silu, "scaled_dot_product_attention": F.scaled_dot_product_attention,
}


def _functions() -> dict[Any, tuple[str, Row]]:
    """call_function targets → (the name shown to users, the row)."""
    rows: dict[Any, tuple[str, Row]] = {}
    for prefix, module in (("torch", torch), ("F", F)):
        for name in NAMESPACES[prefix]:
            target = getattr(module, name, None)
            if callable(target):
                rows.setdefault(target, (f"{prefix}.{name}", _namespaced(prefix, name)))
    for name, target in _LAYER_FUNCTIONS.items():
        if name in OPS:
            rows[target] = (f"F.{name}", _bare(name))
    rows[F.dropout] = ("F.dropout", _dropout)
    for target, row in OPERATORS.items():
        rows[target] = (f"operator.{target.__name__}", row)
    return rows


FUNCTIONS = _functions()
METHODS: dict[str, Row] = {name: _method(name) for name in DIALECT_METHODS}


# --- modules ------------------------------------------------------------------------------------


def _need(c: Call, name: str) -> str:
    found = c.param(name)
    if found is None:
        raise Refused(f"{type(c.module).__name__} without {name}")
    return found


def _linear(c: Call) -> str:
    bias = c.param("bias")
    return _call("F.linear", [c.args[0], _need(c, "weight"), *([bias] if bias else [])], {})


def _keywords(c: Call, names: tuple[str, ...]) -> dict[str, str]:
    """The module's attributes of these names, as keyword texts."""
    return {name: c.text(getattr(c.module, name)) for name in names}


def _conv(name: str) -> Row:
    def row(c: Call) -> str:
        module = c.module
        assert isinstance(module, (nn.Conv1d, nn.Conv2d))
        if module.padding_mode != "zeros" or isinstance(module.padding, str) and module.padding != "valid":
            raise Refused(f"{type(module).__name__} with padding {module.padding!r}, padding_mode {module.padding_mode!r}")
        bias = c.param("bias") or "None"
        return _call(name, [c.args[0], _need(c, "weight"), bias],
                     _keywords(c, ("stride", "padding", "dilation", "groups")))
    return row


def _pool(name: str, keywords: tuple[str, ...]) -> Row:
    return lambda c: _call(name, [c.args[0]], _keywords(c, keywords))


def _batch_norm(c: Call) -> str:
    module = c.module
    assert isinstance(module, nn.modules.batchnorm._BatchNorm)
    training = module.training or module.running_mean is None
    # Train mode normalizes by the batch's own statistics; PyTorch's momentum=None is a running average.
    momentum = module.momentum if module.momentum is not None else 0.0
    return _call("batch_norm", [c.args[0], c.param("running_mean") or "None", c.param("running_var") or "None",
                                c.param("weight") or "None", c.param("bias") or "None"],
                 {"training": c.text(training), "momentum": c.text(momentum), "eps": c.text(module.eps)})


def _layer_norm(c: Call) -> str:
    module = c.module
    assert isinstance(module, nn.LayerNorm)
    return _call("layer_norm", [c.args[0], c.text(tuple(module.normalized_shape)), c.param("weight") or "None",
                                c.param("bias") or "None", c.text(module.eps)], {})


def _embedding(c: Call) -> str:
    module = c.module
    assert isinstance(module, nn.Embedding)
    if module.max_norm is not None:
        raise Refused("Embedding with max_norm (it renormalizes the weight in place)")
    keywords = {"padding_idx": c.text(module.padding_idx)} if module.padding_idx is not None else {}
    return _call("embedding", [c.args[0], _need(c, "weight")], keywords)


def _dropout_module(c: Call) -> str:
    if c.module is not None and c.module.training:
        raise Refused("Dropout in training mode is random: call model.eval() first")
    return c.args[0]


def _softmax(name: str) -> Row:
    def row(c: Call) -> str:
        dim = getattr(c.module, "dim", None)
        return _call(f"F.{name}", [c.args[0]], {} if dim is None else {"dim": c.text(dim)})
    return row


_CORE_MODULES: dict[type, Row] = {
    nn.Linear: _linear,
    nn.ReLU: lambda c: f"F.relu({c.args[0]})",
    nn.Tanh: lambda c: f"torch.tanh({c.args[0]})",
    nn.Sigmoid: lambda c: f"torch.sigmoid({c.args[0]})",
    nn.Softmax: _softmax("softmax"),
    nn.LogSoftmax: _softmax("log_softmax"),
    nn.Flatten: lambda c: _call("torch.flatten", [c.args[0]], _keywords(c, ("start_dim", "end_dim"))),
    nn.Dropout: _dropout_module,
    nn.Identity: lambda c: c.args[0],
}
# Rows of the layer ops, each offered once the op table has its op: (module type, op, row).
_LAYER_MODULES: tuple[tuple[type, str, Row], ...] = (
    (nn.Conv1d, "conv1d", _conv("conv1d")),
    (nn.Conv2d, "conv2d", _conv("conv2d")),
    (nn.MaxPool2d, "max_pool2d", _pool("max_pool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode"))),
    (nn.AvgPool2d, "avg_pool2d", _pool("avg_pool2d", ("kernel_size", "stride", "padding", "ceil_mode",
                                                      "count_include_pad", "divisor_override"))),
    (nn.BatchNorm1d, "batch_norm", _batch_norm),
    (nn.BatchNorm2d, "batch_norm", _batch_norm),
    (nn.LayerNorm, "layer_norm", _layer_norm),
    (nn.Embedding, "embedding", _embedding),
    (nn.GELU, "gelu", lambda c: _call("gelu", [c.args[0]], {"approximate": c.text(c.module.approximate)})),
    (nn.SiLU, "silu", lambda c: f"silu({c.args[0]})"),
)
MODULES: dict[type, Row] = {**_CORE_MODULES, **{kind: row for kind, op, row in _LAYER_MODULES if op in OPS}}
# Every row written, offered or not yet: what the error lists as coming with the layer ops.
PENDING: tuple[str, ...] = tuple(sorted({kind.__name__ for kind, op, _ in _LAYER_MODULES if op not in OPS}
                                        | {f"F.{name}" for name in _LAYER_FUNCTIONS if name not in OPS}))


def supported() -> list[str]:
    """Everything the table translates, as the error lists it."""
    functions = sorted({shown for shown, _ in FUNCTIONS.values() if not shown.startswith("operator.")})
    operators = "operators: + - * / // % @ ** unary -, comparisons, indexing x[...], attributes .shape .T .mT .values .indices"
    return [
        "modules: " + ", ".join(sorted(kind.__name__ for kind in MODULES)) + " (and Sequential, ModuleList, "
        "ModuleDict and your own modules, traced through)",
        "functions: " + ", ".join(functions),
        "Tensor methods: " + ", ".join(f".{name}()" for name in sorted(METHODS)),
        operators,
    ]


def number_text(value: float) -> str:
    """A float as the language reads it: inf and nan spelled float('inf') / float('nan')."""
    if math.isfinite(value):
        return repr(value)
    return "float('nan')" if math.isnan(value) else ("float('inf')" if value > 0 else "-float('inf')")

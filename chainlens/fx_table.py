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
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import fx, nn

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
    operator.add: _infix("+"),
    operator.sub: _infix("-"),
    operator.mul: _infix("*"),
    operator.truediv: _infix("/"),
    operator.floordiv: _infix("//"),
    operator.mod: _infix("%"),
    operator.matmul: _infix("@"),
    operator.pow: _infix("**"),
    operator.gt: _infix(">"),
    operator.lt: _infix("<"),
    operator.ge: _infix(">="),
    operator.le: _infix("<="),
    operator.eq: _infix("=="),
    operator.ne: _infix("!="),
    operator.neg: lambda c: f"-{_operand(c.args[0])}",
    operator.pos: lambda c: c.args[0],
    operator.getitem: _subscript,
    builtins.getattr: _attribute,
}


# Layer functions as bare op calls with PyTorch's argument names. Each: PyTorch's parameter order
# (fx records a call's arguments as the user passed them), how many leading operands are written by
# position (the rest by keyword, so that the op's own order of operands and parameters never
# matters), and the parameters that must keep PyTorch's default (nothing to compute in float64,
# out of place) and are then left out.
@dataclass(frozen=True)
class Layer:
    op: str
    names: tuple[str, ...]
    positional: int = 1
    defaults: Mapping[str, Any] | None = None


_LAYERS: dict[str, Layer] = {
    "conv1d": Layer("conv1d", ("input", "weight", "bias", "stride", "padding", "dilation", "groups"), 2),
    "conv2d": Layer("conv2d", ("input", "weight", "bias", "stride", "padding", "dilation", "groups"), 2),
    "max_pool2d": Layer(
        "max_pool2d",
        ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
        1,
        {"ceil_mode": False, "return_indices": False},
    ),
    "avg_pool2d": Layer(
        "avg_pool2d",
        ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
        1,
        {"ceil_mode": False},
    ),
    "batch_norm": Layer(
        "batch_norm", ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
    ),
    "layer_norm": Layer("layer_norm", ("input", "normalized_shape", "weight", "bias", "eps")),
    "embedding": Layer(
        "embedding",
        ("input", "weight", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse"),
        2,
        {"max_norm": None, "norm_type": 2.0, "scale_grad_by_freq": False, "sparse": False},
    ),
    "gelu": Layer("gelu", ("input", "approximate")),
    "silu": Layer("silu", ("input", "inplace"), 1, {"inplace": False}),
    "scaled_dot_product_attention": Layer(
        "scaled_dot_product_attention",
        ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa"),
        3,
        {"dropout_p": 0.0, "enable_gqa": False},
    ),
}
_LAYER_FUNCTIONS: dict[str, Any] = {name: getattr(F, name) for name in _LAYERS}


def layer_call(layer: Layer, values: Mapping[str, Any], text: Callable[[Any], str]) -> str:
    """`op(operands..., name=value, ...)` from PyTorch's arguments by name (None ones left out)."""
    for name, default in (layer.defaults or {}).items():
        if name in values and values[name] != default:
            raise Refused(f"{layer.op} with {name}={values[name]!r} (only {name}={default!r} is supported)")
    args = [text(values[name]) for name in layer.names[: layer.positional]]
    keywords = {
        name: text(values[name])
        for name in layer.names[layer.positional :]
        if values.get(name) is not None and name not in (layer.defaults or {})
    }
    return _call(layer.op, args, keywords)


def _layer_function(layer: Layer) -> Row:
    def row(c: Call) -> str:
        if len(c.node.args) > len(layer.names):
            raise Refused(f"{len(c.node.args)} arguments")
        values = dict(zip(layer.names, c.node.args))
        values.update({k: v for k, v in c.raw_kwargs.items() if k not in DROPPED})
        return layer_call(layer, values, c.text)

    return row


def _functions() -> dict[Any, tuple[str, Row]]:
    """call_function targets → (the name shown to users, the row)."""
    rows: dict[Any, tuple[str, Row]] = {}
    for prefix, module in (("torch", torch), ("F", F)):
        for name in NAMESPACES[prefix]:
            target = getattr(module, name, None)
            if callable(target):
                rows.setdefault(target, (f"{prefix}.{name}", _namespaced(prefix, name)))
    for name in NAMESPACES["math"]:  # numbers (fx calls math's functions on sizes as they are)
        target = getattr(math, name, None)
        if callable(target):
            rows.setdefault(target, (f"math.{name}", _namespaced("math", name)))
    for name, layer in _LAYERS.items():
        if layer.op in OPS:
            rows[_LAYER_FUNCTIONS[name]] = (f"F.{name}", _layer_function(layer))
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


def _module_layer(name: str, attributes: tuple[str, ...], tensors: tuple[str, ...]) -> Row:
    """A module as its layer function: the input, its parameters and buffers (inputs of the program)
    and these attributes, under PyTorch's argument names."""

    def row(c: Call) -> str:
        values: dict[str, Any] = {"input": c.node.args[0]}
        values.update({attribute: getattr(c.module, attribute) for attribute in attributes})
        for tensor in tensors:
            found = c.param(tensor)
            if found is not None:
                values[tensor] = _Text(found)
        return layer_call(_LAYERS[name], values, lambda value: value if isinstance(value, _Text) else c.text(value))

    return row


class _Text(str):
    """Program text already written (an input's name), passed through as it is."""


def _conv(name: str) -> Row:
    inner = _module_layer(name, ("stride", "padding", "dilation", "groups"), ("weight", "bias"))

    def row(c: Call) -> str:
        module = cast("nn.Conv1d | nn.Conv2d", c.module)  # MODULES picks a row by the module's exact type
        if module.padding_mode != "zeros" or isinstance(module.padding, str):
            raise Refused(
                f"{type(module).__name__} with padding {module.padding!r}, padding_mode {module.padding_mode!r}"
            )
        return inner(c)

    return row


def _batch_norm(c: Call) -> str:
    module = cast("nn.modules.batchnorm._BatchNorm", c.module)  # (MODULES picks a row by the module's type)
    # As PyTorch decides: batch statistics in training, or without running statistics at all.
    training = module.training or module.running_mean is None
    momentum = module.momentum if module.momentum is not None else 0.0  # only updates running statistics
    values: dict[str, Any] = {"input": c.node.args[0], "training": training, "momentum": momentum, "eps": module.eps}
    for tensor in ("running_mean", "running_var", "weight", "bias"):
        found = c.param(tensor)
        if found is not None:
            values[tensor] = _Text(found)
    return layer_call(_LAYERS["batch_norm"], values, lambda value: value if isinstance(value, _Text) else c.text(value))


def _embedding(c: Call) -> str:
    module = cast("nn.Embedding", c.module)  # (MODULES picks a row by the module's type)
    if module.max_norm is not None:
        raise Refused("Embedding with max_norm (it renormalizes the weight in place)")
    return _module_layer("embedding", ("padding_idx",), ("weight",))(c)


def _embedding_bag(c: Call) -> str:
    """EmbeddingBag on a 2-D batch of bags (no offsets): the rows looked up, then summed or averaged
    over each bag, which is what PyTorch computes."""
    module = cast("nn.EmbeddingBag", c.module)  # (MODULES picks a row by the module's type)
    if (
        len(c.node.args) > 1
        or c.raw_kwargs.get("offsets") is not None
        or c.raw_kwargs.get("per_sample_weights") is not None
    ):
        raise Refused("EmbeddingBag with offsets or per_sample_weights (give a 2-D batch of bags)")
    if module.mode not in ("sum", "mean") or module.max_norm is not None or module.padding_idx is not None:
        raise Refused(f"EmbeddingBag with mode={module.mode!r}, max_norm or padding_idx (sum and mean are supported)")
    return f"{_call('embedding', [c.args[0], _need(c, 'weight')], {})}.{module.mode}(1)"


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
    (
        nn.MaxPool2d,
        "max_pool2d",
        _module_layer(
            "max_pool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"), ()
        ),
    ),
    (
        nn.AvgPool2d,
        "avg_pool2d",
        _module_layer(
            "avg_pool2d", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"), ()
        ),
    ),
    (nn.BatchNorm1d, "batch_norm", _batch_norm),
    (nn.BatchNorm2d, "batch_norm", _batch_norm),
    (nn.LayerNorm, "layer_norm", _module_layer("layer_norm", ("normalized_shape", "eps"), ("weight", "bias"))),
    (nn.Embedding, "embedding", _embedding),
    (nn.EmbeddingBag, "embedding", _embedding_bag),
    (nn.GELU, "gelu", _module_layer("gelu", ("approximate",), ())),
    (nn.SiLU, "silu", _module_layer("silu", (), ())),
)
MODULES: dict[type, Row] = {**_CORE_MODULES, **{kind: row for kind, op, row in _LAYER_MODULES if op in OPS}}
# Every row written, offered or not yet: what the error lists as coming with the layer ops.
PENDING: tuple[str, ...] = tuple(
    sorted(
        {kind.__name__ for kind, op, _ in _LAYER_MODULES if op not in OPS}
        | {f"F.{name}" for name in _LAYER_FUNCTIONS if name not in OPS}
    )
)


def supported() -> list[str]:
    """Everything the table translates, as the error lists it."""
    functions = sorted({shown for shown, _ in FUNCTIONS.values() if not shown.startswith("operator.")})
    operators = (
        "operators: + - * / // % @ ** unary -, comparisons, indexing x[...], attributes .shape .T .mT .values .indices"
    )
    return [
        "modules: " + ", ".join(sorted(kind.__name__ for kind in MODULES)) + " (and Sequential, ModuleList, "
        "ModuleDict and your own modules, traced through)",
        "functions: " + ", ".join(functions),
        "Tensor methods: " + ", ".join(f".{name}()" for name in sorted(METHODS)),
        operators,
        *(["not in this build (they need the op table's layer ops): " + ", ".join(PENDING)] if PENDING else []),
    ]


def number_text(value: float) -> str:
    """A float as the language reads it: inf and nan spelled float('inf') / float('nan')."""
    if math.isfinite(value):
        return repr(value)
    return "float('nan')" if math.isnan(value) else ("float('inf')" if value > 0 else "-float('inf')")

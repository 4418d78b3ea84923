"""The namespace table: what `torch.`, `F.`, `np.`, `math.` and Tensor methods mean, beside the op table.

A pasted name means what its library means, which is not always what our bare name means
(`F.linear` is `x @ W.T + b`; `torch.var` is unbiased, `np.var` biased; `torch.max(x, 1)` is a
pair). Each supported name is a Spelling: the op it calls, and the library's way of passing
arguments to it (positional order, keyword names, defaults). The parser binds a call by this
table and then builds the op exactly as a bare call would, so no derivative or shape rule is
written twice.

Vocabulary:

- `op`: a name of app.engine.ops.OPS, or a *form*: something the parser builds at parse time
  from ops and static values (FORMS says what each does): a view is a `reshape`, `x.t()` a
  `transpose`, `torch.max(x, 1)` the pair of a `max` and an `argmax`, `x.size(0)` a number;
- `args`: the library's positional order, spelled with the op's operand and parameter names
  (a method's leaves out the tensor it is called on, which is the op's first operand);
- `keywords`: the library's keyword → the op's name for it (`dim` → `axis`, `keepdim` →
  `keepdims`, `ddof` → `correction`, `input` → `x`);
- `defaults`: the library's defaults where they differ from the op's (`np.var`'s ddof=0,
  `F.cross_entropy`'s ignore_index=-100).

Entries whose op does not exist (yet) are left out when the table is built, so the table never
offers what the engine cannot run. The engine imports numpy and the standard library only; this
module imports the op table alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.engine.ops import OPS


@dataclass(frozen=True)
class Spelling:
    """How one library spells a call of one op (see the module docstring)."""

    op: str
    args: tuple[str, ...] = ()
    keywords: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        """The spelling as GET /ops shows it."""
        return {
            "op": self.op,
            "args": list(self.args),
            "keywords": dict(self.keywords),
            "defaults": {k: _shown(v) for k, v in self.defaults.items()},
        }


# Forms: built by the parser (app/lang/library.py) from ops and static values at parse time.
FORMS: dict[str, str] = {
    "view": "the same elements in a new shape given as sizes or a tuple (one may be -1): a reshape",
    "flatten": "axes start_dim..end_dim merged into one: a reshape",
    "squeeze": "axes of size 1 removed (all, or the one given): a reshape",
    "unsqueeze": "an axis of size 1 inserted at dim: a reshape",
    "permute": "the axes in the order given: a transpose",
    "swapdims": "two axes swapped: a transpose",
    "t": "a 2-D tensor transposed (0-D and 1-D unchanged): a transpose",
    "same": "the tensor itself (every tensor is float64: casts and contiguous() change nothing)",
    "max_pair": "with a dim: the pair (values, indices): indices = argmax, values = gather(x, indices) (so the "
    "gradient goes to the first maximum, as in PyTorch); with a tensor: maximum; alone: max",
    "min_pair": "with a dim: the pair (values, indices): indices = argmin, values = gather(x, indices); "
    "with a tensor: minimum; alone: min",
    "f_linear": "x @ W.T + b (linear_t); without a bias, x @ W.T",
    "dropout": "the tensor itself where dropout is off (p=0 or training=False); random dropout is refused",
    "np_dot": "a matrix product of 1-D or 2-D arrays (np.dot), or a product with a number",
    "size": "the shape as a tuple of numbers, or one axis's size: known before the program runs",
    "numel": "the number of elements: known before the program runs",
    "ndim": "the number of axes: known before the program runs",
    "split": "pieces of split_size along dim (the last may be smaller), or of the sizes listed: slices",
    "chunk": "that many pieces along dim (the last may be smaller): slices",
    "np_split": "that many equal sections along axis, or the pieces between the points listed: slices",
    "number": "a function of math on numbers known before the program runs (no tensors)",
    "cross_entropy": "softmax_cross_entropy with class indices; with a target of the logits' shape (class "
    "probabilities, as PyTorch tells them apart), cross_entropy_probs",
    "attention": "scaled_dot_product_attention; an attn_mask made by a comparison (tril == 0, x > 0), "
    ".bool(), ~ or a logical op is boolean, as in PyTorch (True keeps a score), any other is added to the scores",
    "bool": "the op bool (1.0 where x is nonzero, else 0.0: PyTorch's bool tensor); a mask already "
    "(a comparison, ~, a logical op) is itself",
    "einsum": "einsum with the equation as written, a quoted string such as 'bid,bjd->bij', and the operands "
    "one by one or in a list",
}

# PyTorch's legacy `unbiased=` of var and std: True is correction=1, False correction=0.
UNBIASED = "unbiased"
_SPREAD = {"correction": "correction", "unbiased": UNBIASED}
_TORCH_REDUCE = {"input": "x", "dim": "axis", "keepdim": "keepdims", "axis": "axis", "keepdims": "keepdims"}
_NP_REDUCE = {"a": "x", "axis": "axis", "keepdims": "keepdims"}
_TORCH_UNARY = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "neg", "detach")
_NP_UNARY = ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh")
_LOGICAL = ("logical_and", "logical_or", "logical_xor")
# torch.einsum(equation, *operands) and np.einsum(subscripts, *operands); the operands may also
# come as one list (torch.einsum('ij,jk', [a, b])).
_EINSUM = Spelling("einsum", ("equation", "operands"), {"equation": "equation"})


def _torch_unary(op: str) -> Spelling:
    return Spelling(op, ("x",), {"input": "x"})


def _torch_binary(op: str, second: str = "other") -> Spelling:
    return Spelling(op, ("a", "b"), {"input": "a", second: "b"})


def _method_binary(op: str, second: str = "other") -> Spelling:
    return Spelling(op, ("b",), {second: "b"})


def _torch_reduce(op: str) -> Spelling:
    return Spelling(op, ("x", "axis", "keepdims"), _TORCH_REDUCE)


def _method_reduce(op: str) -> Spelling:
    return Spelling(op, ("axis", "keepdims"), _TORCH_REDUCE)


def _torch_spread(op: str) -> Spelling:
    """var/std: dim positional, correction (default 1, as PyTorch) by keyword, or the legacy
    unbiased=True/False (see UNBIASED)."""
    return Spelling(op, ("x", "axis"), _TORCH_REDUCE | _SPREAD, {"correction": 1})


_TORCH: dict[str, Spelling] = {
    **{name: _torch_unary(name) for name in _TORCH_UNARY},
    "absolute": _torch_unary("abs"),
    "negative": _torch_unary("neg"),
    "softmax": Spelling("softmax", ("x", "axis"), {"input": "x", "dim": "axis"}),
    "log_softmax": Spelling("log_softmax", ("x", "axis"), {"input": "x", "dim": "axis"}),
    "sum": _torch_reduce("sum"),
    "mean": _torch_reduce("mean"),
    "max": Spelling("max_pair", ("x", "axis", "keepdims"), _TORCH_REDUCE | {"other": "b"}),
    "min": Spelling("min_pair", ("x", "axis", "keepdims"), _TORCH_REDUCE | {"other": "b"}),
    "amax": _torch_reduce("max"),
    "amin": _torch_reduce("min"),
    "maximum": _torch_binary("maximum"),
    "minimum": _torch_binary("minimum"),
    "add": _torch_binary("add"),
    "sub": _torch_binary("sub"),
    "subtract": _torch_binary("sub"),
    "mul": _torch_binary("mul"),
    "multiply": _torch_binary("mul"),
    "div": _torch_binary("div"),
    "divide": _torch_binary("div"),
    "pow": _torch_binary("pow", "exponent"),
    "matmul": _torch_binary("matmul"),
    "mm": Spelling("matmul", ("a", "b"), {"input": "a", "mat2": "b"}),
    "bmm": Spelling("matmul", ("a", "b"), {"input": "a", "mat2": "b"}),
    "dot": Spelling("matmul", ("a", "b"), {"input": "a", "tensor": "b"}),
    "transpose": Spelling("swapdims", ("x", "dim0", "dim1"), {"input": "x", "dim0": "dim0", "dim1": "dim1"}),
    "swapaxes": Spelling("swapdims", ("x", "dim0", "dim1"), {"input": "x", "axis0": "dim0", "axis1": "dim1"}),
    "permute": Spelling("permute", ("x", "dims"), {"input": "x", "dims": "dims"}),
    "reshape": Spelling("view", ("x", "shape"), {"input": "x", "shape": "shape"}),
    "flatten": Spelling(
        "flatten", ("x", "start_dim", "end_dim"), {"input": "x", "start_dim": "start_dim", "end_dim": "end_dim"}
    ),
    "squeeze": Spelling("squeeze", ("x", "dim"), {"input": "x", "dim": "dim"}),
    "unsqueeze": Spelling("unsqueeze", ("x", "dim"), {"input": "x", "dim": "dim"}),
    "t": Spelling("t", ("x",), {"input": "x"}),
    "numel": Spelling("numel", ("x",), {"input": "x"}),
    # New primitives of the op table (issue 19), each kept only once the op exists.
    "where": Spelling("where", ("cond", "a", "b"), {"condition": "cond", "input": "a", "other": "b"}),
    "cat": Spelling("cat", ("tensors", "axis"), {"tensors": "tensors", "dim": "axis", "axis": "axis"}),
    "concat": Spelling("cat", ("tensors", "axis"), {"tensors": "tensors", "dim": "axis", "axis": "axis"}),
    "stack": Spelling("stack", ("tensors", "axis"), {"tensors": "tensors", "dim": "axis", "axis": "axis"}),
    "tril": Spelling("tril", ("x", "diagonal"), {"input": "x", "diagonal": "diagonal"}),
    "triu": Spelling("triu", ("x", "diagonal"), {"input": "x", "diagonal": "diagonal"}),
    "clamp": Spelling("clamp", ("x", "min", "max"), {"input": "x", "min": "min", "max": "max"}),
    "clip": Spelling("clamp", ("x", "min", "max"), {"input": "x", "min": "min", "max": "max"}),
    "logsumexp": Spelling("logsumexp", ("x", "axis", "keepdims"), _TORCH_REDUCE),
    "var": _torch_spread("var"),
    "std": _torch_spread("std"),
    "argmax": Spelling("argmax", ("x", "axis", "keepdims"), _TORCH_REDUCE),
    "argmin": Spelling("argmin", ("x", "axis", "keepdims"), _TORCH_REDUCE),
    "gather": Spelling("gather", ("x", "axis", "index"), {"input": "x", "dim": "axis", "index": "index"}),
    "masked_fill": Spelling("masked_fill", ("x", "mask", "value"), {"input": "x", "mask": "mask", "value": "value"}),
    "split": Spelling(
        "split", ("x", "split_size", "dim"), {"tensor": "x", "split_size_or_sections": "split_size", "dim": "dim"}
    ),
    "chunk": Spelling("chunk", ("x", "chunks", "dim"), {"input": "x", "chunks": "chunks", "dim": "dim"}),
    "ones": Spelling("ones", ("shape",), {"size": "shape"}),
    "zeros": Spelling("zeros", ("shape",), {"size": "shape"}),
    "full": Spelling("full", ("shape", "fill_value"), {"size": "shape", "fill_value": "fill_value"}),
    "arange": Spelling("arange", ("start", "end", "step"), {"start": "start", "end": "end", "step": "step"}),
    "eye": Spelling("eye", ("n", "m"), {"n": "n", "m": "m"}),
    "ones_like": _torch_unary("ones_like"),
    "zeros_like": _torch_unary("zeros_like"),
    "full_like": Spelling("full_like", ("x", "fill_value"), {"input": "x", "fill_value": "fill_value"}),
    **{name: _torch_binary(name) for name in ("gt", "lt", "ge", "le", "eq", "ne")},
    "logical_not": _torch_unary("logical_not"),
    **{name: _torch_binary(name) for name in _LOGICAL},
    "einsum": _EINSUM,
}

# F.softmax(x) without dim takes PyTorch's implicit dim: 0 for 0-, 1- and 3-D input, else 1.
IMPLICIT_DIM = "implicit"

_FUNCTIONAL: dict[str, Spelling] = {
    "relu": _torch_unary("relu"),
    "sigmoid": _torch_unary("sigmoid"),
    "tanh": _torch_unary("tanh"),
    "softmax": Spelling("softmax", ("x", "axis"), {"input": "x", "dim": "axis"}, {"axis": IMPLICIT_DIM}),
    "log_softmax": Spelling("log_softmax", ("x", "axis"), {"input": "x", "dim": "axis"}, {"axis": IMPLICIT_DIM}),
    # PyTorch's weight is (out, in): x @ W.T + b. The bare `linear` keeps the tutorial's (in, out).
    "linear": Spelling("f_linear", ("x", "W", "b"), {"input": "x", "weight": "W", "bias": "b"}),
    "mse_loss": Spelling("mse", ("pred", "target"), {"input": "pred", "target": "target", "reduction": "reduction"}),
    "cross_entropy": Spelling(
        "softmax_cross_entropy",
        ("logits", "labels", "weight"),
        {
            "input": "logits",
            "target": "labels",
            "weight": "weight",
            "ignore_index": "ignore_index",
            "reduction": "reduction",
            "label_smoothing": "label_smoothing",
        },
        {"ignore_index": -100},
    ),
    "one_hot": Spelling("onehot", ("labels", "classes"), {"tensor": "labels", "num_classes": "classes"}),
    "dropout": Spelling(
        "dropout",
        ("x", "p", "training"),
        {"input": "x", "p": "p", "training": "training", "inplace": "inplace"},
        {"p": 0.5, "training": True},
    ),
}


# The layers (app/engine/layers.py), as torch.nn.functional spells them: PyTorch's positional order
# up to the first argument we do not take (size_average, ceil_mode, inplace), keywords by name.
def _same_names(*names: str) -> dict[str, str]:
    return {name: name for name in names}


def _f_activation(op: str, *params: str) -> Spelling:
    return Spelling(op, ("x", *params), {"input": "x", **_same_names(*params)})


def _f_loss(op: str, args: tuple[str, ...], *keywords: str) -> Spelling:
    return Spelling(op, args, _same_names("input", "target", *args[2:], *keywords, "reduction"))


_CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")


def _f_as_named(op: str, args: tuple[str, ...], *keyword_only: str) -> Spelling:
    """A functional whose keywords are its PyTorch parameter names as they are (the positional
    ones, then any keyword-only)."""
    return Spelling(op, args, _same_names(*args, *keyword_only))


_LAYERS_F: dict[str, Spelling] = {
    "layer_norm": _f_as_named("layer_norm", ("input", "normalized_shape", "weight", "bias", "eps")),
    "batch_norm": _f_as_named(
        "batch_norm", ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
    ),
    "group_norm": _f_as_named("group_norm", ("input", "num_groups", "weight", "bias", "eps")),
    "normalize": _f_as_named("normalize", ("input", "p", "dim", "eps")),
    "scaled_dot_product_attention": _f_as_named(
        "attention", ("query", "key", "value", "attn_mask", "dropout_p", "is_causal"), "scale"
    ),
    "conv1d": _f_as_named("conv1d", _CONV),
    "conv2d": _f_as_named("conv2d", _CONV),
    "max_pool2d": _f_as_named("max_pool2d", ("input", "kernel_size", "stride", "padding", "dilation")),
    "avg_pool2d": _f_as_named(
        "avg_pool2d", ("input", "kernel_size", "stride", "padding"), "count_include_pad", "divisor_override"
    ),
    "embedding": _f_as_named("embedding", ("input", "weight", "padding_idx")),
    "gelu": _f_activation("gelu", "approximate"),
    "silu": _f_activation("silu"),
    "softplus": _f_activation("softplus", "beta", "threshold"),
    "leaky_relu": _f_activation("leaky_relu", "negative_slope"),
    "elu": _f_activation("elu", "alpha"),
    "hardtanh": _f_activation("hardtanh", "min_val", "max_val"),
    "erf": _torch_unary("erf"),
    "binary_cross_entropy": _f_loss("binary_cross_entropy", ("input", "target", "weight")),
    "binary_cross_entropy_with_logits": _f_loss(
        "binary_cross_entropy_with_logits", ("input", "target", "weight"), "pos_weight"
    ),
    "nll_loss": _f_loss("nll_loss", ("input", "target", "weight"), "ignore_index"),
    "l1_loss": _f_loss("l1_loss", ("input", "target")),
    "smooth_l1_loss": _f_loss("smooth_l1_loss", ("input", "target"), "beta"),
    "huber_loss": _f_loss("huber_loss", ("input", "target", "reduction", "delta")),
    "kl_div": _f_loss("kl_div", ("input", "target"), "log_target"),
    "cosine_similarity": _f_as_named("cosine_similarity", ("x1", "x2", "dim", "eps")),
}
_FUNCTIONAL.update(_LAYERS_F)
# F.cross_entropy tells class indices from class probabilities by the target's shape, as PyTorch does.
_FUNCTIONAL["cross_entropy"] = replace(_FUNCTIONAL["cross_entropy"], op="cross_entropy")
# torch.* has some of them with F's order (torch.batch_norm, torch.embedding and torch.kl_div differ: left out).
_TORCH.update(
    {
        name: _LAYERS_F[name]
        for name in ("layer_norm", "group_norm", "conv1d", "conv2d", "max_pool2d", "cosine_similarity", "erf")
    }
)
_TORCH["dropout"] = Spelling("dropout", ("x", "p", "training"), {"input": "x", "p": "p", "train": "training"})

_NUMPY: dict[str, Spelling] = {
    **{name: Spelling(name, ("x",), {"x": "x"}) for name in _NP_UNARY},
    "absolute": Spelling("abs", ("x",), {"x": "x"}),
    "negative": Spelling("neg", ("x",), {"x": "x"}),
    "sum": Spelling("sum", ("x", "axis"), _NP_REDUCE),
    "mean": Spelling("mean", ("x", "axis"), _NP_REDUCE),
    # np.max(x, 1) is an array of maxima (not a pair); np.max(a, b) would take b as the axis.
    "max": Spelling("max", ("x", "axis"), _NP_REDUCE),
    "amax": Spelling("max", ("x", "axis"), _NP_REDUCE),
    "min": Spelling("min", ("x", "axis"), _NP_REDUCE),
    "amin": Spelling("min", ("x", "axis"), _NP_REDUCE),
    "maximum": Spelling("maximum", ("a", "b"), {"x1": "a", "x2": "b"}),
    "minimum": Spelling("minimum", ("a", "b"), {"x1": "a", "x2": "b"}),
    "add": Spelling("add", ("a", "b"), {"x1": "a", "x2": "b"}),
    "subtract": Spelling("sub", ("a", "b"), {"x1": "a", "x2": "b"}),
    "multiply": Spelling("mul", ("a", "b"), {"x1": "a", "x2": "b"}),
    "divide": Spelling("div", ("a", "b"), {"x1": "a", "x2": "b"}),
    "power": Spelling("pow", ("a", "b"), {"x1": "a", "x2": "b"}),
    "matmul": Spelling("matmul", ("a", "b"), {"x1": "a", "x2": "b"}),
    "dot": Spelling("np_dot", ("a", "b"), {"a": "a", "b": "b"}),
    "transpose": Spelling("transpose", ("x", "axes"), {"a": "x", "axes": "axes"}),
    "swapaxes": Spelling("swapdims", ("x", "dim0", "dim1"), {"a": "x", "axis1": "dim0", "axis2": "dim1"}),
    "reshape": Spelling("view", ("x", "shape"), {"a": "x", "newshape": "shape", "shape": "shape"}),
    "squeeze": Spelling("squeeze", ("x", "dim"), {"a": "x", "axis": "dim"}),
    "expand_dims": Spelling("unsqueeze", ("x", "dim"), {"a": "x", "axis": "dim"}),
    "size": Spelling("numel", ("x",), {"a": "x"}),
    "ndim": Spelling("ndim", ("x",), {"a": "x"}),
    "shape": Spelling("size", ("x",), {"a": "x"}),
    "where": Spelling("where", ("cond", "a", "b"), {"condition": "cond", "x": "a", "y": "b"}),
    "concatenate": Spelling("cat", ("tensors", "axis"), {"axis": "axis"}),
    "stack": Spelling("stack", ("tensors", "axis"), {"arrays": "tensors", "axis": "axis"}),
    "split": Spelling(
        "np_split", ("x", "sections", "dim"), {"ary": "x", "indices_or_sections": "sections", "axis": "dim"}
    ),
    "clip": Spelling("clamp", ("x", "min", "max"), {"a": "x", "a_min": "min", "a_max": "max"}),
    "var": Spelling("var", ("x", "axis"), _NP_REDUCE | {"ddof": "correction"}, {"correction": 0}),
    "std": Spelling("std", ("x", "axis"), _NP_REDUCE | {"ddof": "correction"}, {"correction": 0}),
    "argmax": Spelling("argmax", ("x", "axis"), _NP_REDUCE),
    "argmin": Spelling("argmin", ("x", "axis"), _NP_REDUCE),
    "take_along_axis": Spelling("gather", ("x", "index", "axis"), {"arr": "x", "indices": "index", "axis": "axis"}),
    "tril": Spelling("tril", ("x", "diagonal"), {"m": "x", "k": "diagonal"}),
    "triu": Spelling("triu", ("x", "diagonal"), {"m": "x", "k": "diagonal"}),
    "ones": Spelling("ones", ("shape",), {"shape": "shape"}),
    "zeros": Spelling("zeros", ("shape",), {"shape": "shape"}),
    "full": Spelling("full", ("shape", "fill_value"), {"shape": "shape", "fill_value": "fill_value"}),
    "arange": Spelling("arange", ("start", "end", "step"), {"start": "start", "stop": "end", "step": "step"}),
    "eye": Spelling("eye", ("n", "m"), {"N": "n", "M": "m"}),
    "ones_like": Spelling("ones_like", ("x",), {"a": "x"}),
    "zeros_like": Spelling("zeros_like", ("x",), {"a": "x"}),
    "full_like": Spelling("full_like", ("x", "fill_value"), {"a": "x", "fill_value": "fill_value"}),
    "greater": Spelling("gt", ("a", "b"), {"x1": "a", "x2": "b"}),
    "less": Spelling("lt", ("a", "b"), {"x1": "a", "x2": "b"}),
    "logical_not": Spelling("logical_not", ("x",), {"x": "x"}),
    **{name: Spelling(name, ("a", "b"), {"x1": "a", "x2": "b"}) for name in _LOGICAL},
    # optimize= (False, True, "greedy", "optimal") picks numpy's contraction order: the numbers are the same
    "einsum": replace(_EINSUM, keywords={"subscripts": "equation", "optimize": "optimize"}),
}

_MATH_FUNCTIONS = (
    "sqrt",
    "exp",
    "log",
    "log2",
    "log10",
    "sin",
    "cos",
    "tan",
    "tanh",
    "fabs",
    "floor",
    "ceil",
    "pow",
    "isqrt",
)
_MATH: dict[str, Spelling] = {
    name: Spelling("number", ("x",) if name != "pow" else ("x", "y")) for name in _MATH_FUNCTIONS
}

# Tensor methods: the tensor they are called on is the op's first operand.
_METHODS: dict[str, Spelling] = {
    **{name: Spelling(name) for name in _TORCH_UNARY},
    "absolute": Spelling("abs"),
    "softmax": Spelling("softmax", ("axis",), {"dim": "axis"}),
    "log_softmax": Spelling("log_softmax", ("axis",), {"dim": "axis"}),
    "sum": _method_reduce("sum"),
    "mean": _method_reduce("mean"),
    "max": Spelling("max_pair", ("axis", "keepdims"), _TORCH_REDUCE | {"other": "b"}),
    "min": Spelling("min_pair", ("axis", "keepdims"), _TORCH_REDUCE | {"other": "b"}),
    "amax": _method_reduce("max"),
    "amin": _method_reduce("min"),
    "maximum": _method_binary("maximum"),
    "minimum": _method_binary("minimum"),
    "add": _method_binary("add"),
    "sub": _method_binary("sub"),
    "mul": _method_binary("mul"),
    "div": _method_binary("div"),
    "pow": _method_binary("pow", "exponent"),
    "matmul": _method_binary("matmul"),
    "mm": _method_binary("matmul", "mat2"),
    "bmm": _method_binary("matmul", "mat2"),
    "dot": _method_binary("matmul", "tensor"),
    "view": Spelling("view", ("shape",), {"size": "shape", "shape": "shape"}),
    "reshape": Spelling("view", ("shape",), {"shape": "shape"}),
    "transpose": Spelling("swapdims", ("dim0", "dim1"), {"dim0": "dim0", "dim1": "dim1"}),
    "swapaxes": Spelling("swapdims", ("dim0", "dim1"), {"axis0": "dim0", "axis1": "dim1"}),
    "permute": Spelling("permute", ("dims",), {"dims": "dims"}),
    "flatten": Spelling("flatten", ("start_dim", "end_dim"), {"start_dim": "start_dim", "end_dim": "end_dim"}),
    "squeeze": Spelling("squeeze", ("dim",), {"dim": "dim"}),
    "unsqueeze": Spelling("unsqueeze", ("dim",), {"dim": "dim"}),
    "t": Spelling("t"),
    "contiguous": Spelling("same"),
    "float": Spelling("same"),
    "double": Spelling("same"),
    "long": Spelling("same"),
    "int": Spelling("same"),
    "bool": Spelling("bool"),
    "clone": Spelling("same"),
    "to": Spelling("same", ("dtype",), {"dtype": "dtype"}),
    "size": Spelling("size", ("dim",), {"dim": "dim"}),
    "numel": Spelling("numel"),
    "nelement": Spelling("numel"),
    "dim": Spelling("ndim"),
    "masked_fill": Spelling("masked_fill", ("mask", "value"), {"mask": "mask", "value": "value"}),
    "split": Spelling("split", ("split_size", "dim"), {"split_size": "split_size", "dim": "dim"}),
    "chunk": Spelling("chunk", ("chunks", "dim"), {"chunks": "chunks", "dim": "dim"}),
    "clamp": Spelling("clamp", ("min", "max"), {"min": "min", "max": "max"}),
    "clip": Spelling("clamp", ("min", "max"), {"min": "min", "max": "max"}),
    "tril": Spelling("tril", ("diagonal",), {"diagonal": "diagonal"}),
    "triu": Spelling("triu", ("diagonal",), {"diagonal": "diagonal"}),
    "logsumexp": Spelling("logsumexp", ("axis", "keepdims"), _TORCH_REDUCE),
    "var": Spelling("var", ("axis",), _TORCH_REDUCE | _SPREAD, {"correction": 1}),
    "std": Spelling("std", ("axis",), _TORCH_REDUCE | _SPREAD, {"correction": 1}),
    "argmax": Spelling("argmax", ("axis", "keepdims"), _TORCH_REDUCE),
    "argmin": Spelling("argmin", ("axis", "keepdims"), _TORCH_REDUCE),
    "gather": Spelling("gather", ("axis", "index"), {"dim": "axis", "index": "index"}),
    **{name: _method_binary(name) for name in ("gt", "lt", "ge", "le", "eq", "ne")},
    "logical_not": Spelling("logical_not"),
    **{name: _method_binary(name) for name in _LOGICAL},
}

_METHODS["erf"] = Spelling("erf")  # the one layer PyTorch has as a Tensor method

# Attributes of a tensor, read without a call.
ATTRIBUTES: dict[str, str] = {
    "T": "the axes reversed (transpose)",
    "mT": "the last two axes swapped",
    "shape": "the shape, a tuple of numbers known before the program runs",
    "ndim": "the number of axes",
}

# Numbers a namespace names (np.newaxis is None: a new axis in a subscript).
CONSTANTS: dict[str, dict[str, float | None]] = {
    "torch": {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan},
    "np": {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "newaxis": None},
    "math": {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "tau": math.tau},
}


# dtypes: every tensor is float64, so `dtype=torch.long` and `.to(torch.float64)` change nothing; the
# keywords that name them are accepted and ignored (IGNORED).
DTYPES: dict[str, frozenset[str]] = {
    "torch": frozenset(("float", "float32", "float64", "double", "long", "int", "int64", "int32", "half", "bool")),
    "np": frozenset(("float32", "float64", "int32", "int64", "double", "longlong")),
}
IGNORED = frozenset(("dtype", "device", "requires_grad", "out_dtype", "inplace"))  # inplace=False only

# What a pasted program that uses these names should do instead (the names are not in the table).
_INPUT_HINT = (
    'random and literal tensors are given as inputs, e.g. "W": {"init": "randn", "shape": [3, 4], '
    '"seed": 0} or "x": [[1.0, 2.0]]'
)
HINTS: dict[str, str] = {
    "randn": _INPUT_HINT,
    "rand": _INPUT_HINT,
    "randint": _INPUT_HINT,
    "randn_like": _INPUT_HINT,
    "rand_like": _INPUT_HINT,
    "normal": _INPUT_HINT,
    "tensor": _INPUT_HINT,
    "array": _INPUT_HINT,
    "as_tensor": _INPUT_HINT,
    "asarray": _INPUT_HINT,
    "from_numpy": _INPUT_HINT,
    "manual_seed": 'seeds are given with an input\'s initializer: {"init": "randn", ..., "seed": 0}',
    "no_grad": 'an input given with "requires_grad": false takes no gradient; x.detach() stops one',
}


def _available(table: dict[str, Spelling]) -> dict[str, Spelling]:
    """The entries whose op the engine has (or that the parser builds as a form)."""
    return {name: s for name, s in sorted(table.items()) if s.op in OPS or s.op in FORMS}


# Each namespace as the program writes it. `F`, `nn.functional` and `torch.nn.functional` are one.
NAMESPACES: dict[str, dict[str, Spelling]] = {
    "torch": _available(_TORCH),
    "F": _available(_FUNCTIONAL),
    "np": _available(_NUMPY),
    "math": _MATH,
}
METHODS: dict[str, Spelling] = _available(_METHODS)
# Bare names called as a library spells them (the equation first): einsum('ij,jk->ik', a, b).
BARE: dict[str, Spelling] = _available({"einsum": _EINSUM})
# Paths that name a namespace: the name (or dotted path) → the namespace's key in NAMESPACES.
ALIASES: dict[str, str] = {
    "torch": "torch",
    "F": "F",
    "torch.nn.functional": "F",
    "nn.functional": "F",
    "np": "np",
    "numpy": "np",
    "math": "math",
}
# Paths on the way to a namespace: `torch.nn` and `nn` lead to `functional`.
PREFIXES = frozenset(("torch.nn", "nn"))


def table() -> dict[str, Any]:
    """The namespace table as GET /ops shows it."""
    return {
        "namespaces": {ns: {name: s.entry() for name, s in names.items()} for ns, names in NAMESPACES.items()},
        "aliases": ALIASES,
        "methods": {name: s.entry() for name, s in METHODS.items()},
        "bare": {name: s.entry() for name, s in BARE.items()},
        "attributes": ATTRIBUTES,
        "constants": {ns: {k: _shown(v) for k, v in values.items()} for ns, values in CONSTANTS.items()},
        "dtypes": {ns: sorted(names) for ns, names in DTYPES.items()},
        "ignored_keywords": sorted(IGNORED),
        "forms": FORMS,
    }


def _shown(value: Any) -> Any:
    """A number as JSON can hold it (inf and nan as the strings responses use)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value

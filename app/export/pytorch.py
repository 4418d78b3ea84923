"""A built graph as a runnable PyTorch script: the same tensors in float64, the same program,
backward with the same grad_output, and every input's gradient printed as one JSON line.

The script is text written from the graph, one line per node in creation (topological) order;
nothing here imports torch. Inputs of every kind (numbers, lists, initializers, dataset rows) are
written as the literal values the engine decoded, in Python's shortest round-trip float form,
so the script sees exactly the engine's numbers. Each op is spelled by `SPELLINGS`, keyed by the
op table's names (tests check that every op of the table has one).

The last line prints `{"output": ..., "grads": {input name: gradient or null}}` (json.dumps:
nested lists of floats, NaN and Infinity as Python's json writes them).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from math import prod
from typing import Any

import numpy as np

from app.engine.errors import LimitExceeded, ProgramError
from app.engine.graph import Graph
from app.engine.run import output_of
from app.engine.shapes import normalize_axes
from app.export.pytorch_layers import LAYER_SPELLINGS
from app.export.text import python_names, visible

# Names the script itself uses; a program variable of that name gets a trailing underscore.
_RESERVED = {"json", "torch", "F", "tensor", "listed", "out", "grad_output", "print", "float"}


def _dims(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    axes = normalize_axes(axis, len(shape))
    return tuple(range(len(shape))) if axes is None else axes


def _reduction(function: str) -> Callable:
    def spell(x: str, shapes: list, axis: Any = None, keepdims: Any = False) -> str:
        if axis is None and not keepdims:
            return f"{function}({x})"
        return f"{function}({x}, dim={_dims(shapes[0], axis)!r}, keepdim={keepdims!r})"

    return spell


def _options(**given: Any) -> str:
    """Keyword arguments given in the program (None: left to PyTorch's default), as source text."""
    return "".join(f", {name}={value!r}" for name, value in given.items() if value is not None)


def _mse(pred: str, target: str, shapes: list, reduction: str | None = None) -> str:
    options = _options(reduction=reduction)
    if shapes[0] == shapes[1]:
        return f"F.mse_loss({pred}, {target}{options})"
    # mse_loss warns when it broadcasts; broadcasting first is the same mean over the same elements.
    return f"F.mse_loss(*torch.broadcast_tensors({pred}, {target}){options})"


def _cross_entropy(
    logits: str,
    labels: str,
    shapes: list,
    weight: Any = None,
    ignore_index: Any = None,
    label_smoothing: Any = None,
    reduction: Any = None,
) -> str:
    weights = None if weight is None else f"tensor({[float(w) for w in weight]!r})"
    options = _options(ignore_index=ignore_index, label_smoothing=label_smoothing or None, reduction=reduction)
    if weights is not None:
        options = f", weight={weights}" + options
    return f"F.cross_entropy({logits}, {labels}.detach().long(){options})"


def _onehot(labels: str, shapes: list, classes: int, ignore_index: Any = None) -> str:
    indices = f"{labels}.detach().long()"
    if ignore_index is None:
        return f"F.one_hot({indices}, {classes}).to(torch.float64)"
    # A label equal to ignore_index gives a row of zeros (one_hot itself refuses it).
    kept = f"({indices} != {ignore_index})"
    return f"(F.one_hot(torch.where({kept}, {indices}, 0), {classes}) * {kept}.unsqueeze(-1)).to(torch.float64)"


def _transpose(x: str, shapes: list, axes: Any = None) -> str:
    ndim = len(shapes[0])
    order = tuple(reversed(range(ndim))) if axes is None else tuple(a % ndim for a in axes)
    return f"{x}.permute{order!r}" if len(order) != 1 else f"{x}.permute({order[0]})"


def _reshape(x: str, shapes: list, shape: Any) -> str:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return f"torch.reshape({x}, {shape!r})"


def _index(x: str, *rest: Any, key: tuple) -> str:
    """x[key] as PyTorch writes it; the index tensors (float64 here) made long."""
    tensors = iter(rest[:-1])
    items = []
    for item in key:
        if item == "tensor":
            items.append(f"{next(tensors)}.long()")
        elif item == "...":
            items.append("...")
        elif isinstance(item, tuple):
            items.append(":".join("" if part is None else str(part) for part in item))
        else:
            items.append(repr(item))
    return f"{x}[{', '.join(items)}]" if items else f"{x}[()]"


def _joined(function: str) -> Callable:
    return lambda *tensors_and_shapes, axis=0: f"{function}([{', '.join(tensors_and_shapes[:-1])}], dim={axis})"


def _compared(symbol: str) -> Callable:
    return lambda a, b, shapes: f"({a} {symbol} {b}).to(torch.float64)"


def _arg(function: str) -> Callable:
    return lambda x, shapes, axis=None, keepdims=False: (
        f"{function}({x}, dim={axis!r}, keepdim={keepdims!r}).to(torch.float64)"
    )


def _deviation(function: str) -> Callable:
    def spell(x: str, shapes: list, axis: Any = None, correction: Any = 1, keepdims: Any = False) -> str:
        dims = None if axis is None else _dims(shapes[0], axis)
        return f"{function}({x}, dim={dims!r}, correction={correction!r}, keepdim={keepdims!r})"

    return spell


def _clamp(x: str, shapes: list, min: Any = None, max: Any = None) -> str:
    return f"torch.clamp({x}, {None if min is None else literal(min)}, {None if max is None else literal(max)})"


def _linear_t(x: str, W: str, b: str, shapes: list) -> str:
    return f"F.linear({x}, {W}, {b})" if len(shapes[1]) == 2 else f"{x} @ {W} + {b}"


_F64 = "dtype=torch.float64"


def _function(name: str) -> Callable:
    return lambda *operands_and_shapes: f"{name}({', '.join(operands_and_shapes[:-1])})"


# op name -> spelling: (operand expressions..., operand shapes, **params) -> a torch expression.
SPELLINGS: dict[str, Callable[..., str]] = {
    "add": lambda a, b, shapes: f"{a} + {b}",
    "sub": lambda a, b, shapes: f"{a} - {b}",
    "mul": lambda a, b, shapes: f"{a} * {b}",
    "div": lambda a, b, shapes: f"{a} / {b}",
    "pow": lambda a, b, shapes: f"{a} ** {b}",
    "matmul": lambda a, b, shapes: f"{a} @ {b}",
    "neg": lambda x, shapes: f"-{x}",
    "maximum": _function("torch.maximum"),
    "minimum": _function("torch.minimum"),
    **{
        name: _function(f"torch.{name}")
        for name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu")
    },
    "sum": _reduction("torch.sum"),
    "mean": _reduction("torch.mean"),
    "max": _reduction("torch.amax"),  # amax splits the gradient evenly on ties, as the engine does
    "min": _reduction("torch.amin"),
    "softmax": lambda x, shapes, axis=-1: f"torch.softmax({x}, dim={axis})",
    "log_softmax": lambda x, shapes, axis=-1: f"torch.log_softmax({x}, dim={axis})",
    "mse": _mse,
    "softmax_cross_entropy": _cross_entropy,
    "onehot": _onehot,
    "detach": lambda x, shapes: f"{x}.detach()",
    "linear": lambda x, W, b, shapes: f"{x} @ {W} + {b}",
    "transpose": _transpose,
    "reshape": _reshape,
    "index": _index,
    "gather": lambda x, index, shapes, axis: f"torch.gather({x}, {axis}, {index}.long())",
    "cat": _joined("torch.cat"),
    "stack": _joined("torch.stack"),
    "where": lambda cond, a, b, shapes: f"torch.where({cond} != 0, {a}, {b})",
    "masked_fill": lambda x, mask, shapes, value: f"torch.masked_fill({x}, {mask} != 0, {literal(value)})",
    "gt": _compared(">"),
    "lt": _compared("<"),
    "ge": _compared(">="),
    "le": _compared("<="),
    "eq": _compared("=="),
    "ne": _compared("!="),
    "bool": lambda x, shapes: f"({x} != 0).to(torch.float64)",
    **{
        name: lambda *operands_and_shapes, name=name: (
            f"torch.{name}({', '.join(f'{x} != 0' for x in operands_and_shapes[:-1])}).to(torch.float64)"
        )
        for name in ("logical_not", "logical_and", "logical_or", "logical_xor")
    },
    "einsum": lambda *operands_and_shapes, equation: (
        f"torch.einsum({equation!r}, {', '.join(operands_and_shapes[:-1])})"
    ),
    "argmax": _arg("torch.argmax"),
    "argmin": _arg("torch.argmin"),
    "tril": lambda x, shapes, diagonal=0: f"torch.tril({x}, {diagonal})",
    "triu": lambda x, shapes, diagonal=0: f"torch.triu({x}, {diagonal})",
    "clamp": _clamp,
    "logsumexp": lambda x, shapes, axis=None, keepdims=False: (
        f"torch.logsumexp({x}, dim={_dims(shapes[0], axis)!r}, keepdim={keepdims!r})"
    ),
    "var": _deviation("torch.var"),
    "std": _deviation("torch.std"),
    "linear_t": _linear_t,
    "ones": lambda shapes, shape: f"torch.ones({tuple(shape)!r}, {_F64})",
    "zeros": lambda shapes, shape: f"torch.zeros({tuple(shape)!r}, {_F64})",
    "full": lambda shapes, shape, fill_value: f"torch.full({tuple(shape)!r}, {literal(fill_value)}, {_F64})",
    "arange": lambda shapes, start=0, end=None, step=1: (
        f"torch.arange({start!r}, {_F64})" if end is None else f"torch.arange({start!r}, {end!r}, {step!r}, {_F64})"
    ),
    "eye": lambda shapes, n, m=None: f"torch.eye({n}, {n if m is None else m}, {_F64})",
    "ones_like": lambda x, shapes: f"torch.ones_like({x})",
    "zeros_like": lambda x, shapes: f"torch.zeros_like({x})",
    "full_like": lambda x, shapes, fill_value: f"torch.full_like({x}, {literal(fill_value)})",
    **LAYER_SPELLINGS,
}


def literal(value: Any) -> str:
    """A float or array as Python source that reads back to the same float64 numbers."""
    listed = value.tolist() if isinstance(value, np.ndarray) else float(value)
    text = repr(listed)
    if "inf" in text or "nan" in text:
        text = text.replace("inf", "float('inf')").replace("nan", "float('nan')")
    return text


def script_elements(graph: Graph) -> int:
    """Numbers the script writes as literals: every leaf's elements and grad_output's (shaped
    like the output). Needs only shapes: it is checked before any tensor exists."""
    leaves = sum(prod(shape) for op, shape in zip(graph.ops, graph.shapes) if op is None)
    return leaves + prod(graph.shapes[output_of(graph)])


def check_size(graph: Graph, max_elements: int) -> int:
    count = script_elements(graph)
    if count > max_elements:
        raise LimitExceeded(
            f"the script would write {count:,} numbers as literals (the limit is {max_elements:,}): "
            "export a program with smaller inputs"
        )
    return count


def _variable_names(graph: Graph) -> tuple[list[str], dict[str, str]]:
    """A Python variable per node: the input's or assigned name where that is unambiguous,
    else the name with the node id, else t<id>; constants are written inline. Also answers the
    program's names that the script spells differently (app/export/text.py: Python folds some
    names and refuses others), original → script name."""
    assigned = Counter(name for op, name in zip(graph.ops, graph.names) if op is not None and name is not None)
    inputs = {name for op, name in zip(graph.ops, graph.names) if op is None and name is not None}
    spelled = python_names((name for name in graph.names if name is not None), _RESERVED)
    taken = set(spelled.values()) | _RESERVED

    def fresh(candidate: str) -> str:  # a generated name no program name or other generated one has
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        return candidate

    names = []
    for node, (op, name) in enumerate(zip(graph.ops, graph.names)):
        if name is None:
            names.append(fresh(f"t{node}"))
        elif op is None or (assigned[name] == 1 and name not in inputs):
            names.append(spelled[name])
        else:
            names.append(fresh(f"{spelled[name]}_{node}"))
    return names, {name: given for name, given in spelled.items() if given != name}


def _renamed_comment(renamed: dict[str, str]) -> list[str]:
    """Comment lines naming the program's names that the script spells differently."""
    if not renamed:
        return []
    return [
        "# Names Python would fold, refuse, or that the script itself uses, renamed here (the printed",
        "# gradients keep the program's names):",
        *(f"#   {visible(name)} -> {given}" for name, given in renamed.items()),
    ]


def pytorch_script(graph: Graph, seed: Any) -> str:
    """The script text (see the module docstring). `seed` is ∂L/∂output as run.seed_for gives it."""
    names, renamed = _variable_names(graph)
    expressions: list[str] = []  # per node: how later lines refer to it
    lines = [
        "# PyTorch script exported by chainlens: the program below, float64, with the same inputs and",
        "# grad_output. Run it with `python <file>`; it prints the output and every input's gradient as JSON.",
        *(f"#   {visible(line)}" for line in graph.source.splitlines()),
        *_renamed_comment(renamed),
        "import json",
        "",
        "import torch",
        "import torch.nn.functional as F",
        "",
        "",
        "def tensor(value, requires_grad=False):",
        "    return torch.tensor(value, dtype=torch.float64, requires_grad=requires_grad)",
        "",
        "",
        "def listed(gradient):",
        "    return None if gradient is None else gradient.tolist()",
        "",
        "",
        "# Inputs, with the values chainlens used (initializers and dataset rows written out).",
    ]
    program: list[str] = []
    for node, op in enumerate(graph.ops):
        shape = graph.shapes[node]
        if op is None:
            if graph.names[node] is None:  # a constant of the program: written where it is used
                expressions.append(f"tensor({literal(graph.values[node])})")
                continue
            requires_grad = graph.requires_grad[node]
            value = literal(graph.values[node])
            if prod(shape) == 0:  # an empty nested list does not carry its shape
                created = f"torch.tensor({value}, dtype=torch.float64).reshape({shape!r})"
                created += ".requires_grad_()" if requires_grad else ""
            else:
                created = f"tensor({value}, requires_grad={requires_grad})"
            lines.append(f"{names[node]} = {created}")
            expressions.append(names[node])
            continue
        spell = SPELLINGS.get(op.name)
        if spell is None:
            raise ProgramError("not_exportable", f"the op {op.name} has no PyTorch spelling yet")
        operands = [expressions[j] for j in graph.args[node]]
        operand_shapes = [graph.shapes[j] for j in graph.args[node]]
        try:
            text = spell(*operands, operand_shapes, **(graph.params[node] or {}))
        except TypeError:  # an option the spelling does not know yet
            raise ProgramError(
                "not_exportable",
                f"the op {op.name} with {sorted(graph.params[node] or {})} has no PyTorch spelling yet",
            ) from None
        program.append(f"{names[node]} = {text}")
        expressions.append(names[node])
    out_shape = graph.shapes[output_of(graph)]  # an empty gradient's nested list does not carry its shape
    grads = ", ".join(
        f"{json.dumps(name)}: listed({expressions[node]}.grad)"
        for node, (op, name) in enumerate(zip(graph.ops, graph.names))
        if op is None and name is not None and graph.requires_grad[node]
    )
    lines += [
        "",
        "# The program, one line per node of chainlens' graph.",
        *program,
        f"out = {expressions[output_of(graph)]}",
        "",
        "# Backward from the output with the upstream gradient chainlens used.",
        f"grad_output = tensor({literal(seed)})" + (f".reshape({out_shape!r})" if prod(out_shape) == 0 else ""),
        "if out.requires_grad:",
        "    out.backward(grad_output)",
        "",
        f'print(json.dumps({{"output": out.detach().tolist(), "grads": {{{grads}}}}}))',
        "",
    ]
    return "\n".join(lines)

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
import keyword
from math import prod
from typing import Any, Callable

import numpy as np

from app.engine.errors import LimitExceeded, ProgramError
from app.engine.graph import Graph
from app.engine.shapes import normalize_axes
from app.export.pytorch_layers import LAYER_SPELLINGS

# Names the script itself uses; a program variable of that name gets a trailing underscore.
_RESERVED = {"json", "torch", "F", "tensor", "listed", "out", "grad_output", "print", "float"}


def _dims(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    axes = normalize_axes(axis, len(shape))
    return tuple(range(len(shape))) if axes is None else axes


def _reduction(function: str) -> Callable:
    def spell(x: str, shapes: list, axis=None, keepdims=False) -> str:
        if axis is None and not keepdims:
            return f"{function}({x})"
        return f"{function}({x}, dim={_dims(shapes[0], axis)!r}, keepdim={keepdims!r})"
    return spell


def _options(**given) -> str:
    """Keyword arguments given in the program (None: left to PyTorch's default), as source text."""
    return "".join(f", {name}={value!r}" for name, value in given.items() if value is not None)


def _mse(pred: str, target: str, shapes: list, reduction: str | None = None) -> str:
    options = _options(reduction=reduction)
    if shapes[0] == shapes[1]:
        return f"F.mse_loss({pred}, {target}{options})"
    # mse_loss warns when it broadcasts; broadcasting first is the same mean over the same elements.
    return f"F.mse_loss(*torch.broadcast_tensors({pred}, {target}){options})"


def _cross_entropy(logits: str, labels: str, shapes: list, weight=None, ignore_index=None,
                   label_smoothing=None, reduction=None) -> str:
    weights = None if weight is None else f"tensor({[float(w) for w in weight]!r})"
    options = _options(ignore_index=ignore_index, label_smoothing=label_smoothing or None, reduction=reduction)
    if weights is not None:
        options = f", weight={weights}" + options
    return f"F.cross_entropy({logits}, {labels}.detach().long(){options})"


def _onehot(labels: str, shapes: list, classes: int, ignore_index=None) -> str:
    indices = f"{labels}.detach().long()"
    if ignore_index is None:
        return f"F.one_hot({indices}, {classes}).to(torch.float64)"
    # A label equal to ignore_index gives a row of zeros (one_hot itself refuses it).
    kept = f"({indices} != {ignore_index})"
    return (f"(F.one_hot(torch.where({kept}, {indices}, 0), {classes}) * {kept}.unsqueeze(-1))"
            ".to(torch.float64)")


def _transpose(x: str, shapes: list, axes=None) -> str:
    ndim = len(shapes[0])
    order = tuple(reversed(range(ndim))) if axes is None else tuple(a % ndim for a in axes)
    return f"{x}.permute{order!r}" if len(order) != 1 else f"{x}.permute({order[0]})"


def _reshape(x: str, shapes: list, shape) -> str:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return f"torch.reshape({x}, {shape!r})"


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
    **{name: _function(f"torch.{name}") for name in ("exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu")},
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
    return leaves + prod(graph.shapes[graph.output])


def check_size(graph: Graph, max_elements: int) -> int:
    count = script_elements(graph)
    if count > max_elements:
        raise LimitExceeded(
            f"the script would write {count:,} numbers as literals (the limit is {max_elements:,}): "
            "export a program with smaller inputs"
        )
    return count


def _variable_names(graph: Graph) -> list[str]:
    """A Python variable per node: the input's or assigned name where that is unambiguous,
    else the name with the node id, else t<id>; constants are written inline."""
    assigned = [name for op, name in zip(graph.ops, graph.names) if op is not None and name is not None]
    inputs = {name for op, name in zip(graph.ops, graph.names) if op is None and name is not None}
    taken = set(assigned) | inputs | _RESERVED
    names = []
    for node, (op, name) in enumerate(zip(graph.ops, graph.names)):
        if name is None:
            generated = f"t{node}"
            while generated in taken:  # a program variable that is itself called t<id>
                generated += "_"
            names.append(generated)
            continue
        safe = name + "_" if name in _RESERVED or keyword.iskeyword(name) else name
        if op is None or (assigned.count(name) == 1 and name not in inputs):
            names.append(safe)
        else:
            names.append(f"{safe}_{node}")
    return names


def pytorch_script(graph: Graph, seed: Any) -> str:
    """The script text (see the module docstring). `seed` is ∂L/∂output as run.seed_for gives it."""
    names = _variable_names(graph)
    expressions: list[str] = []  # per node: how later lines refer to it
    lines = [
        "# PyTorch script exported by chainlens: the program below, float64, with the same inputs and",
        "# grad_output. Run it with `python <file>`; it prints the output and every input's gradient as JSON.",
        *(f"#   {line}" for line in graph.source.splitlines()),
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
            raise ProgramError("not_exportable", f"the op {op.name} with {sorted(graph.params[node] or {})} "
                                                 "has no PyTorch spelling yet") from None
        program.append(f"{names[node]} = {text}")
        expressions.append(names[node])
    grads = ", ".join(
        f"{json.dumps(name)}: listed({expressions[node]}.grad)"
        for node, (op, name) in enumerate(zip(graph.ops, graph.names))
        if op is None and name is not None and graph.requires_grad[node]
    )
    lines += [
        "",
        "# The program, one line per node of chainlens' graph.",
        *program,
        f"out = {expressions[graph.output]}",
        "",
        "# Backward from the output with the upstream gradient chainlens used.",
        f"grad_output = tensor({literal(seed)})",
        "if out.requires_grad:",
        "    out.backward(grad_output)",
        "",
        f'print(json.dumps({{"output": out.detach().tolist(), "grads": {{{grads}}}}}))',
        "",
    ]
    return "\n".join(lines)

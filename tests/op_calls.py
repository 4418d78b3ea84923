"""One op called on named inputs through the engine's API, without the parser.

Ops whose call the language writes in a way of its own (a subscript builds `index`, a list
builds `cat`) are tested here as they reach the engine: `graph.apply(op, operands, params)`.
The inputs are declared and built exactly as app.core.evaluate does; the operands are the
inputs in the order given (an input may appear in `operands` more than once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.core import declare_inputs
from app.engine.graph import Graph
from app.engine.limits import Limits
from app.engine.ops import OPS
from app.engine.run import Result, run


def call_text(op: str, operands: list[str], params: Mapping[str, Any] | None) -> str:
    """How the call reads in an id or a message: `cat(a, b, axis=1)`."""
    shown = list(operands) + [f"{name}={value!r}" for name, value in (params or {}).items()]
    return f"out = {op}({', '.join(shown)})"


def build_call(
    op: str,
    params: Mapping[str, Any] | None,
    inputs: Mapping[str, Any],
    operands: list[str] | None = None,
    limits: Limits | None = None,
) -> Graph:
    limits = limits or Limits()
    declared = declare_inputs(inputs, limits)
    names = list(declared) if operands is None else operands
    text = call_text(op, names, params)
    graph = Graph(text, limits)
    leaves = {}
    for name in dict.fromkeys(names):
        given = declared[name]
        leaves[name] = graph.leaf(name, given.built(), given.shape, given.requires_grad, 0, len(text))
    graph.output = graph.apply(
        OPS[op], tuple(leaves[name] for name in names), dict(params) if params else None, 0, len(text)
    )
    return graph


def evaluate_call(
    op: str,
    params: Mapping[str, Any] | None,
    inputs: Mapping[str, Any],
    grad_output: Any = None,
    *,
    backward: bool = True,
    operands: list[str] | None = None,
) -> Result:
    """As app.core.evaluate, for the single call op(*operands, **params)."""
    graph = build_call(op, params, inputs, operands)
    seed = None
    if backward and grad_output is not None:
        value = np.asarray(grad_output, dtype=np.float64)
        seed = (float(value) if value.ndim == 0 else value, value.shape)
    return run(graph, seed, with_backward=backward)

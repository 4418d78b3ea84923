"""Engine results → response bodies, encoded once by orjson (which writes numpy arrays directly).

FastAPI's default encoder walks every value in Python; for a 10,000-node graph that was most of
the request's time. Here the body is assembled from floats and arrays and handed to orjson whole.

Two things orjson will not do for us: it writes NaN and infinities as null (the contract wants
the strings "NaN", "Infinity", "-Infinity"), and it refuses 0-d and non-contiguous arrays (a
transposed or broadcast gradient). Arrays are checked with one vectorized isfinite each; scalars
are summed as they are added, and only a non-finite sum (a NaN or infinity somewhere, or an
overflow of finite values) sends the body through the slow path that replaces them.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from app.engine.errors import SourceMap
from app.engine.run import Result

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def number(x: float) -> float | str:
    if x != x:
        return "NaN"
    return _NON_FINITE.get(x, x)


class _Values:
    """Turns floats and arrays into JSON-ready values, summarizing tensors past a size."""

    __slots__ = ("max_elements", "total")

    def __init__(self, max_elements: int) -> None:
        self.max_elements = max_elements
        self.total = 0.0  # sum of every scalar encoded: non-finite iff some scalar may be

    def __call__(self, value: Any) -> Any:
        if type(value) is float:
            self.total += value
            return value
        if value is None:
            return None
        if isinstance(value, np.ndarray) and value.ndim:
            if value.size > self.max_elements:
                return self.summary(value)
            if not np.isfinite(value).all():
                return _replace_non_finite(value.tolist())
            return value if value.flags.c_contiguous else np.ascontiguousarray(value)
        return self(float(value))  # numpy scalars and 0-d arrays

    def summary(self, value: np.ndarray) -> dict:
        return {
            "truncated": True,
            "shape": list(value.shape),
            "min": number(float(value.min())),
            "max": number(float(value.max())),
            "mean": number(float(value.mean())),
            "norm": number(float(np.linalg.norm(value.ravel()))),
        }


def _replace_non_finite(data: Any) -> Any:
    """Walks lists and dicts (iteratively) and replaces non-finite floats by their strings."""
    root = [data]
    stack = [root]
    while stack:
        container = stack.pop()
        keys = range(len(container)) if isinstance(container, list) else list(container)
        for key in keys:
            item = container[key]
            if type(item) is float:
                if not math.isfinite(item):
                    container[key] = number(item)
            elif isinstance(item, (list, dict)):
                stack.append(item)
            elif isinstance(item, np.ndarray) and not np.isfinite(item).all():
                container[key] = _replace_non_finite(item.tolist())
    return root[0]


def _formula_label(label: str) -> str:
    """Labels that are expressions get parentheses inside formulas: ∂y/∂(x * a + b)."""
    return label if label.isidentifier() or _is_plain_number(label) else f"({label})"


def _is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def graph_body(result: Result, max_full_elements: int, max_step_elements: int) -> bytes:
    """The JSON body of POST /graph/backward (and /graph/forward, where grads is None)."""
    graph = result.graph
    full = _Values(max_full_elements)
    brief = _Values(max_step_elements)
    source_map = SourceMap(graph.source)
    grads = result.grads
    labels = [graph.label(node) for node in range(len(graph))]
    nodes = []
    for node, op in enumerate(graph.ops):
        entry = {
            "id": node,
            "op": op.name if op is not None else ("constant" if graph.constant[node] else "input"),
            "name": graph.names[node],
            "label": labels[node],
            "shape": list(graph.shapes[node]),
            "value": full(graph.values[node]),
            "grad": full(grads[node]) if grads is not None else None,
            "inputs": list(graph.args[node]),
            "span": source_map.span(graph.starts[node], graph.ends[node]),
        }
        params = graph.params[node]
        if params:
            entry["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
        nodes.append(entry)

    steps: list[dict] = [{"phase": "forward", "node": node} for node in result.forward]
    names = [_formula_label(label) for label in labels]
    for step in result.steps:
        op = graph.ops[step.node]
        operands = graph.args[step.node]
        formula = op.formulas[step.slot].format(
            out=names[step.node], **{name: names[j] for name, j in zip(op.operands, operands)}
        )
        steps.append({
            "phase": "backward",
            "node": step.node,
            "input": step.input,
            "slot": step.slot,
            "upstream": brief(grads[step.node]),
            "local": {"formula": formula, "value": brief(step.local)},
            "contribution": brief(step.contribution),
            "accumulated": brief(step.accumulated),
            "summed_axes": list(step.summed_axes),
        })

    body = {
        "nodes": nodes,
        "output": graph.output,
        "forward": result.forward,
        "steps": steps,
        "truncated_elements": max_full_elements,
    }
    if not (math.isfinite(full.total) and math.isfinite(brief.total)):
        body = _replace_non_finite(body)
    return orjson.dumps(body, option=_OPTIONS)


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=_OPTIONS)

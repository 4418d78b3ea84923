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

    def many(self, values: list) -> list:
        """Like calling self on each value, with Python floats (the common case) passed as they are."""
        encoded = [value if type(value) is float else self(value) for value in values]
        self.total += sum([value for value in values if type(value) is float])
        return encoded

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
    return label if label.isidentifier() or label.replace(".", "", 1).isdigit() else f"({label})"


def _line_columns(graph) -> list[list[int]]:
    """Lines and columns of every node's span start and end, found for all nodes at once."""
    line_starts = np.array(SourceMap(graph.source).line_starts)
    columns = []
    for offsets in (np.array(graph.starts), np.array(graph.ends)):
        lines = np.searchsorted(line_starts, offsets, side="right")
        columns += [lines.tolist(), (offsets - line_starts[lines - 1] + 1).tolist()]
    return columns


def _formulas(graph, step_nodes: tuple[int, ...], slots: tuple[int, ...], labels: list[str]) -> list[str]:
    """Each backward step's local-derivative formula, with node labels in the op's template.

    A consumer's formulas (one per operand) are filled in once, and cached by op and labels: a
    program that repeats a line (h = tanh(h * w + b)) repeats its formulas too.
    """
    distinct = {label: _formula_label(label) for label in set(labels)}
    shown = list(map(distinct.__getitem__, labels))
    shown_at = shown.__getitem__  # mapped over a node's operands without a comprehension's frame
    ops, args = graph.ops, graph.args
    cache: dict[tuple, tuple[str, ...]] = {}
    per_node: dict[int, tuple[str, ...]] = {}
    for node in dict.fromkeys(step_nodes):
        op = ops[node]
        key = (op.name, shown[node], *map(shown_at, args[node]))
        formulas = cache.get(key)
        if formulas is None:
            names = dict(zip(op.operands, key[2:]), out=key[1])
            formulas = cache[key] = tuple(template.format(**names) for template in op.formulas)
        per_node[node] = formulas
    return [per_node[node][slot] for node, slot in zip(step_nodes, slots)]


def graph_body(result: Result, max_full_elements: int, max_step_elements: int) -> bytes:
    """The JSON body of POST /graph/backward (and /graph/forward, where grads is None).

    Built column by column with comprehensions (a Python loop with a call per field was most
    of the request's time on large graphs); tuples go to orjson as JSON arrays as they are.
    """
    graph = result.graph
    full = _Values(max_full_elements)
    brief = _Values(max_step_elements)
    grads = result.grads
    values = full.many(graph.values)
    node_grads = full.many(grads) if grads is not None else [None] * len(graph)
    kinds = [
        op.name if op is not None else ("constant" if constant else "input")
        for op, constant in zip(graph.ops, graph.constant)
    ]
    # graph.label gives the name first too; asking it only for unnamed nodes saves a call per name.
    label_of = graph.label
    labels = [name if name is not None else label_of(node) for node, name in enumerate(graph.names)]
    nodes = [
        {"id": node, "op": kind, "name": name, "label": label, "shape": shape, "value": value,
         "grad": grad, "inputs": operands,
         "span": {"line": line, "column": column, "end_line": end_line, "end_column": end_column}}
        for node, kind, name, label, shape, value, grad, operands, line, column, end_line, end_column in zip(
            range(len(graph)), kinds, graph.names, labels, graph.shapes, values, node_grads, graph.args,
            *_line_columns(graph),
        )
    ]
    for node, params in enumerate(graph.params):
        if params:
            nodes[node]["params"] = params

    steps: list[dict] = [{"phase": "forward", "node": node} for node in result.forward]
    if result.records:
        # One transpose of the records (laid out as Step) into columns, each encoded in one pass.
        step_nodes, step_inputs, slots, locals_, contributions, accumulated, summed = zip(*result.records)
        steps += [
            {"phase": "backward", "node": node, "input": operand, "slot": slot, "upstream": upstream,
             "local": {"formula": formula, "value": local}, "contribution": contribution,
             "accumulated": so_far, "summed_axes": axes}
            for node, operand, slot, upstream, formula, local, contribution, so_far, axes in zip(
                step_nodes, step_inputs, slots, brief.many([grads[node] for node in step_nodes]),
                _formulas(graph, step_nodes, slots, labels), brief.many(locals_), brief.many(contributions),
                brief.many(accumulated), summed,
            )
        ]

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

"""The network's health at a record: dead ReLU units, saturated sigmoid and tanh units, and how
large each node's gradient is. Read from the values and gradients a training step computed."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine.graph import Graph

# A sigmoid whose output is within this of 0 or 1 passes on less than 1 % of its gradient
# (s·(1 − s) < 0.0099); a tanh within it of ±1 less than 2 % (1 − t² < 0.0199).
SATURATION = 0.01


def dead_share(out: Any) -> float:
    """Share of a ReLU's units (its last axis) that are 0 for every row of the batch."""
    array = np.asarray(out)
    if array.ndim == 0:
        return float(array <= 0)
    dead = np.all(array.reshape(-1, array.shape[-1]) <= 0, axis=0)
    return float(dead.mean()) if dead.size else 0.0


def saturated_share(op: str, out: Any) -> float:
    """Share of a sigmoid's or tanh's outputs within SATURATION of their bounds."""
    array = np.asarray(out)
    if not array.size:
        return 0.0
    if op == "sigmoid":
        saturated = (array < SATURATION) | (array > 1 - SATURATION)
    else:
        saturated = np.abs(array) > 1 - SATURATION
    return float(saturated.mean())


def norm(value: Any) -> float:
    if value is None:
        return 0.0
    return float(np.sqrt(np.sum(np.square(value))))


def health(graph: Graph, grads: list[Any]) -> dict[str, dict]:
    """{node id: {"grad_norm", and "dead" on relu nodes, "saturated" on sigmoid and tanh}} for every
    op node through which a gradient flowed."""
    report = {}
    for node, op in enumerate(graph.ops):
        if op is None or grads[node] is None:
            continue
        entry: dict[str, float] = {"grad_norm": norm(grads[node])}
        if op.name == "relu":
            entry["dead"] = dead_share(graph.values[node])
        elif op.name in ("sigmoid", "tanh"):
            entry["saturated"] = saturated_share(op.name, graph.values[node])
        report[str(node)] = entry
    return report

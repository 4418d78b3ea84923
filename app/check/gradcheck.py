"""Central finite differences against the engine's gradients, element by element.

The quantity differentiated is L = Σ out · grad_output (grad_output defaults to ones, so for a
scalar output L is the output itself); its gradient with respect to an input is exactly what
the backward pass seeded with grad_output computes.

- Step: h = ε^(1/3) · max(1, |x|) (about 6e-6 for |x| ≤ 1), ε the float64 machine epsilon. The
  central difference's truncation error grows as h² and its rounding error as ε/h; this h
  balances the two. The denominator is the step actually taken, (x + h) − (x − h), so the
  rounding of x ± h itself costs nothing.
- Relative error of an element: |numeric − analytic| / max(|numeric|, |analytic|, floor), and 0
  where the two are equal. floor = 1e-3 × the largest |analytic| of that input (and at least the
  smallest normal float): an element whose gradient is a thousand times smaller than its
  neighbours' is measured against them, so the unavoidable rounding noise of the difference
  quotient does not read as a 100 % error where the true gradient is 0.
- Inputs with more than `sample` elements are checked on `sample` of them, drawn without
  replacement by numpy's default_rng(0): the same elements on every run.

Each checked element costs two forward passes; `plan` and `cost` size the work before any runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any, Callable

import numpy as np

from app.check.limits import GRADCHECK_NODE_COST
from app.engine.graph import Graph
from app.engine.run import forward

EPSILON = float(np.finfo(np.float64).eps)
STEP = EPSILON ** (1 / 3)
FLOOR_FRACTION = 1e-3
SAMPLE_SEED = 0


@dataclass(slots=True)
class Planned:
    leaf: int
    name: str
    shape: tuple[int, ...]
    indices: np.ndarray  # flat indices of the checked elements, ascending


@dataclass(slots=True)
class InputCheck:
    name: str
    shape: tuple[int, ...]
    indices: np.ndarray
    numeric: np.ndarray
    analytic: np.ndarray
    rel_error: np.ndarray

    @property
    def max_rel_error(self) -> float:
        return float(np.max(self.rel_error)) if self.rel_error.size else 0.0


def plan(graph: Graph, sample: int) -> list[Planned]:
    """Every named input that takes a gradient, in the order the program uses them, with the
    elements to check (all of them, or a seeded sample of `sample`)."""
    planned = []
    for leaf, (op, name) in enumerate(zip(graph.ops, graph.names)):
        if op is not None or name is None or not graph.requires_grad[leaf]:
            continue
        shape = graph.shapes[leaf]
        count = prod(shape)
        if count <= sample:
            indices = np.arange(count)
        else:
            indices = np.sort(np.random.default_rng(SAMPLE_SEED).choice(count, size=sample, replace=False))
        planned.append(Planned(leaf, name, shape, indices))
    return planned


def cost(graph: Graph, planned: list[Planned]) -> int:
    """Work units of the check: two forward passes per checked element."""
    per_pass = graph.work + GRADCHECK_NODE_COST * len(graph.computed())
    return 2 * sum(item.indices.size for item in planned) * per_pass


def _objective(graph: Graph, seed: Any) -> float:
    forward(graph)
    return float(np.sum(np.multiply(graph.values[graph.output], seed)))


def gradcheck(graph: Graph, grads: list[Any], seed: Any, planned: list[Planned],
              check: Callable[[], None] = lambda: None) -> list[InputCheck]:
    """Numeric against analytic gradients for the planned elements. `grads` is the backward pass's
    result on this graph; the graph's values are recomputed (and its inputs restored) here."""
    values = graph.values
    results = []
    with np.errstate(all="ignore"):
        for item in planned:
            original = values[item.leaf]
            if item.shape and not original.flags.c_contiguous:  # reshape(-1) below must be a view
                original = values[item.leaf] = np.ascontiguousarray(original)
            analytic_all = np.zeros(item.shape) if grads[item.leaf] is None else np.asarray(grads[item.leaf], dtype=np.float64)
            analytic = analytic_all.reshape(-1)[item.indices].copy()
            numeric = np.empty(item.indices.size)
            flat = original.reshape(-1) if item.shape else None  # a view: inputs are contiguous
            for position, index in enumerate(item.indices):
                check()
                x = float(flat[index]) if item.shape else original
                step = STEP * max(1.0, abs(x))
                above, below = x + step, x - step
                totals = []
                for perturbed in (above, below):
                    if item.shape:
                        flat[index] = perturbed
                    else:
                        values[item.leaf] = perturbed
                    totals.append(_objective(graph, seed))
                if item.shape:
                    flat[index] = x
                else:
                    values[item.leaf] = original
                numeric[position] = (totals[0] - totals[1]) / (above - below)
            results.append(InputCheck(item.name, item.shape, item.indices, numeric, analytic,
                                      relative_errors(numeric, analytic, analytic_all)))
        forward(graph)  # leave the graph's values as they were
    return results


def relative_errors(numeric: np.ndarray, analytic: np.ndarray, analytic_all: np.ndarray) -> np.ndarray:
    """|n − a| / max(|n|, |a|, floor) per element (see the module docstring); nan where either is."""
    magnitude = np.abs(analytic_all[np.isfinite(analytic_all)])
    floor = max(FLOOR_FRACTION * float(magnitude.max()) if magnitude.size else 0.0, float(np.finfo(np.float64).tiny))
    difference = np.abs(numeric - analytic)
    scale = np.maximum(np.maximum(np.abs(numeric), np.abs(analytic)), floor)
    errors = difference / scale
    errors[numeric == analytic] = 0.0  # equal infinities too
    return errors

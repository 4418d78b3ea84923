"""Finite differences against the engine's gradients, element by element.

The quantity differentiated is L = Σ out · grad_output (grad_output defaults to ones, so for a
scalar output L is the output itself); its gradient with respect to an input is exactly what
the backward pass seeded with grad_output computes.

- Difference: the fourth-order central difference over x ± h and x ± 2h,
  D = 4/3 · (L(x + h) − L(x − h)) / ((x + h) − (x − h))
      − 1/3 · (L(x + 2h) − L(x − 2h)) / ((x + 2h) − (x − 2h)),
  each quotient divided by the step actually taken (the rounding of x ± h costs nothing). Its
  truncation error grows as h⁴ (the plain central difference's as h²), so the step can be large,
  h = ε^(1/4) · max(1, |x|) (about 1.2e-4 for |x| ≤ 1), and the rounding error of L, about ε·|L|/h,
  counts about 13 times less than at the plain difference's best step ε^(1/3): on the digits network
  that noise read as relative errors of 2e-6 on its smaller gradients.
- Kinks (relu and abs at 0, ties of max, maximum, minimum): L is only piecewise smooth, and a kink
  within 2h of x bends the quotients. It shows in the fourth difference
  L(x + 2h) − 4·L(x + h) + 6·L(x) − 4·L(x − h) + L(x − 2h): about h⁴·L⁗ where L is smooth (below
  L's rounding at this step), about h·|the slope's jump| across a kink. Past NOISE_MARGIN times
  the rounding of L (sampled once per input: the same fourth difference over steps of 1e-9, where
  neither curvature nor kinks show) the element is differenced on one side only, x to x ± 4h, on
  the side whose own fourth difference shows no kink (the one-sided fourth-order difference,
  error h⁴·L⁽⁵⁾/5), else again with h / 16, up to KINK_RETRIES times; the extra passes come out
  of an allowance (PASSES for every RETRY_SHARE elements checked), counted in `cost`. The digits
  network at step 1 has a relu input 1.5e-6 from 0 on one row of its batch: the plain central
  difference read b2's gradient there with the wrong sign. An element right at a kink still
  reads as an error (the one-sided slopes differ there; the engine, like PyTorch, picks one).
- Relative error of an element: |numeric − analytic| / max(|numeric|, |analytic|, floor), and 0
  where the two are equal. floor = 1e-3 × the largest |analytic| of that input (and at least the
  smallest normal float): an element whose gradient is a thousand times smaller than its
  neighbours' is measured against them, so the unavoidable rounding noise of the difference
  quotient does not read as a 100 % error where the true gradient is 0.
- Inputs with more than `sample` elements are checked on `sample` of them, drawn without
  replacement by numpy's default_rng(0): the same elements on every run.

Each checked element costs PASSES forward passes (more where a kink is met, within the allowance),
plus the rounding samples and one pass at the inputs as given; `plan` and `cost` size the work
before any runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from math import prod
from typing import Any

import numpy as np

from app.check.limits import pass_work
from app.engine.graph import Graph
from app.engine.run import forward, output_of

EPSILON = float(np.finfo(np.float64).eps)
STEP = EPSILON ** (1 / 4)
PASSES = 4  # L at x ± h and x ± 2h
KINK_SHRINK = 16
NOISE_STEP = 1e-9  # steps at which L's fourth difference is rounding alone
NOISE_SAMPLES = 4  # elements of each input where that rounding is sampled (4 passes each)
NOISE_MARGIN = 4
KINK_RETRIES = 3
RETRY_SHARE = 4  # the retries a check may spend: one for every RETRY_SHARE elements it checks
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


def retries(planned: list[Planned]) -> int:
    """Re-differenced elements a check may spend on kinks (each costs PASSES more passes)."""
    return -(-sum(item.indices.size for item in planned) // RETRY_SHARE)


def cost(graph: Graph, planned: list[Planned]) -> int:
    """Work units of the check: PASSES forward passes per checked element, per rounding sample and
    per retry it may spend on kinks, and the pass at the inputs as given."""
    per_pass = pass_work(graph)
    samples = sum(min(item.indices.size, NOISE_SAMPLES) for item in planned)
    passes = PASSES * (sum(item.indices.size for item in planned) + retries(planned) + samples) + 1
    return passes * per_pass


def _objective(graph: Graph, seed: Any) -> float:
    forward(graph)
    return float(np.sum(np.multiply(graph.values[output_of(graph)], seed)))


def _set(graph: Graph, leaf: int, flat: np.ndarray | None, index: int, value: float) -> None:
    """One element of the input at `leaf` set to `value` (`flat`: the input's flat view, None for a
    scalar input)."""
    if flat is not None:
        flat[index] = value
    else:
        graph.values[leaf] = value


def _objective_at(graph: Graph, seed: Any, leaf: int, flat: np.ndarray | None, index: int, value: float) -> float:
    """L with one element of an input set to `value` (see _set); the caller puts it back."""
    _set(graph, leaf, flat, index, value)
    return _objective(graph, seed)


def _fourth(f0: float, f1: float, f2: float, f3: float, f4: float) -> float:
    return f4 - 4 * f3 + 6 * f2 - 4 * f1 + f0


def _rounding(objective: Callable[[float], float], x: float, at_x: float) -> float:
    """How far rounding alone moves a fourth difference of L near x: the fourth difference over
    steps of NOISE_STEP · max(1, |x|), far too small for a curvature or a kink to show in it (and
    a straight line's fourth difference is 0). L's own rounding is not ε·|L|: a loss near 0 made of
    logits near 10 rounds as those do."""
    tiny = NOISE_STEP * max(1.0, abs(x))
    return abs(_fourth(at_x, *(objective(x + k * tiny) for k in (1, 2, 3, 4))))


def _difference(
    objective: Callable[[float], float], x: float, at_x: float, noise: float, allowance: int
) -> tuple[float, int]:
    """(∂L/∂x by finite differences, the passes spent past PASSES), L(x) being at_x: the central
    difference; where a kink bends it, the one-sided difference on the side without one (where
    both sides are smooth, the kink is at x: the central difference), else all again with a step
    16 times smaller; extra passes only while `allowance` lasts."""
    step = STEP * max(1.0, abs(x))
    spent = 0
    for attempt in range(KINK_RETRIES + 1):
        if attempt:
            spent += PASSES
        points = [x + step, x - step, x + 2 * step, x - 2 * step]
        near_above, near_below, far_above, far_below = (objective(p) for p in points)
        central = 4 / 3 * (near_above - near_below) / (points[0] - points[1]) - 1 / 3 * (far_above - far_below) / (
            points[2] - points[3]
        )
        # A fourth difference past rounding: a kink within the stencil (NaN never is one).
        if not abs(_fourth(far_below, near_below, at_x, near_above, far_above)) > noise:
            return central, spent
        # The kink lies on one side: the one-sided difference of the other side, whose own fourth
        # difference shows none. Where neither shows one, the kink is at x itself: its slopes
        # differ and the derivative is a convention (the engine's, PyTorch's), so the central
        # difference stays, as there is no side to prefer.
        if spent + 4 > allowance:
            return central, spent
        spent += 4
        smooth = []
        for sign, near, far in ((1.0, near_above, far_above), (-1.0, near_below, far_below)):
            beyond, farthest = objective(x + 3 * sign * step), objective(x + 4 * sign * step)
            if not abs(_fourth(at_x, near, far, beyond, farthest)) > noise:
                # the one-sided fourth-order difference, error h⁴·L⁽⁵⁾/5
                smooth.append((-25 * at_x + 48 * near - 36 * far + 16 * beyond - 3 * farthest) / (12 * sign * step))
        if len(smooth) == 1:
            return smooth[0], spent
        if len(smooth) == 2:
            return central, spent
        if attempt == KINK_RETRIES or spent + PASSES > allowance:
            return central, spent
        step /= KINK_SHRINK
    return central, spent


def gradcheck(
    graph: Graph, grads: list[Any], seed: Any, planned: list[Planned], check: Callable[[], None] = lambda: None
) -> list[InputCheck]:
    """Numeric against analytic gradients for the planned elements. `grads` is the backward pass's
    result on this graph; the graph's values are recomputed (and its inputs restored) here."""
    values = graph.values
    results = []
    allowance = PASSES * retries(planned)  # forward passes the kinks may take
    with np.errstate(all="ignore"):
        at_x = _objective(graph, seed)
        for item in planned:
            original = values[item.leaf]
            if item.shape and not original.flags.c_contiguous:  # reshape(-1) below must be a view
                original = values[item.leaf] = np.ascontiguousarray(original)
            gradient = grads[item.leaf]
            analytic_all = np.zeros(item.shape) if gradient is None else np.asarray(gradient, dtype=np.float64)
            analytic = analytic_all.reshape(-1)[item.indices].copy()
            numeric = np.empty(item.indices.size)
            flat = original.reshape(-1) if item.shape else None  # a view: inputs are contiguous
            objectives = [partial(_objective_at, graph, seed, item.leaf, flat, index) for index in item.indices]
            points = [float(flat[index]) if flat is not None else original for index in item.indices]
            # The rounding of L, sampled at the input's first elements; a fourth difference counts
            # as a kink past NOISE_MARGIN times the largest sample (and never below ε·|L|).
            samples = []
            for index, objective, x in zip(item.indices, objectives, points[:NOISE_SAMPLES]):
                check()
                samples.append(_rounding(objective, x, at_x))
                _set(graph, item.leaf, flat, index, x)
            noise = NOISE_MARGIN * max([*samples, EPSILON * abs(at_x)])
            for position, (index, objective, x) in enumerate(zip(item.indices, objectives, points)):
                check()
                numeric[position], spent = _difference(objective, x, at_x, noise, allowance)
                allowance -= spent
                _set(graph, item.leaf, flat, index, x)
            results.append(
                InputCheck(
                    item.name,
                    item.shape,
                    item.indices,
                    numeric,
                    analytic,
                    relative_errors(numeric, analytic, analytic_all),
                )
            )
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

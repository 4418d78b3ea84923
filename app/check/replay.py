"""The tutorial's two backward mistakes, replayed on a graph, and where they part from the truth.

- "naive-recursion": the tutorial's `Tensor.backward(grad)` adds `grad` into the node's gradient
  and then calls backward on every operand with the node's *accumulated* gradient. A node
  reached along k paths from the output propagates k times, each time with everything it has
  received so far: through a shared intermediate the first contributions are counted again
  (for `q = x * a; y = q * q` at x = 1.5, a = 2: 18 and 13.5 instead of 12 and 9). It is run
  here with an explicit stack in the recursion's depth-first order, never with Python recursion.
- "overwrite": the correct walk (reverse topological order, each node propagated once) but each
  contribution is assigned to the operand's gradient instead of added: a value used twice keeps
  only its last contribution.

Both walkers take each edge's (local, contribution) from `app.engine.run.edge`, the function the
engine's own backward pass uses, so no derivative is written twice. The recursion's length is the
number of (path, edge) pairs; `recursion_size` counts it iteratively, before anything runs, so a
program where it explodes is refused with a reason instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest
from math import prod
from typing import Any, cast

import numpy as np

from app.engine.errors import LimitExceeded
from app.engine.graph import Graph
from app.engine.ops import Op
from app.engine.run import Result, edge, output_of

MODES = ("naive-recursion", "overwrite")


def active_slots(graph: Graph, node: int) -> list[int]:
    """The operand slots of `node` that a gradient flows through, as the engine's backward decides."""
    op = cast("Op", graph.ops[node])  # an op node: never None
    requires_grad = graph.requires_grad
    return [
        slot
        for slot, operand in enumerate(graph.args[node])
        if requires_grad[operand] and (graph.scalar[node] or op.differentiable(slot))
    ]


def recursion_size(graph: Graph, order: list[int], cap: int) -> tuple[int, int]:
    """(edge steps, elements moved) of the naive recursion, each saturating just past `cap`.

    A node propagates once per arrival, and it receives one arrival per path from the output to it:
    arrivals(operand) = Σ over the edges into it of arrivals(consumer). One pass in reverse
    topological order counts them; saturating keeps the numbers small where they would explode.
    """
    arrivals = [0] * len(graph)
    output = output_of(graph)
    if graph.requires_grad[output]:
        arrivals[output] = 1
    steps = elements = 0
    args, shapes = graph.args, graph.shapes
    for node in reversed(order):
        times = arrivals[node]
        if not times:
            continue
        for slot in active_slots(graph, node):
            operand = args[node][slot]
            arrivals[operand] = min(arrivals[operand] + times, cap + 1)
            steps = min(steps + times, cap + 1)
            elements = min(elements + times * (prod(shapes[node]) + prod(shapes[operand])), cap + 1)
    return steps, elements


def check_recursion(graph: Graph, order: list[int], max_steps: int, max_work: int) -> tuple[int, int]:
    """The recursion's (steps, elements moved), or LimitExceeded saying why it is too long.
    Needs only the graph's shapes: it runs before any tensor exists."""
    steps, elements = recursion_size(graph, order, max(max_steps, max_work))
    if steps > max_steps:
        raise LimitExceeded(
            f"the recursive backward would apply more than {max_steps:,} edge steps, the limit: it "
            "propagates a node once for every path from the output to it, and the paths double with "
            "every level where a value is used twice. The correct backward needs one step per edge; "
            "replay a smaller program"
        )
    if elements > max_work:
        raise LimitExceeded(
            f"the recursive backward would move more than {max_work:,} tensor elements (the limit "
            "is the program's work limit): it re-sends every accumulated gradient once per path"
        )
    return steps, elements


class _Replay:
    """A replay as it grows: each node's gradient, the steps laid out as run.Step, and the
    gradient each step's node sent (it changes from step to step in the recursion)."""

    def __init__(self, graph: Graph, scalar_locals: list[Any], seed: Any) -> None:
        self.graph, self.scalar_locals = graph, scalar_locals
        self.grads: list[Any] = [None] * len(graph)
        self.records: list[tuple] = []
        self.upstreams: list[Any] = []
        output = output_of(graph)
        self.started = graph.requires_grad[output]  # else no gradient flows at all
        if self.started:
            self.grads[output] = seed

    def send(self, node: int, slot: int, upstream: Any, add: bool) -> tuple[int, Any]:
        """Applies one edge; (the operand, its gradient now). `add` False is the overwrite mistake."""
        operand = self.graph.args[node][slot]
        local, contribution, summed = edge(self.graph, self.scalar_locals, node, slot, upstream)
        so_far = self.grads[operand]
        so_far = contribution if so_far is None or not add else so_far + contribution
        self.grads[operand] = so_far
        self.records.append((node, operand, slot, local, contribution, so_far, summed))
        self.upstreams.append(upstream)
        return operand, so_far

    def result(self) -> tuple[list[Any], list[tuple], list[Any]]:
        return self.grads, self.records, self.upstreams


def naive_recursion(
    graph: Graph, scalar_locals: list[Any], seed: Any, check: Callable[[], None] = lambda: None
) -> tuple[list[Any], list[tuple], list[Any]]:
    """(grads, records laid out as run.Step, upstream sent on each step) of the tutorial's recursion."""
    replay = _Replay(graph, scalar_locals, seed)
    if not replay.started:
        return replay.result()
    # The recursion's call stack, made explicit: (node, slot, the gradient node sends). The top
    # is applied first, so operands are visited in order and each one's subtree before the next.
    output = output_of(graph)
    stack = [(output, slot, seed) for slot in reversed(active_slots(graph, output))]
    while stack:
        if len(replay.records) % 256 == 0:
            check()
        node, slot, upstream = stack.pop()
        operand, so_far = replay.send(node, slot, upstream, add=True)
        if graph.ops[operand] is not None:
            # The mistake: the operand sends on everything it holds now, not what just arrived.
            stack.extend((operand, next_slot, so_far) for next_slot in reversed(active_slots(graph, operand)))
    return replay.result()


def overwrite(
    graph: Graph, order: list[int], scalar_locals: list[Any], seed: Any, check: Callable[[], None] = lambda: None
) -> tuple[list[Any], list[tuple], list[Any]]:
    """(grads, records, upstreams) of the correct walk with `grad = contribution` in place of `+=`."""
    replay = _Replay(graph, scalar_locals, seed)
    if not replay.started:
        return replay.result()
    for node in reversed(order):
        upstream = replay.grads[node]
        if upstream is None:
            continue
        check()
        for slot in active_slots(graph, node):
            replay.send(node, slot, upstream, add=False)  # the mistake: what arrived before is lost
    return replay.result()


# --- comparing with the correct run --------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Two gradients (None, floats or arrays) equal up to rounding: different summation orders
    of the same contributions differ in the last bits, which is no mistake."""
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    finite = np.abs(b[np.isfinite(b)])
    scale = float(finite.max()) if finite.size else 1.0
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12 * max(scale, 1.0), equal_nan=True))


def first_departure(correct: list[tuple], replay: list[tuple], mode: str) -> tuple[int | None, int | None]:
    """(index into replay, index into correct) of the first replay step that sends along an edge
    something other than the correct pass sends along that edge, or that uses an edge a second
    time; for "overwrite" also the first that leaves a different gradient behind. (None, None)
    when none does.

    Steps are matched by edge, not by position: the recursion visits edges depth-first, the
    correct pass node by node, and an order alone changes no number. For the same reason the
    recursion's running sums are not compared: a leaf used twice receives its two contributions
    in another order, and ends with the right gradient.
    """
    compare_accumulated = mode == "overwrite"
    by_edge = {record[:3]: index for index, record in enumerate(correct)}
    used: set[tuple] = set()
    for index, record in enumerate(replay):
        key = record[:3]
        match = by_edge.get(key)
        if match is None or key in used:
            return index, match
        used.add(key)
        expected = correct[match]
        if not same(record[4], expected[4]) or (compare_accumulated and not same(record[5], expected[5])):
            return index, match
    return None, None


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if np.ndim(value) == 0:
        return f"{float(value):.6g}"
    return "[" + "×".join(map(str, np.shape(value))) + " tensor]"


def explain(graph: Graph, mode: str, correct: list[tuple], replay: list[tuple], at: int | None) -> str:
    """One sentence on why the replay parts from the correct run at replay step `at`."""
    if at is None and mode == "overwrite":
        return (
            "Overwriting loses nothing here: no value receives more than one contribution, so "
            "there is nothing to add up."
        )
    if at is None:
        return (
            "The recursion sends the same gradient along every edge as the correct pass: no "
            "intermediate result is used twice, so re-sending accumulated gradients never repeats "
            "a contribution (an input used twice still adds up right)."
        )
    node, operand = replay[at][:2]
    source, target = graph.label(node), graph.label(operand)
    contribution = replay[at][4]
    if mode == "overwrite":
        before = _previous(replay, at, operand)
        return (
            f"{target}'s gradient is overwritten: the contribution {_shown(contribution)} via {source} "
            f"replaces the {_shown(before)} {target} had already received instead of being added to it "
            f"(the correct pass adds them: {_shown(correct_accumulated(correct, replay[at]))})."
        )
    expected = sum(1 for record in correct if record[1] == node)
    received = sum(1 for record in replay[:at] if record[1] == node)
    if received < expected:
        return (
            f"{source} sends its gradient on to {target} after only {received} of its {expected} "
            f"contributions: the recursion propagates a node on every arrival, so {source} will "
            f"resend its whole sum when the next one comes and {target} counts this part twice. "
            f"The correct pass propagates {source} once, after all of its consumers."
        )
    return (
        f"{source} sends its accumulated gradient {_shown(_previous(replay, at, node))} "
        f"to {target} again: every new contribution to {source} re-sends everything it holds, so "
        f"{target} receives the earlier contributions more than once."
    )


def _previous(replay: list[tuple], at: int, operand: int) -> Any:
    for record in reversed(replay[:at]):
        if record[1] == operand:
            return record[5]
    return None


def correct_accumulated(correct: list[tuple], record: tuple) -> Any:
    for expected in correct:
        if expected[:3] == record[:3]:
            return expected[5]
    return None


def divergence(graph: Graph, mode: str, correct: Result, replay_grads: list[Any], replay: list[tuple]) -> dict:
    """The response's `diverges`: per node whether its gradient is wrong, and where the replay parts."""
    at, correct_at = first_departure(correct.records, replay, mode)
    forward_count = len(correct.forward)
    correct_grads = cast("list[Any]", correct.grads)  # the correct run went backward: never None
    return {
        "nodes": [not same(wrong, right) for wrong, right in zip_longest(replay_grads, correct_grads)],
        "first_step": None if at is None else forward_count + at,
        "correct_step": None if correct_at is None else forward_count + correct_at,
        "correct_steps": forward_count + len(correct.records),
        "explanation": explain(graph, mode, correct.records, replay, at),
    }

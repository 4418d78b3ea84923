"""Forward and backward of one parsed graph, again and again, with nothing recorded.

The training loop's inner step: the graph is parsed once, then each step sets new leaf values
(the batch, the parameters) and runs this pass. It computes the same values and gradients as
app.engine.run, from the same op table entries (forward, local derivatives, vjps), but keeps no
step record, and back-propagates only into nodes on a path to the leaves asked for (`targets`):
the data side of a network takes no work.

Shapes never change between steps, so what app.engine.run decides per edge and per call (is the
contribution broadcast, over which axes is it summed back) is decided once, at the first
backward pass, and then applied directly. A step of a small network is mostly Python overhead:
this is where it is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from operator import itemgetter
from typing import Any, cast

import numpy as np

from app.engine.graph import Graph
from app.engine.ops import ARRAY, Op, OpError
from app.engine.run import _located, output_of, skips_empty
from app.engine.shapes import unbroadcast

_UNKNOWN = object()  # an edge whose reduction is found on its first use

Operands = Callable[[list[Any]], tuple[Any, ...]]  # values -> a node's operand values
# (node, its call, its operands, _SCALAR, _SAVING or 0, the result is 0-d)
ForwardStep = tuple[int, Callable[..., Any], Operands, int, bool]
# (node, its operands for the vjps, scalar node, edges [slot, operand, local or None, vjp or None, reduction])
BackwardStep = tuple[int, Operands, bool, list[list[Any]]]


_SCALAR, _SAVING = 1, 2  # a node whose call answers (value, kept): local derivatives, or what its vjps need


class LeanPass:
    __slots__ = ("backward_plan", "forward_plan", "grads", "graph", "kept", "seed")

    def __init__(self, graph: Graph, targets: list[int]) -> None:
        self.graph = graph
        ops, args, params, scalar, shapes = graph.ops, graph.args, graph.params, graph.scalar, graph.shapes
        op_at = cast("list[Op]", ops)  # at the nodes of `order`, never None
        order = graph.computed()
        # leads[node]: some target lies at or below node, so its gradient is needed.
        leads = [False] * len(ops)
        for target in targets:
            leads[target] = True
        for node in order:
            leads[node] = any(leads[j] for j in args[node])
        # An op that can keep what its vjps need (the loss's softmax) keeps it, where its
        # gradient is needed and its result is not empty (an empty result is zeros, uncomputed).
        saving = [
            op is not None
            and leads[node]
            and not scalar[node]
            and op.forward_saving is not None
            and 0 not in shapes[node]
            for node, op in enumerate(ops)
        ]
        self.kept: list[Any] = [None] * len(ops)
        # Each node's call is bound here, once: ARRAY and the node's parameters are the same at
        # every step (a partial's call also costs less than passing them, **{} included).
        self.forward_plan: list[ForwardStep] = [
            (
                node,
                cast("Callable[..., Any]", op_at[node].scalar)
                if scalar[node]
                else partial(cast("Callable[..., Any]", op_at[node].forward_saving), **(params[node] or {}))
                if saving[node]
                else skips_empty(
                    partial(op_at[node].forward, ARRAY, **(params[node] or {})), shapes[node], op_at[node].checks_values
                ),
                _operands(args[node]),
                _SCALAR if scalar[node] else _SAVING if saving[node] else 0,
                not shapes[node],
            )
            for node in order
        ]
        self.backward_plan: list[BackwardStep] = []
        for node in reversed(order):
            if not leads[node]:
                continue
            op = op_at[node]
            # per edge: [slot, operand, local derivative or None, vjp or None, reduction (found later)],
            # the local derivative bound to ARRAY and the vjp to the node's parameters; a saving
            # node's vjps read what its forward kept, in place of its operands (an elementwise op's
            # too: they take the place of its local derivatives)
            vjps: Any = (
                op.vjp_saved
                if saving[node]
                else [vjp and _bound(vjp, params[node]) for vjp in map(op.vjp_at, range(len(args[node])))]
                if op.vjp is not None
                else ()
            )
            by_local = op.local is not None and not saving[node]
            edges: list[list[Any]] = [
                [
                    slot,
                    operand,
                    partial(op.local[slot], ARRAY) if by_local else None,  # type: ignore[index]
                    None if by_local else skips_empty(vjps[slot], shapes[operand]),
                    _UNKNOWN,
                ]
                for slot, operand in enumerate(args[node])
                if leads[operand] and op.differentiable(slot)
            ]
            operands_of: Operands = partial(_kept, self.kept, node) if saving[node] else _operands(args[node])
            self.backward_plan.append((node, operands_of, scalar[node], edges))
        self.grads: list[Any] = [None] * len(ops)
        output = output_of(graph)
        self.seed = 1.0 if not shapes[output] else np.ones(shapes[output])

    def forward(self) -> Any:
        """Every op node's value (into graph.values); answers the output's value."""
        values = self.graph.values
        kept = self.kept
        node = -1
        try:
            for node, call, operands_of, keeps, zero_d in self.forward_plan:
                out = call(*operands_of(values))
                if keeps:  # (value, local derivatives...) or (value, what the vjps need)
                    kept[node] = out
                    if keeps == _SCALAR:
                        values[node] = out[0]
                        continue
                    out = out[0]
                values[node] = float(out) if zero_d else out
        except OpError as exc:
            raise _located(self.graph, node, str(exc)) from None
        return values[output_of(self.graph)]

    def backward(self) -> list[Any]:
        """Gradients of the nodes on a path to the targets (None elsewhere), after forward(),
        seeded with ones. Callers run both under np.errstate(all="ignore"), as app.engine.run
        does: inf and nan are answers here."""
        graph = self.graph
        values, shapes = graph.values, graph.shapes
        grads: list[Any] = [None] * len(graph.ops)
        self.grads = grads
        grads[output_of(graph)] = self.seed
        for node, operands_of, scalar, edges in self.backward_plan:
            upstream = grads[node]
            if upstream is None:
                continue
            if scalar:  # Python floats: the forward pass computed the local derivatives
                computed = self.kept[node]
                for slot, operand, _, _, _ in edges:
                    contribution = upstream * computed[slot + 1]
                    so_far = grads[operand]
                    grads[operand] = contribution if so_far is None else so_far + contribution
                continue
            operands = operands_of(values)
            out = values[node]
            for edge in edges:
                slot, operand, local, vjp, reduction = edge
                try:
                    if local is not None:
                        contribution = upstream * local(out, *operands)
                    else:
                        contribution = vjp(upstream, out, *operands)
                except OpError as exc:
                    raise _located(graph, node, str(exc)) from None
                if reduction is _UNKNOWN:
                    reduction = edge[4] = _reduction(contribution, shapes[operand])
                if reduction is not None:
                    axes, target = reduction
                    if axes is not None:
                        contribution = np.add.reduce(contribution, axis=axes)
                    if not target:
                        contribution = float(contribution)
                    elif contribution.shape != target:  # summed axes of size 1 kept (b of shape (1, n))
                        contribution = np.reshape(contribution, target)
                so_far = grads[operand]
                grads[operand] = contribution if so_far is None else so_far + contribution
        return grads


def _kept(kept: list[Any], node: int, values: list[Any]) -> tuple[Any, ...]:
    """A saving node's vjp operand: what its forward pass kept, in place of its operands."""
    return (kept[node][1],)


def _operands(ids: tuple[int, ...]) -> Operands:
    """values -> the tuple of a node's operand values, in one C call."""
    if len(ids) == 1:
        only = ids[0]
        return lambda values: (values[only],)
    if not ids:  # a constant maker (ones, arange, ...)
        return lambda values: ()
    return itemgetter(*ids)


def _bound(vjp: Callable[..., Any], params: dict[str, Any] | None) -> Callable[..., Any]:
    """A node's vjp with its parameters bound (the vjp itself when it has none)."""
    return partial(vjp, **params) if params else vjp


def _reduction(contribution: Any, target: tuple[int, ...]) -> tuple[Any, tuple[int, ...]] | None:
    """How an edge's contribution is brought to its operand's shape at every step: None when it
    already has it, else (the axes to sum, None for none; shape), found by the engine's one
    unbroadcast rule."""
    shape = np.shape(contribution)
    if shape == target:
        return None if target or isinstance(contribution, float) else (None, ())
    axes = unbroadcast(np.zeros(shape), target)[1]
    # one axis as an int: ufunc.reduce takes it faster than a 1-tuple (a bias's gradient, each step)
    return (axes[0] if len(axes) == 1 else axes or None), target

"""Forward and backward of one parsed graph, again and again, with nothing recorded.

The training loop's inner step: the graph is parsed once, then each step sets new leaf values
(the batch, the parameters) and runs this pass. It computes the same values and gradients as
app.engine.run (the same op table entries, the same edge function `_tensor_edge`), but keeps no
step record and back-propagates only into nodes on a path to the leaves asked for (`targets`):
the data side of a network takes no work.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from app.engine.graph import Graph
from app.engine.ops import ARRAY, OpError
from app.engine.run import _located, _tensor_edge


class LeanPass:
    __slots__ = ("graph", "forward_plan", "backward_plan", "grads", "scalar_locals")

    def __init__(self, graph: Graph, targets: list[int]) -> None:
        self.graph = graph
        ops, args, params, scalar, shapes = graph.ops, graph.args, graph.params, graph.scalar, graph.shapes
        order = graph.computed()
        # leads[node]: some target lies at or below node, so its gradient is needed.
        leads = [False] * len(ops)
        for target in targets:
            leads[target] = True
        for node in order:
            leads[node] = any(leads[j] for j in args[node])
        self.forward_plan = [
            (node, ops[node], args[node], params[node] or {}, scalar[node], not shapes[node]) for node in order
        ]
        self.backward_plan = []
        for node in reversed(order):
            if not leads[node]:
                continue
            op = ops[node]
            edges = tuple(
                (slot, operand) for slot, operand in enumerate(args[node])
                if leads[operand] and op.differentiable(slot)
            )
            self.backward_plan.append((node, args[node], scalar[node], edges))
        self.grads: list[Any] = [None] * len(ops)
        self.scalar_locals: list[Any] = [None] * len(ops)

    def forward(self) -> Any:
        """Every op node's value (into graph.values); answers the output's value."""
        values = self.graph.values
        scalar_locals = self.scalar_locals
        try:
            for node, op, operand_ids, kwargs, scalar, zero_d in self.forward_plan:
                if scalar:
                    computed = op.scalar(*[values[j] for j in operand_ids])
                    values[node] = computed[0]
                    scalar_locals[node] = computed
                    continue
                out = op.forward(ARRAY, *[values[j] for j in operand_ids], **kwargs)
                values[node] = float(out) if zero_d else out
        except OpError as exc:
            raise _located(self.graph, node, str(exc)) from None
        return values[self.graph.output]

    def backward(self, seed: Any = 1.0) -> list[Any]:
        """Gradients of the nodes on a path to the targets (None elsewhere), after forward()."""
        graph = self.graph
        values, shapes = graph.values, graph.shapes
        grads = self.grads = [None] * len(graph.ops)
        grads[graph.output] = seed
        for node, operand_ids, scalar, edges in self.backward_plan:
            upstream = grads[node]
            if upstream is None:
                continue
            if scalar:
                computed = self.scalar_locals[node]
                for slot, operand in edges:
                    contribution = upstream * computed[slot + 1]
                    so_far = grads[operand]
                    grads[operand] = contribution if so_far is None else so_far + contribution
                continue
            operands = [values[j] for j in operand_ids]
            out = values[node]
            for slot, operand in edges:
                contribution = _tensor_edge(graph, node, slot, upstream, out, operands, shapes[operand])[1]
                so_far = grads[operand]
                grads[operand] = contribution if so_far is None else so_far + contribution
        return grads

    def run(self) -> tuple[Any, list[Any]]:
        """forward, then backward seeded with 1: (loss, gradients). inf and nan are answers here."""
        with np.errstate(all="ignore"):
            loss = self.forward()
            return loss, self.backward()

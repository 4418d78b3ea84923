"""Composites, inside out: a composite op's call built as the primitives it is made of.

Each composite of the op table (linear, mse, softmax_cross_entropy, softmax, log_softmax,
sigmoid) declares its `decomposition`: a small program in our own language over its operand
names (`x @ W + b`). With `expand`, the parser meets such a call and, instead of one node,
parses that program into the same graph with the operand names bound to the call's operand
nodes. The same parser, the same whitelist, the same shape and limit checks: nothing is eval'd,
and the derivatives are the primitives' own, so an expanded run computes the composite's
gradients by the chain rule through them (the tests hold the two equal).

Every node a call creates belongs to a *group* (`{id, op, label, nodes, inputs, output,
parent}`): nodes are every node inside the box (nested groups' too), inputs the call's operands,
output the node that stands where the composite would have. Inner nodes are labelled by their
text in the decomposition with the operands' labels put in (`x @ W1`), or by the decomposition's
own names (`shift`); their spans are the call's, so "show in program" points at the call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from app.engine.errors import ProgramError
from app.engine.graph import Graph, _shortened  # labels are shortened as the graph shortens its own
from app.engine.layers import SHAPED
from app.engine.ops import OPS, Op

COMPOSITES = tuple(name for name, op in OPS.items() if op.decomposition is not None)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATOM = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(\(.*\))?|-?[0-9.]+")


@dataclass
class Group:
    id: int
    op: str
    nodes: list[int]
    inputs: list[int]
    output: int
    parent: int | None


@dataclass
class _Frame:
    """A decomposition being parsed: its nodes from `first` on have spans into `source`."""

    first: int
    source: str
    operands: dict[str, str]  # operand name in the decomposition → the operand's label
    group: int


@dataclass
class Expand:
    """Which composites to open (`names`, or every one when None), and what opening them built."""

    names: frozenset[str] | None = None
    groups: list[Group] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)  # node → label, for inner nodes
    group_of: dict[int, int] = field(default_factory=dict)  # node → its innermost group
    _frames: list[_Frame] = field(default_factory=list)

    @classmethod
    def from_request(cls, expand: Any) -> Expand | None:
        """The request's `expand`: null, "all", or a list of composite op names."""
        if expand is None or expand == []:
            return None
        if expand == "all":
            return cls()
        if not isinstance(expand, list) or not all(isinstance(name, str) for name in expand):
            raise ProgramError("invalid_input", 'expand must be "all" or a list of composite op names', input="expand")
        unknown = [name for name in expand if name not in COMPOSITES]
        if unknown:
            raise ProgramError(
                "invalid_input",
                f"expand names {', '.join(map(repr, unknown))}, which {'is' if len(unknown) == 1 else 'are'} "
                f"not a composite op; the composites are {', '.join(COMPOSITES)}",
                input="expand",
            )
        return cls(frozenset(expand))

    def opens(self, name: str) -> bool:
        return self.names is None or name in self.names

    # --- building ---------------------------------------------------------------------------------

    def call(
        self, parser: Any, op: Op, operands: tuple[int, ...], params: dict[str, Any] | None, start: int, end: int
    ) -> int:
        """Build `op(operands)` as its decomposition; returns the node that stands for the call."""
        graph = parser.graph
        graph.expansion = self
        # The composite's own shape rule first: its error names the call and its operands' shapes.
        graph._checked_shape(op, operands, params, start, end)
        params = params or {}
        shapes = [graph.shapes[j] for j in operands]
        decompose = op.decomposition
        if decompose is None:
            raise ValueError(f"{op.name} is not a composite: it has no decomposition")
        # A layer's decomposition depends on its operands' shapes (which axes, which are absent) and
        # may bind constants made from them (attention's causal mask): it takes `shapes` and answers
        # (text, {name: array}).
        constants: dict[str, Any] = {}
        if op.name in SHAPED:
            # (Op.decomposition is typed for the composites' text; SHAPED ones answer the pair.)
            text, constants = cast("tuple[str, dict[str, Any]]", decompose(shapes=shapes, **params))
        else:
            text = decompose(**params)
        if "{C}" in text:
            text = text.replace("{C}", str(shapes[0][-1]))
        parent = self._frames[-1].group if self._frames else None
        group = Group(len(self.groups), op.name, [], list(operands), -1, parent)
        self.groups.append(group)
        first = len(graph)
        scope = dict(zip(op.operands, operands))
        frame = _Frame(first, text, {name: _operand_label(self.label(graph, j)) for name, j in scope.items()}, group.id)
        for name, value in constants.items():
            scope[name] = graph.leaf(None, value, np.shape(value), False, start, end)
            self.labels[scope[name]] = name
        if params.get("weight") is not None:
            scope["weight"] = graph.leaf(None, np.array(params["weight"]), (len(params["weight"]),), False, start, end)
            self.labels[scope["weight"]] = "weight"
        self._frames.append(frame)
        try:
            sub = type(parser)(text, {}, graph.limits, expand=self, graph=graph)
            sub.scope.update(scope)
            output: int = sub.program().output  # program() leaves its last statement as the output
        except ProgramError as exc:
            if exc.kind == "limit_exceeded":
                exc.start, exc.end = start, end
                raise
            raise ProgramError(
                exc.kind, f"inside the expansion of {op.name}: {exc.message}", start=start, end=end
            ) from None
        finally:
            self._frames.pop()
        for node in range(first, len(graph)):
            if node not in self.labels and node != output:
                name = graph.names[node]
                self.labels[node] = name if name is not None else _shortened(self._text(frame, graph, node))
            graph.names[node] = None  # the decomposition's names are not the program's
            graph.starts[node], graph.ends[node] = start, end
            self.group_of.setdefault(node, group.id)
        group.nodes = list(range(first, len(graph)))
        group.output = output
        return output

    def label(self, graph: Graph, node: int) -> str:
        """A node's label while decompositions are still being parsed (their spans not yet moved)."""
        if node in self.labels:
            return self.labels[node]
        for frame in reversed(self._frames):
            if node >= frame.first:
                return _shortened(self._text(frame, graph, node))
        return graph.label(node)

    @staticmethod
    def _text(frame: _Frame, graph: Graph, node: int) -> str:
        text = frame.source[graph.starts[node] : graph.ends[node]]
        return _NAME.sub(lambda m: frame.operands.get(m.group(0), m.group(0)), text)

    # --- reading ----------------------------------------------------------------------------------

    def node_labels(self, labels: list[str]) -> list[str]:
        """The graph's labels with the inner nodes' own put in."""
        for node, label in self.labels.items():
            labels[node] = label
        return labels

    def node_groups(self, count: int) -> list[int | None]:
        return [self.group_of.get(node) for node in range(count)]

    def records(self, labels: list[str]) -> list[dict[str, Any]]:
        return [
            {
                "id": g.id,
                "op": g.op,
                "label": labels[g.output],
                "nodes": g.nodes,
                "inputs": g.inputs,
                "output": g.output,
                "parent": g.parent,
            }
            for g in self.groups
        ]


def _operand_label(label: str) -> str:
    """An operand's label as it reads inside an expression: parenthesized unless it is atomic."""
    return label if _ATOM.fullmatch(label) else f"({label})"

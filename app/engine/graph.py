"""The computation graph, and the static shape pass that runs while it is built.

A graph is a set of parallel lists indexed by node id (no object per node: a 10,000-node graph
stays cheap to build and to collect). Ids are given in creation order, and a node is created
only after its operands, so creation order is a topological order: no traversal, recursive or
otherwise, is ever needed to find one.

Every node added is checked at once, before any array exists: its shape (a ShapeError becomes
a ProgramError naming the operands and their shapes), the size of its result, the node count
and the running total of work, against the configured limits.
"""
from __future__ import annotations

from typing import Any

from app.engine.errors import LimitExceeded, ProgramError
from app.engine.limits import Limits
from app.engine.ops import Op
from app.engine.shapes import ShapeError, fmt, size

LABEL_CHARS = 24


class Graph:
    __slots__ = (
        "source", "limits", "ops", "args", "params", "shapes", "names", "starts", "ends",
        "values", "requires_grad", "scalar", "constant", "work", "output",
    )

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.ops: list[Op | None] = []  # None for inputs and constants
        self.args: list[tuple[int, ...]] = []
        self.params: list[dict[str, Any] | None] = []
        self.shapes: list[tuple[int, ...]] = []
        self.names: list[str | None] = []
        self.starts: list[int] = []  # character offsets into source
        self.ends: list[int] = []
        self.values: list[Any] = []  # set for leaves now, for op nodes by the forward pass
        self.requires_grad: list[bool] = []
        self.scalar: list[bool] = []  # result and every operand are scalars: use Python floats
        self.constant: list[bool] = []  # a leaf that is a literal of the program
        self.work = 0
        self.output: int | None = None

    def __len__(self) -> int:
        return len(self.ops)

    # --- building -----------------------------------------------------------------------------

    def _push(self, op, args, params, shape, start, end, value, requires_grad, scalar, constant):
        node = len(self.ops)
        if node >= self.limits.max_nodes:
            raise LimitExceeded(
                f"the program needs more than {self.limits.max_nodes} nodes (the limit)", start=start, end=end
            )
        self.ops.append(op)
        self.args.append(args)
        self.params.append(params)
        self.shapes.append(shape)
        self.names.append(None)
        self.starts.append(start)
        self.ends.append(end)
        self.values.append(value)
        self.requires_grad.append(requires_grad)
        self.scalar.append(scalar)
        self.constant.append(constant)
        return node

    def leaf(self, name: str | None, value: Any, shape: tuple[int, ...], requires_grad: bool,
             start: int, end: int) -> int:
        """An input (with a name) or a constant (without); its value is already decoded."""
        node = self._push(None, (), None, shape, start, end, value, requires_grad, not shape, name is None)
        self.names[node] = name
        return node

    def apply(self, op: Op, args: tuple[int, ...], params: dict[str, Any] | None, start: int, end: int) -> int:
        shapes = self.shapes
        operand_shapes = [shapes[j] for j in args]
        if op.local is not None and not any(operand_shapes):
            shape: tuple[int, ...] = ()  # elementwise on scalars: the common case, decided fast
            elements = 1
        else:
            try:
                shape = op.shape(*operand_shapes, **params) if params else op.shape(*operand_shapes)
            except ShapeError as exc:
                raise ProgramError(
                    "shape_mismatch", self._shape_message(op, args, str(exc)), start=start, end=end
                ) from None
            elements = size(shape)
            if elements > self.limits.max_tensor_elements:
                raise LimitExceeded(
                    f"{self.source[start:end]} would have shape {fmt(shape)}, {elements} elements; "
                    f"the limit is {self.limits.max_tensor_elements} per tensor", start=start, end=end,
                )
            if op.work is not None:
                elements = op.work(shape, *operand_shapes)
        self.work += elements or 1
        if self.work > self.limits.max_total_work:
            raise LimitExceeded(
                f"the program needs more than {self.limits.max_total_work} units of work (the limit)",
                start=start, end=end,
            )
        requires = self.requires_grad
        requires_grad = True in [requires[j] for j in args]
        # An elementwise op with a scalar result has only scalar operands: run it on Python floats.
        return self._push(op, args, params, shape, start, end, None, requires_grad,
                          not shape and op.local is not None, False)

    def _shape_message(self, op: Op, args: tuple[int, ...], reason: str) -> str:
        names = op.operands
        fits = ", ".join(
            f"{self.label(j)} has shape {fmt(self.shapes[j])}" for j in args
        )
        described = op.syntax.format(**{name: self.label(j) for name, j in zip(names, args)})
        return f"shapes do not fit in {described}: {fits}; {reason}"

    # --- reading ------------------------------------------------------------------------------

    def label(self, node: int) -> str:
        """The name, else the constant's value, else the node's source text (shortened)."""
        name = self.names[node]
        if name is not None:
            return name
        text = " ".join(self.source[self.starts[node]:self.ends[node]].split())
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"

    def computed(self) -> list[int]:
        """Op nodes in the order the forward pass computes them."""
        return [node for node, op in enumerate(self.ops) if op is not None]

"""The computation graph, and the static shape pass that runs while it is built.

A graph is a set of parallel columns indexed by node id (no object per node: a 10,000-node graph
stays cheap to build and to collect): lists, but for the nodes' places in the source, which are
arrays of machine integers (a run of lines gets its places from numpy without an int object
each, app/lang/shapes.py's line_places; the body reads them back without one either). Ids are
given in creation order, and a node is created only after its operands, so creation order is a
topological order: no traversal, recursive or otherwise, is ever needed to find one.

Every node added is checked at once, before any array exists: its shape (a ShapeError becomes
a ProgramError naming the operands and their shapes), the size of its result, the node count
and the running total of work, against the configured limits.
"""

from __future__ import annotations

from array import array
from itertools import compress
from typing import Any

from app.engine.errors import LimitExceeded, ProgramError
from app.engine.limits import Limits
from app.engine.ops import Op
from app.engine.shapes import ArgumentError, ShapeError, fmt, size

# The array type of the nodes' places (starts and ends): C's int, 32 bits (numpy's intc), ample
# for a program of Limits.max_program_chars, and half the memory a run of lines writes with 64.
PLACES = "i"
LABEL_CHARS = 24
# Texts up to this long are labelled from their whole text (Graph.labels); longer ones share prefixes.
SHORT_TEXT = 4 * LABEL_CHARS


class Graph:
    __slots__ = (
        "_ends",
        "_new_ends",
        "_new_starts",
        "_starts",
        "args",
        "constant",
        "expansion",
        "limits",
        "names",
        "ops",
        "output",
        "params",
        "requires_grad",
        "scalar",
        "shapes",
        "source",
        "values",
        "work",
    )

    def __init__(self, source: str, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.ops: list[Op | None] = []  # None for inputs and constants
        self.args: list[tuple[int, ...]] = []
        self.params: list[dict[str, Any] | None] = []
        self.shapes: list[tuple[int, ...]] = []
        self.names: list[str | None] = []
        # Character offsets into source: read as `starts` and `ends`. A node added by leaf or apply
        # has its places put in a list first (list.append costs half of array.append, on the path
        # of every node a program's lines build one by one), moved to the arrays when they are read
        # or a run's places are added (add_places).
        self._starts: array[int] = array(PLACES)
        self._ends: array[int] = array(PLACES)
        self._new_starts: list[int] = []
        self._new_ends: list[int] = []
        self.values: list[Any] = []  # set for leaves now, for op nodes by the forward pass
        self.requires_grad: list[bool] = []
        self.scalar: list[bool] = []  # result and every operand are scalars: use Python floats
        self.constant: list[bool] = []  # a leaf that is a literal of the program
        self.work = 0
        self.output: int | None = None
        self.expansion = None  # the composites built as primitives, when asked (app/engine/expand.py)

    def __len__(self) -> int:
        return len(self.ops)

    # --- building -----------------------------------------------------------------------------
    # Building is the hot loop of parsing (one call per node of a 10,000-node program), so the
    # appends are written out in leaf and apply instead of going through a shared helper, and
    # apply decides the common case (an elementwise op on scalars) without building any list.

    def leaf(
        self, name: str | None, value: Any, shape: tuple[int, ...], requires_grad: bool, start: int, end: int
    ) -> int:
        """An input (with a name) or a constant (without); its value is already decoded."""
        node = len(self.ops)
        if node >= self.limits.max_nodes:
            raise self._too_many_nodes(start, end)
        self.ops.append(None)
        self.args.append(())
        self.params.append(None)
        self.shapes.append(shape)
        self.names.append(name)
        self._new_starts.append(start)
        self._new_ends.append(end)
        self.values.append(value)
        self.requires_grad.append(requires_grad)
        self.scalar.append(not shape)
        self.constant.append(name is None)
        return node

    def apply(self, op: Op, args: tuple[int, ...], params: dict[str, Any] | None, start: int, end: int) -> int:
        """An op node on existing nodes; its shape, size and cost are checked here, in that order."""
        shapes = self.shapes
        requires = self.requires_grad
        # One pass over the operands: are they all scalars (then an elementwise op is a scalar,
        # with no shape rule to run: the common case), and does any of them require a gradient?
        scalar = op.local is not None
        requires_grad = False
        for j in args:
            if shapes[j]:
                scalar = False
            if requires[j]:
                requires_grad = True
        if requires_grad and op.vjp is not None and None in op.vjp:
            # Only operands a gradient can flow back to count (not labels, not what detach holds).
            requires_grad = any(requires[j] for slot, j in enumerate(args) if op.differentiable(slot))
        if scalar:
            shape: tuple[int, ...] = ()
            work = self.work + 1
        else:
            # (not cat and stack: their axis is one of the result's, which a scalar's stack has)
            if params and "axis" in params and not op.variadic and not shapes[args[0]]:
                params = _scalar_axis(params)
            shape, elements = self._checked_shape(op, args, params, start, end)
            work = self.work + (elements or 1)
            # An elementwise op with a scalar result has only scalar operands: run it on Python floats.
            scalar = not shape and op.local is not None
        limits = self.limits
        if work > limits.max_total_work:
            raise LimitExceeded(
                f"the program needs more than {limits.max_total_work} units of work (the limit)",
                start=start,
                end=end,
            )
        self.work = work
        ops = self.ops
        node = len(ops)
        if node >= limits.max_nodes:
            raise self._too_many_nodes(start, end)
        ops.append(op)
        self.args.append(args)
        self.params.append(params)
        shapes.append(shape)
        self.names.append(None)
        self._new_starts.append(start)
        self._new_ends.append(end)
        self.values.append(None)  # computed by the forward pass
        requires.append(requires_grad)
        self.scalar.append(scalar)
        self.constant.append(False)
        return node

    def add_scalars(
        self,
        ops: tuple[Op | None, ...],
        args: list[tuple[int, ...]],
        values: tuple[Any, ...],
        starts: list[int],
        ends: list[int],
    ) -> bool:
        """Several nodes at once, as leaf and apply would add them one by one: constants (op None,
        a float value) and elementwise ops without params, every operand a scalar (the caller
        knows the ops and constants; the operands that are not among these nodes are checked
        here). False, and nothing added, where they are not all scalars or a limit would stop
        one of them: the caller then adds them one by one, which raises that limit's error at the
        node it names. A repeated line (app/lang/replay.py) is built this way.
        """
        shapes, requires = self.shapes, self.requires_grad
        first = len(shapes)
        count = len(ops)
        op_count = count - ops.count(None)
        limits = self.limits
        if first + count > limits.max_nodes or self.work + op_count > limits.max_total_work:
            return False
        for operands in args:
            for j in operands:
                if j < first and shapes[j]:
                    return False
        flags: list[bool] = []
        for operands in args:  # an op requires a gradient if an operand does (never a constant)
            flag = False
            for j in operands:
                if requires[j] if j < first else flags[j - first]:
                    flag = True
                    break
            flags.append(flag)
        self.work += op_count
        self.ops += ops
        self.args += args
        self.params += [None] * count
        shapes += [()] * count
        self.names += [None] * count
        self._new_starts += starts
        self._new_ends += ends
        self.values += values
        requires += flags
        self.scalar += [True] * count
        self.constant += [op is None for op in ops]
        return True

    @property
    def starts(self) -> array[int]:
        """Where each node's text starts in source (see __init__)."""
        if self._new_starts:
            self._move_places()
        return self._starts

    @property
    def ends(self) -> array[int]:
        """Where each node's text ends in source."""
        if self._new_ends:
            self._move_places()
        return self._ends

    def add_places(self, starts: array[int], ends: array[int]) -> None:
        """The places of nodes added together (a run of lines: app/lang/replay.py, shapes.py)."""
        if self._new_starts:
            self._move_places()
        self._starts += starts
        self._ends += ends

    def _move_places(self) -> None:
        self._starts.extend(self._new_starts)
        self._ends.extend(self._new_ends)
        self._new_starts, self._new_ends = [], []

    def _checked_shape(
        self, op: Op, args: tuple[int, ...], params: dict[str, Any] | None, start: int, end: int
    ) -> tuple[tuple[int, ...], int]:
        """The result's shape by the op's rule, and its cost; the shape and its size are checked."""
        operand_shapes = [self.shapes[j] for j in args]
        try:
            shape = op.shape(*operand_shapes, **params) if params else op.shape(*operand_shapes)
        except ArgumentError as exc:
            raise ProgramError("bad_arguments", f"{op.name}: {exc}", start=start, end=end) from None
        except ShapeError as exc:
            raise ProgramError(
                "shape_mismatch", self._shape_message(op, args, str(exc)), start=start, end=end
            ) from None
        elements = size(shape)
        # An axis past the limit is refused even where another axis is 0 (numpy cannot make it).
        if elements > self.limits.max_tensor_elements or any(d > self.limits.max_tensor_elements for d in shape):
            raise LimitExceeded(
                f"{_shortened(self.source[start:end])} would have shape {fmt(shape)}, {elements} elements; "
                f"the limit is {self.limits.max_tensor_elements} per tensor",
                start=start,
                end=end,
            )
        if op.work is not None:
            elements = op.work(shape, *operand_shapes)
        elif op.budget is not None:
            elements, scratch = op.budget(shape, *operand_shapes, **(params or {}))
            if scratch > self.limits.max_tensor_elements:
                raise LimitExceeded(
                    f"{_shortened(self.source[start:end])} would need an intermediate of {scratch} elements; "
                    f"the limit is {self.limits.max_tensor_elements} per tensor",
                    start=start,
                    end=end,
                )
        return shape, elements

    def _too_many_nodes(self, start: int, end: int) -> LimitExceeded:
        return LimitExceeded(
            f"the program needs more than {self.limits.max_nodes} nodes (the limit)", start=start, end=end
        )

    def _shape_message(self, op: Op, args: tuple[int, ...], reason: str) -> str:
        fits = ", ".join(  # not an optional operand left out (an empty constant: see Op.optional)
            f"{self.label(j)} has shape {fmt(self.shapes[j])}"
            for j in args
            if not (self.constant[j] and self.shapes[j] == (0,))
        )
        described = op.syntax.format(**op.placeholders([self.label(j) for j in args]))
        if not args:  # a constant maker (ones, arange, ...): only its parameters can be wrong
            return f"{op.name} cannot make that tensor: {reason}"
        return f"shapes do not fit in {described}: {fits}; {reason}"

    # --- reading ------------------------------------------------------------------------------

    def label(self, node: int) -> str:
        """The name, else the constant's value, else the node's source text (shortened)."""
        name = self.names[node]
        return name if name is not None else _shortened(self.source[self.starts[node] : self.ends[node]])

    def labels(self) -> list[str]:
        """Every node's label, in time linear in the program.

        The source texts of a left-deep chain (x + x + ... + x) add up to N² characters, so no
        node's whole text is read: a label needs the first LABEL_CHARS characters of it (after
        whitespace is collapsed), and nodes that start at the same place share those. Per
        distinct start, `_Prefix` reads just far enough; a node that ends past that point has
        a cut label, and only the few nodes that end before it are shortened from their text.
        """
        source = self.source
        prefixes: dict[int, _Prefix] = {}
        # Short texts are read whole and each distinct one shortened once: a repeated line
        # (h = tanh(h * w + b)) repeats its texts, and a dict lookup costs less than a _Prefix.
        short: dict[str, str] = {}
        labels: list[str] = []
        append = labels.append
        for name, start, end in zip(self.names, self.starts, self.ends):
            if name is not None:
                append(name)
                continue
            if end - start <= SHORT_TEXT:
                text = source[start:end]
                label = short.get(text)
                if label is None:
                    label = short[text] = _shortened(text)
                append(label)
                continue
            prefix = prefixes.get(start)
            if prefix is None:
                prefix = prefixes[start] = _Prefix(source, start)
            append(prefix.cut if end >= prefix.reach else _shortened(source[start:end]))
        return labels

    def computed(self) -> list[int]:
        """Op nodes in the order the forward pass computes them.
        (compress picks them in C, a fifth of a comprehension's time: an Op is true, None false.)"""
        return list(compress(range(len(self.ops)), self.ops))


def _scalar_axis(params: dict[str, Any]) -> dict[str, Any]:
    """A 0-d operand reduced along axis 0 or -1: PyTorch treats it as having that one axis, which
    is the same as reducing over all (none) of its axes; numpy would refuse the axis."""
    if params["axis"] in (0, -1, (0,), (-1,)) and params["axis"] is not False:
        return {**params, "axis": None}
    return params


class _Prefix:
    """The label shared by every text that starts at `start` and ends at or past `reach`."""

    __slots__ = ("cut", "reach")

    def __init__(self, source: str, start: int) -> None:
        window = 4 * LABEL_CHARS
        while True:
            reach = min(start + window, len(source))
            collapsed = " ".join(source[start:reach].split())
            # Past LABEL_CHARS collapsed characters, every longer text has the same cut label:
            # its collapsed form begins with this one.
            if len(collapsed) > LABEL_CHARS or reach == len(source):
                break
            window *= 4
        self.reach = reach if len(collapsed) > LABEL_CHARS else len(source) + 1  # never: shorten it
        self.cut = collapsed[: LABEL_CHARS - 1] + "…"


def _shortened(text: str) -> str:
    """Source text as a label: whitespace runs (line breaks too) made one space, cut with … past LABEL_CHARS."""
    text = " ".join(text.split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"

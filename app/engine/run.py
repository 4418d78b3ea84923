"""Forward and backward passes over a built graph, recording every step.

Forward walks the nodes in creation (= topological) order. Backward walks them in reverse, so a
node propagates its gradient exactly once, after every consumer has contributed to it: the
tutorial's recursion re-propagated a node each time a contribution arrived, which double counts
through shared intermediates and is exponential on deep DAGs with fan-out.

Each backward edge applies `contribution = upstream · local` (or the op's vjp), sums broadcast
axes away (in `unbroadcast`, the one place for it) and adds into the operand's gradient with a
fresh `+`, never in place, so the record of what had accumulated at each step stays true.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, compress
from operator import add, mul
from types import FunctionType
from typing import Any, NamedTuple, cast

import numpy as np

from app.engine.errors import ProgramError
from app.engine.graph import Graph
from app.engine.kernels import PRODUCT_PARTS, SUM_PARTS
from app.engine.ops import ARRAY, SCALAR, Op, OpError
from app.engine.shapes import unbroadcast


class Step(NamedTuple):
    """One backward edge: gradient from `node` into its operand `input` at position `slot`.

    The backward pass records plain tuples in this layout (a tuple costs a fraction of an object
    per edge); `Result.steps` gives them these names.
    """

    node: int
    input: int
    slot: int
    local: Any  # ∂node/∂input elementwise (broadcast to node's shape), or None when not elementwise
    contribution: Any  # what reached `input` on this edge, in input's shape
    accumulated: Any  # input's gradient after this contribution
    summed_axes: tuple[int, ...]  # broadcast axes summed away (in node's coordinates)


@dataclass(slots=True)
class Result:
    graph: Graph
    forward: list[int]  # op nodes in the order computed
    grads: list[Any] | None  # None when only the forward pass ran; else None per node without gradient
    records: list[tuple[Any, ...]]  # backward edges in the order applied, laid out as Step
    seed: Any = None  # ∂L/∂output the backward pass started from (None when only the forward ran)

    @property
    def steps(self) -> list[Step]:
        return [Step._make(record) for record in self.records]

    @property
    def output(self) -> int:
        return output_of(self.graph)

    @property
    def values(self) -> list[Any]:
        return self.graph.values


# The passes call `check` (the job's cancellation check) once per this many nodes: walking the
# nodes in slices of this size costs nothing per node, unlike a test in the loop.
CHECK_EVERY = 512


def _checked(order: list[int], check: Callable[[], None] | None) -> Iterable[int]:
    """The nodes of `order`, with check() called before each slice of CHECK_EVERY of them.
    chain iterates each slice in C: the per-node cost is that of iterating a list."""
    if check is None:
        return order

    def slices() -> Iterator[list[int]]:
        for begin in range(0, len(order), CHECK_EVERY):
            check()
            yield order[begin : begin + CHECK_EVERY]

    return chain.from_iterable(slices())


def forward(
    graph: Graph, check: Callable[[], None] | None = None, kept: dict[int, Any] | None = None
) -> tuple[list[int], list[Any]]:
    """Compute every op node's value in place (see compute); `check` may raise to stop (a cancelled
    request). Returns the op nodes in the order computed, and per node the tuple (value, local
    derivatives...) of a scalar node (None for the others), which the replays of app.check multiply
    by (through `edge`)."""
    order = compute(graph, check, kept)
    values, args = graph.values, graph.args
    ops = cast("list[Op]", graph.ops)  # at the nodes of `order`, never None
    scalar_locals: list[Any] = [None] * len(ops)
    for node in compress(order, map(graph.scalar.__getitem__, order)):
        # (the op's kernel: the value again, the same float, and every local derivative in one call)
        scalar_locals[node] = ops[node].scalar(*[values[j] for j in args[node]])  # type: ignore[misc]
    return order, scalar_locals


def compute(graph: Graph, check: Callable[[], None] | None = None, kept: dict[int, Any] | None = None) -> list[int]:
    """Compute every op node's value in place; `check` may raise to stop (a cancelled request).

    Returns the op nodes in the order computed. A scalar node's value is one call of its op's
    forward on Python floats (Op.scalar_forward: math.tanh, ...; a product's and a sum's, operator.mul
    and operator.add, written as the operators); its local
    derivatives are left to the backward pass, which computes them where a gradient flows. Given
    `kept`, an op that can keep what its vjps need (Op.forward_saving: the loss's softmax) keeps it
    there, by node, where a gradient will flow through it: the backward pass then does not compute
    it again.
    """
    order = graph.computed()
    args, params, values, scalar, shapes = graph.args, graph.params, graph.values, graph.scalar, graph.shapes
    requires_grad = graph.requires_grad
    ops = cast("list[Op]", graph.ops)  # at the nodes of `order`, never None
    for node in _checked(order, check):
        op = ops[node]
        operand_ids = args[node]
        try:
            if scalar[node]:
                # (a scalar node's op is elementwise: op.scalar_forward is its call, never None)
                forward_of = op.scalar_forward
                if len(operand_ids) == 2:
                    a, b = operand_ids
                    # A product's and a sum's forward is operator.mul, operator.add (kernels read
                    # them off the table): written as the operator itself, the same number
                    # without a call, as the backward pass writes their edges out.
                    if forward_of is mul:
                        values[node] = values[a] * values[b]
                    elif forward_of is add:
                        values[node] = values[a] + values[b]
                    else:
                        values[node] = forward_of(values[a], values[b])  # type: ignore[misc]
                else:
                    values[node] = forward_of(values[operand_ids[0]])  # type: ignore[misc]
                continue
            # (map, not a comprehension: one would make `values` a closure's cell, read slower at every node)
            operands = list(map(values.__getitem__, operand_ids))
            kwargs = params[node]
            # (an elementwise op's backward here multiplies by its local derivatives: it keeps nothing)
            if (
                kept is not None
                and op.forward_saving is not None
                and op.local is None
                and requires_grad[node]
                and 0 not in shapes[node]
            ):
                out, kept[node] = op.forward_saving(*operands, **kwargs) if kwargs else op.forward_saving(*operands)
                values[node] = float(out) if not shapes[node] else out
                continue
            call = skips_empty(op.forward, shapes[node], op.checks_values)
            out = call(ARRAY, *operands, **kwargs) if kwargs else call(ARRAY, *operands)
        except OpError as exc:
            raise _located(graph, node, str(exc)) from None
        values[node] = float(out) if not shapes[node] else out
    return order


def backward(
    graph: Graph,
    order: list[int],
    seed: Any,
    check: Callable[[], None] | None = None,
    masked: bool = False,
    kept: dict[int, Any] | None = None,
) -> tuple[list[Any], list[tuple[Any, ...]], bool]:
    """Reverse-mode pass from graph.output, seeded with ∂L/∂output = seed, after compute(); `check`
    as in compute. `masked`: apply the ops' masks (Op.masks), where PyTorch's gradient is 0 whatever
    the upstream gradient; `run` asks for them only where this pass says they may matter (its
    third answer). `kept`: what the forward pass kept for the vjps (see compute), used up by them.

    Answers the gradients, the records, and whether a tensor edge that has a mask, a scalar node of
    an op with masks, or a tensor node reached by a scalar gradient met a gradient that is not
    finite: only there can the masks change a number (elsewhere a masked place has upstream · 0,
    a zero either way)."""
    args, values, shapes, requires_grad = graph.args, graph.values, graph.shapes, graph.requires_grad
    scalar = graph.scalar
    ops = cast("list[Op]", graph.ops)  # at the nodes of `order`, never None
    grads: list[Any] = [None] * len(ops)
    steps: list[tuple[Any, ...]] = []
    output = output_of(graph)
    if not requires_grad[output]:
        return grads, steps, False
    doubtful = False
    grads[output] = seed
    floats, function = SCALAR, FunctionType  # (locals: read at every scalar node)
    for node in _checked(order[::-1], check):
        upstream = grads[node]
        if upstream is None:
            continue  # the output does not depend on this node
        operand_ids = args[node]
        derivatives = ops[node].derivatives if scalar[node] else None
        # A product's and a sum's, the most common, are told by one test (kernels.PRODUCT_PARTS,
        # SUM_PARTS) and written out as what their derivatives are: the same numbers as the
        # general edges below, without a test of each derivative's kind.
        if derivatives is PRODUCT_PARTS:  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
            operand, second = operand_ids
            if requires_grad[operand]:
                local = values[second]
                contribution = upstream * local
                so_far = grads[operand]
                grads[operand] = so_far = contribution if so_far is None else so_far + contribution
                steps.append((node, operand, 0, local, contribution, so_far, ()))
            if requires_grad[second]:
                local = values[operand]
                contribution = upstream * local
                so_far = grads[second]
                grads[second] = so_far = contribution if so_far is None else so_far + contribution
                steps.append((node, second, 1, local, contribution, so_far, ()))
            continue
        if derivatives is SUM_PARTS:  # ∂(a+b)/∂a = ∂(a+b)/∂b = 1: the upstream gradient itself
            operand, second = operand_ids
            if requires_grad[operand]:
                so_far = grads[operand]
                grads[operand] = so_far = upstream if so_far is None else so_far + upstream
                steps.append((node, operand, 0, 1.0, upstream, so_far, ()))
            if requires_grad[second]:
                so_far = grads[second]
                grads[second] = so_far = upstream if so_far is None else so_far + upstream
                steps.append((node, second, 1, 1.0, upstream, so_far, ()))
            continue
        if derivatives is not None:
            # Python floats throughout, no shapes to reconcile, no masks (the masked pass is the
            # same here). A local derivative is 1 (None: the contribution is the upstream gradient
            # itself, no multiplication, no new float), another constant, an operand or the result
            # (mul's, exp's), found without a call, or a call (tanh's 1 - out²) on the values (see
            # Op.derivatives); each edge is written out, for one operand and for two: a loop over
            # the slots, or a helper per edge, cost more than the edges' arithmetic and their
            # records together. (steps.append, not a bound `record = steps.append`: CPython 3.11
            # specializes the method call on a list, and not a call of the bound method.)
            operand = operand_ids[0]
            if len(operand_ids) == 1:
                if requires_grad[operand]:
                    local = derivatives[0]
                    if type(local) is function:  # the most common of one operand's (tanh's, sigmoid's)
                        local = local(floats, values[node], values[operand])
                        contribution = upstream * local
                    elif local is None:
                        local, contribution = 1.0, upstream
                    elif type(local) is int:
                        local = values[operand] if local else values[node]
                        contribution = upstream * local
                    elif type(local) is float:
                        contribution = upstream * local
                    else:
                        local = local(SCALAR, values[node], values[operand])
                        contribution = upstream * local
                    so_far = grads[operand]
                    grads[operand] = so_far = contribution if so_far is None else so_far + contribution
                    steps.append((node, operand, 0, local, contribution, so_far, ()))
                continue
            second = operand_ids[1]
            if requires_grad[operand]:
                local = derivatives[0]
                if local is None:
                    local, contribution = 1.0, upstream
                elif type(local) is int:
                    local = values[second] if local == 2 else values[operand] if local else values[node]
                    contribution = upstream * local
                elif type(local) is float:
                    contribution = upstream * local
                else:
                    local = local(SCALAR, values[node], values[operand], values[second])
                    contribution = upstream * local
                so_far = grads[operand]
                grads[operand] = so_far = contribution if so_far is None else so_far + contribution
                steps.append((node, operand, 0, local, contribution, so_far, ()))
            if requires_grad[second]:
                local = derivatives[1]
                if local is None:
                    local, contribution = 1.0, upstream
                elif type(local) is int:
                    local = values[operand] if local == 1 else values[second] if local else values[node]
                    contribution = upstream * local
                elif type(local) is float:
                    contribution = upstream * local
                else:
                    local = local(SCALAR, values[node], values[operand], values[second])
                    contribution = upstream * local
                so_far = grads[second]
                grads[second] = so_far = contribution if so_far is None else so_far + contribution
                steps.append((node, second, 1, local, contribution, so_far, ()))
            continue
        op = ops[node]
        operands = list(map(values.__getitem__, operand_ids))  # (as in compute: `values` stays a local)
        out = values[node]
        # A float gradient that is not finite, at a node of an op with masks (a scalar node here
        # has masks: see Op.derivatives) or at a tensor node, whose edges below may have masks:
        # the masks may give other numbers. (A float's test is cheap; an array is tested only
        # below, at an edge that has a mask.) Every other scalar edge is the same masked or not.
        if not doubtful and isinstance(upstream, float) and not math.isfinite(upstream):
            doubtful = True
        saved = kept.pop(node, None) if kept is not None else None
        vjps, variadic = op.vjp, op.variadic
        for slot, operand in enumerate(operand_ids):
            # (Op.differentiable, read from the table here but for a variadic op: its method call
            # cost more than the test, at every edge)
            if not requires_grad[operand] or (
                vjps is not None and (not op.differentiable(slot) if variadic else vjps[slot] is None)
            ):
                continue
            summed: tuple[int, ...] = ()
            if scalar[node]:  # a scalar edge of an op with masks (see Op.masks)
                local = _scalar_local(op, slot, values, node, operand_ids)
                if masked and _masked_here(op, slot, values, operand_ids, node):
                    contribution = 0.0
                else:  # (a gradient that is not finite here made the pass doubtful, above)
                    contribution = upstream * local
            else:
                local, contribution, summed = _tensor_edge(
                    graph, node, slot, upstream, out, operands, shapes[operand], masked, saved
                )
                if not doubtful and not masked and op.masks is not None and op.masks[slot] is not None:
                    doubtful = not _finite(contribution)
            so_far = grads[operand]
            so_far = contribution if so_far is None else so_far + contribution
            grads[operand] = so_far
            steps.append((node, operand, slot, local, contribution, so_far, summed))
    return grads, steps, doubtful


def edge(
    graph: Graph, scalar_locals: list[Any], node: int, slot: int, upstream: Any
) -> tuple[Any, Any, tuple[int, ...]]:
    """(local, contribution, summed_axes) of the edge from `node` into its operand at `slot`, given
    the gradient `upstream` that node sends (scalar_locals: forward's). The backward pass inlines
    the scalar case and gathers a node's operands once for all its edges; the replays of app.check
    call this, so that the derivative of an edge is computed in one place for every walker."""
    computed = scalar_locals[node]
    if computed is not None:
        local = computed[slot + 1]
        return local, upstream * local, ()
    values = graph.values
    operand_ids = graph.args[node]
    operands = [values[j] for j in operand_ids]
    return _tensor_edge(graph, node, slot, upstream, values[node], operands, graph.shapes[operand_ids[slot]])


def _scalar_local(op: Op, slot: int, values: list[Any], node: int, operand_ids: tuple[int, ...]) -> Any:
    """The local derivative of a scalar node at `slot`: the table's function, called (backward
    inlines Op.derivatives, which answer the same bit for bit: tests/test_kernels.py)."""
    return op.local[slot](SCALAR, values[node], *(values[j] for j in operand_ids))  # type: ignore[index]


def _masked_here(op: Any, slot: int, values: list[Any], operand_ids: tuple[int, ...], node: int) -> bool:
    """Whether PyTorch masks the gradient of this scalar edge to 0 (see Op.masks)."""
    mask = op.masks[slot] if op.masks is not None else None
    return mask is not None and bool(mask(SCALAR, values[node], *(values[j] for j in operand_ids)))


def _tensor_edge(
    graph: Graph,
    node: int,
    slot: int,
    upstream: Any,
    out: Any,
    operands: list[Any],
    target: tuple[int, ...],
    masked: bool = False,
    saved: Any = None,
) -> tuple[Any, Any, tuple[int, ...]]:
    """(local, contribution, summed_axes) of one edge where some value is a tensor; `masked` as in
    backward; `saved`: what the node's forward kept for its vjps (Op.vjp_saved reads it), or None."""
    # (annotated, not cast: a call of typing.cast costs as much as the test it saves, at every edge)
    op: Op = graph.ops[node]  # type: ignore[assignment]  # an op node: it has operands
    if op.local is not None:
        local = op.local[slot](ARRAY, out, *operands)
        contribution = upstream * local
        mask = op.masks[slot] if masked and op.masks is not None else None
        if mask is not None:
            contribution = np.where(mask(ARRAY, out, *operands), 0.0, contribution)
    else:
        local = None
        try:
            reads_saved = op.vjp_saved[slot] if saved is not None and op.vjp_saved is not None else None
            if reads_saved is not None:
                contribution = skips_empty(reads_saved, target)(upstream, out, saved)
            else:
                # (vjp_at's method call and a ** of no parameters cost more than the tests, at every edge)
                vjp: Callable[..., Any] = op.vjp_at(slot) if op.variadic else op.vjp[slot]  # type: ignore[assignment,index]
                vjp = skips_empty(vjp, target)  # (the op is differentiable at slot: backward asked)
                params = graph.params[node]
                contribution = vjp(upstream, out, *operands, **params) if params else vjp(upstream, out, *operands)
        except OpError as exc:
            raise _located(graph, node, str(exc)) from None
    # (an array's own shape: np.shape's dispatch cost more than the test, at every tensor edge)
    if (contribution.shape if type(contribution) is np.ndarray else np.shape(contribution)) != target:
        contribution, summed = unbroadcast(contribution, target)
        return local, contribution, summed
    return local, float(contribution) if not target else contribution, ()


def skips_empty(fn: Callable[..., Any], shape: tuple[int, ...], checks_values: bool = False) -> Callable[..., Any]:
    """fn, unless `shape` has an axis of size 0: then a function answering zeros of that shape,
    the only value such a tensor can have. Both walkers (this one and app.engine.lean) wrap an
    op's forward in it for the node's shape and a vjp for its operand's shape, so no op ever
    computes an empty result or an empty operand's gradient: softmax's max has nothing to reduce
    over an empty axis, and cross-entropy's vjp divides by its 0 rows. An op that `checks_values`
    (index: the positions PyTorch checks even for an empty result) runs all the same."""
    if 0 not in shape or checks_values:
        return fn
    return lambda *ignored, **also_ignored: np.zeros(shape)


def seed_for(graph: Graph, grad_output: Any) -> Any:
    """∂L/∂output: the given upstream gradient (already decoded), else ones of the output's shape."""
    shape = graph.shapes[output_of(graph)]
    if grad_output is None:
        return 1.0 if not shape else np.ones(shape)
    value, given = grad_output
    if given != shape:
        raise ProgramError(
            "invalid_input",
            f"grad_output has shape {list(given)} but the output has shape {list(shape)}",
            input="grad_output",
        )
    return value


def run(
    graph: Graph, grad_output: Any = None, with_backward: bool = True, check: Callable[[], None] | None = None
) -> Result:
    """Forward, then (unless told not to) backward, with numpy's inf and nan as answers.
    `check` is called every CHECK_EVERY nodes and may raise to stop the run (a cancelled job)."""
    with np.errstate(all="ignore"):
        if not with_backward:
            order = compute(graph, check)
            return Result(graph, order, None, [])
        kept: dict[int, Any] = {}
        order = compute(graph, check, kept)
        seed = seed_for(graph, grad_output)
        grads, steps, doubtful = backward(graph, order, seed, check, kept=kept)
        if doubtful:
            # Some gradient was infinite or NaN where a mask may change it: again, with the masks
            # that give 0 where PyTorch does (relu's, at x < 0 say, where inf · 0 is NaN). The
            # ordinary pass never pays for them. (What the forward kept was used up: the vjps
            # compute it again.)
            grads, steps, _ = backward(graph, order, seed, check, masked=True)
    return Result(graph, order, grads, steps, seed)


def _finite(value: Any) -> bool:
    """Every element of `value` is finite. A sum is finite where every element is (inf and NaN carry
    through it), in one pass that allocates nothing; only a sum that overflowed has its elements
    looked at."""
    if isinstance(value, float):
        return math.isfinite(value)
    return math.isfinite(np.add.reduce(value, axis=None)) or bool(np.isfinite(value).all())


def output_of(graph: Graph) -> int:
    """The graph's output node (the parser sets it; a graph without one has nothing to run)."""
    output = graph.output
    if output is None:
        raise ValueError("the graph has no output node")
    return output


def _located(graph: Graph, node: int, message: str) -> ProgramError:
    text = graph.source[graph.starts[node] : graph.ends[node]]
    return ProgramError("invalid_input", f"{text}: {message}", start=graph.starts[node], end=graph.ends[node])

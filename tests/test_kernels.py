"""The scalar kernels (app/engine/kernels.py) answer what the op table's functions answer, bit for bit.

A kernel may put a constant or an argument in place of a local derivative, or call an operator in
place of a forward, only where the table's function answers exactly that: for every elementwise op
(the layers' too), the kernel is compared here with the table's forward and local derivatives
called one by one, on ordinary and special floats.
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import Any

import numpy as np
import pytest

from app.engine.kernels import scalar_kernel
from app.engine.ops import OPS, SCALAR, Op

SAMPLES = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan]
ELEMENTWISE = sorted(name for name, op in OPS.items() if op.local is not None)


def _same(a: Any, b: Any) -> bool:
    """Equal as IEEE values, the sign of zero and nan included."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _plain(op: Op, *operands: float) -> tuple[Any, ...]:
    """(out, locals...) from the table's functions, called one by one."""
    out = op.forward(SCALAR, *operands)
    return (out, *(d(SCALAR, out, *operands) for d in op.local or ()))


def _answers_as_the_table(op: Op, answer: Any, what: str) -> None:
    """answer(*operands) is (out, locals...) bit for bit as the table's functions give them, on every
    combination of SAMPLES, and raises where they raise."""
    with np.errstate(all="ignore"):
        for operands in itertools.product(SAMPLES, repeat=len(op.operands)):
            try:
                expected = _plain(op, *operands)
            except (OverflowError, ValueError, ZeroDivisionError) as exc:  # the table's own refusal
                with pytest.raises(type(exc)):
                    answer(*operands)
                continue
            got = answer(*operands)
            assert len(got) == len(expected), op.name
            assert all(map(_same, got, expected)), f"{op.name}{operands}: {what} {got}, table {expected}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_kernel_answers_as_the_table(name: str) -> None:
    op = OPS[name]
    assert op.scalar is not None
    _answers_as_the_table(op, op.scalar, "kernel")


def _taken_apart(op: Op, *operands: float) -> tuple[Any, ...]:
    """(out, locals...) as app.engine.run's walker reads them: Op.scalar_forward, then Op.derivatives
    (None: 1; a float; the position of an argument among (out, operands...); the table's function)."""
    out = op.scalar_forward(*operands)  # type: ignore[misc]
    arguments = (out, *operands)
    return (
        out,
        *(
            1.0 if d is None else d if type(d) is float else arguments[d] if type(d) is int else d(SCALAR, *arguments)
            for d in op.derivatives or ()
        ),
    )


@pytest.mark.parametrize("name", [name for name in ELEMENTWISE if OPS[name].derivatives is not None])
def test_every_walker_derivative_answers_as_the_table(name: str) -> None:
    op = OPS[name]
    _answers_as_the_table(op, lambda *operands: _taken_apart(op, *operands), "walker")
    # a derivative of 1 is the upstream gradient itself: upstream · 1 is upstream, bit for bit
    assert all(_same(upstream * 1.0, upstream) for upstream in SAMPLES)


def test_shortcuts_are_taken_where_the_table_allows_them_only() -> None:
    """add's local derivatives are constants and its forward the operator; mul's are its operands;
    tanh's local derivative computes (it is called); a forward that computes more is called."""
    assert OPS["add"].scalar(2.0, 3.0) == (5.0, 1.0, 1.0)
    assert OPS["sub"].scalar(2.0, 3.0) == (-1.0, 1.0, -1.0)
    assert OPS["mul"].scalar(2.0, 3.0) == (6.0, 3.0, 2.0)
    assert OPS["exp"].scalar(0.0) == (1.0, 1.0)
    assert OPS["tanh"].scalar(0.5) == (math.tanh(0.5), 1.0 - math.tanh(0.5) ** 2)
    calls: list[tuple[float, ...]] = []

    def counted_local(m: Any, out: float, a: float, b: float) -> float:
        calls.append((out, a, b))
        return a - b

    kernel = scalar_kernel(lambda m, a, b: a * b + 1.0, (counted_local, lambda m, out, a, b: 2.0), SCALAR)
    calls.clear()  # (the kernel was built by reading it once, on stand-ins, which refused the subtraction)
    assert kernel(2.0, 3.0) == (7.0, -1.0, 2.0)
    assert calls == [(7.0, 2.0, 3.0)]  # called on the floats, never answered from a stand-in
    # a local derivative that branches on its argument is called, whatever it answers on one side
    branching = scalar_kernel(lambda m, x: -x, (lambda m, out, x: 1.0 if x > 0 else -1.0,), SCALAR)
    assert branching(2.0) == (-2.0, 1.0) and branching(-2.0) == (2.0, -1.0)
    assert scalar_kernel(lambda m, a, b: a + b, (lambda m, o, a, b: 1.0,) * 2, SCALAR)(1.0, 2.0)[0] == operator.add(
        1.0, 2.0
    )


def test_gradients_whose_sum_overflows_are_still_finite() -> None:
    """_finite sums an array first (one pass); a sum that overflows is not yet an answer: the
    elements decide."""
    from app.engine.run import _finite

    huge = np.array([1e308, 1e308])
    with np.errstate(all="ignore"):  # as run() calls it: the overflow is an answer, not a warning
        assert _finite(huge) and _finite(2.0)
        assert not _finite(np.array([math.inf, 0.0])) and not _finite(np.array([math.nan, 1.0]))
        assert not _finite(math.nan) and not _finite(-math.inf)


def test_the_fast_scalar_path_is_only_for_ops_without_masks() -> None:
    """The walker takes a scalar node's edges from Op.derivatives without looking for masks: only an
    op without masks has them (its masked and ordinary passes give the same numbers)."""
    for name, op in OPS.items():
        if op.local is None:
            assert op.derivatives is None and op.scalar_forward is None, name
        else:
            assert (op.derivatives is None) == (op.masks is not None), name
            assert op.scalar_forward is not None and len(op.local) == len(op.derivatives or op.local), name


def test_masks_apply_where_a_non_finite_gradient_meets_them() -> None:
    """run() applies the masks (PyTorch's 0 where inf · 0 is NaN) when backward saw a gradient that
    is not finite at a tensor edge that has a mask, or reaching a tensor node from a scalar one, or
    at a scalar node of an op with masks; the arrays of the leaves are not summed for it. Each
    program is checked against PyTorch: relu on a matrix under sqrt's infinite slope at 0, relu on
    a scalar sum of a matrix (the NaN goes from a scalar node into sum's tensor node), and relu on a
    float leaf."""
    import torch

    from app.engine.inputs import decode
    from app.engine.limits import Limits
    from app.engine.run import run
    from app.lang.parser import parse

    W = [[-1.0, 2.0], [0.5, -3.0]]
    cases: list[tuple[str, dict[str, Any], Any]] = [
        ("loss = sum(sqrt(relu(W)))", {"W": W}, lambda t: torch.sum(torch.sqrt(torch.relu(t["W"])))),
        (
            "loss = sqrt(relu(sum(W)))",
            {"W": [[-1.0, 0.5], [0.25, -2.0]]},
            lambda t: torch.sqrt(torch.relu(torch.sum(t["W"]))),
        ),
        (
            "loss = sqrt(relu(s)) + sum(W)",
            {"W": W, "s": -2.0},
            lambda t: torch.sqrt(torch.relu(t["s"])) + torch.sum(t["W"]),
        ),
    ]
    for program, given, reference in cases:
        inputs = {name: decode(name, value, 10**6) for name, value in given.items()}
        graph = parse(program, inputs, Limits())
        result = run(graph)
        ids = {graph.names[i]: i for i in range(len(graph)) if graph.ops[i] is None and graph.names[i]}
        tensors = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in given.items()}
        reference(tensors).backward()
        for name, tensor in tensors.items():
            ours = np.asarray(result.grads[ids[name]], dtype=np.float64)
            theirs = tensor.grad.numpy()
            assert np.array_equal(np.isnan(ours), np.isnan(theirs)), (program, name, ours, theirs)
            assert np.allclose(ours, theirs, rtol=1e-10, equal_nan=True), (program, name, ours, theirs)


def test_a_product_and_a_sum_are_told_by_their_parts() -> None:
    """mul's and add's derivatives are kernels.PRODUCT_PARTS and SUM_PARTS themselves (the walker
    tells them by identity and writes their edges out), and no other pair of derivatives is."""
    from app.engine.kernels import PRODUCT_PARTS, SUM_PARTS

    assert OPS["mul"].derivatives is PRODUCT_PARTS and OPS["add"].derivatives is SUM_PARTS
    for name, op in OPS.items():
        if name not in ("mul", "add"):
            assert op.derivatives is not PRODUCT_PARTS and op.derivatives is not SUM_PARTS, name


def test_the_written_out_scalar_edges_answer_as_the_kernels() -> None:
    """Every scalar edge the backward pass records (a product's and a sum's written out, the others
    read from Op.derivatives) has the local derivative and the contribution that the op's kernel
    (Op.scalar, through run.edge) gives for the same upstream gradient, bit for bit, on a program
    where the leaves meet products and sums on either side, some of them twice, and a constant
    that takes no gradient."""
    from app.engine.inputs import decode
    from app.engine.limits import Limits
    from app.engine.run import edge, forward, run
    from app.lang.parser import parse

    program = "u = a * b + 0.25\nv = tanh(u * a) + b * u\nw = exp(v) - sigmoid(2.0 * v) + u * u\nloss = w * b + a"
    given = {"a": 0.75, "b": -1.5}
    inputs = {name: decode(name, value, 10**6) for name, value in given.items()}
    graph = parse(program, inputs, Limits())
    result = run(graph)
    assert result.grads is not None
    _, scalar_locals = forward(graph)
    seen: set[str] = set()
    for node, _, slot, local, contribution, _, summed in result.records:
        seen.add(graph.ops[node].name)  # type: ignore[union-attr]
        assert summed == ()
        expected_local, expected_contribution, _ = edge(graph, scalar_locals, node, slot, result.grads[node])
        assert _same(local, expected_local) and _same(contribution, expected_contribution), (node, slot)
    assert {"mul", "add", "sub", "tanh", "exp", "sigmoid"} <= seen

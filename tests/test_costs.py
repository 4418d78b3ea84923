"""Issue 22: the work estimate (app/engine/costs.py) against the work the passes actually do,
counted from the computed values (nothing is timed here; bench/stress.py compares the seconds).

For each op node the count is taken from the arrays the forward pass made: the result's elements
for an elementwise op, the operand's elements for a reduction, multiply-adds for matmul and
linear (from the operands' actual shapes), a softmax's four passes over its input."""

from __future__ import annotations

from math import prod

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.check import gradcheck as fd
from app.check.limits import CheckLimits, check_seconds, pass_work
from app.core import evaluate
from app.engine.costs import (
    DEFAULT_NS_PER_UNIT,
    FORWARD_SHARE,
    NODE_NS,
    NS_PER_UNIT,
    OPTIMIZER_NS_PER_ELEMENT,
    pass_seconds,
    seconds_in_words,
    units_by_op,
)
from app.engine.errors import LimitExceeded
from app.engine.limits import Limits
from app.engine.ops import OPS
from app.main import create_app
from app.settings import Settings
from app.train import TrainingRun
from app.train.config import TrainConfig
from app.train.run import TrainLimits

REDUCTIONS = {"sum", "mean", "max", "min"}


def counted(result) -> dict[str, int]:
    """Units of work of each op, counted from the values of a computed graph."""
    graph = result.graph
    totals: dict[str, int] = {}
    for node, op in enumerate(graph.ops):
        if op is None or graph.scalar[node]:
            continue
        operands = [np.shape(graph.values[j]) for j in graph.args[node]]
        out = np.shape(graph.values[node])
        if op.name == "matmul":
            a = operands[0]
            units = prod(out) * (a[-1] if a else 1)
        elif op.name == "linear":
            units = prod(out) * (operands[0][-1] + 1)
        elif op.name in REDUCTIONS:
            units = prod(operands[0])
        elif op.name in ("softmax", "log_softmax"):
            units = 4 * prod(operands[0])
        elif op.name == "mse":
            units = 3 * prod(np.broadcast_shapes(*operands))
        elif op.name == "softmax_cross_entropy":
            units = 5 * prod(operands[0])
        else:
            units = prod(out)
        totals[op.name] = totals.get(op.name, 0) + (units or 1)
    return totals


PROGRAMS = [
    ("y = sum(sin(x) * x)", {"x": {"init": "uniform", "shape": [300, 7]}}),
    ("y = mean(cos(x) ** w + exp(x) / w)", {"x": {"init": "randn", "shape": [40, 5]}, "w": 1.5}),
    (
        "h = relu(linear(x, W, b))\nloss = mse(h @ V, t)",
        {
            "x": {"init": "randn", "shape": [8, 3]},
            "W": {"init": "randn", "shape": [3, 6]},
            "b": {"init": "zeros", "shape": [6]},
            "V": {"init": "randn", "shape": [6, 2]},
            "t": {"init": "randn", "shape": [8, 2]},
        },
    ),
    (
        "p = log_softmax(x @ W, axis=-1)\nloss = softmax_cross_entropy(x @ W, t) + sum(max(p, axis=0)) + sum(abs(p))",
        {"x": {"init": "randn", "shape": [5, 4]}, "W": {"init": "randn", "shape": [4, 3]}, "t": [0, 2, 1, 1, 0]},
    ),
    (
        "y = sum(tanh(x) + sigmoid(x) - sqrt(abs(x)) + log(abs(x) + 1) + maximum(x, 0) + minimum(x, 0))",
        {"x": {"init": "randn", "shape": [3, 3, 3]}},
    ),
    ("a = x * 2\nb = a + 1\nc = sin(b)", {"x": 0.5}),  # scalars only: no units beyond the nodes
    (
        "y = sum(transpose(reshape(x, (6, 4))) @ x2)",
        {"x": {"init": "randn", "shape": [24]}, "x2": {"init": "randn", "shape": [6, 3]}},
    ),
]


@pytest.mark.parametrize("program,inputs", PROGRAMS)
def test_estimated_units_are_the_units_the_passes_do(program, inputs):
    result = evaluate(program, inputs)
    measured = counted(result)
    assert units_by_op(result.graph) == measured
    op_nodes = sum(op is not None for op in result.graph.ops)
    scalar_ops = sum(op is not None and scalar for op, scalar in zip(result.graph.ops, result.graph.scalar))
    # The graph's own count: every tensor op node's units, and one per scalar op node.
    assert result.graph.work == sum(measured.values()) + scalar_ops
    expected = NODE_NS * op_nodes + sum(
        NS_PER_UNIT.get(name, DEFAULT_NS_PER_UNIT) * units for name, units in measured.items()
    )
    assert pass_seconds(result.graph) == pytest.approx(expected * 1e-9)


def test_every_op_has_a_measured_rate():
    assert set(NS_PER_UNIT) == set(OPS)


def test_the_slow_ops_cost_more_per_unit_than_an_add():
    """The paths the issue measured at 8x the old estimate: sin and cos of huge arguments, pow."""
    for name in ("sin", "cos", "pow"):
        assert NS_PER_UNIT[name] >= 2 * NS_PER_UNIT["add"]
    assert NS_PER_UNIT["sin"] >= 100  # ns per element, forward and backward: argument reduction


def test_a_training_runs_estimate_counts_every_step_and_evaluation():
    body = {
        "steps": 30,
        "optimizer": {"name": "sgd", "lr": 0.01},
        "record_every": 10,
        "params": ["W"],
        "eval": {"x": {"init": "randn", "shape": [4, 3], "seed": 9}, "t": {"init": "zeros", "shape": [4, 2]}},
    }
    inputs = {
        "x": {"init": "randn", "shape": [8, 3]},
        "W": {"init": "randn", "shape": [3, 2]},
        "t": {"init": "randn", "shape": [8, 2]},
    }
    run = TrainingRun("loss = mse(sin(x @ W), t)", inputs, TrainConfig.model_validate(body), Limits(), TrainLimits())
    step = evaluate("loss = mse(sin(x @ W), t)", inputs)
    step_units = sum(counted(step).values())
    assert run.estimate["work"] == 30 * (3 * step_units + 10 * 6) + 3 * run.eval_graph.work
    assert run.step_seconds == pytest.approx(pass_seconds(step.graph) + 6 * OPTIMIZER_NS_PER_ELEMENT * 1e-9)
    assert run.estimate["estimated_seconds"] == pytest.approx(
        30 * run.step_seconds + 3 * FORWARD_SHARE * pass_seconds(run.eval_graph), abs=1e-3
    )
    assert run.seconds_through(7) == pytest.approx(7 * run.step_seconds)


LAYER_PROGRAMS = [
    (
        "y = sum(max_pool2d(relu(conv2d(x, w, b)), 2))",
        {
            "x": {"init": "randn", "shape": [2, 3, 8, 8]},
            "w": {"init": "randn", "shape": [4, 3, 3, 3]},
            "b": {"init": "zeros", "shape": [4]},
        },
    ),
    (
        "y = sum(scaled_dot_product_attention(q, k, v)) + sum(avg_pool2d(x, 3, stride=2, padding=1))",
        {
            "q": {"init": "randn", "shape": [2, 5, 4]},
            "k": {"init": "randn", "shape": [2, 6, 4]},
            "v": {"init": "randn", "shape": [2, 6, 3]},
            "x": {"init": "randn", "shape": [1, 2, 7, 7]},
        },
    ),
    (
        "y = sum(conv1d(x, w, stride=2, padding=1, groups=2))",
        {"x": {"init": "randn", "shape": [3, 4, 9]}, "w": {"init": "randn", "shape": [6, 2, 3]}},
    ),
]


@pytest.mark.parametrize("program,inputs", LAYER_PROGRAMS)
def test_the_layers_budgeted_work_is_what_the_estimate_counts(program, inputs):
    """Ops with Op.budget (convolutions, pools, attention): the graph's work and the estimate's units
    read the same budget, with the node's parameters, so no unit is left out of the estimate."""
    result = evaluate(program, inputs)
    graph = result.graph
    by_op = units_by_op(graph)
    scalar_ops = sum(op is not None and scalar for op, scalar in zip(graph.ops, graph.scalar))
    assert graph.work == sum(by_op.values()) + scalar_ops
    for node, op in enumerate(graph.ops):
        if op is not None and op.budget is not None:
            shapes = [np.shape(graph.values[j]) for j in graph.args[node]]
            work, _ = op.budget(np.shape(graph.values[node]), *shapes, **(graph.params[node] or {}))
            assert work > prod(np.shape(graph.values[node]))  # more than the result's elements


def test_a_convolutions_units_are_its_multiply_adds_and_copies():
    """conv2d of x (2, 3, 8, 8) by w (4, 3, 3, 3) with a bias: a result of 2·4·6·6 = 288 elements,
    each 3·3·3 = 27 multiply-adds and a bias add; the im2col matrix 72 · 27 = 1944 elements; the
    (unpadded) copy of x, 384."""
    program, inputs = LAYER_PROGRAMS[0]
    result = evaluate(program, inputs)
    assert units_by_op(result.graph)["conv2d"] == 288 * 28 + 1944 + 384
    assert units_by_op(result.graph)["max_pool2d"] == 2 * 4 * 3 * 3 * 4 + 2 * 4 * 6 * 6


def test_the_refusals_say_the_time_of_the_one_per_op_estimate():
    """A training run refused past its work limit, and a gradient check refused past its own, say
    their time as the per-op estimate has it (the one the lanes use), and the limit's time at the
    same rate: 'about X; the limit is about Y' with Y / X the limit over the work."""
    body = {"steps": 400, "optimizer": {"name": "sgd", "lr": 0.01}, "params": ["W"]}
    inputs = {"x": {"init": "randn", "shape": [64, 30]}, "W": {"init": "randn", "shape": [30, 30]}}
    program = "loss = sum(sin(x @ W))"
    run = TrainingRun(program, inputs, TrainConfig.model_validate(body), Limits(), TrainLimits())
    seconds = 400 * run.step_seconds
    assert run.step_seconds == pytest.approx(pass_seconds(run.graph) + 900 * OPTIMIZER_NS_PER_ELEMENT * 1e-9)
    work = run.estimate["work"]
    with pytest.raises(LimitExceeded) as refused:
        TrainingRun(program, inputs, TrainConfig.model_validate(body), Limits(), TrainLimits(max_work=work // 4))
    assert refused.value.message.startswith(
        f"the run's arithmetic would take about {seconds_in_words(seconds)} (400 steps); the limit is about "
        f"{seconds_in_words(seconds * (work // 4) / work)} ("
    )

    client = TestClient(create_app(Settings(check=CheckLimits(max_gradcheck_work=10_000))))
    check = {"expression": program, "inputs": inputs}
    result = evaluate(program, inputs)
    work = fd.cost(result.graph, fd.plan(result.graph, CheckLimits().gradcheck_sample))
    passes = work / pass_work(result.graph)
    assert check_seconds(result.graph, work) == pytest.approx(passes * FORWARD_SHARE * pass_seconds(result.graph))
    message = client.post("/graph/gradcheck", json=check).json()["error"]["message"]
    assert (
        f"(about {seconds_in_words(check_seconds(result.graph, work))} of computing; the limit is about "
        f"{seconds_in_words(check_seconds(result.graph, 10_000))})" in message
    )

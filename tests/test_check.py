"""Gradient checks and the replays of the tutorial's backward mistakes, in the engine and over HTTP.

The gradcheck must agree with the engine on every example (and catch a wrong derivative when
one is planted in the op table); the replays must reproduce the tutorial's numbers (18 and 13.5
for `q = x * a; y = q * q`), say where they part from the correct run and why, and refuse a
recursion that would explode before running any of it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.check import gradcheck as fd
from app.check import replay
from app.check.limits import CheckLimits, pass_work
from app.core import evaluate
from app.engine.ops import OPS
from app.engine.run import forward
from app.examples import EXAMPLES
from app.main import create_app
from app.settings import Settings
from tests.conftest import by_name

SHARED = {"expression": "q = x * a\ny = q * q", "inputs": {"x": 1.5, "a": 2}}
CHAIN = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}}
SHARED_PARAMETER = next(example for example in EXAMPLES if example["id"] == "shared-parameter")
# The examples that show one pass; the training examples' programs run on whole datasets.
PASSES = [example for example in EXAMPLES if "train" not in example]


@pytest.fixture(scope="module")
def client() -> TestClient:
    """Every value in full (the training examples' weights pass the default summary size), so
    replayed and correct gradients compare element by element."""
    return TestClient(create_app(Settings(max_full_elements=1_000_000)))


def request_of(example: dict, **extra) -> dict:
    return {
        "expression": example["expression"],
        "inputs": example["inputs"],
        "grad_output": example["grad_output"],
        **extra,
    }


def fan_out(depth: int) -> str:
    """Each line uses the previous value twice: 2^depth paths from the output to x."""
    return "\n".join(["h = x * w"] + ["h = h * h"] * depth)


def limited(**check) -> TestClient:
    return TestClient(create_app(Settings(check=CheckLimits(**check))))


# --- gradcheck -----------------------------------------------------------------------------------


@pytest.mark.parametrize("example", PASSES, ids=[example["id"] for example in PASSES])
def test_gradcheck_agrees_with_the_engine_on_every_example(client, example):
    response = client.post("/graph/gradcheck", json=request_of(example))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["max_rel_error"] < 1e-6
    assert body["inputs"], "every example has an input that takes a gradient"
    for name, check in body["inputs"].items():
        assert check["max_rel_error"] == max(np.atleast_1d(check["rel_error"]))
        assert check["checked"] == min(check["elements"], 64)
        np.testing.assert_allclose(check["numeric"], check["analytic"], rtol=1e-5, atol=1e-7, err_msg=name)


def test_gradcheck_of_a_whole_dataset_is_refused_before_it_runs(client):
    digits = next(example for example in EXAMPLES if example["id"] == "train-digits")
    response = client.post("/graph/gradcheck", json=request_of(digits))
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("this checks 330 numbers, each with 4 passes over 1,437 rows")


def test_gradcheck_numbers_of_the_shared_intermediate(client):
    body = client.post("/graph/gradcheck", json=SHARED).json()
    assert set(body["inputs"]) == {"x", "a"}
    assert body["inputs"]["x"]["analytic"] == 12.0 and body["inputs"]["a"]["analytic"] == 9.0
    assert body["inputs"]["x"]["numeric"] == pytest.approx(12.0, rel=1e-9)
    assert body["inputs"]["a"]["numeric"] == pytest.approx(9.0, rel=1e-9)
    assert body["inputs"]["x"]["shape"] == [] and body["inputs"]["x"]["indices"] == [0]


def test_gradcheck_skips_inputs_without_gradient_and_uses_grad_output(client):
    body = client.post(
        "/graph/gradcheck",
        json={
            "expression": "y = x * c",
            "inputs": {"x": [1.0, 2.0], "c": {"value": [3.0, -1.0], "requires_grad": False}},
            "grad_output": [2.0, 5.0],
        },
    ).json()
    assert list(body["inputs"]) == ["x"]
    assert body["inputs"]["x"]["analytic"] == [6.0, -5.0]
    np.testing.assert_allclose(body["inputs"]["x"]["numeric"], [6.0, -5.0], rtol=1e-9)


def test_gradcheck_catches_the_tutorials_wrong_sigmoid_derivative(client, monkeypatch):
    # The tutorial's Sigmoid.backward used x·(1 − x) of the input instead of s·(1 − s) of the output.
    wrong = dataclasses.replace(OPS["sigmoid"], local=(lambda m, out, x: x * (1.0 - x),))
    monkeypatch.setitem(OPS, "sigmoid", wrong)
    body = client.post(
        "/graph/gradcheck", json={"expression": "s = sigmoid(w * x)", "inputs": {"w": 0.5, "x": [1.0, -2.0, 3.0]}}
    ).json()
    assert body["max_rel_error"] > 0.1
    assert body["inputs"]["x"]["max_rel_error"] > 0.1


def test_gradcheck_samples_large_inputs_with_a_fixed_seed():
    result = evaluate("y = sum(W * W)", {"W": {"init": "randn", "shape": [30, 40], "seed": 0}})
    first = fd.plan(result.graph, 64)
    again = fd.plan(evaluate("y = sum(W * W)", {"W": {"init": "randn", "shape": [30, 40], "seed": 0}}).graph, 64)
    (planned,) = first
    assert planned.indices.size == 64 and len(set(planned.indices.tolist())) == 64
    assert np.all(np.diff(planned.indices) > 0) and planned.indices.max() < 1200
    assert planned.indices.tolist() == again[0].indices.tolist()
    (check,) = fd.gradcheck(result.graph, result.grads, result.seed, first)
    values = result.graph.values[0].reshape(-1)[planned.indices]
    np.testing.assert_allclose(check.analytic, 2 * values)
    np.testing.assert_allclose(check.numeric, 2 * values, rtol=1e-5)  # L ≈ 1200: rounding ≈ ε·L/h


def test_gradcheck_leaves_inputs_and_values_as_they_were():
    result = evaluate("q = x * a\ny = sum(q * q)", {"x": [1.5, -0.5], "a": 2})
    graph = result.graph
    before = [np.copy(value) for value in graph.values]
    fd.gradcheck(graph, result.grads, result.seed, fd.plan(graph, 64))
    for old, new in zip(before, graph.values):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("x", [3e-5, -3e-5, 1.5e-6, -2e-4])
def test_a_kink_within_the_step_is_differenced_from_its_smooth_side(x):
    """relu's kink at 0 lies within 2h (h ≈ 1.2e-4) of x: the central difference would average the
    two slopes; the one-sided difference on the side without the kink gives relu'(x) exactly."""
    program = "y = sum(relu(v) * c)"
    result = evaluate(program, {"v": [x, 0.5, -0.5], "c": {"value": [3.0, 1.0, 1.0], "requires_grad": False}})
    (check,) = fd.gradcheck(result.graph, result.grads, result.seed, fd.plan(result.graph, 64))
    assert check.analytic.tolist() == [3.0 if x > 0 else 0.0, 1.0, 0.0]
    np.testing.assert_allclose(check.numeric, check.analytic, rtol=0, atol=1e-9)
    assert check.max_rel_error < 1e-9


def test_a_relu_input_near_zero_on_one_row_of_a_batch():
    """The digits network's case at step 1: a bias feeds 32 rows, one of them 1.5e-6 from relu's
    kink. The plain central difference (h ≈ 6e-6) read that bias's gradient with the wrong sign."""
    rows = np.linspace(-1.0, 1.0, 32)
    rows[7] = -1.5e-6  # with b = 0 this row's relu input is 1.5e-6 below the kink
    result = evaluate(
        "y = sum(relu(v + b) * c)",
        {
            "v": {"value": rows.tolist(), "requires_grad": False},
            "b": 0.0,
            "c": {"value": np.cos(rows).tolist(), "requires_grad": False},
        },
    )
    (check,) = fd.gradcheck(result.graph, result.grads, result.seed, fd.plan(result.graph, 64))
    assert check.analytic == pytest.approx(np.sum(np.cos(rows)[rows > 0]), rel=1e-15)
    assert check.max_rel_error < 1e-9


def test_kinks_spend_no_more_passes_than_the_cost_allows(monkeypatch):
    """abs at 0 everywhere: every element's stencil is bent at every step (both sides smooth: the
    kink is at x, and the central difference, 0, stays); the retries stop at the allowance."""
    result = evaluate("y = sum(abs(v))", {"v": [0.0] * 10})
    planned = fd.plan(result.graph, 64)
    passes = counting_passes(monkeypatch)
    (check,) = fd.gradcheck(result.graph, result.grads, result.seed, planned)
    # (the last pass restores the values)
    assert passes[0] - 1 <= fd.cost(result.graph, planned) // pass_work(result.graph)
    assert passes[0] > 1 + fd.PASSES * 10  # some retries were spent
    assert check.analytic.tolist() == [0.0] * 10 and check.numeric.tolist() == [0.0] * 10


def test_rounding_of_a_small_loss_made_of_large_numbers_is_no_kink(monkeypatch):
    """A loss near 0 made of logits near 10 rounds as they do, far above ε·|L|: sampled, that
    rounding is not taken for kinks (which would spend passes and shrink the step)."""
    logits = [[10.0, -10.0, 0.0], [9.0, -8.0, 1.0]]
    result = evaluate(
        "loss = softmax_cross_entropy(z, y)", {"z": logits, "y": {"value": [0, 0], "requires_grad": False}}
    )
    passes = counting_passes(monkeypatch)
    (check,) = fd.gradcheck(result.graph, result.grads, result.seed, fd.plan(result.graph, 64))
    assert passes[0] == 1 + fd.PASSES * (6 + fd.NOISE_SAMPLES) + 1  # no retry
    assert check.max_rel_error < 1e-6


def counting_passes(monkeypatch) -> list[int]:
    """The gradcheck's forward passes, counted in the returned list's one item."""
    passes = [0]
    real = fd.forward

    def counted(graph):
        passes[0] += 1
        return real(graph)

    monkeypatch.setattr(fd, "forward", counted)
    return passes


def test_relative_error_is_measured_against_the_inputs_largest_gradient():
    analytic = np.array([100.0, 0.0, 2.0])
    numeric = np.array([100.0 + 1e-6, 1e-9, 2.0])
    errors = fd.relative_errors(numeric, analytic, analytic)
    assert errors[0] == pytest.approx(1e-8)
    assert errors[1] == pytest.approx(1e-9 / 0.1)  # floor: 1e-3 of the largest |analytic|
    assert errors[2] == 0.0


def test_gradcheck_non_finite_values_answer_without_a_server_error(client):
    response = client.post("/graph/gradcheck", json={"expression": "y = log(x)", "inputs": {"x": 0}})
    assert response.status_code == 200
    assert response.json()["inputs"]["x"]["analytic"] == "Infinity"


def test_gradcheck_work_is_limited_before_it_runs():
    client = limited(max_gradcheck_work=10_000)
    response = client.post("/graph/gradcheck", json={"expression": "y = sum(W * W)", "inputs": {"W": [[1, 2], [3, 4]]}})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["kind"] == "limit_exceeded"
    assert "this checks 4 numbers" in error["message"] and "the limit is about 20 microseconds" in error["message"]


def test_gradcheck_sample_size_is_configurable():
    body = (
        limited(gradcheck_sample=3)
        .post("/graph/gradcheck", json={"expression": "y = sum(v * v)", "inputs": {"v": [1, 2, 3, 4, 5, 6]}})
        .json()
    )
    check = body["inputs"]["v"]
    assert check["checked"] == 3 and check["elements"] == 6 and len(check["numeric"]) == 3
    np.testing.assert_allclose(check["analytic"], [2.0 * (i + 1) for i in check["indices"]])


@pytest.mark.parametrize("route", ["/graph/gradcheck", "/graph/pytorch", "/graph/dot"])
def test_new_routes_report_program_errors_with_their_place(client, route):
    response = client.post(route, json={"expression": "y = x +* 2", "inputs": {"x": 1}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["line"] == 1 and error["column"] >= 5
    response = client.post(route, json={"expression": "y = x", "inputs": {"x": "text"}})
    assert response.status_code == 422 and response.json()["error"]["input"] == "x"
    response = client.post(route, json={"expression": "y = x", "inputs": {}, "unknown": 1})
    assert response.status_code == 422 and response.json()["error"]["kind"] == "invalid_request"


# --- replays -------------------------------------------------------------------------------------


def test_naive_recursion_double_counts_through_a_shared_intermediate(client):
    body = client.post("/graph/backward", json={**SHARED, "mode": "naive-recursion"}).json()
    nodes = by_name(body)
    assert nodes["x"]["grad"] == 18.0 and nodes["a"]["grad"] == 13.5
    assert body["mode"] == "naive-recursion"
    diverges = body["diverges"]
    wrong = {node["name"] for node in body["nodes"] if diverges["nodes"][node["id"]]}
    assert wrong == {"x", "a"}
    # Forward steps 0-1; step 2: y → q (3); step 3: q sends 3 on to x before q's second contribution.
    step = body["steps"][diverges["first_step"]]
    assert diverges["first_step"] == 3
    assert (step["node"], step["input"]) == (nodes["q"]["id"], nodes["x"]["id"])
    assert step["upstream"] == 3.0 and step["contribution"] == 6.0
    assert "1 of its 2 contributions" in diverges["explanation"]
    correct = client.post("/graph/backward", json=SHARED).json()
    counterpart = correct["steps"][diverges["correct_step"]]
    assert (counterpart["node"], counterpart["input"], counterpart["contribution"]) == (
        step["node"],
        step["input"],
        12.0,
    )
    # q propagates twice, each time with what it holds: 3, then 6.
    upstreams = [s["upstream"] for s in body["steps"] if s["phase"] == "backward" and s["node"] == nodes["q"]["id"]]
    assert upstreams == [3.0, 3.0, 6.0, 6.0]


def test_overwrite_keeps_only_the_last_contribution(client):
    body = client.post("/graph/backward", json={**SHARED, "mode": "overwrite"}).json()
    nodes = by_name(body)
    assert (nodes["q"]["grad"], nodes["x"]["grad"], nodes["a"]["grad"]) == (3.0, 6.0, 4.5)
    diverges = body["diverges"]
    assert [node["name"] for node in body["nodes"] if diverges["nodes"][node["id"]]] == ["x", "a", "q"]
    step = body["steps"][diverges["first_step"]]
    assert step["input"] == nodes["q"]["id"] and step["accumulated"] == 3.0
    assert "overwritten" in diverges["explanation"] and "6" in diverges["explanation"]


def test_a_leaf_used_twice_comes_out_right_in_the_recursion_but_not_when_overwritten(client):
    correct = by_name(client.post("/graph/backward", json=request_of(SHARED_PARAMETER)).json())
    naive = client.post("/graph/backward", json=request_of(SHARED_PARAMETER, mode="naive-recursion")).json()
    assert not any(naive["diverges"]["nodes"]) and naive["diverges"]["first_step"] is None
    np.testing.assert_allclose(by_name(naive)["a"]["grad"], correct["a"]["grad"])
    overwritten = client.post("/graph/backward", json=request_of(SHARED_PARAMETER, mode="overwrite")).json()
    assert [n["name"] for n in overwritten["nodes"] if overwritten["diverges"]["nodes"][n["id"]]] == ["a"]
    np.testing.assert_allclose(by_name(overwritten)["b"]["grad"], correct["b"]["grad"])


@pytest.mark.parametrize("mode", replay.MODES)
def test_replays_agree_with_the_correct_run_on_the_chain_rule(client, mode):
    body = client.post("/graph/backward", json={**CHAIN, "mode": mode}).json()
    assert {k: by_name(body)[k]["grad"] for k in "xyz"} == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert body["diverges"]["first_step"] is None and not any(body["diverges"]["nodes"])
    assert body["diverges"]["explanation"]


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_the_recursions_length_is_counted_before_it_runs(depth):
    result = evaluate(fan_out(depth) + "\ny = h + w", {"x": 0.9, "w": 1.01})
    graph = result.graph
    steps, _ = replay.recursion_size(graph, result.forward, 10**9)
    _, scalar_locals = forward(graph)
    _, records, _ = replay.naive_recursion(graph, scalar_locals, result.seed)
    assert steps == len(records)
    assert steps > 2 ** (depth + 1)


def test_an_exploding_recursion_is_refused_with_its_reason(client):
    response = client.post(
        "/graph/backward", json={"expression": fan_out(40), "inputs": {"x": 1, "w": 1}, "mode": "naive-recursion"}
    )
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "100,000 edge steps" in message and "path" in message and "double" in message
    # The same program replays fine with the other mistake: one step per edge.
    assert (
        client.post(
            "/graph/backward", json={"expression": fan_out(40), "inputs": {"x": 1, "w": 1}, "mode": "overwrite"}
        ).status_code
        == 200
    )


def test_the_replay_bound_is_configurable():
    response = limited(max_replay_steps=5).post("/graph/backward", json={**SHARED, "mode": "naive-recursion"})
    assert response.status_code == 413 and "5 edge steps" in response.json()["error"]["message"]


def test_the_recursion_runs_without_python_recursion_on_a_long_chain(client):
    program = "\n".join(["h = x * w"] + ["h = h * w"] * 4000)
    body = client.post(
        "/graph/backward", json={"expression": program, "inputs": {"x": 1.0, "w": 1.0001}, "mode": "naive-recursion"}
    ).json()
    assert body["diverges"]["first_step"] is None
    assert by_name(body)["x"]["grad"] == pytest.approx(1.0001**4001)


@pytest.mark.parametrize("mode", replay.MODES)
@pytest.mark.parametrize("example", EXAMPLES, ids=[example["id"] for example in EXAMPLES])
def test_every_example_replays(client, example, mode):
    # a training example's dataset split as its first 64 rows: the CNN's whole split, replayed with every
    # value in full, passes the request memory budget (the graph is the same at any batch size)
    example = example | {
        "inputs": {
            name: spec | {"rows": list(range(64))}
            if isinstance(spec, dict) and "split" in spec and "rows" not in spec
            else spec
            for name, spec in example["inputs"].items()
        }
    }
    body = client.post("/graph/backward", json=request_of(example, mode=mode)).json()
    correct = client.post("/graph/backward", json=request_of(example)).json()
    assert len(body["nodes"]) == len(correct["nodes"]) == len(body["diverges"]["nodes"])
    for node, wrong, right in zip(body["diverges"]["nodes"], body["nodes"], correct["nodes"]):
        assert node == (not replay.same(wrong["grad"], right["grad"]))


# --- the shared resource budget --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "extra"),
    [
        ("/graph/gradcheck", {}),
        ("/graph/pytorch", {}),
        ("/graph/dot", {}),
        ("/graph/backward", {"mode": "naive-recursion"}),
        ("/graph/backward", {"mode": "overwrite"}),
    ],
)
def test_new_routes_are_refused_past_the_memory_budget_before_building(route, extra):
    client = TestClient(create_app(Settings(max_request_memory=200_000)))
    big = {"expression": "y = sum(W * W)", "inputs": {"W": {"init": "randn", "shape": [100, 100]}}, **extra}
    response = client.post(route, json=big)
    assert response.status_code == 413
    assert "memory" in response.json()["error"]["message"]
    assert client.post(route, json={**SHARED, **extra}).status_code == 200


class Stop(Exception):
    pass


def stopping_after(calls: int):
    count = [0]

    def check():
        count[0] += 1
        if count[0] > calls:
            raise Stop

    return check


def test_the_long_loops_check_for_cancellation():
    result = evaluate("y = sum(v * v)", {"v": list(range(10))})
    with pytest.raises(Stop):
        fd.gradcheck(result.graph, result.grads, result.seed, fd.plan(result.graph, 64), stopping_after(3))
    deep = evaluate(fan_out(12), {"x": 1.0, "w": 1.0})
    _, scalar_locals = forward(deep.graph)
    with pytest.raises(Stop):
        replay.naive_recursion(deep.graph, scalar_locals, deep.seed, stopping_after(3))
    with pytest.raises(Stop):
        replay.overwrite(deep.graph, deep.forward, scalar_locals, deep.seed, stopping_after(3))


def test_gradcheck_of_a_program_without_op_nodes(client):
    # `f = x` has no op node: its passes cost nothing (the time estimate once divided by zero: a 500).
    response = client.post("/graph/gradcheck", json={"expression": "f = x", "inputs": {"x": 3}})
    assert response.status_code == 200
    checked = response.json()["inputs"]["x"]
    assert checked["numeric"] == pytest.approx(1.0, rel=1e-12)
    assert checked["analytic"] == 1.0

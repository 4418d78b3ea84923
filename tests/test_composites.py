"""Composites, inside out: expanded and unexpanded runs agree, groups follow the contract, the
decompositions are read from the op table, and the loss options' syntax keeps the whitelist.

PyTorch parity of the options is in tests/parity_programs.py (and run expanded too by
tests/test_parity.py); finite differences of every op and option in tests/test_gradcheck.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.encode import graph_body
from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.expand import COMPOSITES
from app.engine.layers import LAYERS
from app.engine.ops import OPS
from app.main import create_app

RTOL = 1e-12
ATOL = 1e-13


def _rng_inputs(shapes: dict, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, shape in shapes.items():
        if isinstance(shape, tuple) and shape and shape[0] == "label":
            _, label_shape, classes = shape
            inputs[name] = {
                "value": rng.integers(0, classes, label_shape).astype(float).tolist(),
                "requires_grad": False,
            }
        else:
            value = rng.normal(size=shape)
            inputs[name] = float(value) if shape == () else value.tolist()
    return inputs


# Every composite on scalar, batched and broadcast shapes (and with its options).
CASES = {
    "linear": [
        ("batched", "out = linear(x, W, b)", {"x": (4, 3), "W": (3, 2), "b": (2,)}),
        ("vector", "out = linear(x, W, b)", {"x": (3,), "W": (3, 2), "b": (2,)}),
        ("scalar", "out = linear(x, W, b)", {"x": (3,), "W": (3,), "b": ()}),
        ("broadcast", "out = linear(x, W, b)", {"x": (3,), "W": (3, 2), "b": (4, 1)}),
        ("broadcast", "out = linear(x, W, b)", {"x": (2, 4, 3), "W": (3, 2), "b": (2, 1, 2)}),
    ],
    "sigmoid": [
        ("scalar", "out = sigmoid(x)", {"x": ()}),
        ("batched", "out = sigmoid(x)", {"x": (4, 3)}),
        ("broadcast", "out = sigmoid(x + b)", {"x": (4, 3), "b": (3,)}),
    ],
    "softmax": [
        ("vector", "out = softmax(x)", {"x": (5,)}),
        ("batched", "out = softmax(x)", {"x": (4, 3)}),
        ("batched", "out = softmax(x, axis=0)", {"x": (4, 3)}),
        ("broadcast", "out = softmax(x + b, axis=1)", {"x": (2, 3, 4), "b": (4,)}),
    ],
    "log_softmax": [
        ("vector", "out = log_softmax(x)", {"x": (5,)}),
        ("batched", "out = log_softmax(x)", {"x": (4, 3)}),
        ("batched", "out = log_softmax(x, axis=-2)", {"x": (2, 4, 3)}),
        ("broadcast", "out = log_softmax(x * b)", {"x": (4, 3), "b": (3,)}),
    ],
    "mse": [
        ("scalar", "out = mse(p, t)", {"p": (), "t": ()}),
        ("batched", "out = mse(p, t)", {"p": (4, 3), "t": (4, 3)}),
        ("broadcast", "out = mse(p, t)", {"p": (4, 3), "t": (3,)}),
        ("broadcast", 'out = mse(p, t, reduction="sum")', {"p": (4, 1), "t": (1, 3)}),
        ("broadcast", 'out = mse(p, t, reduction="none")', {"p": (4, 3), "t": ()}),
    ],
    "softmax_cross_entropy": [
        ("scalar", "out = softmax_cross_entropy(z, y)", {"z": (4,), "y": ("label", (), 4)}),
        ("batched", "out = softmax_cross_entropy(z, y)", {"z": (5, 3), "y": ("label", (5,), 3)}),
        ("broadcast", "out = softmax_cross_entropy(x + b, y)", {"x": (5, 3), "b": (3,), "y": ("label", (5,), 3)}),
        ("options", 'out = softmax_cross_entropy(z, y, reduction="none")', {"z": (5, 3), "y": ("label", (5,), 3)}),
        (
            "options",
            "out = softmax_cross_entropy(z, y, weight=(0.5, 2, 1), ignore_index=1, label_smoothing=0.2)",
            {"z": (6, 3), "y": ("label", (6,), 3)},
        ),
        (
            "options",
            'out = softmax_cross_entropy(z, y, label_smoothing=0.1, reduction="sum")',
            {"z": (4,), "y": ("label", (), 4)},
        ),
    ],
    "linear_t": [
        ("batched", "out = linear_t(x, W, b)", {"x": (4, 3), "W": (2, 3), "b": (2,)}),
        ("batched", "out = linear_t(x, W, b)", {"x": (2, 4, 3), "W": (3, 3), "b": (3,)}),
        ("vector", "out = linear_t(x, W, b)", {"x": (3,), "W": (2, 3), "b": (2,)}),
        ("scalar", "out = linear_t(x, W, b)", {"x": (3,), "W": (3,), "b": ()}),
        ("broadcast", "out = linear_t(x, W, b)", {"x": (3,), "W": (2, 3), "b": (4, 1)}),
    ],
    "logsumexp": [
        ("vector", "out = logsumexp(x, axis=0)", {"x": (5,)}),
        ("batched", "out = logsumexp(x, axis=1)", {"x": (4, 3)}),
        ("batched", "out = logsumexp(x, axis=(0, 2), keepdims=True)", {"x": (2, 4, 3)}),
        ("broadcast", "out = logsumexp(x + b, axis=-1)", {"x": (4, 3), "b": (3,)}),
    ],
}

ALL = [
    pytest.param(op, program, shapes, id=f"{op}-{kind}-{program}")
    for op, cases in CASES.items()
    for kind, program, shapes in cases
]


def test_every_composite_has_cases_and_a_decomposition():
    # the layers' composites (app/engine/layers.py) are checked in tests/test_layers_composites.py
    assert set(COMPOSITES) - set(LAYERS) == set(CASES)
    assert set(COMPOSITES) - set(LAYERS) == {
        "linear",
        "mse",
        "softmax_cross_entropy",
        "softmax",
        "log_softmax",
        "sigmoid",
        "linear_t",
        "logsumexp",
    }
    for name in CASES:
        kinds = {kind for kind, _, _ in CASES[name]}
        assert {"batched", "broadcast"} <= kinds and kinds & {"scalar", "vector"}, name


def _leaf_grads(result) -> dict:
    graph = result.graph
    return {graph.names[k]: result.grads[k] for k in range(len(graph)) if graph.ops[k] is None and graph.names[k]}


@pytest.mark.parametrize(("op_name", "program", "shapes"), ALL)
def test_expanded_and_unexpanded_give_the_same_values_and_gradients(op_name, program, shapes):
    for seed in range(3):
        inputs = _rng_inputs(shapes, seed)
        out_shape = np.shape(evaluate(program, inputs, backward=False).values[-1])
        grad_output = np.random.default_rng(100 + seed).normal(size=out_shape)
        grad_output = float(grad_output) if out_shape == () else grad_output.tolist()
        plain = evaluate(program, inputs, grad_output)
        expanded = evaluate(program, inputs, grad_output, expand=[op_name])
        assert any(op is not None and op.name == op_name for op in plain.graph.ops)
        assert not any(op is not None and op.name == op_name for op in expanded.graph.ops), "not opened"
        np.testing.assert_allclose(expanded.values[expanded.output], plain.values[plain.output], rtol=RTOL, atol=ATOL)
        want, got = _leaf_grads(plain), _leaf_grads(expanded)
        assert want.keys() == got.keys()
        for name, grad in want.items():
            if grad is None:
                assert got[name] is None, name
                continue
            assert np.shape(got[name]) == np.shape(grad), name
            np.testing.assert_allclose(got[name], grad, rtol=RTOL, atol=ATOL, err_msg=f"{program}: ∂/∂{name}")


def test_the_max_shift_takes_no_gradient():
    """softmax's shift by the max is detached: no step sends a gradient into the max node."""
    result = evaluate(
        "p = softmax(x)", {"x": [[1.0, 3.0, 3.0], [0.5, -1.0, 2.0]]}, [[1, 0, 0], [0, 2, 0]], expand="all"
    )
    graph = result.graph
    max_nodes = [k for k, op in enumerate(graph.ops) if op is not None and op.name == "max"]
    assert len(max_nodes) == 1
    assert result.grads[max_nodes[0]] is None
    assert all(record[0] != max_nodes[0] and record[1] != max_nodes[0] for record in result.records)


def _body(program, inputs, expand, grad_output=None) -> dict:
    return json.loads(graph_body(evaluate(program, inputs, grad_output, expand=expand), 10_000, 10_000))


REGRESSION = "h = relu(linear(x, W1, b1))\ny = linear(h, W2, b2)\nloss = mse(y, t)"
REGRESSION_INPUTS = {
    "x": {"value": [[1.0, 2.0, 0.5], [0.0, -1.0, 2.0]], "requires_grad": False},
    "t": {"value": [[1.0], [2.0]], "requires_grad": False},
    "W1": [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]],
    "b1": [0.1, -0.1],
    "W2": [[0.7], [-0.8]],
    "b2": [0.05],
}


def test_groups_follow_the_contract():
    body = _body(REGRESSION, REGRESSION_INPUTS, "all")
    nodes = body["nodes"]
    labels = [node["label"] for node in nodes]
    ops = [node["op"] for node in nodes]
    assert [g["op"] for g in body["groups"]] == ["linear", "linear", "mse"]
    first, second, loss = body["groups"]
    # linear(x, W1, b1) = x @ W1 + b1: a matmul then an add, the add standing for the call.
    assert [ops[k] for k in first["nodes"]] == ["matmul", "add"]
    assert [labels[k] for k in first["nodes"]] == ["x @ W1", "linear(x, W1, b1)"]
    assert [labels[k] for k in first["inputs"]] == ["x", "W1", "b1"]
    assert first["output"] == first["nodes"][-1] and first["label"] == "linear(x, W1, b1)"
    assert nodes[nodes[first["output"]]["inputs"][0]]["inputs"] == first["inputs"][:2]
    assert second["label"] == "y" and labels[second["nodes"][0]] == "h @ W2"
    assert [ops[k] for k in loss["nodes"]] == ["sub", "constant", "pow", "mean"]
    assert [labels[k] for k in loss["nodes"]] == ["y - t", "2", "(y - t) ** 2", "loss"]
    for group in body["groups"]:
        assert group["parent"] is None
        for k in group["nodes"]:
            assert nodes[k]["group"] == group["id"]
            assert nodes[k]["span"] == nodes[group["output"]]["span"]  # the call's place in the program
    assert all("group" not in nodes[k] for k in range(len(nodes)) if not any(k in g["nodes"] for g in body["groups"]))
    assert nodes[body["output"]]["name"] == "loss"
    # Inner names (h, y, loss) stay the program's: the decompositions' own names are labels only.
    assert sorted(node["name"] for node in nodes if node["name"]) == [
        "W1",
        "W2",
        "b1",
        "b2",
        "h",
        "loss",
        "t",
        "x",
        "y",
    ]


def test_nested_composites_open_inside_their_parent():
    body = _body(
        "loss = softmax_cross_entropy(z, y)",
        {"z": [[1.0, 2.0, 0.0]], "y": {"value": [2], "requires_grad": False}},
        "all",
    )
    outer, inner = body["groups"]
    assert (outer["op"], inner["op"], inner["parent"]) == ("softmax_cross_entropy", "log_softmax", outer["id"])
    assert set(inner["nodes"]) < set(outer["nodes"])
    labels = {body["nodes"][k]["label"] for k in inner["nodes"]}
    assert {"shift", "shifted", "log_softmax(z)"} <= labels
    assert body["nodes"][inner["output"]]["group"] == inner["id"]
    onehot = next(node for node in body["nodes"] if node["op"] == "onehot")
    assert onehot["params"] == {"classes": 3, "ignore_index": None} and onehot["group"] == outer["id"]
    # Only the composites named are opened.
    only = _body(
        "loss = softmax_cross_entropy(z, y)",
        {"z": [[1.0, 2.0, 0.0]], "y": {"value": [2], "requires_grad": False}},
        ["softmax_cross_entropy"],
    )
    assert [g["op"] for g in only["groups"]] == ["softmax_cross_entropy"]
    assert "log_softmax" in [node["op"] for node in only["nodes"]]


def test_an_unexpanded_body_has_no_groups():
    body = _body(REGRESSION, REGRESSION_INPUTS, None)
    assert "groups" not in body and all("group" not in node for node in body["nodes"])


def test_ops_show_each_decomposition_from_the_table():
    client = TestClient(create_app())
    ops = {op["name"]: op for op in client.get("/ops").json()["ops"]}
    assert ops["linear"]["decomposition"] == "x @ W + b" == OPS["linear"].decomposition()
    assert ops["mse"]["decomposition"] == "mean((pred - target) ** 2)"
    assert (
        ops["softmax_cross_entropy"]["decomposition"] == "-mean(sum(log_softmax(logits) * onehot(labels, C), axis=-1))"
    )
    assert ops["sigmoid"]["decomposition"] == "1 / (1 + exp(-x))"
    assert "detach(max(x, axis=-1, keepdims=True))" in ops["log_softmax"]["decomposition"]
    assert ops["add"]["decomposition"] is None
    reduction = next(p for p in ops["mse"]["params"] if p["name"] == "reduction")
    assert reduction == {
        "name": "reduction",
        "kind": "enum",
        "default": "mean",
        "required": False,
        "choices": ["mean", "sum", "none"],
    }
    assert ops["softmax_cross_entropy"]["signature"] == (
        'softmax_cross_entropy(logits, labels, weight=None, ignore_index=None, label_smoothing=0.0, reduction="mean")'
    )


def test_the_api_takes_expand_and_rejects_what_is_not_a_composite():
    client = TestClient(create_app())
    body = {"expression": "y = sigmoid(x)", "inputs": {"x": 0.5}}
    answer = client.post("/graph/backward", json=body | {"expand": ["sigmoid"]}).json()
    assert [g["op"] for g in answer["groups"]] == ["sigmoid"]
    assert answer["nodes"][0]["grad"] == pytest.approx(0.2350037122015945, rel=1e-14)
    bad = client.post("/graph/backward", json=body | {"expand": ["relu", "sigmoid"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["input"] == "expand"
    assert "'relu'" in bad.json()["error"]["message"] and "linear" in bad.json()["error"]["message"]
    assert client.post("/graph/backward", json=body | {"expand": "some"}).status_code == 422


# --- the options' syntax: strict literals ---------------------------------------------------------

Z = {"z": [[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]], "y": {"value": [0, 2], "requires_grad": False}}


def _error(program: str, inputs=Z) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        evaluate(program, inputs)
    return caught.value


@pytest.mark.parametrize(
    ("program", "kind", "says"),
    [
        ('softmax_cross_entropy(z, y, reduction="avg")', "bad_arguments", '"mean" or "sum" or "none"'),
        ("softmax_cross_entropy(z, y, reduction=sum)", "bad_arguments", '"mean" or "sum" or "none"'),
        ('softmax_cross_entropy(z, y, reduction=" sum")', "bad_arguments", '"mean" or "sum" or "none"'),
        ("softmax_cross_entropy(z, y, reduction=\"sum')", "bad_arguments", '"mean" or "sum" or "none"'),
        ('softmax_cross_entropy(z, y, ignore_index="sum")', "forbidden", "strings are not part of the language"),
        ('softmax_cross_entropy("z", y)', "forbidden", "strings are not part of the language"),
        ('y2 = "sum"', "forbidden", "strings are not part of the language"),
        ("softmax_cross_entropy(z, y, weight=(1, 2))", "shape_mismatch", "weight has 2 entries for 3 classes"),
        ("softmax_cross_entropy(z, y, weight=z)", "bad_arguments", "a tuple of numbers"),
        ("softmax_cross_entropy(z, y, label_smoothing=1.5)", "bad_arguments", "a number from 0 to 1"),
        ("softmax_cross_entropy(z, y, ignore_index=0.5)", "bad_arguments", "None or an integer"),
        ("sum(z, axis=(0.5, 1))", "bad_arguments", "tuple of integers"),
        ("onehot(y, 0)", "bad_arguments", "a positive integer"),
        ("onehot(y, 2)", "invalid_input", "labels must be class indices in [0, 1]"),
        ("mse(z, z, reduction='mean', reduction='sum')", "bad_arguments", "reduction= twice"),
    ],
)
def test_option_errors_say_what_is_allowed(program, kind, says):
    error = _error(program)
    assert error.kind == kind, error.message
    assert says in error.message
    assert error.start is not None


def test_options_read_as_written():
    got = evaluate(
        "a = softmax_cross_entropy(z, y, reduction='sum')\nb = softmax_cross_entropy(z, y, reduction=\"none\")"
        "\nout = a - sum(b)",
        Z,
    )
    assert got.values[got.output] == pytest.approx(0.0, abs=1e-15)
    assert got.graph.params[got.graph.names.index("b")]["reduction"] == "none"
    onehot = evaluate("h = onehot(y, 4, ignore_index=2)", Z)
    assert np.asarray(onehot.values[-1]).tolist() == [[1, 0, 0, 0], [0, 0, 0, 0]]


def test_an_error_inside_an_expansion_points_at_the_call():
    error = _error(
        "loss = softmax_cross_entropy(z, y)", {"z": [[1.0, 2.0, 0.5]], "y": {"value": [3], "requires_grad": False}}
    )
    assert error.kind == "invalid_input" and "class indices" in error.message
    with pytest.raises(ProgramError) as caught:
        evaluate(
            "q = 1\nloss = softmax_cross_entropy(z, y)",
            {"z": [[1.0, 2.0, 0.5]], "y": {"value": [3], "requires_grad": False}},
            expand="all",
        )
    assert (caught.value.start, caught.value.end) == (13, 40)
    assert "class indices" in caught.value.message

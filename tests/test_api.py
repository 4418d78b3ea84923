"""Every route through the HTTP layer, every class of error, and the server's health after each."""

from __future__ import annotations

import gc
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.engine.limits import Limits
from app.engine.ops import OPS
from app.main import create_app
from app.settings import Settings
from tests.conftest import by_name

CHAIN_RULE = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}}


def post(client, expression, inputs=None, grad_output=None, route="/graph/backward"):
    return client.post(route, json={"expression": expression, "inputs": inputs or {}, "grad_output": grad_output})


def test_chain_rule_over_http(client):
    response = client.post("/graph/backward", json=CHAIN_RULE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    nodes = by_name(body)
    assert body["nodes"][body["output"]]["value"] == -12
    assert {k: nodes[k]["grad"] for k in "xyzq"} == {"x": -4, "y": -4, "z": 3, "q": -4}
    assert nodes["q"]["op"] == "add" and nodes["f"]["op"] == "mul" and nodes["x"]["op"] == "input"
    assert nodes["f"]["inputs"] == [nodes["q"]["id"], nodes["z"]["id"]]
    assert nodes["f"]["span"] == {"line": 2, "column": 5, "end_line": 2, "end_column": 10}
    assert body["forward"] == [nodes["q"]["id"], nodes["f"]["id"]]


def test_chain_rule_steps_over_http(client):
    body = client.post("/graph/backward", json=CHAIN_RULE).json()
    ids = {n["name"]: n["id"] for n in body["nodes"]}
    steps = body["steps"]
    assert [s["phase"] for s in steps] == ["forward"] * 2 + ["backward"] * 4
    assert [s["node"] for s in steps[:2]] == [ids["q"], ids["f"]]
    backward = steps[2:]
    assert [(s["node"], s["input"]) for s in backward] == [
        (ids["f"], ids["q"]),
        (ids["f"], ids["z"]),
        (ids["q"], ids["x"]),
        (ids["q"], ids["y"]),
    ]
    first = backward[0]
    assert first["upstream"] == 1 and first["contribution"] == -4 and first["accumulated"] == -4
    assert first["local"] == {"formula": "∂f/∂q = z", "value": -4}
    to_x = backward[2]
    assert to_x["local"] == {"formula": "∂q/∂x = 1", "value": 1}
    assert (to_x["upstream"], to_x["contribution"], to_x["summed_axes"]) == (-4, -4, [])


def test_shared_parameter_steps_show_both_contributions(client):
    example = next(e for e in client.get("/examples").json()["examples"] if e["id"] == "shared-parameter")
    body = client.post("/graph/backward", json={k: example[k] for k in ("expression", "inputs", "grad_output")}).json()
    a = by_name(body)["a"]
    into_a = [s for s in body["steps"] if s["phase"] == "backward" and s["input"] == a["id"]]
    assert len(into_a) == 2
    first, second = (np.array(s["contribution"]) for s in into_a)
    np.testing.assert_allclose(into_a[1]["accumulated"], first + second, rtol=1e-15)
    assert a["grad"] == into_a[1]["accumulated"]
    b_step = next(s for s in body["steps"] if s["phase"] == "backward" and s["input"] == by_name(body)["b"]["id"])
    assert b_step["summed_axes"] == [0]
    assert by_name(body)["b"]["shape"] == [3]


def test_unnamed_intermediates_are_labelled_by_their_source(client):
    body = post(client, "y = (x * a + b) * a", {"x": 1.0, "a": 2.0, "b": 3.0}).json()
    labels = [n["label"] for n in body["nodes"]]
    assert "x * a" in labels and "x * a + b" in labels
    formulas = [s["local"]["formula"] for s in body["steps"] if s["phase"] == "backward"]
    assert "∂y/∂(x * a + b) = a" in formulas


def test_forward_route_has_values_and_no_gradients(client):
    body = client.post("/graph/forward", json=CHAIN_RULE).json()
    assert body["nodes"][body["output"]]["value"] == -12
    assert all(n["grad"] is None for n in body["nodes"])
    assert all(s["phase"] == "forward" for s in body["steps"])


def test_grad_output_is_the_upstream_gradient(client):
    body = post(client, "y = x * 3", {"x": [1.0, 2.0]}, grad_output=[10.0, -1.0]).json()
    assert by_name(body)["x"]["grad"] == [30.0, -3.0]
    response = post(client, "y = x * 3", {"x": [1.0, 2.0]}, grad_output=[1.0])
    assert response.status_code == 422
    assert response.json()["error"]["input"] == "grad_output"


def test_non_finite_numbers_are_encoded_as_strings(client):
    body = post(
        client,
        "a = log(x * 0)\nb = (x * 0) / (x * 0)\nc = exp(x * 1000)\nv = v0 / 0",
        {"x": 1.0, "v0": [1.0, -1.0, 0.0]},
    ).json()
    nodes = by_name(body)
    assert nodes["a"]["value"] == "-Infinity"
    assert nodes["b"]["value"] == "NaN"
    assert nodes["c"]["value"] == "Infinity"
    assert nodes["v"]["value"] == ["Infinity", "-Infinity", "NaN"]


def test_large_tensors_come_back_as_summaries():
    client = TestClient(create_app(Settings(max_full_elements=10, max_step_elements=4)))
    body = post(client, "y = sum(x * 2)", {"x": {"init": "ones", "shape": [4, 5]}}).json()
    x = by_name(body)["x"]
    assert x["value"] == {
        "truncated": True,
        "shape": [4, 5],
        "min": 1.0,
        "max": 1.0,
        "mean": 1.0,
        "norm": pytest.approx(20**0.5),
    }
    assert x["grad"]["truncated"] is True and x["grad"]["max"] == 2.0
    assert body["truncated_elements"] == 10
    small = post(client, "y = sum(x * 2)", {"x": [1.0, 2.0]}).json()
    assert by_name(small)["x"]["value"] == [1.0, 2.0]


def test_transposed_gradients_encode(client):
    body = post(
        client, "y = sum(x.T * w)", {"x": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "w": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}
    ).json()
    assert by_name(body)["x"]["grad"] == [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]


@pytest.mark.parametrize(
    ("expression", "inputs", "status", "kind", "line", "column"),
    [
        ("q = x + y\nf = tahn(q)", {"x": 1, "y": 2}, 422, "unknown_function", 2, 5),
        ("q = x +\nf = q", {"x": 1}, 422, "syntax_error", 1, 8),
        ("q = x + w", {"x": 1}, 422, "missing_input", 1, 9),
        ("h = x @ W", {"x": [[1, 2, 3]], "W": [[1, 2]]}, 422, "shape_mismatch", 1, 5),
        ("x.__class__", {"x": 1}, 422, "forbidden", 1, 2),
        ("__import__('os')", {}, 422, "forbidden", 1, 1),
        ("f = lambda: 1", {}, 422, "forbidden", 1, 5),
        ("y = 'hello'", {}, 422, "forbidden", 1, 5),
        ("y = [v * 2 for v in x]", {"x": [1]}, 422, "forbidden", 1, 5),
        ("y = sum(x, axis=5)", {"x": [1.0]}, 422, "shape_mismatch", 1, 5),
    ],
)
def test_program_errors_answer_4xx_with_line_and_column(client, expression, inputs, status, kind, line, column):
    response = post(client, expression, inputs)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["kind"], error["line"], error["column"]) == (kind, line, column)
    assert f"(line {line}, column {column})" in error["message"]
    assert client.post("/graph/backward", json=CHAIN_RULE).status_code == 200  # and the next one is served


def test_unknown_function_lists_the_closest_names(client):
    error = post(client, "y = sigmod(x)", {"x": 1}).json()["error"]
    assert error["suggestions"] == ["sigmoid"]
    assert "did you mean sigmoid" in error["message"]


def test_shape_errors_name_both_operands_and_their_shapes(client):
    error = post(client, "h = x @ W", {"x": [[1, 2, 3]], "W": [[1, 2]]}).json()["error"]
    assert "x has shape (1, 3)" in error["message"] and "W has shape (1, 2)" in error["message"]


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"x": "1"}, "not a number"),
        ({"x": [[1, 2], [3]]}, "ragged"),
        ({"x": [1, None]}, "null"),
        ({"x": {"value": [1, True]}}, "boolean"),
    ],
)
def test_input_errors_name_the_input(client, inputs, fragment):
    response = post(client, "y = x * 2", inputs)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["kind"] == "invalid_input" and error["input"] == "x"
    assert fragment in error["message"] or fragment.replace("not a number", "string") in error["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({"inputs": {}}, "expression"), ({"expression": 5}, "expression"), ({"expression": "x", "inputs": [1]}, "inputs")],
)
def test_malformed_requests_are_422(client, body, fragment):
    response = client.post("/graph/backward", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["kind"] == "invalid_request"
    assert fragment in response.json()["error"]["message"]


def test_invalid_json_is_422(client):
    response = client.post("/graph/backward", content=b'{"expression": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["kind"] == "invalid_request"


def test_limits_answer_413_and_the_server_goes_on():
    limits = Limits(max_program_chars=200, max_nodes=50, max_tensor_elements=100, max_total_work=1000)
    client = TestClient(create_app(Settings(limits=limits, max_body_bytes=5000)))
    cases = [
        ("x" + " + x" * 100, {"x": 1}),  # characters
        ("y = x * 2", {"x": {"init": "zeros", "shape": [11, 10]}}),  # elements per tensor
        ("y = x @ x @ x @ x @ x @ x", {"x": {"init": "zeros", "shape": [10, 10]}}),  # total work
    ]
    for expression, inputs in cases:
        response = post(client, expression, inputs)
        assert response.status_code == 413, response.text
        assert response.json()["error"]["kind"] == "limit_exceeded"
        assert post(client, "y = x * 2", {"x": 1}).status_code == 200
    response = client.post("/graph/backward", content=json.dumps({"expression": "x", "inputs": {"x": [0.5] * 2000}}))
    assert response.status_code == 413


def test_node_limit_answers_413():
    client = TestClient(create_app(Settings(limits=Limits(max_nodes=10))))
    response = post(client, "y = x" + " + x" * 10, {"x": 1})
    assert response.status_code == 413
    assert "nodes" in response.json()["error"]["message"]


def test_healthz(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_ops_lists_every_op_with_signature_and_formulas(client):
    ops = {op["name"]: op for op in client.get("/ops").json()["ops"]}
    assert set(ops) == set(OPS)
    assert ops["mul"]["derivatives"] == [
        {"input": "a", "formula": "∂out/∂a = b", "differentiable": True},
        {"input": "b", "formula": "∂out/∂b = a", "differentiable": True},
    ]
    assert ops["sum"]["signature"] == "sum(x, axis=None, keepdims=False)"
    assert ops["softmax_cross_entropy"]["derivatives"][1]["differentiable"] is False
    assert all(op["doc"] and op["syntax"] for op in ops.values())


def test_examples_include_the_tutorials_and_all_run(client):
    examples = client.get("/examples").json()["examples"]
    ids = {e["id"] for e in examples}
    assert {"chain-rule", "shared-parameter", "shared-intermediate", "regression-mlp", "softmax-classifier"} <= ids
    for example in examples:
        response = client.post("/graph/backward", json={k: example[k] for k in ("expression", "inputs", "grad_output")})
        assert response.status_code == 200, (example["id"], response.text)
    q_q = next(e for e in examples if e["id"] == "shared-intermediate")
    nodes = by_name(client.post("/graph/backward", json={k: q_q[k] for k in ("expression", "inputs")}).json())
    assert (nodes["x"]["grad"], nodes["a"]["grad"]) == (12, 9)


def test_regression_example_shapes(client):
    example = next(e for e in client.get("/examples").json()["examples"] if e["id"] == "regression-mlp")
    nodes = by_name(client.post("/graph/backward", json={k: example[k] for k in ("expression", "inputs")}).json())
    assert nodes["x"]["shape"] == [8, 3] and nodes["W1"]["shape"] == [3, 15] and nodes["W2"]["shape"] == [15, 1]
    assert nodes["loss"]["shape"] == [] and nodes["b1"]["grad"] is not None and nodes["x"]["grad"] is None


def test_openapi_example_works_when_tried(client):
    spec = client.get("/openapi.json").json()
    schema = spec["components"]["schemas"]["GraphRequest"]
    example = schema["examples"][0]
    response = client.post("/graph/backward", json=example)
    assert response.status_code == 200
    assert response.json()["nodes"][response.json()["output"]]["value"] == -12
    assert "/graph/backward" in spec["paths"] and "/ops" in spec["paths"]
    shown = spec["paths"]["/graph/backward"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert set(shown) == {"chain-rule", "shared-parameter"}
    for offered in shown.values():
        assert client.post("/graph/backward", json=offered["value"]).status_code == 200
    assert client.get("/docs").status_code == 200


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.json()["error"]["kind"] == "not_found"


def test_overlapping_requests_keep_the_garbage_collector_paused_until_the_last_ends():
    from app.api.graph import _RequestPause

    first, second = _RequestPause(), _RequestPause()
    first.hold()
    second.hold()
    first.release()
    assert not gc.isenabled()  # the second request is still building its graph
    second.release()
    assert gc.isenabled()


def test_concurrent_requests_and_errors_leave_the_garbage_collector_on(client):
    from concurrent.futures import ThreadPoolExecutor

    programs = ["h = tanh(h * w + b)\n" * 300, "y = tahn(h)", "y = h * w + b"]
    inputs = {"h": 0.3, "w": 0.5, "b": 0.1}
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda k: post(client, programs[k % 3], inputs).status_code, range(24)))
    assert statuses == [200, 422, 200] * 8
    assert gc.isenabled()


def test_a_request_that_changes_lane_keeps_the_collector_paused_and_leaves_no_graph_behind(client, monkeypatch):
    """Between a large program's first try and its second (app/api/jobs.py, Reroute) the collector
    stays paused, and once answered no object of its graph is left for the collector to scan: a
    young graph cost the next requests 1.5 ms collections, and an exception's cycle kept it alive
    until a full one."""
    from app.api.lanes import Lanes
    from app.engine.graph import Graph

    program = "\n".join(f"x{i + 1} = tanh(x{i} * w + b)" for i in range(1000))
    between_tries = []
    after = Lanes.after

    def moved(lanes, seconds):
        between_tries.append(gc.isenabled())
        return after(lanes, seconds)

    monkeypatch.setattr(Lanes, "after", moved)
    threshold = gc.get_threshold()
    gc.collect()
    gc.set_threshold(10**9)  # no automatic collection: what the request leaves alive stays
    try:
        response = post(client, program, {"x0": 0.3, "w": 0.5, "b": 0.1})
        left = [item for item in gc.get_objects() if type(item) is Graph]
    finally:
        gc.set_threshold(*threshold)
    assert response.status_code == 200 and response.json()["nodes"][-1]["name"] == "x1000"
    assert between_tries == [False]
    assert left == [] and gc.isenabled()


def test_a_large_program_is_parsed_once_though_its_job_changes_lane(client, monkeypatch):
    """A 10,000-node program's estimate moves its job from the event loop to a worker thread
    (app/api/jobs.py, Reroute), where compute starts again: with the graph of the first try."""
    import app.core
    from app.api.encode import graph_body
    from app.core import evaluate

    program = "\n".join(f"x{i + 1} = tanh(x{i} * w + b)" for i in range(3334))
    inputs = {"x0": 0.3, "w": 0.5, "b": 0.1}
    parses = []
    parse = app.core.parse
    monkeypatch.setattr(app.core, "parse", lambda *args: parses.append(args) or parse(*args))
    response = client.post("/graph/backward", json={"expression": program, "inputs": inputs})
    assert response.status_code == 200, response.text
    assert len(parses) == 1
    settings = Settings()
    expected = graph_body(evaluate(program, inputs), settings.max_full_elements, settings.max_step_elements)
    assert response.content == expected

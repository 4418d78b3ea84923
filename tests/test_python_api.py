"""chainlens.backward / forward / gradcheck: the HTTP routes' computation, in-process.

The numbers are the tutorial's; every body is compared byte for byte with what the server answers
for the same request, and every error with the server's 4xx.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from python_script import printed

import chainlens
from app.examples import DIALECT_EXAMPLES, EXAMPLES
from app.main import create_app
from chainlens import compute

CHAIN_RULE = "q = x + y\nf = q * z"


@pytest.fixture(scope="module")
def server() -> TestClient:
    """The app with the settings chainlens itself reads (the environment's)."""
    return TestClient(create_app(compute.settings()))


# --- the tutorial's numbers ------------------------------------------------------------------------


def test_chain_rule_value_gradients_and_steps() -> None:
    result = chainlens.backward(CHAIN_RULE, x=-2, y=5, z=-4)
    assert result.value == -12.0
    assert result.grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert result.program == CHAIN_RULE and result.inputs == {"x": -2, "y": 5, "z": -4}
    by_id = {node["id"]: node for node in result.nodes}
    assert [by_id[n]["name"] for n in range(len(by_id)) if by_id[n]["op"] == "input"] == ["x", "y", "z"]
    backward = [step for step in result.steps if step["phase"] == "backward"]
    # f → q (local z = -4), f → z (local q = 3), q → x and q → y (local 1, upstream -4)
    assert [
        (by_id[s["node"]]["name"], by_id[s["input"]]["name"], s["upstream"], s["local"]["value"], s["contribution"])
        for s in backward
    ] == [
        ("f", "q", 1.0, -4.0, -4.0),
        ("f", "z", 1.0, 3.0, 3.0),
        ("q", "x", -4.0, 1.0, -4.0),
        ("q", "y", -4.0, 1.0, -4.0),
    ]


def test_inputs_as_a_mapping_and_as_keywords_together() -> None:
    result = chainlens.backward("f = (x + y) * z\nloss = (f - t) ** 2", {"x": -2, "y": 5, "t": 0}, z=-4, t=-13)
    assert result.value == 1.0  # the keyword t = -13 wins over the mapping's 0
    assert (result.grads["x"], result.grads["y"], result.grads["z"]) == (-8.0, -8.0, 6.0)


def test_shared_intermediate_is_propagated_once() -> None:
    result = chainlens.backward("q = x * a\ny = q * q", x=1.5, a=2)
    assert result.grads == {"x": 12.0, "a": 9.0}


def test_numpy_inputs_give_numpy_gradients_of_their_shapes() -> None:
    rng = np.random.default_rng(3)
    x, a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=3)
    upstream = rng.normal(size=(3, 3))
    result = chainlens.backward("y = (x * a + b) * a", x=x, a=a, b=b, grad_output=upstream)
    np.testing.assert_allclose(result.value, (x * a + b) * a, rtol=1e-15)
    # y = x a² + b a: dy/dx = a², dy/da = 2 x a + b, dy/db = a, each times the upstream; b's summed over rows
    np.testing.assert_allclose(result.grads["x"], upstream * a * a, rtol=1e-14)
    np.testing.assert_allclose(result.grads["a"], upstream * (2 * x * a + b), rtol=1e-14)
    np.testing.assert_allclose(result.grads["b"], (upstream * a).sum(axis=0), rtol=1e-14)
    assert result.grads["b"].shape == (3,)


def test_an_input_without_gradient_is_left_out_of_grads() -> None:
    result = chainlens.backward("y = w * x", w=3.0, x={"value": 2.0, "requires_grad": False})
    assert result.grads == {"w": 2.0}


def test_forward_has_values_and_no_gradients() -> None:
    result = chainlens.forward("z = w * x + b\ns = sigmoid(z)", w=0.5, x=2.0, b=-0.25)
    assert result.value == pytest.approx(1 / (1 + np.exp(-0.75)), rel=1e-15)
    assert result.grads == {}
    assert all(node["grad"] is None for node in result.nodes)
    assert all(step["phase"] == "forward" for step in result.steps)


def test_gradcheck_agrees_with_finite_differences() -> None:
    check = chainlens.gradcheck("z = w * x + b\ns = sigmoid(z)", w=0.5, x=2.0, b=-0.25)
    assert set(check.checks) == {"w", "x", "b"}
    s = 1 / (1 + np.exp(-0.75))
    assert check.checks["x"]["analytic"] == pytest.approx(0.5 * s * (1 - s), rel=1e-14)
    assert check.max_rel_error < 1e-8


# --- the same bodies as the server ------------------------------------------------------------------


EXAMPLE_PARAMS = [pytest.param(example, id=example["id"]) for example in EXAMPLES + DIALECT_EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLE_PARAMS)
def test_to_json_is_the_http_body(server: TestClient, example: dict) -> None:
    request = {key: example[key] for key in ("expression", "inputs", "grad_output")}
    for route, call in (("backward", chainlens.backward), ("forward", chainlens.forward)):
        answer = server.post(f"/graph/{route}", json=request)
        assert answer.status_code == 200
        kwargs = {"grad_output": example["grad_output"]} if route == "backward" else {}
        result = call(example["expression"], example["inputs"], **kwargs)
        assert result.to_json().encode() == answer.content, route
    columns = server.post("/graph/backward?format=columns", json=request)
    result = chainlens.backward(example["expression"], example["inputs"], grad_output=example["grad_output"])
    assert result.to_json(format="columns").encode() == columns.content


def test_numpy_inputs_make_the_same_body_as_their_json(server: TestClient) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    answer = server.post(
        "/graph/backward",
        json={"expression": "loss = (x @ w).tanh().sum()", "inputs": {"x": x.tolist(), "w": w.tolist()}},
    )
    assert chainlens.backward("loss = (x @ w).tanh().sum()", x=x, w=w).to_json().encode() == answer.content


def test_expand_opens_composites_as_the_server_does(server: TestClient) -> None:
    example = next(e for e in EXAMPLES if e["id"] == "regression-mlp")
    answer = server.post(
        "/graph/backward", json={"expression": example["expression"], "inputs": example["inputs"], "expand": "all"}
    )
    result = chainlens.backward(example["expression"], example["inputs"], expand="all")
    assert result.to_json().encode() == answer.content
    assert json.loads(result.to_json())["groups"]


def test_gradcheck_body_is_the_http_body(server: TestClient) -> None:
    example = next(e for e in EXAMPLES if e["id"] == "softmax-classifier")
    answer = server.post("/graph/gradcheck", json={"expression": example["expression"], "inputs": example["inputs"]})
    check = chainlens.gradcheck(example["expression"], example["inputs"])
    assert check.to_json().encode() == answer.content
    assert check.max_rel_error < 1e-6


# --- errors: the server's 4xx as exceptions ----------------------------------------------------------


def _http_error(server: TestClient, route: str, request: dict) -> tuple[int, dict]:
    answer = server.post(f"/graph/{route}", json=request)
    return answer.status_code, answer.json()["error"]


@pytest.mark.parametrize(
    ("program", "inputs"),
    [
        ("q = x + \nf = q", {"x": 1.0}),  # a syntax error, located
        ("f = x @ y", {"x": [1.0, 2.0], "y": [[1.0, 2.0, 3.0]]}),  # shapes that do not fit
        ("f = torch.cumsum(x, 0)", {"x": [1.0, 2.0]}),  # outside the dialect's tables, with suggestions
        ("f = x * y", {"x": 1.0}),  # y has no value
        ("f = x.sum()", {"x": [[1.0, 2.0], [3.0]]}),  # a ragged input
        ("f = x.__class__", {"x": 1.0}),  # hostile
        ("f = x[Xb].sum()", {"x": [1.0, 2.0], "Xb": {"value": [0, 7], "requires_grad": False}}),  # found at the forward
        ("f = softmax_cross_entropy(x, y)", {"x": [[1.0, 2.0]], "y": [3]}),  # a label out of range
    ],
)
def test_program_errors_carry_the_http_answer(server: TestClient, program: str, inputs: dict) -> None:
    status, error = _http_error(server, "backward", {"expression": program, "inputs": inputs})
    with pytest.raises(chainlens.ProgramError) as raised:
        chainlens.backward(program, inputs)
    exc = raised.value
    assert 400 <= status < 500 and exc.status == status
    assert exc.error == error
    assert (exc.kind, exc.message, exc.line, exc.column) == (
        error["kind"],
        error["message"],
        error.get("line"),
        error.get("column"),
    )
    assert str(exc) == error["message"]
    assert json.loads(exc.to_json()) == {"error": error}


def test_a_request_the_model_refuses_is_the_same_invalid_request(server: TestClient) -> None:
    status, error = _http_error(server, "backward", {"expression": 42, "inputs": {}})
    with pytest.raises(chainlens.ProgramError) as raised:
        chainlens.backward(42)  # type: ignore[arg-type]
    assert (raised.value.status, raised.value.error) == (status, error)
    with pytest.raises(chainlens.ProgramError, match="invalid request: inputs"):
        chainlens.backward("f = x", [1, 2])  # type: ignore[arg-type]


def test_the_servers_limits_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINLENS_MAX_NODES", "10")
    compute.settings.cache_clear()
    try:
        program = "h = x\n" + "h = h * 2\n" * 20 + "h"
        server = TestClient(create_app(compute.settings()))
        status, error = _http_error(server, "backward", {"expression": program, "inputs": {"x": 1.0}})
        with pytest.raises(chainlens.ProgramError) as raised:
            chainlens.backward(program, x=1.0)
        assert status == 413 and raised.value.status == 413
        assert raised.value.kind == "limit_exceeded" and raised.value.error == error
    finally:
        monkeypatch.delenv("CHAINLENS_MAX_NODES")
        compute.settings.cache_clear()
    assert chainlens.backward("h = x\n" + "h = h * 2\n" * 20 + "h", x=1.0).value == 2.0**20


def test_the_memory_estimate_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINLENS_MAX_REQUEST_MEMORY", "100000")
    compute.settings.cache_clear()
    try:
        inputs = {"x": {"init": "randn", "shape": [100, 100], "seed": 0}}
        with pytest.raises(chainlens.ProgramError, match="estimated") as raised:
            chainlens.backward("y = (x @ x).sum()", inputs)
        assert raised.value.status == 413
    finally:
        monkeypatch.delenv("CHAINLENS_MAX_REQUEST_MEMORY")
        compute.settings.cache_clear()


# --- packaging: the plain install never imports torch ---------------------------------------------------


def test_import_chainlens_computes_without_importing_torch() -> None:
    script = (
        "import sys, chainlens\n"
        "r = chainlens.backward('q = x + y\\nf = q * z', x=-2, y=5, z=-4)\n"
        "assert r.grads == {'x': -4.0, 'y': -4.0, 'z': 3.0}, r.grads\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')"
    )
    assert printed(script).strip() == "ok"


def test_from_torch_without_torch_names_the_extra() -> None:
    script = (
        "import sys\nsys.modules['torch'] = None  # as if PyTorch were not installed\n"
        "import chainlens\n"
        "try:\n    chainlens.from_torch(lambda x: x, 1.0)\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert "pip install 'chainlens[torch]'" in printed(script)

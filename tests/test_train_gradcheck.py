"""POST /train/gradcheck: the gradient check of step k's program of a training run.

It must answer exactly what POST /graph/gradcheck answers for that program (the parameters before
step k's update, step k's batch as plain inputs), default to step 1, refuse a step outside the run,
and say in words, not in work units, why a check is refused.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.api.budget import estimate
from app.api.check import value_bytes
from app.check.limits import CheckLimits
from app.engine.limits import Limits
from app.examples import TRAIN_EXAMPLES
from app.main import create_app
from app.settings import Settings
from app.train import TrainConfig, TrainingRun, TrainLimits
from tests.test_hardening_jobs import asgi_post, run_async

EXAMPLES = {example["id"]: example for example in TRAIN_EXAMPLES}


def request(example_id: str, **extra: Any) -> dict[str, Any]:
    example = EXAMPLES[example_id]
    return {key: example[key] for key in ("expression", "inputs", "train")} | extra


def step_program(example_id: str, k: int) -> dict[str, Any]:
    """Step k's program as a plain /graph/gradcheck request, built by the training code itself: each
    parameter holds θ(k−1), each dataset input step k's batch (taking no gradient)."""
    body = request(example_id)
    run = TrainingRun(
        body["expression"], body["inputs"], TrainConfig.model_validate(body["train"]), Limits(), TrainLimits()
    )
    run.graph_at(k)
    inputs: dict[str, Any] = {}
    for name in body["inputs"]:
        value = np.asarray(run.graph.values[run.leaves[name]]).tolist()
        inputs[name] = value if name in run.params else {"value": value, "requires_grad": False}
    return {"expression": body["expression"], "inputs": inputs}


@pytest.mark.parametrize("k", [1, 5])
def test_step_k_is_the_graph_gradcheck_of_step_ks_program(client: TestClient, k: int) -> None:
    response = client.post("/train/gradcheck", json=request("train-digits", at=k))
    assert response.status_code == 200, response.text
    body = response.json()
    direct = client.post("/graph/gradcheck", json=step_program("train-digits", k))
    assert direct.status_code == 200, direct.text
    assert body == direct.json()
    assert list(body["inputs"]) == ["W1", "b1", "W2", "b2", "W3", "b3"]  # the parameters, not the data
    assert sum(check["checked"] for check in body["inputs"].values()) == 330


def test_steps_differ_and_the_default_is_step_1(client: TestClient) -> None:
    first = client.post("/train/gradcheck", json=request("train-digits")).json()
    assert first == client.post("/train/gradcheck", json=request("train-digits", at=1)).json()
    assert first == client.post("/train/gradcheck", json=request("train-digits", at=None)).json()
    fifth = client.post("/train/gradcheck", json=request("train-digits", at=5)).json()
    assert first["inputs"]["W3"]["analytic"] != fifth["inputs"]["W3"]["analytic"]


@pytest.mark.parametrize("k", [1, 5])
def test_digits_gradients_agree_with_finite_differences(client: TestClient, k: int) -> None:
    body = client.post("/train/gradcheck", json=request("train-digits", at=k)).json()
    for name, check in body["inputs"].items():
        assert check["max_rel_error"] < 1e-6, f"step {k}: {name} worst relative error {check['max_rel_error']}"


def test_regression_example_is_checked_on_its_one_row_batch(client: TestClient) -> None:
    body = client.post("/train/gradcheck", json=request("train-regression", at=3)).json()
    assert body["max_rel_error"] < 1e-6
    assert body == client.post("/graph/gradcheck", json=step_program("train-regression", 3)).json()


@pytest.mark.parametrize("at", [0, -1, 1001])
def test_a_step_outside_the_run_is_422(client: TestClient, at: int) -> None:
    response = client.post("/train/gradcheck", json=request("train-digits", at=at))
    assert response.status_code == 422
    assert response.json()["error"] == {
        "kind": "invalid_train",
        "message": f"at must be a step of the run, 1 to 1000; got {at}",
    }


@pytest.mark.parametrize("at", ["5", 2.5, True])
def test_an_at_that_is_no_integer_is_422(client: TestClient, at: Any) -> None:
    response = client.post("/train/gradcheck", json=request("train-digits", at=at))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["kind"] == "invalid_request" and "at" in error["message"]


def test_whole_dataset_check_is_refused_in_words(client: TestClient) -> None:
    """The program on all 1,437 training digits: refused before it runs, saying what it would do."""
    example = EXAMPLES["train-digits"]
    response = client.post("/graph/gradcheck", json={"expression": example["expression"], "inputs": example["inputs"]})
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert message.startswith(
        "this checks 330 numbers, each with 4 passes over 1,437 rows (about 35 seconds "
        "of computing; the limit is about 971 milliseconds); "
    )
    assert "training step's batch" in message and "units" not in message


def test_a_run_without_batches_is_refused_in_words() -> None:
    """A run that sees every row at each step checks all 1,437 of them: refused, with the way out."""
    client = TestClient(create_app(Settings(max_train_work=10**12, max_train_seconds=10**4)))
    train = EXAMPLES["train-digits"]["train"] | {"batch": None, "eval": None, "steps": 3}
    response = client.post("/train/gradcheck", json=request("train-digits", train=train))
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "this checks 330 numbers, each with 4 passes over 1,437 rows (about 35 seconds of computing; the limit is "
        "about 971 milliseconds); give train.batch a size to check one step's batch of rows"
    )


def test_a_batch_too_large_to_check_is_refused_in_words() -> None:
    client = TestClient(create_app(Settings(check=CheckLimits(max_gradcheck_work=10**8))))
    response = client.post("/train/gradcheck", json=request("train-digits"))
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert message.startswith("this checks 330 numbers, each with 4 passes over 32 rows (about ")
    assert message.endswith(
        "of computing; the limit is about 50 milliseconds); a smaller train.batch.size checks faster"
    )


def test_a_program_without_data_is_refused_in_words() -> None:
    client = TestClient(create_app(Settings(check=CheckLimits(max_gradcheck_work=10_000))))
    response = client.post("/graph/gradcheck", json={"expression": "y = sum(W * W)", "inputs": {"W": [[1, 2], [3, 4]]}})
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "this checks 4 numbers, each with 4 passes through the program's 2 nodes (about 150 microseconds of "
        "computing; the limit is about 20 microseconds); fewer or smaller inputs, or a shorter program, check faster"
    )


def test_bad_programs_are_the_graph_errors(client: TestClient) -> None:
    body = request("train-digits", expression="loss = sum(W1 @@ x)")
    response = client.post("/train/gradcheck", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["kind"] == "syntax_error"


def test_memory_is_estimated_before_the_check_allocates() -> None:
    """A budget that holds the run but not the check's graph and values: 413 before any pass."""
    body = request("train-digits")
    run = TrainingRun(
        body["expression"], body["inputs"], TrainConfig.model_validate(body["train"]), Limits(), TrainLimits()
    )
    settings = Settings()
    needed = (
        run.memory_bytes()
        + estimate(run.graph, True, settings.max_full_elements, settings.max_step_elements)
        + value_bytes(run.graph)
    )
    client = TestClient(create_app(Settings(max_request_memory=(needed + run.memory_bytes()) // 2)))
    response = client.post("/train/gradcheck", json=body)
    assert response.status_code == 413
    assert "of memory" in response.json()["error"]["message"]


def test_a_disconnect_stops_the_check() -> None:
    """Every element of every weight (about 45 s of passes here): the client leaves after 0.3 s and the
    job is gone well before the check could have ended."""
    app = create_app(Settings(check=CheckLimits(gradcheck_sample=10**6, max_gradcheck_work=10**14)))
    started = time.monotonic()
    status, _, _ = run_async(asgi_post(app, "/train/gradcheck", 0.3, json.dumps(request("train-digits")).encode()))
    assert status == 499
    while app.state.job_pool.admitted and time.monotonic() - started < 5:
        time.sleep(0.01)
    assert app.state.job_pool.admitted == 0
    assert time.monotonic() - started < 3

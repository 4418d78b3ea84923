"""Issue 22: the eight requests that answered 5xx and the stream that was cut short now answer a
4xx naming what is wrong and where (or end with an `error` line)."""

from __future__ import annotations

import json
import logging

import orjson
from fastapi import Request
from fastapi.testclient import TestClient

from app.api.jobs import Job, stream_job
from app.main import create_app
from app.settings import Settings

SGD = {"name": "sgd", "lr": 0.1}


def post(client: TestClient, route: str, body: dict):
    """json.dumps keeps ints of any size and lone surrogates ("\\ud800"), as a careless client would."""
    return client.post(route, content=json.dumps(body), headers={"content-type": "application/json"})


def error_of(response, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_reshape_to_more_axes_than_numpy_holds_is_a_located_422(client):
    program = "y = reshape(x, (" + ", ".join(["1"] * 70) + "))"
    error = error_of(post(client, "/graph/backward", {"expression": program, "inputs": {"x": 1}}))
    assert error["kind"] == "shape_mismatch" and "70 axes; the limit is 32" in error["message"]
    assert (error["line"], error["column"], error["end_column"]) == (1, 5, len(program) + 1)


def test_counts_past_64_bits_are_refused_by_the_schema(client):
    body = {"expression": "loss = w * w", "inputs": {"w": 1.0}, "train": {"optimizer": SGD, "steps": 10**19}}
    assert "train.steps" in error_of(post(client, "/train", body))["message"]
    body["train"] = {"optimizer": SGD, "steps": 3, "record_every": 10**30}
    assert "train.record_every" in error_of(post(client, "/train", body))["message"]


def test_a_batch_seed_of_2_64_is_refused_and_2_64_minus_1_runs(client):
    body = {
        "expression": "loss = sum(x) * w",
        "inputs": {"x": {"dataset": "digits", "field": "images"}, "w": 1.0},
        "train": {"optimizer": SGD, "steps": 2, "batch": {"size": 2, "seed": 2**64}},
    }
    assert "train.batch.seed" in error_of(post(client, "/train", body))["message"]
    body["train"]["batch"]["seed"] = 2**64 - 1
    response = post(client, "/train", body)
    lines = [json.loads(line) for line in response.content.splitlines()]
    assert lines[0]["batch"]["seed"] == 2**64 - 1 and lines[-1]["type"] == "done"


def test_dataset_rows_past_64_bits_name_the_input(client):
    for row in (2**64, -(2**64)):
        body = {"expression": "y = sum(x)", "inputs": {"x": {"dataset": "digits", "field": "images", "rows": [0, row]}}}
        error = error_of(post(client, "/graph/backward", body))
        assert error["kind"] == "invalid_dataset" and error["input"] == "x"
        assert "rows must lie in [0, 1436]" in error["message"]


def test_a_lone_surrogate_in_a_comment_exports(client):
    body = {"expression": "y = x * 2  # \ud800 and \x00", "inputs": {"x": 1}}
    script = post(client, "/graph/pytorch", body)
    assert script.status_code == 200 and "#   y = x * 2  # \\ud800 and \\u0000" in script.text
    dot = post(client, "/graph/dot", body)
    assert dot.status_code == 200 and "// y = x * 2  # \\ud800 and \\u0000" in dot.text


def test_a_tensor_loss_is_a_located_422_before_any_line(client):
    body = {"expression": "w2 = w * 1\nloss = w2 * 2", "inputs": {"w": [1, 2]}, "train": {"optimizer": SGD, "steps": 3}}
    for route, extra in (("/train", {}), ("/train/graph", {"at": 1})):
        error = error_of(post(client, route, {**body, **extra}))
        assert error["kind"] == "invalid_train" and "shape [2]" in error["message"]
        assert (error["line"], error["column"]) == (2, 8)


def test_at_zero_is_refused_by_the_schema(client):
    body = {"expression": "loss = w * w", "inputs": {"w": 1.0}, "train": {"optimizer": SGD, "steps": 3}, "at": 0}
    assert "at: Input should be greater than or equal to 1" in error_of(post(client, "/train/graph", body))["message"]


def test_a_failure_of_ours_after_the_first_line_is_an_error_line(caplog):
    app = create_app(Settings())

    @app.post("/test-stream/fails")
    def fails(request: Request):
        def compute(job: Job, emit) -> None:
            emit({"type": "start"})
            raise TypeError("a bug")

        return stream_job(request, compute, memory_bytes=0)

    with caplog.at_level(logging.ERROR, logger="chainlens"), TestClient(app) as client:
        response = client.post("/test-stream/fails")
    assert response.status_code == 200
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert lines == [
        {"type": "start"},
        {"type": "error", "kind": "internal", "message": "the server failed on this run; it has been logged"},
    ]
    assert "a streamed run failed" in caplog.text

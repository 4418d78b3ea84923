"""POST /train/html: step k's graph of a training run as the standalone HTML file (the page's Export →
HTML in Train mode). The file's body is /train/graph's for step k, its saved request is step k's
program (θ(k−1) and step k's batch as plain inputs) and POST /graph/backward computes that request to
the same graph; bad steps, missing bundles and budgets get the training routes' answers. The
browser opens such a file in tests/browser/test_export_html.py."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api import check
from app.api.budget import estimate
from app.engine.limits import Limits
from app.examples import TRAIN_EXAMPLES
from app.main import create_app
from app.settings import Settings
from app.train import TrainConfig, TrainingRun, TrainLimits
from tests.test_hardening_jobs import asgi_post, run_async

EXAMPLES = {example["id"]: example for example in TRAIN_EXAMPLES}


def request(example_id: str, **train: Any) -> dict[str, Any]:
    example = copy.deepcopy(EXAMPLES[example_id])
    return {"expression": example["expression"], "inputs": example["inputs"], "train": example["train"] | train}


def saved(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="chainlens-saved">(.*?)</script>', html, re.S)
    assert found, "the page holds its saved graph"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def lines_of(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    with client.stream("POST", "/train", json=body) as response:
        assert response.status_code == 200, response.read()
        return [json.loads(line) for line in response.iter_lines() if line]


@pytest.mark.parametrize(
    ("example", "k"),
    [("train-regression", 1), ("train-regression", 40), ("train-digits", 5), ("train-transformer-block", 3)],
)
def test_the_file_holds_step_ks_graph_and_a_request_that_computes_it(client: TestClient, example: str, k: int) -> None:
    body = request(example) | {"at": k}
    response = client.post("/train/html", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    data = saved(response.text)
    step_graph = client.post("/train/graph?format=columns", json=body).json()
    assert data["body"] == step_graph
    # The saved request is a plain graph request: /graph/backward computes it to the very same graph.
    assert set(data["request"]) == {"expression", "inputs", "grad_output"}
    assert data["request"]["expression"] == body["expression"]
    again = client.post("/graph/backward?format=columns", json=data["request"])
    assert again.status_code == 200, again.text
    assert again.json() == step_graph


def test_the_saved_inputs_are_theta_before_step_k_and_step_ks_batch(client: TestClient) -> None:
    body = request("train-regression", steps=50, record_every=1, eval=None)
    k = 40
    inputs = saved(client.post("/train/html", json=body | {"at": k}).text)["request"]["inputs"]
    assert list(inputs) == ["x", "t", "W1", "b1", "W2", "b2"]
    # A run of k − 1 steps ends with θ(k−1), the parameters step k starts from.
    before = lines_of(client, request("train-regression", steps=k - 1, eval=None))[-1]["params"]
    assert {name: inputs[name] for name in before} == before
    # The data inputs hold step k's batch (one row here), taking no gradient.
    run = TrainingRun(
        body["expression"], body["inputs"], TrainConfig.model_validate(body["train"]), Limits(), TrainLimits()
    )
    positions = run.batches.positions(k) if run.batches else None
    assert positions is not None and len(positions) == 1
    x_rows = run.data[0].rows.take(positions)
    assert inputs["x"] == {"value": x_rows.tolist(), "requires_grad": False}
    assert inputs["t"]["requires_grad"] is False and len(inputs["t"]["value"]) == 1


def test_the_files_graph_shows_step_ks_loss(client: TestClient) -> None:
    body = request("train-digits", steps=12, record_every=1, eval=None)
    records = {line["step"]: line for line in lines_of(client, body) if line["type"] == "record"}
    for k in (1, 9):
        graph = saved(client.post("/train/html", json=body | {"at": k}).text)["body"]
        assert graph["nodes"]["value"][graph["output"]] == records[k]["losses"][0]
    assert records[1]["losses"] != records[9]["losses"]


@pytest.mark.parametrize("at", [0, 2001, "5"])
def test_a_step_outside_the_run_gets_train_graphs_answer(client: TestClient, at: Any) -> None:
    body = request("train-regression") | {"at": at}
    got = client.post("/train/html", json=body)
    want = client.post("/train/graph", json=body)
    assert got.status_code == want.status_code == 422
    assert got.json() == want.json()
    if at == 2001:
        assert got.json()["error"] == {
            "kind": "invalid_train",
            "message": "at must be a step of the run, 1 to 2000; got 2001",
        }


def test_a_loss_that_is_no_number_is_refused_at_its_place(client: TestClient) -> None:
    body = {
        "expression": "y = w * x",
        "inputs": {"w": [1.0, 2.0], "x": [3.0, 4.0]},
        "train": {"optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3},
        "at": 2,
    }
    response = client.post("/train/html", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["kind"] == "invalid_train" and (error["line"], error["column"]) == (1, 5)  # `w * x`
    assert error == client.post("/train/graph", json=body).json()["error"]


def test_a_run_that_diverges_before_step_k_is_422(client: TestClient) -> None:
    body = request("train-regression", optimizer={"name": "sgd", "lr": 10.0}, steps=500) | {"at": 500}
    response = client.post("/train/html", json=body)
    assert response.status_code == 422 and "diverged at step" in response.json()["error"]["message"]


def test_a_missing_bundle_is_said(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(check, "VIEWER", tmp_path / "viewer.js")
    response = client.post("/train/html", json=request("train-regression") | {"at": 3})
    assert response.status_code == 503
    assert response.json()["error"]["kind"] == "not_built"
    assert "npm run build" in response.json()["error"]["message"]


def test_a_page_past_the_memory_budget_is_413_before_the_replay() -> None:
    """A budget that holds the run but not step k's page (the viewer alone is megabytes)."""
    body = request("train-digits")
    run = TrainingRun(
        body["expression"], body["inputs"], TrainConfig.model_validate(body["train"]), Limits(), TrainLimits()
    )
    settings = Settings()
    graph = estimate(run.graph, True, settings.max_full_elements, settings.max_step_elements)
    small = TestClient(create_app(Settings(max_request_memory=max(run.memory_bytes(), graph) + (1 << 20))))
    assert small.post("/train/graph", json=body | {"at": 5}).status_code == 200
    response = small.post("/train/html", json=body | {"at": 5})
    assert response.status_code == 413
    assert "of memory" in response.json()["error"]["message"]


def test_a_run_past_the_training_limits_is_413(client: TestClient) -> None:
    body = request("train-regression", steps=10**6) | {"at": 3}
    response = client.post("/train/html", json=body)
    assert response.status_code == client.post("/train/graph", json=body).status_code == 413


def test_a_disconnect_stops_the_replay() -> None:
    """Step 20,000 of the digits run (seconds of replay): the client leaves after 0.3 s and the job is
    gone well before the replay could have ended."""
    app = create_app(Settings())
    body = request("train-digits", steps=20_000) | {"at": 20_000}
    started = time.monotonic()
    status, _, _ = run_async(asgi_post(app, "/train/html", 0.3, json.dumps(body).encode()))
    assert status == 499
    while app.state.job_pool.admitted and time.monotonic() - started < 5:
        time.sleep(0.01)
    assert app.state.job_pool.admitted == 0
    assert time.monotonic() - started < 3

"""POST /train and POST /train/graph: the stream's lines, purity, step k's graph, divergence,
limits and bad configs, cancellation, and a real server streaming while it answers others."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from serving import serving

from app.api.jobs import Cancelled
from app.engine.limits import Limits
from app.examples import TRAIN_EXAMPLES
from app.main import create_app
from app.settings import Settings
from app.train import TrainConfig, TrainingRun, TrainLimits

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {example["id"]: example for example in TRAIN_EXAMPLES}


def request(example_id: str, **train) -> dict:
    example = copy.deepcopy(EXAMPLES[example_id])
    return {"expression": example["expression"], "inputs": example["inputs"], "train": example["train"] | train}


def norm_of(value) -> float:
    """A tensor's norm, or a summary's (tensors past the size limit come back as summaries)."""
    return value["norm"] if isinstance(value, dict) else float(np.linalg.norm(value))


def lines_of(client: TestClient, body: dict) -> list[dict]:
    with client.stream("POST", "/train", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in response.iter_lines() if line]


def test_regression_example_streams_start_records_done_and_predicts_25(client):
    lines = lines_of(client, request("train-regression"))
    start, records, done = lines[0], lines[1:-1], lines[-1]
    assert start["type"] == "start" and done["type"] == "done"
    assert start["steps"] == 2000 and start["record_every"] == 20
    assert start["params"]["W1"]["shape"] == [3, 15] and start["data"]["x"]["dataset"] == "regression"
    assert start["batch"] == {"size": 1, "seed": 0, "per_epoch": 1000}
    assert [r["step"] for r in records] == list(range(20, 2001, 20))
    assert all(len(r["losses"]) == 20 and len(r["rows"]) == 1 for r in records)
    first, last = np.mean(records[0]["losses"]), np.mean(records[-1]["losses"])
    assert last < first / 100  # the loss falls
    # the eval input is (1, 2, 3) with target 25: the prediction is close to 25
    assert abs(done["eval"]["predictions"][0][0] - 25) < 0.5
    assert done["eval"]["loss"] == pytest.approx((done["eval"]["predictions"][0][0] - 25) ** 2)
    assert np.shape(done["params"]["W1"]) == (3, 15)
    record = records[-1]
    assert set(record["params"]) == {"W1", "b1", "W2", "b2"}
    for stats in record["params"].values():
        assert stats["norm"] > 0 and stats["grad_norm"] >= 0 and stats["update_ratio"] >= 0
    # linear, relu, linear and mse take gradients (x / 10 does not); the relu has its dead share
    assert len(record["health"]) == 4
    assert sorted(map(sorted, record["health"].values())) == [["dead", "grad_norm"]] + [["grad_norm"]] * 3


def test_digits_example_passes_90_percent_test_accuracy(client):
    lines = lines_of(client, request("train-digits"))
    done = lines[-1]
    assert done["type"] == "done"
    assert done["eval"]["accuracy"] > 0.9
    assert len(done["eval"]["predictions"]) == 360
    accuracies = [line["eval"]["accuracy"] for line in lines if line["type"] == "record"]
    assert accuracies[0] < 0.9 < accuracies[-1] == done["eval"]["accuracy"]


def test_the_same_request_gives_the_same_lines(client):
    body = request("train-digits", steps=60, record_every=15)
    assert lines_of(client, body) == lines_of(client, body)


def test_train_graph_at_k_holds_exactly_the_runs_values_at_step_k():
    # Graph responses in full up to the done line's size, so W2 (20,000 elements) compares as a list.
    client = TestClient(create_app(Settings(max_full_elements=Settings().max_trained_elements)))
    k = 37
    body = request("train-digits", steps=50, record_every=1, eval=None)
    records = {line["step"]: line for line in lines_of(client, body) if line["type"] == "record"}
    graph = client.post("/train/graph", json=body | {"at": k}).json()
    nodes = {node["name"]: node for node in graph["nodes"] if node["name"]}
    # the loss of step k, and its gradients' norms
    assert graph["nodes"][graph["output"]]["value"] == records[k]["losses"][0]
    for name, stats in records[k]["params"].items():
        assert norm_of(nodes[name]["grad"]) == pytest.approx(stats["grad_norm"], rel=1e-12)
    # the parameters before step k's update: those a run of k − 1 steps ends with
    before = list(lines_of(client, request("train-digits", steps=k - 1, eval=None)))[-1]["params"]
    for name, value in before.items():
        assert nodes[name]["value"] == value, name
    # the batch of step k: the rows the record names
    images = client.post(
        "/graph/forward",
        json={
            "expression": "y = x",
            "inputs": {"x": {"dataset": "digits", "field": "images", "split": "train", "rows": records[k]["rows"]}},
        },
    ).json()
    assert nodes["x"]["value"] == images["nodes"][0]["value"]
    # and the health the record gives for each node is that of the graph's gradients
    for node_id, health in records[k]["health"].items():
        assert norm_of(graph["nodes"][int(node_id)]["grad"]) == pytest.approx(health["grad_norm"], rel=1e-12)
    # the graph is the ordinary one, with its step record
    assert graph["steps"][0]["phase"] == "forward" and graph["steps"][-1]["phase"] == "backward"


def test_dead_relus_are_reported(client):
    body = {
        "expression": "h = relu(x @ W + b)\nloss = mean(h @ V)",
        "inputs": {
            "x": {"value": [[1.0, 2.0], [3.0, 1.0]], "requires_grad": False},
            "W": [[1.0, -1.0, 0.5], [1.0, -2.0, 0.5]],
            "b": [0.0, -1.0, 0.0],
            "V": [[1.0], [1.0], [1.0]],
        },
        "train": {"optimizer": {"name": "sgd", "lr": 0.01}, "steps": 2, "record_every": 1},
    }
    record = lines_of(client, body)[1]
    relu = next(node for node, entry in record["health"].items() if "dead" in entry)
    assert record["health"][relu]["dead"] == pytest.approx(1 / 3)  # the middle unit is negative for both rows
    assert set(record["params"]) == {"W", "b", "V"}  # default params: every input that takes a gradient


def test_saturated_tanh_is_reported(client):
    body = {
        "expression": "loss = sum(tanh(x * w))",
        "inputs": {"x": {"value": [0.1, 10.0, -20.0, 0.5], "requires_grad": False}, "w": 1.0},
        "train": {"optimizer": {"name": "adam"}, "steps": 1},
    }
    record = lines_of(client, body)[1]
    tanh = next(entry for entry in record["health"].values() if "saturated" in entry)
    assert tanh["saturated"] == 0.5


def test_divergence_ends_with_an_error_line_naming_the_step(client):
    lines = lines_of(client, request("train-regression", optimizer={"name": "sgd", "lr": 10.0}, steps=500))
    error = lines[-1]
    assert error["type"] == "error" and error["kind"] == "diverged"
    assert error["message"].startswith(f"diverged at step {error['step']}: ")
    assert "try a lower lr" in error["message"]
    assert error["losses"][-1] in ("NaN", "Infinity")
    assert not any(line["type"] == "done" for line in lines)
    steps_recorded = sum(len(line["losses"]) for line in lines if line["type"] == "record")
    assert steps_recorded + len(error["losses"]) == error["step"]


@pytest.mark.parametrize(
    ("train", "kind", "words"),
    [
        ({"params": ["W9"]}, "invalid_train", "'W9' is not among the inputs"),
        ({"params": ["x"]}, "invalid_train", "dataset input"),
        ({"params": []}, "invalid_train", "empty"),
        ({"batch": {"size": 5000}}, "invalid_train", "5000"),
        ({"eval": {"q": [[1, 2, 3]]}}, "invalid_train", "'q' is not among the inputs"),
        ({"eval": {"x": [[1, 2]]}}, "invalid_train", "shapes do not fit"),
        ({"optimizer": {"name": "rmsprop", "lr": 0.1}}, "invalid_request", "train.optimizer"),
        ({"optimizer": {"name": "sgd", "lr": -1}}, "invalid_request", "lr"),
        ({"optimizer": {"name": "sgd"}}, "invalid_request", "lr"),
        ({"steps": 0}, "invalid_request", "steps"),
        ({"record_every": 0}, "invalid_request", "record_every"),
        ({"lr": 0.1}, "invalid_request", "lr"),
    ],
)
def test_bad_train_configs_are_4xx_before_anything_streams(client, train, kind, words):
    response = client.post("/train", json=request("train-regression", **train))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["kind"] == kind and words in error["message"], error


def test_bad_programs_and_inputs_are_the_graph_errors(client):
    body = request("train-regression")
    body["expression"] = "h = relu(linear(x, W1))"
    error = client.post("/train", json=body).json()["error"]
    assert error["kind"] == "bad_arguments" and error["line"] == 1
    body = request("train-regression")
    body["inputs"]["x"]["field"] = "pixels"
    error = client.post("/train", json=body).json()["error"]
    assert error["kind"] == "invalid_dataset" and "no field 'pixels'" in error["message"]


def test_train_graph_at_outside_the_run_is_422(client):
    for at, message in ((0, "at: Input should be greater than or equal to 1"), (2001, "at must be a step")):
        response = client.post("/train/graph", json=request("train-regression") | {"at": at})
        assert response.status_code == 422 and message in response.json()["error"]["message"]


def test_train_graph_after_divergence_is_422(client):
    body = request("train-regression", optimizer={"name": "sgd", "lr": 10.0}, steps=500) | {"at": 500}
    response = client.post("/train/graph", json=body)
    assert response.status_code == 422 and "diverged at step" in response.json()["error"]["message"]


def test_limits_are_413_before_the_run_starts():
    small = TestClient(create_app(Settings(max_train_steps=1000, max_train_work=10**8, max_train_seconds=5)))
    for train, words in [
        ({"steps": 1001}, "the limit is 1000 steps"),
        ({"steps": 1000, "batch": {"size": 1000}}, "the run's arithmetic would take about "),
        ({"steps": 1000, "batch": {"size": 1}}, None),
    ]:
        response = small.post("/train", json=request("train-regression", **train))
        if words is None:  # 1,000 steps of batch 1 fit
            assert response.status_code == 200
            continue
        assert response.status_code == 413, response.text
        assert response.json()["error"]["kind"] == "limit_exceeded" and words in response.json()["error"]["message"]
    seconds = TestClient(create_app(Settings(max_train_seconds=1)))
    response = seconds.post("/train", json=request("train-digits", steps=20000))
    assert response.status_code == 413 and "would take about" in response.json()["error"]["message"]


def test_a_cancelled_job_stops_between_steps():
    example = EXAMPLES["train-regression"]
    run = TrainingRun(
        example["expression"], example["inputs"], TrainConfig(**example["train"]), Limits(), TrainLimits()
    )
    lines: list[dict] = []
    steps_taken = 0

    def check() -> None:
        nonlocal steps_taken
        steps_taken += 1
        if steps_taken > 50:
            raise Cancelled

    with pytest.raises(Cancelled):
        run.stream(lines.append, check=check)
    assert [line["type"] for line in lines] == ["start", "record", "record"]  # steps 20 and 40, then stopped


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child_server_pid() -> int:
    """The uvicorn process this test process started (tests/serving.py does not hand it out)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text.rsplit(")", 1)[1].split()[1]) == os.getpid():
            return int(stat.parent.name)
    raise AssertionError("no server process found")


def test_a_real_server_streams_lines_as_they_come_and_serves_others_meanwhile():
    with serving(ROOT) as url:
        server_pid = _child_server_pid()
        body = request("train-regression", steps=100_000, record_every=1000)  # about 10 s of training
        with httpx.stream("POST", f"{url}/train", json=body, timeout=30) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            assert json.loads(next(lines))["type"] == "start"
            record = json.loads(next(lines))
            assert record["type"] == "record" and record["step"] == 1000
            # the run goes on in a worker thread: other requests are answered meanwhile (and the
            # next line is a record, not the end: they were answered while the run went on)
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            chain = httpx.post(
                f"{url}/graph/backward",
                json={"expression": "f = (x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}},
                timeout=5,
            )
            assert chain.json()["nodes"][0]["grad"] == -4
            assert json.loads(next(lines))["type"] == "record"  # still streaming
        # the client went away mid-run: the server stops the run (its process goes idle: it uses
        # almost no CPU time over a second, where the run would use most of one) and keeps serving
        time.sleep(0.5)
        busy = _cpu_seconds(server_pid)
        time.sleep(1.0)
        assert _cpu_seconds(server_pid) - busy < 0.2
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


def test_a_scalar_program_trains_on_python_floats(client):
    """(w·x − 3)² with x = 2: SGD with momentum takes w to 1.5; /train/graph agrees with the stream."""
    body = {
        "expression": "loss = (w * x - 3) ** 2",
        "inputs": {"w": 0.5, "x": {"value": 2.0, "requires_grad": False}},
        "train": {"optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.5}, "steps": 50, "record_every": 25},
    }
    lines = lines_of(client, body)
    assert lines[-1]["params"]["w"] == pytest.approx(1.5, abs=1e-6)
    graph = client.post("/train/graph", json=body | {"at": 50}).json()
    assert graph["nodes"][graph["output"]]["value"] == lines[-2]["losses"][-1]
    # by hand: step 1's gradient is 2·(w·x − 3)·x = −8 at w = 0.5, so w becomes 0.5 + 0.05·8 = 0.9
    assert client.post("/train/graph", json=body | {"at": 2}).json()["nodes"][0]["value"] == pytest.approx(0.9)


def test_a_program_with_empty_tensors_trains_as_the_engine_computes_it(client):
    """Training's lean pass skips ops on empty tensors as /graph/backward does (softmax over an
    empty axis has no max to shift by): the loss is 0 at every step and w's gradient is 0."""
    body = {
        "expression": "loss = sum(softmax(x * w, axis=1)) + w * 0",
        "inputs": {"x": {"init": "ones", "shape": [3, 0]}, "w": 1.0},
        "train": {"params": ["w"], "optimizer": {"name": "sgd", "lr": 0.1}, "steps": 3, "record_every": 1},
    }
    lines = lines_of(client, body)
    assert [line["type"] for line in lines] == ["start", "record", "record", "record", "done"]
    assert [line["losses"] for line in lines[1:4]] == [[0.0], [0.0], [0.0]]
    assert lines[-1]["params"]["w"] == 1.0
    graph = client.post("/graph/backward", json={key: body[key] for key in ("expression", "inputs")}).json()
    assert graph["nodes"][graph["output"]]["value"] == 0.0


def test_the_mnist_example_runs_within_the_default_limits(tmp_path):
    """The MNIST example as GET /examples offers it (default limits): the graph it opens on
    (POST /train/graph at step 1) and a short run with its evaluation, on IDX files written here
    with as many test images as the example evaluates."""
    from test_datasets import write_mnist

    from app import datasets

    write_mnist(tmp_path, train=64, test=400, compress=True)
    client = TestClient(create_app(Settings(data_dir=str(tmp_path))))
    try:
        example = next(item for item in client.get("/examples").json()["examples"] if item["id"] == "train-mnist")
        body = {
            "expression": example["expression"],
            "inputs": example["inputs"],
            "train": example["train"] | {"steps": 4, "record_every": 2},
        }
        step_one = client.post("/train/graph", json={**body, "at": 1})
        assert step_one.status_code == 200, step_one.text
        x = next(node for node in step_one.json()["nodes"] if node["name"] == "x")
        assert x["shape"] == [32, 784]
        lines = lines_of(client, body)
        assert lines[-1]["type"] == "done", lines[-1]
        assert len(lines[-1]["eval"]["predictions"]) == 400
        assert 0 <= lines[-1]["eval"]["accuracy"] <= 1
    finally:
        datasets.configure(None)

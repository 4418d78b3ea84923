"""The datasets: the bundled digits (shape, labels, the fixed split, pixel scale), the generated
regression data (the tutorial's formula and ranges), and MNIST read from IDX files that these
tests write (plain and gzip-compressed; bad files are 4xx answers)."""

from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import datasets
from app.datasets import mnist
from app.main import create_app
from app.settings import Settings


def rows_of(client: TestClient, spec: dict) -> np.ndarray:
    response = client.post("/graph/forward", json={"expression": "y = x", "inputs": {"x": spec}})
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["nodes"][0]["value"])


def test_get_datasets_lists_all_three_with_their_fields_and_licences(client):
    listed = {d["name"]: d for d in client.get("/datasets").json()["datasets"]}
    assert list(listed) == ["regression", "digits", "mnist"]
    digits = listed["digits"]
    assert digits["available"] and digits["splits"] == {"train": 1437, "test": 360} and digits["classes"] == 10
    assert digits["fields"][0] == {
        "name": "images",
        "shape": [64],
        "image_shape": [8, 8],
        "doc": "8×8 grey levels row by row, scaled to [0, 1] (level / 16)",
    }
    assert "CC BY 4.0" in digits["licence"] and "UCI" in digits["source"]
    assert listed["regression"]["options"] == {"n": 1000, "seed": 0}
    assert listed["regression"]["splits"] == {"train": 1000, "test": 1000}
    assert not listed["mnist"]["available"] and "CHAINLENS_DATA_DIR" in listed["mnist"]["unavailable_because"]


def test_digits_are_the_1797_uci_digits_with_a_fixed_split(client):
    train = datasets.DATASETS["digits"].read("train", {})
    test = datasets.DATASETS["digits"].read("test", {})
    assert train["images"].shape == (1437, 64) and test["images"].shape == (360, 64)
    labels = np.concatenate([train["labels"], test["labels"]])
    pixels = np.concatenate([train["images"], test["images"]])
    # scikit-learn's load_digits: targets 0, 1, 2, ... at the start, 178-183 of each class, grey levels 0-16
    assert labels[:10].tolist() == list(range(10))
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert np.bincount(test["labels"]).tolist() == [35, 36, 35, 37, 37, 37, 37, 36, 33, 37]
    assert pixels.min() == 0 and pixels.max() == 16
    # the first digit is a 0: its pixel rows as load_digits gives them
    assert pixels[0].reshape(8, 8)[1].tolist() == [0, 0, 13, 15, 10, 15, 5, 0]
    # as inputs: scaled to [0, 1], test rows are the last 360
    first_test = rows_of(client, {"dataset": "digits", "field": "images", "split": "test", "rows": [0]})
    assert first_test.shape == (1, 64)
    assert np.array_equal(first_test[0], pixels[1437] / 16)
    assert rows_of(client, {"dataset": "digits", "field": "labels", "split": "test", "rows": [0, 359]}).tolist() == [
        labels[1437],
        labels[1796],
    ]


def test_regression_is_the_tutorials_formula_and_ranges(client):
    x = rows_of(client, {"dataset": "regression", "field": "x", "n": 500, "seed": 3})
    y = rows_of(client, {"dataset": "regression", "field": "y", "n": 500, "seed": 3})
    assert x.shape == (500, 3) and y.shape == (500, 1)
    np.testing.assert_allclose(y[:, 0], 2 * x[:, 0] + 3 * x[:, 1] + 4 * x[:, 2] + 5, rtol=1e-15)
    for column, high in enumerate((30, 20, 11)):
        assert x[:, column].min() >= 0 and x[:, column].max() < high
        assert x[:, column].max() > 0.95 * high  # the whole range is used
    test = rows_of(client, {"dataset": "regression", "field": "x", "n": 500, "seed": 3, "split": "test"})
    assert not np.array_equal(test, x)  # train and test are different samples
    assert np.array_equal(x, rows_of(client, {"dataset": "regression", "field": "x", "n": 500, "seed": 3}))


@pytest.mark.parametrize(
    ("spec", "status", "words"),
    [
        ({"dataset": "cifar", "field": "images"}, 422, "unknown dataset 'cifar'"),
        ({"dataset": "digits", "field": "pixels"}, 422, "no field 'pixels'"),
        ({"dataset": "digits", "field": "images", "split": "valid"}, 422, "no split 'valid'"),
        ({"dataset": "digits", "field": "images", "rows": [0, 1437]}, 422, "rows must lie in [0, 1436]"),
        ({"dataset": "digits", "field": "images", "rows": [0.5]}, 422, "rows must be a list"),
        ({"dataset": "digits", "field": "images", "n": 5}, 422, "unknown keys ['n']"),
        ({"dataset": "regression", "field": "x", "n": -1}, 422, "n must be a non-negative integer"),
        ({"dataset": "regression", "field": "x", "n": 10**9}, 413, "limit"),
    ],
)
def test_bad_dataset_inputs_are_4xx(client, spec, status, words):
    response = client.post("/graph/forward", json={"expression": "y = x", "inputs": {"x": spec}})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"] and error["input"] == "x"


def test_too_many_rows_are_refused_before_reading():
    small = TestClient(create_app(Settings(limits=Settings().limits.__class__(max_tensor_elements=1000))))
    response = small.post(
        "/graph/forward",
        json={
            "expression": "y = x",
            "inputs": {"x": {"dataset": "digits", "field": "images", "rows": list(range(16))}},
        },
    )
    assert response.status_code == 413
    assert "16 rows of digits.images, 1024 elements" in response.json()["error"]["message"]


def test_pixel_gradients_of_a_dataset_input(client):
    spec = {"dataset": "digits", "field": "images", "split": "test", "rows": [3], "requires_grad": True}
    body = client.post("/graph/backward", json={"expression": "y = sum(x * x)", "inputs": {"x": spec}}).json()
    x = np.asarray(body["nodes"][0]["value"])
    assert np.array_equal(np.asarray(body["nodes"][0]["grad"]), 2 * x)


# --- MNIST from IDX files ---------------------------------------------------------------------


def idx(data: np.ndarray, type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape) + data.tobytes()


def write_mnist(folder, train: int = 6, test: int = 4, compress: bool = False) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        data = idx(array)
        (folder / (stem + (".gz" if compress else ""))).write_bytes(gzip.compress(data) if compress else data)
    return arrays


@pytest.fixture
def mnist_client(tmp_path):
    yield tmp_path, TestClient(create_app(Settings(data_dir=str(tmp_path))))
    datasets.configure(None)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_the_four_idx_files(mnist_client, compress):
    folder, client = mnist_client
    arrays = write_mnist(folder, compress=compress)
    listed = {d["name"]: d for d in client.get("/datasets").json()["datasets"]}["mnist"]
    assert listed["available"] and listed["splits"] == {"train": 6, "test": 4}
    images = rows_of(client, {"dataset": "mnist", "field": "images", "split": "test", "rows": [2, 0]})
    assert images.shape == (2, 784)
    assert np.array_equal(images * 255, arrays["t10k-images-idx3-ubyte"][[2, 0]].reshape(2, 784))
    labels = rows_of(client, {"dataset": "mnist", "field": "labels"})
    assert labels.tolist() == arrays["train-labels-idx1-ubyte"].tolist()


def _corrupt(folder, stem: str, data: bytes) -> None:
    (folder / stem).write_bytes(data)


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda f: _corrupt(f, "t10k-images-idx3-ubyte", b"\x89PNG\r\n\x1a\n" + bytes(100)), "is not an IDX file"),
        (
            lambda f: _corrupt(f, "t10k-images-idx3-ubyte", idx(np.zeros((4, 28, 28), np.uint8))[:-5]),
            "holds 3131 bytes",
        ),
        (lambda f: _corrupt(f, "t10k-images-idx3-ubyte", idx(np.zeros((4, 28, 28), np.int32), 0x0C)), "type 0x0c"),
        (lambda f: _corrupt(f, "t10k-images-idx3-ubyte", idx(np.zeros((4, 14, 14), np.uint8))), "14×14 images"),
        (lambda f: _corrupt(f, "t10k-labels-idx1-ubyte", idx(np.zeros(3, np.uint8))), "4 images but"),
        (lambda f: _corrupt(f, "t10k-labels-idx1-ubyte", idx(np.full(4, 11, np.uint8))), "label 11"),
        (lambda f: _corrupt(f, "t10k-images-idx3-ubyte", b"\x1f\x8b" + bytes(30)), "cannot read"),
        (lambda f: _corrupt(f, "t10k-images-idx3-ubyte", b"\0\0\x08"), "is not an IDX file"),
        (
            lambda f: (f / "t10k-labels-idx1-ubyte").unlink(),
            "t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) is not in",
        ),
    ],
)
def test_bad_mnist_files_are_4xx(mnist_client, damage, words):
    folder, client = mnist_client
    write_mnist(folder)
    damage(folder)
    response = client.post(
        "/graph/forward",
        json={"expression": "y = x", "inputs": {"x": {"dataset": "mnist", "field": "labels", "split": "test"}}},
    )
    if response.status_code == 200:  # the labels read fine: the damage is in the images
        response = client.post(
            "/graph/forward",
            json={"expression": "y = x", "inputs": {"x": {"dataset": "mnist", "field": "images", "split": "test"}}},
        )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["kind"] == "invalid_dataset" and words in error["message"], error


def test_mnist_is_never_downloaded_without_its_files(client):
    assert mnist.data_dir is None
    response = client.post(
        "/graph/forward",
        json={"expression": "y = x", "inputs": {"x": {"dataset": "mnist", "field": "images", "rows": [0]}}},
    )
    assert response.status_code == 422 and "CHAINLENS_DATA_DIR" in response.json()["error"]["message"]


def test_the_mnist_example_is_listed_and_trains_when_the_files_are_there(mnist_client, client):
    assert "train-mnist" not in {e["id"] for e in client.get("/examples").json()["examples"]}
    folder, with_files = mnist_client
    write_mnist(folder, train=40, test=4)
    example = next(e for e in with_files.get("/examples").json()["examples"] if e["id"] == "train-mnist")
    assert example["requires_dataset"] == "mnist" and example["inputs"]["W1"]["shape"] == [784, 100]
    train = example["train"] | {"steps": 3, "record_every": 1}
    for spec in train["eval"].values():
        spec["rows"] = [0, 1, 2, 3]  # the written test split has 4 images, not 10,000
    with with_files.stream(
        "POST", "/train", json={"expression": example["expression"], "inputs": example["inputs"], "train": train}
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert response.status_code == 200
    done = json.loads(lines[-1])
    assert done["type"] == "done" and len(done["eval"]["predictions"]) == 4


def test_rows_converted_once_give_the_same_batches_as_rows_converted_per_batch():
    """A training run takes its batches from a float64 copy of a small split (in_float64): the
    numbers must be the ones take() makes from the stored bytes, for any batch of positions."""
    for field in ("images", "labels"):
        rows = datasets.resolve("x", {"dataset": "digits", "field": field, "split": "train"}, 10**6)
        converted = rows.in_float64()
        assert converted.stored.dtype == np.float64 and converted.float64_bytes() == rows.float64_bytes()
        positions = np.random.default_rng(3).permutation(len(rows.rows))[:32]
        for picked in (positions, None):
            expected, got = rows.take(picked), converted.take(picked)
            assert got.dtype == np.float64 and got.shape == expected.shape
            assert np.array_equal(got, expected)
        assert np.array_equal(converted.take(positions), rows.stored[rows.rows[positions]] / rows.field.scale)

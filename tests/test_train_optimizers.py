"""The optimizers against torch.optim, live: 50 steps of both tutorial networks in float64, every
parameter to a relative 1e-9. The torch side is a plain PyTorch training loop over the same
initial values and the same batches (the rows each record names), so this checks the whole step:
batching, forward, backward through the lean pass, and the update rule."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from app.core import evaluate  # noqa: F401  (installs the dataset hook)
from app.datasets import resolve
from app.engine.inputs import decode
from app.engine.limits import Limits
from app.examples import TRAIN_EXAMPLES
from app.train import TrainConfig, TrainingRun, TrainLimits
from app.train.optimizers import SGD, Adam

pytestmark = pytest.mark.parity
STEPS = 50
EXAMPLES = {example["id"]: example for example in TRAIN_EXAMPLES}

OPTIMIZERS = {
    "sgd": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.01},
    "sgd-nesterov-dampening": {
        "name": "sgd",
        "lr": 0.01,
        "momentum": 0.8,
        "dampening": 0.1,
        "weight_decay": 0.001,
        "nesterov": False,
    },
    "sgd-nesterov": {"name": "sgd", "lr": 0.005, "momentum": 0.9, "weight_decay": 0.001, "nesterov": True},
    "adam": {"name": "adam", "lr": 0.002, "betas": [0.8, 0.99], "eps": 1e-7, "weight_decay": 0.01},
}


def _torch_optimizer(config: dict, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    options = {key: value for key, value in config.items() if key != "name"}
    if config["name"] == "sgd":
        return torch.optim.SGD(params, foreach=False, **options)
    return torch.optim.Adam(params, foreach=False, **{**options, "betas": tuple(options["betas"])})


def _torch_loss(example_id: str, data: dict[str, torch.Tensor], p: dict[str, torch.Tensor]) -> torch.Tensor:
    if example_id == "train-regression":
        h = torch.relu((data["x"] / 10) @ p["W1"] + p["b1"])
        return torch.nn.functional.mse_loss(h @ p["W2"] + p["b2"], data["t"])
    h1 = torch.relu(data["x"] @ p["W1"] + p["b1"])
    h2 = torch.relu(h1 @ p["W2"] + p["b2"])
    logits = h2 @ p["W3"] + p["b3"]
    return torch.nn.functional.cross_entropy(logits, data["labels"].long())


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("example_id", ["train-regression", "train-digits"])
def test_fifty_steps_match_torch_optim(example_id, optimizer):
    example = EXAMPLES[example_id]
    train = copy.deepcopy(example["train"]) | {
        "steps": STEPS,
        "record_every": 1,
        "eval": None,
        "optimizer": OPTIMIZERS[optimizer],
    }
    run = TrainingRun(example["expression"], example["inputs"], TrainConfig(**train), Limits(), TrainLimits())
    lines: list[dict] = []
    run.stream(lines.append)
    assert lines[-1]["type"] == "done", lines[-1]
    records = [line for line in lines if line["type"] == "record"]
    assert [r["step"] for r in records] == list(range(1, STEPS + 1))

    names = train["params"]
    params = {
        name: torch.tensor(decode(name, example["inputs"][name], 10**7).value, requires_grad=True) for name in names
    }
    data_inputs = {
        name: resolve(name, spec, 10**7)
        for name, spec in example["inputs"].items()
        if isinstance(spec, dict) and "dataset" in spec
    }
    torch_optimizer = _torch_optimizer(OPTIMIZERS[optimizer], list(params.values()))
    for record in records:
        positions = np.searchsorted(next(iter(data_inputs.values())).rows, record["rows"])
        batch = {name: torch.tensor(rows.take(positions)) for name, rows in data_inputs.items()}
        torch_optimizer.zero_grad()
        loss = _torch_loss(example_id, batch, params)
        loss.backward()
        torch_optimizer.step()
        assert record["losses"][0] == pytest.approx(loss.item(), rel=1e-9, abs=1e-12)

    trained = lines[-1]["params"]
    for name in names:
        expected = params[name].detach().numpy()
        got = np.asarray(trained[name])
        assert got.shape == expected.shape
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * scale, err_msg=f"{name} after {STEPS} steps")
        # the parameter moved: the comparison is not of two untouched initial values
        assert not np.allclose(got, decode(name, example["inputs"][name], 10**7).value)


@pytest.mark.parametrize("config", [OPTIMIZERS["sgd-nesterov"], OPTIMIZERS["adam"]])
def test_scalar_parameters_update_as_torch_does(config):
    """Python-float parameters (a scalar program) take the same update as 0-d tensors in torch."""
    values = {"w": 0.7, "b": -0.3}
    ours = (SGD if config["name"] == "sgd" else Adam)(**{k: v for k, v in config.items() if k != "name"})
    tensors = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in values.items()}
    theirs = _torch_optimizer(config, list(tensors.values()))
    rng = np.random.default_rng(0)
    for _ in range(20):
        grads = {name: float(rng.standard_normal()) for name in values}
        values = ours.step(values, grads)
        for name, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[name], dtype=torch.float64)
        theirs.step()
    for name, tensor in tensors.items():
        assert values[name] == pytest.approx(tensor.item(), rel=1e-12)

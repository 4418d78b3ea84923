"""Training figure: time per training step of the two training examples, against PyTorch eager
(float64, one thread, torch.optim) and a hand-written numpy loop, measured in the same run.

    .venv/bin/python bench/train.py [--tiny]       # or through bench/run.py (figures 6 and 7)

A step is the whole of it, for every contestant: take the batch's rows (the same seeded positions),
forward, backward, the optimizer's update. chainlens runs TrainingRun.steps (the loop behind
POST /train, without the records, which come every record_every steps). Every contestant starts
from the same values and must end at the same parameters (checked here, to 1e-9): the three
loops do the same arithmetic. Times are medians over rounds of `steps` steps, taken in turns, and
they are CPU times of this process (time.process_time): every contestant runs on one thread (one
BLAS thread, torch.set_num_threads(1)), so its CPU time is its work, while its wall time on a
small shared machine also counts the time it waited for a core (at a load average of 10 on 2
cores, wall-clock ratios swung between 0.7x and 1.4x from run to run).
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402

from app.core import evaluate  # noqa: E402,F401  (installs the dataset hook)
from app.datasets import resolve  # noqa: E402
from app.engine.inputs import decode  # noqa: E402
from app.engine.limits import Limits  # noqa: E402
from app.examples import TRAIN_EXAMPLES  # noqa: E402
from app.train import TrainConfig, TrainingRun, TrainLimits  # noqa: E402

EXAMPLES = {example["id"]: example for example in TRAIN_EXAMPLES}
# (example, batch size, steps per round, rounds) at full and tiny sizes
CASES = {
    "regression": ("train-regression", 1, 2000, 9),
    "digits": ("train-digits", 32, 300, 9),
}
TINY_CASES = {"regression": ("train-regression", 1, 50, 3), "digits": ("train-digits", 32, 10, 3)}


class Setup:
    """One example's starting point, shared by the three contestants."""

    def __init__(self, example_id: str, batch: int, steps: int) -> None:
        example = copy.deepcopy(EXAMPLES[example_id])
        self.example_id = example_id
        self.expression, self.inputs = example["expression"], example["inputs"]
        self.train = example["train"] | {
            "steps": steps,
            "batch": {"size": batch, "seed": 0},
            "eval": None,
            "record_every": steps,
        }
        self.steps = steps
        self.names = self.train["params"]
        self.initial = {name: decode(name, self.inputs[name], 10**8).value for name in self.names}
        data = {
            name: resolve(name, spec, 10**8)
            for name, spec in self.inputs.items()
            if isinstance(spec, dict) and "dataset" in spec
        }
        self.data = {name: rows.take() for name, rows in data.items()}  # every row, float64
        run = self.chainlens_run()
        self.positions = [run.batches.positions(step) for step in range(1, steps + 1)]
        self.optimizer = self.train["optimizer"]

    def chainlens_run(self) -> TrainingRun:
        return TrainingRun(self.expression, self.inputs, TrainConfig(**self.train), Limits(), TrainLimits())


def chainlens(setup: Setup) -> Callable[[], dict]:
    run = setup.chainlens_run()

    def train() -> dict:
        params = None
        for *_, after in run.steps(setup.steps):
            params = after
        return params

    return train


def numpy_loop(setup: Setup) -> Callable[[], dict]:
    """The same network, loss and SGD (with momentum, as torch.optim.SGD) written out in numpy."""
    lr, momentum = setup.optimizer["lr"], setup.optimizer.get("momentum", 0.0)
    x_all, names = setup.data["x"], setup.names
    target_all = setup.data["t"] if "t" in setup.data else setup.data["labels"]
    regression = setup.example_id == "train-regression"

    def train() -> dict:
        p = {name: np.copy(value) for name, value in setup.initial.items()}
        buffers: dict = {}
        for positions in setup.positions:
            x, target = x_all[positions], target_all[positions]
            if regression:
                x = x / 10
                z1 = x @ p["W1"] + p["b1"]
                h = np.maximum(z1, 0.0)
                y = h @ p["W2"] + p["b2"]
                error = y - target
                loss = float(np.mean(error * error))  # every loop computes its loss (divergence, records)
                d_y = error * (2.0 / y.size)
                d_h = d_y @ p["W2"].T
                d_z1 = d_h * (z1 > 0)
                grads = {"W1": x.T @ d_z1, "b1": d_z1.sum(axis=0), "W2": h.T @ d_y, "b2": d_y.sum(axis=0)}
            else:
                z1 = x @ p["W1"] + p["b1"]
                h1 = np.maximum(z1, 0.0)
                z2 = h1 @ p["W2"] + p["b2"]
                h2 = np.maximum(z2, 0.0)
                logits = h2 @ p["W3"] + p["b3"]
                shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
                total = shifted.sum(axis=1, keepdims=True)
                picked = target.astype(np.intp)
                rows = np.arange(len(target))
                loss = float(np.mean(np.log(total[:, 0]) - np.log(shifted[rows, picked])))
                d_logits = shifted / total
                d_logits[rows, picked] -= 1.0
                d_logits /= len(target)
                d_z2 = (d_logits @ p["W3"].T) * (z2 > 0)
                d_z1 = (d_z2 @ p["W2"].T) * (z1 > 0)
                grads = {
                    "W1": x.T @ d_z1,
                    "b1": d_z1.sum(axis=0),
                    "W2": h1.T @ d_z2,
                    "b2": d_z2.sum(axis=0),
                    "W3": h2.T @ d_logits,
                    "b3": d_logits.sum(axis=0),
                }
            for name in names:
                grad = grads[name]
                if momentum:
                    buf = buffers.get(name)
                    buf = buffers[name] = np.copy(grad) if buf is None else buf * momentum + grad
                    grad = buf
                p[name] = p[name] - lr * grad
            if not np.isfinite(loss):
                raise FloatingPointError("diverged")
        return p

    return train


def torch_loop(setup: Setup) -> Callable[[], dict]:
    """PyTorch eager, float64, one thread: the same network through autograd and torch.optim.SGD."""
    import torch

    torch.set_num_threads(1)
    x_all = torch.tensor(setup.data["x"])
    target_all = torch.tensor(setup.data["t"]) if "t" in setup.data else torch.tensor(setup.data["labels"]).long()
    positions = [torch.tensor(p) for p in setup.positions]
    regression = setup.example_id == "train-regression"
    options = {k: v for k, v in setup.optimizer.items() if k != "name"}

    def train() -> dict:
        p = {name: torch.tensor(value, requires_grad=True) for name, value in setup.initial.items()}
        optimizer = torch.optim.SGD(list(p.values()), **options)
        for rows in positions:
            x, target = x_all[rows], target_all[rows]
            optimizer.zero_grad()
            if regression:
                h = torch.relu((x / 10) @ p["W1"] + p["b1"])
                loss = torch.nn.functional.mse_loss(h @ p["W2"] + p["b2"], target)
            else:
                h1 = torch.relu(x @ p["W1"] + p["b1"])
                h2 = torch.relu(h1 @ p["W2"] + p["b2"])
                loss = torch.nn.functional.cross_entropy(h2 @ p["W3"] + p["b3"], target)
            loss.backward()
            optimizer.step()
        return {name: value.detach().numpy() for name, value in p.items()}

    return train


def measure(tiny: bool = False) -> dict:
    """{case: {"batch", "steps", "chainlens_us", "numpy_us", "torch_us", "max_param_difference"}}."""
    import gc

    results = {}
    for case, (example_id, batch, steps, rounds) in (TINY_CASES if tiny else CASES).items():
        setup = Setup(example_id, batch, steps)
        contestants = {"chainlens": chainlens(setup), "numpy": numpy_loop(setup), "torch": torch_loop(setup)}
        finals = {name: train() for name, train in contestants.items()}  # also warms every path up
        difference = {
            name: max(
                float(np.max(np.abs(finals[name][p] - finals["chainlens"][p]) / (np.abs(finals[name][p]).max())))
                for p in setup.names
            )
            for name in ("numpy", "torch")
        }
        if max(difference.values()) > 1e-9:
            raise SystemExit(f"{case}: the loops did not end at the same parameters: {difference}")
        times: dict[str, list[float]] = {name: [] for name in contestants}
        for _ in range(rounds):
            for name, train in contestants.items():
                gc.collect()
                gc.disable()
                start = time.process_time()
                train()
                times[name].append(time.process_time() - start)
                gc.enable()
        per_step = {name: statistics.median(values) / steps * 1e6 for name, values in times.items()}
        results[case] = {
            "example": example_id,
            "batch": batch,
            "steps": steps,
            "rounds": rounds,
            "chainlens_us": per_step["chainlens"],
            "numpy_us": per_step["numpy"],
            "torch_us": per_step["torch"],
            "max_param_difference": difference,
        }
    return results


def main() -> None:
    results = measure(tiny="--tiny" in sys.argv)
    for case, r in results.items():
        print(
            f"{case} (batch {r['batch']}, {r['steps']} steps): chainlens {r['chainlens_us']:.1f} us/step, "
            f"numpy {r['numpy_us']:.1f} ({r['chainlens_us'] / r['numpy_us']:.2f}x), "
            f"PyTorch {r['torch_us']:.1f} ({r['chainlens_us'] / r['torch_us']:.2f}x)"
        )


if __name__ == "__main__":
    main()

"""The layers' ops: forward + backward of each, against PyTorch eager (float64, one thread).

    .venv/bin/python bench/layers.py [--tiny] [--only conv2d,gelu]

chainlens runs the op the way a training step does (app.engine.lean.LeanPass: the graph parsed
once, then forward and backward into every input that takes a gradient, nothing recorded);
PyTorch runs the same op on the same values and calls backward with the same upstream gradient
(ones). Both results are checked equal (relative 1e-8) before timing. Times are medians of CPU
time (time.process_time) over rounds, on one BLAS thread and torch.set_num_threads(1): on a small
shared machine wall time counts the waits for a core. The ratio chainlens / PyTorch is printed
per op; the issue's target is at most 2x on these (the larger) sizes. Last, `cnn_step`: a training
step of the CNN example (batch 32) against PyTorch eager with torch.optim (target: at most 1x).
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402

from app.core import declare_inputs  # noqa: E402
from app.engine.lean import LeanPass  # noqa: E402
from app.engine.limits import Limits  # noqa: E402
from app.lang import parse  # noqa: E402
from app.memory import keep_freed_memory  # noqa: E402

keep_freed_memory()  # as each server worker does (app/memory.py): freed arrays are reused, not given back

R = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return R.normal(size=shape)


def uniform(low: float, high: float, *shape: int) -> np.ndarray:
    return R.uniform(low, high, size=shape)


def ints(high: int, *shape: int) -> np.ndarray:
    return R.integers(0, high, size=shape).astype(float)


# name -> (program, {input: (array, takes a gradient)}, torch function of the tensors)
def cases(tiny: bool) -> dict[str, tuple[str, dict[str, tuple[np.ndarray, bool]], Callable[..., Any]]]:
    import torch
    import torch.nn.functional as F

    n = 4 if tiny else 1
    big = (512 // n, 256)
    x = normal(*big)
    act = {"x": (x, True)}
    pair = {"a": (normal(*big), True), "b": (normal(*big), True)}
    image = (32 // n, 16, 32, 32)
    return {
        "gelu": ("y = gelu(x)", act, lambda x: F.gelu(x)),
        "gelu_tanh": ('y = gelu(x, approximate="tanh")', act, lambda x: F.gelu(x, approximate="tanh")),
        "silu": ("y = silu(x)", act, lambda x: F.silu(x)),
        "erf": ("y = erf(x)", act, lambda x: torch.erf(x)),
        "softplus": ("y = softplus(x)", act, lambda x: F.softplus(x)),
        "leaky_relu": ("y = leaky_relu(x)", act, lambda x: F.leaky_relu(x)),
        "elu": ("y = elu(x)", act, lambda x: F.elu(x)),
        "hardtanh": ("y = hardtanh(x)", act, lambda x: F.hardtanh(x)),
        "l1_loss": ("y = l1_loss(a, b)", pair, lambda a, b: F.l1_loss(a, b)),
        "smooth_l1_loss": ("y = smooth_l1_loss(a, b)", pair, lambda a, b: F.smooth_l1_loss(a, b)),
        "huber_loss": ("y = huber_loss(a, b)", pair, lambda a, b: F.huber_loss(a, b)),
        "binary_cross_entropy": (
            "y = binary_cross_entropy(p, t)",
            {"p": (uniform(0.05, 0.95, *big), True), "t": (uniform(0, 1, *big), True)},
            lambda p, t: F.binary_cross_entropy(p, t),
        ),
        "bce_with_logits": (
            "y = binary_cross_entropy_with_logits(z, t)",
            {"z": (normal(*big), True), "t": (uniform(0, 1, *big), True)},
            lambda z, t: F.binary_cross_entropy_with_logits(z, t),
        ),
        "nll_loss": (
            "y = nll_loss(z, y)",
            {"z": (normal(512 // n, 100), True), "y": (ints(100, 512 // n), False)},
            lambda z, y: F.nll_loss(z, y.long()),
        ),
        "kl_div": (
            'y = kl_div(a, q, reduction="batchmean")',
            {"a": (normal(*big), True), "q": (uniform(0.1, 1, *big), True)},
            lambda a, q: F.kl_div(a, q, reduction="batchmean"),
        ),
        "cross_entropy_probs": (
            "y = cross_entropy_probs(z, q)",
            {"z": (normal(512 // n, 100), True), "q": (uniform(0.1, 1, 512 // n, 100), True)},
            lambda z, q: F.cross_entropy(z, q),
        ),
        "cosine_similarity": ("y = cosine_similarity(a, b)", pair, lambda a, b: F.cosine_similarity(a, b)),
        "layer_norm": (
            "y = layer_norm(x, w, b, normalized_shape=256)",
            {**act, "w": (normal(256), True), "b": (normal(256), True)},
            lambda x, w, b: F.layer_norm(x, (256,), w, b),
        ),
        "batch_norm": (
            "y = batch_norm(x, weight=w, bias=b, training=True)",
            {"x": (normal(*image), True), "w": (normal(16), True), "b": (normal(16), True)},
            lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        ),
        "group_norm": (
            "y = group_norm(x, w, b, num_groups=4)",
            {"x": (normal(*image), True), "w": (normal(16), True), "b": (normal(16), True)},
            lambda x, w, b: F.group_norm(x, 4, w, b),
        ),
        "normalize": ("y = normalize(x)", act, lambda x: F.normalize(x)),
        "embedding": (
            "y = embedding(i, W)",
            {"i": (ints(1000, 64, 64 // n), False), "W": (normal(1000, 64), True)},
            lambda i, W: F.embedding(i.long(), W),
        ),
        "conv2d": (
            "y = conv2d(x, w, b, padding=1)",
            {"x": (normal(32 // n, 3, 32, 32), True), "w": (normal(16, 3, 3, 3), True), "b": (normal(16), True)},
            lambda x, w, b: F.conv2d(x, w, b, padding=1),
        ),
        "conv1d": (
            "y = conv1d(x, w, b, padding=2)",
            {"x": (normal(32 // n, 16, 256), True), "w": (normal(32, 16, 5), True), "b": (normal(32), True)},
            lambda x, w, b: F.conv1d(x, w, b, padding=2),
        ),
        "max_pool2d": ("y = max_pool2d(x, 2)", {"x": (normal(*image), True)}, lambda x: F.max_pool2d(x, 2)),
        "avg_pool2d": ("y = avg_pool2d(x, 2)", {"x": (normal(*image), True)}, lambda x: F.avg_pool2d(x, 2)),
        "attention": (
            "y = scaled_dot_product_attention(q, k, v)",
            {
                "q": (normal(8 // n, 64, 64), True),
                "k": (normal(8 // n, 64, 64), True),
                "v": (normal(8 // n, 64, 64), True),
            },
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        ),
        "attention_causal": (
            "y = scaled_dot_product_attention(q, k, v, is_causal=True)",
            {
                "q": (normal(8 // n, 64, 64), True),
                "k": (normal(8 // n, 64, 64), True),
                "v": (normal(8 // n, 64, 64), True),
            },
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        ),
        "dropout": (
            "y = dropout(x, m, p=0.2)",
            {**act, "m": ((uniform(0, 1, *big) > 0.2).astype(float), False)},
            lambda x, m: x * m / 0.8,
        ),
    }


def _cpu_median(fn: Callable[[], Any], rounds: int, repeat: int) -> float:
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.process_time()
            for _ in range(repeat):
                fn()
            times.append((time.process_time() - start) / repeat)
    finally:
        gc.enable()
    return statistics.median(times)


def measure(
    name: str, program: str, inputs: dict[str, tuple[np.ndarray, bool]], torch_fn: Callable[..., Any], rounds: int
) -> tuple[float, float]:
    import torch

    raw = {key: {"value": value.tolist(), "requires_grad": grad} for key, (value, grad) in inputs.items()}
    declared = declare_inputs(raw, Limits())
    graph = parse(program, declared, Limits(), None)
    for node, given in enumerate(graph.names):
        if graph.ops[node] is None and given in inputs:
            graph.values[node] = inputs[given][0]
    targets = [node for node, given in enumerate(graph.names) if graph.ops[node] is None and given and inputs[given][1]]
    lean = LeanPass(graph, targets)

    def ours() -> Any:
        with np.errstate(all="ignore"):
            out = lean.forward()
            return out, lean.backward()

    tensors = {
        key: torch.tensor(value, dtype=torch.float64, requires_grad=grad) for key, (value, grad) in inputs.items()
    }

    def theirs() -> Any:
        for tensor in tensors.values():
            tensor.grad = None
        out = torch_fn(**tensors)
        out.backward(torch.ones_like(out))
        return out

    out, grads = ours()
    expected = theirs()
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
    for node in targets:
        np.testing.assert_allclose(
            grads[node],
            tensors[graph.names[node]].grad.numpy(),
            rtol=1e-8,
            atol=1e-10,
            err_msg=f"{name}: ∂/∂{graph.names[node]}",
        )
    single = max(_cpu_median(ours, 1, 1), _cpu_median(theirs, 1, 1), 1e-6)
    repeat = max(1, int(0.05 / single))
    return _cpu_median(ours, rounds, repeat), _cpu_median(theirs, rounds, repeat)


def cnn_training(steps: int, rounds: int) -> tuple[float, float]:
    """CPU time per training step of the CNN example (app/examples_layers.py: batch 32, SGD with
    momentum and weight decay): chainlens' TrainingRun against PyTorch eager with torch.optim on the
    same batches, both from the same weights (their losses checked equal)."""
    import copy

    import torch
    import torch.nn.functional as F

    from app.datasets import resolve
    from app.engine.inputs import decode
    from app.examples_layers import LAYER_TRAIN_EXAMPLES
    from app.train import TrainConfig, TrainingRun, TrainLimits

    example = copy.deepcopy(next(item for item in LAYER_TRAIN_EXAMPLES if item["id"] == "train-digits-cnn"))
    train = example["train"] | {"steps": steps, "eval": None, "record_every": steps}
    names = train["params"]
    data = {name: resolve(name, example["inputs"][name], 10**8).take() for name in ("x", "labels")}
    positions = [
        TrainingRun(
            example["expression"], example["inputs"], TrainConfig(**train), Limits(), TrainLimits()
        ).batches.positions(step)
        for step in range(1, steps + 1)
    ]
    batches = [
        (torch.tensor(data["x"][rows].reshape(-1, 1, 8, 8)), torch.tensor(data["labels"][rows]).long())
        for rows in map(np.asarray, positions)
    ]
    options = train["optimizer"]
    losses: dict[str, list[float]] = {}

    def ours() -> None:
        run = TrainingRun(example["expression"], example["inputs"], TrainConfig(**train), Limits(), TrainLimits())
        losses["ours"] = [loss for _, loss, *_ in run.steps(steps)]

    def theirs() -> None:
        params = {
            name: torch.tensor(decode(name, example["inputs"][name], 10**8).value, requires_grad=True) for name in names
        }
        optimizer = torch.optim.SGD(
            list(params.values()), lr=options["lr"], momentum=options["momentum"], weight_decay=options["weight_decay"]
        )
        recorded = []
        for x, labels in batches:
            optimizer.zero_grad()
            maps = torch.relu(F.conv2d(x, params["K"], params["c"], padding=1))
            logits = F.max_pool2d(maps, 2).reshape(len(x), -1) @ params["W"] + params["b"]
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            optimizer.step()
            recorded.append(loss.item())
        losses["theirs"] = recorded

    ours()
    theirs()
    np.testing.assert_allclose(losses["ours"], losses["theirs"], rtol=1e-9)
    return _cpu_median(ours, rounds, 1) / steps, _cpu_median(theirs, rounds, 1) / steps


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes and few rounds (a smoke test)")
    parser.add_argument("--only", default="", help="comma-separated op names")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    chosen = cases(args.tiny)
    if args.only:
        chosen = {name: chosen[name] for name in args.only.split(",") if name in chosen}
    figures = {}
    print(f"{'op':<22}{'chainlens ms':>14}{'PyTorch ms':>12}{'ratio':>8}")
    for name, (program, inputs, torch_fn) in chosen.items():
        ours, theirs = measure(name, program, inputs, torch_fn, 3 if args.tiny else 7)
        figures[name] = {"chainlens_ms": ours * 1e3, "pytorch_ms": theirs * 1e3, "ratio": ours / theirs}
        print(f"{name:<22}{ours * 1e3:>14.3f}{theirs * 1e3:>12.3f}{ours / theirs:>8.2f}", flush=True)
    if not args.only or "cnn_step" in args.only.split(","):
        ours, theirs = cnn_training(20 if args.tiny else 200, 3)
        figures["cnn_step"] = {"chainlens_ms": ours * 1e3, "pytorch_ms": theirs * 1e3, "ratio": ours / theirs}
        print(f"{'cnn_step (training)':<22}{ours * 1e3:>14.3f}{theirs * 1e3:>12.3f}{ours / theirs:>8.2f}", flush=True)
    return figures


if __name__ == "__main__":
    main()

"""Examples of the layers' ops (app/engine/layers.py), added to app/examples.py's lists."""

from __future__ import annotations

from typing import Any


def _uniform(shape: list[int], seed: int, bound: float) -> dict[str, Any]:
    return {"init": "uniform", "shape": shape, "seed": seed, "low": -bound, "high": bound}


def _digits(field: str, split: str) -> dict[str, Any]:
    return {"dataset": "digits", "field": field, "split": split}


CNN_PROGRAM = (
    "images = reshape(x, (-1, 1, 8, 8))\n"
    "maps = relu(conv2d(images, K, c, padding=1))\n"
    "pooled = max_pool2d(maps, 2)\n"
    "logits = linear(reshape(pooled, (-1, 160)), W, b)\n"
    "loss = softmax_cross_entropy(logits, labels)"
)

LAYER_TRAIN_EXAMPLES = [
    {
        "id": "train-digits-cnn",
        "title": "Train a small CNN on the 8×8 digits",
        "description": (
            "Each 8×8 digit as a one-channel image: ten 3×3 kernels (padding 1) → ReLU → 2×2 max-pool → "
            "Linear(160, 10) → softmax cross-entropy; SGD with momentum and weight decay on batches of 32, "
            "evaluated on the 360 test digits (about 95 % after 3,000 steps, 67 epochs). Its weights start "
            "uniform in ±1/√fan_in, as PyTorch's Conv2d and Linear."
        ),
        "expression": CNN_PROGRAM,
        "inputs": {
            "x": _digits("images", "train"),
            "labels": _digits("labels", "train"),
            "K": _uniform([10, 1, 3, 3], 1, 9**-0.5),
            "c": _uniform([10], 2, 9**-0.5),
            "W": _uniform([160, 10], 3, 160**-0.5),
            "b": _uniform([10], 4, 160**-0.5),
        },
        "grad_output": None,
        "train": {
            "params": ["K", "c", "W", "b"],
            "optimizer": {"name": "sgd", "lr": 0.15, "momentum": 0.9, "weight_decay": 0.001},
            "steps": 3000,
            "batch": {"size": 32, "seed": 0},
            "record_every": 50,
            "eval": {"x": _digits("images", "test"), "labels": _digits("labels", "test")},
        },
    },
]

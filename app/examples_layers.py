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

LAYER_EXAMPLES = [
    {
        "id": "causal-attention-head",
        "title": "One causal self-attention head",
        "description": (
            "Four tokens of width 8 project to queries, keys and values (width 4); each token attends to "
            "itself and the tokens before it (is_causal=True): scores q·kᵀ/√4, the future masked out, softmax, "
            "and the weights' mix of the values. Open the attention box to see those steps as primitives."
        ),
        "expression": (
            "q = x @ Wq\nk = x @ Wk\nv = x @ Wv\n"
            "att = scaled_dot_product_attention(q, k, v, is_causal=True)\nloss = mse(att, t)"
        ),
        "inputs": {
            "x": {"init": "randn", "shape": [4, 8], "seed": 11},
            "Wq": {"init": "randn", "shape": [8, 4], "seed": 12, "scale": 0.35},
            "Wk": {"init": "randn", "shape": [8, 4], "seed": 13, "scale": 0.35},
            "Wv": {"init": "randn", "shape": [8, 4], "seed": 14, "scale": 0.35},
            "t": {"init": "randn", "shape": [4, 4], "seed": 15},
        },
        "grad_output": None,
    },
]

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
    {
        "id": "train-digits-batchnorm",
        "title": "Train an MLP with batch norm on the digits",
        "description": (
            "makemore's batch-normalised MLP on the 8×8 digits: Linear(64, 100) → batch_norm (the batch's "
            "mean and variance, then a learned scale and shift) → tanh → Linear(100, 10) → softmax "
            "cross-entropy; SGD with momentum on batches of 32. Open the batch_norm box to see the mean, "
            "the centred values, the variance and (var + eps)^-0.5 that its backward pass goes through. "
            "Evaluation normalises the 360 test digits by their own statistics (training=True throughout)."
        ),
        "expression": (
            "h = linear(x, W1, b1)\n"
            "hn = batch_norm(h, weight=gain, bias=shift, training=True)\n"
            "logits = linear(tanh(hn), W2, b2)\n"
            "loss = softmax_cross_entropy(logits, labels)"
        ),
        "inputs": {
            "x": _digits("images", "train"),
            "labels": _digits("labels", "train"),
            "W1": _uniform([64, 100], 5, 64**-0.5),
            "b1": _uniform([100], 6, 64**-0.5),
            "gain": {"init": "ones", "shape": [100]},
            "shift": {"init": "zeros", "shape": [100]},
            "W2": _uniform([100, 10], 7, 0.1),
            "b2": _uniform([10], 8, 0.1),
        },
        "grad_output": None,
        "train": {
            "params": ["W1", "b1", "gain", "shift", "W2", "b2"],
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
            "steps": 1000,
            "batch": {"size": 32, "seed": 0},
            "record_every": 20,
            "eval": {"x": _digits("images", "test"), "labels": _digits("labels", "test")},
        },
    },
]

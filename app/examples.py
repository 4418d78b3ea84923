"""Curated example programs with their inputs: the tutorial's worked examples among them.

Served by GET /examples, loaded by the UI, and checked by the tests (each must run, and the
tutorial's have exact expected numbers there).
"""

from __future__ import annotations

import numpy as np

from app.examples_layers import LAYER_EXAMPLES, LAYER_TRAIN_EXAMPLES


def _regression_data(batch: int = 8, seed: int = 0) -> tuple[list, list]:
    """The tutorial's regression task: y = 2·x1 + 3·x2 + 4·x3 + 5, x1 in [0, 30), x2 in [0, 20), x3 in [0, 11)."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(0, 1, (batch, 3)) * [30, 20, 11], 2)
    t = x @ np.array([[2.0], [3.0], [4.0]]) + 5
    return x.tolist(), np.round(t, 6).tolist()


_X, _T = _regression_data()

EXAMPLES = [
    {
        "id": "chain-rule",
        "title": "The chain rule",
        "description": "f = (x + y) · z. Backward: ∂f/∂x = ∂f/∂q · ∂q/∂x = z · 1 = -4.",
        "expression": "q = x + y\nf = q * z",
        "inputs": {"x": -2, "y": 5, "z": -4},
        "grad_output": None,
    },
    {
        "id": "shared-parameter",
        "title": "A tensor used twice",
        "description": "a is used twice, so its gradient is the sum of two contributions; "
        "b of shape (3,) is broadcast over the rows, so its gradient is summed over axis 0.",
        "expression": "y = (x * a + b) * a",
        "inputs": {
            "x": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
            "a": [[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [-2.0, 1.0, 0.25]],
            "b": [1.0, -2.0, 0.5],
        },
        "grad_output": [[1.0, 0.5, -1.0], [2.0, 1.0, 0.0], [-0.5, 1.0, 1.5]],
    },
    {
        "id": "shared-intermediate",
        "title": "An intermediate used twice",
        "description": "y = q², q = x·a. q is propagated once, after both its contributions arrive: "
        "dy/dx = 12 and dy/da = 9 (a recursive backward that re-propagates gets 18 and 13.5).",
        "expression": "q = x * a\ny = q * q",
        "inputs": {"x": 1.5, "a": 2},
        "grad_output": None,
    },
    {
        "id": "neuron",
        "title": "A sigmoid neuron",
        "description": "s = sigmoid(w·x + b); the local derivative is s·(1 − s) of the output.",
        "expression": "z = w * x + b\ns = sigmoid(z)",
        "inputs": {"w": 0.5, "x": 2.0, "b": -0.25},
        "grad_output": None,
    },
    {
        "id": "recurrence",
        "title": "A shared weight through time",
        "description": "h = tanh(h·w + b) three times: w and b collect one contribution per step.",
        "expression": "h = tanh(h0 * w + b)\nh = tanh(h * w + b)\nh = tanh(h * w + b)",
        "inputs": {"h0": 0.5, "w": 0.8, "b": 0.1},
        "grad_output": None,
    },
    {
        "id": "regression-mlp",
        "title": "Regression MLP with MSE",
        "description": "The tutorial's Linear(3, 15) → ReLU → Linear(15, 1) on a batch of 8, "
        "fitting y = 2·x1 + 3·x2 + 4·x3 + 5 with the mean squared error.",
        "expression": "h = relu(linear(x, W1, b1))\ny = linear(h, W2, b2)\nloss = mse(y, t)",
        "inputs": {
            "x": {"value": _X, "requires_grad": False},
            "t": {"value": _T, "requires_grad": False},
            "W1": {"init": "randn", "shape": [3, 15], "seed": 1, "scale": 0.1},
            "b1": {"init": "zeros", "shape": [15]},
            "W2": {"init": "randn", "shape": [15, 1], "seed": 2, "scale": 0.1},
            "b2": {"init": "zeros", "shape": [1]},
        },
        "grad_output": None,
    },
    {
        "id": "softmax-classifier",
        "title": "Softmax classifier",
        "description": "Logits of a linear layer, then softmax cross-entropy against integer labels.",
        "expression": "logits = linear(x, W, b)\nloss = softmax_cross_entropy(logits, labels)",
        "inputs": {
            "x": {"init": "randn", "shape": [4, 5], "seed": 3},
            "W": {"init": "randn", "shape": [5, 3], "seed": 4, "scale": 0.5},
            "b": {"init": "zeros", "shape": [3]},
            "labels": {"value": [0, 2, 1, 2], "requires_grad": False},
        },
        "grad_output": None,
    },
]


# --- training examples ------------------------------------------------------------------------
# Each carries its `train` config, so the page (and curl) can post it to POST /train as it is.
# They name their trainable inputs in train.params and their evaluation data in train.eval (inputs
# replaced when the run evaluates), rather than leaning on the defaults, so a reader sees both.


def _uniform(shape: list[int], seed: int, bound: float) -> dict:
    return {"init": "uniform", "shape": shape, "seed": seed, "low": -bound, "high": bound}


# --- programs pasted as PyTorch, numpy and micrograd write them -------------------------------------
# Each runs as its library's users write it (issue 19); tests/test_dialect_corpus.py holds the many more
# that are checked against PyTorch, these are the ones the menu opens.

DIALECT_EXAMPLES = [
    {
        "id": "pytorch-mlp",
        "title": "PyTorch: an MLP as you would write it",
        "description": "torch.nn.functional as F: F.linear takes nn.Linear's weight of shape (out, in) and computes "
        "x @ W.T + b; F.cross_entropy takes class indices.",
        "expression": (
            "h = F.relu(F.linear(x, W1, b1))   # W1 is (out, in), as nn.Linear stores it\n"
            "logits = h @ W2.T + b2\n"
            "loss = F.cross_entropy(logits, y)"
        ),
        "inputs": {
            "x": {"init": "randn", "shape": [4, 3], "seed": 11},
            "W1": _uniform([5, 3], 12, 3**-0.5),
            "b1": _uniform([5], 13, 3**-0.5),
            "W2": _uniform([3, 5], 14, 5**-0.5),
            "b2": _uniform([3], 15, 5**-0.5),
            "y": {"value": [0, 2, 1, 2], "requires_grad": False},
        },
        "grad_output": None,
    },
    {
        "id": "numpy-two-layer",
        "title": "numpy: CS231n's two-layer net",
        "description": "np.maximum(0, ·) is the ReLU; probs[range(N), y] picks each row's correct class, and its "
        "backward adds into those entries only.",
        "expression": (
            "hidden = np.maximum(0, np.dot(X, W1) + b1)\n"
            "scores = np.dot(hidden, W2) + b2\n"
            "exp_scores = np.exp(scores - np.max(scores, axis=1, keepdims=True))\n"
            "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)\n"
            "loss = -np.mean(np.log(probs[range(N), y]))"
        ),
        "inputs": {
            "X": {"init": "randn", "shape": [5, 2], "seed": 21},
            "W1": {"init": "randn", "shape": [2, 6], "seed": 22, "scale": 0.5},
            "b1": {"init": "zeros", "shape": [6]},
            "W2": {"init": "randn", "shape": [6, 3], "seed": 23, "scale": 0.5},
            "b2": {"init": "zeros", "shape": [3]},
            "y": {"value": [0, 2, 1, 1, 0], "requires_grad": False},
            "N": 5,
        },
        "grad_output": None,
    },
    {
        "id": "micrograd-neuron",
        "title": "micrograd: a tanh neuron",
        "description": "The lecture's neuron, written as micrograd writes it, with methods on values: "
        "o = tanh(n) = 0.7071, so ∂o/∂n = 1 − o² = 0.5.",
        "expression": "n = x1*w1 + x2*w2 + b\no = n.tanh()",
        "inputs": {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432},
        "grad_output": None,
    },
    {
        "id": "embedding-scatter",
        "title": "An embedding lookup: C[Xb]",
        "description": "Gathering rows of C by the indices Xb; its backward scatter-adds each row's gradient into C, "
        "so row 0, picked three times, collects three contributions.",
        "expression": "emb = C[Xb]\nloss = (emb ** 2).sum()",
        "inputs": {
            "C": {"init": "randn", "shape": [5, 2], "seed": 31},
            "Xb": {"value": [[0, 3], [0, 1], [4, 0]], "requires_grad": False},
        },
        "grad_output": None,
    },
    {
        "id": "makemore-batchnorm",
        "title": "makemore: the MLP with batch normalisation, by hand",
        "description": "makemore part 4's forward pass on the first contexts of 'emma' and 'olivia' (block size 3): "
        "the embedding lookup, batch norm written out with the Bessel-corrected variance, and the "
        "loss picked from the log-probabilities. Without part 4's b1: batch norm subtracts the mean "
        "right after it, so its gradient is exactly 0.",
        "expression": (
            "emb = C[Xb]\n"
            "embcat = emb.view(emb.shape[0], -1)\n"
            "hprebn = embcat @ W1\n"
            "bnmeani = 1/n*hprebn.sum(0, keepdim=True)\n"
            "bndiff = hprebn - bnmeani\n"
            "bndiff2 = bndiff**2\n"
            "bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)\n"
            "bnvar_inv = (bnvar + 1e-5)**-0.5\n"
            "bnraw = bndiff * bnvar_inv\n"
            "hpreact = bngain * bnraw + bnbias\n"
            "h = torch.tanh(hpreact)\n"
            "logits = h @ W2 + b2\n"
            "logit_maxes = logits.max(1, keepdim=True).values\n"
            "norm_logits = logits - logit_maxes\n"
            "counts = norm_logits.exp()\n"
            "counts_sum = counts.sum(1, keepdims=True)\n"
            "counts_sum_inv = counts_sum**-1\n"
            "probs = counts * counts_sum_inv\n"
            "logprobs = probs.log()\n"
            "loss = -logprobs[range(n), Yb].mean()"
        ),
        "inputs": {
            "C": {"init": "randn", "shape": [27, 2], "seed": 41},
            # the 3 characters before each target of '.emma.' and '.oli' (0 is '.', a = 1, ..., z = 26)
            "Xb": {
                "value": [
                    [0, 0, 0],
                    [0, 0, 5],
                    [0, 5, 13],
                    [5, 13, 13],
                    [13, 13, 1],
                    [0, 0, 0],
                    [0, 0, 15],
                    [0, 15, 12],
                ],
                "requires_grad": False,
            },
            "Yb": {"value": [5, 13, 13, 1, 0, 15, 12, 9], "requires_grad": False},
            "W1": {"init": "randn", "shape": [6, 12], "seed": 42, "scale": (5 / 3) / 6**0.5},
            "bngain": {"init": "ones", "shape": [1, 12]},
            "bnbias": {"init": "randn", "shape": [1, 12], "seed": 44, "scale": 0.1},
            "W2": {"init": "randn", "shape": [12, 27], "seed": 45, "scale": 0.1},
            "b2": {"init": "randn", "shape": [27], "seed": 46, "scale": 0.1},
            "n": 8,
        },
        "grad_output": None,
    },
    {
        "id": "gpt-head",
        "title": "nanoGPT: one head of causal self-attention",
        "description": "Let's build GPT's head: masked_fill(tril == 0, float('-inf')) hides the future, so no "
        "gradient flows to the masked scores, and the softmax gives them weight 0.",
        "expression": (
            "B, T, C = x.shape\n"
            "k = x @ Wk\n"
            "q = x @ Wq\n"
            "wei = q @ k.transpose(-2, -1) * C**-0.5\n"
            "tril = torch.tril(torch.ones(T, T))\n"
            "wei = wei.masked_fill(tril == 0, float('-inf'))\n"
            "wei = F.softmax(wei, dim=-1)\n"
            "v = x @ Wv\n"
            "out = wei @ v"
        ),
        "inputs": {
            "x": {"init": "randn", "shape": [1, 4, 3], "seed": 51},
            "Wk": {"init": "randn", "shape": [3, 2], "seed": 52, "scale": 0.5},
            "Wq": {"init": "randn", "shape": [3, 2], "seed": 53, "scale": 0.5},
            "Wv": {"init": "randn", "shape": [3, 2], "seed": 54, "scale": 0.5},
        },
        "grad_output": None,
    },
]


def _digits(field: str, split: str, dataset: str = "digits") -> dict:
    return {"dataset": dataset, "field": field, "split": split}


def _classifier(inputs: int, dataset: str, eval_rows: list[int] | None = None) -> dict:
    """The tutorial's classifier, inputs → 100 → 200 → 10 with ReLUs and softmax cross-entropy, its
    weights drawn uniformly in ±1/√fan_in (PyTorch's nn.Linear default)."""
    evaluation = {"x": _digits("images", "test", dataset), "labels": _digits("labels", "test", dataset)}
    if eval_rows is not None:
        for spec in evaluation.values():
            spec["rows"] = eval_rows
    return {
        "expression": (
            "h1 = relu(linear(x, W1, b1))\nh2 = relu(linear(h1, W2, b2))\n"
            "logits = linear(h2, W3, b3)\nloss = softmax_cross_entropy(logits, labels)"
        ),
        "inputs": {
            "x": _digits("images", "train", dataset),
            "labels": _digits("labels", "train", dataset),
            "W1": _uniform([inputs, 100], 1, inputs**-0.5),
            "b1": _uniform([100], 2, inputs**-0.5),
            "W2": _uniform([100, 200], 3, 0.1),
            "b2": _uniform([200], 4, 0.1),
            "W3": _uniform([200, 10], 5, 200**-0.5),
            "b3": _uniform([10], 6, 200**-0.5),
        },
        "grad_output": None,
        "train": {
            "params": ["W1", "b1", "W2", "b2", "W3", "b3"],
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
            "steps": 1000,
            "batch": {"size": 32, "seed": 0},
            "record_every": 20,
            "eval": evaluation,
        },
    }


TRAIN_EXAMPLES = [
    {
        "id": "train-regression",
        "title": "Train the tutorial's regression network",
        "description": (
            "Linear(3, 15) → ReLU → Linear(15, 1) with MSE, fitting y = 2·x1 + 3·x2 + 4·x3 + 5 by SGD on one "
            "row a step, as the tutorial does. The inputs enter divided by 10 (x1 up to 30 would otherwise "
            "force a learning rate so small that 2,000 steps leave the prediction for (1, 2, 3) about 3 off); "
            "the eval input is that point, so the eval loss is (prediction − 25)²."
        ),
        "expression": "h = relu(linear(x / 10, W1, b1))\ny = linear(h, W2, b2)\nloss = mse(y, t)",
        "inputs": {
            "x": {"dataset": "regression", "field": "x", "n": 1000, "seed": 0},
            "t": {"dataset": "regression", "field": "y", "n": 1000, "seed": 0},
            # uniform in [-1, 1), as the tutorial's 2·random − 1
            "W1": _uniform([3, 15], 1, 1.0),
            "b1": _uniform([15], 2, 1.0),
            "W2": _uniform([15, 1], 3, 1.0),
            "b2": _uniform([1], 4, 1.0),
        },
        "grad_output": None,
        "train": {
            "params": ["W1", "b1", "W2", "b2"],
            "optimizer": {"name": "sgd", "lr": 0.001, "momentum": 0.0},
            "steps": 2000,
            "batch": {"size": 1, "seed": 0},
            "record_every": 20,
            "eval": {"x": [[1.0, 2.0, 3.0]], "t": [[25.0]]},
        },
    },
    {
        "id": "train-digits",
        "title": "Train a digits classifier",
        "description": (
            "The tutorial's classifier architecture, 64 → 100 → 200 → 10 with ReLUs and softmax cross-entropy, "
            "on the bundled 8×8 digits: SGD with momentum on batches of 32, evaluated on the 360 test digits."
        ),
        **_classifier(64, "digits"),
    },
]

# Examples that need a dataset which may be missing: GET /examples lists them only when it is there.
DATASET_EXAMPLES = [
    {
        "id": "train-mnist",
        "title": "Train the tutorial's MNIST classifier (needs MNIST in CHAINLENS_DATA_DIR)",
        "description": (
            "784 → 100 → 200 → 10 as in the tutorial, on 28×28 MNIST read from the four IDX files in "
            "CHAINLENS_DATA_DIR; evaluated on the first 400 test images."
        ),
        "requires_dataset": "mnist",
        # 400 rows: the program on one row is about 100,000 units of work (784·100 + 100·200 + …),
        # and an evaluation must stay under the default limit of 50 million.
        **_classifier(784, "mnist", eval_rows=list(range(400))),
    },
]

TRAIN_EXAMPLES += LAYER_TRAIN_EXAMPLES  # the layers' (app/examples_layers.py)
EXAMPLES += DIALECT_EXAMPLES + LAYER_EXAMPLES + TRAIN_EXAMPLES

"""Programs whose values and gradients must match PyTorch's.

Each case is a dict with
  id          a unique name (also the key in tests/fixtures/torch_parity.json),
  program     the chainlens program,
  inputs      as in the HTTP API: numbers, nested lists, {"value": ..., "requires_grad": false},
              or {"init": ..., "shape": ..., "seed": ...} (materialized with the engine's own decoder),
  grad_output the upstream gradient fed into the output, or None for ones.

scripts/make_parity_fixtures.py runs them in PyTorch (float64) and writes the fixture file;
tests/test_parity.py checks the engine against it, and the fixture against PyTorch live.
Every op of the op table must occur in some case (tests/test_parity.py checks that).
"""

from __future__ import annotations

import numpy as np


def _grid(shape, scale=0.25, offset=0.0):
    """Deterministic, non-symmetric values of a shape (no random generator involved)."""
    n = int(np.prod(shape))
    values = np.sin(np.arange(1, n + 1) * 1.3 + offset) * 2 * scale + np.cos(np.arange(n) * 0.7) * scale
    return np.round(values, 6).reshape(shape).tolist()


def _fixed(value):
    return {"value": value, "requires_grad": False}


# The tutorial's regression data: y = 2*x1 + 3*x2 + 4*x3 + 5 with x1 in [0, 30), x2 in [0, 20), x3 in [0, 11).
_REGRESSION_X = [
    [18.75, 15.94, 10.95],
    [26.92, 9.36, 8.72],
    [23.27, 6.06, 6.84],
    [6.76, 5.57, 10.88],
    [9.0, 5.1, 2.37],
    [26.21, 8.9, 1.76],
    [0.16, 10.09, 6.74],
    [24.64, 11.07, 0.48],
]
_REGRESSION_T = [[134.12], [121.8], [97.08], [78.75], [47.78], [91.16], [62.55], [89.41]]

_TUTORIAL_X = [[-0.641, 2.0, 0.762], [-1.199, 0.075, 0.577], [-0.189, 0.683, -0.067]]
_TUTORIAL_A = [[0.667, 1.439, -0.676], [0.203, -0.463, 0.127], [-1.187, -0.579, -0.196]]
_TUTORIAL_B = [0.899, 1.145, -1.324]
_TUTORIAL_L = [[-0.795, 0.647, -1.992], [-0.463, -0.097, 1.257], [0.689, -0.327, -0.369]]

CASES: list[dict] = [
    # --- the tutorial's examples -----------------------------------------------------------------
    {
        "id": "chain_rule",
        "program": "q = x + y\nf = q * z",
        "inputs": {"x": -2, "y": 5, "z": -4},
        "grad_output": None,
    },
    {
        "id": "chain_rule_squared_error",
        "program": "q = x + y; f = q * z; loss = (f - target) ** 2",
        "inputs": {"x": -2, "y": 5, "z": -4, "target": _fixed(-13)},
        "grad_output": None,
    },
    {
        "id": "tutorial_tensor",
        "program": "y = (x * a + b) * a",
        "inputs": {"x": _TUTORIAL_X, "a": _TUTORIAL_A, "b": _TUTORIAL_B},
        "grad_output": _TUTORIAL_L,
    },
    {
        "id": "tutorial_tensor_init",
        "program": "u = x * a + b\ny = u * a",
        "inputs": {
            "x": {"init": "randn", "shape": [3, 3], "seed": 1},
            "a": {"init": "uniform", "shape": [3, 3], "seed": 2, "low": -1, "high": 1},
            "b": {"init": "randn", "shape": [3], "seed": 3, "scale": 0.5},
        },
        "grad_output": _TUTORIAL_L,
    },
    {
        "id": "shared_intermediate",
        "program": "q = x * a; y = q * q",
        "inputs": {"x": 1.5, "a": 2},
        "grad_output": None,
    },
    {
        "id": "shared_intermediate_fan_out",
        "program": "q = x * a\nr = q + q * q\ns = r * q - q\ny = sum(s * r)",
        "inputs": {"x": _grid((2, 3)), "a": [0.5, -1.25, 2.0]},
        "grad_output": None,
    },
    {
        "id": "broadcast_over_two_axes",
        "program": "y = x + b",
        "inputs": {"x": {"init": "randn", "shape": [2, 3, 4], "seed": 4}, "b": [[[0.5], [-1.0], [2.0]]]},
        "grad_output": _grid((2, 3, 4), offset=1.0),
    },
    {
        "id": "broadcast_mul_leading_and_inner_axes",
        "program": "y = x * b\nz = sum(y * b, axis=(0, 2))",
        "inputs": {"x": _grid((2, 3, 4)), "b": [[1.5], [-0.5], [0.25]]},
        "grad_output": [1.0, -2.0, 0.5],
    },
    {
        "id": "sigmoid_scalar",
        "program": "s = sigmoid(x)",
        "inputs": {"x": 0.7},
        "grad_output": None,
    },
    {
        "id": "sigmoid_tensor_extremes",
        "program": "s = sigmoid(x)\ny = s * w",
        "inputs": {"x": [-40.0, -3.0, 0.0, 2.5, 40.0, -700.0, 700.0], "w": [1.0, -2.0, 0.5, 3.0, 1.0, 2.0, -1.0]},
        "grad_output": [0.5, 1.0, -1.0, 2.0, 1.0, 1.0, 1.0],
    },
    {
        "id": "cross_entropy_logits_near_1000",
        "program": "loss = softmax_cross_entropy(logits, labels)",
        "inputs": {
            "logits": [[1000.0, 1001.0, 999.5], [998.0, 1000.0, 1003.0], [1000.0, 1000.0, 1000.0]],
            "labels": _fixed([1, 0, 2]),
        },
        "grad_output": None,
    },
    {
        "id": "regression_mlp",
        "program": "h = relu(linear(x, W1, b1))\ny = linear(h, W2, b2)\nloss = mse(y, t)",
        "inputs": {
            "x": _fixed(_REGRESSION_X),
            "W1": {"init": "randn", "shape": [3, 15], "seed": 0, "scale": 0.5},
            "b1": {"init": "uniform", "shape": [15], "seed": 1, "low": -1, "high": 1},
            "W2": {"init": "randn", "shape": [15, 1], "seed": 2, "scale": 0.3},
            "b2": {"init": "zeros", "shape": [1]},
            "t": _fixed(_REGRESSION_T),
        },
        "grad_output": None,
    },
    {
        "id": "softmax_classifier",
        "program": "logits = linear(x, W, b)\np = softmax(logits)\nloss = softmax_cross_entropy(logits, labels)",
        "inputs": {
            "x": {"init": "randn", "shape": [6, 4], "seed": 5},
            "W": {"init": "randn", "shape": [4, 3], "seed": 6, "scale": 0.8},
            "b": [0.1, -0.2, 0.05],
            "labels": _fixed([0, 2, 1, 1, 0, 2]),
        },
        "grad_output": None,
    },
    {
        "id": "classifier_two_layers",
        "program": (
            "h = relu(x @ W1 + b1)\nlogits = linear(h, W2, b2)\n"
            "loss = softmax_cross_entropy(logits, labels) + 0.01 * sum(W1 * W1)"
        ),
        "inputs": {
            "x": {"init": "uniform", "shape": [5, 6], "seed": 7},
            "W1": {"init": "randn", "shape": [6, 8], "seed": 8, "scale": 0.5},
            "b1": {"init": "zeros", "shape": [8]},
            "W2": {"init": "randn", "shape": [8, 4], "seed": 9, "scale": 0.5},
            "b2": {"init": "ones", "shape": [4]},
            "labels": _fixed([3, 0, 1, 2, 3]),
        },
        "grad_output": None,
    },
    # --- the ops, one or more programs each ---------------------------------------------------
    {
        "id": "arithmetic_broadcast",
        "program": "p = a + b\nq = a - b\nr = a * b\ns = a / b\nout = p * q + r - s / 3",
        "inputs": {"a": _grid((2, 3)), "b": [1.5, -0.75, 2.5]},
        "grad_output": _grid((2, 3), offset=2.0),
    },
    {
        "id": "functions_of_binary_ops",
        "program": "out = add(a, b) * sub(a, b) + mul(a, div(a, b))",
        "inputs": {"a": 1.25, "b": -0.5},
        "grad_output": None,
    },
    {
        "id": "pow_forms",
        "program": "u = a ** 2 + 2 ** b + a ** b + a ** -1.5\nv = pow(a, 0.5)\nout = u * v",
        "inputs": {"a": [0.5, 1.5, 2.25], "b": [[-1.0, 0.5, 2.0], [1.5, -0.25, 0.0]]},
        "grad_output": _grid((2, 3)),
    },
    {
        "id": "maximum_minimum_broadcast",
        "program": "u = maximum(a, b)\nv = minimum(a, c)\nout = u * v",
        "inputs": {"a": [[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]], "b": [0.75, -2.0, 1.0], "c": 0.3},
        "grad_output": _grid((2, 3), offset=0.5),
    },
    {
        "id": "unary_functions",
        "program": (
            "y = exp(x) + log(p) + sqrt(p) + abs(x) + sin(x) + cos(x) + tanh(x) + sigmoid(x) + relu(x)\nz = -y + neg(x)"
        ),
        "inputs": {"x": [-1.5, -0.25, 0.5, 2.0], "p": [0.25, 1.0, 2.5, 9.0]},
        "grad_output": [1.0, -0.5, 2.0, 0.25],
    },
    {
        "id": "unary_functions_scalar",
        "program": "y = exp(x) * log(p) + sqrt(p) * abs(x) - sin(x) * cos(x) + tanh(x) / sigmoid(x) + relu(-x)",
        "inputs": {"x": -0.8, "p": 1.7},
        "grad_output": None,
    },
    {
        "id": "constants",
        "program": "y = sin(pi * x) + e ** x",
        "inputs": {"x": [0.25, -0.5, 1.0]},
        "grad_output": None,
    },
    {
        "id": "point_rules",  # where PyTorch picks a derivative: relu'(0), abs'(0), ties
        "program": (
            "r = relu(x)\nu = abs(x)\nm = maximum(x, y)\nn = minimum(x, y)\n"
            "hi = max(z)\nlo = min(z, axis=1)\nout = sum(r + 2 * u + 3 * m + 4 * n) + hi * sum(lo)"
        ),
        "inputs": {
            "x": [0.0, -1.0, 2.0, 0.0],
            "y": [0.0, -1.0, 1.0, 3.0],
            "z": [[1.0, 3.0, 3.0], [0.5, 0.5, -2.0], [3.0, 0.0, 0.0]],
        },
        "grad_output": None,
    },
    {
        "id": "reductions",
        "program": (
            "s = sum(x, axis=0)\nm = mean(x, axis=(0, 2), keepdims=True)\nhi = max(x, axis=1)\n"
            "lo = min(x)\na = mean(x)\nk = sum(x, axis=-1, keepdims=True)\n"
            "out = sum(s * s) + sum(m * w) + sum(hi) + lo * a + sum(k * x)"
        ),
        "inputs": {"x": _grid((2, 3, 4), scale=1.0), "w": [[[0.5], [-1.0], [2.0]]]},
        "grad_output": None,
    },
    {
        "id": "softmax_and_log_softmax_axes",
        "program": (
            "p = softmax(x, axis=0)\nq = log_softmax(x, axis=1)\nr = softmax(x)\n"
            "out = sum(p * w) + sum(q * w) + sum(r * r)"
        ),
        "inputs": {"x": _grid((3, 4), scale=2.0), "w": _grid((3, 4), offset=3.0)},
        "grad_output": None,
    },
    {
        "id": "softmax_3d_and_large",
        "program": "p = softmax(x, axis=1)\nq = log_softmax(x + 1000, axis=-1)\nout = sum(p * q)",
        "inputs": {"x": _grid((2, 3, 2), scale=3.0)},
        "grad_output": None,
    },
    {
        "id": "matmul_shapes",
        "program": (
            "u = A @ B\nv = matmul(v1, A)\nw = matmul(T, B)\nd = v1 @ v1\nout = sum(u * u) + sum(v) * d + mean(w)"
        ),
        "inputs": {"A": _grid((3, 4)), "B": _grid((4, 2), offset=1.0), "v1": [0.5, -1.0, 1.5], "T": _grid((2, 3, 4))},
        "grad_output": None,
    },
    {
        "id": "matmul_batched_broadcast",
        "program": "y = A @ B",
        "inputs": {"A": _grid((2, 1, 2, 3)), "B": _grid((3, 3, 2), offset=0.3)},
        "grad_output": _grid((2, 3, 2, 2), offset=0.7),
    },
    {
        "id": "matmul_vector_right",
        "program": "y = A @ v",
        "inputs": {"A": _grid((2, 2, 3)), "v": [1.0, -0.5, 0.25]},
        "grad_output": [[1.0, 2.0], [-1.0, 0.5]],
    },
    {
        "id": "linear_layers",
        "program": "y = linear(x, W, b)\nz = linear(v, W, c)\nout = sum(y * y) + sum(z)",
        "inputs": {
            "x": _grid((2, 4, 3)),
            "W": _grid((3, 2), offset=1.0),
            "b": [0.5, -0.5],
            "v": [1.0, 2.0, 3.0],
            "c": 0.25,
        },
        "grad_output": None,
    },
    {
        "id": "mse_same_shape",
        "program": "loss = mse(pred, target)",
        "inputs": {"pred": _grid((4, 3)), "target": _grid((4, 3), offset=2.0)},
        "grad_output": None,
    },
    {
        "id": "mse_broadcast",
        "program": "loss = mse(pred, target)",
        "inputs": {"pred": _grid((4, 3)), "target": [0.5, -1.0, 0.25]},
        "grad_output": 2.5,
    },
    {
        "id": "cross_entropy_single_row",
        "program": "loss = softmax_cross_entropy(z, label) * 3",
        "inputs": {"z": [0.5, -1.0, 2.0, 0.0], "label": _fixed(2)},
        "grad_output": None,
    },
    {
        "id": "transpose_and_reshape",
        "program": (
            "y = reshape(x, (4, -1))\nz = y.T\nw = transpose(t, axes=(2, 0, 1))\n"
            "v = reshape(t, shape=(-1,))\nu = transpose(x)\nout = sum(z * z) + sum(w * w * w) + sum(v) + sum(u @ x)"
        ),
        "inputs": {"x": _grid((2, 6)), "t": _grid((2, 3, 4), offset=0.9)},
        "grad_output": None,
    },
    {
        "id": "transpose_negative_axes",  # the shape rule and numpy accept negative axes
        "program": "y = transpose(x, axes=(-1, 0, 1))\nz = transpose(x, (0, -1, 1))\nout = sum(y * w) + sum(z * z * z)",
        "inputs": {"x": _grid((2, 3, 4)), "w": _grid((4, 2, 3), offset=0.4)},
        "grad_output": None,
    },
    {
        "id": "linear_bias_broadcasts_a_batch",  # b of shape (4, 1) makes the output (4, 2) from x (3,)
        "program": "y = linear(x, W, b)\nz = linear(X, W, c)\nout = sum(y * y) + sum(z * g)",
        "inputs": {
            "x": [0.5, -1.0, 2.0],
            "W": _grid((3, 2)),
            "b": [[0.1], [0.2], [-0.3], [0.4]],
            "X": _grid((4, 3), offset=1.1),
            "c": _grid((5, 1, 2), offset=2.2),
            "g": _fixed(_grid((5, 4, 2), offset=0.8)),
        },
        "grad_output": None,
    },
    {
        "id": "recurrence_reassigns_a_name",
        "program": "h = tanh(h * w + b)\nh = tanh(h * w + b)\nh = tanh(h * w + b)\nloss = h * h",
        "inputs": {"h": 0.3, "w": 1.7, "b": -0.2},
        "grad_output": None,
    },
    {
        "id": "no_gradient_inputs_and_unused_branch",
        "program": "side = exp(k)\ny = x * k + k\nunused = sin(x)\nout = sum(y * y)",
        "inputs": {"x": [1.0, -2.0, 0.5], "k": _fixed([0.5, 1.5, -1.0])},
        "grad_output": None,
    },
    {
        "id": "scalar_times_tensor",
        "program": "y = sum(x * s) * s + s",
        "inputs": {"x": _grid((2, 2)), "s": 1.75},
        "grad_output": -0.5,
    },
    # The loss options as PyTorch defines them (F.cross_entropy, F.mse_loss), onehot and detach.
    {
        "id": "cross_entropy_weight_ignore_smoothing_mean",
        "program": (
            "loss = softmax_cross_entropy(z, labels, weight=(1.0, 2.5, 0.5, 1.5), ignore_index=1, "
            'label_smoothing=0.2, reduction="mean")'
        ),
        "inputs": {"z": _grid((6, 4), offset=0.3), "labels": _fixed([0, 1, 3, 2, 1, 3])},
        "grad_output": None,
    },
    {
        "id": "cross_entropy_weight_mean",
        "program": "loss = softmax_cross_entropy(z, labels, weight=(0.2, 3, 1))",
        "inputs": {"z": _grid((5, 3), offset=0.9), "labels": _fixed([2, 0, 1, 1, 0])},
        "grad_output": None,
    },
    {
        "id": "cross_entropy_ignore_index_mean",
        "program": "loss = softmax_cross_entropy(z, labels, ignore_index=-1)",
        "inputs": {"z": _grid((4, 3), offset=0.1), "labels": _fixed([2, -1, 0, -1])},
        "grad_output": None,
    },
    {
        "id": "cross_entropy_smoothing_sum",
        "program": "loss = softmax_cross_entropy(z, labels, label_smoothing=0.1, reduction='sum')",
        "inputs": {"z": _grid((4, 5), offset=1.3), "labels": _fixed([4, 0, 2, 2])},
        "grad_output": 1.5,
    },
    {
        "id": "cross_entropy_none_weighted_smoothing",
        "program": (
            "loss = softmax_cross_entropy(z, labels, weight=(1, 0.5, 2), label_smoothing=0.3, ignore_index=0, "
            'reduction="none")'
        ),
        "inputs": {"z": _grid((4, 3), offset=0.6), "labels": _fixed([1, 0, 2, 1])},
        "grad_output": [1.0, -2.0, 0.5, 3.0],
    },
    {
        "id": "cross_entropy_one_row_none",
        "program": 'loss = softmax_cross_entropy(z, label, reduction="none") * 2',
        "inputs": {"z": [0.3, -1.2, 2.0, 0.1], "label": _fixed(2)},
        "grad_output": None,
    },
    {
        "id": "mse_sum_and_none",
        "program": 'a = mse(p, t, reduction="sum")\nb = mse(p, t, reduction="none")\nloss = a + sum(b * g)',
        "inputs": {"p": _grid((3, 2)), "t": _fixed(_grid((2,), offset=0.5)), "g": _fixed(_grid((3, 2), offset=1.7))},
        "grad_output": None,
    },
    {
        "id": "onehot_and_detach",
        "program": "h = onehot(labels, 4, ignore_index=3)\nout = sum(h * z) + sum(detach(z) * z)",
        "inputs": {"z": _grid((3, 4), offset=0.2), "labels": _fixed([0, 3, 2])},
        "grad_output": None,
    },
]


# --- issue 19's primitives --------------------------------------------------------------------------
# Cases with a "call" run one op through the engine's API (tests/op_calls.py) on the inputs in their
# order, with the given params: the ops the language writes with syntax of its own (a subscript
# builds `index`, a list `cat`) and options such as correction= are compared as they reach the
# engine. Their "program" is the call as text (an id, never parsed).


def _call(case_id: str, op: str, params: dict, inputs: dict, grad_output=None) -> dict:
    shown = list(inputs) + [f"{name}={value!r}" for name, value in params.items()]
    return {
        "id": case_id,
        "program": f"out = {op}({', '.join(shown)})",
        "call": {"op": op, "params": params},
        "inputs": inputs,
        "grad_output": grad_output,
    }


_FULL = (None, None, None)  # the slice `:`

CASES += [
    # C[Xb]: repeated rows accumulate, negative rows count from the end
    _call(
        "index_embedding_repeats",
        "index",
        {"key": ("tensor",)},
        {"C": _grid((5, 3)), "Xb": _fixed([[0, 2, 2], [-1, 0, 4], [2, 2, 2]])},
        _grid((3, 3, 3), offset=0.4),
    ),
    # logprobs[range(n), Yb]
    _call(
        "index_paired",
        "index",
        {"key": ("tensor", "tensor")},
        {"logprobs": _grid((4, 3)), "rows": _fixed([0, 1, 2, 3]), "Yb": _fixed([2, 0, -1, 2])},
        [1.0, -2.0, 0.5, 3.0],
    ),
    _call(
        "index_int_selects_first",
        "index",
        {"key": (0, _FULL, "tensor")},
        {"x": _grid((2, 3, 4)), "i": _fixed([3, 0, 3, -4, 1])},
        _grid((3, 5), offset=1.1),
    ),
    _call(
        "index_tensors_apart",
        "index",
        {"key": ("tensor", _FULL, "tensor")},
        {"x": _grid((3, 4, 2)), "i": _fixed([[0], [2]]), "j": _fixed([1, -1, 0])},
        _grid((2, 3, 4), offset=0.8),
    ),
    _call(
        "index_slices_newaxis_ellipsis",
        "index",
        {"key": (None, "...", (1, None, 2), -1)},
        {"x": _grid((2, 5, 3))},
        _grid((1, 2, 2), offset=0.3),
    ),
    _call(
        "index_negative_int_and_step", "index", {"key": (-1, (None, None, 2))}, {"x": _grid((3, 5))}, [1.0, 2.0, 3.0]
    ),
    _call("index_empty_slice", "index", {"key": (_FULL, (3, 1, None))}, {"x": _grid((2, 4))}, None),
    _call(
        "index_empty_tensor",
        "index",
        {"key": ("tensor",)},
        {"C": _grid((3, 2)), "i": {"init": "zeros", "shape": [0], "requires_grad": False}},
        None,
    ),
    _call(
        "cat_axis1",
        "cat",
        {"axis": 1},
        {"a": _grid((2, 3)), "b": _grid((2, 1), offset=1.0), "c": _grid((2, 2), offset=2.0)},
        _grid((2, 6), offset=0.5),
    ),
    _call(
        "cat_negative_axis_with_empty",
        "cat",
        {"axis": -2},
        {"a": {"init": "zeros", "shape": [0, 2]}, "b": _grid((3, 2), offset=1.0)},
        _grid((3, 2), offset=0.1),
    ),
    _call(
        "stack_axis_last",
        "stack",
        {"axis": -1},
        {"a": _grid((2, 3)), "b": _grid((2, 3), offset=1.0)},
        _grid((2, 3, 2), offset=0.7),
    ),
    _call("stack_scalars", "stack", {"axis": 0}, {"a": 1.5, "b": -2.0, "c": 0.25}, [1.0, 2.0, -3.0]),
    _call(
        "masked_fill_minus_inf",
        "masked_fill",
        {"value": float("-inf")},
        {"x": _grid((2, 3)), "mask": _fixed([[0, 1, 0], [1, 1, 1]])},
        [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
    ),
    _call(
        "masked_fill_broadcast_mask",
        "masked_fill",
        {"value": 2.5},
        {"x": _grid((3,)), "mask": _fixed([[1, 0, 0], [0, 0, 1]])},
        _grid((2, 3), offset=0.9),
    ),
    _call(
        "clamp_at_the_bounds",
        "clamp",
        {"min": -0.5, "max": 0.5},
        {"x": [-1.0, -0.5, -0.2, 0.0, 0.5, 0.7, "NaN", "-Infinity"]},
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    ),
    _call("clamp_min_only", "clamp", {"min": 0.0}, {"x": [-1.0, 0.0, 2.0]}, None),
    _call("clamp_max_only", "clamp", {"max": 0.0}, {"x": [-1.0, 0.0, 2.0]}, None),
    _call("clamp_min_above_max", "clamp", {"min": 1.0, "max": 0.0}, {"x": [-1.0, 0.5, 2.0]}, None),
    _call(
        "var_correction_0",
        "var",
        {"axis": 1, "correction": 0, "keepdims": False},
        {"x": _grid((3, 4))},
        [1.0, -1.0, 2.0],
    ),
    _call(
        "var_correction_2_keepdims", "var", {"axis": 0, "correction": 2, "keepdims": True}, {"x": _grid((4, 2))}, None
    ),
    _call(
        "std_correction_0_all", "std", {"axis": None, "correction": 0, "keepdims": False}, {"x": _grid((2, 3))}, None
    ),
    _call(
        "std_zero_spread",
        "std",
        {"axis": 1, "correction": 1, "keepdims": False},
        {"x": [[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]},
        None,
    ),
    _call("tril_diagonal_1", "tril", {"diagonal": 1}, {"x": _grid((3, 4))}, _grid((3, 4), offset=0.2)),
    _call("triu_diagonal_minus_1_batched", "triu", {"diagonal": -1}, {"x": _grid((2, 3, 3))}, None),
    _call("full_minus_inf", "full", {"shape": (2, 3), "fill_value": float("-inf")}, {}, None),
    _call("arange_floats", "arange", {"start": 1.5, "end": -1.0, "step": -0.5}, {}, None),
    _call("arange_ints", "arange", {"start": 0, "end": 7, "step": 3}, {}, None),
    _call("eye_rectangular", "eye", {"n": 2, "m": 3}, {}, None),
    _call("full_like", "full_like", {"fill_value": 0.5}, {"x": _grid((2, 2))}, None),
    {
        "id": "where_masked_softmax_minus_inf_rows",
        # a fully masked row: softmax of -inf everywhere is NaN in PyTorch, and the where passes no gradient there
        "program": "s = where(m, x, -1e400)\np = softmax(s, axis=-1)\nout = sum(p * g)",
        "inputs": {
            "x": _grid((3, 4)),
            "m": _fixed([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 1]]),
            "g": _fixed(_grid((3, 4), offset=0.6)),
        },
        "grad_output": None,
    },
    {
        "id": "where_broadcast",
        "program": "out = where(c, a, b)",
        "inputs": {"c": _fixed([[1, 0, 2], [0, -1, 0]]), "a": _grid((3,)), "b": _grid((2, 1), offset=0.5)},
        "grad_output": _grid((2, 3), offset=1.2),
    },
    {
        "id": "comparisons_with_ties_and_nan",
        "program": "out = gt(a, b) + 2 * lt(a, b) + 4 * ge(a, b) + 8 * le(a, b) + 16 * eq(a, b) + 32 * ne(a, b)",
        "inputs": {"a": [1.0, 2.0, 3.0, "NaN"], "b": [2.0, 2.0, 1.0, 1.0]},
        "grad_output": None,
    },
    {
        "id": "argmax_argmin_ties",
        "program": (
            "i = argmax(x, axis=1)\nj = argmin(x, axis=0, keepdims=True)\nk = argmax(x)\n"
            "out = sum(x) + sum(i) + sum(j) + k"
        ),
        "inputs": {"x": [[1.0, 3.0, 3.0], [2.0, 2.0, 1.0], [0.0, 5.0, -1.0]]},
        "grad_output": None,
    },
    {
        "id": "logsumexp_axes",
        "program": "a = logsumexp(x, axis=1)\nb = logsumexp(x, axis=(0, 1), keepdims=True)\nout = sum(a * g) + sum(b)",
        "inputs": {"x": _grid((3, 4), scale=4.0), "g": _fixed([1.0, -2.0, 0.5])},
        "grad_output": None,
    },
    {
        "id": "var_std_default_correction",
        "program": "v = var(x, axis=0)\ns = std(x, axis=1, keepdims=True)\nout = sum(v) + sum(s * g) + std(x)",
        "inputs": {"x": _grid((3, 4)), "g": _fixed([[1.0], [2.0], [-1.0]])},
        "grad_output": None,
    },
    {
        "id": "tril_triu_causal",
        "program": "lower = tril(x)\nupper = triu(x)\nout = sum(lower * g) + sum(upper)",
        "inputs": {"x": _grid((2, 3, 3)), "g": _fixed(_grid((3, 3), offset=0.4))},
        "grad_output": None,
    },
    {
        # F.linear against the bare linear on a square weight: W.T and W are different matrices
        "id": "linear_t_against_linear_square",
        "program": "a = linear_t(x, W, b)\nc = linear(x, W, b)\nout = sum(a * g) + sum(c)",
        "inputs": {
            "x": _grid((4, 3)),
            "W": _grid((3, 3), offset=0.7),
            "b": _grid((3,), offset=1.5),
            "g": _fixed(_grid((4, 3), offset=2.5)),
        },
        "grad_output": None,
    },
    {
        "id": "linear_t_vector_weight",
        "program": "out = linear_t(x, w, b)",
        "inputs": {"x": _grid((2, 4, 3)), "w": _grid((3,), offset=0.7), "b": 0.5},
        "grad_output": _grid((2, 4), offset=0.3),
    },
    {
        "id": "constant_makers",
        "program": (
            "one = ones(shape=(2, 3))\nzero = zeros((3,))\nlike = ones_like(x) + zeros_like(x)\n"
            "out = x * one + like + sum(zero)"
        ),
        "inputs": {"x": _grid((2, 3))},
        "grad_output": None,
    },
]

CASES += [
    _call(
        "gather_axis1_repeats",
        "gather",
        {"axis": 1},
        {"x": _grid((3, 4)), "i": _fixed([[0, 0], [3, 3], [2, 1]])},
        _grid((3, 2), offset=0.6),
    ),
    _call(
        "gather_axis0_shorter_index",
        "gather",
        {"axis": 0},
        {"x": _grid((3, 4, 2)), "i": _fixed([[[2, 0], [1, 1]]])},
        None,
    ),
]

CASES += [_call("arange_one_bound_is_the_end", "arange", {"start": 4}, {}, None)]

# PyTorch's bool tensors (x.bool(), ~m, logical ops) as 0.0/1.0 masks, and einsum (its other cases:
# tests/test_einsum.py, live).
CASES += [
    {
        "id": "bool_and_logical_masks",
        "program": (
            "m = gt(x, 0.1)\nb = bool(y)\nn = logical_not(m)\n"
            "out = x * n + y * logical_or(m, b) + x * logical_and(m, y) - y * logical_xor(n, b)"
        ),
        "inputs": {"x": _grid((3, 4)), "y": [[0.0, 1.5, -2.0, 0.0], [0.5, 0.0, 0.0, 3.0], [0.0, 0.0, 1.0, -1.0]]},
        "grad_output": _grid((3, 4), offset=0.3),
    },
    {
        "id": "einsum_attention",
        "program": ('s = einsum("bid,bjd->bij", q, k) * 0.5\nout = einsum("bij,bjd->bid", softmax(s, axis=-1), v)'),
        "inputs": {"q": _grid((2, 3, 4)), "k": _grid((2, 5, 4), offset=0.4), "v": _grid((2, 5, 2), offset=0.9)},
        "grad_output": _grid((2, 3, 2), offset=0.2),
    },
    {
        "id": "einsum_trace_diagonal_ellipsis_implicit",
        "program": (
            't = einsum("ii", a)\nd = einsum("ii->i", a)\ne = einsum("...ij,...jk->...ik", b, a)\n'
            'out = t * einsum("ij,j", e[0], d) + sum(einsum("ba", b[1]))'
        ),
        "inputs": {"a": _grid((3, 3)), "b": _grid((2, 2, 3), offset=0.7)},
        "grad_output": _grid((2,), offset=0.1),
    },
]

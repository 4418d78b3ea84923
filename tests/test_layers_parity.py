"""The layers' ops (app/engine/layers.py) against PyTorch live, float64, relative 1e-10: values and
the gradient of every input, for every argument the ops take and the issue's edge cases (eps
choices, normalized_shape over several axes, padding larger than the kernel, stride and dilation
combinations, groups, ignore_index, pos_weight, gelu's tanh form, softplus's threshold branch,
fully masked attention rows, a batch of one in batch_norm training).

Each case is run closed and opened (expand="all": the composites as their primitives), both against
PyTorch. A case's torch function receives the inputs as tensors (those marked fixed without grad).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.layers import LAYERS

RTOL = 1e-10
ATOL_SCALE = 1e-12


@dataclass
class Case:
    id: str
    program: str
    inputs: dict[str, Any]  # name -> array, or ("fixed", array): no gradient (labels, masks, indices)
    torch_fn: Callable[..., torch.Tensor]
    opened: bool = True  # also run with the composites opened


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def R(*shape: int, seed: int = 0, low: float | None = None, high: float | None = None) -> np.ndarray:
    rng = _rng(seed + 7 * len(shape) + sum(shape))
    if low is not None:
        return rng.uniform(low, high, size=shape)
    return rng.normal(size=shape)


def fixed(value: np.ndarray) -> tuple[str, np.ndarray]:
    return ("fixed", np.asarray(value, dtype=np.float64))


def labels(n: int, classes: int, seed: int = 0) -> tuple[str, np.ndarray]:
    return fixed(_rng(seed).integers(0, classes, n).astype(float))


CASES: list[Case] = []


def add(id: str, program: str, inputs: dict, torch_fn: Callable, opened: bool = True) -> None:
    CASES.append(Case(id, program, inputs, torch_fn, opened))


# --- activations ------------------------------------------------------------------------------------
x = R(3, 5) * 3
add("erf", "out = erf(x)", {"x": x}, lambda x: torch.erf(x))
add("erf-scalar", "out = erf(x)", {"x": np.array(0.37)}, lambda x: torch.erf(x))
add("silu", "out = silu(x)", {"x": x}, lambda x: F.silu(x))
add("silu-scalar", "out = silu(x)", {"x": np.array(-1.3)}, lambda x: F.silu(x))
add("gelu", "out = gelu(x)", {"x": x}, lambda x: F.gelu(x))
add("gelu-tanh", 'out = gelu(x, approximate="tanh")', {"x": x}, lambda x: F.gelu(x, approximate="tanh"))
add("gelu-scalar", "out = gelu(x)", {"x": np.array(0.8)}, lambda x: F.gelu(x))
xs = np.array([-30.0, -2.0, -0.5, 0.1, 2.0, 9.0, 10.5, 25.0])
add("softplus", "out = softplus(x)", {"x": xs}, lambda x: F.softplus(x))
add(
    "softplus-beta-threshold",
    "out = softplus(x, beta=2, threshold=20)",
    {"x": xs},
    lambda x: F.softplus(x, beta=2, threshold=20),
)
add("softplus-threshold-branch", "out = softplus(x, 0.5, 3)", {"x": xs}, lambda x: F.softplus(x, 0.5, 3))
add("leaky_relu", "out = leaky_relu(x)", {"x": x}, lambda x: F.leaky_relu(x))
add("leaky_relu-slope", "out = leaky_relu(x, negative_slope=0.2)", {"x": x}, lambda x: F.leaky_relu(x, 0.2))
add("leaky_relu-zero", "out = leaky_relu(x, 0.3)", {"x": np.array([0.0, -1.0, 1.0])}, lambda x: F.leaky_relu(x, 0.3))
add("elu", "out = elu(x)", {"x": x}, lambda x: F.elu(x))
add("elu-alpha", "out = elu(x, alpha=0.7)", {"x": x}, lambda x: F.elu(x, 0.7))
# past α = 1 (or below 0) α·expm1(x) is not above x everywhere: elu's other branch
add("elu-alpha-large", "out = elu(x, alpha=1.5)", {"x": x}, lambda x: F.elu(x, 1.5))
add("elu-alpha-negative", "out = elu(x, alpha=-0.5)", {"x": x}, lambda x: F.elu(x, -0.5))
add("hardtanh", "out = hardtanh(x)", {"x": x}, lambda x: F.hardtanh(x))
add(
    "hardtanh-bounds",
    "out = hardtanh(x, min_val=-0.5, max_val=2)",
    {"x": np.array([-3.0, -0.5, 0.0, 1.0, 2.0, 3.0])},
    lambda x: F.hardtanh(x, -0.5, 2.0),
)

# --- losses -----------------------------------------------------------------------------------------
p, t = R(4, 3), R(4, 3, seed=1)
for reduction in ("mean", "sum", "none"):
    r = f', reduction="{reduction}"'
    add(
        f"l1_loss-{reduction}",
        f"out = l1_loss(p, t{r})",
        {"p": p, "t": t},
        lambda p, t, r=reduction: F.l1_loss(p, t, reduction=r),
    )
    add(
        f"smooth_l1_loss-{reduction}",
        f"out = smooth_l1_loss(p, t{r})",
        {"p": p, "t": t},
        lambda p, t, r=reduction: F.smooth_l1_loss(p, t, reduction=r),
    )
    add(
        f"huber_loss-{reduction}",
        f"out = huber_loss(p, t{r}, delta=0.6)",
        {"p": p, "t": t},
        lambda p, t, r=reduction: F.huber_loss(p, t, reduction=r, delta=0.6),
    )
add(
    "smooth_l1_loss-beta",
    "out = smooth_l1_loss(p, t, beta=0.4)",
    {"p": p, "t": t},
    lambda p, t: F.smooth_l1_loss(p, t, beta=0.4),
)
add(
    "smooth_l1_loss-beta0",
    "out = smooth_l1_loss(p, t, beta=0)",
    {"p": p, "t": t},
    lambda p, t: F.smooth_l1_loss(p, t, beta=0.0),
)
add("huber_loss-default", "out = huber_loss(p, t)", {"p": p, "t": t}, lambda p, t: F.huber_loss(p, t))

prob, target = R(4, 3, low=0.05, high=0.95), R(4, 3, seed=2, low=0.0, high=1.0)
w3 = R(3, seed=3, low=0.2, high=2.0)
for reduction in ("mean", "sum", "none"):
    add(
        f"bce-{reduction}",
        f'out = binary_cross_entropy(p, t, reduction="{reduction}")',
        {"p": prob, "t": target},
        lambda p, t, r=reduction: F.binary_cross_entropy(p, t, reduction=r),
    )
    add(
        f"bce_logits-{reduction}",
        f'out = binary_cross_entropy_with_logits(z, t, reduction="{reduction}")',
        {"z": R(4, 3) * 3, "t": target},
        lambda z, t, r=reduction: F.binary_cross_entropy_with_logits(z, t, reduction=r),
    )
add(
    "bce-weight",
    "out = binary_cross_entropy(p, t, w)",
    {"p": prob, "t": target, "w": fixed(w3)},
    lambda p, t, w: F.binary_cross_entropy(p, t, weight=w),
)
add(
    "bce-weight-keyword",
    'out = binary_cross_entropy(p, t, weight=w, reduction="sum")',
    {"p": prob, "t": target, "w": fixed(R(4, 1, low=0.2, high=2.0))},
    lambda p, t, w: F.binary_cross_entropy(p, t, weight=w, reduction="sum"),
)
add(
    "bce-edges",
    "out = binary_cross_entropy(p, t)",
    {"p": np.array([0.0, 1.0, 0.5]), "t": fixed(np.array([0.0, 1.0, 1.0]))},
    # opened, the clamped logs' gradients at exactly 0 and 1 are maximum's (0), not PyTorch's formula
    lambda p, t: F.binary_cross_entropy(p, t),
    opened=False,
)
add(
    "bce_logits-pos_weight",
    "out = binary_cross_entropy_with_logits(z, t, pos_weight=pw)",
    {"z": R(4, 3) * 3, "t": target, "pw": fixed(w3)},
    lambda z, t, pw: F.binary_cross_entropy_with_logits(z, t, pos_weight=pw),
)
add(
    "bce_logits-both",
    'out = binary_cross_entropy_with_logits(z, t, w, pw, reduction="sum")',
    {"z": R(4, 3) * 3, "t": target, "w": fixed(R(4, 1, low=0.2, high=2.0)), "pw": fixed(w3)},
    lambda z, t, w, pw: F.binary_cross_entropy_with_logits(z, t, weight=w, pos_weight=pw, reduction="sum"),
)
add(
    "bce_logits-large",
    "out = binary_cross_entropy_with_logits(z, t)",
    {"z": np.array([-800.0, -30.0, 0.0, 40.0, 900.0]), "t": fixed(np.array([0.0, 1.0, 0.5, 1.0, 0.0]))},
    lambda z, t: F.binary_cross_entropy_with_logits(z, t),
)

logp = np.log(np.exp(R(5, 4)) / np.exp(R(5, 4)).sum(1, keepdims=True))
for reduction in ("mean", "sum", "none"):
    add(
        f"nll_loss-{reduction}",
        f'out = nll_loss(lp, y, reduction="{reduction}")',
        {"lp": logp, "y": labels(5, 4)},
        lambda lp, y, r=reduction: F.nll_loss(lp, y.long(), reduction=r),
    )
add(
    "nll_loss-weight-ignore",
    "out = nll_loss(lp, y, weight=(0.5, 2, 1, 3), ignore_index=1)",
    {"lp": logp, "y": fixed(np.array([1.0, 0.0, 3.0, 1.0, 2.0]))},
    lambda lp, y: F.nll_loss(lp, y.long(), weight=torch.tensor([0.5, 2, 1, 3.0], dtype=torch.float64), ignore_index=1),
)
add(
    "nll_loss-ignore-none",
    'out = nll_loss(lp, y, ignore_index=3, reduction="none")',
    {"lp": logp, "y": fixed(np.array([3.0, 0.0, 3.0, 1.0, 2.0]))},
    lambda lp, y: F.nll_loss(lp, y.long(), ignore_index=3, reduction="none"),
)
add(
    "nll_loss-vector",
    "out = nll_loss(lp, y)",
    {"lp": logp[0], "y": fixed(np.array(2.0))},
    lambda lp, y: F.nll_loss(lp, y.long()),
)

q = np.exp(R(3, 4, seed=5)) / np.exp(R(3, 4, seed=5)).sum(1, keepdims=True)
for reduction in ("mean", "batchmean", "sum", "none"):
    add(
        f"kl_div-{reduction}",
        f'out = kl_div(lp, q, reduction="{reduction}")',
        {"lp": logp[:3], "q": q},
        lambda lp, q, r=reduction: F.kl_div(lp, q, reduction=r),
    )
add(
    "kl_div-log_target",
    'out = kl_div(lp, lq, reduction="batchmean", log_target=True)',
    {"lp": logp[:3], "lq": np.log(q)},
    lambda lp, lq: F.kl_div(lp, lq, reduction="batchmean", log_target=True),
)
add(
    "kl_div-zero-target",
    "out = kl_div(lp, q)",
    {"lp": logp[:2, :3], "q": fixed(np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]))},
    lambda lp, q: F.kl_div(lp, q),
)

add(
    "cosine_similarity",
    "out = cosine_similarity(a, b)",
    {"a": R(4, 3), "b": R(4, 3, seed=1)},
    lambda a, b: F.cosine_similarity(a, b),
)
add(
    "cosine_similarity-dim-broadcast",
    "out = cosine_similarity(a, b, dim=-1, eps=1e-6)",
    {"a": R(2, 4, 3), "b": R(3, seed=1)},
    lambda a, b: F.cosine_similarity(a, b, dim=-1, eps=1e-6),
)
add(
    "cosine_similarity-norm-below-eps",
    "out = cosine_similarity(a, b)",
    {"a": R(2, 3), "b": np.array([[3e-9, 1e-9, -2e-9], [1.0, 2.0, 0.5]])},
    lambda a, b: F.cosine_similarity(a, b),
    opened=False,
)  # opened, maximum() stops the gradient through the clamped norm
add(
    "cosine_similarity-dim0",
    "out = cosine_similarity(a, b, 0)",
    {"a": R(5), "b": R(5, seed=1)},
    lambda a, b: F.cosine_similarity(a, b, 0),
)

soft = np.exp(R(4, 3, seed=9)) / np.exp(R(4, 3, seed=9)).sum(1, keepdims=True)
for reduction in ("mean", "sum", "none"):
    add(
        f"cross_entropy_probs-{reduction}",
        f'out = cross_entropy_probs(z, q, reduction="{reduction}")',
        {"z": R(4, 3), "q": soft},
        lambda z, q, r=reduction: F.cross_entropy(z, q, reduction=r),
    )
add(
    "cross_entropy_probs-options",
    "out = cross_entropy_probs(z, q, weight=(0.5, 2, 1), label_smoothing=0.2)",
    {"z": R(4, 3), "q": soft},
    lambda z, q: F.cross_entropy(z, q, weight=torch.tensor([0.5, 2, 1.0], dtype=torch.float64), label_smoothing=0.2),
)
add(
    "cross_entropy_probs-vector",
    'out = cross_entropy_probs(z, q, label_smoothing=0.1, reduction="sum")',
    {"z": R(3), "q": soft[0]},
    lambda z, q: F.cross_entropy(z, q, label_smoothing=0.1, reduction="sum"),
)

# --- normalisation ----------------------------------------------------------------------------------
add(
    "layer_norm",
    "out = layer_norm(x, w, b, normalized_shape=(5,))",
    {"x": R(3, 5), "w": R(5, seed=1), "b": R(5, seed=2)},
    lambda x, w, b: F.layer_norm(x, (5,), w, b),
)
add(
    "layer_norm-two-axes-eps",
    "out = layer_norm(x, w, b, (3, 4), eps=0.1)",
    {"x": R(2, 3, 4), "w": R(3, 4, seed=1), "b": R(3, 4, seed=2)},
    lambda x, w, b: F.layer_norm(x, (3, 4), w, b, eps=0.1),
)
add(
    "layer_norm-no-affine",
    "out = layer_norm(x, normalized_shape=4, eps=1e-12)",
    {"x": R(2, 3, 4)},
    lambda x: F.layer_norm(x, (4,), eps=1e-12),
)
add(
    "layer_norm-weight-only",
    "out = layer_norm(x, w, None, (2, 3, 4))",
    {"x": R(2, 3, 4), "w": R(2, 3, 4, seed=1)},
    lambda x, w: F.layer_norm(x, (2, 3, 4), w, None),
)
add(
    "layer_norm-bias-only",
    "out = layer_norm(x, bias=b, normalized_shape=(4,))",
    {"x": R(3, 4), "b": R(4, seed=2)},
    lambda x, b: F.layer_norm(x, (4,), None, b),
)
for shape in ((6, 3), (4, 3, 5), (2, 3, 4, 4)):
    name = "x".join(map(str, shape))
    add(
        f"batch_norm-train-{name}",
        "out = batch_norm(x, weight=w, bias=b, training=True)",
        {"x": R(*shape), "w": R(3, seed=1), "b": R(3, seed=2)},
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    )
    add(
        f"batch_norm-eval-{name}",
        "out = batch_norm(x, rm, rv, w, b, eps=0.01)",
        {
            "x": R(*shape),
            "rm": fixed(R(3, seed=3)),
            "rv": fixed(R(3, seed=4, low=0.5, high=2)),
            "w": R(3, seed=1),
            "b": R(3, seed=2),
        },
        lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=0.01),
    )
add(
    "batch_norm-train-running-given",
    "out = batch_norm(x, rm, rv, training=True, momentum=0.3, eps=1e-3)",
    {"x": R(5, 3), "rm": fixed(R(3, seed=3)), "rv": fixed(R(3, seed=4, low=0.5, high=2))},
    lambda x, rm, rv: F.batch_norm(x, rm.clone(), rv.clone(), training=True, momentum=0.3, eps=1e-3),
)
add(
    "batch_norm-train-two-rows",
    "out = batch_norm(x, training=True)",
    {"x": R(2, 3)},
    lambda x: F.batch_norm(x, None, None, training=True),
)
add(
    "group_norm",
    "out = group_norm(x, w, b, num_groups=2)",
    {"x": R(3, 4, 5), "w": R(4, seed=1), "b": R(4, seed=2)},
    lambda x, w, b: F.group_norm(x, 2, w, b),
)
add(
    "group_norm-4d-eps",
    "out = group_norm(x, num_groups=3, eps=0.5)",
    {"x": R(2, 6, 2, 3)},
    lambda x: F.group_norm(x, 3, eps=0.5),
)
add(
    "group_norm-one-group",
    "out = group_norm(x, w, b, 1)",
    {"x": R(1, 4, 3), "w": R(4, seed=1), "b": R(4, seed=2)},
    lambda x, w, b: F.group_norm(x, 1, w, b),
)
add("normalize", "out = normalize(x)", {"x": R(3, 4)}, lambda x: F.normalize(x))
add("normalize-p-dim", "out = normalize(x, p=3, dim=-1)", {"x": R(2, 3, 4)}, lambda x: F.normalize(x, p=3, dim=-1))
add("normalize-p1", "out = normalize(x, 1, 0, eps=1e-6)", {"x": R(4, 2)}, lambda x: F.normalize(x, 1, 0, eps=1e-6))
add("normalize-eps-clamps", "out = normalize(x, eps=10)", {"x": R(3, 4)}, lambda x: F.normalize(x, eps=10.0))

# --- embedding --------------------------------------------------------------------------------------
add(
    "embedding",
    "out = embedding(i, W)",
    {"i": fixed(np.array([[1.0, 3.0, 1.0], [0.0, 4.0, 1.0]])), "W": R(5, 3)},
    lambda i, W: F.embedding(i.long(), W),
)
add(
    "embedding-padding_idx",
    "out = embedding(i, W, padding_idx=1)",
    {"i": fixed(np.array([1.0, 3.0, 1.0, 0.0])), "W": R(5, 3)},
    lambda i, W: F.embedding(i.long(), W, padding_idx=1),
)
add(
    "embedding-negative-padding",
    "out = embedding(i, W, padding_idx=-1)",
    {"i": fixed(np.array([4.0, 2.0, 4.0])), "W": R(5, 2)},
    lambda i, W: F.embedding(i.long(), W, padding_idx=-1),
)
add(
    "embedding-scalar",
    "out = embedding(i, W)",
    {"i": fixed(np.array(2.0)), "W": R(5, 2)},
    lambda i, W: F.embedding(i.long(), W),
)

# --- convolution and pooling ------------------------------------------------------------------------
add(
    "conv2d",
    "out = conv2d(x, w, b)",
    {"x": R(2, 3, 6, 5), "w": R(4, 3, 3, 3, seed=1), "b": R(4, seed=2)},
    lambda x, w, b: F.conv2d(x, w, b),
)
add(
    "conv2d-stride-padding",
    "out = conv2d(x, w, stride=2, padding=1)",
    {"x": R(2, 3, 7, 6), "w": R(4, 3, 3, 2, seed=1)},
    lambda x, w: F.conv2d(x, w, stride=2, padding=1),
)
add(
    "conv2d-padding-larger-than-kernel",
    "out = conv2d(x, w, b, padding=(3, 4))",
    {"x": R(1, 2, 4, 4), "w": R(3, 2, 2, 2, seed=1), "b": R(3, seed=2)},
    lambda x, w, b: F.conv2d(x, w, b, padding=(3, 4)),
)
add(
    "conv2d-dilation-stride",
    "out = conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(2, 3))",
    {"x": R(2, 2, 9, 8), "w": R(3, 2, 3, 2, seed=1)},
    lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(2, 3)),
)
add(
    "conv2d-groups",
    "out = conv2d(x, w, b, groups=2, stride=(1, 2))",
    {"x": R(2, 4, 5, 6), "w": R(6, 2, 3, 3, seed=1), "b": R(6, seed=2)},
    lambda x, w, b: F.conv2d(x, w, b, groups=2, stride=(1, 2)),
)
add(
    "conv2d-depthwise",
    "out = conv2d(x, w, groups=3, padding=1)",
    {"x": R(1, 3, 5, 5), "w": R(3, 1, 3, 3, seed=1)},
    lambda x, w: F.conv2d(x, w, groups=3, padding=1),
)
add(
    "conv2d-unbatched",
    "out = conv2d(x, w, b)",
    {"x": R(2, 5, 5), "w": R(3, 2, 2, 2, seed=1), "b": R(3, seed=2)},
    lambda x, w, b: F.conv2d(x, w, b),
)
add(
    "conv1d",
    "out = conv1d(x, w, b)",
    {"x": R(2, 3, 9), "w": R(4, 3, 3, seed=1), "b": R(4, seed=2)},
    lambda x, w, b: F.conv1d(x, w, b),
)
add(
    "conv1d-all",
    "out = conv1d(x, w, stride=2, padding=3, dilation=2, groups=3)",
    {"x": R(2, 3, 10), "w": R(6, 1, 2, seed=1)},
    lambda x, w: F.conv1d(x, w, stride=2, padding=3, dilation=2, groups=3),
)
add("conv1d-unbatched", "out = conv1d(x, w)", {"x": R(2, 7), "w": R(3, 2, 4, seed=1)}, lambda x, w: F.conv1d(x, w))
xp = R(2, 3, 7, 6)
add("max_pool2d", "out = max_pool2d(x, 2)", {"x": xp}, lambda x: F.max_pool2d(x, 2))
add(
    "max_pool2d-stride-padding",
    "out = max_pool2d(x, (3, 2), stride=(2, 1), padding=1)",
    {"x": xp},
    lambda x: F.max_pool2d(x, (3, 2), stride=(2, 1), padding=1),
)
add(
    "max_pool2d-dilation",
    "out = max_pool2d(x, 2, 1, 1, dilation=2)",
    {"x": xp},
    lambda x: F.max_pool2d(x, 2, 1, 1, dilation=2),
)
add(
    "max_pool2d-overlap-ties",
    "out = max_pool2d(x, 3, stride=1)",
    {"x": np.round(R(1, 2, 5, 5) * 2) / 2},
    lambda x: F.max_pool2d(x, 3, stride=1),
)
add("max_pool2d-tiles-ties", "out = max_pool2d(x, 2)", {"x": np.round(R(2, 2, 6, 5)) / 2}, lambda x: F.max_pool2d(x, 2))
add("max_pool2d-tiles-3x2", "out = max_pool2d(x, (3, 2))", {"x": xp}, lambda x: F.max_pool2d(x, (3, 2)))
add("max_pool2d-unbatched", "out = max_pool2d(x, 2)", {"x": xp[0]}, lambda x: F.max_pool2d(x, 2))
add("avg_pool2d", "out = avg_pool2d(x, 2)", {"x": xp}, lambda x: F.avg_pool2d(x, 2))
add(
    "avg_pool2d-stride-padding",
    "out = avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1))",
    {"x": xp},
    lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1)),
)
add(
    "avg_pool2d-exclude-pad",
    "out = avg_pool2d(x, 3, 2, 1, count_include_pad=False)",
    {"x": xp},
    lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
)
add(
    "avg_pool2d-divisor",
    "out = avg_pool2d(x, 2, stride=1, divisor_override=3)",
    {"x": xp[0]},
    lambda x: F.avg_pool2d(x, 2, stride=1, divisor_override=3),
)

# --- attention --------------------------------------------------------------------------------------
qkv = {"q": R(2, 4, 3), "k": R(2, 5, 3, seed=1), "v": R(2, 5, 2, seed=2)}
add("sdpa", "out = scaled_dot_product_attention(q, k, v)", qkv, lambda q, k, v: F.scaled_dot_product_attention(q, k, v))
add(
    "sdpa-scale",
    "out = scaled_dot_product_attention(q, k, v, scale=0.3)",
    qkv,
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
)
add(
    "sdpa-causal",
    "out = scaled_dot_product_attention(q, k, v, is_causal=True)",
    qkv,
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
)
add(
    "sdpa-causal-square-heads",
    "out = scaled_dot_product_attention(q, k, v, is_causal=True)",
    {"q": R(2, 2, 4, 3), "k": R(2, 2, 4, 3, seed=1), "v": R(2, 2, 4, 3, seed=2)},
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
)
add(
    "sdpa-float-mask",
    "out = scaled_dot_product_attention(q, k, v, m)",
    {**qkv, "m": R(4, 5, seed=3)},
    lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
)
boolmask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 1, 0]], dtype=float)
add(
    "sdpa-bool-mask-fully-masked-row",
    "out = scaled_dot_product_attention(q, k, v, attn_mask=m, bool_mask=True)",
    {**qkv, "m": fixed(boolmask)},
    lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m.bool()),
)
inf_mask = np.where(boolmask > 0, 0.0, -np.inf)
add(
    "sdpa-float-mask-fully-masked-row",
    "out = scaled_dot_product_attention(q, k, v, attn_mask=m)",
    {**qkv, "m": fixed(inf_mask)},
    lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
)
add(
    "sdpa-2d",
    "out = scaled_dot_product_attention(q, k, v)",
    {"q": R(3, 2), "k": R(4, 2, seed=1), "v": R(4, 3, seed=2)},
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
)

# --- dropout ----------------------------------------------------------------------------------------
dmask = (R(3, 4, seed=4) > 0).astype(float)
add(
    "dropout-eval",
    "out = dropout(x, p=0.3, training=False)",
    {"x": R(3, 4)},
    lambda x: F.dropout(x, 0.3, training=False),
)
add("dropout-p0", "out = dropout(x, p=0.0)", {"x": R(3, 4)}, lambda x: F.dropout(x, 0.0))
add("dropout-mask", "out = dropout(x, m, p=0.25)", {"x": R(3, 4), "m": fixed(dmask)}, lambda x, m: x * m / 0.75)
add("dropout-p1", "out = dropout(x, m, p=1)", {"x": R(3, 4), "m": fixed(dmask)}, lambda x, m: F.dropout(x, 1.0))


# --- running ----------------------------------------------------------------------------------------


def _request(case: Case) -> dict:
    inputs = {}
    for name, value in case.inputs.items():
        if isinstance(value, tuple):
            inputs[name] = {"value": np.asarray(value[1]).tolist(), "requires_grad": False}
        else:
            inputs[name] = np.asarray(value).tolist()
    return inputs


def _tensors(case: Case) -> dict[str, torch.Tensor]:
    tensors = {}
    for name, value in case.inputs.items():
        if isinstance(value, tuple):
            tensors[name] = torch.tensor(value[1], dtype=torch.float64)
        else:
            tensors[name] = torch.tensor(np.asarray(value), dtype=torch.float64, requires_grad=True)
    return tensors


def assert_close(actual: Any, expected: Any, what: str) -> None:
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL_SCALE * scale, err_msg=what)


def _input_grad(result: Any, name: str) -> Any:
    graph = result.graph
    node = next(k for k, n in enumerate(graph.names) if n == name and graph.ops[k] is None)
    return result.grads[node]


RUNS = [
    pytest.param(case, expand, id=f"{case.id}-{'opened' if expand else 'closed'}")
    for case in CASES
    for expand in ((None, "all") if case.opened else (None,))
]


@pytest.mark.parametrize(("case", "expand"), RUNS)
def test_matches_pytorch(case: Case, expand: str | None) -> None:
    tensors = _tensors(case)
    expected = case.torch_fn(**tensors)
    grad_output = torch.tensor(_rng(11).normal(size=tuple(expected.shape)), dtype=torch.float64)
    wants_grad = [t for t in tensors.values() if t.requires_grad]
    if wants_grad and expected.requires_grad:
        torch_grads = torch.autograd.grad(expected, wants_grad, grad_output, allow_unused=True)
    else:
        torch_grads = [None] * len(wants_grad)
    g = grad_output.numpy()
    result = evaluate(case.program, _request(case), float(g) if g.ndim == 0 else g.tolist(), expand=expand)
    assert_close(result.values[result.output], expected.detach().numpy(), f"{case.program}: value")
    for (name, _tensor), grad in zip([(n, t) for n, t in tensors.items() if t.requires_grad], torch_grads):
        ours = _input_grad(result, name)
        if grad is None:
            assert ours is None or not np.any(ours), f"{case.program}: ∂/∂{name} should be none or 0"
            continue
        assert ours is not None, f"{case.program}: no gradient reached {name}"
        assert_close(ours, grad.numpy(), f"{case.program}: ∂/∂{name}")


def test_every_layer_op_has_a_parity_case() -> None:
    tried = {name for case in CASES for name in LAYERS if f"{name}(" in case.program}
    assert tried == set(LAYERS), sorted(set(LAYERS) - tried)


def test_batch_of_one_in_training_is_refused_as_pytorch_refuses_it() -> None:
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(torch.zeros(1, 3), None, None, training=True)
    with pytest.raises(ProgramError, match="more than 1 value per channel") as caught:
        evaluate("out = batch_norm(x, training=True)", {"x": [[1.0, 2.0, 3.0]]})
    assert caught.value.kind == "bad_arguments" and caught.value.start == 6
    # one row is fine in evaluation mode, and with spatial axes (more than one value per channel)
    evaluate("out = batch_norm(x, rm, rv)", {"x": [[1.0, 2.0]], "rm": [0.0, 0.0], "rv": [1.0, 1.0]})
    evaluate("out = batch_norm(x, training=True)", {"x": [[[1.0, 2.0]]]})


def test_erf_is_exact_to_the_last_bits() -> None:
    xs = np.linspace(-6, 6, 1001)
    ours = evaluate("out = erf(x)", {"x": xs.tolist()}).values[-1]
    np.testing.assert_allclose(ours, [math.erf(v) for v in xs], rtol=1e-15, atol=0)


def test_the_vectorised_erf_is_math_erf_to_a_few_ulp() -> None:
    """numpy has no erf: arrays go through rational approximations (app/engine/layers.py). On a dense
    grid over both branches (|x| below and above 1.5), tiny and huge arguments and the edges, they
    are within 5e-16 relative and 4 ulp of math.erf (the C library's), and give its ±1, ±0, NaN."""
    from app.engine.layers import _erf_array

    below_one = np.nextafter(1.0, 0.0)
    edges = [0.0, -0.0, 5e-324, 1e-300, below_one, -below_one, 1.0, -1.0, 5.9, 5.92, 5.93, 6.0, 27.0, 1e300]
    xs = np.concatenate(
        [np.linspace(-7.0, 7.0, 400_001), np.geomspace(1e-300, 1.0, 4001), -np.geomspace(1e-300, 1.0, 4001), edges]
    )
    expected = np.array([math.erf(v) for v in xs])
    ours = _erf_array(xs)
    ulp = np.abs(ours - expected) / np.spacing(np.abs(expected))
    assert ulp.max() <= 4, xs[ulp.argmax()]
    np.testing.assert_allclose(ours, expected, rtol=5e-16, atol=0)
    assert np.array_equal(np.signbit(ours), np.signbit(expected))
    assert list(_erf_array(np.array([np.inf, -np.inf, np.nan]))[:2]) == [1.0, -1.0]
    assert np.isnan(_erf_array(np.array([np.nan]))).all()
    assert _erf_array(np.full((2, 0, 3), 1.0)).shape == (2, 0, 3)


def test_the_vectorised_erf_meets_at_its_branch_edge() -> None:
    """Either side of |x| = 1.5, where one rational approximation hands over to the other (scripts/fit_erf.py
    fitted the first up to there), within 3 ulp of math.erf; the same in blocks of any length."""
    from app.engine.layers import _ERF_BLOCK, _erf_array

    edge = np.array([1.5, np.nextafter(1.5, 0.0), np.nextafter(1.5, 2.0)])
    xs = np.concatenate([edge, -edge, np.linspace(1.49, 1.51, 20_001)])
    expected = np.array([math.erf(v) for v in xs])
    assert (np.abs(_erf_array(xs) - expected) / np.spacing(np.abs(expected))).max() <= 3
    long = np.linspace(-3.0, 3.0, 2 * _ERF_BLOCK + 7)  # a last, shorter block
    parts = [_erf_array(part) for part in np.array_split(long, 5)]
    np.testing.assert_array_equal(_erf_array(long), np.concatenate(parts))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_training_pass_gives_the_same_gradients(case: Case) -> None:
    """app.engine.lean (a training step: the forwards that keep what their vjps need, the vjps that
    read it) gives the recorded pass's values and gradients, for every case."""
    from app.engine.lean import LeanPass

    result = evaluate(case.program, _request(case))
    expected = np.copy(result.values[result.output])
    graph = result.graph  # its leaves hold the inputs; the lean pass recomputes the rest in place
    targets = [
        node
        for node, name in enumerate(graph.names)
        if graph.ops[node] is None and name is not None and graph.requires_grad[node]
    ]
    lean = LeanPass(graph, targets)
    with np.errstate(all="ignore"):
        for _ in range(2):  # twice: nothing kept from one step may leak into the next
            out = lean.forward()
            grads = lean.backward()
    np.testing.assert_array_equal(out, expected)
    for node in targets:
        ours = _input_grad(result, graph.names[node])
        if ours is None:
            assert grads[node] is None or not np.any(grads[node])
        else:
            np.testing.assert_allclose(
                grads[node], ours, rtol=1e-12, atol=1e-14, err_msg=f"{case.program}: ∂/∂{graph.names[node]}"
            )


SHIFTED_NORMS = [
    (
        "layer_norm",
        "out = layer_norm(x, w, b, normalized_shape=(6,))",
        (7, 6),
        lambda x, w, b: F.layer_norm(x, (6,), w, b),
    ),
    ("group_norm", "out = group_norm(x, w, b, num_groups=2)", (5, 4, 3), lambda x, w, b: F.group_norm(x, 2, w, b)),
    (
        "batch_norm",
        "out = batch_norm(x, weight=w, bias=b, training=True)",
        (5, 4, 3),
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    ),
]


@pytest.mark.parametrize(
    ("program", "shape", "torch_fn"), [case[1:] for case in SHIFTED_NORMS], ids=[case[0] for case in SHIFTED_NORMS]
)
def test_the_norms_block_by_block_far_from_zero(
    monkeypatch: pytest.MonkeyPatch, program: str, shape: tuple, torch_fn: Callable
) -> None:
    """The norms run block by block over their rows (app/engine/layers.py's _blocks): with blocks of two to
    four rows, the last one shorter, on values a million away from zero with a spread of one, they give
    PyTorch's values and gradients on the same values less the million (a norm does not see a shift)
    within 1e-8, where a variance taken as E[x²] − E[x]² would be off by 1e-4. numpy's ufunc buffer size,
    which the norms set while they run (_RowBuffers), is as it was after."""
    from app.engine import layers

    monkeypatch.setattr(layers, "_BLOCK_BYTES", 200)
    rng = _rng(5)
    x = 1e6 + rng.normal(size=shape)
    channels = shape[-1] if "layer_norm" in program else shape[1]  # the size of weight and bias
    w, b = rng.normal(size=channels), rng.normal(size=channels)
    g = rng.normal(size=shape)
    tensors = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for name, value in {"x": x - 1e6, "w": w, "b": b}.items()  # x − 1e6: exact (Sterbenz)
    }
    expected = torch_fn(**tensors)
    expected.backward(torch.tensor(g))
    buffer = np.getbufsize()
    result = evaluate(program, {"x": x.tolist(), "w": w.tolist(), "b": b.tolist()}, g.tolist())
    assert np.getbufsize() == buffer
    np.testing.assert_allclose(result.values[result.output], expected.detach().numpy(), rtol=1e-8, atol=1e-8)
    for name, tensor in tensors.items():
        np.testing.assert_allclose(_input_grad(result, name), tensor.grad.numpy(), rtol=1e-8, atol=1e-8, err_msg=name)


EMPTY_NORMS = [
    ("out = layer_norm(x[0:0], w, b, normalized_shape=3)", (2, 3), lambda x, w, b: F.layer_norm(x[0:0], (3,), w, b)),
    (
        "out = group_norm(reshape(x[0:0], (0, 3, 1)), w, b, num_groups=3)",
        (2, 3),
        lambda x, w, b: F.group_norm(x[0:0].reshape(0, 3, 1), 3, w, b),
    ),
    (
        "out = group_norm(x[:, :, 0:0], w, b, num_groups=1)",
        (2, 3, 2),
        lambda x, w, b: F.group_norm(x[:, :, 0:0], 1, w, b),
    ),
    (
        "out = batch_norm(x[:, :, 0:0], m, v, w, b)",
        (2, 3, 2),
        lambda x, w, b: F.batch_norm(
            x[:, :, 0:0], torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), w, b
        ),
    ),
]


@pytest.mark.parametrize(("program", "shape", "torch_fn"), EMPTY_NORMS, ids=[case[0] for case in EMPTY_NORMS])
def test_the_norms_of_an_empty_input(program: str, shape: tuple, torch_fn: Callable) -> None:
    """An input with no values (no samples, or no positions) gives an empty result and PyTorch's gradients
    (zeros for weight and bias): no blocks of rows then, or blocks of empty rows, and no axis left for numpy
    to infer."""
    rng = _rng(3)
    x, w, b = rng.normal(size=shape), rng.normal(size=3), rng.normal(size=3)
    tensors = {name: torch.tensor(value, requires_grad=True) for name, value in {"x": x, "w": w, "b": b}.items()}
    expected = torch_fn(**tensors)
    expected.sum().backward()
    fixed_stats = {"m": [0.0, 0.0, 0.0], "v": [1.0, 1.0, 1.0]}
    result = evaluate(program, {"x": x.tolist(), "w": w.tolist(), "b": b.tolist(), **fixed_stats})
    assert np.shape(result.values[result.output]) == tuple(expected.shape)
    for name, tensor in tensors.items():
        np.testing.assert_array_equal(_input_grad(result, name), tensor.grad.numpy(), err_msg=name)

"""The layers' ops (app/engine/layers.py) at NaN and ±inf: their cases for tests/test_nonfinite.py,
and PyTorch's spelling of each bare call for its reference run (scripts/make_parity_fixtures.py's
interpreter knows the op table's other ops).

A layer's bare call passes its tensors by position (optional ones too: every positional argument
is an operand here) and its options by keyword, as PyTorch's functional layer would take them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

INF, NAN = math.inf, math.nan


def _long(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.long)


def _dropout(x: torch.Tensor, mask: torch.Tensor | None = None, p: float = 0.5, training: bool = True) -> torch.Tensor:
    if mask is None:  # (a copy: off, PyTorch answers x itself, which the engine shows as a node of its own)
        return F.dropout(x, p, training).clone()
    return x * mask / (1 - p)  # the keep mask given as an input (see app/engine/layers.py's dropout)


def _attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    bool_mask: bool = False,
    **options: Any,
) -> torch.Tensor:
    if attn_mask is not None and bool_mask:
        attn_mask = attn_mask != 0
    return F.scaled_dot_product_attention(q, k, v, attn_mask, **options)


def _weighted(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """A loss whose class weights are a literal parameter here and a tensor in PyTorch."""

    def call(
        input: torch.Tensor, target: torch.Tensor, weight: tuple[float, ...] | None = None, **options: Any
    ) -> torch.Tensor:
        w = None if weight is None else torch.tensor(weight, dtype=torch.float64)
        return fn(input, target, weight=w, **options)

    return call


# name -> (-1: every positional argument is a tensor operand, the function); see TorchRun.
LAYER_TORCH_OPS: dict[str, tuple[int, Callable[..., torch.Tensor]]] = {
    "gelu": (-1, F.gelu),
    "silu": (-1, F.silu),
    "softplus": (-1, F.softplus),
    "leaky_relu": (-1, F.leaky_relu),
    "elu": (-1, F.elu),
    "hardtanh": (-1, F.hardtanh),
    "erf": (-1, torch.erf),
    "layer_norm": (
        -1,
        lambda x, w=None, b=None, normalized_shape=(), eps=1e-5: F.layer_norm(x, normalized_shape, w, b, eps),
    ),
    # Copies of the running statistics: PyTorch updates them in place in training, a side effect the
    # engine leaves out (they are inputs, compared as given).
    "batch_norm": (
        -1,
        lambda x, rm=None, rv=None, w=None, b=None, training=False, momentum=0.1, eps=1e-5: F.batch_norm(
            x, rm.clone(), rv.clone(), w, b, training, momentum, eps
        ),
    ),
    "group_norm": (-1, lambda x, w=None, b=None, num_groups=1, eps=1e-5: F.group_norm(x, num_groups, w, b, eps)),
    "normalize": (-1, F.normalize),
    "cosine_similarity": (-1, F.cosine_similarity),
    "scaled_dot_product_attention": (-1, _attention),
    "conv1d": (-1, F.conv1d),
    "conv2d": (-1, F.conv2d),
    "max_pool2d": (-1, F.max_pool2d),
    "avg_pool2d": (-1, F.avg_pool2d),
    "embedding": (-1, lambda i, W, padding_idx=None: F.embedding(_long(i), W, padding_idx)),
    "binary_cross_entropy": (-1, F.binary_cross_entropy),
    "binary_cross_entropy_with_logits": (
        -1,
        lambda z, t, w=None, pw=None, **options: F.binary_cross_entropy_with_logits(z, t, w, pos_weight=pw, **options),
    ),
    "nll_loss": (-1, lambda x, y, **options: _weighted(F.nll_loss)(x, _long(y), **options)),
    "cross_entropy_probs": (-1, _weighted(F.cross_entropy)),
    "l1_loss": (-1, F.l1_loss),
    "smooth_l1_loss": (-1, F.smooth_l1_loss),
    "huber_loss": (-1, F.huber_loss),
    "kl_div": (-1, F.kl_div),
    "dropout": (-1, _dropout),
}


def layer_nonfinite(
    case: Callable[..., Any],
    unary: Callable[[str], list[Any]],
    special: list[float],
    rows: list[list[float]],
    pairs: list[tuple[float, float]],
) -> dict[str, list[Any]]:
    """Each layer's cases (test_nonfinite's Case, made by `case`): the special values in the input,
    and in the weights, biases and statistics the layer reads them with."""
    a, b = (list(v) for v in zip(*pairs))

    def fixed(value: Any) -> dict[str, Any]:
        return {"value": value, "requires_grad": False}

    probs = [[0.2, 0.5, 0.3]] * len(rows)
    targets = [[0.0, 1.0, 0.5]] * len(rows)
    three = [INF, -INF, NAN]
    varied = [[round(((3 * i + j) * 0.37) % 1.3 - 0.5, 2) for j in range(3)] for i in range(len(rows))]
    image = [rows]  # (1, 10, 3): one channel... as (N, C, L); [[rows]] is (1, 1, 10, 3)
    return {
        "gelu": [*unary("gelu"), case("array", 'out = gelu(x, approximate="tanh")', x=special)],
        "silu": unary("silu"),
        "softplus": [*unary("softplus"), case("array", "out = softplus(x, beta=2.0, threshold=1.0)", x=special)],
        "leaky_relu": [*unary("leaky_relu"), case("array", "out = leaky_relu(x, negative_slope=0.2)", x=special)],
        "elu": [
            *unary("elu"),
            case("array", "out = elu(x, alpha=0.5)", x=special),
            case("array", "out = elu(x, alpha=1.5)", x=special),
        ],
        "hardtanh": [*unary("hardtanh"), case("array", "out = hardtanh(x, min_val=-0.5, max_val=2.0)", x=special)],
        "erf": unary("erf"),
        "layer_norm": [
            # a weight that is not all equal: with ones from above and none, the gradient is 0 up to rounding
            case(
                "array",
                "out = layer_norm(x, w, normalized_shape=(3,))",
                x=[*rows[:8], [1.0, 2.0, 0.5], [0.0, 3.0, -1.0]],
                w=fixed([2.0, -1.0, 0.5]),
            ),
            case("array", "out = layer_norm(x, w, b, normalized_shape=(3,))", x=probs[:3], w=three, b=[1.0, NAN, INF]),
            case("array", "out = layer_norm(x, w, normalized_shape=(10, 3), eps=0.1)", x=rows, w=fixed(probs)),
        ],
        "batch_norm": [
            case(
                "array",
                "out = batch_norm(x, rm, rv, w, training=True)",
                x=rows,
                rm=fixed([0.0, 1.0, 2.0]),
                rv=fixed([1.0, 2.0, 3.0]),
                w=fixed([1.0, 2.0, -1.0]),
            ),
            case(
                "array",
                "out = batch_norm(x, rm, rv, w, b, training=False)",
                x=rows,
                rm=fixed([0.0, INF, NAN]),
                rv=fixed([1.0, 2.0, INF]),
                w=[1.0, 2.0, -1.0],
                b=[0.5, 0.0, 1.0],
            ),
            case(
                "array",
                "out = batch_norm(x, rm, rv, w, b)",
                x=[[0.2, 0.5, 0.3], [1.0, -1.0, 0.5]],
                rm=fixed([0.0, 1.0, 2.0]),
                rv=fixed([1.0, 2.0, 3.0]),
                w=three,
                b=three,
            ),
        ],
        "group_norm": [
            case("array", "out = group_norm(x, w, num_groups=5)", x=image, w=fixed([float(k) for k in range(10)])),
            case(
                "array",
                "out = group_norm(x, w, b, num_groups=1)",
                x=[[[0.2, 0.5, 0.3], [1.0, -1.0, 0.5], [0.3, 0.1, 2.0]]],
                w=three,
                b=[NAN, 1.0, INF],
            ),
        ],
        "normalize": [
            case("array", "out = normalize(x)", x=rows),
            case("array", "out = normalize(x, p=1.0, dim=0)", x=rows),
        ],
        "cosine_similarity": [
            case("array", "out = cosine_similarity(a, b)", a=rows, b=rows[::-1]),
            case("array", "out = cosine_similarity(a, b, dim=0)", a=rows, b=probs),
        ],
        "scaled_dot_product_attention": [
            case("array", "out = scaled_dot_product_attention(q, k, v)", q=image, k=[probs], v=image),
            case("array", "out = scaled_dot_product_attention(q, k, v, is_causal=True)", q=[probs], k=image, v=[probs]),
            case(
                "array",
                "out = scaled_dot_product_attention(q, k, v, m)",
                q=[varied],
                k=[varied[::-1]],
                v=[varied],
                m=fixed([[0.0] * 10, [INF] + [0.0] * 9, [NAN] + [0.0] * 9] + [[-INF] + [0.0] * 9] * 7),
            ),
        ],
        "conv1d": [
            case("array", "out = conv1d(x, w)", x=[[special]], w=[[[1.0, -1.0]]]),
            case("array", "out = conv1d(x, w, b, padding=1)", x=[[[1.0, 2.0, -1.0]]], w=[[three]], b=[NAN]),
        ],
        "conv2d": [
            case("array", "out = conv2d(x, w)", x=[image], w=[[[[1.0, 0.5], [-1.0, 2.0]]]]),
            case("array", "out = conv2d(x, w, b, stride=2)", x=[[probs[:4]]], w=[[[three[:2], [NAN, 1.0]]]], b=[INF]),
        ],
        "max_pool2d": [
            case("array", "out = max_pool2d(x, kernel_size=2)", x=[image]),
            case("array", "out = max_pool2d(x, kernel_size=(2, 3), stride=1)", x=[image]),
            case("array", "out = max_pool2d(x, kernel_size=2, padding=1)", x=[image]),
        ],
        "avg_pool2d": [
            case("array", "out = avg_pool2d(x, kernel_size=2)", x=[image]),
            case("array", "out = avg_pool2d(x, kernel_size=2, padding=1, count_include_pad=False)", x=[image]),
        ],
        "embedding": [
            case("array", "out = embedding(i, W)", i=fixed([0.0, 5.0, 6.0, 0.0, 7.0]), W=rows),
        ],
        "binary_cross_entropy": [
            # (PyTorch refuses a weight that takes a gradient, and inputs or targets outside [0, 1])
            case("array", "out = binary_cross_entropy(p, t, w)", p=probs[:3], t=targets[:3], w=fixed(three)),
            case("array", 'out = binary_cross_entropy(p, t, reduction="none")', p=[0.25, 0.75, 0.5], t=[1.0, 0.0, 1.0]),
        ],
        "binary_cross_entropy_with_logits": [
            case("array", "out = binary_cross_entropy_with_logits(z, t)", z=rows, t=targets),
            case(
                "array",
                'out = binary_cross_entropy_with_logits(z, t, w, pw, reduction="sum")',
                z=rows,
                t=targets,
                w=fixed([1.0, 1.0, 1.0]),
                pw=fixed([1.0, 2.0, 0.5]),
            ),
            case(
                "array", "out = binary_cross_entropy_with_logits(z, t, w)", z=probs[:3], t=targets[:3], w=fixed(three)
            ),
        ],
        "nll_loss": [
            case("array", "out = nll_loss(x, y)", x=rows, y=fixed([float(k % 3) for k in range(len(rows))])),
            case(
                "array",
                'out = nll_loss(x, y, weight=(0.5, 2.0, 1.0), ignore_index=1, reduction="sum")',
                x=rows,
                y=fixed([float(k % 3) for k in range(len(rows))]),
            ),
        ],
        "cross_entropy_probs": [
            case("array", "out = cross_entropy_probs(z, t)", z=rows, t=probs),
            case(
                "array",
                "out = cross_entropy_probs(z, t, label_smoothing=0.2)",
                z=probs[:3],
                t=[three, probs[0], probs[0]],
            ),
        ],
        "l1_loss": [case("array", f"out = l1_loss(p, t{o})", p=a, t=b) for o in ("", ', reduction="none"')],
        "smooth_l1_loss": [
            case("array", f"out = smooth_l1_loss(p, t{o})", p=a, t=b) for o in ("", ", beta=0.5", ', reduction="sum"')
        ],
        "huber_loss": [case("array", f"out = huber_loss(p, t{o})", p=a, t=b) for o in ("", ", delta=0.5")],
        "kl_div": [
            case("array", f"out = kl_div(p, t{o})", p=a, t=b)
            for o in ("", ", log_target=True", ', reduction="batchmean"')
        ],
        "dropout": [
            case("array", "out = dropout(x, training=False)", x=special),
            case("array", "out = dropout(x, m, p=0.5)", x=special, m=fixed([1.0, 0.0, 1.0, 0.0, 1.0, 1.0])),
        ],
    }

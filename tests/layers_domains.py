"""Finite-difference cases of the layers' ops (app/engine/layers.py), merged into DOMAINS by
tests/test_gradcheck.py: shapes, every argument, and value domains away from the kinks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def layer_domains(case: Callable[..., Any], unary: Callable[[str, str], list]) -> dict[str, list]:
    label2 = ("label", 2)  # 0/1 masks, given without gradient
    return {
        "erf": unary("erf", "real"),
        "silu": unary("silu", "real"),
        "gelu": [
            case("vector", "out = gelu(x)", x=((5,), "real")),
            case("params", 'out = gelu(x, approximate="tanh")', x=((2, 3), "real")),
            case("scalar", "out = gelu(x)", x=((), "real")),
        ],
        "softplus": [
            case("vector", "out = softplus(x)", x=((5,), "real")),
            case("params", "out = softplus(x, beta=2, threshold=1.5)", x=((2, 3), "real")),
            case("scalar", "out = softplus(x, 0.5)", x=((), "real")),
        ],
        "leaky_relu": [
            case("vector", "out = leaky_relu(x)", x=((5,), "nonzero")),
            case("params", "out = leaky_relu(x, negative_slope=0.3)", x=((2, 3), "nonzero")),
        ],
        "elu": [
            case("vector", "out = elu(x)", x=((5,), "nonzero")),
            case("params", "out = elu(x, alpha=0.4)", x=((2, 3), "nonzero")),
        ],
        "hardtanh": [
            case("vector", "out = hardtanh(x, -0.55, 1.55)", x=((5,), "nonzero")),
            case("params", "out = hardtanh(x, min_val=-1.45, max_val=0.15)", x=((2, 3), "nonzero")),
        ],
        "l1_loss": [
            case("vector", "out = l1_loss(p, t)", p=((4,), "distinct"), t=((4,), "distinct")),
            case("broadcast", 'out = l1_loss(p, t, reduction="sum")', p=((2, 3), "distinct"), t=((3,), "distinct")),
            case("params", 'out = l1_loss(p, t, reduction="none")', p=((2, 3), "distinct"), t=((2, 3), "distinct")),
        ],
        "smooth_l1_loss": [
            case("vector", "out = smooth_l1_loss(p, t)", p=((4,), "real"), t=((4,), "real")),
            case(
                "params", 'out = smooth_l1_loss(p, t, reduction="none", beta=0.5)', p=((2, 3), "real"), t=((3,), "real")
            ),
            case("params", "out = smooth_l1_loss(p, t, beta=0)", p=((3,), "distinct"), t=((3,), "distinct")),
        ],
        "huber_loss": [
            case("vector", "out = huber_loss(p, t)", p=((4,), "real"), t=((4,), "real")),
            case("params", 'out = huber_loss(p, t, reduction="sum", delta=0.3)', p=((2, 3), "real"), t=((3,), "real")),
        ],
        "binary_cross_entropy": [
            case("vector", "out = binary_cross_entropy(p, t)", p=((4,), "prob"), t=((4,), "prob")),
            case(
                "params",
                'out = binary_cross_entropy(p, t, w, reduction="none")',
                p=((2, 3), "prob"),
                t=((2, 3), "prob"),
                w=((3,), label2),
            ),
            case("params", 'out = binary_cross_entropy(p, t, reduction="sum")', p=((3, 2), "prob"), t=((3, 2), "real")),
        ],
        "binary_cross_entropy_with_logits": [
            case("vector", "out = binary_cross_entropy_with_logits(z, t)", z=((4,), "real"), t=((4,), "prob")),
            case(
                "params",
                "out = binary_cross_entropy_with_logits(z, t, pos_weight=pw)",
                z=((2, 3), "real"),
                t=((2, 3), "prob"),
                pw=((3,), ("label", 4)),
            ),
            case(
                "params",
                'out = binary_cross_entropy_with_logits(z, t, w, pw, reduction="none")',
                z=((2, 3), "real"),
                t=((2, 3), "real"),
                w=((2, 1), ("label", 3)),
                pw=((3,), ("label", 3)),
            ),
        ],
        "nll_loss": [
            case("matrix", "out = nll_loss(z, y)", z=((4, 3), "real"), y=((4,), ("label", 3))),
            case(
                "params",
                'out = nll_loss(z, y, weight=(1, 2, 0.5), ignore_index=1, reduction="sum")',
                z=((5, 3), "real"),
                y=((5,), ("label", 3)),
            ),
            case("vector", 'out = nll_loss(z, y, reduction="none")', z=((4,), "real"), y=((), ("label", 4))),
        ],
        "kl_div": [
            case("matrix", "out = kl_div(z, q)", z=((2, 3), "real"), q=((2, 3), "pos")),
            case(
                "params",
                'out = kl_div(z, q, reduction="batchmean", log_target=True)',
                z=((2, 3), "real"),
                q=((2, 3), "real"),
            ),
            case("params", 'out = kl_div(z, q, reduction="none")', z=((2, 3), "real"), q=((3,), "pos")),
        ],
        "cross_entropy_probs": [
            case("matrix", "out = cross_entropy_probs(z, q)", z=((4, 3), "real"), q=((4, 3), "pos")),
            case(
                "params",
                'out = cross_entropy_probs(z, q, weight=(1, 2, 0.5), label_smoothing=0.2, reduction="none")',
                z=((2, 3), "real"),
                q=((2, 3), "pos"),
            ),
            case("vector", 'out = cross_entropy_probs(z, q, reduction="sum")', z=((4,), "real"), q=((4,), "real")),
        ],
        # away from norms below eps, where PyTorch's gradient (and so ours) is not the clamped function's
        "cosine_similarity": [
            case("matrix", "out = cosine_similarity(a, b)", a=((3, 4), "nonzero"), b=((3, 4), "nonzero")),
            case(
                "broadcast",
                "out = cosine_similarity(a, b, dim=-1, eps=1e-6)",
                a=((2, 3), "nonzero"),
                b=((3,), "nonzero"),
            ),
        ],
        "layer_norm": [
            case(
                "matrix",
                "out = layer_norm(x, w, b, normalized_shape=(4,))",
                x=((3, 4), "real"),
                w=((4,), "real"),
                b=((4,), "real"),
            ),
            case("params", "out = layer_norm(x, w, None, (2, 3), eps=0.1)", x=((2, 2, 3), "real"), w=((2, 3), "real")),
            case("vector", "out = layer_norm(x, normalized_shape=5)", x=((5,), "real")),
        ],
        "batch_norm": [
            case(
                "matrix",
                "out = batch_norm(x, weight=w, bias=b, training=True)",
                x=((4, 3), "real"),
                w=((3,), "real"),
                b=((3,), "real"),
            ),
            case("params", "out = batch_norm(x, training=True, eps=0.1)", x=((2, 2, 3), "real")),
            case(
                "params",
                "out = batch_norm(x, rm, rv, w, eps=0.5)",
                x=((2, 3, 2), "real"),
                rm=((3,), ("label", 3)),
                rv=((3,), ("label", 3)),
                w=((3,), "real"),
            ),
        ],
        "group_norm": [
            case(
                "tensor",
                "out = group_norm(x, w, b, num_groups=2)",
                x=((2, 4, 3), "real"),
                w=((4,), "real"),
                b=((4,), "real"),
            ),
            case("params", "out = group_norm(x, num_groups=3, eps=0.2)", x=((1, 3, 2, 2), "real")),
        ],
        "normalize": [
            # "nonzero": a row of numbers all near 0 has a norm under eps, where max(norm, eps) has its kink
            case("matrix", "out = normalize(x)", x=((3, 4), "nonzero")),
            case("params", "out = normalize(x, p=1, dim=0)", x=((3, 2), "nonzero")),
            case("params", "out = normalize(x, 3, -1)", x=((2, 3), "nonzero")),
        ],
        "embedding": [
            case("matrix", "out = embedding(i, W)", i=((2, 3), ("label", 4)), W=((4, 3), "real")),
            case("params", "out = embedding(i, W, padding_idx=4)", i=((5,), ("label", 4)), W=((5, 2), "real")),
        ],
        "conv1d": [
            case("tensor", "out = conv1d(x, w, b)", x=((2, 2, 5), "real"), w=((3, 2, 2), "real"), b=((3,), "real")),
            case(
                "params",
                "out = conv1d(x, w, stride=2, padding=2, dilation=2, groups=2)",
                x=((1, 2, 6), "real"),
                w=((4, 1, 2), "real"),
            ),
        ],
        "conv2d": [
            case(
                "tensor", "out = conv2d(x, w, b)", x=((2, 2, 4, 3), "real"), w=((3, 2, 2, 2), "real"), b=((3,), "real")
            ),
            case(
                "params",
                "out = conv2d(x, w, stride=(2, 1), padding=(3, 1), dilation=(1, 2), groups=2)",
                x=((1, 2, 4, 5), "real"),
                w=((2, 1, 2, 2), "real"),
            ),
            case("params", "out = conv2d(x, w)", x=((2, 4, 4), "real"), w=((1, 2, 3, 3), "real")),
        ],
        "max_pool2d": [
            case("tensor", "out = max_pool2d(x, 2)", x=((1, 2, 4, 4), "distinct")),
            case(
                "params", "out = max_pool2d(x, (3, 2), stride=1, padding=1, dilation=(1, 2))", x=((2, 4, 5), "distinct")
            ),
        ],
        "avg_pool2d": [
            case("tensor", "out = avg_pool2d(x, 2)", x=((1, 2, 4, 4), "real")),
            case(
                "params",
                "out = avg_pool2d(x, 3, stride=(2, 1), padding=1, count_include_pad=False)",
                x=((1, 1, 5, 4), "real"),
            ),
            case("params", "out = avg_pool2d(x, 2, 1, divisor_override=3)", x=((2, 3, 3), "real")),
        ],
        "scaled_dot_product_attention": [
            case(
                "matrix",
                "out = scaled_dot_product_attention(q, k, v)",
                q=((3, 2), "real"),
                k=((4, 2), "real"),
                v=((4, 2), "real"),
            ),
            case(
                "params",
                "out = scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7)",
                q=((2, 3, 2), "real"),
                k=((2, 3, 2), "real"),
                v=((2, 3, 2), "real"),
            ),
            case(
                "params",
                "out = scaled_dot_product_attention(q, k, v, m)",
                q=((2, 3, 2), "real"),
                k=((2, 4, 2), "real"),
                v=((2, 4, 3), "real"),
                m=((3, 4), "real"),
            ),
            case(
                "params",
                "out = scaled_dot_product_attention(q, k, v, m, bool_mask=True)",
                q=((3, 2), "real"),
                k=((4, 2), "real"),
                v=((4, 2), "real"),
                m=((3, 4), label2),
            ),
        ],
        "dropout": [
            case("matrix", "out = dropout(x, training=False)", x=((2, 3), "real")),
            case("params", "out = dropout(x, m, p=0.4)", x=((2, 3), "real"), m=((2, 3), label2)),
            case("params", "out = dropout(x, m, 0.5)", x=((2, 3), "real"), m=((3,), label2)),
        ],
    }

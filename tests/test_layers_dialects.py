"""Issue 20's layers as PyTorch users write them: `F.` and `torch.` spellings with PyTorch's
positional order and defaults, the one Tensor method (`x.erf()`), and the calls whose meaning
depends on their arguments (a cross-entropy target of class probabilities, a boolean attention
mask). Outputs and gradients against PyTorch (float64, relative 1e-10); refusals by kind and place.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient
from test_dialect_syntax import X, check, error, fixed

RNG = np.random.default_rng(20)
IMG = RNG.standard_normal((2, 2, 5, 5)).round(3).tolist()
KER = RNG.standard_normal((3, 2, 3, 3)).round(3).tolist()
B3 = RNG.standard_normal(3).round(3).tolist()
G4 = RNG.standard_normal(4).round(3).tolist()
SEQ = RNG.standard_normal((2, 4, 3)).round(3).tolist()
PROBS = (np.eye(3)[[0, 2, 1, 1]] * 0.7 + 0.1).tolist()


@pytest.mark.parametrize(
    ("program", "reference", "inputs"),
    [
        # normalized_shape second, then weight and bias by position, as F.layer_norm takes them
        (
            "F.layer_norm(x, (3,), w, b, 1e-3)",
            lambda x, w, b: F.layer_norm(x, (3,), w, b, 1e-3),
            {"x": X, "w": B3, "b": B3[::-1]},
        ),
        ("torch.layer_norm(x, [3])", lambda x: torch.layer_norm(x, [3]), {"x": X}),
        ("F.group_norm(x, 2, w)", lambda x, w: F.group_norm(x, 2, w), {"x": IMG, "w": [0.5, 2.0]}),
        (
            "F.batch_norm(x, None, None, w, b, True)",
            lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
            {"x": X, "w": B3, "b": B3},
        ),
        ("F.conv2d(x, k, b, 2, 1)", lambda x, k, b: F.conv2d(x, k, b, 2, 1), {"x": IMG, "k": KER, "b": B3}),
        (
            "torch.conv2d(x, k, padding=(1, 0), dilation=2)",
            lambda x, k: torch.conv2d(x, k, padding=(1, 0), dilation=2),
            {"x": IMG, "k": KER},
        ),
        ("F.max_pool2d(x, 3, 2, 1)", lambda x: F.max_pool2d(x, 3, 2, 1), {"x": IMG}),
        (
            "F.avg_pool2d(x, 2, 1, count_include_pad=False, padding=1)",
            lambda x: F.avg_pool2d(x, 2, 1, count_include_pad=False, padding=1),
            {"x": IMG},
        ),
        (
            "F.gelu(x, approximate='tanh') + F.softplus(x, 2.0, 1.0) + F.elu(x, 0.5) + F.hardtanh(x, -0.5, 0.5)",
            lambda x: (
                F.gelu(x, approximate="tanh") + F.softplus(x, 2.0, 1.0) + F.elu(x, 0.5) + F.hardtanh(x, -0.5, 0.5)
            ),
            {"x": X},
        ),
        (
            "F.leaky_relu(x, 0.2, inplace=False) + F.silu(x) + torch.erf(x) + x.erf()",
            lambda x: F.leaky_relu(x, 0.2) + F.silu(x) + torch.erf(x) + x.erf(),
            {"x": X},
        ),
        (
            "F.normalize(x, 1.0, 0) * F.cosine_similarity(x, w, 1).sum()",
            lambda x, w: F.normalize(x, 1.0, 0) * F.cosine_similarity(x, w, 1).sum(),
            {"x": X, "w": X[::-1]},
        ),
        ("F.embedding(i, w, 0)", lambda i, w: F.embedding(i, w, 0), {"i": fixed([[0, 2], [1, 0]]), "w": X}),
        (
            "F.scaled_dot_product_attention(q, k, v, None, 0.0, True, scale=0.5)",
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, None, 0.0, True, scale=0.5),
            {"q": SEQ, "k": SEQ[::-1], "v": SEQ},
        ),
        # a probability target (the logits' shape) is cross_entropy_probs; with options by keyword
        (
            "F.cross_entropy(x, p, label_smoothing=0.2, reduction='sum')",
            lambda x, p: F.cross_entropy(x, p, label_smoothing=0.2, reduction="sum"),
            {"x": X, "p": PROBS},
        ),
        (
            "F.nll_loss(F.log_softmax(x, 1), y, None, ignore_index=1)",
            lambda x, y: F.nll_loss(F.log_softmax(x, 1), y, None, ignore_index=1),
            {"x": X, "y": fixed([2, 0, 1, 1])},
        ),
        (
            "F.binary_cross_entropy_with_logits(x, t, reduction='sum')",
            lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
            {"x": X, "t": PROBS},
        ),
    ],
)
def test_layers_under_their_pytorch_names(program: str, reference, inputs: dict) -> None:
    check(program, reference, **inputs)


def test_a_mask_made_by_a_comparison_is_boolean_and_any_other_is_added() -> None:
    """PyTorch keeps the scores where a boolean mask is True and adds a float mask to them."""
    keep = [[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
    check(
        "F.scaled_dot_product_attention(q, k, v, attn_mask=m > 0)",
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m > 0),
        q=SEQ,
        k=SEQ,
        v=SEQ,
        m=fixed([[int(v) for v in row] for row in keep]),
    )
    check(
        "F.scaled_dot_product_attention(q, k, v, m)",
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
        q=SEQ,
        k=SEQ,
        v=SEQ,
        m=keep,
    )


@pytest.mark.parametrize(
    ("program", "inputs", "words"),
    [
        ("F.cross_entropy(x, p, ignore_index=1)", {"x": X, "p": PROBS}, "ignore_index applies to class indices"),
        ("torch.dropout(x, 0.5, True)", {"x": X}, "random"),
        ("F.dropout(x)", {"x": X}, "random"),
        ("F.relu(x, inplace=True)", {"x": X}, "inplace=False"),
        ("F.max_pool2d(x, 2, ceil_mode=True)", {"x": IMG}, "no keyword argument 'ceil_mode'"),
        ("F.layer_norm(x)", {"x": X}, "needs normalized_shape"),
        ("F.scaled_dot_product_attention(x, x, x, None, 0.0, False, 0.5)", {"x": SEQ}, "at most 6 positional"),
        ("F.batch_norm(x, None, None)", {"x": X}, "running_mean and running_var must be given"),
    ],
)
def test_what_pytorch_would_do_differently_is_refused_at_its_place(program: str, inputs: dict, words: str) -> None:
    refused = error(program, inputs)
    assert words in refused.message
    assert refused.start is not None and 0 <= refused.start < len(program)


def test_get_ops_lists_the_layers_under_f_torch_and_methods(client: TestClient) -> None:
    table = client.get("/ops").json()["dialects"]
    functional = table["namespaces"]["F"]
    for name in ("layer_norm", "batch_norm", "conv2d", "scaled_dot_product_attention", "gelu", "kl_div", "dropout"):
        assert name in functional, name
    assert functional["layer_norm"]["args"][:2] == ["input", "normalized_shape"]  # PyTorch's order, not the op's
    assert functional["cross_entropy"]["op"] == "cross_entropy"  # the form that routes by the target's shape
    assert "erf" in table["methods"] and "conv2d" in table["namespaces"]["torch"]
    assert "inplace" in table["ignored_keywords"]

"""Hostile arguments to the layers' ops: every one is a 4xx naming the problem and its place (line
and column), never a 5xx, and oversize work is refused before anything is allocated (413)."""

from __future__ import annotations

import numpy as np
import pytest


def _zeros(*shape: int) -> list:
    return np.zeros(shape).tolist()


X = {"x": _zeros(1, 3, 5, 5), "w": _zeros(2, 3, 3, 3)}
ATT = {"q": _zeros(2, 4, 3), "k": _zeros(2, 5, 3), "v": _zeros(2, 5, 2)}

CASES = [
    # (id, program, inputs, status, words in the message)
    ("conv-negative-stride", "y = conv2d(x, w, stride=-1)", X, 422, "stride must be positive"),
    ("conv-zero-stride", "y = conv2d(x, w, stride=(1, 0))", X, 422, "stride must be positive"),
    ("conv-negative-padding", "y = conv2d(x, w, padding=-2)", X, 422, "padding must be zero or more"),
    ("conv-zero-dilation", "y = conv2d(x, w, dilation=0)", X, 422, "dilation must be positive"),
    ("conv-three-strides", "y = conv2d(x, w, stride=(1, 2, 3))", X, 422, "stride must be one integer or 2"),
    ("conv-float-stride", "y = conv2d(x, w, stride=1.5)", X, 422, "stride must be an integer or a tuple"),
    ("conv-string-stride", 'y = conv2d(x, w, stride="same")', X, 422, "strings"),
    (
        "conv-zero-kernel",
        "y = conv2d(x, w)",
        {"x": _zeros(1, 3, 5, 5), "w": {"init": "zeros", "shape": [2, 3, 0, 3]}},
        422,
        "kernel size must be positive",
    ),
    (
        "conv-zero-out-channels",
        "y = conv2d(x, w)",
        {"x": _zeros(1, 3, 5, 5), "w": _zeros(0, 3, 2, 2)},
        422,
        "out_channels",
    ),
    (
        "conv-mismatched-channels",
        "y = conv2d(x, w)",
        {"x": _zeros(1, 3, 5, 5), "w": _zeros(2, 4, 3, 3)},
        422,
        "3 channels",
    ),
    (
        "conv-groups-not-dividing",
        "y = conv2d(x, w, groups=2)",
        {"x": _zeros(1, 4, 5, 5), "w": _zeros(3, 2, 3, 3)},
        422,
        "groups",
    ),
    ("conv-zero-groups", "y = conv2d(x, w, groups=0)", X, 422, "groups must be a positive integer"),
    (
        "conv-kernel-larger-than-input",
        "y = conv2d(x, w)",
        {"x": _zeros(1, 3, 2, 2), "w": _zeros(2, 3, 3, 3)},
        422,
        "larger",
    ),
    ("conv-bias-shape", "y = conv2d(x, w, b)", {**X, "b": _zeros(3)}, 422, "bias must have shape (2,)"),
    ("conv-wrong-rank", "y = conv2d(x, w)", {"x": _zeros(5, 5), "w": _zeros(2, 3, 3, 3)}, 422, "needs an input"),
    ("conv-huge-padding", "y = conv2d(x, w, padding=1000000)", X, 413, "limit"),
    # static arithmetic is evaluated (issue 19): the huge padding is then refused by its size, before allocation
    ("conv-padding-expression", "y = conv2d(x, w, padding=10 ** 40)", X, 413, "limit is"),
    ("conv-literal-huge-padding", "y = conv2d(x, w, padding=1000000000000000000000000000000)", X, 413, "limit"),
    (
        "conv-huge-im2col",
        "y = conv2d(x, w)",
        {"x": {"init": "zeros", "shape": [1, 16, 128, 128]}, "w": {"init": "zeros", "shape": [16, 16, 7, 7]}},
        413,
        "intermediate",
    ),
    (
        "conv1d-huge-dilation",
        "y = conv1d(x, w, dilation=100000000000)",
        {"x": _zeros(1, 2, 5), "w": _zeros(1, 2, 2)},
        422,
        "larger",
    ),
    ("maxpool-zero-kernel", "y = max_pool2d(x, 0)", X, 422, "kernel_size must be positive"),
    ("maxpool-negative-stride", "y = max_pool2d(x, 2, stride=-2)", X, 422, "stride must be positive"),
    ("maxpool-padding-over-half", "y = max_pool2d(x, 2, padding=2)", X, 422, "at most half"),
    ("maxpool-huge-kernel", "y = max_pool2d(x, 1000000000000)", X, 422, "larger than the padded input"),
    ("maxpool-no-kernel", "y = max_pool2d(x)", X, 422, "needs kernel_size"),
    ("avgpool-divisor-zero", "y = avg_pool2d(x, 2, divisor_override=0)", X, 422, "divisor_override"),
    ("avgpool-huge-padding", "y = avg_pool2d(x, 4000001, padding=2000000)", {"x": _zeros(1, 1, 2, 2)}, 413, "limit"),
    ("layer_norm-shape", "y = layer_norm(x, normalized_shape=(4,))", {"x": _zeros(2, 3)}, 422, "normalized_shape"),
    (
        "layer_norm-negative-eps",
        "y = layer_norm(x, normalized_shape=3, eps=-1)",
        {"x": _zeros(2, 3)},
        422,
        "eps must be 0 or more",
    ),
    (
        "layer_norm-weight-twice",
        "y = layer_norm(x, w, weight=w, normalized_shape=3)",
        {"x": _zeros(2, 3), "w": _zeros(3)},
        422,
        "weight twice",
    ),
    (
        "batch_norm-batch-of-one",
        "y = batch_norm(x, training=True)",
        {"x": _zeros(1, 3)},
        422,
        "more than 1 value per channel",
    ),
    ("batch_norm-eval-no-stats", "y = batch_norm(x)", {"x": _zeros(4, 3)}, 422, "running_mean and running_var"),
    (
        "batch_norm-stats-shape",
        "y = batch_norm(x, m, v)",
        {"x": _zeros(4, 3), "m": _zeros(2), "v": _zeros(3)},
        422,
        "running_mean",
    ),
    ("group_norm-groups", "y = group_norm(x, num_groups=2)", {"x": _zeros(2, 3, 4)}, 422, "num_groups=2"),
    ("normalize-p", "y = normalize(x, p=0)", {"x": _zeros(2, 3)}, 422, "p must be a positive number"),
    (
        "embedding-index-range",
        "y = embedding(i, W)",
        {"i": [0, 5], "W": _zeros(5, 2)},
        422,
        "indices must be in [0, 4]",
    ),
    ("embedding-not-integer", "y = embedding(i, W)", {"i": [0.5], "W": _zeros(5, 2)}, 422, "integer indices"),
    (
        "embedding-padding-idx",
        "y = embedding(i, W, padding_idx=7)",
        {"i": [0], "W": _zeros(5, 2)},
        422,
        "padding_idx 7",
    ),
    ("sdpa-mismatched-E", "y = scaled_dot_product_attention(q, k, v)", {**ATT, "k": _zeros(2, 5, 4)}, 422, "last axis"),
    ("sdpa-dropout", "y = scaled_dot_product_attention(q, k, v, dropout_p=0.1)", ATT, 422, "dropout_p must be 0"),
    (
        "sdpa-mask-and-causal",
        "y = scaled_dot_product_attention(q, k, v, m, is_causal=True)",
        {**ATT, "m": _zeros(4, 5)},
        422,
        "not both",
    ),
    (
        "sdpa-mask-shape",
        "y = scaled_dot_product_attention(q, k, v, m)",
        {**ATT, "m": _zeros(3, 5)},
        422,
        "attn_mask must broadcast",
    ),
    (
        "sdpa-bool-mask-values",
        "y = scaled_dot_product_attention(q, k, v, m, bool_mask=True)",
        {**ATT, "m": (np.ones((4, 5)) * 2).tolist()},
        422,
        "only 0 and 1",
    ),
    (
        "sdpa-4096",
        "y = scaled_dot_product_attention(q, k, v)",
        {
            "q": {"init": "zeros", "shape": [4096, 8]},
            "k": {"init": "zeros", "shape": [4096, 8]},
            "v": {"init": "zeros", "shape": [4096, 8]},
        },
        413,
        "intermediate",
    ),
    ("dropout-training", "y = dropout(x)", {"x": _zeros(2, 3)}, 422, "give the keep mask"),
    (
        "dropout-p-by-position",
        "y = dropout(x, 0.2, training=False)",
        {"x": _zeros(2, 3)},
        422,
        "give the probability as p=",
    ),
    ("dropout-p", "y = dropout(x, p=1.5, training=False)", {"x": _zeros(2, 3)}, 422, "from 0 to 1"),
    ("bce-range", "y = binary_cross_entropy(p, t)", {"p": [1.5], "t": [1.0]}, 422, "between 0 and 1"),
    (
        "bce-shapes",
        "y = binary_cross_entropy(p, t)",
        {"p": [0.5, 0.5], "t": [1.0]},
        422,
        "target to have the input's shape",
    ),
    ("nll-target-range", "y = nll_loss(z, y)", {"z": _zeros(2, 3), "y": [0, 3]}, 422, "class indices in [0, 2]"),
    ("gelu-approximate", 'y = gelu(x, approximate="sigmoid")', {"x": 1.0}, 422, '"none" or "tanh"'),
    # an integral scalar input is also a static int (issue 19), so a fractional one stands for a tensor here
    ("softplus-beta-word", "y = softplus(x, beta=x)", {"x": 1.5}, 422, "beta must be a number"),
    ("hardtanh-bounds", "y = hardtanh(x, 1, -1)", {"x": 1.0}, 422, "max_val"),
    (
        "smooth_l1-negative-beta",
        "y = smooth_l1_loss(a, b, beta=-1)",
        {"a": [1.0], "b": [2.0]},
        422,
        "beta must be 0 or more",
    ),
    ("kl_div-reduction", 'y = kl_div(a, b, reduction="average")', {"a": [1.0], "b": [2.0]}, 422, "reduction"),
]

# einsum's equations (app/engine/einsum.py) and ~ (logical not): each a 4xx at the call.
AB = {"a": _zeros(2, 3), "b": _zeros(3, 4)}
CASES += [
    ("einsum-output-letter", "y = torch.einsum('ab,bc->ad', a, b)", AB, 422, "'d' in its output and in no operand"),
    ("einsum-too-few-operands", "y = torch.einsum('ij,jk->ik', a)", AB, 422, "names 2 operands, and 1 was given"),
    ("einsum-too-many-operands", "y = np.einsum('ij->ji', a, b)", AB, 422, "names 1 operand, and 2 were given"),
    ("einsum-no-operands", "y = torch.einsum('ij->ji')", AB, 422, "0 were given"),
    ("einsum-sizes", "y = torch.einsum('ij,jk->ik', a, b)", {**AB, "b": _zeros(4, 4)}, 422, "'j' has size 4"),
    ("einsum-rank", "y = torch.einsum('ijk,jk->i', a, b)", AB, 422, "names 3 axes (ijk) but has 2"),
    ("einsum-number-equation", "y = torch.einsum(3, a)", AB, 422, "equation must be a quoted equation"),
    ("einsum-tensor-equation", "y = torch.einsum(a, b)", AB, 422, "equation must be a quoted equation"),
    ("einsum-no-equation", "y = torch.einsum()", AB, 422, "needs an equation"),
    ("einsum-digit", "y = einsum('i1,jk', a, b)", AB, 422, "'1': subscripts are letters"),
    ("einsum-dots", "y = torch.einsum('i..j', a)", AB, 422, "'.' that is not part of one '...'"),
    ("einsum-two-ellipses", "y = torch.einsum('...i...', a)", AB, 422, "'.' that is not part of one '...'"),
    ("einsum-two-arrows", "y = torch.einsum('ij->ji->i', a)", AB, 422, "more than one '->'"),
    ("einsum-repeated-output", "y = torch.einsum('ij->ii', a)", AB, 422, "'i' more than once in its output"),
    ("einsum-diagonal-sizes", "y = torch.einsum('ii->i', a)", AB, 422, "a diagonal needs equal sizes"),
    (
        "einsum-ellipsis-sizes",
        "y = torch.einsum('...i,...i', a, b)",
        {"a": _zeros(2, 3), "b": _zeros(4, 3)},
        422,
        "an axis under '...'",
    ),
    ("einsum-unclosed", "y = torch.einsum('ij, a)", AB, 422, "strings are not part of the language"),
    ("einsum-symbol", "y = torch.einsum('i;j', a)", AB, 422, "strings are not part of the language"),
    ("einsum-keyword-string", 'y = sum(a, axis="i,j")', AB, 422, "strings are not part of the language"),
    (  # 51 letters written leave one for the 32 axes under '...'
        "einsum-too-many-axes",
        "y = torch.einsum('ABCDEFGHIJKLMNOPQRSTUVWXYZ,abcdefghijklmnopqrstuvwxy,...', a, b, c)",
        {name: {"init": "zeros", "shape": [1] * rank} for name, rank in (("a", 26), ("b", 25), ("c", 32))},
        422,
        "needs 32 axes under '...' and has 1 letter to spare",
    ),
    (
        "einsum-huge-work",
        "y = torch.einsum('i,j,k,l->', a, b, c, d)",
        {name: {"init": "zeros", "shape": [3000]} for name in "abcd"},
        413,
        "units of work",
    ),
    (
        "einsum-huge-intermediate",
        "y = torch.einsum('ij,ij->', a, b)",
        {"a": {"init": "zeros", "shape": [4000, 1]}, "b": {"init": "zeros", "shape": [1, 4000]}},
        413,
        "intermediate",
    ),
    ("einsum-optimize-tensor", "y = np.einsum('ij->ji', a, optimize=b)", AB, 422, "optimize is True, False"),
    ("einsum-torch-optimize", "y = torch.einsum('ij->ji', a, optimize=True)", AB, 422, "its keywords are: equation"),
    ("tilde-number", "y = ~3 * a", AB, 422, "~ is the logical not of a mask tensor"),
    ("tilde-tuple", "y = a * ~(1, 2)", AB, 422, "~ is the logical not of a mask tensor"),
    ("tilde-binary", "y = a ~ b", AB, 422, "the operator ~ is not part of the language"),
]


@pytest.mark.parametrize(("program", "inputs", "status", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_arguments_are_4xx_with_the_place(client, program: str, inputs: dict, status: int, words: str) -> None:
    response = client.post("/graph/backward", json={"expression": program, "inputs": inputs})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"], error["message"]
    assert error.get("line") == 1 and error.get("column", 0) >= 5, error


def test_the_budget_is_checked_before_allocating() -> None:
    """A huge im2col and a 4096 × 4096 attention are refused by the shape pass: no forward runs."""
    from app.core import evaluate
    from app.engine.errors import LimitExceeded

    calls = []
    from app.engine import layers

    original = layers._patches
    layers._patches = lambda *args: calls.append(args) or original(*args)  # type: ignore[assignment]
    try:
        with pytest.raises(LimitExceeded):
            evaluate(
                "y = conv2d(x, w)",
                {"x": {"init": "zeros", "shape": [1, 16, 128, 128]}, "w": {"init": "zeros", "shape": [16, 16, 7, 7]}},
            )
    finally:
        layers._patches = original
    assert not calls

"""The layers' composites opened and closed give the same values and gradients (to rounding), on
three shapes and three seeds each, and opening one really builds its primitives.

Which composites: every op of app/engine/layers.py with a decomposition (gelu, silu, the losses,
the norms, attention). PyTorch parity of both forms is in tests/test_layers_parity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.core import evaluate
from app.engine.expand import COMPOSITES
from app.engine.layers import LAYERS

RTOL = 1e-10
ATOL = 1e-12


def _value(spec, rng):
    kind, shape = (spec[0], spec[1]) if spec and isinstance(spec[0], str) else ("real", spec)
    if kind == "label":
        return {"value": rng.integers(0, spec[2], shape).astype(float).tolist(), "requires_grad": False}
    if kind == "mask":
        mask = (rng.uniform(size=shape) > 0.3).astype(float)
        return {"value": mask.tolist(), "requires_grad": False}
    if kind == "prob":
        value = rng.uniform(0.05, 0.95, size=shape)
    elif kind == "simplex":
        value = rng.uniform(0.1, 1.0, size=shape)
        value = value / value.sum(axis=-1, keepdims=True)
    elif kind == "pos":
        value = rng.uniform(0.5, 2.0, size=shape)
    else:
        value = rng.normal(size=shape)
    return float(value) if shape == () else value.tolist()


S = {"x": (3, 4)}
CASES = {
    "silu": [("out = silu(x)", {"x": ()}), ("out = silu(x)", {"x": (4,)}), ("out = silu(x)", {"x": (2, 3)})],
    "gelu": [
        ("out = gelu(x)", {"x": (5,)}),
        ('out = gelu(x, approximate="tanh")', {"x": (2, 3)}),
        ("out = gelu(x)", {"x": (2, 1, 3)}),
    ],
    "l1_loss": [
        ("out = l1_loss(p, t)", {"p": (4,), "t": (4,)}),
        ('out = l1_loss(p, t, reduction="sum")', {"p": (2, 3), "t": (3,)}),
        ('out = l1_loss(p, t, reduction="none")', {"p": (2, 3), "t": (2, 3)}),
    ],
    "smooth_l1_loss": [
        ("out = smooth_l1_loss(p, t)", {"p": (5,), "t": (5,)}),
        ('out = smooth_l1_loss(p, t, beta=0.3, reduction="none")', {"p": (2, 3), "t": (3,)}),
        ('out = smooth_l1_loss(p, t, beta=0, reduction="sum")', {"p": (2, 3), "t": (2, 3)}),
    ],
    "huber_loss": [
        ("out = huber_loss(p, t)", {"p": (5,), "t": (5,)}),
        ('out = huber_loss(p, t, delta=0.4, reduction="sum")', {"p": (2, 3), "t": (3,)}),
        ('out = huber_loss(p, t, delta=2, reduction="none")', {"p": (2, 3), "t": (2, 3)}),
    ],
    "binary_cross_entropy": [
        ("out = binary_cross_entropy(p, t)", {"p": ("prob", (4,)), "t": ("prob", (4,))}),
        (
            'out = binary_cross_entropy(p, t, w, reduction="sum")',
            {"p": ("prob", (2, 3)), "t": ("prob", (2, 3)), "w": ("pos", (3,))},
        ),
        ('out = binary_cross_entropy(p, t, reduction="none")', {"p": ("prob", (3, 2)), "t": ("prob", (3, 2))}),
    ],
    "binary_cross_entropy_with_logits": [
        ("out = binary_cross_entropy_with_logits(z, t)", {"z": (4,), "t": ("prob", (4,))}),
        (
            'out = binary_cross_entropy_with_logits(z, t, pos_weight=pw, reduction="sum")',
            {"z": (2, 3), "t": ("prob", (2, 3)), "pw": ("pos", (3,))},
        ),
        (
            'out = binary_cross_entropy_with_logits(z, t, w, pw, reduction="none")',
            {"z": (3, 2), "t": ("prob", (3, 2)), "w": ("pos", (3, 1)), "pw": ("pos", (2,))},
        ),
    ],
    "nll_loss": [
        ("out = nll_loss(z, y)", {"z": (4, 3), "y": ("label", (4,), 3)}),
        (
            'out = nll_loss(z, y, weight=(1, 2, 0.5), ignore_index=0, reduction="sum")',
            {"z": (5, 3), "y": ("label", (5,), 3)},
        ),
        ('out = nll_loss(z, y, reduction="none")', {"z": (4,), "y": ("label", (), 4)}),
    ],
    "cross_entropy_probs": [
        ("out = cross_entropy_probs(z, q)", {"z": (4, 3), "q": ("simplex", (4, 3))}),
        (
            "out = cross_entropy_probs(z, q, weight=(1, 2, 0.5), label_smoothing=0.2)",
            {"z": (2, 3), "q": ("simplex", (2, 3))},
        ),
        ('out = cross_entropy_probs(z, q, reduction="none")', {"z": (5,), "q": ("simplex", (5,))}),
    ],
    "cosine_similarity": [
        ("out = cosine_similarity(a, b)", {"a": (3, 4), "b": (3, 4)}),
        ("out = cosine_similarity(a, b, dim=-1)", {"a": (2, 3, 4), "b": (4,)}),
        ("out = cosine_similarity(a, b, 0)", {"a": (5,), "b": (5,)}),
    ],
    "layer_norm": [
        ("out = layer_norm(x, w, b, normalized_shape=(4,))", {"x": (3, 4), "w": (4,), "b": (4,)}),
        ("out = layer_norm(x, w, b, (3, 4), eps=0.01)", {"x": (2, 3, 4), "w": (3, 4), "b": (3, 4)}),
        ("out = layer_norm(x, normalized_shape=5)", {"x": (5,)}),
    ],
    "batch_norm": [
        ("out = batch_norm(x, weight=w, bias=b, training=True)", {"x": (5, 3), "w": (3,), "b": (3,)}),
        ("out = batch_norm(x, training=True, eps=0.1)", {"x": (2, 3, 4)}),
        (
            "out = batch_norm(x, rm, rv, w, b)",
            {"x": (2, 3, 2, 2), "rm": (3,), "rv": ("pos", (3,)), "w": (3,), "b": (3,)},
        ),
    ],
    "group_norm": [
        ("out = group_norm(x, w, b, num_groups=2)", {"x": (3, 4, 5), "w": (4,), "b": (4,)}),
        ("out = group_norm(x, num_groups=3, eps=0.2)", {"x": (2, 6, 2, 2)}),
        ("out = group_norm(x, w, num_groups=1)", {"x": (1, 2), "w": (2,)}),
    ],
    "normalize": [
        ("out = normalize(x)", {"x": (3, 4)}),
        ("out = normalize(x, p=3, dim=-1)", {"x": (2, 3, 4)}),
        ("out = normalize(x, 1, 0)", {"x": (4,)}),
    ],
    "scaled_dot_product_attention": [
        ("out = scaled_dot_product_attention(q, k, v)", {"q": (4, 3), "k": (5, 3), "v": (5, 2)}),
        (
            "out = scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5)",
            {"q": (2, 4, 3), "k": (2, 4, 3), "v": (2, 4, 3)},
        ),
        (
            "out = scaled_dot_product_attention(q, k, v, m)",
            {"q": (2, 2, 3, 4), "k": (2, 2, 5, 4), "v": (2, 2, 5, 3), "m": (3, 5)},
        ),
        (
            "out = scaled_dot_product_attention(q, k, v, m, bool_mask=True)",
            {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 3), "m": ("mask", (3, 5))},
        ),
    ],
}

ALL = [
    pytest.param(op, program, shapes, id=f"{op}-{program}-{sorted(shapes.items())}")
    for op, cases in CASES.items()
    for program, shapes in cases
]


def test_every_layer_composite_has_three_shapes() -> None:
    mine = {name for name in COMPOSITES if name in LAYERS}
    assert mine == set(CASES), sorted(mine ^ set(CASES))
    assert all(len(cases) >= 3 for cases in CASES.values())


def _leaf_grads(result) -> dict:
    graph = result.graph
    return {graph.names[k]: result.grads[k] for k in range(len(graph)) if graph.ops[k] is None and graph.names[k]}


@pytest.mark.parametrize(("op_name", "program", "shapes"), ALL)
def test_opened_and_closed_give_the_same_values_and_gradients(op_name: str, program: str, shapes: dict) -> None:
    for seed in range(3):
        rng = np.random.default_rng(seed)
        inputs = {name: _value(spec, rng) for name, spec in shapes.items()}
        out_shape = np.shape(evaluate(program, inputs, backward=False).values[-1])
        grad_output = np.random.default_rng(100 + seed).normal(size=out_shape)
        grad_output = float(grad_output) if out_shape == () else grad_output.tolist()
        plain = evaluate(program, inputs, grad_output)
        opened = evaluate(program, inputs, grad_output, expand=[op_name])
        assert any(op is not None and op.name == op_name for op in plain.graph.ops)
        assert not any(op is not None and op.name == op_name for op in opened.graph.ops), "not opened"
        np.testing.assert_allclose(opened.values[opened.output], plain.values[plain.output], rtol=RTOL, atol=ATOL)
        want, got = _leaf_grads(plain), _leaf_grads(opened)
        assert want.keys() == got.keys()
        for name, grad in want.items():
            if grad is None:
                assert got[name] is None or not np.any(got[name]), name
                continue
            assert np.shape(got[name]) == np.shape(grad), name
            np.testing.assert_allclose(got[name], grad, rtol=RTOL, atol=ATOL, err_msg=f"{program}: ∂/∂{name}")

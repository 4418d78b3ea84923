"""PyTorch spellings of the layers' ops (app/engine/layers.py), merged into app/export/pytorch.py's
SPELLINGS: each is torch.nn.functional's call with the program's arguments. An optional operand
the program left out (an empty constant of shape (0,)) is written None; operands PyTorch does not
differentiate (class weights, masks, indices, running statistics) are detached."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _absent(shape: tuple[int, ...]) -> bool:
    return shape == (0,)


def _opt(expression: str, shape: tuple[int, ...], detach: bool = False) -> str:
    return "None" if _absent(shape) else f"{expression}.detach()" if detach else expression


def _int_or_tuple(value: tuple[int, ...] | None) -> Any:
    return value if value is None or len(value) != 1 else value[0]


def _weights(weight: tuple[Any, ...] | None) -> str:
    return "None" if weight is None else f"tensor({[float(w) for w in weight]!r})"


def _pointwise(name: str, option: str | None = None) -> Callable[..., str]:
    def spell(a: str, b: str, shapes: list[Any], reduction: str = "mean", **options: Any) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in options.items())
        operands = f"{a}, {b}" if shapes[0] == shapes[1] else f"*torch.broadcast_tensors({a}, {b})"
        return f"F.{name}({operands}, reduction={reduction!r}{extra})"

    return spell


def _attention(
    q: str,
    k: str,
    v: str,
    mask: str,
    shapes: list[Any],
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    bool_mask: bool = False,
) -> str:
    attn_mask = "None" if _absent(shapes[3]) else f"({mask}.detach() != 0)" if bool_mask else mask
    return (
        f"F.scaled_dot_product_attention({q}, {k}, {v}, attn_mask={attn_mask}, is_causal={is_causal!r}, "
        f"scale={scale!r})"
    )


def _dropout(x: str, mask: str, shapes: list[Any], p: float = 0.5, training: bool = True) -> str:
    if not training or not p:
        return f"F.dropout({x}, {p!r}, training=False)"
    return f"{x} * {mask}.detach() * {0.0 if p == 1 else 1.0 / (1.0 - p)!r}"


def _avg_pool(
    x: str,
    shapes: list[Any],
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...] | None = None,
    padding: tuple[int, ...] = (0,),
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> str:
    window = f"{_int_or_tuple(kernel_size)!r}, {_int_or_tuple(stride)!r}, {_int_or_tuple(padding)!r}"
    return (
        f"F.avg_pool2d({x}, {window}, count_include_pad={count_include_pad!r}, divisor_override={divisor_override!r})"
    )


def _conv(dims: int) -> Callable[..., str]:
    def spell(
        x: str,
        w: str,
        b: str,
        shapes: list[Any],
        stride: tuple[Any, ...] = (1,),
        padding: tuple[Any, ...] = (0,),
        dilation: tuple[Any, ...] = (1,),
        groups: int = 1,
    ) -> str:
        return (
            f"F.conv{dims}d({x}, {w}, {_opt(b, shapes[2])}, stride={_int_or_tuple(stride)!r}, "
            f"padding={_int_or_tuple(padding)!r}, dilation={_int_or_tuple(dilation)!r}, groups={groups})"
        )

    return spell


LAYER_SPELLINGS: dict[str, Callable[..., str]] = {
    "erf": lambda x, shapes: f"torch.erf({x})",
    "silu": lambda x, shapes: f"F.silu({x})",
    "gelu": lambda x, shapes, approximate="none": f"F.gelu({x}, approximate={approximate!r})",
    "softplus": lambda x, shapes, beta=1.0, threshold=20.0: f"F.softplus({x}, beta={beta!r}, threshold={threshold!r})",
    "leaky_relu": lambda x, shapes, negative_slope=0.01: f"F.leaky_relu({x}, {negative_slope!r})",
    "elu": lambda x, shapes, alpha=1.0: f"F.elu({x}, {alpha!r})",
    "hardtanh": lambda x, shapes, min_val=-1.0, max_val=1.0: f"F.hardtanh({x}, {min_val!r}, {max_val!r})",
    "l1_loss": _pointwise("l1_loss"),
    "smooth_l1_loss": _pointwise("smooth_l1_loss"),
    "huber_loss": _pointwise("huber_loss"),
    "kl_div": _pointwise("kl_div"),
    "binary_cross_entropy": lambda p, t, w, shapes, reduction="mean": (
        f"F.binary_cross_entropy({p}, {t}, weight={_opt(w, shapes[2], True)}, reduction={reduction!r})"
    ),
    "binary_cross_entropy_with_logits": lambda z, t, w, pw, shapes, reduction="mean": (
        f"F.binary_cross_entropy_with_logits({z}, {t}, weight={_opt(w, shapes[2], True)}, "
        f"pos_weight={_opt(pw, shapes[3], True)}, reduction={reduction!r})"
    ),
    "nll_loss": lambda x, t, shapes, weight=None, ignore_index=-100, reduction="mean": (
        f"F.nll_loss({x}, {t}.detach().long(), weight={_weights(weight)}, ignore_index={ignore_index}, "
        f"reduction={reduction!r})"
    ),
    "cross_entropy_probs": lambda x, t, shapes, weight=None, label_smoothing=0.0, reduction="mean": (
        f"F.cross_entropy({x}, {t}, weight={_weights(weight)}, label_smoothing={label_smoothing!r}, "
        f"reduction={reduction!r})"
    ),
    "cosine_similarity": lambda a, b, shapes, dim=1, eps=1e-8: f"F.cosine_similarity({a}, {b}, dim={dim}, eps={eps!r})",
    "layer_norm": lambda x, w, b, shapes, normalized_shape, eps=1e-5: (
        f"F.layer_norm({x}, {tuple(normalized_shape)!r}, {_opt(w, shapes[1])}, {_opt(b, shapes[2])}, eps={eps!r})"
    ),
    "batch_norm": lambda x, rm, rv, w, b, shapes, training=False, momentum=0.1, eps=1e-5: (
        f"F.batch_norm({x}, {_opt(rm + '.clone()', shapes[1], True)}, {_opt(rv + '.clone()', shapes[2], True)}, "
        f"{_opt(w, shapes[3])}, {_opt(b, shapes[4])}, training={training!r}, momentum={momentum!r}, eps={eps!r})"
    ),
    "group_norm": lambda x, w, b, shapes, num_groups, eps=1e-5: (
        f"F.group_norm({x}, {num_groups}, {_opt(w, shapes[1])}, {_opt(b, shapes[2])}, eps={eps!r})"
    ),
    "normalize": lambda x, shapes, p=2.0, dim=1, eps=1e-12: f"F.normalize({x}, p={p!r}, dim={dim}, eps={eps!r})",
    "embedding": lambda i, w, shapes, padding_idx=None: (
        f"F.embedding({i}.detach().long(), {w}, padding_idx={padding_idx!r})"
    ),
    "conv1d": _conv(1),
    "conv2d": _conv(2),
    "max_pool2d": lambda x, shapes, kernel_size, stride=None, padding=(0,), dilation=(1,): (
        f"F.max_pool2d({x}, {_int_or_tuple(kernel_size)!r}, {_int_or_tuple(stride)!r}, {_int_or_tuple(padding)!r}, "
        f"{_int_or_tuple(dilation)!r})"
    ),
    "avg_pool2d": _avg_pool,
    "scaled_dot_product_attention": _attention,
    "dropout": _dropout,
}

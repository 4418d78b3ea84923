"""Optimizers over named parameters, each update rule written once, as torch.optim defines it.

Parameters are float64 arrays (or Python floats for scalars) held by the caller in a dict by name;
`step(params, grads)` answers the new values and keeps its own per-parameter state (momentum
buffers, moment estimates), as torch.optim keeps state apart from the model. The order of
operations follows torch 2.13's single-tensor paths (`_single_tensor_sgd`, `_single_tensor_adam`),
so float64 results agree with PyTorch to rounding (the parity tests check 1e-9 relative over
50 steps). New arrays are made, never updated in place: the caller may still hold the old values.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class SGD:
    """torch.optim.SGD: g ← g + wd·θ; with momentum, b ← g on the first step, else
    b ← μ·b + (1 − dampening)·g, and g ← g + μ·b (Nesterov) or g ← b; then θ ← θ − lr·g.

    With momentum, every parameter lives in one flat float64 array (the new values come back as
    views of it, shaped as the parameters), and so does every momentum buffer: each rule above is
    one numpy call over all parameters, not one per parameter. The arithmetic is elementwise, so
    the numbers are the ones a per-parameter update gives; a small network's step (six parameters,
    three of them biases of a few hundred numbers) spent more time calling numpy than computing."""

    def __init__(
        self,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.flat = _Flat()
        self.buffer: np.ndarray | None = None  # the momentum buffers, flat
        self.buffer_views: list[np.ndarray] = []  # ... and each parameter's, shaped as it

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> dict[str, Any]:
        momentum, dampening, flat = self.momentum, self.dampening, self.flat
        if momentum == 0:  # two operations a parameter: laying them out flat would cost more
            weight_decay, minus_lr, updated = self.weight_decay, -self.lr, {}
            for name, param in params.items():
                grad = grads[name]
                if weight_decay != 0:
                    grad = grad + weight_decay * param
                change = grad * minus_lr
                if isinstance(change, np.ndarray):  # a new array of ours: added in place, one array fewer made
                    change += param
                    updated[name] = change
                else:
                    updated[name] = param + change
            return updated
        param = flat.gather(params)
        buf = self.buffer
        if buf is not None and dampening == 0 and self.weight_decay == 0:
            # the usual case: b ← μ·b + g, the gradients added straight into the buffer's views
            buf *= momentum
            for view, name in zip(self.buffer_views, flat.names):
                view += grads[name]  # noqa: PLW2901 (in place: each view is a slice of the buffer)
            grad = buf
        else:
            grad = flat.join(grads)
            if self.weight_decay != 0:
                grad = grad + self.weight_decay * param
            if buf is None:
                buf = self.buffer = np.copy(grad)
                self.buffer_views = flat.views(buf)
            else:
                buf *= momentum
                buf += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * buf if self.nesterov else buf
        change = grad * -self.lr
        change += param  # a new array of ours: added in place, one array fewer made
        return flat.scatter(change)


class _Flat:
    """Named parameters (arrays or Python floats) ↔ one flat float64 array, in the order of the
    first dict it sees. `scatter` answers views of a flat array; `gather` given those same views
    back answers their array without copying."""

    def __init__(self) -> None:
        self.names: list[str] = []  # empty until the first dict is laid out
        self.slices: list[tuple[slice, tuple[int, ...]]] = []
        self.size = 0
        self.last: tuple[np.ndarray, dict[str, Any]] | None = None  # the last flat array and its views

    def _layout(self, values: dict[str, Any]) -> None:
        self.names, start = list(values), 0
        for value in values.values():
            shape = np.shape(value)
            size = int(np.prod(shape, dtype=np.int64))
            self.slices.append((slice(start, start + size), shape))
            start += size
        self.size = start

    def join(self, values: dict[str, Any]) -> np.ndarray:
        """A new flat array holding `values`, in the layout's order."""
        if not self.names:
            self._layout(values)
        flat = np.empty(self.size)
        for view, name in zip(self.views(flat), self.names):
            view[...] = values[name]
        return flat

    def gather(self, values: dict[str, Any]) -> np.ndarray:
        last = self.last
        if last is not None and all(values[name] is view for name, view in last[1].items()):
            return last[0]
        return self.join(values)

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[where].reshape(shape) for where, shape in self.slices]

    def scatter(self, flat: np.ndarray) -> dict[str, Any]:
        views = dict(zip(self.names, self.views(flat)))
        self.last = (flat, views)
        return dict(views)


class Adam:
    """torch.optim.Adam (not AdamW): t ← t + 1; g ← g + wd·θ; m ← lerp(m, g, 1 − β1);
    v ← β2·v + (1 − β2)·g²; θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)."""

    def __init__(
        self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0
    ) -> None:
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.t = 0
        self.exp_avg: dict[str, Any] = {}
        self.exp_avg_sq: dict[str, Any] = {}

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> dict[str, Any]:
        self.t += 1
        beta1, beta2 = self.beta1, self.beta2
        bias_correction1 = 1 - beta1**self.t
        bias_correction2 = 1 - beta2**self.t
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        updated = {}
        for name, param in params.items():
            grad = grads[name]
            if self.weight_decay != 0:
                grad = grad + self.weight_decay * param
            exp_avg = _lerp(self.exp_avg.get(name, 0.0 * param), grad, 1 - beta1)
            exp_avg_sq = self.exp_avg_sq.get(name, 0.0 * param) * beta2 + (1 - beta2) * grad * grad
            self.exp_avg[name], self.exp_avg_sq[name] = exp_avg, exp_avg_sq
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + self.eps
            updated[name] = param + (-step_size) * (exp_avg / denom)
        return updated


def _lerp(start: Any, end: Any, weight: float) -> Any:
    """torch.lerp's formula, which picks its form by the weight for accuracy."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}

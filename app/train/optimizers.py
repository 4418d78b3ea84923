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
    b ← μ·b + (1 − dampening)·g, and g ← g + μ·b (Nesterov) or g ← b; then θ ← θ − lr·g."""

    def __init__(self, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False) -> None:
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.buffers: dict[str, Any] = {}

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> dict[str, Any]:
        # Settings read once a step, not once a parameter: a small network's step is mostly this
        # kind of overhead.
        momentum, dampening, weight_decay, nesterov = self.momentum, self.dampening, self.weight_decay, self.nesterov
        minus_lr = -self.lr
        updated = {}
        for name, param in params.items():
            grad = grads[name]
            if weight_decay != 0:
                grad = grad + weight_decay * param
            if momentum != 0:
                buf = self.buffers.get(name)
                if buf is None:
                    buf = self.buffers[name] = np.copy(grad) if isinstance(grad, np.ndarray) else grad
                elif isinstance(buf, np.ndarray):  # the buffer is this optimizer's own: updated in place
                    buf *= momentum
                    buf += grad if dampening == 0 else (1 - dampening) * grad
                else:
                    buf = self.buffers[name] = buf * momentum + (1 - dampening) * grad
                grad = grad + momentum * buf if nesterov else buf
            change = grad * minus_lr
            if isinstance(change, np.ndarray):  # a new array of ours: add in place, one array fewer made
                change += param
                updated[name] = change
            else:
                updated[name] = param + change
        return updated


class Adam:
    """torch.optim.Adam (not AdamW): t ← t + 1; g ← g + wd·θ; m ← lerp(m, g, 1 − β1);
    v ← β2·v + (1 − β2)·g²; θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)."""

    def __init__(self, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.t = 0
        self.exp_avg: dict[str, Any] = {}
        self.exp_avg_sq: dict[str, Any] = {}

    def step(self, params: dict[str, Any], grads: dict[str, Any]) -> dict[str, Any]:
        self.t += 1
        beta1, beta2 = self.beta1, self.beta2
        bias_correction1 = 1 - beta1 ** self.t
        bias_correction2 = 1 - beta2 ** self.t
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
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


def _lerp(start, end, weight: float):
    """torch.lerp's formula, which picks its form by the weight for accuracy."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


OPTIMIZERS = {"sgd": SGD, "adam": Adam}

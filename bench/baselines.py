"""Baselines for the benchmarks: the same computations written with PyTorch, micrograd, a plain
numpy tape, Python floats, and hand-written numpy.

Every chain baseline computes `h = tanh(h * w + b)` `statements` times from leaves h, w, b,
then the gradient of the final h with respect to all three leaves, and returns (dh, dw, db) so
the caller can check that everyone computed the same thing. None of them records steps.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

# --- scalar chain ------------------------------------------------------------------------------


def torch_chain(statements: int, h0: float, w0: float, b0: float) -> tuple[float, float, float]:
    """PyTorch eager, float64 0-d tensors, autograd."""
    import torch

    h = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    x = h
    for _ in range(statements):
        x = torch.tanh(x * w + b)
    x.backward()
    return h.grad.item(), w.grad.item(), b.grad.item()


def torch_constants_chain(constants: list[float], h0: float, w0: float) -> tuple[float, float]:
    """PyTorch eager of `h = tanh(h * w + c)` with a constant c of its own on each line
    (figure 3's constants_program): (dh, dw)."""
    import torch

    h = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    x = h
    for c in constants:
        x = torch.tanh(x * w + c)
    x.backward()
    return h.grad.item(), w.grad.item()


def _micrograd_tanh(v: Any) -> Any:
    """micrograd 0.1.0's Value has no tanh; this is the one from its author's lecture."""
    from micrograd.engine import Value

    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")

    def _backward() -> None:
        v.grad += (1 - t * t) * out.grad

    out._backward = _backward
    return out


def micrograd_chain(statements: int, h0: float, w0: float, b0: float) -> tuple[float, float, float]:
    """PyPI micrograd's Value (its backward builds the topological order recursively)."""
    from micrograd.engine import Value

    if sys.getrecursionlimit() < 10 * statements + 1000:
        sys.setrecursionlimit(10 * statements + 1000)
    h, w, b = Value(h0), Value(w0), Value(b0)
    x = h
    for _ in range(statements):
        x = _micrograd_tanh(x * w + b)
    x.backward()
    return float(h.grad), float(w.grad), float(b.grad)


_MUL, _ADD, _TANH = 0, 1, 2


def _tape_chain(statements: int, leaves: list, tanh: Callable[[Any], Any]) -> tuple[float, float, float]:
    """A minimal reverse-mode tape: values in a list, one (op, out, a, b) tuple per op-node."""
    values = list(leaves)
    tape = []
    record = tape.append
    h, w, b = 0, 1, 2
    for _ in range(statements):
        m = len(values)
        values.append(values[h] * values[w])
        record((_MUL, m, h, w))
        a = m + 1
        values.append(values[m] + values[b])
        record((_ADD, a, m, b))
        t = m + 2
        values.append(tanh(values[a]))
        record((_TANH, t, a, -1))
        h = t
    grads = [None] * len(values)
    grads[h] = values[h] * 0 + 1  # ones, in the values' own type
    for op, out, a, b in reversed(tape):
        g = grads[out]
        if op == _TANH:
            y = values[out]
            ga = g * (1 - y * y)
            grads[a] = ga if grads[a] is None else grads[a] + ga
        elif op == _ADD:
            grads[a] = g if grads[a] is None else grads[a] + g
            grads[b] = g if grads[b] is None else grads[b] + g
        else:
            ga, gb = g * values[b], g * values[a]
            grads[a] = ga if grads[a] is None else grads[a] + ga
            grads[b] = gb if grads[b] is None else grads[b] + gb
    return float(grads[0]), float(grads[1]), float(grads[2])


def numpy_tape_chain(statements: int, h0: float, w0: float, b0: float) -> tuple[float, float, float]:
    """The minimal tape on 0-d numpy values (np.ndarray leaves; numpy returns np.float64)."""
    return _tape_chain(statements, [np.array(h0), np.array(w0), np.array(b0)], np.tanh)


def float_tape_chain(statements: int, h0: float, w0: float, b0: float) -> tuple[float, float, float]:
    """The same minimal tape on Python floats with math.tanh."""
    return _tape_chain(statements, [float(h0), float(w0), float(b0)], math.tanh)


CHAIN_BASELINES = {
    "PyTorch eager": torch_chain,
    "micrograd": micrograd_chain,
    "numpy tape": numpy_tape_chain,
    "Python floats": float_tape_chain,
}

# --- MLP ---------------------------------------------------------------------------------------

MLP_GRADS = ("x", "W1", "b1", "W2", "b2", "W3", "b3")


def numpy_mlp(a: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
    """Hand-written forward and backward of relu(linear) → relu(linear) → linear → mean cross-entropy."""
    x, labels = a["x"], a["labels"].astype(np.intp)
    z1 = x @ a["W1"] + a["b1"]
    h1 = np.maximum(z1, 0.0)
    z2 = h1 @ a["W2"] + a["b2"]
    h2 = np.maximum(z2, 0.0)
    z3 = h2 @ a["W3"] + a["b3"]
    shifted = z3 - z3.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    n = x.shape[0]
    rows = np.arange(n)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    dz3 = exp / total
    dz3[rows, labels] -= 1.0
    dz3 /= n
    g = {"W3": h2.T @ dz3, "b3": dz3.sum(axis=0)}
    dz2 = (dz3 @ a["W3"].T) * (z2 > 0)
    g["W2"], g["b2"] = h1.T @ dz2, dz2.sum(axis=0)
    dz1 = (dz2 @ a["W2"].T) * (z1 > 0)
    g["W1"], g["b1"] = x.T @ dz1, dz1.sum(axis=0)
    g["x"] = dz1 @ a["W1"].T
    return loss, g


def torch_mlp_setup(a: dict[str, np.ndarray]) -> dict:
    import torch

    t = {name: torch.from_numpy(np.array(v)) for name, v in a.items() if name != "labels"}
    for v in t.values():
        v.requires_grad_(True)
    t["labels"] = torch.from_numpy(a["labels"].astype(np.int64))
    return t


def torch_mlp(t: dict) -> tuple[float, dict[str, np.ndarray]]:
    """PyTorch eager float64: F.linear-free, `x @ W + b` as in the program; F.cross_entropy."""
    import torch
    import torch.nn.functional as F

    for name in MLP_GRADS:
        t[name].grad = None
    h1 = torch.relu(t["x"] @ t["W1"] + t["b1"])
    h2 = torch.relu(h1 @ t["W2"] + t["b2"])
    loss = F.cross_entropy(h2 @ t["W3"] + t["b3"], t["labels"])
    loss.backward()
    with torch.no_grad():
        return loss.item(), {name: t[name].grad.numpy() for name in MLP_GRADS}

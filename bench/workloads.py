"""The programs and inputs every benchmark uses, in one place, so chainlens and the baselines
compute exactly the same graph."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from app.engine.limits import Limits

# Scalar chain: `h = tanh(h * w + b)` repeated; each statement is three op-nodes (mul, add, tanh).
CHAIN_LINE = "h = tanh(h * w + b)"
CHAIN_INPUTS = {"h": 0.3, "w": 0.5, "b": 0.1}

# The tutorial's chain-rule example: the "small request".
SMALL_REQUEST = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}, "grad_output": None}

MLP_PROGRAM = (
    "h1 = relu(linear(x, W1, b1))\n"
    "h2 = relu(linear(h1, W2, b2))\n"
    "loss = softmax_cross_entropy(linear(h2, W3, b3), labels)"
)


def chain_statements(op_nodes: int) -> int:
    return math.ceil(op_nodes / 3)


def chain_program(op_nodes: int) -> str:
    return "\n".join([CHAIN_LINE] * chain_statements(op_nodes))


def constants_chain_program(op_nodes: int) -> str:
    """The chain with a new name and its own constants on each line, as a program written out
    line by line is: `x1 = tanh(x0 * 0.5 + 0.1)`, `x2 = tanh(x1 * 0.7 + 0.3)`, ... (input x0)."""
    lines = range(1, chain_statements(op_nodes) + 1)
    return "\n".join(f"x{i} = tanh(x{i - 1} * 0.{i * 7 % 9 + 1} + 0.{i * 4 % 9 + 1})" for i in lines)


def names_chain_program(op_nodes: int) -> str:
    """The chain with a new name on each line: `x1 = tanh(x0 * w + b)`, `x2 = tanh(x1 * w + b)`,
    ... (inputs x0, w, b)."""
    return "\n".join(f"x{i} = tanh(x{i - 1} * w + b)" for i in range(1, chain_statements(op_nodes) + 1))


# The inputs of the two programs above: x0 is the chain's h.
CONSTANTS_CHAIN_INPUTS = {"x0": CHAIN_INPUTS["h"]}
NAMES_CHAIN_INPUTS = {"x0": CHAIN_INPUTS["h"], "w": CHAIN_INPUTS["w"], "b": CHAIN_INPUTS["b"]}


def chain_baseline_args(op_nodes: int) -> tuple[int, float, float, float]:
    """The arguments of every chain baseline in bench/baselines.py: (statements, h, w, b)."""
    return chain_statements(op_nodes), CHAIN_INPUTS["h"], CHAIN_INPUTS["w"], CHAIN_INPUTS["b"]


def chain_request(op_nodes: int) -> dict:
    return {"expression": chain_program(op_nodes), "inputs": dict(CHAIN_INPUTS), "grad_output": None}


# Figure 3 also measures the chain's computation written as a new user would, every line different
# (issue 24): the parser cannot replay a record of its first line, and no label or formula repeats.
# Each is `statements` lines of three op-nodes, as the chain.


def constants_program(op_nodes: int) -> str:
    """`h = tanh(h * w + c)` with a constant c of its own on each line (chain_constants)."""
    return "\n".join(f"h = tanh(h * w + {c!r})" for c in chain_constants(op_nodes))


def chain_constants(op_nodes: int) -> list[float]:
    """The constants of constants_program, one a line: 0.1, 0.10001, 0.10002, ..."""
    return [round(0.1 + i * 1e-5, 5) for i in range(chain_statements(op_nodes))]


def names_program(op_nodes: int) -> str:
    """`x1 = tanh(x0 * w + b)`, `x2 = tanh(x1 * w + b)`, ...: a new name on each line."""
    return "\n".join(f"x{i + 1} = tanh(x{i} * w + b)" for i in range(chain_statements(op_nodes)))


def figure_3_requests(op_nodes: int) -> dict[str, dict]:
    """Figure 3's programs by name (the repeated line first), as request bodies."""
    inputs = dict(CHAIN_INPUTS)
    return {
        "repeated line": chain_request(op_nodes),
        "constants differ": {
            "expression": constants_program(op_nodes),
            "inputs": {"h": inputs["h"], "w": inputs["w"]},
            "grad_output": None,
        },
        "names differ": {
            "expression": names_program(op_nodes),
            "inputs": {"x0": inputs["h"], "w": inputs["w"], "b": inputs["b"]},
            "grad_output": None,
        },
    }


def mlp_inputs(sizes: tuple[int, ...], batch: int) -> dict:
    """JSON inputs for MLP_PROGRAM: initializers for x and the weights, integer labels.

    x keeps requires_grad (the default), so every implementation also computes ∂loss/∂x.
    """
    d_in, h1, h2, d_out = sizes
    inputs: dict = {"x": {"init": "randn", "shape": [batch, d_in], "seed": 1}}
    for i, (fan_in, fan_out) in enumerate(((d_in, h1), (h1, h2), (h2, d_out)), start=1):
        inputs[f"W{i}"] = {"init": "randn", "shape": [fan_in, fan_out], "seed": 10 + i, "scale": 1 / math.sqrt(fan_in)}
        inputs[f"b{i}"] = {"init": "uniform", "shape": [fan_out], "seed": 20 + i, "low": -0.1, "high": 0.1}
    inputs["labels"] = {"value": [i % d_out for i in range(batch)], "requires_grad": False}
    return inputs


def decoded(inputs: dict, limits: Limits) -> dict:
    """JSON inputs decoded as the server decodes them (app.core.evaluate), within `limits`."""
    from app.engine.inputs import decode

    return {name: decode(name, raw, limits.max_tensor_elements) for name, raw in inputs.items()}


def mlp_arrays(inputs: dict) -> dict[str, np.ndarray]:
    """The same values as chainlens decodes them (so the baselines start from identical arrays)."""
    from app.engine.inputs import decode

    return {name: np.asarray(decode(name, raw, 10**9).value) for name, raw in inputs.items()}

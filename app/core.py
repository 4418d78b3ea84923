"""The whole computation for one request, from program text and JSON-like inputs to a Result.

Used by the API, the tests and the benchmarks alike: decode the inputs (sizes checked before
allocation), parse and build the graph (shapes, node count and work checked as it grows), then
run the forward pass and, unless asked not to, the backward pass.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.engine.errors import ProgramError
from app.engine.expand import Expand
from app.engine.inputs import decode, tensor
from app.engine.limits import Limits
from app.engine.run import Result, run
from app.lang import parse


def evaluate(
    program: str,
    inputs: Mapping[str, Any],
    grad_output: Any = None,
    *,
    limits: Limits = Limits(),
    backward: bool = True,
    expand: Any = None,
) -> Result:
    """`expand`: null, "all" or a list of composite op names to build as their primitives."""
    if not isinstance(inputs, Mapping):
        raise ProgramError("invalid_input", "inputs must be an object mapping names to values")
    decoded = {name: decode(name, raw, limits.max_tensor_elements) for name, raw in inputs.items()}
    graph = parse(program, decoded, limits, Expand.from_request(expand))
    seed = None
    if backward and grad_output is not None:
        seed = tensor("grad_output", grad_output, limits.max_tensor_elements)
    return run(graph, seed, with_backward=backward)

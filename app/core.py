"""The whole computation for one request, from program text and JSON-like inputs to a Result.

Used by the API, the tests and the benchmarks alike: declare the inputs (shapes and sizes checked,
nothing allocated), parse and build the graph (shapes, node count and work checked as it grows),
let the caller's `plan` see the graph before anything is allocated (the API estimates the
request's memory there), build the inputs the program uses (unused ones never are), then run
the forward pass and, unless asked not to, the backward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from app import datasets
from app.engine.errors import LimitExceeded, ProgramError
from app.engine.expand import Expand
from app.engine.graph import Graph
from app.engine.inputs import Input, declare, tensor_shape
from app.engine.limits import Limits
from app.engine.run import Result, run
from app.lang import parse

datasets.install()  # inputs like {"dataset": "digits", ...} are declared through the engine's hook


def declare_inputs(inputs: Mapping[str, Any], limits: Limits) -> dict[str, Input]:
    """Every input checked and shaped, none built; their count and total size are limited."""
    if not isinstance(inputs, Mapping):
        raise ProgramError("invalid_input", "inputs must be an object mapping names to values")
    if len(inputs) > limits.max_inputs:
        raise LimitExceeded(f"the request has {len(inputs)} inputs; the limit is {limits.max_inputs}")
    declared = {name: declare(name, raw, limits.max_tensor_elements) for name, raw in inputs.items()}
    total = sum(given.elements for given in declared.values())
    if total > limits.max_input_elements:
        raise LimitExceeded(f"the inputs have {total} elements together; the limit is {limits.max_input_elements}")
    return declared


def evaluate(
    program: str,
    inputs: Mapping[str, Any],
    grad_output: Any = None,
    *,
    limits: Limits = Limits(),
    backward: bool = True,
    check: Callable[[], None] | None = None,
    plan: Callable[[Graph, dict[str, Input]], None] | None = None,
    expand: Any = None,
    parsed: tuple[Graph, dict[str, Input]] | None = None,
) -> Result:
    """`check` is called between stages and every few hundred nodes of the passes; it may raise
    to stop the computation (the API passes a job's check, which raises once the client left).
    `plan(graph, inputs)` runs once the graph is built and before any tensor is; it may raise
    (the API's memory estimate does, past the budget). `expand`: null, "all" or a list of
    composite op names to build as their primitives (app/engine/expand.py). `parsed`: the graph
    and declared inputs an earlier call with the same arguments handed to `plan` when plan
    stopped it (the API's job moving to another lane), used instead of parsing again."""
    if parsed is None:
        declared = declare_inputs(inputs, limits)
        graph = parse(program, declared, limits, Expand.from_request(expand))
    else:
        graph, declared = parsed
    seed_spec = None
    if backward and grad_output is not None:
        seed_spec = tensor_shape("grad_output", grad_output, limits.max_tensor_elements)
    if check is not None:
        check()
    if plan is not None:
        plan(graph, declared)
    values = graph.values
    for node, name in enumerate(graph.names):
        if graph.ops[node] is None and values[node] is None and name in declared:
            values[node] = declared[name].built()
    seed = None
    if seed_spec is not None:
        seed = (seed_spec[1](), seed_spec[0])
    if check is not None:
        check()
    return run(graph, seed, with_backward=backward, check=check)


class Request(Protocol):
    """What a graph request carries (app/api/schemas.py's GraphRequest): the program, its inputs,
    the upstream gradient and the composites to open."""

    @property
    def expression(self) -> str: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def grad_output(self) -> Any: ...
    @property
    def expand(self) -> Any: ...


def evaluate_request(
    request: Request,
    limits: Limits,
    *,
    backward: bool = True,
    check: Callable[[], None] | None = None,
    plan: Callable[[Graph, dict[str, Input]], None] | None = None,
    parsed: tuple[Graph, dict[str, Input]] | None = None,
) -> Result:
    """`evaluate` of a graph request's fields: the routes and the in-process API run their requests
    through this one call."""
    return evaluate(
        request.expression,
        request.inputs,
        request.grad_output,
        limits=limits,
        backward=backward,
        check=check,
        plan=plan,
        expand=request.expand,
        parsed=parsed,
    )

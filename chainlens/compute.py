"""backward, forward and gradcheck in-process: the HTTP routes' computation without HTTP.

Each call is what POST /graph/backward, /graph/forward or /graph/gradcheck does with the same
request: the request validated by the same model (GraphRequest), the program run by
app.core.evaluate_request under the server's Settings (the CHAINLENS_* environment read by
app.settings.load_settings: node, size and work limits, and the per-request memory estimate
checked before anything is allocated), and the body written by the same encoder
(app.api.encode.graph_chunks, app.api.check.gradcheck_compute). Nothing is reimplemented here:
this module only hands the routes' functions a request and a Job of its own.

A problem with the program or its inputs raises chainlens.ProgramError with the kind, message,
line and column of the HTTP 4xx answer (app.api.errors.error_body writes both).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.api.budget import estimate
from app.api.check import gradcheck_compute
from app.api.encode import graph_chunks
from app.api.errors import STATUS, _validation_message, error_body
from app.api.jobs import Job
from app.api.schemas import GraphRequest
from app.core import evaluate_request
from app.engine import errors as engine_errors
from app.engine.graph import Graph
from app.engine.inputs import Input
from app.engine.run import Result as EngineResult
from app.settings import Settings, load_settings


class ProgramError(Exception):
    """What the HTTP API answers with a 4xx: `kind`, `message` (with "(line L, column C)" where
    it has a place), `line`, `column`, `end_line`, `end_column`, `input`, `suggestions`, and the
    HTTP `status` it would have had (422, or 413 for a limit)."""

    def __init__(self, error: Mapping[str, Any], status: int = 422) -> None:
        super().__init__(error["message"])
        self.error = dict(error)
        self.status = status
        self.kind: str = error["kind"]
        self.message: str = error["message"]
        self.line: int | None = error.get("line")
        self.column: int | None = error.get("column")
        self.end_line: int | None = error.get("end_line")
        self.end_column: int | None = error.get("end_column")
        self.input: str | None = error.get("input")
        self.suggestions: list[str] = list(error.get("suggestions") or [])

    def to_json(self) -> str:
        """The HTTP error body, `{"error": {...}}`."""
        return json.dumps({"error": self.error})


@functools.cache
def settings() -> Settings:
    """The server's settings, read once from the environment (CHAINLENS_*), as the app reads them."""
    return load_settings()


def jsonable(value: Any) -> Any:
    """An input as the JSON request would carry it: numpy arrays and scalars (and anything with
    `.tolist()`, such as a tensor detached by the caller) as nested lists of Python numbers."""
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


def request(program: Any, inputs: Mapping[str, Any] | None, named: Mapping[str, Any], **fields: Any) -> GraphRequest:
    """The request the HTTP body would hold, validated by the routes' own model."""
    given = dict(inputs or {}) if isinstance(inputs, Mapping) or inputs is None else inputs
    if isinstance(given, dict):
        given.update(named)
    data = {
        "expression": program,
        "inputs": jsonable(given),
        **{key: jsonable(value) for key, value in fields.items() if value is not None},
    }
    try:
        return GraphRequest.model_validate(data)
    except ValidationError as exc:
        located = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise ProgramError(
            {"kind": "invalid_request", "message": _validation_message(RequestValidationError(located))}
        ) from None


def raised(exc: BaseException, program: str | None) -> ProgramError:
    """The ProgramError for what the computation raised, as the HTTP error handlers answer it."""
    if isinstance(exc, engine_errors.ProgramError):
        return ProgramError(error_body(exc, program)["error"], STATUS.get(exc.kind, 422))
    # RecursionError, MemoryError: app.api.errors answers these 413 too.
    return ProgramError(
        {"kind": "limit_exceeded", "message": "the request is too large to compute on this server"}, 413
    )


class Result:
    """A computed graph: `.value` (the output), `.grads` (input name → gradient), `.nodes` and
    `.steps` (as the HTTP body has them), `.program`, `.inputs`, and `.to_json()`, the body
    POST /graph/backward (or /graph/forward) answers for the same request."""

    def __init__(self, body: GraphRequest, engine: EngineResult, backward: bool, config: Settings) -> None:
        self.program: str = body.expression
        self.inputs: dict[str, Any] = body.inputs
        self.grad_output: Any = body.grad_output
        self.expand: Any = body.expand  # the composites opened into their primitives, as asked
        self.engine = engine  # the engine's own Result: the graph, every value and gradient
        self.backward = backward
        self._settings = config
        self._body: dict[str, Any] | None = None

    @property
    def graph(self) -> Graph:
        return self.engine.graph

    @property
    def value(self) -> Any:
        """The output's value: a float, or a float64 array."""
        output = cast("int", self.graph.output)  # a parsed program always has one
        return self.graph.values[output]

    @property
    def grads(self) -> dict[str, Any]:
        """Every input that takes a gradient → its gradient (a float, or an array of the input's shape);
        empty after forward()."""
        graph, grads = self.graph, self.engine.grads
        if grads is None:
            return {}
        return {
            name: grads[node]
            for node, name in enumerate(graph.names)
            if graph.ops[node] is None
            and name is not None
            and not graph.constant[node]
            and graph.requires_grad[node]
            and grads[node] is not None
        }

    def to_json(self, format: str = "objects") -> str:
        """The HTTP body for this request (`format` "columns": as with ?format=columns)."""
        config = self._settings
        chunks = graph_chunks(self.engine, config.max_full_elements, config.max_step_elements, layout=format)
        return b"".join(chunks).decode()

    def _decoded(self) -> dict[str, Any]:
        if self._body is None:
            self._body = json.loads(self.to_json())
        return self._body

    @property
    def nodes(self) -> list[dict[str, Any]]:
        """The body's nodes: id, op, name, label, shape, value, grad, inputs, span (docs/api.md)."""
        return list(self._decoded()["nodes"])

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The body's steps: the forward steps, then one backward step per edge (docs/api.md)."""
        return list(self._decoded()["steps"])

    def __repr__(self) -> str:
        kind = "backward" if self.backward else "forward"
        return f"<chainlens {kind} result: {len(self.graph)} nodes, value {self.value!r}>"


def run(
    program: str,
    inputs: Mapping[str, Any] | None,
    named: Mapping[str, Any],
    *,
    backward: bool,
    grad_output: Any = None,
    expand: Any = None,
    config: Settings | None = None,
) -> Result:
    """What POST /graph/backward (backward=True) or /graph/forward computes for this request."""
    config = config or settings()
    return run_request(request(program, inputs, named, grad_output=grad_output, expand=expand), backward, config)


def run_request(
    body: GraphRequest, backward: bool, config: Settings, attach: Callable[[Graph], None] | None = None
) -> Result:
    """What POST /graph/backward or /graph/forward computes for a validated request (the widget's
    kernel messages come here too, chainlens/messages.py; `attach(graph)` sees the built graph
    first, where the widget puts back a from_torch result's module groups)."""
    job = Job(config.max_request_memory)

    def plan(graph: Graph, declared: dict[str, Input]) -> None:  # as app/api/graph.py plans
        if attach is not None:
            attach(graph)
        job.require(estimate(graph, backward, config.max_full_elements, config.max_step_elements))

    try:
        engine = evaluate_request(body, config.limits, backward=backward, check=job.check, plan=plan)
    except (engine_errors.ProgramError, RecursionError, MemoryError) as exc:
        raise raised(exc, body.expression) from None
    return Result(body, engine, backward, config)


class GradcheckResult:
    """POST /graph/gradcheck's answer: `.max_rel_error`, `.checks` (input name → its numeric and
    analytic gradients and their relative errors), `.method`, and `.to_json()`, the body itself."""

    def __init__(self, body: GraphRequest, text: bytes) -> None:
        self.program: str = body.expression
        self.inputs: dict[str, Any] = body.inputs
        self._text = text
        data = json.loads(text)
        self.checks: dict[str, dict[str, Any]] = data["inputs"]
        self.method: dict[str, Any] = data["method"]
        self.max_rel_error: float = float(data["max_rel_error"])

    def to_json(self) -> str:
        return self._text.decode()

    def __repr__(self) -> str:
        return f"<chainlens gradcheck: {len(self.checks)} inputs, max_rel_error {self.max_rel_error:.3g}>"


def check(
    program: str,
    inputs: Mapping[str, Any] | None,
    named: Mapping[str, Any],
    *,
    grad_output: Any = None,
    expand: Any = None,
    config: Settings | None = None,
) -> GradcheckResult:
    """What POST /graph/gradcheck computes: the route's own compute function, with a Job of our own."""
    config = config or settings()
    body = request(program, inputs, named, grad_output=grad_output, expand=expand)
    try:
        text = gradcheck_compute(body, config, Job(config.max_request_memory))
    except (engine_errors.ProgramError, RecursionError, MemoryError) as exc:
        raise raised(exc, body.expression) from None
    return GradcheckResult(body, text)

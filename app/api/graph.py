"""POST /graph/backward and /graph/forward: thin routes over app.core.evaluate."""
from __future__ import annotations

import contextlib
import gc
import threading
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from app.api.encode import graph_body
from app.api.errors import program_error_response
from app.api.schemas import CHAIN_RULE, ErrorResponse, GraphRequest, GraphResponse
from app.core import evaluate
from app.engine.errors import ProgramError

router = APIRouter(prefix="/graph", tags=["graph"])

_RESPONSES = {
    200: {"model": GraphResponse, "description": "The graph, its values, gradients and steps."},
    413: {"model": ErrorResponse, "description": "The program or its inputs exceed a configured limit."},
    422: {"model": ErrorResponse, "description": "The program or its inputs are wrong; line and column say where."},
}


# Shown at /docs in "Try it out"; each one runs as it is.
_EXAMPLES = {
    "chain-rule": {"summary": "The chain rule: f = (x + y) * z", "value": CHAIN_RULE},
    "shared-parameter": {
        "summary": "A tensor used twice, a broadcast bias, an upstream gradient",
        "value": {
            "expression": "y = (x * a + b) * a",
            "inputs": {"x": [[1, 2], [3, 4]], "a": [[0.5, -1], [2, 1]], "b": [1, -1]},
            "grad_output": [[1, 1], [1, 1]],
        },
    },
}
Program = Annotated[GraphRequest, Body(openapi_examples=_EXAMPLES)]

_gc_lock = threading.Lock()
_gc_pausers = 0


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector until the last of the requests that paused it is done.

    Requests run concurrently in the thread pool: a plain disable/enable pair would let the first
    request to finish turn the collector back on under another one still building its graph.
    """
    global _gc_pausers
    with _gc_lock:
        _gc_pausers += 1
        gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if not _gc_pausers:
                gc.enable()


def _answer(request: Request, body: GraphRequest, backward: bool) -> Response:
    # A plain `def` route: FastAPI runs it in its thread pool, so a long computation never blocks
    # the event loop that answers /healthz and other requests.
    # The cyclic garbage collector is paused while a graph is built and encoded: those objects hold
    # no cycles, and collections triggered by their sheer number (scanning every live object of the
    # server each time) slowed the building of a 10k-node graph several-fold.
    settings = request.app.state.settings
    try:
        with _gc_paused():
            result = evaluate(body.expression, body.inputs, body.grad_output, limits=settings.limits,
                              backward=backward, expand=body.expand)
            content = graph_body(result, settings.max_full_elements, settings.max_step_elements)
    except ProgramError as exc:
        return program_error_response(exc, body.expression)
    return Response(content, media_type="application/json")


@router.post("/backward", responses=_RESPONSES, response_class=Response)
def backward(request: Request, body: Program) -> Response:
    """Build the program's graph, run the forward and backward passes, and return every node's value
    and gradient with the step-by-step timeline (forward steps, then one backward step per edge)."""
    return _answer(request, body, backward=True)


@router.post("/forward", responses=_RESPONSES, response_class=Response)
def forward(request: Request, body: Program) -> Response:
    """Build the program's graph and run the forward pass only: values, no gradients."""
    return _answer(request, body, backward=False)

"""POST /graph/backward and /graph/forward: thin routes over app.core.evaluate."""

from __future__ import annotations

import gc
import threading
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.api.body import body_openapi, run_parsed
from app.api.budget import estimate, seconds
from app.api.check import replay_compute
from app.api.compression import accepts_gzip, gzipped
from app.api.encode import BodyChunks, graph_chunks
from app.api.jobs import Job
from app.api.schemas import CHAIN_RULE, COMPUTE_ERRORS, GraphColumns, GraphRequest, GraphResponse
from app.core import evaluate_request
from app.engine.graph import Graph
from app.engine.inputs import Input
from app.engine.run import Result
from app.settings import Settings

router = APIRouter(prefix="/graph", tags=["graph"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": GraphResponse | GraphColumns,
        "description": "The graph, its values, gradients and steps (with `format=columns`, column by column).",
    },
    **COMPUTE_ERRORS,
}

Layout = Literal["objects", "columns"]
# The same for every route that answers a graph body (here and POST /train/graph).
FORMAT = Query(
    "objects",
    description=(
        "`objects` (default): `nodes` and `steps` as lists of objects. `columns`: the same content column "
        "by column, each field one list, formulas as indices into `formulas` (docs/api.md, Large responses)."
    ),
)


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
# The body is read as bytes and parsed in the job (app/api/body.py); documented as a model.
_BODY = body_openapi(GraphRequest, _EXAMPLES)


def encoded(result: Result, settings: Settings, layout: Layout, gzip: bool) -> tuple[list[bytes], bool]:
    """In the job: the graph body's chunks in `layout`, gzipped when the client takes it."""
    return gzipped(graph_chunks(result, settings.max_full_elements, settings.max_step_elements, layout=layout), gzip)


class _Pausers:
    """How many requests have the collector paused, changed under the lock: requests run
    concurrently in the thread pool, and a plain disable/enable pair would let the first request
    to finish turn the collector back on under another one still building its graph."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0


_gc_pausers = _Pausers()


class _RequestPause:
    """One request's pause of the cyclic garbage collector, held from its first compute to its
    answer, across a move to another lane: the graph parsed by the first try waits for the second
    with the collector paused. Collections run at the first allocations after the collector is
    back on, over every object made while it was off that is still alive: a 10,000-node graph
    kept for the second try, or a result not yet freed, cost a 1.5 ms collection of the young
    objects, and every tenth of those a 10 ms one (4 ms per request on average). Released once,
    whoever releases it first (the route when its answer is ready, or the client went away); a
    hold after that (a try that starts once the client has gone) does nothing."""

    __slots__ = ("held", "released")

    def __init__(self) -> None:
        self.held = self.released = False

    def hold(self) -> None:
        with _gc_pausers.lock:
            if self.held or self.released:
                return
            self.held = True
            _gc_pausers.count += 1
            gc.disable()

    def release(self) -> None:
        with _gc_pausers.lock:
            if self.released:
                return
            self.released = True
            if self.held:
                _gc_pausers.count -= 1
                if not _gc_pausers.count:
                    gc.enable()


async def _answer(request: Request, backward: bool, layout: Layout) -> Response:
    """Parse, run and encode (and gzip, for a client that takes it) in the job pool
    (app/api/jobs.py): never on the event loop, within the per-request memory budget, stopped
    when the client goes away."""
    settings = request.app.state.settings
    gzip = accepts_gzip(request)
    # The graph as the first try parsed it, and its estimates: a large program's estimate moves its
    # job out of the event loop's lane (app/api/jobs.py, Reroute), and compute starts again in a
    # worker thread, where the program is not parsed (20-30 ms of a 10,000-node program) nor
    # estimated (4 ms) a second time.
    parsed: list[tuple[Graph, dict[str, Input]]] = []
    estimates: list[tuple[int, float]] = []

    def compute(body: GraphRequest, job: Job) -> tuple[list[bytes], bool]:
        if backward and body.mode != "correct":  # the tutorial's mistakes (app/api/check.py)
            return gzipped(replay_compute(body, settings, job, layout), gzip)

        def plan(graph: Graph, inputs: dict[str, Input]) -> None:  # between parsing and building: nothing allocated yet
            if not estimates:  # the first try: the second takes the graph from `parsed`
                parsed.append((graph, inputs))
                memory = estimate(
                    graph, backward, settings.max_full_elements, settings.max_step_elements, layout=layout
                )
                estimates.append((memory, seconds(graph, backward)))
            memory, expected = estimates[0]
            job.require(memory)
            job.expect(expected)  # a large one leaves the event loop here

        # The cyclic garbage collector is paused while a graph is built and encoded: those objects
        # hold no cycles, and collections triggered by their sheer number (scanning every live
        # object of the server each time) slowed the building of a 10k-node graph several-fold.
        # The result is freed before the collector is back on (_RequestPause says why).
        pause.hold()
        result = evaluate_request(
            body,
            settings.limits,
            backward=backward,
            check=job.check,
            plan=plan,
            parsed=parsed.pop() if parsed else None,
        )
        job.check()
        return encoded(result, settings, layout, gzip)

    pause = _RequestPause()
    try:
        content = await run_parsed(request, GraphRequest, compute, inline=True)
    finally:
        parsed.clear()
        pause.release()
    if isinstance(content, Response):
        return content
    chunks, compressed = content
    return BodyChunks(chunks, gzipped=compressed)


@router.post("/backward", responses=_RESPONSES, response_class=Response, openapi_extra=_BODY)
async def backward(request: Request, format: Layout = FORMAT) -> Response:
    """Build the program's graph, run the forward and backward passes, and return every node's value
    and gradient with the step-by-step timeline (forward steps, then one backward step per edge).
    With `mode` "naive-recursion" or "overwrite", replay that mistake instead, with `diverges`."""
    return await _answer(request, backward=True, layout=format)


@router.post("/forward", responses=_RESPONSES, response_class=Response, openapi_extra=_BODY)
async def forward(request: Request, format: Layout = FORMAT) -> Response:
    """Build the program's graph and run the forward pass only: values, no gradients."""
    return await _answer(request, backward=False, layout=format)

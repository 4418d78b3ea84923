"""POST /train (a run streamed as NDJSON), POST /train/graph (step k's graph), POST /train/html (step
k's graph as a standalone HTML file), POST /train/gradcheck (step k's gradient check) and GET /datasets.

Thin routes over app.train, run in the shared job pool (app/api/jobs.py), never on the event loop:
the body is parsed and the run prepared in a job (decoding, parsing the program, every check: a
bad request is a 4xx JSON answer before anything streams), then the run is streamed by
`stream_job`, which stops it when the client goes away.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any, TypeVar, cast, overload

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field

from app import datasets
from app.api.body import body_openapi, run_parsed
from app.api.budget import TEXT_PER_NUMBER, estimate, seconds
from app.api.check import HTML_RESPONSES, gradcheck_body, html_bytes, html_page, not_built, plan_gradcheck, value_bytes
from app.api.compression import accepts_gzip
from app.api.encode import BodyChunks, _value, dumps
from app.api.graph import FORMAT, Layout, encoded
from app.api.jobs import Job, stream_job
from app.api.schemas import COMPUTE_ERRORS, GraphColumns, GraphRequest, GraphResponse
from app.api.standalone import viewer_module
from app.check import gradcheck as finite_differences
from app.examples import TRAIN_EXAMPLES
from app.train import TrainConfig, TrainingRun, TrainLimits
from app.train.config import MAX_COUNT
from app.train.run import Emit

router = APIRouter(tags=["train"])


class TrainRequest(GraphRequest):
    train: TrainConfig = Field(description="what to train, with which optimizer, for how many steps (docs/api.md)")


class TrainGraphRequest(TrainRequest):
    at: int = Field(description="the step whose graph to answer, 1 to train.steps", strict=True, ge=1, le=MAX_COUNT)


T = TypeVar("T")
_EXAMPLES = {
    example["id"]: {
        "summary": example["title"],
        "value": {key: example[key] for key in ("expression", "inputs", "train")},
    }
    for example in TRAIN_EXAMPLES
}
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/x-ndjson": {}},
        "description": "One JSON object a line: start, records, then done or error (docs/api.md).",
    },
    **COMPUTE_ERRORS,
}
_GRAPH: dict[int | str, dict[str, Any]] = {
    200: {"model": GraphResponse | GraphColumns, "description": "Step k's graph, as /graph/backward answers."},
    **COMPUTE_ERRORS,
}


@overload
async def _prepared(
    request: Request, model: type[TrainRequest], then: None = None
) -> tuple[TrainRequest, TrainingRun, None] | Response: ...
@overload
async def _prepared(
    request: Request, model: type[TrainRequest], then: Callable[[Job, TrainingRun, Any], T]
) -> tuple[TrainRequest, TrainingRun, T] | Response: ...
async def _prepared(
    request: Request,
    model: type[TrainRequest],
    then: Callable[[Job, TrainingRun, Any], T] | None = None,
) -> tuple[TrainRequest, TrainingRun, T | None] | Response:
    """(the request, its prepared run, then(job, run, body)'s answer), all computed in a job;
    a ProgramError comes out as its 4xx answer, located in the request's program."""
    settings = request.app.state.settings

    def compute(body: TrainRequest, job: Job) -> tuple[TrainRequest, TrainingRun, T | None]:
        run = TrainingRun(
            body.expression,
            body.inputs,
            body.train,
            settings.limits,
            TrainLimits(
                max_steps=settings.max_train_steps,
                max_work=settings.max_train_work,
                max_seconds=settings.max_train_seconds,
            ),
        )
        job.require(run.memory_bytes())
        return body, run, then(job, run, body) if then else None

    return await run_parsed(request, model, compute)


@router.post("/train", responses=_STREAM, response_class=Response, openapi_extra=body_openapi(TrainRequest, _EXAMPLES))
async def train(request: Request) -> Response:
    """Train the program's parameters and stream the run as NDJSON: a `start` line, a `record`
    every `record_every` steps (losses, eval loss and accuracy, parameter and node health), then
    `done` with the trained values, or `error` if the run diverges."""
    prepared = await _prepared(request, TrainRequest)
    if isinstance(prepared, Response):
        return prepared
    _, run, _ = prepared
    max_full = request.app.state.settings.max_trained_elements

    def compute(job: Job, emit: Emit) -> None:
        run.stream(emit, check=job.check, tensor=lambda value: _value(value, max_full))

    return stream_job(
        request,
        compute,
        memory_bytes=run.memory_bytes() + run.done_bytes(max_full),
        expected=run.estimate["estimated_seconds"],
    )


@router.post("/train/graph", responses=_GRAPH, response_class=Response, openapi_extra=body_openapi(TrainGraphRequest))
async def train_graph(request: Request, format: Layout = FORMAT) -> Response:
    """The graph of step `at` of the run the same request would stream: the parameters before that
    step's update and that step's batch, with every value, gradient and chain-rule step."""
    settings = request.app.state.settings
    gzip = accepts_gzip(request)

    def answer(job: Job, run: TrainingRun, body: TrainGraphRequest) -> tuple[list[bytes], bool]:
        job.require(estimate(run.graph, True, settings.max_full_elements, settings.max_step_elements, layout=format))
        job.expect(run.seconds_through(body.at) + seconds(run.graph))  # a long replay leaves the small lane
        result = run.graph_at(body.at, check=job.check)
        return encoded(result, settings, format, gzip)

    prepared = await _prepared(request, TrainGraphRequest, answer)
    if isinstance(prepared, Response):
        return prepared
    chunks, compressed = prepared[2]
    return BodyChunks(chunks, gzipped=compressed)


def step_program(run: TrainingRun, body: TrainRequest) -> dict[str, Any]:
    """After run.graph_at(k): step k's program as a plain POST /graph/backward request, which computes
    the same graph. Each input the program uses holds what its leaf holds at step k (a parameter
    θ(k−1), a dataset input step k's batch, taking no gradient); the inputs it does not use are left
    out, as they change nothing."""
    graph = run.graph
    inputs: dict[str, Any] = {}
    for name in body.inputs:
        node = run.leaves.get(name)
        if node is None:
            continue
        value = graph.values[node]
        written = value.tolist() if isinstance(value, np.ndarray) else float(value)
        inputs[name] = written if graph.requires_grad[node] else {"value": written, "requires_grad": False}
    return {"expression": body.expression, "inputs": inputs, "grad_output": None}


# A number of the saved request's inputs: two lists of Python floats (tolist, the page's own copy)
# and four texts (its JSON, the saved data's, the page's and its bytes).
SAVED_NUMBER_BYTES = 2 * 32 + 4 * TEXT_PER_NUMBER


def _leaf_elements(run: TrainingRun) -> int:
    return sum(max(1, prod(run.graph.shapes[node])) for node in run.leaves.values())


@router.post(
    "/train/html", responses=HTML_RESPONSES, response_class=Response, openapi_extra=body_openapi(TrainGraphRequest)
)
async def train_html(request: Request) -> Response:
    """Step `at`'s graph (what POST /train/graph answers) as one standalone HTML file, as POST
    /graph/html writes one: its saved request is step k's program with θ(k−1) and step k's batch as
    plain inputs, which POST /graph/backward computes to the same graph."""
    settings = request.app.state.settings

    def answer(job: Job, run: TrainingRun, body: TrainGraphRequest) -> bytes:
        viewer = viewer_module()
        run.check_step(body.at)  # refused before the replay is sized
        # The run's arrays, step k's graph and its page, and the saved request's inputs as lists and as text.
        job.require(
            run.memory_bytes()
            + estimate(run.graph, True, settings.max_full_elements, settings.max_step_elements)
            + html_bytes(run.graph, settings, viewer)
            + SAVED_NUMBER_BYTES * _leaf_elements(run)
        )
        # The replay, step k's run, and writing its body and page.
        job.expect(run.seconds_through(body.at) + 2 * seconds(run.graph))
        result = run.graph_at(body.at, check=job.check)
        job.check()
        return html_page(result, step_program(run, body), settings, job)

    prepared = not_built() or await _prepared(request, TrainGraphRequest, answer)
    if isinstance(prepared, Response):
        return prepared
    return Response(prepared[2], media_type="text/html; charset=utf-8")


class TrainGradcheckRequest(TrainRequest):
    at: int | None = Field(
        None, description="the step whose program to check, 1 to train.steps; default 1 (the first batch)", strict=True
    )


@router.post(
    "/train/gradcheck",
    responses={
        200: {"description": "What POST /graph/gradcheck answers for step k's program (docs/api.md)."},
        **COMPUTE_ERRORS,
    },
    response_class=Response,
    openapi_extra=body_openapi(TrainGradcheckRequest),
)
async def train_gradcheck(request: Request) -> Response:
    """The gradient check of step `at`'s program (default: step 1): what POST /graph/gradcheck
    answers with the parameters before that step's update and that step's batch as the inputs."""
    settings = request.app.state.settings

    def answer(job: Job, run: TrainingRun, body: TrainGradcheckRequest) -> bytes:
        step = 1 if body.at is None else body.at
        run.check_step(step)
        rows = run.rows_per_step()
        if rows is None:
            hint = "fewer or smaller parameters, or a shorter program, check faster"
        elif run.config.batch is None:
            hint = "give train.batch a size to check one step's batch of rows"
        else:
            hint = "a smaller train.batch.size checks faster"
        # refused here, before anything runs; the job learns the replay's and the check's time
        planned = plan_gradcheck(run.graph, settings, rows, hint, job, run.seconds_through(step))
        # the run's own arrays stay while step k's graph is run and its values made again per pass
        job.require(
            run.memory_bytes()
            + estimate(run.graph, True, settings.max_full_elements, settings.max_step_elements)
            + value_bytes(run.graph)
        )
        result = run.graph_at(step, check=job.check)
        # The backward pass ran, so the gradients are a list.
        checks = finite_differences.gradcheck(
            result.graph, cast("list[Any]", result.grads), result.seed, planned, job.check
        )
        return gradcheck_body(checks, settings)

    prepared = await _prepared(request, TrainGradcheckRequest, answer)
    if isinstance(prepared, Response):
        return prepared
    return Response(prepared[2], media_type="application/json")


@router.get("/datasets")
def list_datasets() -> Response:
    """The datasets inputs can draw rows from: fields, shapes, splits, classes, source and licence."""
    return Response(dumps({"datasets": datasets.describe()}), media_type="application/json")

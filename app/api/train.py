"""POST /train (a run streamed as NDJSON), POST /train/graph (step k's graph) and GET /datasets.

Thin routes over app.train, run in the shared job pool (app/api/jobs.py), never on the event loop:
the run is prepared first (decoding, parsing, every check: a bad request is a 4xx JSON answer
before anything streams), then streamed by `stream_job`, which stops it when the client goes away.
"""
from __future__ import annotations

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import Field

from app import datasets
from app.api.encode import _value, dumps, graph_body
from app.api.errors import program_error_response
from app.api.budget import estimate
from app.api.jobs import Job, run_job, stream_job
from app.api.schemas import ErrorResponse, GraphRequest, GraphResponse
from app.engine.errors import ProgramError
from app.examples import TRAIN_EXAMPLES
from app.train import TrainConfig, TrainingRun, TrainLimits

router = APIRouter(tags=["train"])


class TrainRequest(GraphRequest):
    train: TrainConfig = Field(description="what to train, with which optimizer, for how many steps (docs/api.md)")


class TrainGraphRequest(TrainRequest):
    at: int = Field(description="the step whose graph to answer, 1 to train.steps")


_ERRORS = {
    413: {"model": ErrorResponse, "description": "The run exceeds a configured limit (steps, work, time)."},
    422: {"model": ErrorResponse, "description": "The program, its inputs or the train config are wrong."},
}
_EXAMPLES = {example["id"]: {"summary": example["title"], "value": {
    key: example[key] for key in ("expression", "inputs", "train")}} for example in TRAIN_EXAMPLES}


def _train_limits(settings) -> TrainLimits:
    return TrainLimits(max_steps=settings.max_train_steps, max_work=settings.max_train_work,
                       max_seconds=settings.max_train_seconds)


def _prepare(request: Request, body: TrainRequest, job: Job) -> TrainingRun:
    settings = request.app.state.settings
    run = TrainingRun(body.expression, body.inputs, body.train, settings.limits, _train_limits(settings))
    job.require(run.memory_bytes())
    return run


@router.post("/train", responses={200: {"content": {"application/x-ndjson": {}},
                                        "description": "One JSON object a line: start, records, done or error."},
                                   **_ERRORS})
async def train(request: Request, body: TrainRequest = Body(openapi_examples=_EXAMPLES)) -> Response:
    """Train the program's parameters and stream the run as NDJSON: a `start` line, a `record`
    every `record_every` steps (losses, eval loss and accuracy, parameter and node health), then
    `done` with the trained values, or `error` if the run diverges."""
    max_full = request.app.state.settings.max_full_elements
    try:
        run = await run_job(request, lambda job: _prepare(request, body, job), memory_bytes=0)

        def compute(job: Job, emit) -> None:
            run.stream(emit, check=job.check, tensor=lambda value: _value(value, max_full))

        return stream_job(request, compute, memory_bytes=run.memory_bytes())
    except ProgramError as exc:
        return program_error_response(exc, body.expression)


@router.post("/train/graph", response_class=Response,
             responses={200: {"model": GraphResponse, "description": "Step k's graph, as /graph/backward answers."},
                        **_ERRORS})
async def train_graph(request: Request, body: TrainGraphRequest) -> Response:
    """The graph of step `at` of the run the same request would stream: the parameters before that
    step's update and that step's batch, with every value, gradient and chain-rule step."""
    settings = request.app.state.settings

    def compute(job: Job) -> bytes:
        run = _prepare(request, body, job)
        job.require(estimate(run.graph, True, settings.max_full_elements, settings.max_step_elements))
        result = run.graph_at(body.at, check=job.check)
        return graph_body(result, settings.max_full_elements, settings.max_step_elements)

    try:
        content = await run_job(request, compute, memory_bytes=0)
    except ProgramError as exc:
        return program_error_response(exc, body.expression)
    return Response(content, media_type="application/json")



@router.get("/datasets")
def list_datasets() -> Response:
    """The datasets inputs can draw rows from: fields, shapes, splits, classes, source and licence."""
    return Response(dumps({"datasets": datasets.describe()}), media_type="application/json")

"""A graph request's program evaluated in its job, as POST /graph/backward and /graph/forward do and
the Python API (chainlens/compute.py) does the same way: between parsing and building, before any
tensor exists, the job learns the request's memory estimate (413 past the budget) and its time
estimate (its lane: app/api/lanes.py; a job of no lane only records it), then the graph is built
and run, the job's check called between slices of nodes."""

from __future__ import annotations

from app.api.budget import estimate, seconds
from app.api.lanes import Job
from app.api.schemas import GraphRequest
from app.core import evaluate
from app.engine.graph import Graph
from app.engine.inputs import Input
from app.engine.run import Result
from app.settings import Settings


def evaluate_request(
    body: GraphRequest, settings: Settings, job: Job, *, backward: bool, layout: str = "objects"
) -> Result:
    """The request's program built and run under `settings`' limits within `job` (its answer to be
    written in `layout`, which the memory estimate counts)."""

    def plan(graph: Graph, inputs: dict[str, Input]) -> None:  # between parsing and building: nothing allocated yet
        job.require(estimate(graph, backward, settings.max_full_elements, settings.max_step_elements, layout=layout))
        job.expect(seconds(graph, backward))  # a large one leaves the event loop here

    return evaluate(
        body.expression,
        body.inputs,
        body.grad_output,
        limits=settings.limits,
        backward=backward,
        check=job.check,
        plan=plan,
        expand=body.expand,
    )

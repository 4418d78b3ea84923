"""POST /graph/gradcheck, /graph/pytorch and /graph/dot, and the replay modes of /graph/backward
(app/api/graph.py hands a request with `mode` to replay_compute).

Each route is a thin shell around a compute function `compute(body, settings, job)`: the program is
built and run by app.core.evaluate (its limits checked as it is built), the route's own work is
sized and checked against `settings.check` before it starts, and long loops call `job.check()`
so that a job runner can stop them when the client goes away.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any, cast

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app import datasets
from app.api.body import body_openapi, run_parsed
from app.api.budget import FLOAT, TEXT_PER_NUMBER, estimate, seconds
from app.api.encode import dumps, graph_chunks
from app.api.jobs import Job
from app.api.schemas import COMPUTE_ERRORS, GraphRequest
from app.api.standalone import VIEWER, standalone_page, viewer_module
from app.check import gradcheck as finite_differences
from app.check import replay
from app.check.limits import check_seconds
from app.core import evaluate_request
from app.engine.costs import seconds_in_words
from app.engine.errors import LimitExceeded
from app.engine.graph import Graph
from app.engine.inputs import Input, number
from app.engine.run import Result, forward
from app.export.dot import graph_dot
from app.export.pytorch import check_size, pytorch_script
from app.settings import Settings

router = APIRouter(prefix="/graph", tags=["check"])
DOT_NODE_BYTES = 3 * 400  # a node's record, oval and edges as text, str and bytes
# A step of the naive recursion's replay (recorded and written like a backward step).
REPLAY_STEP_SECONDS = 20e-6

_BODY = body_openapi(GraphRequest)


async def _run(request: Request, compute: Callable[[GraphRequest, Settings, Job], bytes], media_type: str) -> Response:
    """The body is read as bytes and parsed in the job (app/api/body.py), as /graph/backward does."""
    settings = request.app.state.settings
    content = await run_parsed(request, GraphRequest, lambda body, job: compute(body, settings, job))
    return content if isinstance(content, Response) else Response(content, media_type=media_type)


def _evaluate(body: GraphRequest, settings: Settings, job: Job, plan: Callable[[Graph], int]) -> Result:
    """The correct run of the request's program. `plan(graph)` sees the built graph before any
    tensor exists: it checks the route's own limits and answers the route's extra memory, which
    is checked with the engine's own estimate against the job's budget."""

    def planned(graph: Graph, inputs: dict[str, Input]) -> None:
        # The correct run, the route's own pass (a replay, a script, a DOT file) and its answer.
        job.expect(3 * seconds(graph))
        extra = plan(graph)
        job.require(estimate(graph, True, settings.max_full_elements, settings.max_step_elements) + extra)

    return evaluate_request(body, settings.limits, check=job.check, plan=planned)


def _listed(values: np.ndarray, scalar: bool) -> Any:
    items = [number(float(x)) for x in values.tolist()]
    return items[0] if scalar else items


def value_bytes(graph: Graph) -> int:
    """Every node's value once more, as float64."""
    return FLOAT * sum(prod(shape) for shape in graph.shapes)


# --- gradcheck -----------------------------------------------------------------------------------


def gradcheck_refusal(checked: int, rows: int | None, graph: Graph, work: int, limit: int, hint: str) -> str:
    """Why a gradient check is refused, in what it would do rather than in work units: "this checks
    330 numbers, each with 4 passes over 1,437 rows (about 5.3 seconds of computing; the limit is
    about 145 milliseconds); <hint>" (both times the per-op estimate's, app.check.limits.check_seconds)."""
    nodes = len(graph.computed())
    numbers = f"{checked:,} number{'s' if checked != 1 else ''}"
    over = (
        f"over {rows:,} row{'s' if rows != 1 else ''}"
        if rows is not None
        else f"through the program's {nodes:,} node{'s' if nodes != 1 else ''}"
    )
    return (
        f"this checks {numbers}, each with {finite_differences.PASSES} passes {over} "
        f"(about {seconds_in_words(check_seconds(graph, work))} of computing; "
        f"the limit is about {seconds_in_words(check_seconds(graph, limit))}); {hint}"
    )


def plan_gradcheck(
    graph: Graph, settings: Settings, rows: int | None, hint: str, job: Job, before_seconds: float = 0.0
) -> list[finite_differences.Planned]:
    """The elements to check, sized before anything runs: past the work limit a 413 that says why
    (`rows`: the rows of data each pass runs on, None without data; `hint`: what to do instead). The
    job learns the check's expected time, with `before_seconds` of work that comes first (a training
    step's replay), which picks its lane (app.api.lanes)."""
    planned = finite_differences.plan(graph, settings.check.gradcheck_sample)
    work = finite_differences.cost(graph, planned)
    job.expect(before_seconds + 3 * seconds(graph) + check_seconds(graph, work))
    limit = settings.check.max_gradcheck_work
    if work > limit:
        checked = sum(item.indices.size for item in planned)
        raise LimitExceeded(gradcheck_refusal(checked, rows, graph, work, limit, hint))
    return planned


def _dataset_rows(graph: Graph, inputs: Any) -> int | None:
    """The most rows among the dataset inputs the program uses ({"dataset": ...}), None without any."""
    used = {name: node for node, (op, name) in enumerate(zip(graph.ops, graph.names)) if op is None and name}
    rows = [
        graph.shapes[used[name]][0]
        for name, raw in inputs.items()
        if datasets.is_dataset(raw) and name in used and graph.shapes[used[name]]
    ]
    return max(rows, default=None)


def gradcheck_body(checks: list[finite_differences.InputCheck], settings: Settings) -> bytes:
    """The answer of /graph/gradcheck (and /train/gradcheck) for the checks made."""
    inputs = {}
    for check in checks:
        scalar = not check.shape
        inputs[check.name] = {
            "shape": list(check.shape),
            "elements": int(np.prod(check.shape)),
            "checked": int(check.indices.size),
            "indices": check.indices.tolist(),
            "numeric": _listed(check.numeric, scalar),
            "analytic": _listed(check.analytic, scalar),
            "rel_error": _listed(check.rel_error, scalar),
            "max_rel_error": number(check.max_rel_error),
        }
    worst = max((check.max_rel_error for check in checks), default=0.0)
    return dumps(
        {
            "inputs": inputs,
            "max_rel_error": number(worst),
            "method": {
                "difference": "fourth-order central: 4/3 · (L(x + h) − L(x − h)) / ((x + h) − (x − h)) − 1/3 · "
                "(L(x + 2h) − L(x − 2h)) / ((x + 2h) − (x − 2h)), L = Σ output · grad_output",
                "step": "h = ε^(1/4) · max(1, |x|), divided by 16 (up to 3 times) where the fourth difference "
                "shows a kink within 2h",
                "relative_error": (
                    "|numeric − analytic| / max(|numeric|, |analytic|, 1e-3 · max |analytic| of the input)"
                ),
                "sample": settings.check.gradcheck_sample,
            },
        }
    )


def gradcheck_compute(body: GraphRequest, settings: Settings, job: Job) -> bytes:
    planned: list[finite_differences.Planned] = []

    def plan(graph: Graph) -> int:
        rows = _dataset_rows(graph, body.inputs)
        hint = (
            "check one training step's batch of rows instead (POST /train/gradcheck)"
            if rows is not None
            else "fewer or smaller inputs, or a shorter program, check faster"
        )
        planned.extend(plan_gradcheck(graph, settings, rows, hint, job))
        return value_bytes(graph)  # each forward pass makes new values while the old ones go

    result = _evaluate(body, settings, job, plan)
    # The backward pass ran (evaluate's default), so the gradients are a list.
    checks = finite_differences.gradcheck(
        result.graph, cast("list[Any]", result.grads), result.seed, planned, job.check
    )
    return gradcheck_body(checks, settings)


@router.post("/gradcheck", responses=COMPUTE_ERRORS, response_class=Response, openapi_extra=_BODY)
async def gradcheck(request: Request) -> Response:
    """Check every gradient against central finite differences: per input that takes a gradient,
    the numeric and analytic gradients of the checked elements (all of them, or a seeded sample
    past a configured count), their relative errors and the worst one."""
    return await _run(request, gradcheck_compute, "application/json")


# --- replays of /graph/backward --------------------------------------------------------------------


def replay_compute(
    body: GraphRequest,
    settings: Settings,
    job: Job,
    layout: str = "objects",
    attach: Callable[[Graph], None] | None = None,
) -> list[bytes]:
    """`attach(graph)`, if given, sees the built graph first (the notebook widget puts back a
    from_torch result's module groups, chainlens/messages.py)."""

    def plan(graph: Graph) -> int:
        if attach is not None:
            attach(graph)
        order = graph.computed()
        moved = 0
        if body.mode == "naive-recursion":
            steps, moved = replay.check_recursion(
                graph, order, settings.check.max_replay_steps, settings.limits.max_total_work
            )
            job.expect(3 * seconds(graph) + steps * REPLAY_STEP_SECONDS + moved * 15e-9)
        # A second step record beside the correct one; the recursion's holds what it moved.
        return (
            estimate(graph, True, settings.max_full_elements, settings.max_step_elements, layout=layout)
            + 2 * FLOAT * moved
        )

    correct = _evaluate(body, settings, job, plan)
    graph = correct.graph
    order = correct.forward
    with np.errstate(all="ignore"):
        _, scalar_locals = forward(graph)  # the local derivatives the walkers multiply by
        if body.mode == "naive-recursion":
            grads, records, upstreams = replay.naive_recursion(graph, scalar_locals, correct.seed, job.check)
        else:
            grads, records, upstreams = replay.overwrite(graph, order, scalar_locals, correct.seed, job.check)
    replayed = Result(graph, order, grads, records, correct.seed)
    # In a replay a node sends different gradients on different steps: each step shows the one
    # it sent (upstreams), not the node's final gradient.
    extra = {"mode": body.mode, "diverges": replay.divergence(graph, body.mode, correct, grads, records)}
    return graph_chunks(
        replayed,
        settings.max_full_elements,
        settings.max_step_elements,
        layout=layout,
        upstreams=upstreams,
        extra=extra,
    )


# --- exports -------------------------------------------------------------------------------------


def pytorch_compute(body: GraphRequest, settings: Settings, job: Job) -> bytes:
    def plan(graph: Graph) -> int:
        return check_size(graph, settings.check.max_script_elements) * TEXT_PER_NUMBER * 3  # text, str, bytes

    result = _evaluate(body, settings, job, plan)
    return pytorch_script(result.graph, result.seed).encode()


@router.post(
    "/pytorch",
    responses={200: {"content": {"text/x-python": {}}, "description": "The script."}, **COMPUTE_ERRORS},
    response_class=Response,
    openapi_extra=_BODY,
)
async def pytorch(request: Request) -> Response:
    """A runnable PyTorch script (float64) that builds the same inputs, computes the program, runs
    backward with the same grad_output and prints the output and every input's gradient as JSON."""
    return await _run(request, pytorch_compute, "text/x-python; charset=utf-8")


def dot_compute(body: GraphRequest, settings: Settings, job: Job) -> bytes:
    result = _evaluate(body, settings, job, lambda graph: DOT_NODE_BYTES * len(graph))
    return graph_dot(result.graph, result.grads).encode()


@router.post(
    "/dot",
    responses={200: {"content": {"text/vnd.graphviz": {}}, "description": "The DOT file."}, **COMPUTE_ERRORS},
    response_class=Response,
    openapi_extra=_BODY,
)
async def dot(request: Request) -> Response:
    """The computed graph as a Graphviz DOT file, drawn like micrograd's draw_dot: a record
    `label | data | grad` per node and an oval per op. Render it with `dot -Tsvg`."""
    return await _run(request, dot_compute, "text/vnd.graphviz; charset=utf-8")


def html_bytes(graph: Graph, settings: Settings, viewer: str) -> int:
    """The memory of writing `graph`'s standalone page (html_page): its columns body's text, the page
    holding it and the viewer, and the page's bytes."""
    body_bytes = estimate(graph, True, settings.max_full_elements, settings.max_step_elements, layout="columns")
    return 3 * (body_bytes + len(viewer))


def html_page(result: Result, request: dict[str, Any], settings: Settings, job: Job) -> bytes:
    """The standalone HTML file of a computed graph and the `request` that reproduces it with POST
    /graph/backward: what /graph/html and /train/html answer."""
    text = b"".join(
        graph_chunks(result, settings.max_full_elements, settings.max_step_elements, layout="columns")
    ).decode()
    job.check()
    return standalone_page(text, request).encode()


def not_built() -> Response | None:
    """The 503 `not_built` answer of the HTML routes when the viewer's bundle is missing, else None."""
    if VIEWER.is_file():
        return None
    message = "the viewer's bundle (static/dist/viewer.js) is not built: run `npm ci && npm run build`"
    return Response(dumps({"error": {"kind": "not_built", "message": message}}), 503, media_type="application/json")


HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "The standalone HTML file."},
    **COMPUTE_ERRORS,
    503: {
        **COMPUTE_ERRORS[503],
        "description": f"{COMPUTE_ERRORS[503]['description']} Also (kind `not_built`) when the viewer's bundle "
        "(static/dist/viewer.js) is not built.",
    },
}


def html_compute(body: GraphRequest, settings: Settings, job: Job) -> bytes:
    viewer = viewer_module()
    result = _evaluate(body, settings, job, lambda graph: html_bytes(graph, settings, viewer))
    request = {"expression": body.expression, "inputs": body.inputs, "grad_output": body.grad_output}
    if body.expand is not None:
        request["expand"] = body.expand
    return html_page(result, request, settings, job)


@router.post("/html", responses=HTML_RESPONSES, response_class=Response, openapi_extra=_BODY)
async def html(request: Request) -> Response:
    """One standalone HTML file (what chainlens.save_html writes): the viewer, its styles and this
    request's computed graph inlined; opened from disk with no network it shows the graph and steps
    through the whole timeline (the tools that need a computation say they need chainlens running)."""
    return not_built() or await _run(request, html_compute, "text/html; charset=utf-8")

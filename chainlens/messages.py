"""The notebook widget's kernel side: a compute message in, the HTTP API's answer out.

The viewer in the notebook (static/src/widget.js) has no server to ask: it sends the kernel a
message `{"type": "compute", "id": ..., "path": "/graph/backward", "body": "<the request's JSON
text>"}` and the kernel answers `{"type": "answer", "id": ..., "status": 200, "body": "<JSON
text>"}`, where status and body are what the HTTP route would have answered for the same path
and request body: the body size limit, the request model and its 422s, the same compute
functions, limits and memory estimates (chainlens/compute.py, app/api/check.py), and the same
4xx error bodies. Nothing in a message is evaluated: the program goes to the parser, which walks
a whitelist, as over HTTP.

A from_torch result's graph has its modules as groups, which no request can ask for (they come
from the trace, not the program): the viewer's widget passes them as `groups` (the program's text
and its groups), and a graph recomputed from the same text (a dragged input, Break it) gets them
back: the same text builds the same nodes. Another program, or one opening composites, gets none.

`answer(message)` never raises: a message that is not an object, an unknown path, a body that is
not JSON text all get a 4xx like the server's; a bug of ours gets the server's 500 body and is
logged, so the widget's comm stays open whatever arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from app.api.body import parse_model
from app.api.body_limit import BodyTooLarge
from app.api.check import dot_compute, gradcheck_compute, pytorch_compute, replay_compute
from app.api.errors import _validation_message, error_json
from app.api.jobs import Job
from app.api.meta import _OPS_BODY
from app.api.schemas import GraphRequest
from app.engine import errors as engine_errors
from app.engine.expand import Expand
from app.engine.graph import Graph
from app.settings import Settings
from chainlens.compute import ProgramError, raised, run_request, settings

log = logging.getLogger("chainlens")

Answer = tuple[int, bytes]  # the HTTP status and the body's JSON (or text) bytes
Groups = tuple[str, Expand]  # a program's text and its graph's groups (a from_torch result's modules)
Attach = Callable[[Graph], None]  # sees a built graph before it runs (puts the groups on)
Compute = Callable[[GraphRequest, Settings, str, Attach | None], bytes]
LAYOUTS = ("objects", "columns")


def _error(status: int, kind: str, message: str) -> Answer:
    return status, error_json({"error": {"kind": kind, "message": message}})


def _graph(backward: bool) -> Compute:
    """POST /graph/backward (with its replay modes) or /graph/forward, in `layout`."""

    def compute(body: GraphRequest, config: Settings, layout: str, attach: Attach | None) -> bytes:
        if backward and body.mode != "correct":
            return b"".join(replay_compute(body, config, Job(config.max_request_memory), layout, attach))
        return run_request(body, backward, config, attach).to_json(format=layout).encode()

    return compute


def _plain(compute: Callable[[GraphRequest, Settings, Job], bytes]) -> Compute:
    """A route that answers one body whatever the layout (gradcheck, the exports): no groups."""
    return lambda body, config, layout, attach: compute(body, config, Job(config.max_request_memory))


def _attacher(groups: Groups | None, body: GraphRequest) -> Attach | None:
    """Puts `groups` on the graph of a request for the same program text, not opening composites."""
    if groups is None or body.expression != groups[0] or body.expand:
        return None
    expansion = groups[1]

    def attach(graph: Graph) -> None:
        if max(expansion.group_of, default=-1) < len(graph):
            graph.expansion = expansion  # type: ignore[assignment]  # Graph types it by its default, None

    return attach


ROUTES: dict[str, Compute] = {
    "/graph/backward": _graph(backward=True),
    "/graph/forward": _graph(backward=False),
    "/graph/gradcheck": _plain(gradcheck_compute),
    "/graph/pytorch": _plain(pytorch_compute),
    "/graph/dot": _plain(dot_compute),
}


def _layout(query: str) -> str | None:
    """The `format` query parameter as FastAPI reads it (the last one given), None if invalid."""
    given = parse_qs(query, keep_blank_values=True).get("format", ["objects"])[-1]
    return given if given in LAYOUTS else None


def route(path: Any, raw: Any, config: Settings | None = None, groups: Groups | None = None) -> Answer:
    """What the HTTP API answers a POST of `raw` (the JSON text) to `path` (with `groups` put back,
    see the module docstring)."""
    config = config or settings()
    if not isinstance(path, str) or len(path) > 2000:
        return _error(404, "not_found", "Not Found")
    where = urlsplit(path)
    if where.path == "/ops":
        return 200, _OPS_BODY
    compute = ROUTES.get(where.path)
    if compute is None:
        return _error(404, "not_found", "Not Found")
    layout = _layout(where.query)
    if layout is None:
        message = _validation_message(
            RequestValidationError([{"loc": ("query", "format"), "msg": "Input should be 'objects' or 'columns'"}])
        )
        return _error(422, "invalid_request", message)
    if isinstance(raw, str):
        try:
            raw = raw.encode()
        except UnicodeEncodeError:  # a lone surrogate: not UTF-8 text, as the server says of such bytes
            return _error(400, "bad_request", "the request body is not UTF-8 text")
    if not isinstance(raw, bytes):
        return _error(422, "invalid_request", "invalid request: the message's body must be the request's JSON text")
    if len(raw) > config.max_body_bytes:
        return _error(413, "limit_exceeded", str(BodyTooLarge(config.max_body_bytes).detail))
    expression: str | None = None
    try:
        body = parse_model(raw, GraphRequest)
        expression = body.expression
        return 200, compute(body, config, layout, _attacher(groups, body))
    except ProgramError as exc:  # chainlens/compute.py's, already the 4xx answer
        return exc.status, error_json({"error": exc.error})
    except (engine_errors.ProgramError, RecursionError, MemoryError) as exc:
        located = raised(exc, expression)
        return located.status, error_json({"error": located.error})
    except RequestValidationError as exc:
        return _error(422, "invalid_request", _validation_message(exc))
    except HTTPException as exc:
        return _error(exc.status_code, "bad_request" if exc.status_code == 400 else "http_error", str(exc.detail))


def _ident(value: Any) -> int | str | None:
    """The message's id as the answer repeats it: a number or a short string, else none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) <= 2**53:
        return value
    return value if isinstance(value, str) and len(value) <= 200 else None


def answer(message: Any, config: Settings | None = None, groups: Groups | None = None) -> dict[str, Any]:
    """The reply to one message from the widget: `{"type": "answer", "id", "status", "body"}` with
    the body as text. Never raises (see the module docstring)."""
    ident = None
    try:
        if not isinstance(message, dict) or message.get("type") != "compute":
            status, body = _error(400, "bad_request", 'a widget message is {"type": "compute", "id", "path", "body"}')
        else:
            ident = _ident(message.get("id"))
            status, body = route(message.get("path"), message.get("body"), config, groups)
    except Exception:  # a bug of ours: the server's 500 body (logged), and the comm stays open
        log.exception("the widget's request failed")
        status, body = _error(500, "internal_error", "the server failed on this request; it has been logged")
    return {"type": "answer", "id": ident, "status": status, "body": body.decode()}

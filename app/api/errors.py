"""Every problem with a request becomes a 4xx JSON answer: `{"error": {kind, message, ...}}`.

Program errors carry the place (line, column, end_line, end_column) and repeat it in the message,
so that a person reading only the message knows where to look.

Error bodies are always valid JSON, whatever the request held (see error_json).
The job runner's own answers (503 busy, 499 client gone) are installed by app.api.jobs.install.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.encode import dumps
from app.engine.errors import ProgramError, SourceMap

log = logging.getLogger("chainlens")

STATUS = {"limit_exceeded": 413}


def error_json(body: Any) -> bytes:
    """JSON bytes of an error body. orjson refuses strings that UTF-8 cannot encode (a lone
    surrogate, which JSON requests may spell as "\\ud800"); json escapes them as they came."""
    try:
        return dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=True, default=str).encode()


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {"error": {"kind": kind, "message": message, **extra}}
    return Response(error_json(body), status_code=status, media_type="application/json", headers=headers)


def error_body(exc: ProgramError, source: str | None = None) -> dict:
    """`{"error": {...}}` for a ProgramError, with line and column where it has a place."""
    extra: dict = {}
    message = exc.message
    if exc.start is not None and source is not None:
        span = SourceMap(source).span(exc.start, exc.end if exc.end is not None else exc.start)
        extra.update(span)
        message = f"{message} (line {span['line']}, column {span['column']})"
    if exc.input is not None:
        extra["input"] = exc.input
    if exc.suggestions:
        extra["suggestions"] = exc.suggestions
    return {"error": {"kind": exc.kind, "message": message, **extra}}


def program_error_response(exc: ProgramError, source: str | None) -> Response:
    return Response(
        error_json(error_body(exc, source)), status_code=STATUS.get(exc.kind, 422), media_type="application/json"
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "invalid request: " + "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {
            400: "bad_request",
            404: "not_found",
            405: "method_not_allowed",
            408: "timeout",
            413: "limit_exceeded",
        }.get(exc.status_code, "http_error")
        return error_response(exc.status_code, kind, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(ProgramError)
    async def program_error(request: Request, exc: ProgramError) -> Response:
        # Raised out of a job (the memory estimate, or a compute without its own handling).
        return program_error_response(exc, None)

    @app.exception_handler(RecursionError)
    @app.exception_handler(MemoryError)
    async def too_large(request: Request, exc: Exception) -> Response:
        log.warning("request too large for this server: %r", exc)
        return error_response(413, "limit_exceeded", "the request is too large to compute on this server")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        # A bug of ours: still a JSON body (Starlette logs the traceback and re-raises it).
        return error_response(500, "internal_error", "the server failed on this request; it has been logged")

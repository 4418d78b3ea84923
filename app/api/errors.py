"""Every problem with a request becomes a 4xx JSON answer: `{"error": {kind, message, ...}}`.

Program errors carry the place (line, column, end_line, end_column) and repeat it in the message,
so that a person reading only the message knows where to look.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.encode import dumps
from app.engine.errors import ProgramError, SourceMap

log = logging.getLogger("chainlens")

STATUS = {"limit_exceeded": 413}


def error_response(status: int, kind: str, message: str, **extra) -> Response:
    body = {"error": {"kind": kind, "message": message, **extra}}
    return Response(dumps(body), status_code=status, media_type="application/json")


def program_error_response(exc: ProgramError, source: str | None) -> Response:
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
    return error_response(STATUS.get(exc.kind, 422), exc.kind, message, **extra)


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
        kind = {404: "not_found", 405: "method_not_allowed", 413: "limit_exceeded"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, kind, str(exc.detail))

    @app.exception_handler(RecursionError)
    @app.exception_handler(MemoryError)
    async def too_large(request: Request, exc: Exception) -> Response:
        log.warning("request too large for this server: %r", exc)
        return error_response(413, "limit_exceeded", "the request is too large to compute on this server")

"""Request bodies parsed inside the job, not on the event loop.

FastAPI parses a body model on the event loop with json.loads: 0.7 s for a 15 MB body, during
which no other request (not even /healthz) is answered. Compute routes instead take the raw
bytes (`await request.body()`, which only waits for the network) and parse them in their job
with `parse_model`: pydantic's JSON parser (0.16 s for the same body) and the model's own
validation, with the same errors FastAPI gives (a RequestValidationError, answered 422).

`run_parsed(request, model, compute)` is that whole pattern for a compute route, and
`body_openapi(model)` documents such a route's body as FastAPI would have.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic_core
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.api.errors import program_error_response
from app.api.jobs import Job, run_job
from app.api.schemas import GraphRequest
from app.engine.errors import ProgramError

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=GraphRequest)  # a compute route's body: a program and its inputs
T = TypeVar("T")


def parse_json(raw: bytes) -> Any:
    """The body's JSON value. Like json.loads (which FastAPI uses), it accepts NaN, Infinity,
    -Infinity, ints of any size and lone surrogates in strings; non-UTF-8 bytes are a 400, JSON
    errors a 422."""
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=True)
    except ValueError:
        pass  # rare: lone surrogates, which pydantic's parser refuses, or an error to report
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise HTTPException(400, "the request body is not UTF-8 text") from None
    except ValueError as exc:  # json.JSONDecodeError, or an int of more than 4,300 digits
        position = getattr(exc, "pos", 0)
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", position),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": getattr(exc, "msg", str(exc))},
                }
            ]
        ) from None


def parse_model(raw: bytes, model: type[M]) -> M:
    """The body validated as `model`, or the 422 that FastAPI's own parsing would give."""
    data = parse_json(raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


async def run_parsed(
    request: Request, model: type[R], compute: Callable[[R, Job], T], *, inline: bool = False
) -> T | Response:
    """Reads the body's bytes, then in a job (app/api/jobs.py; `inline`: on the event loop while
    small) parses them as `model` and answers compute(body, job). A ProgramError becomes its 4xx
    answer, located in the request's program (known only once the body is parsed)."""
    raw = await request.body()
    expression: list[str] = []

    def job_compute(job: Job) -> T:
        body = parse_model(raw, model)
        expression.append(body.expression)
        return compute(body, job)

    try:
        return await run_job(request, job_compute, memory_bytes=len(raw), inline=inline)
    except ProgramError as exc:
        return program_error_response(exc, expression[0] if expression else None)


_DOCUMENTED: dict[str, type[BaseModel]] = {}  # models named by body_openapi, for install


def body_openapi(model: type[BaseModel], examples: dict | None = None) -> dict:
    """`openapi_extra` for a route that reads `model` itself: its required JSON request body,
    a reference to the model's schema among the document's components (see install)."""
    _DOCUMENTED[model.__name__] = model
    media: dict = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    if examples:
        media["examples"] = examples
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


def install(app: FastAPI) -> None:
    """Adds the models of body_openapi to the app's OpenAPI components, as FastAPI would."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, model in _DOCUMENTED.items():
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas.setdefault(name, found)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema

"""Request bodies past a size are refused (413), and bodies that arrive too slowly are cut (408).

Size: a declared Content-Length past the limit is refused before anything is read; a body sent
without one (chunked) is counted as it arrives and refused as soon as it passes the limit.

Time: the whole body must arrive within `timeout` seconds of the app's first read of it. A
client that sends its body a byte every few seconds (or stops halfway) would otherwise hold a
connection, and the request's memory, for as long as it likes. The answer closes the
connection: the rest of that body is never read.

Both answers are raised as HTTPExceptions from the app's `receive`, so they reach the usual
error handler (a JSON error body) wherever the body is read, in FastAPI's own body parsing
or in a route's `await request.body()`; where the app does not turn them into a response, this
middleware answers itself.
"""

from __future__ import annotations

import asyncio
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_json


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, f"the request body is larger than {max_bytes} bytes (the limit)", headers={"connection": "close"}
        )


class BodyTimeout(HTTPException):
    def __init__(self, timeout: float) -> None:
        super().__init__(
            408, f"the request body did not arrive within {timeout:g} s (the limit)", headers={"connection": "close"}
        )


class BodyLimit:
    """Pure ASGI middleware guarding how large and how slow request bodies may be."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self.refuse(send, BodyTooLarge(self.max_bytes))
        received = 0
        complete = False
        deadline: float | None = None
        started = False

        async def guarded_receive() -> Message:
            nonlocal received, complete, deadline
            if complete:  # the body is in: what follows is http.disconnect, whenever it comes
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + self.timeout
            try:
                # asyncio.timeout, not wait_for: wait_for wraps the receive in a task of its own,
                # which cost every small request a task and a turn of the event loop.
                async with asyncio.timeout(max(deadline - time.monotonic(), 0.001)):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                complete = not message.get("more_body", False)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, watched_send)
        except (BodyTooLarge, BodyTimeout) as exc:
            if not started:
                await self.refuse(send, exc)

    async def refuse(self, send: Send, exc: HTTPException) -> None:
        kind = "limit_exceeded" if exc.status_code == 413 else "timeout"
        body = error_json({"error": {"kind": kind, "message": exc.detail}})
        await send(
            {
                "type": "http.response.start",
                "status": exc.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

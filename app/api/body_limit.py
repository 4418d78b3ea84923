"""Refuses request bodies past a size before they are read (a 413, like every other limit)."""
from __future__ import annotations

from app.api.encode import dumps


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length, and counts the bytes of bodies sent without it."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self.refuse(send)
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _TooLarge:
            await self.refuse(send)

    async def refuse(self, send) -> None:
        body = dumps({"error": {"kind": "limit_exceeded",
                                "message": f"the request body is larger than {self.max_bytes} bytes (the limit)"}})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass

"""Answers waiting for their clients: what they hold, and how long a client may leave them waiting.

A 200 KB request can ask for a 68 MB answer; a client that never reads it would hold those bytes
for as long as it stays connected, and a dozen such clients a gigabyte. So:

- every answer's unsent bytes are counted in one global `unsent` (a chunk leaves the count, and
  memory, once it is handed to the connection), and a new request is admitted to compute only if
  its memory estimate fits beside them in `max_unsent_bytes`, or no answer waits (else 503 with
  Retry-After: Job.require asks `fits`). Unread answers and one computing request then stay
  within the per-request budget and `max_unsent_bytes` together;
- a write that the client does not take within `send_timeout` seconds (one chunk of an answer,
  one line of a stream) cuts the connection: its memory is freed and, for a stream, its job is
  cancelled, which frees the training thread.

Cutting needs the connection's transport, which ASGI does not give an app: the server protocol
of `python -m app` (app/connections.py) puts its `close` in the scope's extensions under
CLOSE_EXTENSION. Under another server, a cut raises SlowReader instead, and the server closes
the connection (and logs it as an error).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message, Scope, Send

from app.memory import give_back

CLOSE_EXTENSION = "chainlens.close"


class SlowReader(Exception):
    """The client did not take its answer in time (raised where the connection cannot be closed)."""


class Outbox:
    """The unsent bytes of every answer of the process (changed on the event loop only; read by
    job threads through `fits`)."""

    def __init__(self, max_unsent_bytes: int, send_timeout: float, trim_after_bytes: int = 64 << 20) -> None:
        self.max_unsent_bytes = max_unsent_bytes
        self.send_timeout = send_timeout
        self.trim_after_bytes = trim_after_bytes
        self.unsent = 0

    def fits(self, memory_bytes: int) -> bool:
        """Whether a new job's `memory_bytes` fit beside the answers waiting for their clients
        (a job within the per-request budget always fits when no answer waits)."""
        return self.unsent == 0 or self.unsent + memory_bytes <= self.max_unsent_bytes


def outbox_of(app: Any) -> Outbox:
    outbox = getattr(app.state, "outbox", None)
    if outbox is None:
        settings = app.state.settings
        outbox = app.state.outbox = Outbox(settings.max_unsent_bytes, settings.send_timeout, settings.trim_after_bytes)
    return outbox


async def send_in_time(
    scope: Scope,
    send: Send,
    message: Message,
    timeout: float,  # noqa: ASYNC109 (a per-send timeout is this function's job: asyncio.timeout applies it)
) -> bool:
    """send(message), or, when the client has not taken it after `timeout` seconds, cut the
    connection and answer False."""
    try:
        async with asyncio.timeout(timeout):
            await send(message)
        return True
    except TimeoutError:
        await cut(scope)
        return False


async def cut(scope: Scope) -> None:
    close = scope.get("extensions", {}).get(CLOSE_EXTENSION)
    if close is None:
        raise SlowReader("the client did not read its answer in time")
    close()
    await asyncio.sleep(0)  # the server sees the connection lost (and logs nothing) before the app returns


async def send_chunks(scope: Scope, send: Send, start: Message, chunks: list[bytes]) -> None:
    """An answer's start and its chunks, each chunk counted in the outbox until it is handed to
    the connection (and dropped from `chunks`, which frees it), the rest freed if the client is cut."""
    app = scope.get("app")
    outbox = outbox_of(app) if app is not None and hasattr(app.state, "settings") else Outbox(0, 3600.0)
    total = size = sum(map(len, chunks))
    outbox.unsent += total
    try:
        if not await send_in_time(scope, send, start, outbox.send_timeout):
            return
        last = len(chunks) - 1
        for index in range(len(chunks)):
            chunk = chunks[index]
            chunks[index] = b""  # the list no longer holds it: sent, it is freed
            more = index < last
            sent = await send_in_time(
                scope, send, {"type": "http.response.body", "body": chunk, "more_body": more}, outbox.send_timeout
            )
            outbox.unsent -= len(chunk)
            total -= len(chunk)
            del chunk
            if not sent:
                return
        if last < 0:
            await send_in_time(scope, send, {"type": "http.response.body", "body": b""}, outbox.send_timeout)
    finally:
        outbox.unsent -= total
        chunks.clear()
        if size > outbox.trim_after_bytes:  # give the answer's freed memory back to the OS (app/memory.py)
            asyncio.get_running_loop().run_in_executor(None, give_back)

"""NDJSON streaming of a compute function run in a worker thread (`stream_job`).

Stands in for app/api/jobs.py's `stream_job` (the hardening branch's shared job runner) with the
same interface until that is merged: `compute(job, emit)` runs in a thread, each `emit(obj)`
becomes one line, and a client that goes away sets the job cancelled (job.check() raises).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable

from fastapi import Request
from fastapi.responses import StreamingResponse

from app.api.encode import dumps

log = logging.getLogger("chainlens")


class Cancelled(Exception):
    """The client went away: the computation stops at its next check."""


class Job:
    def __init__(self) -> None:
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled


def stream_job(request: Request, compute: Callable[[Job, Callable[[dict], None]], None], *,
               memory_bytes: int) -> StreamingResponse:
    job = Job()

    async def lines():
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def emit(obj: dict) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, dumps(obj) + b"\n")

        def work() -> None:
            try:
                compute(job, emit)
            except Cancelled:
                pass
            except Exception:  # a bug, not a bad request: the stream ends with a line that says so
                log.exception("training run failed")
                emit({"type": "error", "kind": "internal", "message": "the run failed inside the server"})
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        thread = threading.Thread(target=work, name="chainlens-train", daemon=True)
        thread.start()
        try:
            while (line := await queue.get()) is not None:
                yield line
        finally:
            job.cancel()  # the client went away, or the stream ended: either way the worker stops

    return StreamingResponse(lines(), media_type="application/x-ndjson")

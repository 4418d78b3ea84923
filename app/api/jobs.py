"""The shared job runner: every compute route runs its work here, in a lane of its size class
(app/api/lanes.py), never holding the event loop for longer than a small request takes.

Interface (used by /graph/*, training, gradcheck; keep it as it is):

    class Job
        cancelled() -> bool   True once the client has gone away or the server is stopping.
        check() -> None       Raises Cancelled when cancelled(); call it between steps (every
                              N nodes of a long loop, not every node: it costs a call).
        require(memory_bytes) Raises LimitExceeded (413) when a finer estimate, made inside the
                              compute before it allocates (after parsing, say), passes the
                              per-request budget.
        expect(seconds)       The job's estimated seconds, made at the same place: counted in its
                              lane's expected wait; past the lane's size class the compute is
                              stopped (Reroute) and started again in the lane that takes it, so
                              call it before anything large is built.
    class Cancelled(Exception)

    async run_job(request, compute, *, memory_bytes, expected=None, inline=False) -> T
        compute(job) -> T runs in the lane of its size: on the event loop while small (only with
        inline), else in a worker thread. Before anything runs: 413 (JSON error naming the
        per-request budget and the estimate) when memory_bytes is over the budget; 503 with
        Retry-After when the lane would keep it waiting longer than `max_wait` seconds. While it
        runs in a thread, a client that disconnects sets the job cancelled. Exceptions of compute
        (ProgramError, Cancelled, ...) come out of run_job as they were raised.

    stream_job(request, compute, *, memory_bytes, expected=None) -> Response
        compute(job, emit) runs in the streams' lane and calls emit(obj) once per NDJSON line
        (application/x-ndjson); obj is written by orjson (numpy arrays allowed; NaN and the
        infinities would become null: write them as the contract's strings first, see
        app.api.encode.number). emit waits while 64 lines are unsent (a slow client). The same
        413 and 503 are answered before anything streams,
        and so is a ProgramError raised before the first emit (its usual 4xx JSON error);
        a ProgramError raised later becomes a last line {"type": "error", "error": {...}}, and
        anything else is logged and told as {"type": "error", "kind": "internal", "message"}:
        a stream that started always ends with an error line if not with its own last line.
        A disconnect cancels the job (emit raises Cancelled from then on).

Why threads: numpy releases the GIL in its kernels, and Python hands the GIL over every few
milliseconds, so the event loop keeps answering /healthz while a lane computes. The event
loop gives the GIL up at every socket call and must then wait a whole switch interval to get it
back from a busy worker; a request is a dozen such waits. At Python's default interval (5 ms)
that made /healthz take 0.2-1 s beside eight heavy requests; the runner sets SWITCH_INTERVAL
for the process instead (each worker pays a few µs per switch). The same hand-over is why the
smallest requests run on the event loop itself: a thread would cost them more than their work.
Each running job holds at most the per-request memory budget, and the lanes' threads are
bounded, so the lanes bound the server's memory.

Memory: after a job whose estimate passed `trim_after_bytes`, the C heap's free memory is handed
back to the OS (app.memory.give_back), since app.memory keeps up to 256 MB of it on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import error_body, error_json, error_response, program_error_response
from app.api.lanes import (
    DEFAULT_SECONDS,
    Busy,
    Cancelled,
    Job,
    Lane,
    Lanes,
    Reroute,
    default_seconds,
    parse_seconds,
)
from app.api.outbox import outbox_of, send_in_time
from app.engine.errors import ProgramError

__all__ = ["Busy", "Cancelled", "CountForeground", "Job", "install", "lanes_of", "pool_of", "run_job", "stream_job"]

T = TypeVar("T")
log = logging.getLogger("chainlens")

NDJSON = "application/x-ndjson"
# nginx's code for "client closed request": nobody reads it, the client has gone.
CLIENT_GONE = 499
# Lines emitted but not yet sent: past this, emit waits for the client to read (backpressure).
_STREAM_BUFFER_LINES = 64
# Seconds a thread that holds the GIL keeps it while another waits (Python's default is 0.005).
SWITCH_INTERVAL = 0.0005


def lanes_of(app: Starlette) -> Lanes:
    """The app's lanes (app/api/lanes.py), made from its settings on first use."""
    lanes = getattr(app.state, "lanes", None)
    if lanes is None:
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        lanes = app.state.lanes = Lanes(app.state.settings, outbox_of(app))
        # The names earlier code and tests know: the lane requests start in, and the streams'.
        app.state.job_pool, app.state.large_pool, app.state.stream_pool = lanes.small, lanes.large, lanes.stream
    return lanes


def pool_of(app: Starlette, streams: bool = False) -> Lane:
    """The small lane (where a request waits until its estimate is known), or the streams' lane."""
    lanes = lanes_of(app)
    return lanes.stream if streams else lanes.small


async def _disconnected(receive: Receive) -> None:
    """Returns once the client has gone. The body has been read already, so the next message is
    http.disconnect (servers send it when the connection closes, or once the response is sent)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def run_job(
    request: Request,
    compute: Callable[[Job], T],
    *,
    memory_bytes: int,
    expected: float | None = None,
    inline: bool = False,
) -> T:
    """compute(job) in the lane its size takes: it starts in the lane of `memory_bytes` (the
    body's size, for most routes), and when it tells its estimate (job.expect) past that lane's
    size class, it starts again in the lane that takes it. `inline`: it may run on the event
    loop while small (a /graph request). `expected`: its estimate in seconds, when known before."""
    lanes = lanes_of(request.app)
    lane = lanes.first(memory_bytes, inline, expected)
    seconds = default_seconds(memory_bytes) if expected is None else expected
    while True:
        if lane is lanes.large:  # no longer a small request: background lanes need not give way to it
            _leave_foreground(request.scope, lanes)
        job = lane.admit(memory_bytes, seconds)
        job.fixed = parse_seconds(memory_bytes)
        try:
            if lane.inline:
                return lane.run_inline(job, partial(compute, job))
            return await _in_thread(request, lane, job, compute, memory_bytes)
        except Reroute as moved:
            lane, seconds = lanes.after(moved.seconds), moved.seconds


_FOREGROUND = "chainlens.foreground"


class CountForeground:
    """ASGI middleware: counts the requests in flight, from their first byte to their answer's last,
    that background lanes give way to (Job.check pauses while any is): every request but a
    training stream's, until it turns out large (run_job takes it out of the count)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/train" or "app" not in scope:
            await self.app(scope, receive, send)
            return
        foreground = lanes_of(scope["app"]).foreground
        counted = scope[_FOREGROUND] = [1]
        foreground.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            foreground.count -= counted[0]


def _leave_foreground(scope: Scope, lanes: Lanes) -> None:
    counted = scope.get(_FOREGROUND)
    if counted and counted[0]:
        lanes.foreground.count -= 1
        counted[0] = 0


async def _in_thread(request: Request, lane: Lane, job: Job, compute: Callable[[Job], T], memory_bytes: int) -> T:
    try:
        future = asyncio.wrap_future(lane.submit(job, lambda: compute(job), memory_bytes))
    except BaseException:
        lane.release(job)
        raise
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait((future, watcher), return_when=asyncio.FIRST_COMPLETED)
        if not future.done():
            job.cancel()  # the client left: the compute stops at its next check()
            future.add_done_callback(_retrieved)  # its Cancelled is expected, not to be logged
            raise Cancelled("the client went away")
        return future.result()
    finally:
        watcher.cancel()
        # A compute that raised (Reroute, above all) left its exception in `future`, and the
        # exception's traceback holds this frame: frame → future → exception → frame, a cycle that
        # kept the first try's graph alive until a full collection. Without the name, no cycle.
        del future


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


Emit = Callable[[dict[str, Any]], None]  # a stream's line, as an object


def stream_job(
    request: Request, compute: Callable[[Job, Emit], None], *, memory_bytes: int, expected: float | None = None
) -> Response:
    """`expected`: the run's estimated seconds (counted in the streams' lane's expected wait)."""
    lanes = lanes_of(request.app)
    _leave_foreground(request.scope, lanes)  # a stream is background work, whatever its route
    lane = lanes.stream
    job = lane.admit(memory_bytes, DEFAULT_SECONDS if expected is None else expected)
    return _JobStream(lane, job, compute, memory_bytes)


_DONE = object()


class _JobStream(Response):
    """An NDJSON response fed by a job: the job's lines go through a bounded buffer to the client."""

    media_type = NDJSON

    def __init__(self, pool: Lane, job: Job, compute: Callable[[Job, Emit], None], memory_bytes: int) -> None:
        # Response's own __init__ would declare a content-length of 0: the headers are set here.
        self.status_code = 200
        self.background = None
        self.raw_headers = [(b"content-type", NDJSON.encode())]
        self.pool, self.job, self.compute, self.memory_bytes = pool, job, compute, memory_bytes
        self.send_timeout = pool.outbox.send_timeout if pool.outbox is not None else 3600.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        job = self.job
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[Any] = asyncio.Queue()  # bytes, an exception or _DONE
        room = threading.Semaphore(_STREAM_BUFFER_LINES)

        def emit(obj: dict[str, Any]) -> None:
            data = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
            while not room.acquire(timeout=0.1):
                job.check()
            job.check()
            loop.call_soon_threadsafe(lines.put_nowait, data)

        def work() -> None:
            try:
                self.compute(job, emit)
            except BaseException as exc:  # noqa: BLE001 (handed to the event loop, which answers for it)
                loop.call_soon_threadsafe(lines.put_nowait, exc)
                return
            loop.call_soon_threadsafe(lines.put_nowait, _DONE)

        try:
            future = self.pool.submit(job, work, self.memory_bytes)
        except BaseException:
            self.pool.release(job)
            raise
        watcher = asyncio.ensure_future(_disconnected(receive))
        started = False
        try:
            while True:
                getter = asyncio.ensure_future(lines.get())
                await asyncio.wait((getter, watcher), return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    job.cancel()
                    return
                item = getter.result()
                if isinstance(item, BaseException):
                    if isinstance(item, Cancelled):
                        return
                    if not started:
                        if isinstance(item, ProgramError):
                            await program_error_response(item, None)(scope, receive, send)
                            return
                        raise item
                    # Every started stream ends with a done or an error line: a failure of ours
                    # is logged and told as an error line, not a cut stream.
                    item = error_json({"type": "error", **_error_of(item)}) + b"\n"
                    # sent as the last line, then the stream ends
                    if not await self._send_line(scope, send, item, started):
                        return
                    started = True
                    break
                if item is _DONE:
                    break
                room.release()
                # A client that does not take a line within send_timeout is cut: the finally
                # below cancels the job, whose next emit (or check) frees the thread.
                if not await self._send_line(scope, send, item, started):
                    return
                started = True
            if not started and not await self._start(scope, send):
                return
            await send_in_time(
                scope, send, {"type": "http.response.body", "body": b"", "more_body": False}, self.send_timeout
            )
        finally:
            watcher.cancel()
            job.cancel()  # stops a compute still running (the client left, was cut, or sending failed)
            del future

    async def _start(self, scope: Scope, send: Send) -> bool:
        return await send_in_time(
            scope, send, {"type": "http.response.start", "status": 200, "headers": self.raw_headers}, self.send_timeout
        )

    async def _send_line(self, scope: Scope, send: Send, data: bytes, started: bool) -> bool:
        if not started and not await self._start(scope, send):
            return False
        return await send_in_time(
            scope, send, {"type": "http.response.body", "body": data, "more_body": True}, self.send_timeout
        )


def _error_of(exc: BaseException) -> dict[str, Any]:
    """The fields of a stream's last line for an exception raised after the stream started: a
    ProgramError's error body, else (logged) the documented `{"kind": "internal", "message"}`."""
    if isinstance(exc, ProgramError):
        return error_body(exc)
    log.error("a streamed run failed", exc_info=exc)
    if isinstance(exc, (MemoryError, RecursionError)):
        return {"kind": "limit_exceeded", "message": "the run is too large to compute on this server"}
    return {"kind": "internal", "message": "the server failed on this run; it has been logged"}


def install(app: FastAPI) -> None:
    """The runner's own answers: 503 with Retry-After when full, 499 when the client left; and the
    count of the requests in flight that background lanes give way to."""
    app.add_middleware(CountForeground)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        return error_response(
            503,
            "busy",
            f"the server is busy with other requests; try again in {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(Cancelled)
    async def cancelled(request: Request, exc: Cancelled) -> Response:
        return error_response(CLIENT_GONE, "cancelled", "the client went away before the answer was ready")

    def stop_jobs() -> None:
        lanes = getattr(app.state, "lanes", None)
        for lane in lanes.all() if lanes is not None else ():
            lane.close()

    app.router.on_shutdown.append(stop_jobs)

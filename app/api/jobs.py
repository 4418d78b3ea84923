"""The shared job runner: every compute route runs its work here, never on the event loop.

Interface (used by /graph/*, training, gradcheck; keep it as it is):

    class Job
        cancelled() -> bool   True once the client has gone away or the server is stopping.
        check() -> None       Raises Cancelled when cancelled(); call it between steps (every
                              N nodes of a long loop, not every node: it costs a call).
        require(memory_bytes) Raises LimitExceeded (413) when a finer estimate, made inside the
                              compute before it allocates (after parsing, say), passes the
                              per-request budget.
    class Cancelled(Exception)

    async run_job(request, compute, *, memory_bytes) -> T
        compute(job) -> T runs in a worker thread of the bounded pool. Before anything runs:
        413 (JSON error naming the per-request budget and the estimate) when memory_bytes is
        over the budget; 503 with Retry-After when the pool and its wait queue are full. While
        it runs, a client that disconnects sets the job cancelled. Exceptions of compute
        (ProgramError, Cancelled, ...) come out of run_job as they were raised.

    stream_job(request, compute, *, memory_bytes) -> Response
        compute(job, emit) runs in the pool and calls emit(obj) once per NDJSON line
        (application/x-ndjson); obj is written by orjson (numpy arrays allowed; NaN and the
        infinities would become null: write them as the contract's strings first, see
        app.api.encode.number). emit waits while 64 lines are unsent (a slow client). The same 413 and 503 are answered before anything streams,
        and so is a ProgramError raised before the first emit (its usual 4xx JSON error);
        a ProgramError raised later becomes a last line {"type": "error", "error": {...}}, and
        anything else is logged and told as {"type": "error", "kind": "internal", "message"}:
        a stream that started always ends with an error line if not with its own last line.
        A disconnect cancels the job (emit raises Cancelled from then on).

Why threads: numpy releases the GIL in its kernels, and Python hands the GIL over every few
milliseconds, so the event loop keeps answering /healthz while the pool computes. The event
loop gives the GIL up at every socket call and must then wait a whole switch interval to get it
back from a busy worker; a request is a dozen such waits. At Python's default interval (5 ms)
that made /healthz take 0.2-1 s beside eight heavy requests; the pool sets SWITCH_INTERVAL
for the process instead (each worker pays a few µs per switch). The pool has `job_threads` threads, and at most `job_queue` further jobs wait for one;
each job holds at most the per-request memory budget, so the pool bounds the server's memory.
Jobs that waited past the queue are turned away at once (503) instead of piling up.

Memory: after a job whose estimate passed `trim_after_bytes`, the C heap's free memory is handed
back to the OS (app.memory.give_back), since app.memory keeps up to 256 MB of it on purpose.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from app.api.errors import error_body, error_json, error_response, program_error_response
from app.engine.errors import LimitExceeded, ProgramError
from app.memory import give_back

T = TypeVar("T")
log = logging.getLogger("chainlens")

NDJSON = "application/x-ndjson"
# nginx's code for "client closed request": nobody reads it, the client has gone.
CLIENT_GONE = 499
# Lines emitted but not yet sent: past this, emit waits for the client to read (backpressure).
_STREAM_BUFFER_LINES = 64
# Seconds a thread that holds the GIL keeps it while another waits (Python's default is 0.005).
SWITCH_INTERVAL = 0.0005


class Cancelled(Exception):
    """The job's client went away (or the server is stopping): stop computing."""


class Job:
    """Handed to a compute function; one per request."""

    __slots__ = ("_cancelled", "budget", "required")

    def __init__(self, budget: int) -> None:
        self._cancelled = threading.Event()
        self.budget = budget
        self.required = 0  # the largest estimate seen (decides whether memory is given back)

    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("the client went away")

    def cancel(self) -> None:
        self._cancelled.set()

    def require(self, memory_bytes: int) -> None:
        self.required = max(self.required, memory_bytes)
        if memory_bytes > self.budget:
            raise over_budget(memory_bytes, self.budget)


def over_budget(memory_bytes: int, budget: int) -> LimitExceeded:
    return LimitExceeded(
        f"the request needs an estimated {_mb(memory_bytes)} of memory; the limit is {_mb(budget)} "
        f"per request"
    )


class Busy(Exception):
    """The pool and its wait queue are full: answered 503 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the server is busy")
        self.retry_after = retry_after


class Pool:
    """A bounded thread pool with a bounded wait queue, and the jobs it holds (to cancel them)."""

    def __init__(self, threads: int, queue: int, memory_budget: int, trim_after_bytes: int) -> None:
        self.threads = max(1, threads)
        self.capacity = self.threads + max(0, queue)
        self.memory_budget = memory_budget
        self.trim_after_bytes = trim_after_bytes
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="chainlens-job")
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()  # admitted: running or waiting for a thread
        self._closed = False

    def admit(self, memory_bytes: int) -> Job:
        """A new job, or LimitExceeded (413) / Busy (503) before anything is allocated."""
        if memory_bytes > self.memory_budget:
            raise over_budget(memory_bytes, self.memory_budget)
        job = Job(self.memory_budget)
        with self._lock:
            if self._closed or len(self._jobs) >= self.capacity:
                raise Busy(retry_after=1 + len(self._jobs) // self.threads)
            self._jobs.add(job)
        return job

    def submit(self, job: Job, fn: Callable[[], T], memory_bytes: int):
        """Runs fn in a worker thread; the job leaves the pool when fn is done (or skipped)."""

        def work() -> T:
            try:
                job.check()  # the client may have left while the job waited in the queue
                return fn()
            finally:
                self.release(job)
                if max(memory_bytes, job.required) > self.trim_after_bytes:
                    give_back()

        return self._executor.submit(work)

    def release(self, job: Job) -> None:
        with self._lock:
            self._jobs.discard(job)

    @property
    def admitted(self) -> int:
        return len(self._jobs)

    def close(self) -> None:
        """Server stopping: cancel every job, turn new ones away."""
        with self._lock:
            self._closed = True
            jobs = list(self._jobs)
        for job in jobs:
            job.cancel()
        self._executor.shutdown(wait=False, cancel_futures=False)


def _mb(count: int) -> str:
    return f"{count / (1 << 20):,.1f} MB" if count < 1 << 40 else f"{count:.3g} bytes"


def pool_of(app, streams: bool = False) -> Pool:
    """The app's pool for requests, or (streams) the one for streamed runs, made from its settings
    on first use. A training run holds its thread for as long as it streams: in a pool of its own
    it never keeps a thread from the requests that answer at once (/graph/*, gradcheck, ...)."""
    name = "stream_pool" if streams else "job_pool"
    pool = getattr(app.state, name, None)
    if pool is None:
        settings = app.state.settings
        threads, queue = (settings.stream_threads, settings.stream_queue) if streams else (
            settings.job_threads, settings.job_queue)
        pool = Pool(threads, queue, settings.max_request_memory, settings.trim_after_bytes)
        setattr(app.state, name, pool)
    return pool


async def _disconnected(receive) -> None:
    """Returns once the client has gone. The body has been read already, so the next message is
    http.disconnect (servers send it when the connection closes, or once the response is sent)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def run_job(request: Request, compute: Callable[[Job], T], *, memory_bytes: int) -> T:
    pool = pool_of(request.app)
    job = pool.admit(memory_bytes)
    try:
        future = asyncio.wrap_future(pool.submit(job, lambda: compute(job), memory_bytes))
    except BaseException:
        pool.release(job)
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


def _retrieved(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()


def stream_job(request: Request, compute: Callable[[Job, Callable[[dict], None]], None], *,
               memory_bytes: int) -> Response:
    pool = pool_of(request.app, streams=True)
    job = pool.admit(memory_bytes)
    return _JobStream(pool, job, compute, memory_bytes)


_DONE = object()


class _JobStream(Response):
    """An NDJSON response fed by a job: the job's lines go through a bounded buffer to the client."""

    media_type = NDJSON

    def __init__(self, pool: Pool, job: Job, compute: Callable, memory_bytes: int) -> None:
        # Response's own __init__ would declare a content-length of 0: the headers are set here.
        self.status_code = 200
        self.background = None
        self.raw_headers = [(b"content-type", NDJSON.encode())]
        self.pool, self.job, self.compute, self.memory_bytes = pool, job, compute, memory_bytes

    async def __call__(self, scope, receive, send) -> None:
        job = self.job
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue = asyncio.Queue()
        room = threading.Semaphore(_STREAM_BUFFER_LINES)

        def emit(obj: dict) -> None:
            data = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
            while not room.acquire(timeout=0.1):
                job.check()
            job.check()
            loop.call_soon_threadsafe(lines.put_nowait, data)

        def work() -> None:
            try:
                self.compute(job, emit)
            except BaseException as exc:  # handed to the event loop, which answers for it
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
                    # fall through: sent as the last line, then the stream ends
                    await self._send_line(send, item, started)
                    started = True
                    break
                if item is _DONE:
                    break
                room.release()
                await self._send_line(send, item, started)
                started = True
            if not started:
                await self._start(send)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            job.cancel()  # stops a compute still running (the client left, or sending failed)
            del future

    async def _start(self, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

    async def _send_line(self, send, data: bytes, started: bool) -> None:
        if not started:
            await self._start(send)
        await send({"type": "http.response.body", "body": data, "more_body": True})


def _error_of(exc: BaseException) -> dict:
    """The fields of a stream's last line for an exception raised after the stream started: a
    ProgramError's error body, else (logged) the documented `{"kind": "internal", "message"}`."""
    if isinstance(exc, ProgramError):
        return error_body(exc)
    log.error("a streamed run failed", exc_info=exc)
    if isinstance(exc, (MemoryError, RecursionError)):
        return {"kind": "limit_exceeded", "message": "the run is too large to compute on this server"}
    return {"kind": "internal", "message": "the server failed on this run; it has been logged"}


def install(app) -> None:
    """The runner's own answers: 503 with Retry-After when full, 499 when the client left."""

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        return error_response(
            503, "busy", f"the server is busy with other requests; try again in {exc.retry_after} s",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(Cancelled)
    async def cancelled(request: Request, exc: Cancelled) -> Response:
        return error_response(CLIENT_GONE, "cancelled", "the client went away before the answer was ready")

    def stop_jobs() -> None:
        for name in ("job_pool", "stream_pool"):
            pool = getattr(app.state, name, None)
            if pool is not None:
                pool.close()

    app.router.on_shutdown.append(stop_jobs)

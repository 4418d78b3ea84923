"""Where a job runs, and whether it may wait: lanes by size class, admission by expected wait.

A request costs from a tenth of a millisecond (the chain rule) to minutes (a long replay of a
training run). In one queue, a small request waits behind every long one ahead of it, and a
queue bounded by its length refuses a 1 ms request because 16 others are queued, which turns a
10 ms wait into a failure. So jobs run in lanes by their estimated seconds (app/engine/costs.py
and the routes' own estimates), and a request is refused (503 with Retry-After) only when the
lane it would wait in is expected to keep it waiting longer than `max_wait` seconds.

- `inline`: on the event loop, for a /graph request of a small body while its estimate stays
  under INLINE_SECONDS. Handing a 0.2 ms job to a thread and back costs more than the job (each
  hand-over of the GIL waits up to a switch interval), and the loop is held no longer than by
  writing a large answer. Anything estimated above is handed on (Reroute) before it allocates.
- `small`: one thread, jobs estimated up to SMALL_SECONDS (and every job until its estimate is
  known: parsing a body of at most LARGE_BODY_BYTES).
- `large`: `job_threads` threads for the rest: bodies past LARGE_BODY_BYTES, large graphs,
  /train/graph replays. A long job here never holds the lanes small requests use.
- `stream`: `stream_threads` threads for training runs (POST /train), which hold a thread while
  they stream.

The large and stream lanes are background lanes: while requests of the inline and small lanes are
in flight, their jobs run one at a time, a slice (the work between two Job.check calls: a training
step, a slice of a graph's nodes) at a time, each slice followed by a pause nine times its length,
so that they take at most BACKGROUND_SHARE of the time the loop needs (Foreground).

Expected wait of a lane: the estimated seconds left of every job admitted to it (those running:
their estimate less the time they have run), divided by its threads. A job whose estimate is not
known yet counts `DEFAULT_SECONDS` plus its body's parse time.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar, cast

from app.api.outbox import Outbox
from app.engine.errors import LimitExceeded
from app.memory import give_back

T = TypeVar("T")

# Bodies up to this size may run on the event loop (their parse is bounded: well under a ms).
INLINE_BODY_BYTES = 16 << 10
# A job estimated above this leaves the event loop for a thread lane.
INLINE_SECONDS = 0.002
# ... and above this, the small lane for the large one.
SMALL_SECONDS = 0.05
# Bodies past this go to the large lane at once (parsing 1 MB of JSON and program takes ~10 ms).
LARGE_BODY_BYTES = 1 << 20
# While small requests are in flight, background work (the large and stream lanes together) runs
# one thread at a time, and each slice of it (its work between two checks) is followed by a pause
# that keeps its share of the time at BACKGROUND_SHARE: see Foreground.
BACKGROUND_SHARE = 0.1
# The shortest pause between two slices: a sleep shorter than this costs about as much as it gives.
BACKGROUND_PAUSE = 0.002
# The longest: a long slice (one large numpy op) is not paid back in full, so the pause is bounded.
MAX_BACKGROUND_PAUSE = 0.05
# A job's estimate before it is known: a small request, plus parsing its body.
DEFAULT_SECONDS = 0.002
# Parsing a body's JSON and decoding its numbers (a 15 MB body of 800,000 numbers: 0.2 s).
PARSE_SECONDS_PER_BYTE = 2e-8


class Cancelled(Exception):
    """The job's client went away (or the server is stopping): stop computing."""


class Busy(Exception):
    """The lane would keep the request waiting past the bound: answered 503 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the server is busy")
        self.retry_after = retry_after


class Reroute(Exception):
    """Raised by Job.expect: the job is too large for its lane; it is started again in a larger one."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"a job of an estimated {seconds:.3g} s")
        self.seconds = seconds


def over_budget(memory_bytes: int, budget: int) -> LimitExceeded:
    return LimitExceeded(
        f"the request needs an estimated {_mb(memory_bytes)} of memory; the limit is {_mb(budget)} per request"
    )


def _mb(count: int) -> str:
    return f"{count / (1 << 20):,.1f} MB" if count < 1 << 40 else f"{count:.3g} bytes"


class Job:
    """Handed to a compute function; one per request (per lane it runs in)."""

    __slots__ = ("_cancelled", "budget", "expected", "fixed", "lane", "required", "started", "turn_since")

    def __init__(self, budget: int, lane: Lane | None = None, expected: float = DEFAULT_SECONDS) -> None:
        self._cancelled = threading.Event()
        self.budget = budget
        self.required = 0  # the largest estimate seen (decides whether memory is given back)
        self.expected = expected  # seconds
        self.started: float | None = None
        self.lane = lane
        self.fixed = 0.0  # seconds known before the estimate (parsing the body), added to it
        self.turn_since: float | None = None  # holding the background turn since (Foreground.give_way)

    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("the client went away")
        lane = self.lane
        if lane is not None and lane.foreground is not None:
            # A background job (large, stream) between two slices of its work: while small
            # requests are in flight it waits for its turn, then its pause (Foreground.give_way).
            lane.foreground.give_way(self)

    def cancel(self) -> None:
        self._cancelled.set()

    def require(self, memory_bytes: int) -> None:
        self.required = max(self.required, memory_bytes)
        if memory_bytes > self.budget:
            raise over_budget(memory_bytes, self.budget)
        outbox = self.lane.outbox if self.lane is not None else None
        if outbox is not None and not outbox.fits(memory_bytes):
            # Answers that their clients have not read hold the memory: they are cut within
            # send_timeout seconds at the latest.
            raise Busy(retry_after=max(1, math.ceil(outbox.send_timeout)))

    def expect(self, seconds: float) -> None:
        """The job's estimated seconds, once known (after parsing, before allocating), besides its
        `fixed` part: counted in its lane's expected wait, or Reroute when the lane does not take
        jobs that long."""
        self.expected = total = self.fixed + seconds
        if self.lane is not None and total > self.lane.max_job_seconds:
            raise Reroute(total)

    def remaining(self, now: float) -> float:
        return self.expected if self.started is None else max(0.0, self.expected - (now - self.started))


class Lane:
    """Jobs of one size class: `threads` worker threads (none: the event loop), and the jobs
    admitted to it, running or waiting."""

    def __init__(
        self,
        name: str,
        threads: int,
        max_job_seconds: float,
        *,
        memory_budget: int,
        trim_after_bytes: int,
        max_wait: float,
        foreground: Foreground | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.name = name
        self.outbox = outbox  # answers waiting for their clients, whose memory counts beside a job's
        self.foreground = foreground  # set on background lanes: whose requests they give way to
        self.threads = max(0, threads)
        self.max_job_seconds = max_job_seconds
        self.memory_budget = memory_budget
        self.trim_after_bytes = trim_after_bytes
        self.max_wait = max_wait
        self._executor = (
            ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix=f"chainlens-job-{name}")
            if self.threads
            else None
        )
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()
        self._closed = False

    @property
    def inline(self) -> bool:
        return self._executor is None

    def expected_wait(self, now: float | None = None) -> float:
        """Seconds a job admitted now would wait for a thread (0 on the event loop)."""
        if self.inline:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            left = sum(job.remaining(now) for job in self._jobs)
        return left / self.threads

    def admit(self, memory_bytes: int, expected: float) -> Job:
        """A new job, or LimitExceeded (413) / Busy (503) before anything is allocated."""
        if memory_bytes > self.memory_budget:
            raise over_budget(memory_bytes, self.memory_budget)
        job = Job(self.memory_budget, self, expected)
        wait = self.expected_wait()
        with self._lock:
            if self._closed or wait > self.max_wait:
                raise Busy(retry_after=max(1, math.ceil(wait)))
            self._jobs.add(job)
        return job

    def submit(self, job: Job, fn: Callable[[], T], memory_bytes: int) -> Future[T]:
        """Runs fn in a worker thread; the job leaves the lane when fn is done (or skipped)."""
        executor = cast("ThreadPoolExecutor", self._executor)  # an inline lane is never submitted to

        def work() -> T:
            job.started = time.monotonic()
            try:
                job.check()  # the client may have left while the job waited
                return fn()
            finally:
                if self.foreground is not None:
                    self.foreground.end_turn(job)
                self.release(job)
                if max(memory_bytes, job.required) > self.trim_after_bytes:
                    # A job stopped by an exception (refused past a budget, cancelled) leaves a
                    # young cycle, exception ↔ traceback ↔ frame, that keeps its graph alive
                    # until a full collection (rare once requests stop): collected here, young
                    # generations only, before the heap goes back to the OS.
                    gc.collect(1)
                    give_back()

        return executor.submit(work)

    def run_inline(self, job: Job, fn: Callable[[], T]) -> T:
        job.started = time.monotonic()
        try:
            return fn()
        finally:
            self.release(job)

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
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=False)


class Foreground:
    """How many requests of the inline and small lanes are in flight (`count`: changed on the event
    loop only; read by background threads), and the turn background jobs take while any is.

    A background thread competes with the event loop for the GIL: each numpy call of a training
    step lets the GIL go and takes it back, and every taking back makes the loop hand it over
    (within sys.getswitchinterval()). Two training threads that merely paused 2 ms between steps
    made the small requests' p99 132 ms at 50 users (85 ms without them), and each answer cost the
    server 1.82 ms of CPU instead of 1.01 (the GIL's hand-overs). So while small requests are in
    flight, background jobs run one at a time (the turn), and after each slice of work the next
    waits (BACKGROUND_SHARE): the loop shares the GIL with at most one background thread, a tenth
    of the time (bench/load.py --train-users 10, alternating runs: 0.95-1.39 ms of CPU an answer
    against 1.82-2.24 before). With none in flight, background threads run freely."""

    __slots__ = ("_ratio", "_resume", "_turn", "count")

    def __init__(self, share: float = BACKGROUND_SHARE) -> None:
        self.count = 0
        self._turn = threading.Lock()
        self._resume = 0.0  # when the turn's next slice may start (monotonic seconds)
        self._ratio = (1 - share) / share  # pause per second of slice

    def give_way(self, job: Job) -> None:
        """At a background job's check: ends its slice (the turn is passed on, the next slice
        waits in proportion to this one), then, while small requests are in flight, waits for
        the pause and the turn, checking for cancellation as it waits. A job that has just ended
        its slice pauses before it asks for the turn again: another one waiting has it first
        (the jobs take turns, none starves)."""
        if self.end_turn(job):
            self._pause(job)
        if not self.count:
            return
        while not self._turn.acquire(timeout=MAX_BACKGROUND_PAUSE):
            if job.cancelled():
                raise Cancelled("the client went away")
            if not self.count:
                return
        try:
            self._pause(job)  # another job's slice may have ended meanwhile
        except BaseException:
            self._turn.release()
            raise
        job.turn_since = time.monotonic()

    def _pause(self, job: Job) -> None:
        """Until the next slice may start (or no small request is in flight)."""
        while (delay := self._resume - time.monotonic()) > 0 and self.count:
            time.sleep(min(delay, MAX_BACKGROUND_PAUSE))
            if job.cancelled():
                raise Cancelled("the client went away")

    def end_turn(self, job: Job) -> bool:
        """The job's slice ends (at a check, or when the job ends): the turn passes on. False if the
        job did not hold it."""
        since = job.turn_since
        if since is None:
            return False
        job.turn_since = None
        ran = time.monotonic() - since
        self._resume = time.monotonic() + min(max(ran * self._ratio, BACKGROUND_PAUSE), MAX_BACKGROUND_PAUSE)
        self._turn.release()
        return True


class Lanes:
    """The app's four lanes, made from its settings."""

    def __init__(self, settings: Any, outbox: Outbox | None = None) -> None:
        common = {
            "memory_budget": settings.max_request_memory,
            "trim_after_bytes": settings.trim_after_bytes,
            "max_wait": settings.max_wait,
            "outbox": outbox,
        }
        self.foreground = Foreground()
        self.inline = Lane("inline", 0, INLINE_SECONDS, **common)
        self.small = Lane("small", 1, SMALL_SECONDS, **common)
        self.large = Lane("large", settings.job_threads, math.inf, foreground=self.foreground, **common)
        self.stream = Lane("stream", settings.stream_threads, math.inf, foreground=self.foreground, **common)

    def first(self, body_bytes: int, inline: bool, expected: float | None = None) -> Lane:
        """The lane a request starts in: by its estimate when known, else by its body's size."""
        if expected is not None:
            return self.inline if inline and expected <= INLINE_SECONDS else self.after(expected)
        if inline and body_bytes <= INLINE_BODY_BYTES:
            return self.inline
        return self.small if body_bytes <= LARGE_BODY_BYTES else self.large

    def after(self, seconds: float) -> Lane:
        """The lane for a job estimated at `seconds` (one that left a smaller lane)."""
        return self.small if seconds <= SMALL_SECONDS else self.large

    def all(self) -> tuple[Lane, ...]:
        return self.inline, self.small, self.large, self.stream


def default_seconds(body_bytes: int) -> float:
    """A job's estimate before its own is known: a small request, plus parsing its body."""
    return DEFAULT_SECONDS + parse_seconds(body_bytes)


def parse_seconds(body_bytes: int) -> float:
    """Parsing a body of `body_bytes` (counted beside the job's own estimate)."""
    return PARSE_SECONDS_PER_BYTE * body_bytes

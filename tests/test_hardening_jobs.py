"""The shared job runner (app/api/jobs.py): pool, wait queue, budget, disconnects, NDJSON streams.

Routes under /test-jobs are added to a fresh app per test; requests that must disconnect are
driven as raw ASGI calls, whose `receive` says http.disconnect when the test decides.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import orjson
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from app.api.jobs import Cancelled, Job, run_job, stream_job
from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.run import CHECK_EVERY
from app.main import create_app
from app.settings import Settings


def make_app(**settings):
    """An app with test routes: /test-jobs/block waits for `release`, counting its runs."""
    app = create_app(Settings(**settings))
    state = app.state.test = {
        "release": threading.Event(),
        "started": threading.Semaphore(0),
        "ran": 0,
        "cancelled": 0,
        "threads": set(),
    }

    @app.post("/test-jobs/block")
    async def block(request: Request):
        def compute(job: Job) -> dict:
            state["ran"] += 1
            state["threads"].add(threading.get_ident())
            state["started"].release()
            try:
                while not state["release"].wait(0.01):
                    job.check()
            except Cancelled:
                state["cancelled"] += 1
                raise
            return {"answer": 42}

        expected = request.query_params.get("seconds")
        return await run_job(
            request,
            compute,
            memory_bytes=int(request.query_params.get("bytes", 0)),
            expected=float(expected) if expected else None,
        )

    @app.post("/test-jobs/stream")
    def stream(request: Request):
        fail = request.query_params.get("fail")

        def compute(job: Job, emit) -> None:
            if fail == "before":
                raise ProgramError("invalid_input", "nothing to stream", input="x")
            for k in range(int(request.query_params.get("lines", 3))):
                if fail == "after" and k == 2:
                    raise ProgramError("diverged", "diverged at step 2")
                emit({"type": "record", "step": k})
                if request.query_params.get("slow"):
                    try:
                        time.sleep(0.02)
                        job.check()
                    except Cancelled:
                        state["cancelled"] += 1
                        raise
            emit({"type": "done"})

        return stream_job(request, compute, memory_bytes=int(request.query_params.get("bytes", 0)))

    return app


async def asgi_post(app, path: str, disconnect_after: float | None, body: bytes = b"{}"):
    """POST through the ASGI interface; the client hangs up after `disconnect_after` seconds
    (None: once the response is complete, as servers say). Returns (status, headers, body)."""
    sent = []
    done = asyncio.Event()
    first = True

    async def receive():
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnect_after is None:
            await done.wait()
        else:
            await asyncio.sleep(disconnect_after)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return (start["status"] if start else None), dict(start["headers"]) if start else {}, content


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests leave an event loop running in this
    one (Playwright's sync API), where asyncio.run refuses to start."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_run_job_answers_in_a_worker_thread():
    app = make_app()
    app.state.test["release"].set()
    with TestClient(app) as client:
        response = client.post("/test-jobs/block")
    assert response.status_code == 200
    assert response.json() == {"answer": 42}
    # Not the test's thread, nor the TestClient's event loop thread: a pool thread.
    assert app.state.test["threads"] and threading.get_ident() not in app.state.test["threads"]
    assert all(
        thread.name.startswith("chainlens-job")
        for thread in threading.enumerate()
        if thread.ident in app.state.test["threads"]
    )


def test_over_the_memory_budget_is_413_naming_budget_and_estimate():
    app = make_app(max_request_memory=100 << 20)
    with TestClient(app) as client:
        response = client.post(f"/test-jobs/block?bytes={300 << 20}")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["kind"] == "limit_exceeded"
    assert "300.0 MB" in error["message"] and "100.0 MB" in error["message"]
    assert app.state.test["ran"] == 0  # refused before anything ran


def test_a_request_is_refused_only_when_its_expected_wait_passes_the_bound():
    """Shed by expected wait, not by count: with max_wait 5 s, a job expected to take 4 s may
    wait behind one that has (a little less than) 4 s left; a third, behind about 8 s, is refused
    with Retry-After."""
    app = make_app(job_threads=1, max_wait=5.0)
    state = app.state.test

    async def scenario():
        running = asyncio.ensure_future(asgi_post(app, "/test-jobs/block?seconds=4", None))
        await asyncio.to_thread(state["started"].acquire, True, 5)  # the first holds the small lane's thread
        queued = asyncio.ensure_future(asgi_post(app, "/test-jobs/block?seconds=4", None))
        await asyncio.sleep(0.05)
        refused = await asgi_post(app, "/test-jobs/block?seconds=4", None)
        state["release"].set()
        return await running, await queued, refused

    running, queued, refused = run_async(scenario())
    assert running[0] == 200 and queued[0] == 200
    assert json.loads(running[2]) == {"answer": 42}
    assert refused[0] == 503
    assert 5 < int(refused[1][b"retry-after"]) <= 8  # the wait expected, rounded up
    assert json.loads(refused[2])["error"]["kind"] == "busy"
    assert state["ran"] == 2
    assert app.state.large_pool.admitted == 0  # every slot given back


def test_many_small_requests_are_never_refused_for_their_number():
    """Forty 2 ms jobs behind a blocked one wait 80 ms in all: nobody is refused."""
    app = make_app(job_threads=1, max_wait=1.0)
    state = app.state.test

    async def scenario():
        first = asyncio.ensure_future(asgi_post(app, "/test-jobs/block?seconds=0.002", None))
        await asyncio.to_thread(state["started"].acquire, True, 5)
        rest = [asyncio.ensure_future(asgi_post(app, "/test-jobs/block?seconds=0.002", None)) for _ in range(40)]
        await asyncio.sleep(0.1)
        state["release"].set()
        return [await first] + [await answer for answer in rest]

    answers = run_async(scenario())
    assert [status for status, _, _ in answers] == [200] * 41


def test_a_disconnect_cancels_the_running_job():
    app = make_app()
    state = app.state.test
    status, _, _ = run_async(asgi_post(app, "/test-jobs/block", disconnect_after=0.1))
    assert status == 499  # answered to nobody: the client is gone
    deadline = time.monotonic() + 5
    while (state["cancelled"] == 0 or app.state.job_pool.admitted) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state["cancelled"] == 1
    assert app.state.job_pool.admitted == 0


def test_a_job_whose_client_left_while_queued_never_runs():
    app = make_app(job_threads=1)
    state = app.state.test

    async def scenario():
        running = asyncio.ensure_future(asgi_post(app, "/test-jobs/block", None))
        await asyncio.to_thread(state["started"].acquire, True, 5)
        gone = await asgi_post(app, "/test-jobs/block", disconnect_after=0.05)
        state["release"].set()
        return await running, gone

    running, gone = run_async(scenario())
    assert running[0] == 200 and gone[0] == 499
    time.sleep(0.1)
    assert state["ran"] == 1
    assert app.state.job_pool.admitted == 0


def test_stream_job_sends_ndjson_lines_in_order():
    app = make_app()
    with TestClient(app) as client:
        response = client.post("/test-jobs/stream?lines=4")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert lines == [{"type": "record", "step": k} for k in range(4)] + [{"type": "done"}]


def test_stream_job_error_before_the_first_line_is_a_4xx():
    app = make_app()
    with TestClient(app) as client:
        response = client.post("/test-jobs/stream?fail=before")
    assert response.status_code == 422
    assert response.json()["error"] == {"kind": "invalid_input", "message": "nothing to stream", "input": "x"}


def test_stream_job_error_after_lines_is_a_last_error_line():
    app = make_app()
    with TestClient(app) as client:
        response = client.post("/test-jobs/stream?fail=after&lines=5")
    assert response.status_code == 200
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert lines[:2] == [{"type": "record", "step": 0}, {"type": "record", "step": 1}]
    assert lines[2] == {"type": "error", "error": {"kind": "diverged", "message": "diverged at step 2"}}
    assert len(lines) == 3


def test_stream_job_refuses_over_budget_before_streaming():
    app = make_app(max_request_memory=1 << 20)
    with TestClient(app) as client:
        response = client.post(f"/test-jobs/stream?bytes={2 << 20}")
    assert response.status_code == 413
    assert response.json()["error"]["kind"] == "limit_exceeded"


def test_a_disconnect_cancels_a_stream():
    app = make_app()
    state = app.state.test
    status, _, body = run_async(asgi_post(app, "/test-jobs/stream?lines=1000&slow=1", disconnect_after=0.2))
    assert status == 200
    sent = body.splitlines()
    assert 1 <= len(sent) < 1000
    deadline = time.monotonic() + 5
    while (state["cancelled"] == 0 or app.state.stream_pool.admitted) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state["cancelled"] == 1
    assert app.state.stream_pool.admitted == 0


@pytest.mark.parametrize("backward", [False, True])
def test_the_engine_passes_check_every_few_hundred_nodes_and_stop_on_cancel(backward):
    chain = "h = x\n" + "h = h * 1.0001 + 0.5\n" * 3000  # 6000 op nodes
    calls = 0

    def counting() -> None:
        nonlocal calls
        calls += 1

    result = evaluate(chain, {"x": 1.0}, backward=backward, check=counting)
    passes = 2 if backward else 1
    assert calls == 2 + passes * -(-6000 // CHECK_EVERY)  # after parsing, after building, per slice
    assert result.values[-1] == pytest.approx(evaluate(chain, {"x": 1.0}).values[-1])

    job = Job(budget=0)
    seen = 0

    def cancel_midway() -> None:
        nonlocal seen
        seen += 1
        if seen == 3:
            job.cancel()
        job.check()

    with pytest.raises(Cancelled):
        evaluate(chain, {"x": 1.0}, backward=backward, check=cancel_midway)
    assert seen == 3


def test_graph_routes_run_through_the_pool(client):
    response = client.post(
        "/graph/backward", json={"expression": "f = (x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}
    )
    assert response.status_code == 200
    grads = {node["name"]: node["grad"] for node in response.json()["nodes"] if node["name"]}
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0, "f": 1.0}
    assert client.app.state.job_pool.admitted == 0


def test_streamed_runs_have_a_pool_of_their_own():
    """A training run holds its thread while it streams: it must never hold one that /graph/* needs."""
    from app.api.jobs import lanes_of

    app = create_app(Settings(job_threads=2, stream_threads=3))
    lanes = lanes_of(app)
    assert len({id(lane) for lane in lanes.all()}) == 4
    assert (lanes.inline.threads, lanes.small.threads, lanes.large.threads, lanes.stream.threads) == (0, 1, 2, 3)

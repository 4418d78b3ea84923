"""Issue 22: lanes by size class (app/api/lanes.py). Small requests never wait behind a long one,
a long /train/graph replay leaves the small lane, the event loop answers the smallest requests
itself, and background lanes give way while small requests are in flight."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from test_hardening_jobs import asgi_post, make_app, run_async

from app.api.budget import seconds
from app.api.lanes import (
    BACKGROUND_PAUSE,
    BACKGROUND_SHARE,
    INLINE_SECONDS,
    MAX_BACKGROUND_PAUSE,
    SMALL_SECONDS,
    Foreground,
    Job,
    Lane,
    Reroute,
)
from app.core import evaluate
from app.engine.limits import Limits
from app.examples import EXAMPLES
from app.train import TrainingRun
from app.train.config import TrainConfig
from app.train.run import TrainLimits


def example(example_id: str, *keys: str) -> dict:
    found = next(e for e in EXAMPLES if e["id"] == example_id)
    return {key: found[key] for key in keys or ("expression", "inputs", "grad_output")}


def test_small_requests_are_answered_while_a_long_job_holds_the_large_lane():
    app = make_app(job_threads=1)
    state = app.state.test
    chain_rule = json.dumps(example("chain-rule")).encode()

    async def scenario():
        long = asyncio.ensure_future(asgi_post(app, "/test-jobs/block?seconds=60", None))
        await asyncio.to_thread(state["started"].acquire, True, 5)  # it holds the large lane's only thread
        started = time.monotonic()
        small = [await asgi_post(app, "/graph/backward", None, chain_rule) for _ in range(5)]
        checked = await asgi_post(app, "/graph/gradcheck", None, chain_rule)  # the small lane's thread
        took = time.monotonic() - started
        still_running = not long.done()
        state["release"].set()
        return small, checked, took, still_running, await long

    small, checked, took, still_running, long = run_async(scenario())
    assert [status for status, _, _ in small] == [200] * 5 and checked[0] == 200
    assert still_running and long[0] == 200
    assert took < 5  # not behind the 60 s job
    assert app.state.lanes.large.admitted == 0


def test_the_smallest_requests_run_on_the_event_loop_and_larger_ones_in_a_thread():
    app = make_app()
    ran_in: list[str] = []
    import app.api.graph as graph_route

    original = graph_route.encoded

    def spy(*args, **kwargs):
        ran_in.append(threading.current_thread().name)
        return original(*args, **kwargs)

    graph_route.encoded = spy
    try:
        with TestClient(app) as client:
            assert client.post("/graph/backward", json=example("chain-rule")).status_code == 200
            big = {"expression": "y = sum(sin(x) * x)", "inputs": {"x": {"init": "uniform", "shape": [400_000]}}}
            assert client.post("/graph/backward", json=big).status_code == 200
            loop_thread = client.portal.call(lambda: threading.current_thread().name)
    finally:
        graph_route.encoded = original
    assert ran_in[0] == loop_thread
    assert ran_in[1].startswith("chainlens-job-large")  # 400,000 sines: about 0.07 s estimated


def test_the_estimate_decides_the_lane():
    chain = evaluate("q = x + y\nf = q * z", {"x": -2, "y": 5, "z": -4})
    assert seconds(chain.graph) < INLINE_SECONDS
    sines = evaluate("y = sum(sin(x))", {"x": {"init": "uniform", "shape": [1_000_000]}}, backward=False)
    assert seconds(sines.graph) > SMALL_SECONDS


def test_a_long_train_graph_replay_runs_in_the_large_lane(monkeypatch):
    app = make_app()
    threads: list[str] = []
    original = TrainingRun.graph_at

    def spy(self, step, check=lambda: None):
        threads.append(threading.current_thread().name)
        return original(self, step, check)

    monkeypatch.setattr(TrainingRun, "graph_at", spy)
    body = example("train-digits", "expression", "inputs", "train")
    with TestClient(app) as client:
        assert client.post("/train/graph", json={**body, "at": 1}).status_code == 200
        assert client.post("/train/graph", json={**body, "at": 200}).status_code == 200
    assert threads[0].startswith("chainlens-job-small") and threads[1].startswith("chainlens-job-large")
    run = TrainingRun(
        body["expression"], body["inputs"], TrainConfig.model_validate(body["train"]), Limits(), TrainLimits()
    )
    assert run.seconds_through(1) < SMALL_SECONDS < run.seconds_through(200)


def test_expect_reroutes_past_the_lanes_size_class():
    lane = Lane("small", 0, SMALL_SECONDS, memory_budget=1 << 30, trim_after_bytes=1 << 30, max_wait=10)
    job = lane.admit(0, 0.001)
    job.expect(SMALL_SECONDS / 2)
    with pytest.raises(Reroute) as moved:
        job.expect(SMALL_SECONDS * 2)
    assert moved.value.seconds == SMALL_SECONDS * 2


def test_a_background_job_pauses_at_its_checks_while_small_requests_are_in_flight():
    foreground = Foreground()
    lane = Lane(
        "stream", 1, float("inf"), memory_budget=1 << 30, trim_after_bytes=1 << 30, max_wait=10, foreground=foreground
    )
    job = Job(1 << 30, lane)

    def timed(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            job.check()
        return time.perf_counter() - started

    assert timed(10) < BACKGROUND_PAUSE * 5  # nobody waiting: checks cost nothing
    foreground.count = 1
    assert timed(10) >= BACKGROUND_PAUSE * 9  # the first check takes the turn, each later one pauses
    # A slice of work is followed by a pause in proportion: the slice is BACKGROUND_SHARE of the time.
    job.check()
    time.sleep(0.004)
    started = time.monotonic()
    job.check()
    pause = time.monotonic() - started
    assert 0.004 * (1 - BACKGROUND_SHARE) / BACKGROUND_SHARE * 0.9 <= pause < MAX_BACKGROUND_PAUSE * 2
    foreground.end_turn(job)
    lane.close()


def test_background_jobs_take_turns_while_small_requests_are_in_flight_and_pass_the_turn_on_when_done():
    foreground = Foreground()
    foreground.count = 1
    lane = Lane(
        "stream", 2, float("inf"), memory_budget=1 << 30, trim_after_bytes=1 << 30, max_wait=10, foreground=foreground
    )
    running = [0]
    most = [0]
    slices: list[int] = []
    lock = threading.Lock()

    def work(job: Job, number: int) -> int:
        for _ in range(30):
            job.check()
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
                slices.append(number)
            time.sleep(0.001)  # a slice of work
            with lock:
                running[0] -= 1
        return 1

    jobs = [lane.admit(0, 1.0) for _ in range(2)]
    futures = [lane.submit(job, lambda job=job, k=k: work(job, k), 0) for k, job in enumerate(jobs)]
    assert [future.result(timeout=20) for future in futures] == [1, 1]  # none kept the turn at its end
    assert most[0] == 1  # one background slice at a time
    # ... taking turns: while both had slices left, neither ran three in a row (the other waiting)
    both = slices[slices.index(1) : min(len(slices) - slices[::-1].index(k) for k in (0, 1))]
    assert len(both) > 10 and "000" not in "".join(map(str, both)) and "111" not in "".join(map(str, both))
    foreground.count = 0
    job = lane.admit(0, 1.0)
    assert lane.submit(job, lambda: work(job, 2), 0).result(timeout=5) == 1
    lane.close()


def test_the_foreground_count_holds_small_requests_in_flight_and_not_large_ones():
    app = make_app(job_threads=1)
    state = app.state.test

    async def scenario(seconds: float) -> tuple[int, tuple]:
        blocked = asyncio.ensure_future(asgi_post(app, f"/test-jobs/block?seconds={seconds}", None))
        await asyncio.to_thread(state["started"].acquire, True, 5)
        during = app.state.lanes.foreground.count
        state["release"].set()
        answer = await blocked
        state["release"].clear()
        return during, answer

    during, answer = run_async(scenario(0.01))
    assert during == 1 and answer[0] == 200
    during, answer = run_async(scenario(60))  # the large lane's job: background lanes need not wait for it
    assert during == 0 and answer[0] == 200
    assert app.state.lanes.foreground.count == 0


def test_the_objects_alive_at_startup_are_out_of_the_collectors_full_collections():
    """Full collections scanned the ~70,000 objects of the started app each time (30-45 ms pauses of
    the event loop under load): they are frozen once the app has started."""
    import gc

    from app.main import create_app

    gc.unfreeze()
    try:
        app = create_app()
        assert gc.get_freeze_count() == 0
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000
            assert client.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()

"""Issue 22: what clients leave behind is bounded (app/api/outbox.py). A client that does not read
its answer or its stream is cut after CHAINLENS_SEND_TIMEOUT seconds (a real server, `python -m
app`, whose protocol lets the app close the connection); an unread /train stream frees its
thread; unsent answers count against CHAINLENS_MAX_UNSENT_BYTES."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import httpx
import pytest
from serving import serving

from app.api.lanes import Busy, Job, Lane
from app.api.outbox import Outbox, send_chunks

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server():
    env = dict(os.environ, CHAINLENS_SEND_TIMEOUT="1", CHAINLENS_STREAM_THREADS="1")
    with serving(ROOT, env=env, entry_point=True) as url:
        yield url


def unread(url: str, path: str, body: dict) -> socket.socket:
    """A connection that sends the request and reads nothing (a small receive buffer)."""
    data = json.dumps(body).encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    sock.sendall(head.encode() + data)
    return sock


def read_to_close(sock: socket.socket, wait: float = 10.0) -> bytes:
    sock.settimeout(wait)
    received = b""
    try:
        while chunk := sock.recv(1 << 20):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail("the server did not close the connection")
    return received


def test_an_unread_answer_is_cut_after_the_send_timeout(server):
    sock = unread(server, "/graph/backward", {"expression": "x" + "+x" * 14_999, "inputs": {"x": 1}})
    try:
        time.sleep(6)  # computed (a few tenths of a second), then one second without a read
        received = read_to_close(sock)
    finally:
        sock.close()
    head, _, content = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    assert 0 < len(content) < length  # cut: part of the answer, then the connection closed
    assert httpx.get(f"{server}/healthz", timeout=5).json()["status"] == "ok"


def test_an_unread_train_stream_frees_its_thread(server):
    """The only training thread (CHAINLENS_STREAM_THREADS=1): a stream nobody reads is cut, and
    a new run is then served to its end."""
    long_run = {
        "expression": "loss = mse(x * w + b, t)",
        "inputs": {"x": [1.0, 2.0, 3.0], "t": [2.0, 4.0, 6.0], "w": 0.1, "b": 0.0},
        "train": {"optimizer": {"name": "sgd", "lr": 0.01}, "steps": 100_000, "record_every": 1},
    }
    sock = unread(server, "/train", long_run)
    try:
        time.sleep(4)
        short = {**long_run, "train": {**long_run["train"], "steps": 20}}
        response = httpx.post(f"{server}/train", json=short, timeout=30)
        lines = [json.loads(line) for line in response.content.splitlines()]
        assert response.status_code == 200 and lines[-1]["type"] == "done"
        read_to_close(sock)  # and the unread one was closed
    finally:
        sock.close()


def test_answers_waiting_for_their_clients_count_against_the_budget():
    outbox = Outbox(max_unsent_bytes=100, send_timeout=7.0)
    lane = Lane("small", 0, 1.0, memory_budget=1000, trim_after_bytes=1 << 30, max_wait=10, outbox=outbox)
    job = Job(1000, lane)
    job.require(900)  # nothing waits: any job within the per-request budget fits
    outbox.unsent = 60
    job.require(40)
    with pytest.raises(Busy) as refused:
        job.require(41)
    assert refused.value.retry_after == 7  # the unread answers are cut by then


def test_sent_chunks_leave_the_count_and_the_list():
    class State:
        settings = None

    class App:
        state = State()

    outbox = Outbox(1 << 30, 5.0)
    App.state.outbox = outbox
    App.state.settings = object()
    chunks = [b"a" * 10, b"b" * 20, b"c" * 30]
    seen: list[int] = []

    async def send(message: dict) -> None:
        seen.append(outbox.unsent)

    asyncio.run(send_chunks({"app": App}, send, {"type": "http.response.start"}, chunks))
    # while each chunk is being sent, it and the ones after it are still counted
    assert seen == [60, 60, 50, 30] and outbox.unsent == 0 and chunks == []

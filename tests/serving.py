"""A real uvicorn server in a subprocess on a free loopback port, for the tests that need one
(the browser suite, the packaging tests)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(
    cwd: Path, python: str = sys.executable, env: dict | None = None, *, entry_point: bool = False
) -> Iterator[str]:
    """Runs `python -m uvicorn app.main:app` from `cwd` until the block ends; yields its URL once
    /healthz answers (the test fails if it does not within 30 s). With entry_point, runs
    `python -m app` instead (the server settings of app/__main__.py), configured by `env`."""
    port = free_port()
    if entry_point:
        command = [python, "-m", "app"]
        env = {
            **(os.environ if env is None else env),
            "CHAINLENS_HOST": "127.0.0.1",
            "CHAINLENS_PORT": str(port),
            "CHAINLENS_LOG_LEVEL": "warning",
        }
    else:
        command = [
            python,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    url = f"http://127.0.0.1:{port}"
    with running(command, cwd, env, f"{url}/healthz", "the chainlens server"):
        yield url


@contextlib.contextmanager
def running(
    command: list[str],
    cwd: Path,
    env: dict | None,
    probe: str,
    what: str,
    *,
    timeout: float = 30,
    log: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Runs `command` until the block ends, entered once GET `probe` answers 200 (the test fails,
    quoting the end of `log` if given, when it does not within `timeout` seconds); then stopped."""
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(log.open("w")) if log is not None else None
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT if output else None
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(probe, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    said = f": {log.read_text()[-3000:]}" if log is not None else ""
                    pytest.fail(f"{what} did not start{said}")
                time.sleep(0.1)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

"""Start `python -m app` on a free loopback port in a subprocess, wait for /healthz, stop it after."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free loopback port chosen by the OS (never 8000, which another check uses)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 8000:
            return port


@contextlib.contextmanager
def running_server(
    workers: int = 1, timeout: float = 30.0, env: dict | None = None, root: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """Yields the base URL and pid of a fresh server running the app of checkout `root`;
    terminates it (then kills, if need be) on exit."""
    port = free_port()
    environment = dict(os.environ)
    environment.update(
        CHAINLENS_HOST="127.0.0.1",
        CHAINLENS_PORT=str(port),
        CHAINLENS_WORKERS=str(workers),
        CHAINLENS_LOG_LEVEL="warning",
    )
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "app"],
        cwd=root,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} not healthy within {timeout:.0f} s")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()

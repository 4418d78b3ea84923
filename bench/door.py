"""Issue 22's client that holds the door: hundreds of idle sockets from one address, reopened
every few seconds, while /healthz is asked on a new connection every 0.25 s.

    .venv/bin/python bench/door.py                         # 600 sockets, reopened every 10 s, 40 s
    .venv/bin/python bench/door.py --sockets 600 --seconds 20
    .venv/bin/python bench/door.py --root /tmp/main-wt     # another checkout's server (a "before")

A fresh `python -m app` (default settings: 512 connections, a quarter of them per address) on
127.0.0.1. The sockets connect and send nothing. Printed: /healthz answers and failures, the
median, p99 and slowest answer (ms), and how many of the held sockets were open at the end.
Bounded: at most 1,000 sockets (within the default file limit), at most 120 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from server import running_server  # noqa: E402


def healthz(port: int) -> float | None:
    """Seconds for GET /healthz on a new connection, or None if it failed."""
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
    except OSError:
        return None
    return time.perf_counter() - started if data.startswith(b"HTTP/1.1 200") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=600)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between reopening them all")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    if not 0 < args.sockets <= 1000 or not 0 < args.seconds <= 120:
        raise SystemExit("bounded: 1-1000 sockets, at most 120 s")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))
    with running_server(root=args.root, env={"CHAINLENS_LOG_LEVEL": "error"}) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        stop = time.monotonic() + args.seconds
        held: list[socket.socket] = []

        def hold() -> None:
            while time.monotonic() < stop:
                for sock in held:
                    sock.close()
                held.clear()
                for _ in range(args.sockets):
                    with contextlib.suppress(OSError):
                        held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                time.sleep(min(args.every, max(0.0, stop - time.monotonic())))

        holder = threading.Thread(target=hold)
        holder.start()
        answers: list[float | None] = []
        time.sleep(1)
        while time.monotonic() < stop - 0.5:
            answers.append(healthz(port))
            time.sleep(0.25)
        holder.join()
        still_open = 0
        for sock in held:
            sock.settimeout(0.01)
            try:
                still_open += sock.recv(1) != b""
            except TimeoutError:
                still_open += 1
            except OSError:
                pass
            sock.close()
    times = sorted(t for t in answers if t is not None)

    def rank(share: float) -> float:
        return round(times[max(0, math.ceil(share * len(times)) - 1)] * 1e3, 1) if times else float("nan")

    print(
        json.dumps(
            {
                "sockets": args.sockets,
                "every_s": args.every,
                "seconds": args.seconds,
                "healthz": {
                    "asked": len(answers),
                    "failed": answers.count(None),
                    "median_ms": rank(0.5),
                    "p99_ms": rank(0.99),
                    "max_ms": round(times[-1] * 1e3, 1) if times else None,
                },
                "held_sockets_open_at_end": still_open,
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

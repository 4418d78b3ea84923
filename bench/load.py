"""Issue 22's crowd against a fresh server: users sending small requests without pause, and users
training, for a bounded time.

    .venv/bin/python bench/load.py                            # 50 users, 60 s
    .venv/bin/python bench/load.py --train-users 10           # and 10 users training the digits
    .venv/bin/python bench/load.py --users 20 --seconds 10    # a short run
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000  # a server already running (loopback only)
    .venv/bin/python bench/load.py --root /tmp/main-wt        # another checkout's server (a "before")

Each small user alternates POST /graph/backward of the examples "chain-rule" and
"regression-mlp" (app/examples.py) on one keep-alive connection, with no pause; each training
user runs POST /train of "train-digits" to its `done` line, again and again (a run started
before the end is read to its end). The client is a plain asyncio HTTP/1.1 client (a few µs a
request): the machine's two cores go to the server, not to the client. Printed: the small
requests' count, rate (over the time the small users ran), statuses, median, p90 and p99 (ms,
nearest rank); the training runs' count, statuses, last lines and durations; `errors`, every
small answer but a 200 and every run that did not end with its `done` line; the server's RSS
after the first 5 s (warm), once the first training run has ended, at its peak (sampled each
second) and at the end; the server's CPU milliseconds per small request answered (the figure the
shared machine's other load changes least); the machine's load average before and after (other
processes on the same cores change latencies: compare runs made under the same load).
Only 127.0.0.1; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from server import running_server  # noqa: E402

from app.examples import EXAMPLES  # noqa: E402


def body(example_id: str, keys: tuple[str, ...]) -> bytes:
    example = next(e for e in EXAMPLES if e["id"] == example_id)
    return json.dumps({k: example[k] for k in keys}).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection; answers (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, data: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        self.writer.write(head % (path.encode(), self.host.encode(), len(data)) + data)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            if "content-length" in headers:
                content = await self.reader.readexactly(int(headers["content-length"]))
            else:  # chunked (a stream)
                parts = []
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    parts.append(chunk[:-2])
                content = b"".join(parts)
            if headers.get("connection") == "close":
                self.close()
            return status, content
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            return 0, b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def cpu_seconds(pid: int | None, thread: int | None = None) -> float | None:
    """The server's CPU time so far (user and system): what its answers cost, whatever else the
    shared machine runs; with `thread`, that thread's only (the event loop's is the process id's)."""
    if pid is None:
        return None
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> list[float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


async def crowd(url: str, pid: int | None, users: int, train_users: int, seconds: float) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("load tests run against 127.0.0.1 only")
    small = [
        body("chain-rule", ("expression", "inputs", "grad_output")),
        body("regression-mlp", ("expression", "inputs", "grad_output")),
    ]
    training = body("train-digits", ("expression", "inputs", "train"))
    started = time.monotonic()
    stop = started + seconds
    latencies: list[float] = []
    # when the last small user stopped, and the server's CPU time then (all threads, the event loop's)
    small_ended: list = [started, None, None]
    statuses: dict[int, int] = {}
    runs: list[tuple[int, str, float]] = []

    async def small_user(k: int) -> None:
        connection = Connection(host, port)
        turn = k
        while time.monotonic() < stop:
            sent = time.monotonic()
            status, _ = await connection.post("/graph/backward", small[turn % 2])
            latencies.append(time.monotonic() - sent)
            statuses[status] = statuses.get(status, 0) + 1
            turn += 1
            if status != 200:
                await asyncio.sleep(0.01)
        if time.monotonic() > small_ended[0]:
            small_ended[:] = [time.monotonic(), cpu_seconds(pid), cpu_seconds(pid, pid)]
        connection.close()

    async def train_user() -> None:
        connection = Connection(host, port)
        while time.monotonic() < stop:
            sent = time.monotonic()
            status, content = await connection.post("/train", training)
            last = json.loads(content.splitlines()[-1]).get("type", "?") if status == 200 and content else "-"
            runs.append((status, last, time.monotonic() - sent))
            if status != 200:
                await asyncio.sleep(0.5)
        connection.close()

    rss: dict[str, float | None] = {"warm": None, "after_first_run": None, "peak": rss_mb(pid)}

    async def watch_rss() -> None:
        warm_at = started + min(5.0, seconds / 4)
        while True:
            await asyncio.sleep(1.0 if time.monotonic() > warm_at else max(0.0, warm_at - time.monotonic()))
            now = rss_mb(pid)
            if now is None:
                return
            rss["peak"] = max(rss["peak"] or 0.0, now)
            if rss["warm"] is None:
                rss["warm"] = now
            if rss["after_first_run"] is None and runs:
                rss["after_first_run"] = now

    load_before = load_average()
    cpu_before, loop_before = cpu_seconds(pid), cpu_seconds(pid, pid)
    watcher = asyncio.ensure_future(watch_rss())
    small_done = asyncio.gather(*(small_user(k) for k in range(users)))
    await asyncio.gather(small_done, *(train_user() for _ in range(train_users)))
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(pid)
    watcher.cancel()
    answered = statuses.get(200, 0)
    cpu_ms, cpu_small_ms = (
        None if cpu_before is None or cpu is None or not answered else round((cpu - cpu_before) / answered * 1e3, 2)
        for cpu in (cpu_after, small_ended[1])
    )
    loop_ms = (
        None
        if loop_before is None or small_ended[2] is None or not answered
        else round((small_ended[2] - loop_before) / answered * 1e3, 2)
    )
    small_seconds = max(small_ended[0] - started, 1e-9)
    errors = sum(count for status, count in statuses.items() if status != 200)
    errors += sum(1 for status, last, _ in runs if status != 200 or last != "done")
    return {
        "users": users,
        "train_users": train_users,
        "seconds": round(elapsed, 1),
        "load_average": {"before": load_before, "after": load_average()},
        "errors": errors,
        "small": {
            "requests": len(latencies),
            "per_second": round(len(latencies) / small_seconds),
            "statuses": statuses,
            "median_ms": round(percentile(latencies, 0.5) * 1e3, 1),
            "p90_ms": round(percentile(latencies, 0.9) * 1e3, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1e3, 1),
            "max_ms": round(max(latencies, default=float("nan")) * 1e3, 1),
        },
        "train": {
            "runs": len(runs),
            "statuses": {s: sum(1 for r in runs if r[0] == s) for s in {r[0] for r in runs}},
            "last_lines": {t: sum(1 for r in runs if r[1] == t) for t in {r[1] for r in runs}},
            "median_s": round(percentile([r[2] for r in runs], 0.5), 2),
            "max_s": round(max((r[2] for r in runs), default=float("nan")), 2),
        }
        if train_users
        else None,
        "rss_mb": {**{k: None if v is None else round(v, 1) for k, v in rss.items()}, "end": rss_mb(pid)},
        # The server's CPU time per small request answered 200, while the small users ran
        # (training included, when there are training users, as far as it ran meanwhile): the
        # figure the machine's other load changes least. `_all`: to the last run's end.
        "server_cpu_ms_per_answer": cpu_small_ms,
        "server_cpu_ms_per_answer_all": cpu_ms,
        # The event loop's thread alone (it answers the small requests; training and large jobs
        # run in other threads): what training adds here is its cost to the small requests.
        "loop_cpu_ms_per_answer": loop_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="users sending small requests (default 50)")
    parser.add_argument("--train-users", type=int, default=0, help="users training the digits (default 0)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long (default 60, at most 600)")
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start one from this checkout)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose server to start (a 'before')")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a CHAINLENS_ setting for the started server (repeatable)",
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 600 or args.users > 500 or args.train_users > 100:
        raise SystemExit("bounded: --seconds in (0, 600], --users ≤ 500, --train-users ≤ 100")
    env = dict(item.split("=", 1) for item in args.env)
    with nullcontext((args.url, None)) if args.url else running_server(env=env, root=args.root) as (url, pid):
        result = asyncio.run(crowd(url, pid, args.users, args.train_users, args.seconds))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Issue 10's heavy requests against a real server: time, memory, /healthz, memory given back, and
(issue 22) each admitted request's time against its estimate.

    .venv/bin/python bench/stress.py                       # every case, this checkout's code
    .venv/bin/python bench/stress.py --root /tmp/main-wt   # another checkout's code (a "before")
    .venv/bin/python bench/stress.py --cases sum-100k,cjk-name --concurrency 1
    .venv/bin/python bench/stress.py --shrink              # the smaller sizes, for old code

Not part of the test command. For each case, a fresh `python -m app` (default settings, one
worker) is started from --root on a free loopback port; the case's request is sent alone, and
then eight copies at once. Printed per run: the statuses, the slowest request's wall time, the
estimate this checkout makes of the request (app/api/budget.py's seconds, a training run's
estimated_seconds), the server's CPU seconds meanwhile and their ratio to the estimate (sent
alone and answered 200: no admitted request should take more than twice its estimate; CPU, not
wall time, since the machine's other processes share its cores), the server's peak RSS over its
idle level (sampled every 10 ms from /proc), the slowest GET /healthz answered meanwhile (polled
every 50 ms) beside the slowest of 2 s of polling before the request (what the machine's own load
costs /healthz), and the RSS over idle after 10 s without requests.

Guards, for old code that takes minutes and gigabytes: each request is abandoned after
--timeout seconds, and the server is killed when its RSS passes --max-rss-gb (the run is then
reported as killed); a killed or timed-out run does not hold the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench")]

from measure import machine  # noqa: E402
from server import running_server  # noqa: E402

MB = 1 << 20


def _init(shape: list[int], seed: int = 0) -> dict:
    return {"init": "randn", "shape": shape, "seed": seed}


def cases(shrink: bool) -> dict[str, dict]:
    """The issue's heavy requests (--shrink: sizes that old code survives in a few GB)."""
    terms = 30_000 if shrink else 100_000
    unused = 40 if shrink else 400
    lines = 500 if shrink else 4_999
    side = 2000
    name = 5_000 if shrink else 20_000
    # Varied characters: difflib treats a character filling more than 1% of a long name as junk,
    # which would make one repeated character cheap to compare.
    cjk = "".join(chr(0x4E01 + (k * 7919) % 20_000) for k in range(name))
    similar = "".join("\u4e00" if k % 10 == 0 else c for k, c in enumerate(cjk))  # 2,000 matching blocks
    return {
        f"sum-{terms // 1000}k": {"expression": "x" + "+x" * (terms - 1), "inputs": {"x": 1}},
        f"unused-{unused}x4M": {
            "expression": "y = x * 2",
            "inputs": {"x": 1, **{f"u{k}": {"init": "ones", "shape": [4_000_000]} for k in range(unused)}},
        },
        f"h*w-{lines}x10k": {
            "expression": "h = h * w\n" * lines,
            "inputs": {"h": _init([10000]), "w": _init([10000], 1)},
        },
        f"tanh-4x{side}²": {
            "expression": "h = tanh(h * w + b)\n" * 4,
            "inputs": {"h": _init([side, side]), "w": _init([side, side], 1), "b": _init([side, side], 2)},
        },
        "tanh-4x700² (admitted)": {
            "expression": "h = tanh(h * w + b)\n" * 4,
            "inputs": {"h": _init([700, 700]), "w": _init([700, 700], 1), "b": _init([700, 700], 2)},
        },
        f"cjk-name-{name // 1000}k": {"expression": f"y = {cjk}", "inputs": {similar: 1}},
        "body-15MB": {
            "expression": "y = sum(x * x)",
            "inputs": {"x": [[k % 7 * 0.123456789 for k in range(1000)] for _ in range(800)]},
        },
        # Issue 22: the ops whose time per unit of work is far from an add's (app/engine/costs.py).
        "sin-1e15-1M": {"expression": "y = sum(sin(x))", "inputs": {"x": _huge([1_000_000])}},
        "cos-1e15-1M": {"expression": "y = sum(cos(x))", "inputs": {"x": _huge([1_000_000])}},
        "pow-1M": {"expression": "y = sum(x ** w)", "inputs": {"x": _init([1_000_000]), "w": _init([1_000_000], 1)}},
        "exp-4M": {"expression": "y = sum(exp(x))", "inputs": {"x": _init([4_000_000])}},
        "train-sin-1e15-1M-30": {
            "_route": "/train",
            "expression": "loss = sum(sin(x * w))",
            "inputs": {"x": _huge([1_000_000]), "w": 1.0},
            "train": {"optimizer": {"name": "sgd", "lr": 1e-30}, "steps": 30},
        },
    }


def _huge(shape: list[int]) -> dict:
    """Arguments near 10¹⁵: sine and cosine take the slow path of argument reduction."""
    return {"init": "uniform", "shape": shape, "seed": 0, "low": 1e14, "high": 1e15}


def estimated_seconds(request: dict) -> float | None:
    """This checkout's own estimate of the request (what decides its lane), or None if refused."""
    sys.path.insert(0, str(ROOT))
    from app.api.budget import seconds
    from app.api.lanes import parse_seconds
    from app.core import declare_inputs
    from app.engine.errors import ProgramError
    from app.engine.limits import Limits
    from app.lang import parse
    from app.train import TrainingRun
    from app.train.config import TrainConfig
    from app.train.run import TrainLimits

    try:
        if request.get("_route") == "/train":
            config = TrainConfig.model_validate(request["train"])
            return TrainingRun(request["expression"], request["inputs"], config, Limits(), TrainLimits()).estimate[
                "estimated_seconds"
            ]
        body = len(json.dumps({key: value for key, value in request.items() if key != "_route"}))
        graph = parse(request["expression"], declare_inputs(request["inputs"], Limits()), Limits())
        return seconds(graph) + parse_seconds(body)  # what the server expects (app/api/jobs.py)
    except ProgramError:
        return None


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used (user and system): what a request costs the server, whatever
    else the shared machine runs meanwhile (its wall time is not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Run:
    statuses: list = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0  # the server's CPU seconds while the requests ran
    peak_over_idle: int = 0
    slowest_healthz: float = 0.0
    idle_healthz: float = 0.0  # the slowest /healthz of 2 s before the request: the machine's own noise
    after_idle_over_idle: int | None = None
    killed: str = ""


def slowest_health(url: str, seconds: float) -> float:
    slowest = 0.0
    with httpx.Client(timeout=10) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            client.get(f"{url}/healthz")
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.05)
    return slowest


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


def measure(
    url: str, pid: int, body: bytes, copies: int, timeout: float, max_rss: int, route: str = "/graph/backward"
) -> Run:
    run = Run()
    # A first small request: the server's own warm-up (lazy imports, the first route call) is
    # not the measured request's time.
    httpx.post(f"{url}/graph/backward", json={"expression": "y = x * 2", "inputs": {"x": 1}}, timeout=timeout)
    run.idle_healthz = slowest_health(url, 2.0)
    idle = rss(pid)
    done = threading.Event()
    peak = [idle]

    def sample_memory() -> None:
        while not done.is_set():
            current = rss(pid)
            peak[0] = max(peak[0], current)
            if current > max_rss:
                run.killed = f"killed at {current / (1 << 30):.1f} GB"
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.01)

    def poll_health() -> None:
        with httpx.Client(timeout=timeout) as client:
            while not done.is_set():
                started = time.perf_counter()
                try:
                    client.get(f"{url}/healthz")
                except httpx.HTTPError:
                    if done.is_set() or not alive(pid):
                        return
                run.slowest_healthz = max(run.slowest_healthz, time.perf_counter() - started)
                time.sleep(0.05)

    def one(_: int) -> tuple[object, float]:
        started = time.perf_counter()
        try:
            response = httpx.post(
                f"{url}{route}", content=body, headers={"content-type": "application/json"}, timeout=timeout
            )
            status: object = response.status_code
            if route == "/train" and status == 200 and b'"type":"done"' not in response.content.splitlines()[-1]:
                status = "no done line"
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        return status, time.perf_counter() - started

    watchers = [threading.Thread(target=sample_memory), threading.Thread(target=poll_health)]
    for watcher in watchers:
        watcher.start()
    cpu_before = cpu_seconds(pid)
    with ThreadPoolExecutor(copies) as pool:
        results = list(pool.map(one, range(copies)))
    run.cpu = cpu_seconds(pid) - cpu_before
    done.set()
    for watcher in watchers:
        watcher.join()
    run.statuses = [status for status, _ in results]
    run.wall = max(seconds for _, seconds in results)
    run.peak_over_idle = peak[0] - idle
    if alive(pid) and "timeout" not in run.statuses:
        time.sleep(10)
        run.after_idle_over_idle = rss(pid) - idle
    return run


def statuses(values: list) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return " ".join(f"{k}×{n}" if n > 1 else k for k, n in counts.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app is served (default: this one)")
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--shrink", action="store_true", help="smaller sizes, for code that cannot take the full ones")
    parser.add_argument("--concurrency", default="1,8", help="copies sent at once, per run (default 1,8)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a request is abandoned")
    parser.add_argument("--max-rss-gb", type=float, default=5.0, help="kill the server past this RSS")
    parser.add_argument("--json", help="also write the table to this file")
    args = parser.parse_args(argv)
    chosen = cases(args.shrink)
    if args.cases:
        wanted = args.cases.split(",")
        chosen = {name: body for name, body in chosen.items() if any(name.startswith(w) for w in wanted)}
    print("machine:", json.dumps(machine()))
    # check=False: a checkout without git still runs; its revision is then left empty.
    revision = subprocess.run(
        ["git", "-C", str(args.root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"code: {args.root}  (git {revision})")
    header = (
        f"{'case':28} {'at once':>7} {'statuses':>14} {'wall s':>8} {'cpu s':>6} {'est. s':>7} {'÷ est.':>6} "
        f"{'peak MB':>9} {'healthz ms':>11} {'(idle)':>7} {'after 10 s MB':>14}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    over_twice = []
    for name, request in chosen.items():
        route = request.get("_route", "/graph/backward")
        body = json.dumps({key: value for key, value in request.items() if key != "_route"}).encode()
        estimate = estimated_seconds(request) if args.root == ROOT else None
        for copies in map(int, args.concurrency.split(",")):
            with running_server(timeout=60, env={"CHAINLENS_LOG_LEVEL": "error"}, root=args.root) as (url, pid):
                run = measure(url, pid, body, copies, args.timeout, int(args.max_rss_gb * (1 << 30)), route)
            after = "-" if run.after_idle_over_idle is None else f"{run.after_idle_over_idle / MB:,.0f}"
            note = f"  {run.killed}" if run.killed else ""
            # Alone and admitted, the server's CPU time for the request against its estimate (CPU,
            # not wall: other processes of the shared machine take turns on its cores meanwhile;
            # the /healthz polling's share is in it too, a few ms a second).
            ratio = run.cpu / estimate if estimate and copies == 1 and run.statuses == [200] else None
            if ratio is not None and ratio > 2:
                over_twice.append(name)
            print(
                f"{name:28} {copies:>7} {statuses(run.statuses):>14} {run.wall:>8.2f} {run.cpu:>6.2f} "
                f"{'-' if estimate is None else f'{estimate:.2f}':>7} {'-' if ratio is None else f'{ratio:.2f}':>6} "
                f"{run.peak_over_idle / MB:>9,.0f} {run.slowest_healthz * 1000:>11,.0f} "
                f"{run.idle_healthz * 1000:>7,.0f} "
                f"{after:>14}{note}",
                flush=True,
            )
            rows.append(
                {
                    "case": name,
                    "copies": copies,
                    "body_bytes": len(body),
                    "estimate": estimate,
                    "ratio": ratio,
                    **run.__dict__,
                }
            )
    if args.root == ROOT:
        print("admitted requests over 2x their estimate (alone):", ", ".join(over_twice) or "none")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

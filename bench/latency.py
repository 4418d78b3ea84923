"""Latency of single small requests through a running server, against GET /healthz.

    .venv/bin/python bench/latency.py                  # 100 timed requests per figure
    .venv/bin/python bench/latency.py --requests 3     # a few seconds (the smoke test)
    .venv/bin/python bench/latency.py --json out.json

Starts `python -m app` on a free loopback port (bench/server.py), then, with one httpx client
(one keep-alive connection), sends sequential requests: POST /graph/backward of the examples
"chain-rule" and "regression-mlp" (program and inputs from app/examples.py) and GET /healthz as
the reference. After WARMUP untimed rounds, the three are timed in alternating rounds (one request
of each per round), so a change in the machine's load reaches all three alike. Prints the median
and p90 (nearest rank) in ms and each median's ratio to /healthz's; nothing is asserted about
time. Every response must be 200, and every chain-rule answer must have the gradients
x = -4, y = -4, z = 3, else the script fails rather than timing error responses.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from measure import machine  # noqa: E402
from server import running_server  # noqa: E402

from app.examples import EXAMPLES  # noqa: E402

WARMUP = 10
CHAIN_RULE_GRADS = {"x": -4.0, "y": -4.0, "z": 3.0}


def example_body(example_id: str) -> bytes:
    example = next(e for e in EXAMPLES if e["id"] == example_id)
    return json.dumps({k: example[k] for k in ("expression", "inputs", "grad_output")}).encode()


def check_chain_rule(response: httpx.Response) -> None:
    grads = {n["name"]: n["grad"] for n in response.json()["nodes"] if n["op"] == "input"}
    if grads != CHAIN_RULE_GRADS:
        raise RuntimeError(f"chain-rule gradients {grads}, expected {CHAIN_RULE_GRADS}")


def p90(values: list[float]) -> float:
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=100, metavar="N", help="timed requests per figure (default 100)"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures and the machine to PATH as JSON")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")

    post = {"content-type": "application/json"}
    cases = {  # name: (method, path, body, headers, check of the answer or None)
        "POST /graph/backward chain-rule": (
            "POST",
            "/graph/backward",
            example_body("chain-rule"),
            post,
            check_chain_rule,
        ),
        "POST /graph/backward regression-mlp": ("POST", "/graph/backward", example_body("regression-mlp"), post, None),
        "GET /healthz": ("GET", "/healthz", None, {}, None),
    }
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    times: dict[str, list[float]] = {name: [] for name in cases}
    with running_server() as (url, pid), httpx.Client(base_url=url, timeout=30.0) as client:
        print(
            f"server pid {pid} at {url}; {WARMUP} warm-up + {args.requests} timed sequential requests each, "
            "one keep-alive connection, in alternating rounds",
            flush=True,
        )
        for round_ in range(WARMUP + args.requests):
            for name, (method, path, body, headers, check) in cases.items():
                start = time.perf_counter()
                response = client.request(method, path, content=body, headers=headers)  # reads the whole body
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {response.status_code} {response.text[:500]}")
                if check:
                    check(response)
                if round_ >= WARMUP:
                    times[name].append(elapsed)

    healthz = statistics.median(times["GET /healthz"])
    figures = {
        name: {
            "median_ms": statistics.median(t) * 1e3,
            "p90_ms": p90(t) * 1e3,
            "ratio_to_healthz": statistics.median(t) / healthz,
            "n": len(t),
        }
        for name, t in times.items()
    }
    width = max(map(len, figures))
    print(f"\n{'request':<{width}}  {'median ms':>9}  {'p90 ms':>8}  {'vs /healthz':>11}")
    for name, f in figures.items():
        print(f"{name:<{width}}  {f['median_ms']:>9.3f}  {f['p90_ms']:>8.3f}  {f['ratio_to_healthz']:>10.2f}x")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"machine": info, "warmup": WARMUP, "requests": args.requests, "figures": figures}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

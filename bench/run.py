"""chainlens benchmarks: every figure beside its baseline, measured in the same run.

    .venv/bin/python bench/run.py            # full sizes (about a minute)
    .venv/bin/python bench/run.py --tiny     # small sizes, a few seconds (the smoke test)
    .venv/bin/python bench/run.py --json out.json
    .venv/bin/python bench/run.py --only 3   # figure 3 alone (about 10 s), measured as in the full run
    .venv/bin/python bench/run.py --only engine   # figures 1, 2 and the engine's programs alone (about 30 s)

Figures (ratios are reported, never asserted):
  1  engine, scalar chain `h = tanh(h * w + b)` of 10,000 op-nodes: app.engine.run.run(graph) on a
     parsed graph (forward + backward + step record), µs per op-node, vs PyTorch eager, micrograd,
     a plain numpy tape, Python floats (CPU time, one thread each; a ratio is the median of the
     rounds' ratios); parse time separately, vs ast.parse of the same text
     1d-r, 1d-n, 1d-c: run() vs the Python-floats tape in CPU time, the median of paired rounds'
     ratios, on the same chain and on chains whose lines differ (a new name, new constants per
     line); 2m a small mixed program (matrices and scalars) vs PyTorch eager (bench/engine_programs.py)
  2  engine, MLP 784-100-200-10, batch 32, float64: run(graph) vs hand-written numpy, vs PyTorch;
     2c the same against numpy in CPU time, one call of each in turn, the ratio the median of the
     rounds' ratios (bench/engine_programs.py)
  3  POST /graph/backward of the 10k chain through a running server, client-measured median
     (the standard library's client, Accept-Encoding: identity; httpx beside it as 3h), vs
     PyTorch's bare forward+backward of the same graph timed in the same rounds; 3c the column
     layout (?format=columns, what the UI asks for), 3g the same gzipped and decompressed by the
     client; response sizes. 3k/3kc and 3n/3nc: the same computation with every line different
     (a constant of its own on each line; a new name on each line), each vs its own PyTorch
     baseline in the same rounds; the in-process stages of all three are printed below the table
  4  small requests (the chain-rule example) per second with concurrent clients, vs /healthz
  5  peak memory (tracemalloc) of evaluate + encode of the 10k chain, vs its JSON size
  6  training (bench/train.py): CPU time per step of the regression example (batch 1, SGD), vs a
     hand-written numpy loop (6) and PyTorch eager with torch.optim (6p), float64, one thread
  7  the same for the digits example, 64-100-200-10, batch 32, SGD with momentum (7, 7p)
  8  the layers' ops (bench/layers.py, which times every one): forward + backward of conv2d (32x3x32x32,
     16 3x3 kernels), attention (B=8, T=64, d=64), batch_norm, layer_norm and max_pool2d, and the CNN
     example's training step, each vs PyTorch eager (float64, one thread)

Timed sections run with the cyclic GC collected and then paused, for chainlens and baselines
alike, as the server does while it builds and encodes a graph; the process keeps freed memory
as each server worker does (app/memory.py). Times are medians.
"""

from __future__ import annotations

import argparse
import ast
import gc
import itertools
import json
import os
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _blas_threads(argv: list[str]) -> int:
    """--blas-threads N, read before numpy and torch are imported (they read the variables once)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--blas-threads"):
            value = arg.partition("=")[2] or (argv[i + 1] if i + 1 < len(argv) else "")
            return int(value) if value.isdigit() else 1
    return 1


BLAS_THREADS = _blas_threads(sys.argv[1:])
if BLAS_THREADS > 0:  # the server subprocess inherits these too
    os.environ.update({name: str(BLAS_THREADS) for name in BLAS_VARIABLES})

import baselines  # noqa: E402
import engine_programs  # noqa: E402
import measure  # noqa: E402
import numpy as np  # noqa: E402
import parse as parser_figure  # noqa: E402
import train as training  # noqa: E402
import workloads  # noqa: E402
from measure import interleaved, paired_ratio, rounds_cpu, timed_call_cpu  # noqa: E402
from workloads import decoded  # noqa: E402

from app.api.encode import graph_body  # noqa: E402
from app.core import evaluate  # noqa: E402
from app.engine.limits import Limits  # noqa: E402
from app.engine.run import Result, run  # noqa: E402
from app.lang import parse  # noqa: E402
from app.memory import keep_freed_memory  # noqa: E402
from app.settings import Settings  # noqa: E402

# The server does this in each worker (app/memory.py); the in-process figures run under the same
# allocator settings, and so do the baselines they are compared with.
MALLOC_TUNED = keep_freed_memory()


@dataclass
class Sizes:
    chain_nodes: int
    mlp: tuple[int, int, int, int]
    batch: int
    repeat_chain: int
    repeat_mlp: int
    http_requests: int  # POSTs of the chain, for the median
    small_requests: int  # per throughput measurement (bounded count)
    clients: int
    max_seconds: float  # time bound of each throughput measurement


FULL = Sizes(10_000, (784, 100, 200, 10), 32, 7, 30, 15, 2000, 8, 15.0)
TINY = Sizes(50, (8, 4, 4, 3), 2, 3, 3, 3, 20, 4, 5.0)


@dataclass
class Figure:
    id: str
    figure: str
    chainlens: float
    unit: str
    baseline_name: str | None = None
    baseline: float | None = None
    ratio: float | None = None
    target: str | None = None  # e.g. "<= 0.2x" or "<= 1.5 us/node"
    met: bool | None = None


def leaf_grads(result: Result, names: list[str]) -> list[float]:
    graph = result.graph
    ids = {graph.names[i]: i for i in range(len(graph)) if graph.ops[i] is None and graph.names[i]}
    return [result.grads[ids[name]] for name in names]


# --- machine ---------------------------------------------------------------------------------


def machine() -> dict:
    import torch

    details = {"numpy": np.__version__, "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        details["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 (older numpy: no dict mode, and its error types vary)
        details["blas"] = "unknown (see numpy.show_config())"
    try:
        from threadpoolctl import threadpool_info

        details["blas_threads"] = [f"{p['internal_api']}:{p['num_threads']}" for p in threadpool_info()]
    except ImportError:
        details["blas_threads"] = "threadpoolctl not installed"
    for name in BLAS_VARIABLES:
        if os.environ.get(name):
            details[name] = os.environ[name]
    details["malloc_keeps_freed_memory"] = MALLOC_TUNED
    return measure.machine(**details)


# --- 1. scalar chain -------------------------------------------------------------------------


def bench_chain(sizes: Sizes, figures: list[Figure], details: dict) -> None:
    limits = Limits()
    program = workloads.chain_program(sizes.chain_nodes)
    statements = workloads.chain_statements(sizes.chain_nodes)
    inputs = workloads.CHAIN_INPUTS
    graph = parse(program, decoded(inputs, limits), limits)
    op_nodes = len(graph.computed())
    result = run(graph)
    ours = leaf_grads(result, ("h", "w", "b"))

    args = workloads.chain_baseline_args(sizes.chain_nodes)
    checks = {}
    cases = {
        "run": (run, lambda: parse(program, decoded(inputs, limits), limits)),
        "parse": (lambda state: parse(program, state, limits), lambda: decoded(inputs, limits)),
        "ast.parse": (lambda: ast.parse(program), None),
    }
    for name, fn in baselines.CHAIN_BASELINES.items():
        theirs = fn(*args)  # also the warm-up
        checks[name] = max(abs(a - b) for a, b in zip(ours, theirs))
        cases[name] = ((lambda fn=fn: fn(*args)), None)
    # CPU time: under load, a wall-time call of 4 ms (run) was stopped mid-way where one of 2 ms (the
    # tape) mostly was not, and figure 1d read 3.5x where the same calls' CPU times gave 1.9x.
    times = rounds_cpu(cases, sizes.repeat_chain)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    run_s, parse_s, ast_s = seconds["run"], seconds["parse"], seconds["ast.parse"]
    per = lambda seconds: seconds / op_nodes * 1e6  # noqa: E731
    details["chain"] = {
        "statements": statements,
        "op_nodes": op_nodes,
        "backward_steps": len(result.records),
        "seconds": seconds,
    }

    figures.append(
        Figure(
            "1",
            f"chain {op_nodes} op-nodes: run() per op-node",
            per(run_s),
            "us/node",
            target="<= 1.5 us/node",
            met=per(run_s) <= 1.5,
        )
    )
    targets = {"PyTorch eager": 0.2, "Python floats": 2.0}
    for letter, name in zip("abcd", baselines.CHAIN_BASELINES):
        ratio = paired_ratio(times["run"], times[name])
        target = targets.get(name)
        figures.append(
            Figure(
                f"1{letter}",
                f"  run() vs {name}",
                per(run_s),
                "us/node",
                name,
                per(seconds[name]),
                ratio,
                f"<= {target}x" if target else None,
                ratio <= target if target else None,
            )
        )
    figures.append(
        Figure(
            "1p",
            f"  parse {statements} statements, per op-node",
            per(parse_s),
            "us/node",
            "ast.parse (text only)",
            per(ast_s),
            parse_s / ast_s,
        )
    )
    details["chain"]["max_grad_difference"] = checks


# --- 2. MLP ----------------------------------------------------------------------------------


def bench_mlp(sizes: Sizes, figures: list[Figure], details: dict) -> None:
    limits = Limits()
    raw = workloads.mlp_inputs(sizes.mlp, sizes.batch)
    arrays = workloads.mlp_arrays(raw)
    program = workloads.MLP_PROGRAM
    inputs = decoded(raw, limits)  # once, as the baselines build their arrays once
    result = run(parse(program, inputs, limits))
    loss_np, grads_np = baselines.numpy_mlp(arrays)
    tensors = baselines.torch_mlp_setup(arrays)
    loss_torch, grads_torch = baselines.torch_mlp(tensors)
    ours = dict(zip(baselines.MLP_GRADS, leaf_grads(result, baselines.MLP_GRADS)))
    diff = lambda g: max(float(np.max(np.abs(ours[k] - g[k]))) for k in baselines.MLP_GRADS)  # noqa: E731

    seconds = interleaved(
        {
            "run": (run, lambda: parse(program, inputs, limits)),
            "numpy": (lambda: baselines.numpy_mlp(arrays), None),
            "torch": (lambda: baselines.torch_mlp(tensors), None),
        },
        sizes.repeat_mlp,
    )
    run_s, numpy_s, torch_s = seconds["run"], seconds["numpy"], seconds["torch"]
    shape = "-".join(map(str, sizes.mlp))
    details["mlp"] = {
        "sizes": shape,
        "batch": sizes.batch,
        "run_s": run_s,
        "numpy_s": numpy_s,
        "torch_s": torch_s,
        "loss": result.values[result.output],
        "loss_numpy": loss_np,
        "loss_torch": loss_torch,
        "max_grad_difference": {"numpy": diff(grads_np), "PyTorch": diff(grads_torch)},
        "backward_steps": len(result.records),
    }
    ms = 1e3
    figures.append(
        Figure(
            "2",
            f"MLP {shape} batch {sizes.batch}: run()",
            run_s * ms,
            "ms",
            "hand-written numpy",
            numpy_s * ms,
            run_s / numpy_s,
            "<= 1.1x",
            run_s / numpy_s <= 1.1,
        )
    )
    figures.append(
        Figure("2a", "  run() vs PyTorch eager", run_s * ms, "ms", "PyTorch eager", torch_s * ms, run_s / torch_s)
    )
    # (one call of each a round: seven rounds per round of the wall-time figure)
    cpu = details["mlp"]["cpu"] = engine_programs.mlp_cpu(sizes.mlp, sizes.batch, 7 * sizes.repeat_mlp)
    figures.append(
        Figure(
            "2c",
            "  run() vs numpy in CPU time, alternating",
            cpu["run"] * ms,
            "ms",
            "hand-written numpy",
            cpu["numpy"] * ms,
            cpu["ratio"],
            "<= 1.1x",
            cpu["ratio"] <= 1.1,
        )
    )


def bench_programs(tiny: bool, figures: list[Figure], details: dict) -> None:
    """Figure 1d on programs whose lines all differ, and a mixed program (bench/engine_programs.py)."""
    rows = details["programs"] = engine_programs.measure(tiny)
    for key, name, text in (
        ("1d-r", "repeated line", "the repeated line"),
        ("1d-n", "names differ", "names differ per line"),
        ("1d-c", "constants differ", "constants differ per line"),
    ):
        row = rows[name]
        per = lambda seconds, row=row: seconds / row["nodes"] * 1e6  # noqa: E731
        ratio = row["ratio"]  # (CPU time, the median of the rounds' ratios)
        figures.append(
            Figure(
                key,
                f"  run() per op-node, {text}, CPU time",
                per(row["run"]),
                "us/node",
                "Python floats",
                per(row["Python floats"]),
                ratio,
                "<= 2.0x",
                ratio <= 2.0,
            )
        )
    row = rows["mixed"]
    figures.append(
        Figure(
            "2m",
            f"mixed program ({int(row['nodes'])} op-nodes, matrices and scalars): run()",
            row["run"] * 1e6,
            "us",
            "PyTorch eager",
            row["PyTorch eager"] * 1e6,
            row["run"] / row["PyTorch eager"],
        )
    )


# --- 3 and 4. HTTP ---------------------------------------------------------------------------


def _stdlib_post(url: str) -> Callable[[str, bytes, dict], bytes]:
    """A POST over one keep-alive connection of the standard library's client, returning the body.

    Figure 3 is timed with it: httpx reassembles a 5.7 MB body from chunks in Python, about 10 ms
    of client time that is neither the server's nor in PyTorch's baseline (httpx is still timed
    beside it, as line 3h).
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60.0)

    def post(path: str, body: bytes, headers: dict) -> bytes:
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle connection (its keep-alive timeout, which a loaded machine
            # can outlast between two requests): once more on a new one.
            connection.close()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
        content = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {content[:200]!r}")
        return content

    return post


def _torch_baselines(op_nodes: int) -> dict[str, Callable[[], object]]:
    """PyTorch's bare forward+backward of each of figure 3's programs (the same computation)."""
    chain = workloads.chain_baseline_args(op_nodes)
    constants = workloads.chain_constants(op_nodes)
    h, w = workloads.CHAIN_INPUTS["h"], workloads.CHAIN_INPUTS["w"]
    return {
        "repeated line": lambda: baselines.torch_chain(*chain),
        "constants differ": lambda: baselines.torch_constants_chain(constants, h, w),
        "names differ": lambda: baselines.torch_chain(*chain),  # x0 is h: the same numbers
    }


# Figure 3's ids of each program: (default layout, columns); the repeated line's are the historical 3 and 3c.
FIGURE_3_IDS = {"repeated line": ("3", "3c"), "constants differ": ("3k", "3kc"), "names differ": ("3n", "3nc")}


def bench_http_chain(url: str, pid: int | None, sizes: Sizes, figures: list[Figure], details: dict) -> None:
    """Figure 3. Each program of workloads.figure_3_requests (the repeated line; constants, then
    names, that differ on every line) is posted in the default layout and with ?format=columns
    (what the UI asks for), and PyTorch's bare forward+backward of the same computation is timed
    in the same rounds (one of each per round), so a change in the machine's load reaches all
    alike. The repeated line is also asked for gzipped as a browser takes it (decompressed by the
    client, as a browser does) and read by httpx.

    Beside the times, CPU seconds (details only, printed under the table): per request the
    server's (its process's, summed over the rounds, so the clock's 10 ms ticks average out) and
    the client's, and PyTorch's. On a loaded shared machine wall times swing with the other
    processes (a process given a fifth of a core takes five times as long); these do much less."""
    import gzip

    import httpx

    requests = workloads.figure_3_requests(sizes.chain_nodes)
    bodies = {name: json.dumps(request).encode() for name, request in requests.items()}
    torch_runs = _torch_baselines(sizes.chain_nodes)
    headers = {"content-type": "application/json", "accept-encoding": "identity"}
    gzip_headers = {**headers, "accept-encoding": "gzip"}
    columns_path = "/graph/backward?format=columns"
    post = _stdlib_post(url)
    times: dict[str, dict[str, list[float]]] = {name: {"objects": [], "columns": [], "torch": []} for name in requests}
    cpu: dict[str, dict[str, float]] = {name: {"objects": 0.0, "columns": 0.0, "torch": 0.0} for name in requests}
    # The client's share of each layout's CPU time (sending the request, reading the body's bytes;
    # it decodes no JSON), also inside cpu's: PyTorch's baseline has no counterpart of it.
    client_cpu = {name: {"objects": 0.0, "columns": 0.0} for name in requests}
    httpx_times, gzip_times = [], []
    chain = bodies["repeated line"]
    with httpx.Client(base_url=url, timeout=60.0) as client:
        sizes_of = {
            name: {
                "objects": len(post("/graph/backward", body, headers)),
                "columns": len(post(columns_path, body, headers)),
            }
            for name, body in bodies.items()
        }
        gzip_size = len(post(columns_path, chain, gzip_headers))
        client.post("/graph/backward", content=chain, headers=headers).raise_for_status()
        for warm_up in torch_runs.values():  # PyTorch's first call sets itself up: not in a round
            warm_up()
        for _ in range(sizes.http_requests):
            for name, body in bodies.items():
                for layout, path in (("objects", "/graph/backward"), ("columns", columns_path)):
                    before, ours = cpu_seconds(pid), time.process_time()
                    start = time.perf_counter()
                    post(path, body, headers)
                    times[name][layout].append(time.perf_counter() - start)
                    ours, after = time.process_time() - ours, cpu_seconds(pid)
                    if before is not None and after is not None:
                        cpu[name][layout] += after - before + ours
                        client_cpu[name][layout] += ours
                wall, cpu_s = timed_call_cpu(torch_runs[name])
                times[name]["torch"].append(wall)
                cpu[name]["torch"] += cpu_s
            start = time.perf_counter()
            gzip.decompress(post(columns_path, chain, gzip_headers))
            gzip_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            response = client.post("/graph/backward", content=chain, headers=headers)
            response.content  # noqa: B018 (read the whole body)
            httpx_times.append(time.perf_counter() - start)
            response.raise_for_status()
    medians = {name: {kind: statistics.median(values) for kind, values in runs.items()} for name, runs in times.items()}
    httpx_s, gzip_s = statistics.median(httpx_times), statistics.median(gzip_times)
    chain_times, chain_s = times["repeated line"]["objects"], medians["repeated line"]
    details["http_chain"] = {
        "request_bytes": len(chain),
        "response_bytes": sizes_of["repeated line"]["objects"],
        "median_s": chain_s["objects"],
        "min_s": min(chain_times),
        "max_s": max(chain_times),
        "n": len(chain_times),
        "torch_s": chain_s["torch"],
        "httpx_median_s": httpx_s,
        "columns_median_s": chain_s["columns"],
        "columns_bytes": sizes_of["repeated line"]["columns"],
        "columns_gzip_median_s": gzip_s,
        "columns_gzip_bytes": gzip_size,
        "programs": {
            name: {
                **{f"{kind}_median_s": seconds for kind, seconds in medians[name].items()},
                **{f"{kind}_cpu_s": seconds / sizes.http_requests for kind, seconds in cpu[name].items()},
                **{f"{kind}_client_cpu_s": seconds / sizes.http_requests for kind, seconds in client_cpu[name].items()},
                "bytes": sizes_of[name],
            }
            for name in requests
        },
    }
    for name, (objects_id, columns_id) in FIGURE_3_IDS.items():
        ours, torch_s = medians[name], medians[name]["torch"]
        indent = "" if objects_id == "3" else "  "
        for figure_id, layout, label, target in (
            (objects_id, "objects", f"{indent}POST /graph/backward, {name}, {sizes.chain_nodes} op-nodes", 1.0),
            (columns_id, "columns", "  the same, ?format=columns", 0.7),
        ):
            ratio = ours[layout] / torch_s
            figures.append(
                Figure(
                    figure_id,
                    label,
                    ours[layout] * 1e3,
                    "ms",
                    "PyTorch fwd+bwd",
                    torch_s * 1e3,
                    ratio,
                    f"<= {target}x",
                    ratio <= target,
                )
            )
        if name == "repeated line":
            torch_ms = torch_s * 1e3
            figures.append(
                Figure(
                    "3g",
                    "  columns, gzip (client decompresses)",
                    gzip_s * 1e3,
                    "ms",
                    "PyTorch fwd+bwd",
                    torch_ms,
                    gzip_s / torch_s,
                )
            )
            figures.append(
                Figure(
                    "3h",
                    "  the same, read by an httpx client",
                    httpx_s * 1e3,
                    "ms",
                    "PyTorch fwd+bwd",
                    torch_ms,
                    httpx_s / torch_s,
                )
            )
            figures.append(Figure("3s", "  response size", sizes_of[name]["objects"], "bytes"))
            figures.append(Figure("3cs", "  response size, columns", sizes_of[name]["columns"], "bytes"))
            figures.append(Figure("3gs", "  response size, columns gzipped", gzip_size, "bytes"))


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def throughput(
    url: str,
    method: str,
    path: str,
    body: bytes | None,
    clients: int,
    total: int,
    max_seconds: float,
    server_pid: int | None = None,
) -> dict:
    """Requests per second from `clients` threads, each with its own keep-alive connection, until
    `total` requests are done or `max_seconds` have passed."""
    import httpx

    counter = itertools.count()
    barrier = threading.Barrier(clients + 1)
    done = [0] * clients
    errors: list[str] = []
    headers = {"content-type": "application/json"} if body is not None else {}
    deadline = [0.0]

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30.0) as client:
            client.request(method, path, content=body, headers=headers)  # connect and warm up
            barrier.wait()
            while next(counter) < total and time.perf_counter() < deadline[0]:
                response = client.request(method, path, content=body, headers=headers)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
                    return
                done[index] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + max_seconds + 60  # provisional, until every client is ready
    barrier.wait(timeout=60)
    cpu_before = cpu_seconds(server_pid)
    start = time.perf_counter()
    deadline[0] = start + max_seconds
    for thread in threads:
        thread.join(timeout=max_seconds + 60)
    elapsed = time.perf_counter() - start
    cpu_after = cpu_seconds(server_pid)
    if errors:
        raise RuntimeError(f"{method} {path}: {errors[0]}")
    count = sum(done)
    result = {"requests": count, "seconds": elapsed, "rps": count / elapsed}
    if cpu_before is not None and cpu_after is not None and count:
        # Client-independent: how much of a core the server used, and its CPU time per request.
        result["server_busy"] = (cpu_after - cpu_before) / elapsed
        result["server_cpu_us_per_request"] = (cpu_after - cpu_before) / count * 1e6
    return result


def bench_small(url: str, pid: int, sizes: Sizes, figures: list[Figure], details: dict) -> None:
    body = json.dumps(workloads.SMALL_REQUEST).encode()
    args = (sizes.clients, sizes.small_requests, sizes.max_seconds, pid)
    healthz = throughput(url, "GET", "/healthz", None, *args)
    post = throughput(url, "POST", "/graph/backward", body, *args)
    details["small_requests"] = {"clients": sizes.clients, "post": post, "healthz": healthz}
    ratio = post["rps"] / healthz["rps"]
    figures.append(
        Figure(
            "4",
            f"small POST /graph/backward, {sizes.clients} clients",
            post["rps"],
            "req/s",
            "GET /healthz",
            healthz["rps"],
            ratio,
            ">= 0.5x",
            ratio >= 0.5,
        )
    )


# --- 5. memory -------------------------------------------------------------------------------


def bench_memory(sizes: Sizes, figures: list[Figure], details: dict) -> None:
    settings = Settings()
    request = workloads.chain_request(sizes.chain_nodes)

    def once() -> bytes:
        result = evaluate(request["expression"], request["inputs"], None, limits=settings.limits)
        return graph_body(result, settings.max_full_elements, settings.max_step_elements)

    once()  # imports and caches outside the measurement
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        body = once()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()
    details["memory"] = {"peak_bytes": peak, "json_bytes": len(body)}
    ratio = peak / len(body)
    figures.append(
        Figure(
            "5",
            f"peak memory, evaluate+encode chain {sizes.chain_nodes}",
            peak,
            "bytes",
            "JSON body size",
            len(body),
            ratio,
            "<= 10x",
            ratio <= 10,
        )
    )


def in_process_breakdown(sizes: Sizes, details: dict) -> None:
    """Where each figure-3 request's server-side time goes, measured in-process (not a figure):
    tokenize, parse, the estimates, run, and the body in each layout (bench/stages.py)."""
    import stages

    settings = Settings()
    details["stages"] = {
        name: stages.stage_times(request, settings, sizes.repeat_chain)
        for name, request in workloads.figure_3_requests(sizes.chain_nodes).items()
    }
    chain = details["stages"]["repeated line"]
    details["breakdown"] = {
        "parse_s": chain["parse"],
        "run_s": chain["run"],
        "graph_body_s": chain["graph_body"],
        "graph_body_columns_s": chain["columns"],
    }


def stage_lines(details: dict) -> list[str]:
    """The in-process stages of each figure-3 program, one line each, then the CPU time per
    request of the server and of PyTorch (bench_http_chain) where they were measured."""
    lines = [
        (
            "figure 3 in-process, medians (tokenize: the whole text through the tokenizer, for scale; parse: the "
            "parser's whole work, which tokenizes only the lines outside runs of one shape; estimates: the request's "
            "memory and time estimates; the body's chunks in each layout):"
        )
    ]
    for name, stage in details["stages"].items():
        lines.append(
            f"  {name:<17} tokenize {stage['tokenize'] * 1e3:5.1f} ms, parse {stage['parse'] * 1e3:5.1f} ms, "
            f"estimates {stage['estimate'] * 1e3:4.1f} ms, "
            f"run {stage['run'] * 1e3:5.1f} ms, body {stage['graph_body'] * 1e3:5.1f} ms "
            f"(columns {stage['columns'] * 1e3:5.1f} ms)"
        )
    programs = details.get("http_chain", {}).get("programs", {})
    if programs and all(program["objects_cpu_s"] > 0 for program in programs.values()):
        lines.append(
            "figure 3 CPU time per request (means), the server's and the client's together (the client's share in "
            "brackets: it sends the request and reads the body's bytes, decoding no JSON), vs PyTorch's fwd+bwd "
            "(the same rounds):"
        )
        for name, program in programs.items():
            torch_cpu = program["torch_cpu_s"]
            lines.append(
                f"  {name:<17} "
                + ", columns ".join(
                    f"{program[f'{layout}_cpu_s'] * 1e3:5.1f} ms "
                    f"[{program.get(f'{layout}_client_cpu_s', 0.0) * 1e3:4.1f}] "
                    f"({program[f'{layout}_cpu_s'] / torch_cpu:.2f}x)"
                    for layout in ("objects", "columns")
                )
                + f"; PyTorch {torch_cpu * 1e3:5.1f} ms"
            )
    return lines


# --- output ----------------------------------------------------------------------------------


# --- 6 and 7. training ------------------------------------------------------------------------


def bench_training(tiny: bool, figures: list[Figure], details: dict) -> None:
    results = details["training"] = training.measure(tiny)
    for figure, case in (("6", "regression"), ("7", "digits")):
        r = results[case]
        ours = r["chainlens_us"]
        name = f"training step (CPU), {case} example, batch {r['batch']}"
        figures.append(
            Figure(
                figure,
                name,
                ours,
                "us",
                "hand-written numpy",
                r["numpy_us"],
                ours / r["numpy_us"],
                "<= 1.5x",
                ours / r["numpy_us"] <= 1.5,
            )
        )
        figures.append(
            Figure(
                figure + "p",
                "  vs PyTorch eager + torch.optim",
                ours,
                "us",
                "PyTorch eager",
                r["torch_us"],
                ours / r["torch_us"],
                "<= 0.5x",
                ours / r["torch_us"] <= 0.5,
            )
        )


# --- 8. the layers' ops (bench/layers.py) ------------------------------------------------------------

LAYER_FIGURES = ("conv2d", "attention", "batch_norm", "layer_norm", "max_pool2d", "cnn_step")


def bench_layers(tiny: bool, figures: list[Figure], details: dict) -> None:
    import layers

    results = details["layers"] = layers.main(["--only", ",".join(LAYER_FIGURES)] + (["--tiny"] if tiny else []))
    for name, r in results.items():
        training = name == "cnn_step"
        label = "CNN example training step (CPU), batch 32" if training else f"{name} forward + backward (CPU)"
        target = 1.0 if training else 2.0
        figures.append(
            Figure(
                "8",
                label,
                r["chainlens_ms"],
                "ms",
                "PyTorch eager",
                r["pytorch_ms"],
                r["ratio"],
                f"<= {target:g}x",
                r["ratio"] <= target,
            )
        )


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        return f"{value:,.0f} B"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    rows = [("#", "figure", "chainlens", "baseline", "", "ratio", "target", "met?")]
    rows.extend(
        (
            f.id,
            f.figure,
            fmt(f.chainlens, f.unit),
            fmt(f.baseline, f.unit),
            f.baseline_name or "",
            f"{f.ratio:.3g}x" if f.ratio is not None else "-",
            f.target or "-",
            "-" if f.met is None else ("yes" if f.met else "NO"),
        )
        for f in figures
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    align = ["<", "<", ">", ">", "<", ">", "<", "<"]
    lines = ["  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _figure_3_alone(sizes: Sizes) -> int:
    from server import running_server

    figures: list[Figure] = []
    details: dict = {}
    with running_server() as (url, pid):
        bench_http_chain(url, pid, sizes, figures, details)
    in_process_breakdown(sizes, details)
    print(table(figures))
    print("\n".join(stage_lines(details)))
    print("load average at the end " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


def _engine_figures_alone(sizes: Sizes, tiny: bool) -> int:
    """Figures 1, 1d-r, 1d-n, 1d-c, 2, 2c and 2m alone: the engine in process, measured as in the full run."""
    figures: list[Figure] = []
    details: dict = {}
    bench_chain(sizes, figures, details)
    bench_mlp(sizes, figures, details)
    bench_programs(tiny, figures, details)
    print(table(figures))
    print("load average at the end " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, a few seconds (smoke test)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure and detail to PATH as JSON")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        metavar="N",
        help="BLAS/OpenMP threads for this process and the server (default 1; 0 leaves the "
        "environment alone). On a small shared machine, threaded BLAS made the MLP "
        "figures swing by 10x from run to run.",
    )
    parser.add_argument(
        "--only",
        choices=["3", "engine"],
        help="run figure 3 alone (POST /graph/backward of the chain, "
        "both layouts, against PyTorch), or the engine's figures (1, 1d-r, 1d-n, 1d-c, 2, 2c, 2m), "
        "measured as in the full run",
    )
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    if args.only == "3":
        return _figure_3_alone(sizes)
    if args.only == "engine":
        return _engine_figures_alone(sizes, args.tiny)

    from server import running_server

    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    print(f"sizes: {'tiny' if args.tiny else 'full'} {asdict(sizes)}", flush=True)
    figures: list[Figure] = []
    details: dict = {}
    started = time.perf_counter()

    print("[1] engine, scalar chain ...", flush=True)
    bench_chain(sizes, figures, details)
    print("[2] engine, MLP ...", flush=True)
    bench_mlp(sizes, figures, details)
    print("[1d, 2m] engine, programs whose lines differ; a mixed program ...", flush=True)
    bench_programs(args.tiny, figures, details)
    in_process_breakdown(sizes, details)
    with running_server() as (url, pid):
        print(f"[3] POST /graph/backward of the chain, server pid {pid} at {url} ...", flush=True)
        bench_http_chain(url, pid, sizes, figures, details)
        print("[4] small requests ...", flush=True)
        bench_small(url, pid, sizes, figures, details)
    print("[5] memory ...", flush=True)
    bench_memory(sizes, figures, details)
    print("[6, 7] training steps ...", flush=True)
    bench_training(args.tiny, figures, details)
    print("[8] layers ...", flush=True)
    bench_layers(args.tiny, figures, details)

    print()
    print(table(figures))
    print()
    c, m, b = details["chain"], details["mlp"], details["breakdown"]
    print(
        f"chain: {c['statements']} statements, {c['op_nodes']} op-nodes, {c['backward_steps']} backward steps; "
        f"max |grad difference| vs baselines: " + ", ".join(f"{k} {v:.1e}" for k, v in c["max_grad_difference"].items())
    )
    print(
        f"MLP: loss {m['loss']:.6f} (numpy {m['loss_numpy']:.6f}, PyTorch {m['loss_torch']:.6f}); "
        f"{m['backward_steps']} backward steps; max |grad difference|: "
        + ", ".join(f"{k} {v:.1e}" for k, v in m["max_grad_difference"].items())
    )
    http = details["http_chain"]
    print(
        f"chain {sizes.chain_nodes} request: end to end {http['median_s'] * 1e3:.1f} ms for "
        f"{http['response_bytes']:,} bytes; columns: graph_body {b['graph_body_columns_s'] * 1e3:.1f} ms, "
        f"end to end {http['columns_median_s'] * 1e3:.1f} ms for {http['columns_bytes']:,} bytes"
    )
    print("\n".join(stage_lines(details)))
    s = details["small_requests"]
    print(
        f"small requests: {s['post']['requests']} POSTs in {s['post']['seconds']:.2f} s, "
        f"{s['healthz']['requests']} GET /healthz in {s['healthz']['seconds']:.2f} s "
        f"({s['clients']} httpx client threads in this process, one uvicorn worker, same machine)"
    )
    if "server_busy" in s["post"] and "server_busy" in s["healthz"]:
        print(
            f"  server CPU per request: POST {s['post']['server_cpu_us_per_request']:.0f} us, "
            f"GET /healthz {s['healthz']['server_cpu_us_per_request']:.0f} us; server busy "
            f"{s['post']['server_busy']:.0%} / {s['healthz']['server_busy']:.0%} of a core "
            f"(below 100%: the clients, not the server, set the pace)"
        )
    for case, r in details["training"].items():
        print(
            f"training {case}: {r['steps']} steps a round, median of {r['rounds']} rounds; the three loops end at "
            f"the same parameters (max relative difference: "
            + ", ".join(f"{k} {v:.1e}" for k, v in r["max_param_difference"].items())
            + ")"
        )
    print(
        f"total {time.perf_counter() - started:.1f} s; load average at the end "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    parser_figure.main(["--tiny"] if args.tiny else [])  # the parser on lines that repeat or differ (issue 24)

    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "sizes": "tiny" if args.tiny else "full",
                    "machine": info,
                    "figures": [asdict(f) for f in figures],
                    "details": details,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

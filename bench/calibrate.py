"""Issue 22: each op's nanoseconds per unit of work (Op.work, or Op.budget's work), measured on
this machine, against app/engine/costs.py's NS_PER_UNIT.

    .venv/bin/python bench/calibrate.py --scale 1 4     # every op of OPS, at 10⁶ and 4·10⁶ units (3 min)
    .venv/bin/python bench/calibrate.py conv2d sin      # some of them, at 10⁶ units

Not part of the test command. Every op's program is built from its finite-difference cases
(tests/test_gradcheck.py's DOMAINS, tests/layers_domains.py's layer cases): the first case that
still builds when every axis longer than 1 of every input is multiplied by a factor, the factor
the smallest that brings the op's units to TARGET (HEAVY_TARGET for the ops whose unit is a
multiply-add), times --scale. Then VARIANTS, fixed programs: the slow paths (sine of arguments
near 10¹⁵, exp past overflow, the exact gelu), the layers at a network's shapes and small.
Values are drawn in the case's domain (positive for log, labels below the class
count, ...). Timed: one forward and one backward pass of the op's graph (app.engine.run.run, as
app.core.evaluate runs it, with an upstream gradient of ones), less the same for the program
without the op (`out = o`, `o` an input of the op's result shape); process CPU time, median of
three, numpy's BLAS held to one thread (the environment variables below are set before numpy is
imported). Printed per op: the case, the units, the measured ns per unit, the table's value and
their ratio (table / measured: below 1 means the table underestimates the op); at the end, each
op's largest rate rounded up, what NS_PER_UNIT holds for it (a CPU-time figure: the load of other
processes on the machine (caches, memory bandwidth) makes it larger rather than smaller: the
safe side).
"""

# ruff: noqa: E402 (the BLAS thread count is set before numpy is imported, and tests/ is put on the
# path before the domains are imported from it)
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import gc
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from op_calls import build_call
from test_gradcheck import DOMAINS, Case, _is_label

from app.core import declare_inputs
from app.engine.costs import NS_PER_UNIT, node_units
from app.engine.errors import ProgramError
from app.engine.graph import Graph
from app.engine.limits import Limits
from app.engine.ops import OPS
from app.engine.run import run
from app.lang import parse

TARGET = 1_000_000  # units: elements, where memory traffic costs most
HEAVY_TARGET = 100_000_000  # multiply-adds
HEAVY = {"matmul", "linear", "linear_t", "conv1d", "conv2d", "scaled_dot_product_attention"}
REPEATS = 3
# Room for the scaled cases (the server's limits are smaller; the rate per unit is what is measured).
LIMITS = Limits(max_tensor_elements=64_000_000, max_total_work=10**11, max_input_elements=256_000_000)
# Constant makers and the ops whose cases give their sizes as parameters: the program to time.
OVERRIDES: dict[str, Case] = {
    "ones": Case("calib", "out = ones((1000, 1000))", ()),
    "zeros": Case("calib", "out = zeros((1000, 1000))", ()),
    "full": Case("calib", "out = full((1000, 1000), 2.5)", ()),
    "eye": Case("calib", "out = eye(1000)", ()),
    "arange": Case("calib", "out = arange(1000000)", ()),
    # normalized_shape is a parameter: the scaled case would not fit it.
    "layer_norm": Case(
        "calib",
        "out = layer_norm(x, w, b, normalized_shape=(1000,))",
        (("x", (1000, 1000), "real"), ("w", (1000,), "real"), ("b", (1000,), "real")),
    ),
}
# More programs for some ops, the table taking the largest rate: the slow paths (issue 22: sine
# and cosine of arguments near 10¹⁵ reduce them modulo 2π first; exp past overflow, pow with
# negative and fractional exponents) and the layers at the shapes a network gives them (a 3×3
# kernel on many channels, rather than the scaled case's large kernel).
VARIANTS: dict[str, list[Case]] = {
    "sin": [Case("huge", "out = sin(x)", (("x", (1000, 1000), ("range", 1e15, 2e15)),))],
    "cos": [Case("huge", "out = cos(x)", (("x", (1000, 1000), ("range", 1e15, 2e15)),))],
    "exp": [Case("huge", "out = exp(x)", (("x", (1000, 1000), ("range", 600.0, 800.0)),))],
    "pow": [Case("same", "out = x ** y", (("x", (1000, 1000), "pos"), ("y", (1000, 1000), ("range", -2.5, 2.5))))],
    "conv2d": [
        Case(
            "3x3",
            "out = conv2d(x, w, b, padding=1)",
            (("x", (8, 32, 32, 32), "real"), ("w", (32, 32, 3, 3), "real"), ("b", (32,), "real")),
        )
    ],
    "conv1d": [
        Case(
            "k3",
            "out = conv1d(x, w, b, padding=1)",
            (("x", (16, 64, 512), "real"), ("w", (64, 64, 3), "real"), ("b", (64,), "real")),
        )
    ],
    "max_pool2d": [Case("3x3", "out = max_pool2d(x, 3, stride=2, padding=1)", (("x", (8, 32, 64, 64), "distinct"),))],
    "avg_pool2d": [Case("3x3", "out = avg_pool2d(x, 3, stride=2, padding=1)", (("x", (8, 32, 64, 64), "real"),))],
    "scaled_dot_product_attention": [
        Case(
            "heads",
            "out = scaled_dot_product_attention(q, k, v, is_causal=True)",
            (("q", (8, 256, 64), "real"), ("k", (8, 256, 64), "real"), ("v", (8, 256, 64), "real")),
        )
    ],
    "gelu": [Case("exact", "out = gelu(x)", (("x", (1000, 1000), "real"),))],  # through erf
    "matmul": [Case("square", "out = a @ b", (("a", (464, 464), "real"), ("b", (464, 464), "real")))],
}
# The ops whose unit is a multiply-add cost more per unit when small (the passes' copies and
# numpy's calls weigh more): their rate is the largest of the big and these small programs.
SMALL: dict[str, Case] = {
    "conv2d": Case(
        "small",
        "out = conv2d(x, w, b, padding=1)",
        (("x", (4, 8, 16, 16), "real"), ("w", (16, 8, 3, 3), "real"), ("b", (16,), "real")),
    ),
    "conv1d": Case(
        "small",
        "out = conv1d(x, w, b, padding=1)",
        (("x", (8, 16, 128), "real"), ("w", (16, 16, 3), "real"), ("b", (16,), "real")),
    ),
    "scaled_dot_product_attention": Case(
        "small",
        "out = scaled_dot_product_attention(q, k, v)",
        (("q", (4, 32, 16), "real"), ("k", (4, 32, 16), "real"), ("v", (4, 32, 16), "real")),
    ),
    "matmul": Case("small", "out = a @ b", (("a", (100, 100), "real"), ("b", (100, 100), "real"))),
    "linear": Case(
        "small", "out = linear(x, W, b)", (("x", (100, 100), "real"), ("W", (100, 100), "real"), ("b", (100,), "real"))
    ),
    "linear_t": Case(
        "small",
        "out = linear_t(x, W, b)",
        (("x", (100, 100), "real"), ("W", (100, 100), "real"), ("b", (100,), "real")),
    ),
}
for _name, _case in SMALL.items():
    VARIANTS.setdefault(_name, []).append(_case)


def scaled(case: Case, factor: int) -> Case:
    """The case with every axis longer than 1 multiplied by `factor` (axes of 1 still broadcast)."""
    inputs = tuple((name, tuple(d * factor if d > 1 else d for d in shape), dom) for name, shape, dom in case.inputs)
    return Case(case.kind, case.program, inputs, case.op, case.params)


def spec(case: Case) -> dict[str, Any]:
    return {
        name: {"init": "zeros", "shape": list(shape), "requires_grad": not _is_label(dom)}
        for name, shape, dom in case.inputs
    }


def build(case: Case) -> Graph:
    """The case's graph, its leaves zeros (values are drawn by `fill`)."""
    if case.params is not None and case.op is not None:
        return build_call(case.op, case.params, spec(case), limits=LIMITS)
    graph = parse(case.program, declare_inputs(spec(case), LIMITS), LIMITS)
    return graph


def draw(shape: tuple[int, ...], dom: Any, rng: np.random.Generator) -> Any:
    if isinstance(dom, tuple) and dom[0] == "label":
        return rng.integers(0, dom[1], shape).astype(np.float64)
    if isinstance(dom, tuple) and dom[0] == "position":
        return rng.integers(-dom[1], dom[1], shape).astype(np.float64)
    if dom == "mask":
        return rng.integers(0, 2, shape).astype(np.float64)
    if isinstance(dom, tuple) and dom[0] == "range":
        return rng.uniform(dom[1], dom[2], shape)
    low, high = {"pos": (0.3, 3.0), "prob": (0.05, 0.95)}.get(dom, (-2.0, 2.0))
    value = rng.uniform(low, high, shape)
    if dom == "nonzero":
        value = np.where(value < 0, value - 0.3, value + 0.3)
    return value if shape else float(value)


def fill(graph: Graph, case: Case, rng: np.random.Generator) -> None:
    domains = {name: (shape, dom) for name, shape, dom in case.inputs}
    for node, name in enumerate(graph.names):
        if graph.ops[node] is None and name in domains:
            graph.values[node] = draw(*domains[name], rng)


def units(graph: Graph) -> int:
    assert graph.output is not None
    return node_units(graph, graph.output)


def program_for(name: str) -> tuple[Case, int] | None:
    """The op's case scaled to its target, and its units; None when no case scales."""
    if name in OVERRIDES:
        case = OVERRIDES[name]
        return case, units(build(case))
    target = HEAVY_TARGET if name in HEAVY else TARGET
    cases = [c for c in DOMAINS[name] if all(0 not in s for _, s, _ in c.inputs) and c.inputs]
    cases.sort(key=lambda c: (-max(len(s) for _, s, _ in c.inputs), -sum(int(np.prod(s)) for _, s, _ in c.inputs)))
    for case in cases:
        try:
            base = units(build(case))
            low, high = 1, 2
            while True:
                got = units(build(scaled(case, high)))
                if got >= target or got <= base or high > 1 << 20:
                    break
                low, high = high, high * 2
            if got < target:
                continue
            while high - low > 1:
                mid = (low + high) // 2
                if units(build(scaled(case, mid))) >= target:
                    high = mid
                else:
                    low = mid
            chosen = scaled(case, high)
            return chosen, units(build(chosen))
        except ProgramError:  # a case whose parameters do not scale (a kernel, a class count): the next
            continue
    return None


def cpu_seconds(graph: Graph) -> float:
    """One forward and backward pass, an upstream gradient of ones."""
    gc.collect()
    start = time.process_time()
    run(graph, None, with_backward=True)
    return time.process_time() - start


def timed(case: Case, rng: np.random.Generator) -> tuple[float, int]:
    """Median CPU seconds of the op's passes less the same without the op; the op's units."""
    graph = build(case)
    fill(graph, case, rng)
    assert graph.output is not None
    shape = graph.shapes[graph.output]
    bare = Case("bare", "out = o", (("o", shape, "real"),))
    without = build(bare)
    fill(without, bare, rng)
    op_times, bare_times = [], []
    for _ in range(REPEATS):
        op_times.append(cpu_seconds(graph))
        bare_times.append(cpu_seconds(without))
    return statistics.median(op_times) - statistics.median(bare_times), units(graph)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ops", nargs="*", help="op names (default: every op of OPS)")
    parser.add_argument(
        "--scale",
        type=float,
        nargs="+",
        default=[1.0],
        help="multiply the targets, one run per value (4: 4·10⁶ elements); default 1",
    )
    args = parser.parse_args()
    global TARGET, HEAVY_TARGET
    targets = TARGET, HEAVY_TARGET
    rng = np.random.default_rng(22)
    names = args.ops or sorted(OPS)
    worst: dict[str, float] = {}
    print(f"{'op':32} {'units':>12} {'ns/unit':>9} {'table':>7} {'ratio':>6}  program and shapes")
    for name in names:
        table = NS_PER_UNIT.get(name)
        for scale in args.scale:
            TARGET, HEAVY_TARGET = (int(t * scale) for t in targets)
            found = program_for(name)
            if found is None:
                print(f"{name:32} no case of DOMAINS scales to {HEAVY_TARGET if name in HEAVY else TARGET} units")
                continue
            # (the variants are fixed programs: timed once, with the first scale)
            for case in [found[0], *(VARIANTS.get(name, []) if scale == args.scale[0] else [])]:
                seconds, count = timed(case, rng)
                rate = seconds * 1e9 / count
                worst[name] = max(worst.get(name, rate), rate)
                shown = "-" if table is None else f"{table:7.2f}"
                ratio = "-" if table is None or rate <= 0 else f"{table / rate:6.2f}"
                print(f"{name:32} {count:12d} {rate:9.2f} {shown:>7} {ratio:>6}  {case.id}", flush=True)
    print("\nThe largest rate of each op, rounded up (to 0.1 below 1 ns, else to 1 ns):")
    print({name: rounded_up(rate) for name, rate in worst.items()})


def rounded_up(rate: float) -> float:
    """Up to a tenth below a nanosecond, to a whole nanosecond above; at least 0.1 (a rate that
    measured at or below zero is an op the passes hardly see: a view, a constant)."""
    if rate < 1:
        return max(0.1, math.ceil(rate * 10) / 10)
    return float(math.ceil(rate))


if __name__ == "__main__":
    main()

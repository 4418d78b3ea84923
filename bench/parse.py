"""The parser's time per op-node, as a ratio to `ast.parse` of the same text in the same rounds.

    .venv/bin/python bench/parse.py            # programs of 10,000 op-nodes (about 20 s)
    .venv/bin/python bench/parse.py --tiny     # 300 op-nodes, a second (the smoke test)
    .venv/bin/python bench/parse.py --only p2,p2v   # some of the programs (an A/B of a change)

`make bench` (bench/run.py) prints it last. Programs, each about 10,000 op-nodes:
  p1  one line repeated (figure 1's chain), built from a record of its first parse
  p2  constants differ per line: `x1 = tanh(x0 * 0.5 + 0.1)`, `x2 = tanh(x1 * 0.7 + 0.3)`, ...
  p2v constants of varying digit counts, as users write them: `h = tanh(h * w + 0.1)`,
      `h = tanh(h * w + 0.10001)`, ..., `0.1001`, ... (figure 3's "constants differ")
  p3  names differ per line: `x1 = tanh(x0 * w + b)`, `x2 = tanh(x1 * w + b)`, ...
  p4  an MLP of scalars written out, one neuron a line, its weights written as numbers
  p5  a program of different ops on every line, each line a new name
The goal (issue 24) is at most 0.1x ast.parse for p1-p3 and p2v; p4 and p5 are there to show that what
speeds those up slows no other program. parse() is the whole parser: tokenize, parse, the graph;
each side's result is freed inside its time (ast.parse's tree takes a sixth of its time to free).
"""

from __future__ import annotations

import argparse
import ast
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import workloads  # noqa: E402
from workloads import decoded  # noqa: E402

from app.engine.limits import Limits  # noqa: E402
from app.lang import parse  # noqa: E402
from app.memory import keep_freed_memory  # noqa: E402

GOAL = 0.1  # x ast.parse, per op-node
_OPS_PER_LINE = [  # p5's lines: {a} the line before's name, {b} the one before it, {n} the new one
    "{n} = sigmoid({a}) * w + b",
    "{n} = exp(-{a}) + {b} * c",
    "{n} = log(1 + {a} * {a})",
    "{n} = {a} / (1 + abs({b}))",
    "{n} = maximum({a}, {b}) - relu({a} - c)",
    "{n} = sqrt({a} * {a} + 1) * 0.5",
    "{n} = tanh({a} + {b} * w)",
    "{n} = sin({a}) * cos({b}) + {a} ** 2",
]


def mlp_program(op_nodes: int, width: int = 16) -> tuple[str, dict]:
    """Scalar neurons written out, `h2_3 = tanh(h1_0 * 0.12 + h1_1 * -0.4 + ... + 0.05)`, layer
    after layer of `width`, until about `op_nodes` op-nodes; its inputs (the first layer, x0..)."""
    rng = random.Random(0)
    per_neuron = 2 * width + 1

    def weight() -> str:
        return f"{rng.uniform(-1, 1):.{rng.choice((1, 2, 3))}f}"

    lines = []
    layer = [f"x{k}" for k in range(width)]
    depth = 1
    while len(lines) * per_neuron < op_nodes:
        names = [f"h{depth}_{k}" for k in range(width)]
        for name in names:
            terms = " + ".join(f"{a} * {weight()}" for a in layer)
            lines.append(f"{name} = tanh({terms} + {weight()})")
        layer, depth = names, depth + 1
    return "\n".join(lines), {f"x{k}": rng.uniform(-1, 1) for k in range(width)}


def mixed_program(op_nodes: int) -> tuple[str, dict]:
    """Different ops on every line (p5), about `op_nodes` op-nodes; its inputs."""
    lines, k, nodes = [], 2, 0.0
    while nodes < op_nodes:
        template = _OPS_PER_LINE[k % len(_OPS_PER_LINE)]
        lines.append(template.format(n=f"a{k}", a=f"a{k - 1}", b=f"a{k - 2}"))
        nodes += 3.6  # on average: the figure counts the graph's
        k += 1
    return "\n".join(lines), {"a0": 0.3, "a1": -0.2, "w": 0.5, "b": 0.1, "c": 0.7}


def programs(op_nodes: int) -> dict[str, tuple[str, str, dict]]:
    """Figure id → (what, program, inputs)."""
    return {
        "p1": ("one line repeated", workloads.chain_program(op_nodes), workloads.CHAIN_INPUTS),
        "p2": (
            "constants differ per line",
            workloads.constants_chain_program(op_nodes),
            workloads.CONSTANTS_CHAIN_INPUTS,
        ),
        "p2v": (
            "constants of varying length",
            workloads.constants_program(op_nodes),
            {"h": workloads.CHAIN_INPUTS["h"], "w": workloads.CHAIN_INPUTS["w"]},
        ),
        "p3": ("names differ per line", workloads.names_chain_program(op_nodes), workloads.NAMES_CHAIN_INPUTS),
        "p4": ("an MLP written out", *mlp_program(op_nodes)),
        "p5": ("different ops per line", *mixed_program(op_nodes)),
    }


def cpu_seconds(fn: Callable[[], object]) -> float:
    """The CPU seconds of fn() (its result freed inside, as measure.timed_call frees it), GC
    collected before and paused during the call. CPU time, not wall time: both sides of the ratio
    run on one core in this process, and a shared machine's other load then leaves the ratio
    alone (wall times on a busy machine swung it by half)."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        fn()
        return time.process_time() - start
    finally:
        gc.enable()


def interleaved_cpu(cases: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median CPU seconds of each case, one call of each per round (as measure.interleaved)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            times[name].append(cpu_seconds(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def parser_figures(op_nodes: int, repeat: int, only: set[str] | None = None) -> list[dict]:
    """Each program's parse() and ast.parse medians, the two timed in alternating rounds (GC
    paused), one program after the other: with the five programs' calls in one round, the
    allocator's state after another program's graph moved a program's figure by a third."""
    limits = Limits()
    rows = []
    for figure, (what, program, raw) in programs(op_nodes).items():
        if only and figure not in only:
            continue
        inputs = decoded(raw, limits)
        graph = parse(program, inputs, limits)  # also the warm-up
        seconds = interleaved_cpu(
            {"parse": lambda: parse(program, inputs, limits), "ast": lambda: ast.parse(program)},  # noqa: B023
            repeat,
        )
        rows.append(
            {
                "id": figure,
                "what": what,
                "op_nodes": len(graph.computed()),
                "lines": program.count("\n") + 1,
                "parse_s": seconds["parse"],
                "ast_s": seconds["ast"],
                "ratio": seconds["parse"] / seconds["ast"],
            }
        )
    return rows


def report(rows: list[dict], repeat: int) -> str:
    title = f"[p] the parser per op-node vs ast.parse of the same text, CPU time, medians of {repeat} rounds"
    lines = [
        f"{title} (goal for p1-p3, p2v: <= {GOAL}x)",
        f"{'id':<4}{'program':<28}{'op-nodes':>9}{'lines':>7}{'parse':>11}{'us/node':>9}{'ast.parse':>11}{'ratio':>8}",
    ]
    for r in rows:
        goal = ("  met" if r["ratio"] <= GOAL else "  NOT met") if r["id"] in ("p1", "p2", "p2v", "p3") else ""
        lines.append(
            f"{r['id']:<4}{r['what']:<28}{r['op_nodes']:>9}{r['lines']:>7}{r['parse_s'] * 1e3:>8.2f} ms"
            f"{r['parse_s'] / r['op_nodes'] * 1e6:>9.3f}{r['ast_s'] * 1e3:>8.2f} ms{r['ratio']:>7.3f}x{goal}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="300 op-nodes, 3 rounds (the smoke test)")
    parser.add_argument("--nodes", type=int, default=10_000, help="op-nodes per program (default 10,000)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds, one call of each case a round (default 15)")
    parser.add_argument("--only", default="", help="the programs to measure, by id, comma-separated (default: all)")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as each server worker does (app/memory.py)
    nodes, rounds = (300, 3) if args.tiny else (args.nodes, args.rounds)
    print(report(parser_figures(nodes, rounds, set(filter(None, args.only.split(",")))), rounds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

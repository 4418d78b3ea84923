"""Where the time of one big request goes: the server-side work of POST /graph/backward on a
program of figure 3, profiled in-process.

    .venv/bin/python bench/stages.py                 # 10,000 op-nodes, 20 requests (make profile)
    .venv/bin/python bench/stages.py --nodes 300 --requests 2
    .venv/bin/python bench/stages.py --program "names differ"   # a new name on every line

It prints two things:
  - each stage timed bare (perf_counter, medians, GC paused as in the server): tokenize (the whole
    text through the tokenizer, for scale: parse tokenizes only the lines outside runs of one shape,
    app/lang/replay.py), parse, estimate (the request's memory and time estimates, app/api/budget.py),
    run (forward + backward + step record) and graph_body (the JSON's
    chunks as the server sends them, in the default layout and with ?format=columns);
  - pyinstrument's call tree of the same requests. Its hook costs time on every Python call, so
    call-heavy code (the tokenizer, the parser) looks larger in the tree than it is; the bare
    stage times are the ones to quote.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import workloads  # noqa: E402
from measure import interleaved  # noqa: E402
from workloads import decoded  # noqa: E402

from app.api import budget  # noqa: E402
from app.api.encode import graph_body, graph_chunks  # noqa: E402
from app.core import evaluate  # noqa: E402
from app.engine.run import run  # noqa: E402
from app.lang import parse  # noqa: E402
from app.lang.tokens import tokenize  # noqa: E402
from app.memory import keep_freed_memory  # noqa: E402
from app.settings import Settings  # noqa: E402


def stage_times(request: dict, settings: Settings, repeat: int) -> dict[str, float]:
    """Median seconds of each stage, one call of each per round."""
    limits = settings.limits
    source = request["expression"]
    inputs = decoded(request["inputs"], limits)
    graph = parse(source, inputs, limits)
    result = run(parse(source, inputs, limits))
    return interleaved(
        {
            "tokenize": (lambda: tokenize(source), None),
            "parse": (lambda: parse(source, inputs, limits), None),
            # The request's memory and time estimates, made once per request between parsing and
            # building (app/api/graph.py's plan), as app/api/budget.py makes them.
            "estimate": (
                lambda: (
                    budget.estimate(graph, True, settings.max_full_elements, settings.max_step_elements),
                    budget.seconds(graph, True),
                ),
                None,
            ),
            "run": (run, lambda: parse(source, inputs, limits)),  # a fresh graph each time: run() fills its values
            # graph_chunks, as the server sends them: graph_body's join of the chunks is no stage of a request.
            "graph_body": (lambda: graph_chunks(result, settings.max_full_elements, settings.max_step_elements), None),
            "columns": (
                lambda: graph_chunks(result, settings.max_full_elements, settings.max_step_elements, layout="columns"),
                None,
            ),
        },
        repeat,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000, help="op-nodes in the chain (default 10,000)")
    parser.add_argument("--requests", type=int, default=20, help="requests timed and profiled (default 20)")
    programs = list(workloads.figure_3_requests(1))
    parser.add_argument(
        "--program", choices=programs, default=programs[0], help=f"figure 3's program (default {programs[0]!r})"
    )
    args = parser.parse_args(argv)
    from pyinstrument import Profiler

    keep_freed_memory()
    settings = Settings()
    request = workloads.figure_3_requests(args.nodes)[args.program]

    medians = stage_times(request, settings, args.requests)
    print(f"{args.program}, {args.nodes} op-nodes, medians of {args.requests} rounds, without the profiler:")
    for name, seconds in medians.items():
        print(f"  {name:<10} {seconds * 1e3:8.2f} ms")
    total = medians["parse"] + medians["estimate"] + medians["run"] + medians["graph_body"]
    print(f"  {'total':<10} {total * 1e3:8.2f} ms  (parse + estimate + run + graph_body: a request's stages)")

    profiler = Profiler(interval=0.0005)
    gc.disable()
    profiler.start()
    for _ in range(args.requests):
        result = evaluate(request["expression"], request["inputs"], None, limits=settings.limits, backward=True)
        graph_body(result, settings.max_full_elements, settings.max_step_elements)
    profiler.stop()
    gc.enable()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""UI benchmark: big graphs in headless Chromium, timed to a painted frame (issue 14's table).

For each program: Run → drawn (the click to the first frame painted after the graph is in the
DOM), one step (→) drawn (a key press's script plus the next frame's style, layout and paint up
to the painted frame, without the idle wait for the display's next frame; median and worst over
steps taken across the forward and backward passes), and the page's longest task
(PerformanceObserver "longtask", 50 ms and up) while it runs and steps. "Painted" means:
requestAnimationFrame, then a message posted from it, which is delivered after the frame is
presented, not when the script that builds the SVG ends.
"Step CPU" is the page's main-thread CPU time per stepper move over the same steps on another
fresh run, from a Chrome trace's thread times: the wall-clock columns stretch with whatever else
the machine runs, this one does not.

Each program gets one page; every run (the warm-up and each timed one) follows a run of a
two-node program, so it is laid out and drawn from scratch (a run of the same structure as the
graph on screen keeps its layout). A program with `expand` is opened with the page's "Open all"
control once during the warm-up; the page then asks for every later run opened.

    .venv/bin/python bench/ui_layout.py [--repeat 5] [--only NAME] [--timeout 60] [--json PATH]

Needs the built UI (npm run build) and Chromium ($CHAINLENS_CHROMIUM or /usr/bin/chromium).
Prints a table of medians of --repeat runs after one warm-up; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

from bench.browser import STEP_COST, described, main_thread_ms, open_app, served_browser  # noqa: E402

STEPS_TIMED = 12
# Between runs: a different structure, so the next run is laid out again.
RESET = ("q = x + y", {"x": 1, "y": 2})


def deep(layers: int) -> tuple[str, dict]:
    """A deep chain with its own weights per layer: h = tanh(h * w_i + b_i), 5 nodes a line."""
    lines = ["h = tanh(x * w0 + b0)"] + [f"h = tanh(h * w{i} + b{i})" for i in range(1, layers)]
    inputs = {
        "x": 0.5,
        **{f"w{i}": 0.9 - 0.003 * i for i in range(layers)},
        **{f"b{i}": 0.01 * (i % 7) for i in range(layers)},
    }
    return "\n".join(lines), inputs


def shared_recurrence(steps: int) -> tuple[str, dict]:
    """h = tanh(h * w + b) `steps` times with ONE weight and bias shared by every step (3 nodes a line)."""
    lines = ["h = tanh(h0 * w + b)"] + ["h = tanh(h * w + b)"] * (steps - 1)
    return "\n".join(lines), {"h0": 0.5, "w": 0.8, "b": 0.1}


def wide(terms: int) -> tuple[str, dict]:
    """w_i * x_i summed: 4 nodes a term (two inputs, the product, the running sum)."""
    lines = ["s = w0 * x0"] + [f"s = s + w{i} * x{i}" for i in range(1, terms)]
    inputs = {
        **{f"w{i}": ((i * 37) % 11 - 5) / 5 for i in range(terms)},
        **{f"x{i}": ((i * 13) % 7 - 3) / 10 for i in range(terms)},
    }
    return "\n".join(lines), inputs


def mlp(sizes: tuple[int, ...], batch: int = 8) -> tuple[str, dict]:
    """An MLP with ReLU between its linear layers and an MSE loss, on a random batch."""
    lines, inputs, previous = (
        [],
        {"x": {"init": "randn", "shape": [batch, sizes[0]], "seed": 0, "requires_grad": False}},
        "x",
    )
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        inputs[f"W{index}"] = {"init": "randn", "shape": [fan_in, fan_out], "seed": index, "scale": 0.05}
        inputs[f"b{index}"] = {"init": "zeros", "shape": [fan_out]}
        layer = f"linear({previous}, W{index}, b{index})"
        last = index == len(sizes) - 1
        lines.append(f"h{index} = {layer}" if last else f"h{index} = relu({layer})")
        previous = f"h{index}"
    inputs["t"] = {"init": "randn", "shape": [batch, sizes[-1]], "seed": 99, "requires_grad": False}
    lines.append(f"loss = mse({previous}, t)")
    return "\n".join(lines), inputs


# (name, program, inputs, open every composite into its primitives)
WORKLOADS = [
    ("deep chain 500", *deep(100), False),
    ("wide sum 500", *wide(125), False),
    ("shared rnn 500", *shared_recurrence(166), False),
    ("rnn 5000", *shared_recurrence(1666), False),
    ("mlp 784-100-200-10 open", *mlp((784, 100, 200, 10)), True),
]

# Installed before the page's scripts: collects long tasks and offers "await the next painted frame".
INIT_SCRIPT = (
    """
window.__bench = { longest: 0 };
try {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__bench.longest = Math.max(window.__bench.longest, entry.duration);
  }).observe({ type: 'longtask', buffered: true });
} catch (error) { window.__bench.noLongTasks = String(error); }
window.__bench.stepCost = """
    + STEP_COST
    + """;
window.__bench.painted = () => new Promise((resolve) => requestAnimationFrame(() => {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => resolve(performance.now());
  channel.port2.postMessage(0);
}));
"""
)

RUN_SCRIPT = """async () => {
  const probe = window.__chainlens;
  const before = probe.runs;
  window.__bench.longest = 0;
  const started = performance.now();
  document.querySelector('#run').click();
  while (probe.runs === before) await new Promise((resolve) => setTimeout(resolve, 5));
  const drawn = (probe.lastPaintedAt ?? await window.__bench.painted()) - started;
  return { drawn, runLongest: window.__bench.longest, n: probe.nodeCount, steps: probe.total,
           engine: probe.lastLayoutEngine };
}"""

STEP_SCRIPT = """async (count) => {
  const probe = window.__chainlens;
  const times = [];
  window.__bench.longest = 0;
  const seek = probe.seek ?? ((position) => {
    const slider = document.querySelector('#step-slider');
    slider.value = String(position);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
  });
  // Steps from a few places on the timeline: the start, the middle of the forward pass, the
  // start of the backward pass and its middle.
  const forward = probe.total - (probe.backwardCount ?? Math.floor(probe.total / 2));
  const starts = [0, Math.floor(forward / 2), forward, Math.floor((forward + probe.total) / 2)];
  for (const start of starts) {
    seek(start);
    await window.__bench.painted();
    for (let i = 0; i < count / starts.length; i += 1) {
      times.push(await window.__bench.stepCost());  // bench/browser.py's STEP_COST
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 60));
  times.sort((a, b) => a - b);
  return { step: times[Math.floor(times.length / 2)], worst: times[times.length - 1],
           stepLongest: window.__bench.longest,
           moves: starts.length + times.length };
}"""


# Typing is not what is measured: the editors get their text as a paste would give it.
FILL_SCRIPT = """([selector, text]) => {
  const box = document.querySelector(selector);
  box.value = text;
  box.dispatchEvent(new Event('input', { bubbles: true }));
}"""


def run_program(page: Page, expression: str, inputs: dict) -> dict:
    page.evaluate(FILL_SCRIPT, ["#program-editor textarea", expression])
    page.evaluate(FILL_SCRIPT, ["#inputs-editor textarea", json.dumps(inputs)])
    return page.evaluate(RUN_SCRIPT)


def open_all(page: Page) -> None:
    """Opens every composite with the page's own control (the next runs ask for them opened)."""
    runs = page.evaluate("window.__chainlens.runs")
    page.locator("#expand-all").click()
    page.wait_for_function(f"window.__chainlens.runs > {runs}")


def measure(browser: Browser, page: Page, expression: str, inputs: dict, cpu: bool = False) -> dict:
    run_program(page, *RESET)
    result = run_program(page, expression, inputs)
    result.update(page.evaluate(STEP_SCRIPT, STEPS_TIMED))
    result["longest"] = max(result["runLongest"], result["stepLongest"])
    if cpu:
        # The same steps on a fresh run of the program (nothing typeset yet), traced: main-thread
        # CPU per stepper move, the seeks included.
        run_program(page, *RESET)
        run_program(page, expression, inputs)
        result["cpu"] = main_thread_ms(browser, page, lambda: page.evaluate(STEP_SCRIPT, STEPS_TIMED)) / result["moves"]
    return result


def median(runs: list[dict], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def cell(value: float | None, unit: str = "ms") -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if unit == "s" else f"{value:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per program; medians are shown")
    parser.add_argument("--only", help="run only the programs whose name contains this")
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a run counts as not drawn")
    parser.add_argument("--json", type=Path, help="also write the rows (medians and every run) to this file")
    args = parser.parse_args()
    workloads = [w for w in WORKLOADS if not args.only or args.only in w[0]]
    rows = []
    with served_browser() as (url, browser):
        print(
            f"| {'graph':<24} | {'nodes':>6} | {'steps':>6} | {'Run → drawn':>11} | {'one step drawn':>14} "
            f"| {'worst step':>10} | {'longest task':>12} | {'step CPU':>8} |"
        )
        print("|" + "|".join("-" * width for width in (26, 8, 8, 13, 16, 12, 14, 10)) + "|")
        for name, expression, inputs, expand in workloads:
            # A fresh page per program: nothing left over from the previous graph.
            page = open_app(browser, url, init_script=INIT_SCRIPT)
            page.set_default_timeout(int(args.timeout * 1000))
            started = time.monotonic()
            try:
                if expand:
                    run_program(page, expression, inputs)
                    open_all(page)
                measure(browser, page, expression, inputs)  # warm-up: worker start, JIT
                runs = [measure(browser, page, expression, inputs, cpu=True) for _ in range(args.repeat)]
            except PlaywrightError as error:
                print(
                    f"| {name:<24} | not drawn within {args.timeout:.0f} s ({type(error).__name__}, "
                    f"{time.monotonic() - started:.0f} s spent) |"
                )
                rows.append({"graph": name, "error": f"not drawn within {args.timeout:.0f} s"})
                page.close()
                continue
            row = {
                "graph": name,
                "nodes": runs[0]["n"],
                "steps": runs[0]["steps"],
                **{key: median(runs, key) for key in ("drawn", "step", "worst", "longest", "cpu")},
                "runs": runs,
            }
            rows.append(row)
            print(
                f"| {name:<24} | {row['nodes']:>6} | {row['steps']:>6} | {cell(row['drawn'], 's'):>11} "
                f"| {cell(row['step']):>14} | {cell(row['worst']):>10} | {cell(row['longest']):>12} "
                f"| {cell(row['cpu']):>8} |"
            )
            page.close()
    footer = (
        f"medians of {args.repeat} runs after one warm-up; {described()}; "
        "'longest task' = the longest main-thread task during the run and the steps; "
        "'step CPU' = the page's main-thread CPU time per stepper move (a traced pass of the same steps): "
        "unlike the wall-clock columns, it does not stretch with the machine's load"
    )
    print(footer)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "repeat": args.repeat, "about": footer}, indent=2) + "\n")


if __name__ == "__main__":
    main()

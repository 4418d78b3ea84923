"""UI benchmark: time to lay out and draw generated programs of about 100 and 500 nodes in
headless Chromium, as the page itself measures it (window.__chainlens.lastLayoutMs: ELK in its
Web Worker; lastRenderMs: D3 joins, stepper view, explanation, through the next painted frame).

    .venv/bin/python bench/ui_layout.py [--repeat 5]

Needs the built UI (npm run build) and Chromium ($CHAINLENS_CHROMIUM or /usr/bin/chromium).
Prints a table; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from bench.server import running_server  # noqa: E402

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def deep(layers: int) -> tuple[str, dict]:
    """A deep chain with its own weights per layer: h = tanh(h * w_i + b_i), 5 nodes a line."""
    lines = ["h = tanh(x * w0 + b0)"] + [f"h = tanh(h * w{i} + b{i})" for i in range(1, layers)]
    inputs = {"x": 0.5, **{f"w{i}": 0.9 - 0.003 * i for i in range(layers)},
              **{f"b{i}": 0.01 * (i % 7) for i in range(layers)}}
    return "\n".join(lines), inputs


def recurrence(steps: int) -> tuple[str, dict]:
    """A deep graph: h = tanh(h * w_k + b_k) repeated, five weight pairs shared round-robin.
    3 op nodes a line, plus 11 inputs."""
    lines = ["h = tanh(h0 * w0 + b0)"] + [f"h = tanh(h * w{i % 5} + b{i % 5})" for i in range(1, steps)]
    inputs = {"h0": 0.5, **{f"w{k}": 0.9 - 0.1 * k for k in range(5)}, **{f"b{k}": 0.05 * k for k in range(5)}}
    return "\n".join(lines), inputs


def wide(units: int) -> tuple[str, dict]:
    """A wide graph: units s_i = sigmoid(x * w_i + b_i) summed into one loss (4 op nodes a unit
    plus the x input and 2 inputs a unit)."""
    lines = [f"s{i} = sigmoid(x * w{i} + b{i})" for i in range(units)]
    lines.append("loss = " + " + ".join(f"s{i}" for i in range(units)))
    inputs = {"x": 1.5, **{f"w{i}": ((i * 37) % 11 - 5) / 5 for i in range(units)},
              **{f"b{i}": ((i * 13) % 7 - 3) / 10 for i in range(units)}}
    return "\n".join(lines), inputs


WORKLOADS = [
    ("deep ~100", *deep(20)),
    ("wide ~100", *wide(16)),
    ("shared rnn ~100", *recurrence(30)),
    ("deep ~500", *deep(100)),
    ("wide ~500", *wide(83)),
    # Weights shared across 160 steps: too many long edges for ELK, so the page's quick layout.
    ("shared rnn ~500", *recurrence(163)),
]


def chromium_path() -> str | None:
    configured = os.environ.get("CHAINLENS_CHROMIUM")
    if configured:
        return configured
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def measure(page, url: str, expression: str, inputs: dict) -> dict:
    before = page.evaluate("window.__chainlens.runs")
    page.locator("#program-editor textarea").fill(expression)
    page.locator("#inputs-editor textarea").fill(json.dumps(inputs))
    started = time.perf_counter()
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {before}", timeout=120_000)
    wall = (time.perf_counter() - started) * 1000
    probe = page.evaluate("({n: window.__chainlens.nodeCount, layout: window.__chainlens.lastLayoutMs,"
                          " render: window.__chainlens.lastRenderMs, steps: window.__chainlens.total,"
                          " engine: window.__chainlens.lastLayoutEngine})")
    probe["wall"] = wall
    return probe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per program; medians are shown")
    args = parser.parse_args()
    if not (ROOT / "static" / "dist" / "app.js").is_file():
        sys.exit("the UI is not built: run `npm run build` first")
    with running_server() as (url, _pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=30_000)
        print(f"{'program':<18} {'nodes':>5} {'steps':>5} {'layout':>6} {'layout ms':>10} {'draw ms':>8} "
              f"{'layout+draw':>11} {'click→drawn':>11}")
        for name, expression, inputs in WORKLOADS:
            measure(page, url, expression, inputs)  # warm-up: worker start, JIT
            runs = [measure(page, url, expression, inputs) for _ in range(args.repeat)]
            layout = statistics.median(run["layout"] for run in runs)
            render = statistics.median(run["render"] for run in runs)
            total = statistics.median(run["layout"] + run["render"] for run in runs)
            wall = statistics.median(run["wall"] for run in runs)
            print(f"{name:<18} {runs[0]['n']:>5} {runs[0]['steps']:>5} {runs[0]['engine']:>6} {layout:>10.1f} {render:>8.1f} "
                  f"{total:>11.1f} {wall:>11.1f}")
        browser.close()
    print(f"medians of {args.repeat} runs after one warm-up; Chromium {chromium_path() or 'from Playwright'}, "
          "viewport 1366x768")


if __name__ == "__main__":
    main()

"""UI benchmark: dragging a scalar input on the tutorial's examples, from the pointer event to the
painted frame that shows the new values and gradients (the page measures it: the pointermove's
timeStamp to the requestAnimationFrame after the update, window.__chainlens.dragTimings).

The mouse moves like a hand at 60 Hz, one pixel step every 16 ms, over each example's first
scalar input card. Updates are coalesced (the newest value wins while a request is in flight), so
every painted update is timed from the newest event it shows. Beside it, measured in the same
run: the idle latency from a pointer event to the next frame (the floor), and a full run (click
Run → drawn, with a new layout), which a drag avoids.

    .venv/bin/python bench/ui_drag.py [--moves 60]

Needs the built UI (npm run build) and Chromium. Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page  # noqa: E402

from bench.browser import described, open_app, served_browser  # noqa: E402

EXAMPLES = ["chain-rule", "shared-intermediate", "neuron", "recurrence"]
FRAME_MS = 16

_IDLE_PROBE = """() => {
  window.__idle = [];
  document.querySelector('aside.panel.right').addEventListener('pointermove', (event) => {
    requestAnimationFrame(() => window.__idle.push(performance.now() - event.timeStamp));
  });
}"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def choose(page: Page, example: str) -> None:
    before = page.evaluate("window.__chainlens.runs")
    page.locator("#example-select").select_option(example)
    page.wait_for_function(f"window.__chainlens.runs > {before}", timeout=60_000)


def full_run(page: Page) -> float:
    """Click Run → drawn (a new layout): what a drag does without."""
    before = page.evaluate("window.__chainlens.runs")
    started = time.perf_counter()
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {before}", timeout=60_000)
    return (time.perf_counter() - started) * 1000


def drag(page: Page, moves: int) -> tuple[list[float], int]:
    """Drags the first scalar input card sideways, `moves` events 16 ms apart; (timings, updates)."""
    page.evaluate("window.__chainlens.dragTimings.length = 0; window.__chainlens.dragParts = []")
    box = page.locator("svg.graph g.node.input[data-scalar='true']").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, moves + 1):
        page.mouse.move(x + (step % 40) - 20 * (step // 40 % 2), y)
        page.wait_for_timeout(FRAME_MS)
    page.wait_for_timeout(200)  # the last request lands
    page.mouse.up()
    timings = page.evaluate("window.__chainlens.dragTimings.slice()")
    parts = page.evaluate("window.__chainlens.dragParts.slice()")
    return timings, {key: statistics.median(part[key] for part in parts) for key in parts[0]}


def idle_latency(page: Page, moves: int) -> list[float]:
    page.evaluate(_IDLE_PROBE)
    box = page.locator("aside.panel.right").bounding_box()
    for step in range(moves):
        page.mouse.move(box["x"] + 20 + step % 50, box["y"] + 200)
        page.wait_for_timeout(FRAME_MS)
    return page.evaluate("window.__idle.slice()")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60, help="pointer moves per example")
    args = parser.parse_args()
    with served_browser() as (url, browser):
        page = open_app(browser, url)
        idle = idle_latency(page, args.moves)
        idle_median = statistics.median(idle)
        print(
            f"idle pointer event → frame: median {idle_median:.1f} ms, p95 {percentile(idle, 0.95):.1f} ms "
            f"({len(idle)} events)"
        )
        print(
            f"{'example':<20} {'events':>6} {'painted':>7} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} "
            f"{'÷ idle':>7} {'full run ms':>11} {'run ÷ drag':>10}  medians of the parts (ms)"
        )
        everything = []
        for example in EXAMPLES:
            choose(page, example)
            drag(page, 10)  # warm-up: connection, JIT
            run_ms = statistics.median(full_run(page) for _ in range(3))
            timings, parts = drag(page, args.moves)
            painted = len(timings)
            everything += timings
            median = statistics.median(timings)
            print(
                f"{example:<20} {args.moves:>6} {painted:>7} {median:>9.1f} {percentile(timings, 0.95):>7.1f} "
                f"{max(timings):>7.1f} {median / idle_median:>7.1f} {run_ms:>11.1f} {run_ms / median:>10.1f}  "
                + " ".join(f"{key} {value:.1f}" for key, value in parts.items())
            )
        print(
            f"{'all':<20} {args.moves * len(EXAMPLES):>6} {len(everything):>7} {statistics.median(everything):>9.1f} "
            f"{percentile(everything, 0.95):>7.1f} {max(everything):>7.1f}"
        )
    print(f"one warm-up drag per example; {described()}; pointer events 16 ms apart")


if __name__ == "__main__":
    main()

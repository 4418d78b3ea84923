"""UI benchmark: what a long jump along the timeline costs next to one step (issue 23: "jumping
to any step costs at most a few steps' time").

Runs the 5,000-node shared-weight recurrence of bench/ui_layout.py (13,328 steps) in headless
Chromium. Times, from the seek to the frame painted after it: single steps (the median of 40,
taken at four places on the timeline) and long jumps (start → end, end → middle, middle → near
the start, near the start → three quarters, each two ways: with the view cursor's own time
alone, and to the painted frame). Prints each jump's time and its ratio to one step.

    .venv/bin/python bench/ui_seek.py [--lines 1666]

Needs the built UI (npm run build) and Chromium. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import open_app, served_browser  # noqa: E402
from bench.ui_layout import INIT_SCRIPT, run_program, shared_recurrence  # noqa: E402

SEEK_SCRIPT = """async () => {
  const probe = window.__chainlens;
  const total = probe.total;
  const paintedAfter = async (position) => {
    const started = performance.now();
    probe.seek(position);
    const seeked = performance.now();
    const painted = await window.__bench.painted();
    return { seek: seeked - started, painted: painted - started };
  };
  const steps = [];
  for (const start of [10, Math.floor(total / 3), Math.floor(total / 2) + 7, total - 60]) {
    probe.seek(start);
    await window.__bench.painted();
    for (let i = 1; i <= 10; i += 1) steps.push(await paintedAfter(start + i));
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const jumps = [];
  probe.seek(0);
  await window.__bench.painted();
  const pairs = [[0, total], [total, Math.floor(total / 2)], [Math.floor(total / 2), 5],
    [5, Math.floor(total * 3 / 4)]];
  for (const [from, to] of pairs) {
    probe.seek(from);
    await window.__bench.painted();
    jumps.push({ from, to, ...(await paintedAfter(to)) });
  }
  return { total, stepPainted: median(steps.map((s) => s.painted)), stepSeek: median(steps.map((s) => s.seek)), jumps };
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1666, help="statements of the recurrence (3 nodes each)")
    args = parser.parse_args()
    with served_browser() as (url, browser):
        page = open_app(browser, url, init_script=INIT_SCRIPT)
        shown = run_program(page, *shared_recurrence(args.lines))
        result = page.evaluate(SEEK_SCRIPT)
    step = result["stepPainted"]
    print(
        f"{shown['n']} nodes, {result['total']} steps; one step: {step:.1f} ms to the painted frame "
        f"({result['stepSeek']:.2f} ms in the page's own code); load average {os.getloadavg()[0]:.1f}"
    )
    for jump in result["jumps"]:
        print(
            f"  jump {jump['from']:>6} -> {jump['to']:>6}: {jump['painted']:7.1f} ms painted "
            f"({jump['seek']:6.2f} ms own code), {jump['painted'] / step:5.1f} steps' time"
        )


if __name__ == "__main__":
    main()

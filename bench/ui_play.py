"""UI benchmark: how fast playback crosses a long timeline (issue 14: "playback speeds that cross
40,000 steps in under a minute").

Runs the 5,000-node shared-weight recurrence of bench/ui_layout.py (13,328 steps) in headless
Chromium, picks the fastest speed in the page's speed menu, presses Play and times until the
stepper shows the last step; prints steps per second and what that makes of 40,000 steps.

    .venv/bin/python bench/ui_play.py [--lines 1666]

Needs the built UI (npm run build) and Chromium. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import open_app, served_browser  # noqa: E402
from bench.ui_layout import INIT_SCRIPT, run_program, shared_recurrence  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1666, help="statements of the recurrence (3 nodes each)")
    args = parser.parse_args()
    with served_browser() as (url, browser):
        page = open_app(browser, url, init_script=INIT_SCRIPT)
        shown = run_program(page, *shared_recurrence(args.lines))
        total = page.evaluate("window.__chainlens.total")
        fastest = page.evaluate(
            "Math.max(...[...document.querySelectorAll('#step-speed option')].map((o) => +o.value))"
        )
        page.select_option("#step-speed", str(fastest))
        started = time.perf_counter()
        page.click("#step-play")
        page.wait_for_function(
            f"document.querySelector('#step-label').dataset.position === '{total}'", timeout=600_000, polling=100
        )
        seconds = time.perf_counter() - started
    rate = total / seconds
    print(
        f"{shown['n']} nodes, {total} steps played at {fastest:g}x in {seconds:.1f} s: {rate:.0f} steps/s, "
        f"40,000 steps in {40_000 / rate:.1f} s (target < 60 s); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()

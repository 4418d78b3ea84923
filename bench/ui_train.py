"""UI benchmark: does the page stay responsive while a long training run streams in?

Trains the tutorial's regression network for 20,000 steps in headless Chromium (record every 20
steps: 1,000 records; and every step: 20,000 records, the heaviest stream the form allows) and
measures, in the page, for the whole run:
  - long tasks (PerformanceObserver 'longtask': main-thread tasks over 50 ms), count and longest;
  - animation-frame gaps (time between consecutive requestAnimationFrame callbacks), p95, p99, max;
  - the long animation frames (over 50 ms) with the scripts that ran in them, to find their cause;
  - event-loop lag: how late a 50 ms setInterval fires, p99 and max;
  - chart draws against records (drawing is throttled to animation frames), the time the page's
    own code spent drawing the chart and handling the stream's lines, and the longest chart draw.
Baselines, measured the same way in the same run: the same stream read in the same page by a bare
fetch loop that decodes and parses each line and does nothing else (what any client pays: network,
decoding, JSON; on a machine shared with other work this alone shows long tasks), and the same page
idle for as long as the run took. The table gives each figure and its ratio to the bare read.

    .venv/bin/python bench/ui_train.py [--steps 20000]

Needs the built UI (npm run build) and Chromium ($CHAINLENS_CHROMIUM or /usr/bin/chromium).
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page  # noqa: E402

from bench.browser import described, open_app, served_browser  # noqa: E402

# Installed once per page: collects long tasks, frame gaps and timer lateness until stopped.
MONITOR = """() => {
  const monitor = { longtasks: [], gaps: [], lags: [], running: true };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (monitor.running) monitor.longtasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: false });
  // What the long frames ran (Long Animation Frames API): the scripts and rendering behind them.
  monitor.frames = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!monitor.running || entry.duration < 50) continue;
      const scripts = (entry.scripts || []).filter((script) => script.duration >= 5).map((script) => {
        const where = `${(script.sourceURL || '').split('/').pop()}:${script.sourceCharPosition}`;
        return `${script.invoker || script.invokerType} ${script.sourceFunctionName || ''}@${where} `
          + `${Math.round(script.duration)} ms`;
      });
      const rendering = Math.round(
        entry.duration - (entry.renderStart ? entry.renderStart - entry.startTime : entry.duration));
      monitor.frames.push(`${Math.round(entry.duration)} ms (blocking ${Math.round(entry.blockingDuration)}, `
        + `rendering ${rendering}): ${scripts.join('; ') || 'no script ≥ 5 ms'}`);
    }
  }).observe({ type: 'long-animation-frame', buffered: false });
  let last = performance.now();
  const frame = (now) => {
    if (!monitor.running) return;
    monitor.gaps.push(now - last);
    last = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  let expected = performance.now() + 50;
  monitor.timer = setInterval(() => {
    const now = performance.now();
    monitor.lags.push(Math.max(0, now - expected));
    expected = now + 50;
  }, 50);
  window.__monitor = monitor;
}"""

STOP = """() => {
  const m = window.__monitor;
  m.running = false;
  clearInterval(m.timer);
  return { longtasks: m.longtasks, gaps: m.gaps, lags: m.lags, frames: m.frames };
}"""


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(sample: dict) -> dict:
    return {
        "longtasks": len(sample["longtasks"]),
        "longest task": max(sample["longtasks"], default=0.0),
        "frame gap p95": percentile(sample["gaps"], 0.95),
        "frame gap p99": percentile(sample["gaps"], 0.99),
        "frame gap max": max(sample["gaps"], default=0.0),
        "timer lag p99": percentile(sample["lags"], 0.99),
        "timer lag max": max(sample["lags"], default=0.0),
    }


# The baseline reader: the same POST /train, each line decoded and parsed, nothing drawn.
BARE_READ = """async (body) => {
  const response = await fetch('/train', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let rest = '';
  let lines = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parts = (rest + decoder.decode(value, { stream: true })).split('\\n');
    rest = parts.pop();
    for (const part of parts) if (part.trim()) { JSON.parse(part); lines += 1; }
  }
  return lines;
}"""


def bare_read(page: Page, body: dict) -> tuple[dict, float]:
    page.evaluate(MONITOR)
    started = time.perf_counter()
    page.evaluate(BARE_READ, body)
    seconds = time.perf_counter() - started
    return summary(page.evaluate(STOP)), seconds


def train_run(page: Page, steps: int, record_every: int) -> tuple[dict, float, dict]:
    page.locator("#train-form [name='steps']").fill(str(steps))
    page.locator("#train-form [name='record_every']").fill(str(record_every))
    page.evaluate(MONITOR)
    started = time.perf_counter()
    page.click("#train-start")
    page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=600_000)
    seconds = time.perf_counter() - started
    sample = page.evaluate(STOP)
    run = page.evaluate(
        "({state: window.__chainlens.train.state, records: window.__chainlens.train.records,"
        " draws: window.__chainlens.train.chartDraws, drawMs: window.__chainlens.train.chartDrawMs,"
        " longestDraw: window.__chainlens.train.longestChartDrawMs,"
        " lineMs: window.__chainlens.train.lineMs,"
        " body: window.__chainlens.train.body})"
    )
    run["long frames"] = sample["frames"]
    return summary(sample), seconds, run


def idle_baseline(page: Page, seconds: float) -> dict:
    page.evaluate(MONITOR)
    page.wait_for_timeout(int(seconds * 1000))
    return summary(page.evaluate(STOP))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    with served_browser() as (url, browser):
        page = open_app(
            browser, url, ready="window.__chainlens && window.__chainlens.ready && window.__chainlens.train"
        )
        runs = page.evaluate("window.__chainlens.runs")
        page.select_option("#example-select", "train-regression")
        page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=60_000)
        page.wait_for_timeout(500)
        rows = []
        for record_every in (20, 1):
            figures, seconds, run = train_run(page, args.steps, record_every)
            bare, bare_seconds = bare_read(page, run["body"])
            idle = idle_baseline(page, seconds)
            rows.append((record_every, figures, seconds, run, bare, bare_seconds, idle))
    for record_every, figures, seconds, run, bare, bare_seconds, idle in rows:
        print(
            f"\nregression, {args.steps} steps, record every {record_every}: {run['state']} in {seconds:.1f} s "
            f"(bare read {bare_seconds:.1f} s), {run['records']} records, {run['draws']} chart draws"
        )
        print(
            f"  page code: chart drawing {run['drawMs']:.0f} ms in all (longest draw {run['longestDraw']:.1f} ms), "
            f"handling lines {run['lineMs']:.0f} ms in all"
        )
        print(f"  {'figure':<16} {'Train mode':>11} {'bare read':>10} {'idle page':>10} {'ratio to bare':>14}")
        for key, value in figures.items():
            base = bare[key]
            ratio = f"{value / base:.2f}" if base else "—"
            unit = "" if key == "longtasks" else " ms"
            print(f"  {key:<16} {value:>8.1f}{unit:<3} {base:>7.1f}{unit:<3} {idle[key]:>7.1f}{unit:<3} {ratio:>14}")
        if run["long frames"]:
            print(f"  long animation frames in Train mode ({len(run['long frames'])}, what ran in them):")
            for frame in run["long frames"][:12]:
                print(f"    {frame}")
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"\n{described()}, {os.cpu_count()} CPUs, "
        f"load average {load} (long tasks and gaps grow with other work on the machine)."
    )


if __name__ == "__main__":
    main()

"""Issue 14 in real Chromium: a 3,003-node recurrence opens readable around its first step with a
minimap, keeps only the cards near the view in the page, and keeps both ends of every step in view
while stepping. Each step's cost to a painted frame is recorded in test-output/big-graph-steps.json
(times are recorded, never asserted: bench/ui_layout.py measures them); screenshots go to
test-output/screenshots/big-*.png."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.browser import STEP_COST

from .conftest import ROOT
from .test_readable import EDGE_ENDS, MEASURE, paste

pytestmark = pytest.mark.browser

# Where the minimap draws its frame (the view's outline, #b93f0a), as fractions of its width.
FRAME_ON_MAP = """() => {
  const canvas = document.querySelector('#minimap');
  const { data, width, height } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let left = Infinity;
  let right = -Infinity;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const at = (y * width + x) * 4;
      if (Math.abs(data[at] - 185) < 30 && Math.abs(data[at + 1] - 63) < 30
          && data[at + 2] < 60 && data[at + 3] > 200) {
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  return left === Infinity ? null : { left: left / width, right: right / width };
}"""


def test_a_3000_node_recurrence_steps_with_the_camera_on_each_step(browser, console, server_url, screenshot):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, reduced_motion="reduce")
    try:
        page = console.watch(context.new_page())
        page.goto(server_url)
        page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
        paste(page, "#program-editor textarea", "\n".join(["h = tanh(h0 * w + b)"] + ["h = tanh(h * w + b)"] * 999))
        paste(page, "#inputs-editor textarea", '{"h0": 0.5, "w": 0.8, "b": 0.1}')
        runs = page.evaluate("window.__chainlens.runs")
        page.locator("#run").click()
        page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=60_000)
        assert page.evaluate("window.__chainlens.nodeCount") == 3003
        # It opens folded, a box per step (test_fold.py); this test steps every node: Open all.
        painted = page.evaluate("window.__chainlens.lastPaintedAt")
        page.locator("#fold-all").click()
        page.wait_for_function(f"window.__chainlens.lastPaintedAt > {painted}", timeout=20_000)
        # Opens readable: text ≥ 11 px, nothing overlapping, the minimap offered.
        drawn = page.evaluate(MEASURE)
        assert drawn["small"] == [] and drawn["overlaps"] == [], drawn
        assert page.locator("#minimap").is_visible()
        assert page.evaluate("window.__chainlens.drawnCount") < 100, "only the cards near the view exist"
        screenshot(page, "big-recurrence-3003-opening")

        costs = []
        page.locator("#graph").focus()
        page.keyboard.press("b")  # the backward pass starts far to the right: the camera follows
        for _ in range(20):
            costs.append(page.evaluate(STEP_COST))
            ends = page.evaluate(EDGE_ENDS)
            assert ends and all(end["inside"] for end in ends), ends
        assert page.evaluate("window.__chainlens.drawnCount") < 100
        screenshot(page, "big-recurrence-3003-backward-minimap")
        # The backward pass starts at the graph's far end: so does the minimap's frame.
        before = page.evaluate(FRAME_ON_MAP)
        assert before and before["left"] > 0.5, before
        # The minimap moves the view: a click near its left end shows cards of the first steps.
        box = page.locator("#minimap").bounding_box()
        page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)
        shown = page.locator("svg.graph g.node").evaluate_all("cards => cards.map((card) => Number(card.dataset.node))")
        assert shown and max(shown) < 300, shown
        after = page.evaluate(FRAME_ON_MAP)
        assert after and after["right"] < 0.2, after
        page.locator(".graph-footer").screenshot(path=str(ROOT / "test-output" / "screenshots" / "big-minimap.png"))
        out = ROOT / "test-output"
        out.mkdir(exist_ok=True)
        (out / "big-graph-steps.json").write_text(
            json.dumps(
                {
                    "graph": "h = tanh(h * w + b) x 1000 (3,003 nodes)",
                    "viewport": "1366x768",
                    "step_cost_ms": [round(cost, 2) for cost in costs],
                    "median_ms": round(sorted(costs)[len(costs) // 2], 2),
                },
                indent=2,
            )
            + "\n"
        )
    finally:
        context.close()


def test_the_ui_benchmark_runs_end_to_end(tmp_path):
    """bench/ui_layout.py drives the page as a user would (paste, Run, Open all, →); its figures
    are not asserted, only that every row was measured on the graph it names."""
    out = tmp_path / "ui.json"
    completed = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ui_layout.py"), "--only", "mlp", "--repeat", "1", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    [row] = json.loads(out.read_text())["rows"]
    # Opened: linear and mse are built from their primitives (14 nodes closed).
    assert row["graph"] == "mlp 784-100-200-10 open" and row["nodes"] == 20 and row["steps"] == 27, row
    for key in ("drawn", "step", "worst", "cpu"):
        assert row[key] > 0, (key, row)
    assert "step CPU" in completed.stdout

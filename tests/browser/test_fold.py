"""Issue 14 in real Chromium: repeated structure folded (fold.js, fold-view.js). A 200-step
recurrence (603 nodes) opens with one box per step; a box opens into its nodes inside a frame and
folds back; stepping into a folded box highlights it and names the step's node; "Open all" and
"Fold all" switch the whole graph. Screenshots: test-output/screenshots/fold-recurrence.png
(1366×768) and fold-recurrence-800.png (800 px wide)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_readable import MEASURE, PAGE_FITS, paste

pytestmark = pytest.mark.browser

STEPS = 200
PROGRAM = "\n".join(["h = tanh(h0 * w + b)"] + ["h = tanh(h * w + b)"] * (STEPS - 1))
INPUTS = '{"h0": 0.5, "w": 0.8, "b": 0.1}'

# The boxes on screen: their fold labels and whether one is highlighted as the current step.
BOXES = """() => [...document.querySelectorAll('#graph g.node.fold-box')].map((card) => ({
  id: Number(card.dataset.node), name: card.dataset.name,
  current: card.classList.contains('current'), target: card.classList.contains('grad-target'),
}))"""
MARKER = """() => {
  const marker = document.querySelector('#graph g.fold-now');
  return marker && marker.getAttribute('display') !== 'none' ? marker.textContent : null;
}"""


def run_program(page: Page, server_url: str) -> None:
    page.goto(server_url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
    paste(page, "#program-editor textarea", PROGRAM)
    paste(page, "#inputs-editor textarea", INPUTS)
    runs = page.evaluate("window.__chainlens.runs")
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=60_000)


def painted(page: Page) -> float:
    return page.evaluate("window.__chainlens.lastPaintedAt")


def wait_redrawn(page: Page, before: float) -> None:
    page.wait_for_function(f"window.__chainlens.lastPaintedAt > {before}", timeout=20_000)


@pytest.mark.parametrize("width", [1366, 800])
def test_a_200_step_recurrence_opens_folded_and_a_step_opens_and_folds_back(
    browser, console, server_url, screenshot, width
):
    context = browser.new_context(
        viewport={"width": width, "height": 768 if width > 800 else 900}, reduced_motion="reduce"
    )
    try:
        page = console.watch(context.new_page())
        run_program(page, server_url)
        assert page.evaluate("window.__chainlens.nodeCount") == 3 * STEPS + 3
        assert page.evaluate("window.__chainlens.folds") == {"count": STEPS, "closed": STEPS}
        boxes = page.evaluate(BOXES)
        assert boxes, "no folded box on screen"
        # One box per step, named by its place in the run; nothing else but h0, w and b drawn.
        assert all(box["name"].startswith("step ") and box["name"].endswith(f" of {STEPS}") for box in boxes), boxes
        names = page.locator("#graph g.node").evaluate_all("cards => cards.map((card) => card.dataset.name)")
        assert set(names) - {box["name"] for box in boxes} <= {"h0", "w", "b"}, names
        expect(page.locator("#fold-all")).to_have_text("Open all")
        drawn = page.evaluate(MEASURE)
        assert drawn["small"] == [] and drawn["overlaps"] == [] and drawn["overflowing"] == [], drawn
        assert page.evaluate(PAGE_FITS) == []

        # Stepping into step 1: its box is highlighted and the marker names the node computed.
        page.locator("#graph").focus()
        page.keyboard.press("ArrowRight")
        expect(page.locator("#step-label")).to_have_attribute("data-position", "1")
        current = [box for box in page.evaluate(BOXES) if box["current"]]
        assert [box["name"] for box in current] == [f"step 1 of {STEPS}"], current
        assert page.evaluate(MARKER) == "now: h0 * w"

        # Open step 2 (its control under the box, by keyboard): its three ops appear in a frame.
        before = painted(page)
        opener = page.locator(f"#graph g.node[data-name='step 2 of {STEPS}'] g.fold-open")
        opener.focus()
        page.keyboard.press("Enter")
        wait_redrawn(page, before)
        assert page.evaluate("window.__chainlens.folds") == {"count": STEPS, "closed": STEPS - 1}
        frame = page.locator("#graph g.fold-frame")
        expect(frame).to_have_count(1)
        expect(frame.locator("text.fold-label")).to_contain_text("step 2 of 200: h = tanh(h * w + b)")
        for name in ["h₁ * w", "h₁ * w + b", "h₂"]:
            expect(page.locator(f"#graph g.node[data-name='{name}']")).to_have_count(1)
        drawn = page.evaluate(MEASURE)
        assert drawn["small"] == [] and drawn["overlaps"] == [] and drawn["overflowing"] == [], drawn

        # Step into the opened step: its cards are the step's nodes, no marker.
        for position in (2, 3, 4):
            page.keyboard.press("ArrowRight")
            expect(page.locator("#step-label")).to_have_attribute("data-position", str(position))
        expect(page.locator("#graph g.node.current")).to_have_attribute("data-name", "h₁ * w")
        assert page.evaluate(MARKER) is None
        # Step 3 of 200 is still folded: stepping there highlights its box again.
        for _position in (5, 6, 7):
            page.keyboard.press("ArrowRight")
        expect(page.locator("#step-label")).to_have_attribute("data-position", "7")
        expect(page.locator("#graph g.node.current")).to_have_attribute("data-name", f"step 3 of {STEPS}")
        assert page.evaluate(MARKER) == "now: h₂ * w"
        drawn = page.evaluate(MEASURE)
        assert drawn["small"] == [] and drawn["overlaps"] == [] and drawn["overflowing"] == [], drawn
        # Folded boxes, the opened step 2 in its frame, step 3's box marked with the node computed.
        screenshot(page, "fold-recurrence" if width > 800 else "fold-recurrence-800")

        # Fold it back: one box again, the stepper where it was.
        before = painted(page)
        page.locator("#graph g.fold-frame g.fold-close").click()
        wait_redrawn(page, before)
        expect(page.locator("#graph g.fold-frame")).to_have_count(0)
        assert page.evaluate("window.__chainlens.folds") == {"count": STEPS, "closed": STEPS}
        assert page.evaluate("window.__chainlens.position") == 7

        # The backward pass: a gradient inside a folded box marks it and says where it flows.
        page.keyboard.press("End")
        page.keyboard.press("b")
        expect(page.locator("#step-label")).to_have_attribute("data-phase", "backward")
        target = [box for box in page.evaluate(BOXES) if box["target"]]
        assert [box["name"] for box in target] == [f"step {STEPS} of {STEPS}"], target
        assert page.evaluate(MARKER).startswith("now: ∂ into ")

        # Open all: every node drawn again, no box left.
        before = painted(page)
        page.locator("#fold-all").click()
        wait_redrawn(page, before)
        assert page.evaluate("window.__chainlens.folds") == {"count": STEPS, "closed": 0}
        expect(page.locator("#graph g.node.fold-box")).to_have_count(0)
        expect(page.locator("#fold-all")).to_have_text("Fold all")
    finally:
        context.close()


def test_a_small_recurrence_opens_unfolded_and_folds_on_demand(page: Page, server_url):
    page.goto(server_url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
    runs = page.evaluate("window.__chainlens.runs")
    page.select_option("#example-select", label="A shared weight through time")
    page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=20_000)
    assert page.evaluate("window.__chainlens.folds") == {"count": 3, "closed": 0}
    expect(page.locator("#graph g.node.fold-box")).to_have_count(0)
    expect(page.locator("#fold-all")).to_have_text("Fold all")
    before = painted(page)
    page.locator("#fold-all").click()
    wait_redrawn(page, before)
    # h0, w, b and a box per step: the whole graph on screen.
    assert page.evaluate("window.__chainlens.folds") == {"count": 3, "closed": 3}
    expect(page.locator("#graph g.node.fold-box")).to_have_count(3)
    expect(page.locator("#graph g.node")).to_have_count(6)

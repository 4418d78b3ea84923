"""Accessibility in real headless Chromium: axe-core (from npm, node_modules/axe-core, injected by
Playwright) finds no violation of WCAG 2.1 A/AA or its best-practice rules in any state these
tests visit, at 1366×768 and 800×900: the opening page, the regression MLP's backward pass with
the inspector open, Train mode before and after a digits run (its test-digit images), the
presentation view; the check tools (badges, break-it), composites opened, the folded recurrence
and a program error. A screen reader hears each step's heading and result (a polite live
region), and every node card is reachable and named with its shape and gradient.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from serving import serving

from app.examples import EXAMPLES
from tests.browser.pages import open_app, pick

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SIZES = {"1366x768": {"width": 1366, "height": 768}, "800x900": {"width": 800, "height": 900}}
RUN_TIMEOUT = 300_000


@pytest.fixture(scope="module")
def full_url():
    """Tensors of up to 20,000 elements in full: the digits network's W2 (100×200) comes with the
    `done` line, so the image results (digits, weights) are all drawn."""
    with serving(ROOT, env={**os.environ, "CHAINLENS_MAX_FULL_ELEMENTS": "20000"}) as url:
        yield url


def violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.1 A/AA + best practice)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, { runOnly: { type: 'tag', values: tags },
                                                     resultTypes: ['violations'] });
            return result.violations.map((rule) => ({
                id: rule.id, impact: rule.impact, help: rule.help,
                nodes: rule.nodes.map((node) => ({ target: node.target.join(' '), summary: node.failureSummary })),
            }));
        }""",
        TAGS,
    )


def assert_no_violations(page: Page, state: str) -> None:
    found = violations(page)
    report = json.dumps(found, indent=1)[:6000]
    assert found == [], f"axe-core violations in {state}:\n{report}"


@pytest.mark.parametrize("size", list(SIZES))
def test_no_axe_violation_in_any_state(browser, full_url, console, size):
    assert AXE.is_file(), "axe-core is a devDependency: run `npm ci`"
    context = browser.new_context(viewport=SIZES[size])
    page = console.watch(context.new_page())
    try:
        open_app(page, full_url)
        expect(page.locator("h1")).to_have_count(1)
        assert_no_violations(page, f"the opening page at {size}")

        pick(page, "regression-mlp")
        page.locator("#graph").focus()
        page.keyboard.press("b")
        expect(page.locator("#step-label")).to_have_attribute("data-phase", "backward")
        assert_no_violations(page, f"the regression MLP's backward pass at {size}")

        page.fill("#node-search-input", "W1")
        page.keyboard.press("Enter")
        expect(page.locator("#inspector .inspector-head")).to_contain_text("W1")
        assert_no_violations(page, f"the inspector open on W1 at {size}")

        page.keyboard.press("Escape")
        pick(page, "train-digits")
        assert_no_violations(page, f"Train mode before a run at {size}")

        page.locator("#train-form [name='steps']").fill("200")
        page.click("#train-start")
        page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=RUN_TIMEOUT)
        expect(page.locator(".digit-grid .digit")).to_have_count(45, timeout=60_000)
        expect(page.locator(".weight-grid canvas").first).to_be_visible(timeout=60_000)
        # Every test-digit image says its label and prediction.
        first = page.locator(".digit-grid .digit").first
        label, predicted = first.get_attribute("data-label"), first.get_attribute("data-predicted")
        assert first.locator("canvas").get_attribute("aria-label") == f"a digit labelled {label}, predicted {predicted}"
        assert_no_violations(page, f"a trained digits run at {size}")

        page.locator(".digit-grid .digit").nth(3).click()
        expect(page.locator(".saliency-block canvas")).to_have_count(2, timeout=60_000)
        assert_no_violations(page, f"a digit's ∂loss/∂pixels at {size}")

        page.click("#present")
        expect(page.locator("body")).to_have_attribute("data-present", "true")
        assert_no_violations(page, f"the presentation view at {size}")
    finally:
        context.close()


def test_each_step_is_announced_and_every_card_is_named(page, server_url):
    open_app(page, server_url)
    pick(page, "regression-mlp")
    announce = page.locator("#step-announce")
    expect(announce).to_have_attribute("aria-live", "polite")
    page.locator("#graph").focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    expect(announce).to_have_text(
        re.compile(
            r"^Forward pass · step 1 of 4: compute linear\(x, W1, b1\)\. "
            r"linear\(x, W1, b1\)\. shape 8×15"
        )
    )
    page.keyboard.press("End")
    expect(announce).to_have_text(re.compile(r"^Backward pass · step (\d+) of \1: gradient into .+ · done\. ∂loss/∂"))
    # The explanation is one panel, reached by Tab, and scrolls inside itself.
    assert page.locator("#explain").get_attribute("tabindex") == "0"

    # At the end every card is named with its op, shape and gradient (a norm for a tensor).
    response = page.evaluate("window.__chainlens.response")
    for node in response["nodes"]:
        card = page.locator(f"svg.graph g.node[data-node='{node['id']}']")
        if card.count() == 0:  # culled: off screen
            continue
        shape = " by ".join(str(n) for n in node["shape"]) if node["shape"] else "scalar"
        name = card.get_attribute("aria-label")
        kind = "gradient" if not node["shape"] else "gradient norm"
        said = "no gradient yet" if node["grad"] is None else rf"{kind} -?[\d.e+-]+"
        assert re.fullmatch(rf"{re.escape(node['label'])}, {node['op']}, {shape}, {said}", name), name
    w1 = next(node for node in response["nodes"] if node["label"] == "W1")
    page.fill("#node-search-input", "W1")
    page.keyboard.press("Enter")
    w1_card = page.locator(f"svg.graph g.node[data-node='{w1['id']}']")
    norm = float(np.linalg.norm(np.array(w1["grad"], dtype=float)))
    expect(w1_card).to_have_attribute("aria-label", f"W1, input, 3 by 15, gradient norm {norm:.4g}")
    assert w1_card.get_attribute("role") == "group"
    # Every card is reachable by keyboard: from the first card, ↓ walks every node in program order.
    page.locator("#graph").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("Home")
    page.locator("svg.graph g.node[tabindex='0']").focus()  # the one card in the tab order
    reached = [page.evaluate("document.activeElement.dataset.node")]
    for _ in range(len(response["nodes"]) - 1):
        page.keyboard.press("ArrowDown")
        reached.append(page.evaluate("document.activeElement.dataset.node"))
    assert reached == [str(node["id"]) for node in response["nodes"]]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_axe_violation_with_the_check_tools_and_errors(browser, server_url, console, size):
    """The check tools' states (badges, the inspector's numeric column, break-it's two timelines),
    composites opened, the folded recurrence and a program error with its out-of-date graph."""
    console.allow("422")
    context = browser.new_context(viewport=SIZES[size])
    page = console.watch(context.new_page())
    try:
        open_app(page, server_url)
        page.locator("#graph").focus()
        page.keyboard.press("g")
        expect(page.locator("svg.graph g.check-badge").first).to_be_visible(timeout=30_000)
        page.fill("#node-search-input", "x")
        page.keyboard.press("Enter")
        expect(page.locator("#inspector .inspector-head")).to_contain_text("x")
        assert_no_violations(page, f"gradient check badges and the inspector at {size}")

        pick(page, "shared-intermediate")
        page.locator("#graph").focus()
        page.keyboard.press("x")
        expect(page.locator("#break-it")).to_have_attribute("aria-pressed", "true", timeout=30_000)
        expect(page.locator(".timeline.broken li").first).to_be_visible(timeout=30_000)
        assert_no_violations(page, f"break it at {size}")
        page.keyboard.press("x")

        pick(page, "recurrence")
        assert_no_violations(page, f"the recurrence at {size}")
        pick(page, "regression-mlp")
        runs = page.evaluate("window.__chainlens.runs")
        page.click("#expand-all")
        page.wait_for_function(f"window.__chainlens.runs > {runs}")
        assert_no_violations(page, f"composites opened at {size}")

        page.fill("#program-editor textarea", "q = x +* y")
        page.click("#run")
        expect(page.locator("#error-box")).to_be_visible()
        expect(page.locator(".graph-wrap")).to_have_class(re.compile(r"\bstale\b"))
        assert_no_violations(page, f"a program error at {size}")
    finally:
        context.close()


# Every example of the menu, at the end of its backward pass (the last step's explanation, the
# dialect programs' index and gather steps, the layers' notes) and, for a training example, Train
# mode before a run: the states the rest of the browser suite visits, each checked here.
EXAMPLE_IDS = [example["id"] for example in EXAMPLES]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_axe_violation_on_any_example(browser, server_url, console, size):
    context = browser.new_context(viewport=SIZES[size])
    page = console.watch(context.new_page())
    try:
        open_app(page, server_url)
        for example_id in EXAMPLE_IDS:
            pick(page, example_id)
            if page.evaluate("window.__chainlens.response != null"):
                page.locator("#graph").focus()
                page.keyboard.press("End")
                expect(page.locator("#step-label")).to_have_attribute("data-phase", "done")
            assert_no_violations(page, f"the example {example_id} at {size}")
    finally:
        context.close()

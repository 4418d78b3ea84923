"""Composites in the page: a composite opens into its primitives inside a group box and closes
again (from the card, the box, the inspector and "Open all"), the stepper stays on the same step,
every backward step shows its math with numbers (matrices or heatmaps), and a broadcast operand's
forward edge names both shapes. Screenshots at 1366×768 and 800 px wide go to
test-output/screenshots/composites-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def open_example(page: Page, url: str, example: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
    before = runs(page)
    page.locator("#example-select").select_option(example)
    wait_for_run(page, before)
    page.wait_for_timeout(350)  # the previous example's cards move or fade out (260 ms)


def runs(page: Page) -> int:
    return page.evaluate("window.__chainlens.runs")


def wait_for_run(page: Page, runs_before: int) -> None:
    page.wait_for_function(f"window.__chainlens.runs > {runs_before}", timeout=20_000)


def card(page: Page, label: str):
    return page.locator(f"svg.graph g.node[data-label='{label}']")


def boxes(page: Page):
    return page.locator("svg.graph g.group-box")


def backward_step_into(page: Page, label: str) -> int:
    """The stepper position of the first backward step into the node labelled `label`."""
    return page.evaluate(
        """(label) => {
            const r = window.__chainlens.response;
            return r.steps.findIndex((s) => s.phase === 'backward' && r.nodes[s.input].label === label) + 1;
        }""",
        label,
    )


def seek(page: Page, position: int) -> None:
    page.evaluate(
        """(position) => {
            const slider = document.querySelector('#step-slider');
            slider.value = String(position);
            slider.dispatchEvent(new Event('input', { bubbles: true }));
        }""",
        position,
    )
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(position))


def toggle(page: Page, locator) -> None:
    before = runs(page)
    locator.click()
    wait_for_run(page, before)
    page.wait_for_timeout(350)  # the previous graph's cards fade out (260 ms)


def test_open_and_close_a_group(page, server_url):
    open_example(page, server_url, "regression-mlp")
    expect(boxes(page)).to_have_count(0)
    # The graph opens at a readable 100 % around its first step, and only cards near the view
    # exist (readable): fit it whole first, so that every card is there to measure and click.
    page.locator("#fit").click()
    page.wait_for_timeout(350)
    untouched = {label: card(page, label).bounding_box() for label in ("x", "W1", "t", "loss")}
    # The card's own control opens every linear: each becomes x @ W + b in a box.
    toggle(page, card(page, "y").locator("g.open-toggle"))
    expect(boxes(page)).to_have_count(2)
    expect(page.locator("svg.graph g.group-box[data-op='linear']")).to_have_count(2)
    expect(card(page, "x @ W1")).to_have_count(1)
    expect(card(page, "h @ W2")).to_have_count(1)
    assert page.evaluate("window.__chainlens.expand") == ["linear"]
    # Every inner value and gradient is there: the matmul node's card shows its numbers at the end.
    page.locator("#step-last").click()
    assert card(page, "x @ W1").locator("text.grad").text_content() != "—"
    # The rest keeps its order: inputs left of the loss, x above t as before; and the camera
    # keeps the first input on the same spot of the screen.
    after = {label: card(page, label).bounding_box() for label in ("x", "W1", "t", "loss")}
    assert abs(after["x"]["x"] - untouched["x"]["x"]) < 2 and abs(after["x"]["y"] - untouched["x"]["y"]) < 2
    assert after["x"]["x"] < after["loss"]["x"] and after["W1"]["x"] < after["loss"]["x"]
    assert (after["x"]["y"] < after["t"]["y"]) == (untouched["x"]["y"] < untouched["t"]["y"])
    # The box's close control closes them again.
    toggle(page, boxes(page).first.locator("g.group-close"))
    expect(boxes(page)).to_have_count(0)
    expect(card(page, "y").locator("g.open-toggle")).to_have_count(1)
    # The inspector's control: select the loss (an mse) and open it from there.
    # Found by name (readable's node search): after opening and closing, the camera kept x in
    # place and the loss may be out of view, where a click cannot reach it.
    page.locator("#node-search-input").fill("loss")
    page.locator("#node-search-input").press("Enter")
    button = page.locator("#inspector .group-control")
    expect(button).to_have_text("Open mse into its primitives")
    toggle(page, button)
    expect(page.locator("svg.graph g.group-box[data-op='mse']")).to_have_count(1)
    # In the graph, though maybe not in the DOM: only cards near the view exist (readable).
    assert page.evaluate("window.__chainlens.response.nodes.some((n) => n.sourceLabel === '(y - t) ** 2')")
    # "Open all", then "Close all".
    toggle(page, page.locator("#expand-all"))
    expect(boxes(page)).to_have_count(3)
    assert page.evaluate("window.__chainlens.expand") == "all"
    expect(page.locator("#expand-all")).to_have_text("Close all")
    toggle(page, page.locator("#expand-all"))
    expect(boxes(page)).to_have_count(0)


def test_the_step_survives_opening_and_the_broadcast_edge_names_both_shapes(page, server_url):
    open_example(page, server_url, "regression-mlp")
    into_b1 = backward_step_into(page, "b1")
    seek(page, into_b1)
    toggle(page, page.locator("#expand-all"))
    # Still the step into b1: now from the add node of x @ W1 + b1, with the broadcast summed away.
    expect(page.locator("#explain .step-title")).to_contain_text("gradient into b1")
    explanation = page.locator("#explain .math").first.get_attribute("data-text")
    assert explanation.startswith("∂loss/∂b1 = Σ over axis 0 of (")
    expect(page.locator("#explain .notes")).to_contain_text("summed over axis 0 to undo the broadcast")
    expect(page.locator("#explain .explain-heatmaps figure")).to_have_count(2)  # before and after the sum
    label = page.locator("svg.graph g.broadcast-label", has_text="b1 (15,) → (8, 15)")
    expect(label).to_have_count(1)


def _no_placeholder_anywhere(page: Page) -> None:
    total = page.evaluate("window.__chainlens.total")
    for position in range(1, total + 1):
        seek(page, position)
        for text in page.locator("#explain .math").evaluate_all("(els) => els.map((e) => e.dataset.text)"):
            assert "tensor" not in text and "vjp" not in text, f"step {position}: {text}"


def test_expanded_regression_mlp_at_the_step_into_W1(page, server_url, screenshot):
    open_example(page, server_url, "regression-mlp")
    toggle(page, page.locator("#expand-all"))
    _no_placeholder_anywhere(page)
    seek(page, backward_step_into(page, "W1"))
    lines = page.locator("#explain .math").evaluate_all("(els) => els.map((e) => e.dataset.text)")
    assert lines[0] == "∂loss/∂W1 = xᵀ · ∂loss/∂(x @ W1)"
    assert lines[1:3] == ["3×8, 8×15 → 3×15", "min -440.4, max 117.1, norm 794.2"]
    # 3×8 · 8×15 is too large to write out: a heatmap of each factor and of the result.
    expect(page.locator("#explain .explain-heatmaps figure")).to_have_count(3)
    expect(page.locator("#explain .explain-heatmaps figcaption").first).to_have_text("xᵀ · 3×8")
    screenshot(page, "composites-regression-mlp-expanded-W1")
    page.set_viewport_size({"width": 800, "height": 900})
    page.wait_for_timeout(400)
    screenshot(page, "composites-regression-mlp-expanded-W1-800px")


def test_expanded_softmax_classifier_at_the_step_into_W(page, server_url, screenshot):
    open_example(page, server_url, "softmax-classifier")
    toggle(page, page.locator("#expand-all"))
    expect(page.locator("svg.graph g.group-box[data-op='softmax_cross_entropy']")).to_have_count(1)
    expect(page.locator("svg.graph g.group-box[data-op='log_softmax']")).to_have_count(1)
    _no_placeholder_anywhere(page)
    seek(page, backward_step_into(page, "W"))
    lines = page.locator("#explain .math")
    texts = lines.evaluate_all("(els) => els.map((e) => e.dataset.text)")
    # 5×4 · 4×3 fits: the actual matrices, typeset: formula, product, result.
    assert texts[0] == "∂loss/∂W = xᵀ · ∂loss/∂(x @ W)"
    assert texts[1].startswith("= [[") and " · [[" in texts[1]
    assert texts[2].startswith("= [[")
    expect(lines.nth(1).locator(".katex .mtable")).to_have_count(2)
    expect(lines.nth(2).locator(".katex .mtable")).to_have_count(1)
    screenshot(page, "composites-softmax-classifier-expanded-W")
    page.set_viewport_size({"width": 800, "height": 900})
    page.wait_for_timeout(400)
    screenshot(page, "composites-softmax-classifier-expanded-W-800px")

"""The page in real headless Chromium against a real server: the chain rule end to end, a shared
parameter's two contributions, error markers, and share links. Screenshots of the final states go
to test-output/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)


def wait_for_run(page: Page, runs_before: int) -> None:
    page.wait_for_function(f"window.__chainlens.runs > {runs_before}", timeout=20_000)


def runs(page: Page) -> int:
    return page.evaluate("window.__chainlens.runs")


def card(page: Page, label: str):
    return page.locator(f"svg.graph g.node[data-label='{label}']")


def grad_shown(page: Page, label: str) -> str:
    return card(page, label).locator("text.grad").text_content()


def step_to(page: Page, position: int) -> None:
    page.locator("#graph").focus()
    page.keyboard.press("Home")
    for _ in range(position):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(position))


def test_chain_rule_loads_drawn_and_steps_to_the_gradients(page, server_url, screenshot):
    open_app(page, server_url)
    expect(page.locator("#program-editor textarea")).to_have_value("q = x + y\nf = q * z")
    expect(page.locator("svg.graph g.node")).to_have_count(5)
    expect(page.locator("svg.graph path.edge")).to_have_count(4)
    # Before any step: ops pending, no gradient anywhere (never a premature 0).
    expect(card(page, "q")).to_have_class(re.compile(r"\bpending\b"))
    for label in ("x", "y", "z", "q", "f"):
        assert grad_shown(page, label) == "—"
    # Left to right, left operand above the right one.
    screenshot(page, "chain-rule-start")
    box = {label: card(page, label).bounding_box() for label in ("x", "y", "q", "z", "f")}
    assert box["x"]["x"] < box["q"]["x"] < box["f"]["x"]
    assert box["x"]["y"] < box["y"]["y"] and box["q"]["y"] < box["z"]["y"]

    page.locator("#graph").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#explain .math").first).to_have_attribute("data-text", "q = x + y = -2 + 5 = 3")
    expect(card(page, "q")).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # first backward step: f's seed, then q gets -4
    expect(page.locator("#explain .step-title")).to_contain_text("Backward pass")
    assert grad_shown(page, "x") == "—", "x's gradient must not show before backward reaches it"
    assert grad_shown(page, "f") == "1"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#explain .math").first).to_have_attribute("data-text", "∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4")
    expect(page.locator("svg.graph path.edge.current")).to_have_count(1)
    expect(page.locator("svg.graph g.edge-label.current text")).to_have_text("∇ -4")
    page.keyboard.press("End")
    expect(page.locator("#step-label")).to_have_attribute("data-position", "6")
    assert [grad_shown(page, label) for label in ("x", "y", "z")] == ["-4", "-4", "3"]
    screenshot(page, "chain-rule-end")

    # The inspector shows the selected node's numbers.
    card(page, "z").click()
    expect(page.locator("#inspector .big-number.value")).to_have_text("-4")
    expect(page.locator("#inspector .big-number.grad")).to_have_text("3")
    card(page, "f").click()
    expect(page.locator("#inspector .facts")).to_contain_text("∂out/∂a = b")  # from GET /ops
    screenshot(page, "chain-rule-inspector")


def test_stepper_controls_and_keys(page, server_url):
    open_app(page, server_url)
    label = page.locator("#step-label")
    page.locator("#step-last").click()
    expect(label).to_have_attribute("data-position", "6")
    page.locator("#step-prev").click()
    expect(label).to_have_attribute("data-position", "5")
    page.locator("#graph").focus()
    page.keyboard.press("Home")
    expect(label).to_have_attribute("data-position", "0")
    page.locator("#step-speed").select_option("4")
    page.locator("#graph").focus()
    page.keyboard.press(" ")
    expect(label).to_have_attribute("data-position", "6", timeout=5_000)  # plays to the end and stops
    expect(page.locator("#step-play")).to_have_attribute("aria-pressed", "false")


def test_shared_parameter_two_contributions_and_their_sum(page, server_url, screenshot):
    open_app(page, server_url)
    before = runs(page)
    page.locator("#example-select").select_option("shared-parameter")
    wait_for_run(page, before)
    expect(page.locator("#program-editor textarea")).to_have_value("y = (x * a + b) * a")
    steps = page.evaluate("window.__chainlens.response.steps")
    into_a = [i for i, step in enumerate(steps) if step["phase"] == "backward" and step["input"] == 1]
    assert len(into_a) == 2

    step_to(page, into_a[0] + 1)
    assert grad_shown(page, "a").endswith("(1/2)")
    expect(page.locator("#explain .notes")).to_contain_text("contribution 1 of 2, more to come")

    step_to(page, into_a[1] + 1)
    assert grad_shown(page, "a").endswith("(2/2)")
    lines = page.locator("#explain .math")
    # The formula, "= upstream ⊙ local" and "= contribution" (matrices, a line each), the running sum.
    expect(lines).to_have_count(4)
    expect(lines.nth(3)).to_have_attribute(
        "data-text",
        "∂y/∂a = [[1.5, -2, -6.5], [14, -2, 0], [6.5, 6, 4.125]] + [[0.5, -1, -6], [12, 0, 0], [7, 8, 3.375]]"
        " = [[2, -3, -12.5], [26, -2, 0], [13.5, 14, 7.5]]",
    )
    card(page, "a").click()
    ledger = page.locator("#inspector .ledger li")
    expect(ledger).to_have_text(
        [
            f"step {into_a[0] + 1}: via y: [[1.5, -2, -6.5], [14, -2, 0], [6.5, 6, 4.125]]",
            f"step {into_a[1] + 1}: via x * a: [[0.5, -1, -6], [12, 0, 0], [7, 8, 3.375]]",
            "sum = [[2, -3, -12.5], [26, -2, 0], [13.5, 14, 7.5]]",
        ]
    )
    # Each contribution jumps to its step.
    ledger.nth(0).get_by_role("button").click()
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(into_a[0] + 1))
    step_to(page, into_a[1] + 1)
    expect(page.locator("#inspector .inspect-grad canvas")).to_have_count(1)
    screenshot(page, "shared-parameter-sum")

    # The broadcast bias: its gradient is summed over axis 0.
    into_b = next(i for i, step in enumerate(steps) if step["phase"] == "backward" and step["summed_axes"])
    step_to(page, into_b + 1)
    expect(page.locator("#explain .notes .broadcast")).to_have_text("summed over axis 0 to undo the broadcast")
    screenshot(page, "shared-parameter-broadcast")


def test_error_is_marked_where_the_program_has_it_and_the_text_is_kept(page, server_url, screenshot, console):
    open_app(page, server_url)
    console.allow("status of 422")
    program = "q = x + y\nf = tahn(q) * z"
    editor = page.locator("#program-editor textarea")
    editor.fill(program)
    editor.press("Control+Enter")
    mark = page.locator("#program-editor mark.error-mark")
    expect(mark).to_have_attribute("data-line", "2")
    expect(mark).to_have_attribute("data-column", "5")
    expect(mark).to_have_text("tahn")
    expect(page.locator("#error-box")).to_contain_text("unknown function 'tahn'")
    expect(page.locator("#program-editor .gutter .error-line")).to_have_text("2")
    expect(editor).to_have_value(program)
    # The mark sits on the characters it names: under "tahn", on the second line.
    mark_box, text_box = mark.bounding_box(), editor.bounding_box()
    assert mark_box["y"] > text_box["y"] + 15 and mark_box["x"] > text_box["x"] + 25
    screenshot(page, "error-marker")

    # The suggested fix replaces only the marked name and runs again.
    before = runs(page)
    page.get_by_role("button", name="Use tanh").click()
    wait_for_run(page, before)
    expect(editor).to_have_value("q = x + y\nf = tanh(q) * z")
    expect(page.locator("#error-box")).to_be_hidden()


def test_bad_inputs_json_is_marked_in_the_inputs_box(page, server_url):
    open_app(page, server_url)
    inputs = page.locator("#inputs-editor textarea")
    inputs.fill('{"x": -2, "y": 5 "z": -4}')
    page.locator("#run").click()
    expect(page.locator("#inputs-editor mark.error-mark")).to_have_attribute("data-column", "18")
    expect(page.locator("#error-box")).to_contain_text("not valid JSON")
    expect(inputs).to_have_value('{"x": -2, "y": 5 "z": -4}')


def test_a_copied_link_reopens_the_same_view_at_the_same_step(new_page, server_url, screenshot):
    first = new_page()
    open_app(first, server_url)
    before = runs(first)
    first.locator("#program-editor textarea").fill("a = x * y\nb = a + x\nout = tanh(b)")
    first.locator("#inputs-editor textarea").fill('{"x": 0.5, "y": -1.5}')
    first.locator("#run").click()
    wait_for_run(first, before)
    step_to(first, 4)
    # The camera follows step 4's edge; the fit button shows every card again to click one.
    first.locator("#fit").click()
    card(first, "a").click()
    first.wait_for_function("location.hash.includes('s=4') && location.hash.includes('n=')")
    link = first.url
    shown = grad_shown(first, "a")

    second = new_page()
    open_app(second, link)
    expect(second.locator("#program-editor textarea")).to_have_value("a = x * y\nb = a + x\nout = tanh(b)")
    expect(second.locator("#step-label")).to_have_attribute("data-position", "4")
    assert grad_shown(second, "a") == shown
    expect(second.locator("#inspector h3 .name")).to_have_text("a")
    expect(second.locator("#explain .math").first).to_have_attribute(
        "data-text", first.locator("#explain .math").first.get_attribute("data-text")
    )
    screenshot(second, "share-link-reopened")


def test_exports_download_svg_png_and_json(page, server_url):
    open_app(page, server_url)
    for button, suffix in (("#export-svg", ".svg"), ("#export-png", ".png"), ("#export-json", ".json")):
        with page.expect_download() as download:
            page.locator(button).click()
        assert download.value.suggested_filename.endswith(suffix)
        with open(download.value.path(), "rb") as file:
            content = file.read()
        if suffix == ".svg":
            assert b"<svg" in content and b"svg.graph .edge" in content
        elif suffix == ".png":
            assert content.startswith(b"\x89PNG")
        else:
            assert b'"steps"' in content


def test_a_larger_model_renders_with_heatmaps(page, server_url, screenshot):
    open_app(page, server_url)
    before = runs(page)
    page.locator("#example-select").select_option("regression-mlp")
    wait_for_run(page, before)
    page.locator("#step-last").click()
    card(page, "W1").click()
    expect(page.locator("#inspector .inspect-value canvas")).to_have_count(1)
    expect(page.locator("#inspector .inspect-grad canvas")).to_have_count(1)
    canvas = page.locator("#inspector .inspect-value canvas")
    canvas.hover(position={"x": 3, "y": 3})
    expect(page.locator("#inspector .inspect-value .readout")).to_contain_text("W1[0, 0] = ")
    screenshot(page, "regression-mlp-inspector")

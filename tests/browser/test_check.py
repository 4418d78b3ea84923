"""The check tools in real headless Chromium against a real server: the gradient check's badges
and inspector table, break-it on `q = x * a; y = q * q` stopped at the first divergence, dragging
a scalar input (card and field) and a tensor element, the ±h nudge, and the two exports.
Screenshots go to test-output/screenshots/ (check-*.png), at 1366×768 and at 800 px wide."""

from __future__ import annotations

import json
import math
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_ui import card, grad_shown, open_app, runs, wait_for_run

pytestmark = pytest.mark.browser


def choose(page: Page, example: str) -> None:
    before = runs(page)
    page.locator("#example-select").select_option(example)
    wait_for_run(page, before)


def press_on_graph(page: Page, key: str) -> None:
    page.locator("#graph").focus()
    page.keyboard.press(key)


def test_check_gradients_badges_every_input_and_shows_numeric_beside_analytic(page, server_url, screenshot):
    open_app(page, server_url)
    choose(page, "shared-intermediate")
    press_on_graph(page, "g")  # the keyboard shortcut of "Check gradients"
    badges = page.locator("svg.graph g.check-badge")
    expect(badges).to_have_count(2)
    for label in ("x", "a"):
        badge = card(page, label).locator("g.check-badge")
        expect(badge).to_have_class(re.compile(r"\bok\b"))
        assert re.fullmatch(r"✓ (0|\d(\.\d+)?e-\d+)", badge.locator("text").text_content())
    expect(page.locator("[data-testid=gradcheck-summary]")).to_contain_text("all below 1e-6")
    card(page, "x").click()
    table = page.locator("[data-testid=gradcheck-table]")
    expect(table).to_be_visible()
    cells = table.locator("tr").nth(1).locator("td")
    assert cells.nth(1).text_content() == "12" and cells.nth(2).text_content() == "12"
    screenshot(page, "check-gradcheck-badges")
    page.set_viewport_size({"width": 800, "height": 900})
    expect(badges.first).to_be_visible()
    screenshot(page, "check-gradcheck-badges-800")


def test_gradcheck_flags_a_kink_in_red_and_lists_the_worst_elements(page, server_url):
    open_app(page, server_url)
    page.locator("#program-editor textarea").fill("y = sum(relu(x) * x)")
    page.locator("#inputs-editor textarea").fill(json.dumps({"x": [0.0, 1.5, -2.0]}))
    before = runs(page)
    page.locator("#run").click()
    wait_for_run(page, before)
    page.locator("#check-gradients").click()
    badge = card(page, "x").locator("g.check-badge")
    expect(badge).to_have_class(re.compile(r"\bbad\b"))  # relu at 0: the one-sided slopes differ
    expect(page.locator("[data-testid=gradcheck-summary]")).to_contain_text("Above 1e-6: x")


def test_break_it_stops_at_the_first_divergence_with_the_reason(page, server_url, screenshot):
    open_app(page, server_url)
    choose(page, "shared-intermediate")
    page.locator("#break-mode").select_option("naive-recursion")
    press_on_graph(page, "x")  # B became the jump to the backward pass (readable)
    expect(page.locator("#break-it")).to_have_attribute("aria-pressed", "true")
    # Placed at the first step where the runs part: step 4 (2 forward, y → q, then q → x too early).
    expect(page.locator("#step-label")).to_have_attribute("data-position", "4")
    why = page.locator("[data-testid=break-why]")
    expect(why).to_contain_text("q sends its gradient on to x after only 1 of its 2 contributions")
    expect(why).to_have_class(re.compile(r"\bat-departure\b"))
    expect(page.locator(".timeline.broken li.current")).to_contain_text("q → x: 6")
    expect(page.locator(".timeline.correct li.current")).to_contain_text("q → x: 12")
    expect(page.locator(".timeline.broken li.parted")).to_have_count(1)
    # Wrong gradients are marked on the graph, with the correct value beside them.
    expect(page.locator("svg.graph g.node.grad-wrong")).to_have_count(2)
    screenshot(page, "check-break-it-first-divergence")
    page.locator("#graph").focus()
    page.keyboard.press("End")
    # The recursion sends x two contributions (6, then 12): the card counts them.
    assert grad_shown(page, "x") == "18  (2/2)" and grad_shown(page, "a") == "13.5  (2/2)"
    expect(card(page, "x").locator("text.check-note")).to_have_text("✗ correct: 12")
    # Playing from the start stops by itself at the divergence.
    page.keyboard.press("Home")
    page.locator("#step-speed").select_option("4")
    page.locator("#step-play").click()
    expect(page.locator("#step-label")).to_have_attribute("data-position", "4", timeout=10_000)
    expect(page.locator("#step-play")).to_have_attribute("aria-pressed", "false")
    page.set_viewport_size({"width": 800, "height": 900})
    expect(why).to_be_visible()
    screenshot(page, "check-break-it-first-divergence-800")
    # Overwrite: q keeps only its last contribution.
    page.locator("#break-mode").select_option("overwrite")
    expect(page.locator("[data-testid=break-why]")).to_contain_text("q's gradient is overwritten")
    page.keyboard.press("x")  # B became the jump to the backward pass (readable)
    expect(page.locator("#break-it")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("svg.graph g.node.grad-wrong")).to_have_count(0)
    page.locator("#graph").focus()
    page.keyboard.press("End")
    assert grad_shown(page, "x") == "12"


def test_break_it_shows_the_apis_message_when_the_recursion_is_too_long(page, server_url, console):
    console.allow("413")
    open_app(page, server_url)
    program = "\n".join(["h = x * w"] + ["h = h * h"] * 40)
    page.locator("#program-editor textarea").fill(program)
    page.locator("#inputs-editor textarea").fill(json.dumps({"x": 1, "w": 1}))
    before = runs(page)
    page.locator("#run").click()
    wait_for_run(page, before)
    page.locator("#break-it").click()
    message = page.locator(".check-message")
    expect(message).to_contain_text("too many steps")
    expect(message).to_contain_text("paths double")
    expect(page.locator("#break-it")).to_have_attribute("aria-pressed", "false")


def test_dragging_a_scalar_input_updates_values_and_gradients_in_place(page, server_url, screenshot):
    open_app(page, server_url)
    choose(page, "shared-intermediate")
    page.locator("#graph").focus()
    page.keyboard.press("End")
    layouts = page.evaluate("window.__chainlens.runs")
    box = card(page, "x").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 25, box["y"] + box["height"] / 2, steps=5)
    # x = 1.5 + 25 × 0.01 = 1.75: y = (x·a)² = 12.25, dy/dx = 2·x·a² = 14, dy/da = 2·x²·a = 12.25.
    page.wait_for_function("window.__chainlens.response.nodes[0].value === 1.75")
    expect(card(page, "x").locator("text.value")).to_have_text("1.75")
    assert grad_shown(page, "x") == "14" and grad_shown(page, "a") == "12.25"
    expect(page.locator("#input-scrubbers .scrubber[data-input=x]")).to_have_text("1.75")
    screenshot(page, "check-drag-in-progress")
    page.set_viewport_size({"width": 800, "height": 900})
    expect(card(page, "x")).to_have_class(re.compile(r"\bdragging\b"))
    screenshot(page, "check-drag-in-progress-800")
    page.mouse.up()
    page.set_viewport_size({"width": 1366, "height": 768})
    assert page.evaluate("window.__chainlens.runs") == layouts, "a drag must not lay the graph out again"
    assert json.loads(page.locator("#inputs-editor textarea").input_value())["x"] == 1.75
    # The field under the inputs editor drags too, and takes ↑/↓ from the keyboard.
    field = page.locator("#input-scrubbers .scrubber[data-input=a]")
    field.focus()
    page.keyboard.press("ArrowUp")
    page.wait_for_function("window.__chainlens.response.nodes[1].value === 2.1")
    assert grad_shown(page, "x") == "15.44" and page.evaluate("window.__chainlens.position") == 6
    # A focused input card takes ↑/↓ too: x = 1.75 → 1.85.
    card(page, "x").focus()
    page.keyboard.press("ArrowUp")
    page.wait_for_function("window.__chainlens.response.nodes[0].value === 1.85")
    timings = page.evaluate("window.__chainlens.dragTimings")
    assert timings and all(t > 0 for t in timings)


def test_a_class_label_drags_in_whole_classes_and_every_step_is_served(page, server_url):
    """A label no gradient reaches moves 1 → 2, never to 1.25, which cross_entropy refuses with a 422."""
    open_app(page, server_url)
    page.locator("#program-editor textarea").fill("loss = F.cross_entropy(z, c)")
    page.locator("#inputs-editor textarea").fill(json.dumps({"z": [0.5, -1.0, 2.0, 0.0], "c": 1}))
    before = runs(page)
    page.locator("#run").click()
    wait_for_run(page, before)
    field = page.locator("#input-scrubbers .scrubber[data-input=c]")
    box = field.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 14, box["y"] + box["height"] / 2, steps=7)
    page.mouse.up()
    # One whole step per ten pixels: c = 2, the loss is logsumexp(z) − z[2].
    page.wait_for_function("window.__chainlens.response.nodes.find((n) => n.label === 'c').value === 2")
    expect(field).to_have_text("2")
    loss = page.evaluate("window.__chainlens.response.nodes[window.__chainlens.response.output].value")
    z = [0.5, -1.0, 2.0, 0.0]
    assert loss == pytest.approx(math.log(sum(math.exp(v) for v in z)) - z[2], rel=1e-12)
    expect(page.locator("#error-box")).to_be_hidden()
    field.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("window.__chainlens.response.nodes.find((n) => n.label === 'c').value === 1")


def test_a_small_tensor_element_is_dragged_from_the_inspector_heatmap(page, server_url, screenshot):
    open_app(page, server_url)
    choose(page, "shared-parameter")
    page.locator("#graph").focus()
    page.keyboard.press("End")
    # By name: the graph opens at a readable 100 % (readable), and b's card may be out of view.
    page.locator("#node-search-input").fill("b")
    page.locator("#node-search-input").press("Enter")
    canvas = page.locator("#inspector .inspect-value canvas")
    box = canvas.bounding_box()
    # b = [1, -2, 0.5]: press on its first cell and drag right by 30 px: b[0] = 1 + 30 × 0.01.
    page.mouse.move(box["x"] + box["width"] / 6, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 6 + 30, box["y"] + box["height"] / 2, steps=4)
    page.wait_for_function("window.__chainlens.response.nodes.find(n => n.name === 'b').value[0] === 1.3")
    screenshot(page, "check-drag-tensor-element")
    page.mouse.up()
    inputs = json.loads(page.locator("#inputs-editor textarea").input_value())
    assert inputs["b"] == [1.3, -2, 0.5]


def test_nudging_an_element_compares_the_change_with_grad_times_h(page, server_url):
    open_app(page, server_url)
    choose(page, "shared-intermediate")
    card(page, "x").click()
    page.locator(".nudge-h").fill("0.001")
    page.locator(".nudge-h").dispatch_event("change")
    page.get_by_role("button", name="Nudge x by plus h").click()
    result = page.locator("[data-testid=nudge-result]")
    # y = (x·a)² at x = 1.501: 9.012004, ΔL = 0.012004; grad · h = 12 · 0.001 = 0.012.
    expect(result).to_contain_text("ΔL = 0.012004")
    expect(result).to_contain_text("grad · h = 0.012")


def test_copy_as_pytorch_and_export_dot(page, server_url):
    open_app(page, server_url)
    choose(page, "shared-intermediate")
    page.locator("#export-pytorch").click()
    page.wait_for_function("window.__chainlens.lastExport && window.__chainlens.lastExport.kind === 'pytorch'")
    script = page.evaluate("window.__chainlens.lastExport.text")
    assert "y = q * q" in script and "out.backward(grad_output)" in script
    with page.expect_download() as download:
        page.locator("#export-dot").click()
    assert download.value.suggested_filename == "chainlens-graph.dot"
    text = page.evaluate("window.__chainlens.lastExport.text")
    assert "grad 12.0000" in text and "rankdir=LR" in text

"""The page's geometry in real headless Chromium (issue 23): Train mode at 1366×768 keeps the graph
at least 45 % of the window high before and after a run, with the Train button and the chart in
view and the explanation scrolling inside its panel; at 800 px the Explore/Train switch leaves the
chart's legend alone and the inputs editor has a height limit; the presentation view (P) shows
the graph and the explanation only, with card text of at least 20 px, and the stepper's keys still
work; the stepper keeps one row at 1366 px; the inspector goes to a node's steps; the small
heatmaps' indices sit on their cells. Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import open_app, pick

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 768}
NARROW = {"width": 800, "height": 900}
RUN_TIMEOUT = 300_000

GEOMETRY = """() => {
  const box = (selector) => { const b = document.querySelector(selector).getBoundingClientRect();
                              return { top: b.top, bottom: b.bottom, left: b.left, right: b.right,
                                       height: b.height, width: b.width }; };
  const train = document.querySelector('#train-start').getBoundingClientRect();
  const hit = document.elementFromPoint(train.left + train.width / 2, train.top + train.height / 2);
  const explain = document.querySelector('#explain');
  return { graph: box('.graph-wrap'), chart: box('.train-chart'), train: box('#train-start'), explain: box('#explain'),
           trainHit: hit ? hit.id : null, scrollY: window.scrollY, scrollTop: document.scrollingElement.scrollTop,
           explainOverflow: getComputedStyle(explain).overflowY, explainTab: explain.tabIndex,
           explainScrolls: explain.scrollHeight > explain.clientHeight };
}"""


def inside(box: dict, viewport: dict) -> bool:
    return (
        box["top"] >= 0
        and box["left"] >= 0
        and box["bottom"] <= viewport["height"]
        and box["right"] <= viewport["width"]
    )


def assert_train_geometry(page: Page, when: str) -> None:
    geometry = page.evaluate(GEOMETRY)
    assert geometry["graph"]["height"] >= 0.45 * WIDE["height"], (
        f"{when}: the graph is {geometry['graph']['height']} px high"
    )
    assert inside(geometry["train"], WIDE) and geometry["trainHit"] == "train-start", f"{when}: {geometry}"
    assert inside(geometry["chart"], WIDE), f"{when}: the chart is off screen: {geometry['chart']}"
    assert geometry["scrollY"] == 0 and geometry["scrollTop"] == 0
    # The explanation is whole on screen and scrolls inside itself, reachable by Tab.
    assert inside(geometry["explain"], WIDE), f"{when}: {geometry['explain']}"
    assert geometry["explainOverflow"] == "auto" and geometry["explainTab"] == 0


def test_train_mode_keeps_the_graph_tall_and_the_controls_in_view_at_1366(page, server_url, screenshot):
    page.set_viewport_size(WIDE)
    open_app(page, server_url)
    pick(page, "train-digits")
    assert_train_geometry(page, "before a run")
    screenshot(page, "layout-train-before-1366")
    page.locator("#train-form [name='steps']").fill("100")
    page.click("#train-start")
    page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=RUN_TIMEOUT)
    expect(page.locator("#train-scrub-label")).to_have_attribute("data-step", "100", timeout=120_000)
    page.locator("#graph").focus()
    page.keyboard.press("End")  # the last backward step: the tallest explanation (heatmaps)
    page.wait_for_timeout(300)
    assert_train_geometry(page, "after a run")
    screenshot(page, "layout-train-after-1366")
    # A long explanation scrolls inside its panel; the keyboard scrolls it once focused.
    explain = page.locator("#explain")
    if page.evaluate(GEOMETRY)["explainScrolls"]:
        explain.focus()
        page.keyboard.press("PageDown")
        page.wait_for_function("document.querySelector('#explain').scrollTop > 0")


def test_at_800_px_the_mode_switch_leaves_the_legend_alone_and_the_inputs_are_capped(page, server_url, screenshot):
    page.set_viewport_size(NARROW)
    open_app(page, server_url)
    pick(page, "train-digits")
    legend = page.locator(".chart-legend")
    legend.scroll_into_view_if_needed()
    boxes = page.evaluate("""() => ['.chart-legend', '.mode-switch', '.train-dock'].map((s) => {
        const b = document.querySelector(s).getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })""")
    (legend_box, switch_box, dock_box) = boxes
    overlaps = lambda a, b: a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]  # noqa: E731
    assert not overlaps(legend_box, switch_box) and not overlaps(dock_box, switch_box), boxes
    centre = page.evaluate("""() => { const b = document.querySelector('.chart-legend').getBoundingClientRect();
        return document.elementFromPoint(b.left + 20, b.top + b.height / 2).closest('.chart-legend') !== null; }""")
    assert centre
    screenshot(page, "layout-train-legend-800")
    # The inputs JSON of the digits network (46 lines) scrolls inside a box of at most 40 % of the window.
    editor = page.locator("#inputs-editor")
    assert editor.bounding_box()["height"] <= 0.4 * NARROW["height"] + 1
    assert (
        page.evaluate("document.querySelector('#inputs-editor textarea').scrollHeight")
        > editor.bounding_box()["height"]
    )


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["1366x768", "800x900"])
def test_presentation_view_shows_graph_and_explanation_large_and_keys_step(page, server_url, screenshot, viewport):
    page.set_viewport_size(viewport)
    open_app(page, server_url)
    pick(page, "regression-mlp")
    page.locator("#graph").focus()
    page.keyboard.press("b")
    page.keyboard.press("p")
    expect(page.locator("body")).to_have_attribute("data-present", "true")
    expect(page.locator("#present")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("window.__chainlens.presentedAt")
    for hidden in ["#run", ".panel.left", ".panel.right", ".stepper", ".graph-footer", "#example-select"]:
        expect(page.locator(hidden).first).to_be_hidden()
    for shown in ["#graph", "#explain"]:
        expect(page.locator(shown)).to_be_visible()
    # Every card text on screen is at least 20 px (its font size times the camera's zoom).
    sizes = page.evaluate("""() => {
        const k = d3zoom();
        function d3zoom() {
          const m = document.querySelector('#graph g.viewport').transform.baseVal.consolidate();
          return m ? m.matrix.a : 1; }
        return [...document.querySelectorAll('#graph g.node text')]
          .map((t) => parseFloat(getComputedStyle(t).fontSize) * k); }""")
    assert sizes and min(sizes) >= 20, sizes
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('#explain .step-title')).fontSize)") >= 20
    # The stepper's keys still step, with the explanation following.
    label = page.locator("#step-label")
    position = int(label.get_attribute("data-position"))
    page.keyboard.press("ArrowRight")
    expect(label).to_have_attribute("data-position", str(position + 1))
    forward_steps = page.evaluate("window.__chainlens.total - window.__chainlens.backwardCount")
    expect(page.locator("#explain .step-title")).to_contain_text(f"step {position + 1 - forward_steps} of")
    page.keyboard.press("ArrowLeft")
    expect(label).to_have_attribute("data-position", str(position))
    screenshot(page, f"present-{viewport['width']}")
    page.keyboard.press("Escape")
    expect(page.locator("body")).to_have_attribute("data-present", "false")
    expect(page.locator(".stepper")).to_be_visible()
    page.click("#present")
    expect(page.locator("body")).to_have_attribute("data-present", "true")
    page.click("#present")
    expect(page.locator("#run")).to_be_visible()


def test_the_stepper_keeps_one_row_at_1366_with_the_longest_labels(page, server_url):
    page.set_viewport_size(WIDE)
    for example in ("regression-mlp", "train-digits"):
        open_app(page, server_url)
        pick(page, example)
        # The widest position a timeline shows: five digits and "backward".
        page.evaluate("""() => { document.querySelector('#step-label').textContent = '/ 99999 · backward';
                                 document.querySelector('#step-input').value = '99999'; }""")
        tops = page.evaluate(
            "() => [...document.querySelectorAll('.stepper > :not(label)')]"
            ".map((e) => Math.round(e.getBoundingClientRect().top"
            " + e.getBoundingClientRect().height / 2))"
        )
        assert max(tops) - min(tops) <= 4, f"{example}: the stepper wraps: {tops}"
        right = page.evaluate("document.querySelector('#step-touching').getBoundingClientRect().right")
        assert right <= page.evaluate("document.querySelector('.stepper').getBoundingClientRect().right")


def test_the_inspector_goes_to_the_steps_of_a_node(page, server_url):
    open_app(page, server_url)
    pick(page, "regression-mlp")
    page.fill("#node-search-input", "h")
    page.keyboard.press("Enter")
    links = page.locator("#inspector .go-to-step")
    expect(links).to_have_count(2)
    response = page.evaluate("window.__chainlens.response")
    h = next(node for node in response["nodes"] if node["label"] == "h")
    forward = next(
        i for i, step in enumerate(response["steps"]) if step["phase"] == "forward" and step["node"] == h["id"]
    )
    gradient = max(
        i for i, step in enumerate(response["steps"]) if step["phase"] == "backward" and step["input"] == h["id"]
    )
    links.nth(0).click()
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(forward + 1))
    expect(page.locator("#explain .step-title")).to_contain_text("compute h")
    page.locator("#inspector .go-to-step").nth(1).click()
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(gradient + 1))
    expect(page.locator("#explain .step-title")).to_contain_text("gradient into h")
    expect(page.locator("#inspector .go-to-step").nth(1)).to_have_attribute("aria-current", "step")


def test_small_heatmaps_in_the_explanation_have_their_indices_on_their_cells(page, server_url, screenshot):
    open_app(page, server_url)
    pick(page, "regression-mlp")
    page.locator("#graph").focus()
    page.keyboard.press("b")
    page.keyboard.press("ArrowRight")
    figures = page.locator("#explain .explain-heatmaps figure")
    expect(figures.first).to_be_visible()
    for index in range(figures.count()):
        placed = figures.nth(index).evaluate("""(figure) => {
            const canvas = figure.querySelector('canvas').getBoundingClientRect();
            const columns = [...figure.querySelectorAll('.indices.columns span')].map((s) => s.getBoundingClientRect());
            const rows = [...figure.querySelectorAll('.indices.rows span')].map((s) => s.getBoundingClientRect());
            return { canvas: [canvas.left, canvas.top, canvas.right, canvas.bottom],
                     columns: columns.map((b) => (b.left + b.right) / 2),
                     rows: rows.map((b) => (b.top + b.bottom) / 2) }; }""")
        left, top, right, bottom = placed["canvas"]
        assert right - left <= 97 and bottom - top <= 45, placed
        assert all(left <= x <= right for x in placed["columns"]), placed
        assert all(top <= y <= bottom for y in placed["rows"]), placed
    screenshot(page, "explain-heatmaps-1366")

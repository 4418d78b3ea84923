"""Issue 15 in real Chromium: text ≥ 11 px and no overlaps at the opening zoom for every example
at 1366×768 and 800×900 (from bounding boxes), nothing off-screen at 800 and 1920 px, the camera
on both ends of the current edge at every step of the recurrence, the keys, a stale graph after
an error, and exports. Screenshots go to test-output/screenshots/readable-*.png."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

SIZES = {"1366x768": {"width": 1366, "height": 768}, "800x900": {"width": 800, "height": 900}}
MIN_TEXT_PX = 11

# Measures the graph as drawn: every card, alias and edge label that is on screen, its text
# sizes on screen (font size × zoom), and the pairs of boxes that overlap.
MEASURE = """() => {
  const svg = document.querySelector('#graph');
  const view = document.querySelector('.graph-canvas').getBoundingClientRect();
  const scale = svg.querySelector('g.viewport').getScreenCTM().a;
  const visible = (r) => r.right > view.left && r.left < view.right && r.bottom > view.top && r.top < view.bottom;
  const boxes = [];
  const small = [];
  const overflowing = [];
  for (const item of svg.querySelectorAll('g.node, g.alias, g.edge-label')) {
    const frame = (item.querySelector('rect.card') || item.querySelector('rect')).getBoundingClientRect();
    if (!visible(frame)) continue;
    const name = item.getAttribute('data-name') || item.getAttribute('data-key');
    boxes.push({ name, kind: item.getAttribute('class'),
                 left: frame.left, top: frame.top, right: frame.right, bottom: frame.bottom });
    for (const text of item.querySelectorAll('text')) {
      if (!text.textContent) continue;
      const px = parseFloat(getComputedStyle(text).fontSize) * scale;
      if (px < 11 - 1e-6) small.push(`${name}: "${text.textContent}" at ${px.toFixed(1)} px`);
      const r = text.getBoundingClientRect();
      if (r.right > frame.right + 0.5 || r.left < frame.left - 0.5) {
        const out = Math.max(r.right - frame.right, frame.left - r.left);
        overflowing.push(`${name}: "${text.textContent}" runs ${out.toFixed(1)} px out`);
      }
    }
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length; i += 1) {
    for (let j = i + 1; j < boxes.length; j += 1) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) {
        overlaps.push(`${a.name} × ${b.name}`);
      }
    }
  }
  return { scale, shown: boxes.length, small, overflowing, overlaps };
}"""

# Everything of the page's chrome inside the window, and the legend off the drawing.
PAGE_FITS = """() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  const pageWidth = document.documentElement.scrollWidth;
  if (pageWidth > width + 1) problems.push(`page is ${pageWidth} px wide in a ${width} px window`);
  for (const selector of ['#run', '#example-select', '#export-svg', '#export-png', '#export-json', '#share',
                          '#step-play', '#step-slider', '#step-speed', '#step-input', '#fit', '#zoom-out',
                          '#node-search-input']) {
    const r = document.querySelector(selector).getBoundingClientRect();
    if (r.left < -0.5 || r.right > width + 0.5 || r.width === 0) {
      problems.push(`${selector} at ${r.left.toFixed(0)}–${r.right.toFixed(0)}`);
    }
  }
  const graph = document.querySelector('.graph-canvas').getBoundingClientRect();
  const legend = document.querySelector('.graph-legend').getBoundingClientRect();
  if (legend.top < graph.bottom - 0.5 && legend.bottom > graph.top + 0.5) problems.push('the legend covers the graph');
  if (graph.height < 300) problems.push(`the graph is only ${graph.height.toFixed(0)} px tall`);
  return problems;
}"""


def examples(server_url: str) -> list[dict]:
    return httpx.get(f"{server_url}/examples").json()["examples"]


def open_example(page: Page, server_url: str, title: str) -> None:
    if not page.url.startswith(server_url):
        page.goto(server_url)
        page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
    before = page.evaluate("window.__chainlens.runs")
    page.select_option("#example-select", label=title)
    page.wait_for_function(f"window.__chainlens.runs > {before}", timeout=20_000)


def paste(page: Page, selector: str, text: str) -> None:
    """Puts long text in an editor as one paste would (Playwright's fill types it through the
    editing machinery, which takes tens of seconds for a few hundred lines)."""
    page.evaluate(
        """([selector, text]) => {
      const box = document.querySelector(selector);
      box.value = text;
      box.dispatchEvent(new Event('input', { bubbles: true }));
    }""",
        [selector, text],
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@pytest.fixture
def page_at(browser, console):
    contexts = []

    def make(size: dict, reduced_motion: str = "reduce") -> Page:
        context = browser.new_context(viewport=size, reduced_motion=reduced_motion)
        contexts.append(context)
        return console.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_every_example_opens_readable_without_overlaps(page_at, server_url, screenshot, size):
    page = page_at(SIZES[size])
    for example in examples(server_url):
        open_example(page, server_url, example["title"])
        assert_readable(page, f"{example['title']} at {size}")
        screenshot(page, f"readable-{slug(example['id'])}-{size}")


def assert_readable(page: Page, where: str) -> None:
    """The graph as opened: cards on screen, no text under 11 px, no overlaps, no text out of its box,
    and the page's chrome in the window."""
    drawn = page.evaluate(MEASURE)
    assert drawn["shown"] >= 2, f"{where}: only {drawn['shown']} cards on screen"
    assert drawn["small"] == [], f"{where}: text under {MIN_TEXT_PX} px: {drawn['small'][:5]}"
    assert drawn["overlaps"] == [], f"{where}: overlapping boxes: {drawn['overlaps'][:5]}"
    assert drawn["overflowing"] == [], f"{where}: text out of its box: {drawn['overflowing'][:5]}"
    assert page.evaluate(PAGE_FITS) == [], where


@pytest.mark.parametrize("size", [{"width": 1920, "height": 1080}, {"width": 800, "height": 900}])
def test_the_page_fits_wide_and_narrow_windows_through_the_steps(page_at, server_url, screenshot, size):
    page = page_at(size)
    open_example(page, server_url, "Regression MLP with MSE")
    page.locator("#graph").focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    drawn = page.evaluate(MEASURE)
    assert drawn["overlaps"] == [], drawn["overlaps"]
    assert drawn["overflowing"] == [], drawn["overflowing"]
    assert page.evaluate(PAGE_FITS) == []
    screenshot(page, f"readable-regression-step8-{size['width']}x{size['height']}")


# Both ends of the current edge (backward) or of every edge feeding the current node (forward),
# in screen coordinates, and whether each lies inside the graph's view.
EDGE_ENDS = """() => {
  const svg = document.querySelector('#graph');
  const view = document.querySelector('.graph-canvas').getBoundingClientRect();
  const paths = [...svg.querySelectorAll('path.edge.current, path.edge.feeding')];
  const ends = [];
  for (const path of paths) {
    const matrix = path.getScreenCTM();
    for (const at of [0, path.getTotalLength()]) {
      const p = path.getPointAtLength(at);
      const x = matrix.a * p.x + matrix.c * p.y + matrix.e;
      const y = matrix.b * p.x + matrix.d * p.y + matrix.f;
      ends.push({ key: path.dataset.key,
                  inside: x >= view.left && x <= view.right && y >= view.top && y <= view.bottom });
    }
  }
  return ends;
}"""


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_the_camera_shows_both_ends_of_every_step_of_the_recurrence(page_at, server_url, screenshot, size, motion):
    page = page_at(SIZES[size], reduced_motion=motion)
    open_example(page, server_url, "A shared weight through time")
    total = page.evaluate("window.__chainlens.total")
    page.locator("#graph").focus()
    for position in range(1, total + 1):
        page.keyboard.press("ArrowRight")
        expect(page.locator("#step-label")).to_have_attribute("data-position", str(position))
        if motion == "no-preference":
            page.wait_for_timeout(330)  # the camera glides for 260 ms
        ends = page.evaluate(EDGE_ENDS)
        assert ends, f"step {position}: no current or feeding edge drawn"
        assert all(end["inside"] for end in ends), f"step {position} at {size}: ends off-screen {ends}"
        if position == 12:
            screenshot(page, f"readable-recurrence-backward-{size}-{motion}")
    expect(page.locator("#step-label")).to_contain_text("done")


def test_names_are_unambiguous_in_graph_explanation_and_inspector(page_at, server_url):
    page = page_at(SIZES["1366x768"])
    open_example(page, server_url, "A shared weight through time")
    names = page.evaluate("window.__chainlens.response.nodes.map((node) => node.label)")
    assert {"h₁", "h₂", "h₃", "h₁ * w", "h₂ * w + b"} <= set(names)
    assert len(names) == len(set(names)), f"two nodes share a name: {names}"
    drawn = page.locator("svg.graph g.node").evaluate_all("cards => cards.map((card) => card.dataset.name)")
    assert drawn and set(drawn) <= set(names)
    page.locator("#graph").focus()
    page.keyboard.press("End")
    text = page.locator("#explain .math").first.get_attribute("data-text")
    assert "∂h₃/∂" in text and "∂h/∂h" not in text, text
    page.fill("#node-search-input", "h₂")
    page.press("#node-search-input", "Enter")
    expect(page.locator("#inspector h3 .name")).to_have_text("h₂")


def test_keys_do_what_the_buttons_say(page_at, server_url):
    page = page_at(SIZES["1366x768"])
    open_example(page, server_url, "The chain rule")
    play = page.locator("#step-play")
    runs = page.evaluate("window.__chainlens.runs")
    # After clicking Run, Space plays (it does not run the program again).
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {runs}")
    runs = page.evaluate("window.__chainlens.runs")
    page.keyboard.press(" ")
    expect(play).to_have_attribute("aria-pressed", "true")
    page.keyboard.press(" ")
    expect(play).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__chainlens.runs") == runs
    # After clicking Next, Space plays too (it does not step again).
    page.locator("#step-next").click()
    position = page.evaluate("window.__chainlens.position")
    page.keyboard.press(" ")
    expect(play).to_have_attribute("aria-pressed", "true")
    page.keyboard.press(" ")
    expect(play).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__chainlens.position") in (position, position + 1)
    # Escape closes the inspector.
    page.locator("svg.graph g.node[data-name='q']").click()
    expect(page.locator("#inspector h3 .name")).to_have_text("q")
    page.keyboard.press("Escape")
    expect(page.locator("#inspector .hint")).to_be_visible()
    # B jumps to the backward pass; N to the next step touching the selected node.
    page.keyboard.press("b")
    forward = page.evaluate("window.__chainlens.total - window.__chainlens.backwardCount")
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(forward + 1))


def test_skip_links_and_tab_do_not_walk_every_node(page_at, server_url):
    page = page_at(SIZES["1366x768"])
    page.goto(server_url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready")
    # The first Tab on a fresh page reaches the skip links.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the graph")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to the stepper")
    page.keyboard.press("Enter")
    expect(page.locator("#step-play")).to_be_focused()
    program = "\n".join(["h = tanh(x * w0 + b0)"] + [f"h = tanh(h * w{i} + b{i})" for i in range(1, 20)])
    inputs = {"x": 0.5, **{f"w{i}": 0.5 for i in range(20)}, **{f"b{i}": 0.1 for i in range(20)}}
    paste(page, "#program-editor textarea", program)
    paste(page, "#inputs-editor textarea", str(inputs).replace("'", '"'))
    runs = page.evaluate("window.__chainlens.runs")
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {runs}")
    assert page.evaluate("window.__chainlens.nodeCount") > 90
    # From the graph, the stepper is a few Tab presses away, not one per node.
    page.locator("#graph").focus()
    for presses in range(1, 12):  # noqa: B007  # the count is read after the loop
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.stepper') !== null"):
            break
    assert page.evaluate("document.activeElement.closest('.stepper') !== null"), "Tab never reached the stepper"
    assert presses <= 8, presses


def test_a_stale_graph_is_marked_after_an_error_with_a_plain_title(page_at, server_url, console, screenshot):
    console.allow("Failed to load resource")  # Chromium logs every 4xx answer; this one is expected
    page = page_at(SIZES["1366x768"])
    open_example(page, server_url, "The chain rule")
    expect(page.locator(".graph-wrap")).not_to_have_class(re.compile(r"\bstale\b"))
    page.locator("#program-editor textarea").fill("q = x + y\nf = q * (z")
    page.locator("#run").click()
    box = page.locator("#error-box")
    expect(box).to_be_visible()
    expect(page.locator(".graph-wrap")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#stale-note")).to_be_visible()
    title = box.locator("strong").text_content()
    assert title == "The program has a syntax error", title
    assert box.text_content().lower().count("line 2") == 1, box.text_content()
    screenshot(page, "readable-stale-after-error")
    # Bad JSON: the title says which box, in words.
    page.locator("#inputs-editor textarea").fill('{"x": -2, "y": 5, "z": }')
    page.locator("#run").click()
    expect(box.locator("strong")).to_have_text("The inputs are not valid JSON")
    assert box.text_content().lower().count("line 1") <= 1, box.text_content()
    assert box.text_content().count("The inputs are not valid JSON") == 1, box.text_content()
    page.locator("#program-editor textarea").fill("q = x + y\nf = q * z")
    page.locator("#inputs-editor textarea").fill('{"x": -2, "y": 5, "z": -4}')
    runs = page.evaluate("window.__chainlens.runs")
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {runs}")
    expect(page.locator(".graph-wrap")).not_to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#stale-note")).to_be_hidden()


def test_exports_carry_only_graph_styles_and_big_pngs_scale_or_explain(page_at, server_url):
    page = page_at(SIZES["1366x768"])
    open_example(page, server_url, "The chain rule")
    with page.expect_download() as download:
        page.locator("#export-svg").click()
    with open(download.value.path(), encoding="utf-8") as file:
        svg = file.read()
    style = re.search(r"<style>(.*?)</style>", svg, re.S).group(1)
    rules = [rule.strip() for rule in re.findall(r"([^{}]+)\{", style)]
    assert rules and all(rule.startswith(("svg.graph", "@keyframes chainlens-", "to", "from")) for rule in rules), (
        rules[:8]
    )
    assert "graph-wrap" not in style and "katex" not in style
    assert len(re.findall(r'class="node[ "]', svg)) == page.evaluate("window.__chainlens.response.nodes.length")
    # A long chain: the quick layout, tens of thousands of px wide.
    program = "\n".join(["h = tanh(x * w)"] + ["h = tanh(h * w)"] * 399)
    paste(page, "#program-editor textarea", program)
    page.locator("#inputs-editor textarea").fill('{"x": 0.5, "w": 0.9}')
    runs = page.evaluate("window.__chainlens.runs")
    page.locator("#run").click()
    page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=60_000)
    width = page.evaluate("window.__chainlens.layoutSize.width")
    # Only the cards near the view exist in the page.
    assert page.evaluate("window.__chainlens.drawnCount") < 60
    assert width > 30_000
    page.locator("#export-png").click()
    expect(page.locator("#graph-status")).to_contain_text(re.compile("PNG"), timeout=30_000)

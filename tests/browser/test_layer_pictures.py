"""Issue 20's remaining pictures in real Chromium: the transformer block and the small convolution
open readable at 1366×768 and 800×900 (text ≥ 11 px, no overlaps, the page fits: test_readable's
measures); the block's multi-head tensors draw one small heatmap per head, labelled head 0, head 1,
in the inspector and in the explanation; a small convolution's backward steps work out every
gradient entry with the kernel and the patch in numbers. Screenshots go to
test-output/screenshots/layers-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_readable import SIZES, assert_readable, page_at  # noqa: F401 - page_at is a fixture

pytestmark = pytest.mark.browser


def open_example(page: Page, url: str, example_id: str) -> None:
    if not page.url.startswith(url):
        page.goto(url)
        page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=30_000)
    before = page.evaluate("window.__chainlens.runs")
    page.select_option("#example-select", example_id)
    page.wait_for_function(f"window.__chainlens.runs > {before}", timeout=60_000)
    page.wait_for_timeout(350)  # the previous example's cards move or fade out


def seek(page: Page, position: int) -> None:
    page.evaluate("(position) => window.__chainlens.seek(position)", position)
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(position))


def inspect(page: Page, label: str) -> None:
    page.fill("#node-search-input", label)
    page.locator("#node-search-input").press("Enter")
    expect(page.locator("#inspector .inspector-head .name")).to_have_text(label)


def backward_step(page: Page, consumer_op: str, input_label: str) -> int:
    """The stepper position of the backward step from a `consumer_op` node into `input_label`."""
    return page.evaluate(
        """([op, label]) => {
            const r = window.__chainlens.response;
            return r.steps.findIndex((s) => s.phase === 'backward' && r.nodes[s.node].op === op
                                             && r.nodes[s.input].label === label) + 1;
        }""",
        [consumer_op, input_label],
    )


def assert_two_heads_in_the_inspector(page: Page, section: str, items: int) -> Locator:
    """The inspector's `section` (value or grad) draws one map per head, heads 0 and 1 side by side, a row per
    batch item, every map inside the panel; answers the grid."""
    maps = page.locator(f"#inspector .inspect-{section} .head-maps")
    expect(maps).to_have_count(1)
    expect(maps.locator(".head-label")).to_have_text(["head 0", "head 1"])
    expect(maps.locator(".item-label")).to_have_text([f"item {item}" for item in range(items)])
    expect(maps.locator("canvas")).to_have_count(2 * items)
    boxes = maps.locator("canvas").evaluate_all(
        "(all) => all.map((c) => c.getBoundingClientRect()).map((r) => [r.left, r.top, r.right, r.bottom])"
    )
    panel = page.locator("#inspector").bounding_box()
    assert all(panel["x"] - 0.5 <= b[0] and b[2] <= panel["x"] + panel["width"] + 0.5 for b in boxes), boxes
    assert boxes[0][1] == boxes[1][1] and boxes[0][2] < boxes[1][0], "head 0 and head 1 side by side"
    return maps


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("example_id", ["train-transformer-block", "small-convolution"])
def test_the_new_examples_open_readable(page_at, server_url, screenshot, size, example_id):  # noqa: F811
    page = page_at(SIZES[size])
    open_example(page, server_url, example_id)
    assert_readable(page, f"{example_id} at {size}")
    expect(page.locator("#example-description")).to_contain_text(
        "nanoGPT" if example_id.startswith("train") else "kernel weight's gradient"
    )
    screenshot(page, f"layers-{example_id}-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_multi_head_tensors_draw_one_map_per_head(page_at, server_url, screenshot, size):  # noqa: F811
    page = page_at(SIZES[size])
    open_example(page, server_url, "train-transformer-block")
    seek(page, page.evaluate("window.__chainlens.total"))
    # q after .view(B, T, nh, hs).transpose(1, 2): (7, 2, 4, 4), 7 windows and 2 heads
    label = page.evaluate(
        """() => window.__chainlens.response.nodes.find((n) => n.op === 'transpose' && n.shape.length === 4
                                                              && n.sourceLabel === 'q').label"""
    )
    inspect(page, label)
    for section in ("value", "grad"):
        maps = assert_two_heads_in_the_inspector(page, section, items=4)
        expect(maps.locator(".axes")).to_contain_text("batch items 0–3 of 7")
    canvas = page.locator("#inspector .inspect-value .head-maps canvas").nth(1)
    canvas.hover(position={"x": 2, "y": 2})
    expect(page.locator("#inspector .inspect-value .head-maps .readout")).to_contain_text(f"{label}[0, 1, 0, 0] = ")
    expect(canvas).to_have_attribute("aria-label", f"{label}, head 1, batch item 0: heatmap of a 4×4 slice")
    page.locator("#inspector .inspect-value .head-maps").scroll_into_view_if_needed()
    screenshot(page, f"layers-heads-inspector-{size}")

    # the backward step from the attention into q: its 4-D terms, one small map per head
    seek(page, backward_step(page, "scaled_dot_product_attention", label))
    maps = page.locator("#explain .explain-heatmaps .head-maps")
    expect(maps.first).to_be_visible()
    expect(maps.first.locator(".head-label")).to_have_text(["head 0", "head 1"])
    screenshot(page, f"layers-heads-explain-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_small_convolution_backward_step_shows_kernel_patch_and_sum(page_at, server_url, screenshot, size):  # noqa: F811
    page = page_at(SIZES[size])
    open_example(page, server_url, "small-convolution")
    seek(page, backward_step(page, "conv2d", "K"))
    explain = page.locator("#explain")
    # K[0, 0, 0, 0] met the top-left 3×3 patch of x: ∂L/∂out ⊙ patch, summed
    expect(explain).to_contain_text("∂loss/∂K[0, 0, 0, 0] = Σ ∂loss/∂out[0, 0] ⊙ patch")
    expect(explain.locator(".math:not(:has(.katex))")).to_have_count(0)  # every line typeset
    # the worked entries sit below the heatmaps, across the panel, each line whole in it
    explain.locator(".math.wide").nth(2).scroll_into_view_if_needed()
    panel = explain.bounding_box()
    for line in explain.locator(".math.wide").all():
        assert line.evaluate("(math) => math.scrollWidth <= math.clientWidth + 1"), line.inner_text()
        assert line.bounding_box()["width"] > 0.9 * panel["width"] - 40
    screenshot(page, f"layers-conv-weight-{size}")
    seek(page, backward_step(page, "conv2d", "x"))
    expect(explain).to_contain_text("∂loss/∂x[0, 0, 1, 1] = ")
    expect(explain).to_contain_text("… 7 more entries, each made the same way")
    explain.locator(".math.wide").nth(4).scroll_into_view_if_needed()
    for line in explain.locator(".math.wide").all():
        assert line.evaluate("(math) => math.scrollWidth <= math.clientWidth + 1"), line.inner_text()
    box = explain.bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, box
    screenshot(page, f"layers-conv-input-{size}")


def test_the_opened_attention_shows_each_heads_causal_weights(page_at, server_url, screenshot):  # noqa: F811
    page = page_at(SIZES["1366x768"])
    open_example(page, server_url, "train-transformer-block")
    before = page.evaluate("window.__chainlens.runs")
    page.get_by_role("button", name="Open all").click()
    page.wait_for_function(f"window.__chainlens.runs > {before}", timeout=60_000)
    seek(page, page.evaluate("window.__chainlens.total"))
    inspect(page, "weights")  # softmax(scores + causal mask) inside the attention: (7, 2, 4, 4)
    maps = page.locator("#inspector .inspect-value .head-maps")
    expect(maps.locator(".head-label")).to_have_text(["head 0", "head 1"])
    # each head's weights: row t attends to positions 0…t only, and each row sums to 1
    weights = page.evaluate(
        "() => window.__chainlens.response.nodes.find((n) => n.label === 'weights' && n.op === 'div').value"
    )
    for item in weights:
        for head in item:
            for t, row in enumerate(head):
                assert all(w == 0 for w in row[t + 1 :]) and abs(sum(row) - 1) < 1e-12, row
    maps.scroll_into_view_if_needed()
    screenshot(page, "layers-heads-weights-1366x768")


def test_the_transformer_block_trains_from_the_train_tab(page_at, server_url, screenshot):  # noqa: F811
    page = page_at(SIZES["1366x768"])
    open_example(page, server_url, "train-transformer-block")
    expect(page.locator("#mode-train")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#train-form [name='optimizer']")).to_have_value("adam")
    expect(page.locator("#train-form [name='steps']")).to_have_value("300")
    page.click("#train-start")
    page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=120_000)
    assert page.evaluate("window.__chainlens.train.state") == "done"
    records = page.evaluate("window.__chainlens.train.recordList")
    assert records[-1]["step"] == 300
    first, last = records[0]["losses"][0], records[-1]["losses"][-1]
    assert first > 4 and last < 0.2, (first, last)
    done = page.evaluate("window.__chainlens.train.done")
    assert done["eval"]["accuracy"] >= 0.85, done["eval"]  # 25 of the 28 next characters
    expect(page.locator("#train-status")).to_contain_text("Done: 300 steps")
    screenshot(page, "layers-transformer-trained-1366x768")

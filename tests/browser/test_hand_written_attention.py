"""Attention written out by hand (nanoGPT's `att = (q @ k.transpose(-2, -1)) * …; masked_fill; softmax; @ v`)
in real Chromium, at 1366×768 and 800×900: the menu's example opens readable; its scores, mask and weights of
shape (B, heads, T, T) draw one small map per head in the inspector and in the explanation; the steps name q,
k, v, the scores, the mask and the weights; axe-core finds nothing with those maps on screen. Screenshots go to
test-output/screenshots/hand-attention-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_a11y import assert_no_violations
from tests.browser.test_layer_pictures import assert_two_heads_in_the_inspector, inspect, open_example, seek
from tests.browser.test_readable import SIZES, assert_readable, page_at  # noqa: F401 - page_at is a fixture

pytestmark = pytest.mark.browser

EXAMPLE = "hand-written-attention"


def step_of(page: Page, phase: str, op: str, input_op: str | None = None) -> int:
    """The stepper position of the first `phase` step on an `op` node (from an `input_op` one, backward)."""
    return page.evaluate(
        """([phase, op, inputOp]) => {
            const r = window.__chainlens.response;
            return r.steps.findIndex((s) => s.phase === phase && r.nodes[s.node].op === op
                && (inputOp === null || r.nodes[s.input].op === inputOp)) + 1;
        }""",
        [phase, op, input_op],
    )


def step_into(page: Page, label: str) -> int:
    """The stepper position of the backward step from a matmul into the node shown as `label`."""
    return page.evaluate(
        """(label) => {
            const r = window.__chainlens.response;
            return r.steps.findIndex((s) => s.phase === 'backward' && r.nodes[s.node].op === 'matmul'
                && r.nodes[s.input].label === label) + 1;
        }""",
        label,
    )


def notes(page: Page) -> list[str]:
    return page.locator("#explain li").all_inner_texts()


@pytest.mark.parametrize("size", list(SIZES))
def test_hand_written_attention_reads_head_by_head(page_at, server_url, screenshot, size):  # noqa: F811
    page = page_at(SIZES[size])
    open_example(page, server_url, EXAMPLE)
    assert_readable(page, f"{EXAMPLE} at {size}")
    expect(page.locator("#example-description")).to_contain_text("one small map per head")
    screenshot(page, f"hand-attention-open-{size}")

    # the mask's forward step: which keys it hides, and why the weight there is 0
    seek(page, step_of(page, "forward", "masked_fill"))
    expect(page.locator("#explain")).to_contain_text("the mask: where mask[:, :, :T, :T] == 0 holds (every key after")
    page.locator("#explain").scroll_into_view_if_needed()
    screenshot(page, f"hand-attention-mask-step-{size}")

    # the masked scores in the inspector: (2, 2, 4, 4), a map per head, a row per batch item, -∞ above the diagonal
    seek(page, page.evaluate("window.__chainlens.total"))
    inspect(page, "att₂")
    for section in ("value", "grad"):
        assert_two_heads_in_the_inspector(page, section, items=2)
    canvas = page.locator("#inspector .inspect-value .head-maps canvas").nth(1)
    canvas.hover(position={"x": canvas.bounding_box()["width"] - 2, "y": 2})  # head 1, query 0, the last key
    expect(page.locator("#inspector .inspect-value .head-maps .readout")).to_have_text(
        "att₂[0, 1, 0, 3] = -∞ (head 1, batch item 0)"
    )
    page.locator("#inspector .inspect-value .head-maps").scroll_into_view_if_needed()
    screenshot(page, f"hand-attention-inspector-{size}")

    # the softmax's backward step: its (2, 2, 4, 4) terms one map per head, the note naming the mask
    seek(page, step_of(page, "backward", "softmax", "masked_fill"))
    maps = page.locator("#explain .explain-heatmaps .head-maps")
    expect(maps.first).to_be_visible()
    assert maps.count() >= 2
    expect(maps.first.locator(".head-label")).to_have_text(["head 0", "head 1"])
    assert any("a masked key had weight 0, so its score gets gradient 0" in note for note in notes(page)), notes(page)
    width = page.evaluate("document.documentElement.clientWidth")
    for box in maps.locator("canvas").evaluate_all("(all) => all.map((c) => c.getBoundingClientRect().right)"):
        assert box <= width + 0.5, box
    maps.first.scroll_into_view_if_needed()
    screenshot(page, f"hand-attention-softmax-step-{size}")
    assert_no_violations(page, f"the hand-written attention's softmax step at {size}")

    # the output's step into v, and the scores' step into q: each names what its gradient is made of
    seek(page, step_into(page, "v₂"))
    expect(page.locator("#explain")).to_contain_text("into the values: ∂loss/∂v₂ = att₃ᵀ @ ∂loss/∂y₁")
    seek(page, step_into(page, "q₂"))
    expect(page.locator("#explain")).to_contain_text("into the queries: ∂loss/∂q₂ = ")
    page.locator("#explain").scroll_into_view_if_needed()
    screenshot(page, f"hand-attention-query-step-{size}")

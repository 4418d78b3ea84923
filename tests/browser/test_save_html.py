"""chainlens.save_html: one file, opened from disk in Chromium with no server and no network, shows
the saved graph and steps through the whole timeline with the numbers the page shows."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from playwright.sync_api import Locator, Page, expect

import chainlens
from app.examples import EXAMPLES
from tests.browser.offline import open_from_disk

pytestmark = pytest.mark.browser


def _card(page: Page, label: str) -> Locator:
    return page.locator(f"svg.graph g.node[data-label='{label}']")


def test_the_chain_rule_steps_to_the_end_of_the_backward_pass_from_disk(page: Page, tmp_path: Path) -> None:
    path = chainlens.save_html("q = x + y\nf = q * z", tmp_path / "chain.html", x=-2, y=5, z=-4)
    left = open_from_disk(page, path)
    expect(page.locator("#saved-program")).to_have_text("q = x + y\nf = q * z")
    expect(page.locator("svg.graph g.node")).to_have_count(5)
    page.locator("#graph").focus()
    page.keyboard.press("End")
    expect(page.locator("#step-label")).to_have_attribute("data-position", "6")
    assert [_card(page, label).locator("text.grad").text_content() for label in ("x", "y", "z")] == ["-4", "-4", "3"]
    assert left == []


def test_the_regression_mlp_from_disk_shows_the_same_numbers_as_the_result(page: Page, tmp_path: Path, console) -> None:
    example = next(e for e in EXAMPLES if e["id"] == "regression-mlp")
    result = chainlens.backward(example["expression"], example["inputs"])
    path = chainlens.save_html(result, tmp_path / "mlp.html")
    left = open_from_disk(page, path)
    steps = len(result.steps)
    page.locator("#step-last").click()
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(steps))
    _card(page, "loss").focus()
    page.keyboard.press("Enter")  # inspect it
    shown = page.locator("#inspector .big-number.value").text_content() or ""
    assert float(shown) == pytest.approx(result.value, rel=1e-3)
    # A tool that needs computing says that it needs chainlens running.
    console.allow("503")
    page.locator("#check-gradients").click()
    expect(page.locator("body")).to_contain_text("needs chainlens running")
    assert left == []


def test_a_from_torch_result_keeps_its_module_boxes(page: Page, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    result = chainlens.from_torch(model, torch.randn(2, 3), loss=lambda out: (out**2).mean())
    path = chainlens.save_html(result, tmp_path / "torch.html")
    left = open_from_disk(page, path)
    expect(page.locator("svg.graph g.node[data-label='_0_weight']")).to_have_count(1)
    page.locator("#step-last").click()
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(len(result.steps)))
    assert left == []

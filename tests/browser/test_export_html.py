"""The page's Export → HTML: the file it downloads (POST /graph/html, chainlens.save_html's page),
opened from disk with no server and no network, shows the same graph and steps to the last
backward step with the same numbers and the same explanation as the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import chainlens
from app.examples import EXAMPLES
from tests.browser.offline import open_from_disk

pytestmark = pytest.mark.browser

# Every node's value and gradient as the viewer holds them, and the last step's explanation.
NUMBERS = "JSON.stringify(window.__chainlens.response.nodes.map((node) => [node.label, node.value, node.grad]))"


def _last_step(page: Page) -> tuple[str, str, str]:
    page.locator("#graph").focus()
    page.keyboard.press("End")
    total = str(page.evaluate("window.__chainlens.total"))
    expect(page.locator("#step-label")).to_have_attribute("data-position", total)
    expect(page.locator("#step-label")).to_have_attribute("data-phase", "done")
    return total, page.evaluate(NUMBERS), page.locator("#explain .math").first.get_attribute("data-text") or ""


def test_export_html_opens_from_disk_at_the_same_numbers_with_no_network(
    page: Page, new_page, server_url: str, tmp_path: Path
) -> None:
    page.goto(server_url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
    runs = page.evaluate("window.__chainlens.runs")
    page.locator("#example-select").select_option("regression-mlp")
    page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=20_000)
    expected = _last_step(page)
    mlp = next(example for example in EXAMPLES if example["id"] == "regression-mlp")
    assert int(expected[0]) == len(chainlens.backward(mlp["expression"], mlp["inputs"]).steps)

    with page.expect_download() as download:
        page.locator("#export-html").click()
    assert download.value.suggested_filename == "chainlens-graph.html"
    path = tmp_path / "exported.html"
    download.value.save_as(path)

    opened = new_page()
    left = open_from_disk(opened, path)
    expect(opened.locator("#saved-program")).to_have_text(page.locator("#program-editor textarea").input_value())
    assert _last_step(opened) == expected
    assert left == []


def test_export_html_of_a_program_with_an_error_shows_the_error(page: Page, server_url: str, console) -> None:
    page.goto(server_url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=20_000)
    page.locator("#program-editor textarea").fill("f = x +")
    console.allow("422")
    page.locator("#export-html").click()
    expect(page.locator("#error-box")).to_be_visible()
    expect(page.locator("#error-box")).to_contain_text("line 1")

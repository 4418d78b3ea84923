"""The page's Export → HTML: the file it downloads (POST /graph/html, chainlens.save_html's page),
opened from disk with no server and no network, shows the same graph and steps to the last
backward step with the same numbers and the same explanation as the page. In Train mode it saves the
training step in view (POST /train/html): the scrubbed step's graph, with that step's loss."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

import chainlens
from app.examples import EXAMPLES
from tests.browser.offline import open_from_disk
from tests.browser.pages import open_app, pick
from tests.browser.test_a11y import assert_no_violations

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


def _export(page: Page, tmp_path: Path, name: str) -> Path:
    with page.expect_download() as download:
        page.locator("#export-html").click()
    assert download.value.suggested_filename == name
    path = tmp_path / name
    download.value.save_as(path)
    return path


def test_export_html_in_train_mode_saves_the_scrubbed_step(
    page: Page, new_page, server_url: str, tmp_path: Path
) -> None:
    open_app(page, server_url)
    pick(page, "train-regression")
    expect(page.locator("#mode-train")).to_have_attribute("aria-pressed", "true")
    # Before a run: the first batch, step 1 of the run the form describes.
    first = _export(page, tmp_path, "chainlens-step-1.html")
    assert page.evaluate("window.__chainlens.lastExport.at") == 1

    page.locator("#train-form [name='steps']").fill("200")
    page.locator("#train-form [name='record_every']").fill("20")
    page.click("#train-start")
    page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=300_000)
    expect(page.locator("#train-scrub-label")).to_have_attribute("data-step", "200", timeout=120_000)
    # Scrubber positions: step 1, then the recorded steps 20, 40, …: position 3 is step 60.
    page.locator("#train-scrub").evaluate("s => { s.value = '3'; s.dispatchEvent(new Event('input')); }")
    expect(page.locator("#train-scrub-label")).to_have_attribute("data-step", "60", timeout=120_000)
    records = page.evaluate("window.__chainlens.train.recordList")
    loss_60 = records[2]["losses"][-1]  # the stream's 60th loss
    shown = page.evaluate("window.__chainlens.response")
    assert shown["nodes"][shown["output"]]["value"] == loss_60
    path = _export(page, tmp_path, "chainlens-step-60.html")

    opened = new_page()
    left = open_from_disk(opened, path)
    saved = opened.evaluate("window.__chainlens.response")
    assert saved["nodes"][saved["output"]]["value"] == loss_60
    assert [node["value"] for node in saved["nodes"]] == [node["value"] for node in shown["nodes"]]
    assert [node["grad"] for node in saved["nodes"]] == [node["grad"] for node in shown["nodes"]]
    expect(opened.locator("#saved-program")).to_have_text(page.locator("#program-editor textarea").input_value())
    total = str(len(shown["steps"]))
    opened.locator("#graph").focus()
    opened.keyboard.press("End")
    expect(opened.locator("#step-label")).to_have_attribute("data-position", total)
    assert left == []
    assert_no_violations(opened, "a saved training step")

    # Step 1's file is another graph: the initial parameters on the first batch.
    before = new_page()
    open_from_disk(before, first)
    step_1 = before.evaluate("window.__chainlens.response")
    assert step_1["nodes"][step_1["output"]]["value"] == records[0]["losses"][0]
    assert step_1["nodes"][step_1["output"]]["value"] != loss_60

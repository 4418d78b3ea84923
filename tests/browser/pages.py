"""The page opened and an example picked, as the browser tests that walk the menu do."""

from __future__ import annotations

from playwright.sync_api import Page


def open_app(page: Page, url: str) -> None:
    """Opens the page and waits until it and its Train mode are ready."""
    page.goto(url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready && window.__chainlens.train", timeout=30_000)


def pick(page: Page, example_id: str) -> None:
    """Picks an example from the menu and waits for its run."""
    runs = page.evaluate("window.__chainlens.runs")
    page.select_option("#example-select", example_id)
    page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=60_000)

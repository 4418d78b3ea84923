"""Browser-test fixtures: a real uvicorn server on a free port, headless Chromium via Playwright,
and a page that fails the test on any console error or uncaught exception.

Chromium: $CHAINLENS_CHROMIUM, else /usr/bin/chromium, else Playwright's own download.
The page's assets must be built (`npm run build`, which `make test` runs first).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from serving import serving

# One launch of Chromium for the browser tests and the UI benchmarks (bench/browser.py).
from bench.browser import CHROMIUM_ARGS, VIEWPORT, chromium_path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def server_url():
    if not (ROOT / "static" / "dist" / "app.js").is_file():
        pytest.fail("the UI is not built: run `npm ci && npm run build` (make test does it)")
    with serving(ROOT) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleWatch:
    """Every console error and uncaught page exception of the pages it watches."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def allow(self, text: str) -> None:
        """Expects a console error containing `text`: Chromium logs every 4xx response as one,
        so a test that provokes an API error on purpose says so."""
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        return [error for error in self.errors if not any(text in error for text in self.allowed)]

    def watch(self, page: Page) -> Page:
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return page


@pytest.fixture
def console():
    watch = ConsoleWatch()
    yield watch
    assert watch.unexpected() == [], f"console errors: {watch.unexpected()}"


@pytest.fixture
def new_page(browser, console):
    """Opens pages in one fresh context per test; console errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT)
    yield lambda: console.watch(context.new_page())
    context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save

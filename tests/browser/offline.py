"""Opening a saved HTML file from disk with the network shut: what it asks of anything outside."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, Request


def open_from_disk(page: Page, path: Path) -> list[str]:
    """Opens the file and waits for its viewer; answers the list (filled as the page runs) of every
    request that leaves it: anything but the file itself and data: and blob: URLs, which never reach
    a network. Any http(s) request is aborted as well."""
    left: list[str] = []

    def record(request: Request) -> None:
        if not request.url.startswith(("data:", "blob:")) and request.url != path.as_uri():
            left.append(request.url)

    page.on("request", record)
    page.context.route(re.compile(r"^https?://"), lambda route: route.abort())
    page.goto(path.as_uri())
    page.wait_for_function("window.__chainlens && window.__chainlens.ready", timeout=30_000)
    return left

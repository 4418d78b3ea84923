"""The UI benchmarks' browser: the app served from this tree (bench/server.py) and opened in
headless Chromium at 1366×768, the same launch for every bench/ui_*.py script.

Chromium: $CHAINLENS_CHROMIUM, else /usr/bin/chromium, else Playwright's own download.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from bench.server import running_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
READY = "window.__chainlens && window.__chainlens.ready"

# One step (→) to a painted frame: the key press's script, then the next frame's style, layout
# and paint (from that frame's requestAnimationFrame to a message posted from it); the idle wait
# for the display's frame in between is not the step's cost. Shared by bench/ui_layout.py and
# tests/browser/test_big.py.
STEP_COST = """async () => {
  const t0 = performance.now();
  document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
  const t1 = performance.now();
  const t2 = await new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())));
  const t3 = await new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now());
    channel.port2.postMessage(0);
  });
  return (t1 - t0) + (t3 - t2);
}"""


def main_thread_ms(browser: Browser, page: Page, action: Callable[[], object]) -> float:
    """Milliseconds of the page's main thread spent on tasks while `action()` runs, by the thread
    time of a Chrome trace: what the work costs a core, whatever else runs on the machine (on a
    shared machine the wall-clock figures stretch with the load; these do not)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        browser.start_tracing(page=page, path=str(path), categories=["toplevel"])
        try:
            action()
        finally:
            browser.stop_tracing()
        events = json.loads(path.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    main = {
        (event["pid"], event["tid"])
        for event in events
        if event.get("ph") == "M" and event["name"] == "thread_name" and event["args"].get("name") == "CrRendererMain"
    }
    return (
        sum(
            event.get("tdur", 0)
            for event in events
            if event.get("ph") == "X"
            and event["name"] == "ThreadControllerImpl::RunTask"
            and (event["pid"], event["tid"]) in main
        )
        / 1000
    )


def chromium_path() -> str | None:
    configured = os.environ.get("CHAINLENS_CHROMIUM")
    if configured:
        return configured
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def described() -> str:
    """Where the figures come from, for the scripts' footers."""
    return f"Chromium {chromium_path() or 'from Playwright'}, viewport {VIEWPORT['width']}x{VIEWPORT['height']}"


@contextmanager
def served_browser() -> Iterator[tuple[str, Browser]]:
    """The server's URL and a launched Chromium; exits with a message when the UI is not built."""
    if not (ROOT / "static" / "dist" / "app.js").is_file():
        sys.exit("the UI is not built: run `npm run build` first")
    with running_server() as (url, _pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield url, browser
        finally:
            browser.close()


def open_app(browser: Browser, url: str, *, ready: str = READY, init_script: str | None = None) -> Page:
    """A new page on the app, once it has drawn its first graph (`ready`)."""
    page = browser.new_page(viewport=VIEWPORT)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    page.wait_for_function(ready, timeout=30_000)
    return page

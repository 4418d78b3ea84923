"""docs/notebook.ipynb in JupyterLab: Run All from the menu, every viewer draws its graph, and the
chain rule's viewer, focused, steps with the keyboard to the end of the backward pass; and the same
in Notebook 7 (the chain rule's viewer drawn and stepped to its last step).

A real `jupyter lab` (and `jupyter notebook`, both test dependencies) serves a copy of the notebook
from a temporary directory, on a free port with a token of its own; its kernel imports this
checkout's chainlens (PYTHONPATH). JupyterLab's user settings and workspaces (Notebook 7 reads the
same) go to the temporary directory too, so nothing of the machine's own Jupyter is read or changed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from serving import free_port, running

import chainlens

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
VIEWERS = 4  # the chain rule, the MLP, the CNN, the transformer block

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab serving a copy of the notebook; answers the notebook's URL (token included)."""
    yield from _jupyter(tmp_path_factory, "jupyterlab", "lab/tree", ["--LabApp.news_url="])


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Notebook 7 serving a copy of the notebook; answers the notebook's URL (token included)."""
    yield from _jupyter(tmp_path_factory, "notebook", "notebooks", [])


def _jupyter(tmp_path_factory: pytest.TempPathFactory, app: str, route: str, options: list[str]) -> Iterator[str]:
    """`python -m <app>` (jupyterlab or notebook) serving a copy of the notebook at `route`."""
    if not (ROOT / "static" / "dist" / "widget.js").is_file():
        pytest.fail("the widget is not built: run `npm ci && npm run build` (make test does it)")
    home = tmp_path_factory.mktemp(app)
    shutil.copy(NOTEBOOK, home / "notebook.ipynb")
    settings = home / "settings" / "@jupyterlab"
    # No "get notified about Jupyter news?" toast over the notebook, and the notebook's kernel
    # started without asking which one.
    for plugin, values in [
        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension/tracker", {"autoStartDefaultKernel": True}),
    ]:
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    command = [
        sys.executable, "-m", app, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={home}", "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True", *options,
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with running(
        command, home, env, f"{base}/api/status?token={token}", f"jupyter {app}", timeout=90, log=home / "log"
    ):
        yield f"{base}/{route}/notebook.ipynb?token={token}"


# The computed look of JupyterLab's own elements: the page, the notebook, a markdown heading and
# paragraph, a code cell's editor, the menu bar and the status bar.
NOTEBOOK_STYLE_SELECTORS = (
    "body",
    ".jp-Notebook",
    ".jp-MarkdownOutput h1",
    ".jp-MarkdownOutput p",
    ".jp-CodeCell .cm-content",
    ".jp-MarkdownOutput code",
    "#jp-menu-panel",
    ".jp-StatusBar-Widget",
    "button",
)
NOTEBOOK_STYLES = """() => {
  const selectors = SELECTORS;
  const properties = ['font-family', 'font-size', 'line-height', 'color', 'background-color', 'margin', 'padding',
                      'box-sizing', 'border-top-width'];
  return Object.fromEntries(selectors.map((selector) => {
    const element = document.querySelector(selector);
    const style = element && getComputedStyle(element);
    return [selector, style && Object.fromEntries(properties.map((name) => [name, style.getPropertyValue(name)]))];
  }));
}""".replace("SELECTORS", json.dumps(list(NOTEBOOK_STYLE_SELECTORS)))


def _card(widget: Locator, label: str) -> Locator:
    return widget.locator(f"svg.graph g.node[data-label='{label}']")


def _run_all(page: Page) -> None:
    """Run → Run All Cells, from JupyterLab's menu bar, once the kernel is idle."""
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=60_000)
    # The kernel's name in the toolbar once it runs, or JupyterLab's "Select Kernel" (answered: the
    # notebook's own, Python 3).
    started = page.locator(".jp-Toolbar-kernelName", has_text="Python 3").or_(page.locator(".jp-Dialog"))
    expect(started.first).to_be_visible(timeout=60_000)
    if page.locator(".jp-Dialog").is_visible():
        page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=60_000)
    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    # JupyterLab may show "idle" before its kernel connection is up, and a Run All clicked then runs
    # nothing: it is clicked again until the first cell has run (running it twice changes nothing).
    for _ in range(4):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
        try:
            expect(first_prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=20_000)
            return
        except AssertionError:
            continue
    pytest.fail("Run All Cells ran nothing")


def _step_to_the_end(page: Page, chain: Locator, steps: int) -> None:
    """ArrowRight, key by key, to the chain rule's last step (and once more: it stays there), where
    the cards show the tutorial's gradients."""
    label = chain.locator("#step-label")
    for position in range(1, steps + 1):
        page.keyboard.press("ArrowRight")
        expect(label).to_have_attribute("data-position", str(position))
    page.keyboard.press("ArrowRight")  # past the end: stays at the last step
    expect(label).to_have_attribute("data-position", str(steps))
    grads = [_card(chain, name).locator("text.grad").text_content() for name in ("x", "y", "z")]
    assert grads == ["-4", "-4", "3"]


def test_the_notebook_runs_draws_every_graph_and_steps_with_the_keyboard(
    browser, console, jupyterlab, screenshot
) -> None:
    # JupyterLab itself logs errors that are not the viewer's (a missing favicon, its own probes).
    console.allow("Failed to load resource")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        viewer_errors: list[str] = []
        page.on("pageerror", lambda error: viewer_errors.append(str(error)))
        page.goto(jupyterlab)
        expect(page.locator(".jp-Notebook .jp-MarkdownOutput h1")).to_be_visible(timeout=60_000)
        # Every element whose style is compared, once JupyterLab has drawn it (its code cells'
        # editors may come after the markdown: read before them, a style was None, then a style).
        for selector in NOTEBOOK_STYLE_SELECTORS:
            page.locator(selector).first.wait_for(state="attached", timeout=60_000)
        styles_before = page.evaluate(NOTEBOOK_STYLES)
        _run_all(page)

        widgets = page.locator(".jp-OutputArea-output .chainlens-widget")
        expect(widgets).to_have_count(VIEWERS, timeout=120_000)
        # Every viewer draws its graph: SVG nodes inside the output (in the viewer's shadow root,
        # which Playwright's CSS locators pierce).
        for index in range(VIEWERS):
            widget = widgets.nth(index)
            widget.scroll_into_view_if_needed()
            try:
                expect(widget.locator("svg.graph g.node").first).to_be_visible(timeout=180_000)
            except AssertionError:
                screenshot(page, f"jupyterlab-viewer-{index}-not-drawn")
                raise
            assert widget.locator("svg.graph g.node").count() >= 5

        chain = widgets.nth(0)
        chain.scroll_into_view_if_needed()
        label = chain.locator("#step-label")
        steps = len(chainlens.backward("q = x + y\nf = q * z", x=-2.0, y=5.0, z=-4.0).steps)
        expect(label).to_contain_text(f"/ {steps}")
        assert steps == 6  # the chain rule: q and f computed, then one backward step per edge
        expect(chain.locator("svg.graph g.node")).to_have_count(5)
        height = chain.bounding_box()["height"]
        assert abs(height - 560) <= 2  # sized to the cell: height=560

        # Focus the viewer (a click on its graph's background), then step with the keyboard only.
        chain.locator("svg.graph").click(position={"x": 5, "y": 5})
        active_cell_before = page.locator(".jp-Notebook .jp-Cell.jp-mod-active").get_attribute(
            "data-windowed-list-index"
        )
        cells_before = page.locator(".jp-Notebook .jp-Cell").count()
        _step_to_the_end(page, chain, steps)
        screenshot(page, "jupyterlab-chain-rule-end")
        page.keyboard.press("Home")
        expect(label).to_have_attribute("data-position", "0")
        page.keyboard.press("End")
        expect(label).to_have_attribute("data-position", str(steps))
        # The keys went to the viewer, not to the notebook: no cell was selected, added or removed
        # (ArrowDown would select the next cell, "a"/"b" insert one, "d d" delete one).
        for key in ("ArrowDown", "a", "b", "d", "d"):
            page.keyboard.press(key)
        assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
        active_cell_after = page.locator(".jp-Notebook .jp-Cell.jp-mod-active").get_attribute(
            "data-windowed-list-index"
        )
        assert active_cell_after == active_cell_before

        # The gradient check, computed by the kernel through the widget's messages.
        chain.locator("#check-gradients").click()
        expect(chain.locator("[data-testid=gradcheck-summary]")).to_contain_text("all below 1e-6", timeout=30_000)

        # A from_torch result: the inspector shows PyTorch's gradient beside chainlens's.
        mlp = widgets.nth(1)
        mlp.scroll_into_view_if_needed()
        mlp.locator("#step-last").click()
        _card(mlp, "fc2_bias").focus()
        page.keyboard.press("Enter")  # inspect it
        torch_grad = mlp.locator("#inspector .torch-grad")
        expect(torch_grad).to_contain_text("PyTorch:")
        expect(torch_grad).to_contain_text(re.compile(r"relative difference from chainlens's \S+"))
        difference = float(re.search(r"chainlens's (\S+)", torch_grad.text_content()).group(1))
        assert difference < 1e-9

        # Nothing leaked into the notebook's styles: JupyterLab's own elements look as they did
        # before any viewer was drawn (the viewers' rules live in their shadow roots).
        assert page.evaluate(NOTEBOOK_STYLES) == styles_before
        assert viewer_errors == []
    finally:
        context.close()


def test_in_notebook_7_the_chain_rule_draws_and_steps_to_its_end(browser, console, notebook7, screenshot) -> None:
    console.allow("Failed to load resource")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        viewer_errors: list[str] = []
        # Notebook 7 itself throws one error as it loads its settings (in its own bundle,
        # static/notebook/notebook_core.*.js, before any cell runs): errors thrown elsewhere are the viewer's.
        page.on(
            "pageerror",
            lambda error: None if "/static/notebook/" in (error.stack or "") else viewer_errors.append(str(error)),
        )
        page.goto(notebook7)
        expect(page.locator(".jp-Notebook .jp-MarkdownOutput h1")).to_be_visible(timeout=60_000)
        _run_all(page)
        widgets = page.locator(".jp-OutputArea-output .chainlens-widget")
        expect(widgets).to_have_count(VIEWERS, timeout=120_000)
        chain = widgets.nth(0)
        chain.scroll_into_view_if_needed()
        try:
            expect(chain.locator("svg.graph g.node")).to_have_count(5, timeout=180_000)
        except AssertionError:
            screenshot(page, "notebook7-chain-rule-not-drawn")
            raise
        expect(chain.locator("#step-label")).to_contain_text("/ 6")
        assert abs(chain.bounding_box()["height"] - 560) <= 2  # sized to the cell: height=560
        chain.locator("svg.graph").click(position={"x": 5, "y": 5})  # focus the viewer
        _step_to_the_end(page, chain, 6)
        screenshot(page, "notebook7-chain-rule-end")
        assert viewer_errors == []
    finally:
        context.close()

"""Issue 19 in real Chromium: the dialect examples open, and the steps of pasted PyTorch are
explained in the page as their backward works (an embedding lookup's scatter-add row by row, a
paired index element by element, masked_fill's gradient masked, comparisons with no gradient),
each line typeset by KaTeX and fitting the panel at 1366x768 and 800x900. Screenshots of each in
test-output/screenshots/dialect-*.png.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from tests.browser.test_readable import SIZES, open_example, page_at  # noqa: F401 - page_at is a fixture

pytestmark = pytest.mark.browser

# The explanation's lines as shown: each typeset line keeps its plain statement in data-text, and
# whether it needs the panel's horizontal scroll (it should not).
LINES = """() => [...document.querySelectorAll('.explain .math')].map((line) => ({
  text: line.dataset.text, error: !!line.querySelector('.katex-error') || !line.querySelector('.katex'),
  overflows: line.scrollWidth > line.clientWidth + 1 }))"""
NOTES = "() => [...document.querySelectorAll('.explain .notes li')].map((item) => item.textContent)"


def example(server_url: str, title: str) -> dict:
    examples = httpx.get(f"{server_url}/examples", timeout=10).json()["examples"]
    return next(item for item in examples if item["title"] == title)


def go_to(page: Page, position: int) -> None:
    page.fill("#step-input", str(position))
    page.press("#step-input", "Enter")
    page.wait_for_function(f"document.querySelector('#step-input').value === '{position}'")
    page.wait_for_timeout(100)


def step_of(server_url: str, title: str, phase: str, node: str) -> tuple[int, dict, dict]:
    """The 1-based position of the first `phase` step on the node named (or labelled) `node`,
    with the API's response and that step."""
    item = example(server_url, title)
    body = httpx.post(
        f"{server_url}/graph/backward",
        timeout=30,
        json={key: item[key] for key in ("expression", "inputs", "grad_output")},
    ).json()
    for position, step in enumerate(body["steps"], start=1):
        target = body["nodes"][step["node"]]
        if step["phase"] == phase and node in (target["name"], target["label"]):
            return position, body, step
    raise AssertionError(f"no {phase} step on {node}")


def shown(page: Page) -> list[dict]:
    lines = page.evaluate(LINES)
    assert lines, "the explanation panel is empty"
    assert not [line["text"] for line in lines if line["error"]], "a line failed to typeset"
    return lines


def number(value: float) -> str:
    """The page's number format for the values these tests read (4 significant digits)."""
    return f"{value:.4g}".replace("e-0", "e-")


@pytest.mark.parametrize("size", list(SIZES))
def test_embedding_lookup_backward_is_explained_row_by_row(page_at, server_url, screenshot, size):  # noqa: F811
    title = "An embedding lookup: C[Xb]"
    page = page_at(SIZES[size])
    open_example(page, server_url, title)
    position, _, step = step_of(server_url, title, "backward", "emb")
    go_to(page, position)
    lines = shown(page)
    texts = [line["text"] for line in lines]
    assert texts[0] == "∂loss/∂C = scatter-add of g into zeros (5×2) at C[Xb]"
    row0 = ", ".join(number(v) for v in step["contribution"][0])
    assert f"row 0 of ∂loss/∂C = g[0, 0] + g[1, 0] + g[2, 1] = [{row0}]" in texts
    assert "the other row of ∂loss/∂C is 0: nothing was read from it" in texts
    rows = [line for line in lines if line["text"].startswith("row ") and " of " in line["text"]]
    assert len(rows) == 4
    assert not [line["text"] for line in rows if line["overflows"]], f"{size}: rows run off the panel"
    screenshot(page, f"dialect-embedding-backward-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_makemore_paired_index_and_causal_mask_are_explained(page_at, server_url, screenshot, size):  # noqa: F811
    page = page_at(SIZES[size])
    makemore = "makemore: the MLP with batch normalisation, by hand"
    open_example(page, server_url, makemore)
    position, body, _ = step_of(server_url, makemore, "backward", "logprobs[range(n), Yb]")
    go_to(page, position)
    texts = [line["text"] for line in shown(page)]
    yb = next(node["value"] for node in body["nodes"] if node["name"] == "Yb")
    for i, label in enumerate(yb):
        assert f"∂loss/∂logprobs[{i}, {int(label)}] = g[{i}] = -0.125" in texts, texts
    screenshot(page, f"dialect-makemore-paired-{size}")

    gpt = "nanoGPT: one head of causal self-attention"
    open_example(page, server_url, gpt)
    position, _, _ = step_of(server_url, gpt, "forward", "tril == 0")
    go_to(page, position)
    assert any("no gradient flows back through it" in note for note in page.evaluate(NOTES))
    body = httpx.post(
        f"{server_url}/graph/backward",
        timeout=30,
        json={key: example(server_url, gpt)[key] for key in ("expression", "inputs", "grad_output")},
    ).json()
    masked = next(
        k
        for k, step in enumerate(body["steps"], start=1)
        if step["phase"] == "backward" and body["nodes"][step["node"]]["op"] == "masked_fill"
    )
    go_to(page, masked)
    texts = [line["text"] for line in shown(page)]
    assert texts[0].endswith("⊙ 1[not (tril == 0)]"), texts[0]
    assert any(note.startswith("the gradient masked:") for note in page.evaluate(NOTES))
    screenshot(page, f"dialect-gpt-masked-{size}")

"""G (Check gradients) on a training example in real headless Chromium: it checks the batch in
view through POST /train/gradcheck — the first batch before a run, step k's batch once step k is
loaded — and shows the usual badges; a refusal is shown in the server's words.

The first two tests answer /train/gradcheck from the page's side (Playwright's page.route) with a
real /graph/gradcheck answer for the same program on 32 rows, so they check the page's wiring
alone; the last one asks the real route end to end.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.pages import open_app, pick

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 300_000


def digits(url: str) -> dict:
    examples = httpx.get(f"{url}/examples", timeout=10).json()["examples"]
    return next(item for item in examples if item["id"] == "train-digits")


def batch_answer(url: str) -> dict:
    """/graph/gradcheck's answer for the digits program on 32 training rows: what the route sends."""
    example = digits(url)
    rows = {"dataset": "digits", "split": "train", "rows": list(range(32))}
    inputs = {**example["inputs"], "x": {**rows, "field": "images"}, "labels": {**rows, "field": "labels"}}
    answer = httpx.post(
        f"{url}/graph/gradcheck", json={"expression": example["expression"], "inputs": inputs}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def run_steps(page: Page, steps: int) -> None:
    page.locator("#train-form [name='steps']").fill(str(steps))
    page.locator("#train-form [name='record_every']").fill("10")
    page.click("#train-start")
    page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=RUN_TIMEOUT)
    expect(page.locator("#train-scrub-label")).to_have_attribute("data-step", str(steps), timeout=120_000)


def expect_badges(page: Page, names: list[str]) -> None:
    for name in names:
        badge = page.locator(f"svg.graph g.node[data-label='{name}'] g.check-badge")
        if page.locator(f"svg.graph g.node[data-label='{name}']").count():
            expect(badge).to_have_class(re.compile(r"\bok\b"))


def test_g_checks_the_first_batch_then_the_loaded_steps_batch(page, server_url):
    answer = batch_answer(server_url)
    asked: list[dict] = []

    def answer_route(route: Route) -> None:
        asked.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.route("**/train/gradcheck", answer_route)
    open_app(page, server_url)
    pick(page, "train-digits")
    page.locator("#graph").focus()
    page.keyboard.press("g")
    expect(page.locator("[data-testid=gradcheck-summary]")).to_contain_text("the first batch", timeout=30_000)
    assert len(asked) == 1
    example = digits(server_url)
    assert asked[0]["expression"] == example["expression"]
    assert asked[0]["train"]["batch"] == {"size": 32, "seed": 0}
    assert asked[0].get("at") is None  # no step loaded: the first batch
    assert page.evaluate("window.__chainlens.lastGradcheck") == {"route": "/train/gradcheck", "at": None}
    expect(page.locator("svg.graph g.check-badge").first).to_be_visible()
    expect_badges(page, ["W1", "b1"])

    run_steps(page, 30)
    page.locator("#graph").focus()
    page.keyboard.press("g")
    expect(page.locator("[data-testid=gradcheck-summary]")).to_contain_text("step 30's batch", timeout=30_000)
    assert asked[-1]["at"] == 30 and asked[-1]["train"]["steps"] == 30
    # The button does the same.
    page.click("#check-gradients")
    page.wait_for_function("window.__chainlens.gradchecks >= 3")
    assert len(asked) == 3 and asked[-1]["at"] == 30


def test_a_refused_check_on_a_training_example_says_why_in_words(page, server_url, console):
    console.allow("413")
    message = (
        "this checks 330 numbers, each with 2 passes over 1,437 rows (about 28 seconds of computing; "
        "the limit is about 2 seconds); give train.batch a size to check one step's batch of rows"
    )
    page.route(
        "**/train/gradcheck",
        lambda route: route.fulfill(
            status=413,
            content_type="application/json",
            body=json.dumps({"error": {"kind": "limit_exceeded", "message": message}}),
        ),
    )
    open_app(page, server_url)
    pick(page, "train-digits")
    page.locator("#graph").focus()
    page.keyboard.press("g")
    expect(page.locator("#check-panel")).to_contain_text("The gradient check was refused")
    expect(page.locator("#check-panel")).to_contain_text(message)


def test_g_on_the_digits_example_end_to_end(page, server_url):
    """The real POST /train/gradcheck (the backend of issue 23): the page shows its answer for the
    batch in view, first batch and then step k's, as the route answers the same request."""
    sent: list[dict] = []
    page.on(
        "request",
        lambda request: request.url.endswith("/train/gradcheck") and sent.append(json.loads(request.post_data)),
    )
    open_app(page, server_url)
    pick(page, "train-digits")
    summary = page.locator("[data-testid=gradcheck-summary]")
    for step in (None, 20):
        if step:
            run_steps(page, step)
        page.locator("#graph").focus()
        page.keyboard.press("g")
        expect(summary).to_contain_text("the first batch" if step is None else f"step {step}'s batch", timeout=120_000)
        assert sent[-1].get("at") == step
        direct = httpx.post(f"{server_url}/train/gradcheck", json=sent[-1], timeout=120)
        assert direct.status_code == 200, direct.text
        answer = direct.json()
        checked = sum(item["checked"] for item in answer["inputs"].values())
        expect(summary).to_contain_text(f"{checked} elements of {len(answer['inputs'])} inputs")
        for name, item in answer["inputs"].items():
            node = page.locator(f"svg.graph g.node[data-label='{name}']")
            if node.count():  # drawn (near the view): its badge says whether it passed
                kind = "ok" if item["max_rel_error"] < 1e-6 else "bad"
                expect(node.locator("g.check-badge")).to_have_class(re.compile(rf"\b{kind}\b"))

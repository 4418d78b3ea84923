"""mountViewer (static/dist/viewer.js, the one file a notebook widget loads) in a host page of its
own: two viewers on one page, each with its own state and keys; a compute function answers the
tools (gradient check, dragging an input); without one the tools say they need chainlens
running; PyTorch's gradients beside chainlens's; the host's styles never reach the viewer and the
viewer's never reach the host; setBody and destroy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CHAIN = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}, "grad_output": None}
SHARED = {"expression": "q = x * a\ny = q * q", "inputs": {"x": 1.5, "a": 2}, "grad_output": None}

# A host page with hostile styles: every button red, every .stepper and #graph hidden, serif text.
HOST = """<!doctype html>
<html><head><meta charset="utf-8"><title>host</title>
<style>
  body { font-family: serif; }
  button { background: rgb(255, 0, 0); }
  .stepper, #graph, .inspector { display: none; }
</style></head>
<body>
<button id="host-button">a button of the host</button>
<div id="a" style="height: 560px"></div>
<div id="b" style="height: 560px"></div>
<script type="module">
import { mountViewer } from '/static/dist/viewer.js';
// The compute function a host passes: POST the route, the JSON answer, or an Error with
// .status and .detail (the 4xx body).
window.computed = [];
async function compute(path, body) {
  window.computed.push(path);
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw Object.assign(new Error(json.error.message), { status: response.status, detail: json });
  return json;
}
window.viewers = {};
window.mount = async (id, request, options) => {
  const body = await compute('/graph/backward', request);
  window.viewers[id] = mountViewer(document.getElementById(id), { body, request, ...options });
  window.viewers[id].compute = compute;
};
window.compute = compute;
window.ready = true;
</script>
</body></html>"""


def _card(page: Page, viewer: str, label: str):
    return page.locator(f"#{viewer} svg.graph g.node[data-label='{label}']")


def _open_host(page: Page, server_url: str) -> None:
    page.route(f"{server_url}/host.html", lambda route: route.fulfill(body=HOST, content_type="text/html"))
    page.goto(f"{server_url}/host.html")
    page.wait_for_function("window.ready")
    page.evaluate(
        "async ([chain, shared]) => {"
        "  await window.mount('a', chain, { compute: window.compute, torchGrads: { x: -4, y: -4, z: 3 } });"
        "  await window.mount('b', shared, {});"
        "}",
        [CHAIN, SHARED],
    )
    page.wait_for_function("window.viewers.a.probe.ready && window.viewers.b.probe.ready", timeout=20_000)


def test_two_viewers_keep_their_own_steps_keys_and_styles(page: Page, server_url: str) -> None:
    _open_host(page, server_url)
    expect(page.locator("#a svg.graph g.node")).to_have_count(5)
    expect(page.locator("#b svg.graph g.node")).to_have_count(4)
    # Keys go to the viewer that has focus, and only to it.
    page.locator("#a #graph").focus()
    page.keyboard.press("End")
    expect(page.locator("#a #step-label")).to_have_attribute("data-position", "6")
    expect(page.locator("#b #step-label")).to_have_attribute("data-position", "0")
    page.locator("#b #graph").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#b #step-label")).to_have_attribute("data-position", "1")
    expect(page.locator("#a #step-label")).to_have_attribute("data-position", "6")
    assert [_card(page, "a", label).locator("text.grad").text_content() for label in ("x", "y", "z")] == [
        "-4",
        "-4",
        "3",
    ]
    # The host's styles do not reach in: its hidden .stepper and #graph show, its red buttons are not.
    assert page.locator("#a .stepper").is_visible() and page.locator("#a #graph").is_visible()
    play = page.locator("#a #step-play").evaluate("(button) => getComputedStyle(button).backgroundColor")
    assert play != "rgb(255, 0, 0)"
    # The viewer's do not reach out: the host's button and text keep theirs; its ids are its own.
    host = page.locator("#host-button").evaluate(
        "(button) => [getComputedStyle(button).backgroundColor, getComputedStyle(document.body).fontFamily,"
        " getComputedStyle(document.body).overflow]"
    )
    assert host == ["rgb(255, 0, 0)", "serif", "visible"]
    assert page.evaluate("document.querySelectorAll('#graph, #step-label, .cl-body').length") == 0
    # KaTeX's fonts: their @font-face rules once in the document, for both viewers.
    assert page.evaluate("document.querySelectorAll('style[data-chainlens-fonts]').length") == 1
    assert page.evaluate("document.fonts.load('16px KaTeX_Main').then((faces) => faces.length)") == 1


def test_a_compute_function_answers_the_tools_and_pytorch_grads_show(page: Page, server_url: str) -> None:
    _open_host(page, server_url)
    page.locator("#a #graph").focus()
    page.keyboard.press("End")
    _card(page, "a", "x").click()
    expect(page.locator("#a #inspector .torch-grad")).to_contain_text("PyTorch: -4")
    expect(page.locator("#a #inspector .torch-grad")).to_contain_text("relative difference from chainlens's 0.0e+0")
    # The gradient check through the compute function: a badge per input.
    page.keyboard.press("g")
    expect(page.locator("#a svg.graph g.check-badge.ok")).to_have_count(3)
    assert "/graph/gradcheck" in page.evaluate("window.computed")
    # Dragging x with the keyboard (↑ on its focused card): the compute function answers, values follow.
    _card(page, "a", "x").focus()
    page.keyboard.press("ArrowUp")
    page.wait_for_function("window.viewers.a.probe.dragUpdates >= 1", timeout=10_000)
    expect(_card(page, "a", "q").locator("text.value")).not_to_have_text("3")
    # setBody: another graph in the same viewer, with PyTorch's gradients of that one.
    page.evaluate(
        "async (shared) => window.viewers.a.setBody(await window.compute('/graph/backward', shared), shared,"
        " { torchGrads: { x: 12, a: 9 } })",
        SHARED,
    )
    expect(page.locator("#a svg.graph g.node")).to_have_count(4)
    expect(page.locator("#a #step-label")).to_have_attribute("data-position", "0")
    page.locator("#a #graph").focus()
    page.keyboard.press("End")
    _card(page, "a", "a").click()
    expect(page.locator("#a #inspector .torch-grad")).to_contain_text("PyTorch: 9")


def test_without_compute_the_tools_say_they_need_chainlens_and_destroy_removes_it(page: Page, server_url: str) -> None:
    _open_host(page, server_url)
    assert page.locator("#b #input-scrubbers").is_hidden()  # no dragging without a compute function
    page.locator("#b #check-gradients").click()
    expect(page.locator("#b #check-panel")).to_contain_text("needs chainlens running")
    page.locator("#b #break-it").click()
    expect(page.locator("#b #check-panel")).to_contain_text("needs chainlens running")
    page.evaluate("window.viewers.b.destroy()")
    expect(page.locator("#b > *")).to_have_count(0)
    # The other viewer still steps.
    page.locator("#a #graph").focus()
    page.keyboard.press("End")
    expect(page.locator("#a #step-label")).to_have_attribute("data-position", "6")

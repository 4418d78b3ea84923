"""Issue 23: every edge label of a training example's opening graph lies inside the graph's visible
area, at 1366×768 and 800×900 (on the MNIST page one was cut off at the top right when the graph
was wider than the view: the opening frame held the step's cards but not their labels)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.test_train import mnist_url, open_app, pick  # noqa: F401  (mnist_url is a fixture)

SIZES = {"1366x768": {"width": 1366, "height": 768}, "800x900": {"width": 800, "height": 900}}

# Every edge label's box on screen, and the graph's visible area: the SVG clipped by its canvas.
LABELS = """() => {
  const svg = document.querySelector('#graph').getBoundingClientRect();
  const canvas = document.querySelector('.graph-canvas').getBoundingClientRect();
  const view = { left: Math.max(svg.left, canvas.left, 0), top: Math.max(svg.top, canvas.top, 0),
    right: Math.min(svg.right, canvas.right, innerWidth), bottom: Math.min(svg.bottom, canvas.bottom, innerHeight) };
  const labels = [...document.querySelectorAll('#graph g.edge-label')].map((label) => {
    const r = label.querySelector('rect').getBoundingClientRect();
    return { key: label.dataset.key, text: label.textContent, current: label.classList.contains('current'),
      shown: getComputedStyle(label).visibility === 'visible',
      left: r.left, top: r.top, right: r.right, bottom: r.bottom };
  });
  return { view, labels };
}"""


def inside(label: dict, view: dict) -> bool:
    return (
        label["left"] >= view["left"] - 0.5
        and label["top"] >= view["top"] - 0.5
        and label["right"] <= view["right"] + 0.5
        and label["bottom"] <= view["bottom"] + 0.5
    )


def meets(label: dict, view: dict) -> bool:
    return (
        label["left"] < view["right"]
        and label["right"] > view["left"]
        and label["top"] < view["bottom"]
        and label["bottom"] > view["top"]
    )


def describe(label: dict, view: dict) -> str:
    return (
        f"{label['key']} {label['text']!r} at ({label['left']:.1f}, {label['top']:.1f})–({label['right']:.1f}, "
        f"{label['bottom']:.1f}), view ({view['left']:.1f}, {view['top']:.1f})–"
        f"({view['right']:.1f}, {view['bottom']:.1f})"
    )


@pytest.fixture
def page_at(browser, console):
    contexts = []

    def make(size: dict) -> Page:
        context = browser.new_context(viewport=size, reduced_motion="reduce")
        contexts.append(context)
        return console.watch(context.new_page())

    yield make
    for context in contexts:
        context.close()


def check_labels(page: Page, where: str) -> int:
    """Asserts every edge label seen lies whole in the graph's visible area; the number seen."""
    page.wait_for_timeout(300)  # the camera settles (reduced motion: no transition)
    drawn = page.evaluate(LABELS)
    view = drawn["view"]
    labels = drawn["labels"]
    # One the view's edge would cut is hidden (a truncated number misleads), one inside never is;
    # labels of edges beyond the view are not seen (like their cards).
    cut = [
        describe(label, view) for label in labels if label["shown"] and meets(label, view) and not inside(label, view)
    ]
    assert cut == [], where
    assert [describe(label, view) for label in labels if not label["shown"] and inside(label, view)] == [], where
    return sum(label["shown"] and inside(label, view) for label in labels)


def check_opening(page: Page, url: str, example_id: str, size: str, screenshot) -> None:
    """The opening frame (MNIST opens on a finished backward pass, the others at the start), then
    the last step's frame, where the backward pass has labelled its edges."""
    open_app(page, url)
    pick(page, example_id)
    check_labels(page, f"{example_id} at {size}, opening")
    screenshot(page, f"labels-in-view-{example_id}-{size}")
    if page.locator("#step-last").is_enabled():
        page.click("#step-last")
        page.evaluate("window.scrollTo(0, 0)")  # at 800 px the button lies below the graph
    seen = check_labels(page, f"{example_id} at {size}, last step")
    screenshot(page, f"labels-in-view-{example_id}-{size}-last")
    assert seen >= 1, f"{example_id} at {size}: no edge label in view at the last step"


@pytest.mark.parametrize("size", list(SIZES))
def test_mnist_opening_labels_are_in_view(page_at, mnist_url, screenshot, size):  # noqa: F811
    check_opening(page_at(SIZES[size]), mnist_url, "train-mnist", size, screenshot)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("example_id", ["train-digits", "train-regression"])
def test_training_examples_open_with_labels_in_view(page_at, server_url, screenshot, size, example_id):
    check_opening(page_at(SIZES[size]), server_url, example_id, size, screenshot)

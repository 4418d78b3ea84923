"""The Train mode in real headless Chromium against a real server: both training examples learn
(the loss falls, the regression predicts about 25 for (1, 2, 3), digits pass 90 % test accuracy),
the scrubber loads step k's graph exactly as POST /train/graph answers it, health marks appear on
a network built to have dead ReLUs, a run can be stopped, a diverging run says so, a refused run
shows the server's error, and with the four MNIST IDX files in CHAINLENS_DATA_DIR (small ones the
test writes) the MNIST example trains on 28×28 images. Screenshots at 1366×768 and 800 px wide go
to test-output/screenshots/.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from serving import serving

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NARROW = {"width": 800, "height": 768}
# Training runs share two cores with everything else in CI: generous, the runs take seconds alone.
RUN_TIMEOUT = 300_000


def open_app(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.__chainlens && window.__chainlens.ready && window.__chainlens.train", timeout=20_000)


def example(url: str, example_id: str) -> dict:
    examples = httpx.get(f"{url}/examples", timeout=10).json()["examples"]
    return next(item for item in examples if item["id"] == example_id)


def pick(page: Page, example_id: str) -> None:
    runs = page.evaluate("window.__chainlens.runs")
    page.select_option("#example-select", example_id)
    page.wait_for_function(f"window.__chainlens.runs > {runs}", timeout=60_000)
    expect(page.locator("#mode-train")).to_have_attribute("aria-pressed", "true")


def set_form(page: Page, **values: str) -> None:
    for name, value in values.items():
        page.locator(f"#train-form [name='{name}']").fill(value)


def train(page: Page) -> str:
    page.click("#train-start")
    page.wait_for_function("!['idle', 'running'].includes(window.__chainlens.train.state)", timeout=RUN_TIMEOUT)
    return page.evaluate("window.__chainlens.train.state")


def wait_for_step(page: Page, step: int) -> None:
    expect(page.locator("#train-scrub-label")).to_have_attribute("data-step", str(step), timeout=120_000)


def mean_losses(record: dict) -> float:
    return sum(record["losses"]) / len(record["losses"])


def pick_digit_and_its_api_gradient(page: Page, url: str, dataset: str, row: int) -> list[float]:
    """Clicks test digit `row` (the page computes its ∂loss/∂pixels) and answers the same gradient
    asked of POST /graph/backward directly: the program with the trained parameters, on that row."""
    page.locator(".digit-grid .digit").nth(row).click()
    expect(page.locator(".saliency-block")).to_have_attribute("data-row", str(row), timeout=60_000)
    body = page.evaluate("window.__chainlens.train.body")
    done = page.evaluate("window.__chainlens.train.done")
    trained = {name: {"value": value} for name, value in done["params"].items()}
    rows = {"dataset": dataset, "split": "test", "rows": [row]}
    direct = httpx.post(
        f"{url}/graph/backward",
        json={
            "expression": body["expression"],
            "inputs": {
                **body["inputs"],
                **trained,
                "x": {**rows, "field": "images", "requires_grad": True},
                "labels": {**rows, "field": "labels"},
            },
        },
        timeout=60,
    ).json()
    return next(node for node in direct["nodes"] if node["name"] == "x")["grad"][0]


def narrow_screenshot(page: Page, screenshot, name: str, reveal: str | None = None, fit: bool = False) -> None:
    page.set_viewport_size(NARROW)
    page.wait_for_timeout(400)  # the chart redraws on the next frame
    if fit:  # narrow windows open big graphs at a readable zoom from the inputs: show all of it
        page.click("#fit")
        page.wait_for_timeout(500)
    if reveal:  # narrow windows stack the panels: scroll to what the screenshot is about
        page.locator(reveal).scroll_into_view_if_needed()
    screenshot(page, name)
    page.set_viewport_size({"width": 1366, "height": 768})


def test_regression_trains_the_loss_falls_and_predicts_about_25(page, server_url, screenshot):
    open_app(page, server_url)
    pick(page, "train-regression")
    expect(page.locator("#train-form [name='lr']")).to_have_value("0.001")
    expect(page.locator("#train-form [name='steps']")).to_have_value("2000")
    assert train(page) == "done"
    records = page.evaluate("window.__chainlens.train.recordList")
    assert len(records) == 100 and records[-1]["step"] == 2000
    # The first 20 steps' mean loss is in the thousands; the last 20 steps' is far below.
    assert mean_losses(records[0]) > 100 * mean_losses(records[-1])
    done = page.evaluate("window.__chainlens.train.done")
    prediction = done["eval"]["predictions"][0]
    prediction = prediction[0] if isinstance(prediction, list) else prediction
    assert abs(prediction - 25) < 1
    expect(page.locator("#train-status")).to_contain_text("Done: 2000 steps")
    expect(page.locator("#train-status")).to_contain_text("prediction 25.")
    # The chart drew the reduced series, not one point per step, and ends at the last step.
    chart = page.locator("svg.loss-chart")
    assert 0 < int(chart.get_attribute("data-points")) <= 400
    assert chart.get_attribute("data-last-step") == "2000"
    assert page.locator("svg.loss-chart path.loss-line").get_attribute("d").startswith("M")
    # After the run the graph shows the last step, laid out as the ordinary graph.
    wait_for_step(page, 2000)
    screenshot(page, "train-regression")
    narrow_screenshot(page, screenshot, "train-regression-800")


@pytest.fixture(scope="module")
def full_params_url():
    """A server that sends tensors of up to 20,000 elements in full: the digits network's W2
    (100×200) is then in the `done` line, which ∂loss/∂pixels of a test digit needs (with the
    default limit of 10,000 the page says that the gradient image is not available)."""
    with serving(ROOT, env={**os.environ, "CHAINLENS_MAX_FULL_ELEMENTS": "20000"}) as url:
        yield url


def test_digits_pass_90_percent_with_predictions_weights_and_pixel_gradients(page, full_params_url, screenshot):
    open_app(page, full_params_url)
    pick(page, "train-digits")
    assert train(page) == "done"
    done = page.evaluate("window.__chainlens.train.done")
    assert done["eval"]["accuracy"] > 0.9
    accuracy = done["eval"]["accuracy"] * 100
    expect(page.locator("#train-status")).to_contain_text(f"test accuracy {accuracy:.3g}%".replace(".0%", "%"))
    # The accuracy curve reached the chart too.
    assert page.locator("svg.loss-chart path.accuracy-line").get_attribute("d").startswith("M")

    # Test digits: 45 of the 360, each with the run's prediction; wrong ones marked.
    digits = page.locator(".digit-grid .digit")
    expect(digits).to_have_count(45, timeout=60_000)
    predictions = done["eval"]["predictions"]
    labels = httpx.post(
        f"{full_params_url}/graph/forward",
        json={
            "expression": "sum(labels)",
            "inputs": {"labels": {"dataset": "digits", "field": "labels", "split": "test", "rows": list(range(45))}},
        },
        timeout=30,
    ).json()["nodes"][0]["value"]
    shown = digits.evaluate_all(
        "cells => cells.map(c => [Number(c.dataset.predicted), Number(c.dataset.label), c.classList.contains('wrong')])"
    )
    assert shown == [[predictions[i], labels[i], predictions[i] != labels[i]] for i in range(45)]

    # First-layer weights: one 8×8 image per unit of W1 (64 × 100).
    weights = page.locator(".weight-grid canvas")
    expect(weights).to_have_count(100)
    assert weights.first.evaluate("c => [c.width, c.height]") == [8, 8]

    # ∂loss/∂pixels of a chosen digit, against the same gradient asked of the API directly.
    grad = pick_digit_and_its_api_gradient(page, full_params_url, "digits", 5)
    assert page.evaluate("window.__chainlens.train.saliency.row") == 5
    assert page.evaluate("window.__chainlens.train.saliency.grad") == grad
    assert any(abs(value) > 0 for value in grad)
    # The image is painted, not blank: pixels with a gradient are coloured away from white.
    painted = (
        page.locator(".saliency-pair canvas")
        .nth(1)
        .evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, 8, 8).data).filter((_, i) => i % 4 === 1)")
    )
    strongest = max(range(64), key=lambda i: abs(grad[i]))
    assert painted[strongest] < 150 and max(painted) > 200
    wait_for_step(page, 1000)
    page.locator(".saliency-block").scroll_into_view_if_needed()
    screenshot(page, "train-digits")
    narrow_screenshot(page, screenshot, "train-digits-800", reveal=".saliency-block")


def test_the_scrubber_loads_step_k_as_train_graph_answers_it(page, server_url, screenshot):
    open_app(page, server_url)
    pick(page, "train-regression")
    set_form(page, steps="200", record_every="20")
    assert train(page) == "done"
    wait_for_step(page, 200)
    # Scrubber positions: step 1, then each recorded step (20, 40, …, 200).
    assert page.locator("#train-scrub").get_attribute("max") == "10"
    page.locator("#train-scrub").evaluate("s => { s.value = '3'; s.dispatchEvent(new Event('input')); }")
    wait_for_step(page, 60)
    body = page.evaluate("window.__chainlens.train.body")
    direct = httpx.post(f"{server_url}/train/graph", json={**body, "at": 60}, timeout=60).json()
    shown = page.evaluate("window.__chainlens.response")
    assert [node["value"] for node in shown["nodes"]] == [node["value"] for node in direct["nodes"]]
    assert [node["grad"] for node in shown["nodes"]] == [node["grad"] for node in direct["nodes"]]
    # The 60th loss of the stream is that graph's output.
    records = page.evaluate("window.__chainlens.train.recordList")
    assert direct["nodes"][direct["output"]]["value"] == records[2]["losses"][-1]
    # The card shows that value; the stepper walks that iteration's passes, chain rule included.
    loss = direct["nodes"][direct["output"]]
    page.click("#fit")  # the whole graph in view: cards far outside the view are not drawn
    card = page.locator(f"svg.graph g.node[data-node='{loss['id']}'] text.value")
    expect(card).to_have_text(re.compile(r"^" + re.escape(f"{loss['value']:.4g}"[:4])))
    total = len(direct["steps"])
    expect(page.locator("#step-label")).to_have_attribute("data-position", str(total))
    page.locator("#graph").focus()
    page.keyboard.press("Home")
    for _ in range(len(direct["forward"]) + 1):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-label")).to_have_attribute("data-phase", "backward")
    expect(page.locator("#explain .math").first).to_have_attribute("data-text", re.compile("∂loss"))
    screenshot(page, "train-scrubbed")
    narrow_screenshot(page, screenshot, "train-scrubbed-800")


def test_dead_relus_are_marked_on_the_graph_and_explained(page, server_url, screenshot):
    regression = example(server_url, "train-regression")
    inputs = dict(regression["inputs"])
    # Pre-activations x/10 @ W1 + b1 stay below 3.1 + b1 < 0: every ReLU unit is 0 for every row.
    inputs["b1"] = {"init": "uniform", "shape": [15], "seed": 2, "low": -100, "high": -90}
    open_app(page, server_url)
    pick(page, "train-regression")
    page.locator("#inputs-editor textarea").fill(json.dumps(inputs, indent=2))
    set_form(page, steps="100", record_every="10")
    assert train(page) == "done"
    relu = next(node for node in page.evaluate("window.__chainlens.response")["nodes"] if node["op"] == "relu")
    node = page.locator(f"svg.graph g.node[data-node='{relu['id']}']")
    expect(node).to_have_class(re.compile(r"\bhealth-dead\b"))
    expect(node.locator("text.health")).to_have_text(re.compile("dead 100%"))
    # No ReLU on the healthy path is marked: only the dead one.
    assert page.locator("svg.graph g.node.health-dead").count() == 1
    # By name: the graph opens at a readable 100 % (readable), and the card may be out of view.
    page.locator("#node-search-input").fill(relu["label"])
    page.locator("#node-search-input").press("Enter")
    expect(page.locator("#inspector .health-note.health-dead")).to_contain_text("100% of its 15 units output 0")
    screenshot(page, "train-health")
    narrow_screenshot(page, screenshot, "train-health-800", fit=True)


def test_a_run_can_be_stopped(page, server_url, screenshot):
    open_app(page, server_url)
    pick(page, "train-regression")
    set_form(page, steps="100000", record_every="100")
    page.click("#train-start")
    page.wait_for_function("window.__chainlens.train.records >= 3", timeout=RUN_TIMEOUT)
    expect(page.locator("#train-stop")).to_be_enabled()
    page.click("#train-stop")
    page.wait_for_function("window.__chainlens.train.state === 'stopped'", timeout=20_000)
    last = page.evaluate("window.__chainlens.train.lastStep")
    expect(page.locator("#train-status")).to_have_text(re.compile(r"Stopped at step \d+ of 100000"))
    assert last < 100_000
    expect(page.locator("#train-start")).to_be_enabled()
    expect(page.locator("#train-stop")).to_be_disabled()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__chainlens.train.lastStep") == last


def test_a_diverging_run_says_at_which_step_and_what_to_try(page, server_url):
    open_app(page, server_url)
    pick(page, "train-regression")
    set_form(page, lr="5", steps="500")  # diverges at step 63 (smaller lrs kill the ReLUs first)
    assert train(page) == "diverged"
    status = page.locator("#train-status")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(status).to_have_text(re.compile(r"^diverged at step \d+.*lower lr"))


def test_a_refused_run_shows_the_servers_error_and_a_bad_field_is_named(page, server_url, console):
    console.allow("413")
    open_app(page, server_url)
    pick(page, "train-regression")
    set_form(page, lr="-1")
    page.click("#train-start")
    expect(page.locator("#train-status")).to_have_text("learning rate must be above 0, got -1")
    expect(page.locator("#train-form [name='lr']")).to_have_class(re.compile(r"\binvalid\b"))
    set_form(page, lr="0.001", steps="99999999")
    assert train(page) == "refused"
    expect(page.locator("#error-box")).to_be_visible()
    expect(page.locator("#error-box")).to_contain_text("limit")


@pytest.fixture(scope="module")
def small_trained_limit_url():
    """A server that sends trained tensors only up to 10,000 elements (the default became 100,000
    on main: the digits network's W2, 100×200, now comes in full by default)."""
    with serving(ROOT, env={**os.environ, "CHAINLENS_MAX_TRAINED_ELEMENTS": "10000"}) as url:
        yield url


def test_with_a_small_limit_the_page_names_what_the_pixel_gradient_needs(page, small_trained_limit_url):
    open_app(page, small_trained_limit_url)
    pick(page, "train-digits")
    set_form(page, steps="40", record_every="20")
    assert train(page) == "done"
    expect(page.locator(".digit-grid .digit")).to_have_count(45, timeout=60_000)
    expect(page.locator(".weight-grid canvas")).to_have_count(100)
    # W2 (100×200 = 20,000 elements) comes back summarized past the limit of 10,000: no fake image.
    expect(page.locator(".saliency-block .note.missing")).to_contain_text("W2 (100×200)")
    assert page.locator(".saliency-pair").count() == 0


# --- MNIST, from small IDX files of synthetic digits --------------------------------------------
# No MNIST is downloaded: the test writes small, valid, gzip-compressed IDX files (one stroke
# pattern per class, shifted and noisy, so a network can learn them) and starts a server on them.

MNIST_SIDE = 28
TRAIN_IMAGES = 600
# The example evaluates on the first 400 test images: the files hold that many.
TEST_IMAGES = 400


def stroke_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` 28×28 grey images (uint8) and their labels: class c is a bar through the middle at
    c·18°, 3 pixels wide, moved up to 3 pixels either way, with grey noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    rng.shuffle(labels)
    rows, cols = np.mgrid[0:MNIST_SIDE, 0:MNIST_SIDE].astype(np.float64)
    images = np.empty((count, MNIST_SIDE, MNIST_SIDE), np.uint8)
    for i, label in enumerate(labels):
        angle = np.deg2rad(18 * label)
        dy, dx = rng.integers(-3, 4, 2)
        y, x = rows - 13.5 - dy, cols - 13.5 - dx
        distance = np.abs(x * np.sin(angle) - y * np.cos(angle))  # from the bar's line
        along = np.abs(x * np.cos(angle) + y * np.sin(angle))  # along it, from the middle
        ink = (distance < 1.5) & (along < 10)
        noise = rng.integers(0, 40, (MNIST_SIDE, MNIST_SIDE))
        images[i] = np.clip(np.where(ink, 255 - noise, noise // 2), 0, 255)
    return images, labels.astype(np.uint8)


def idx_file(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes (type 0x08): magic, the dimensions big-endian, the data."""
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


@pytest.fixture(scope="module")
def mnist_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mnist")
    train_images, train_labels = stroke_digits(TRAIN_IMAGES, 0)
    test_images, test_labels = stroke_digits(TEST_IMAGES, 1)
    for stem, array in {
        "train-images-idx3-ubyte": train_images,
        "train-labels-idx1-ubyte": train_labels,
        "t10k-images-idx3-ubyte": test_images,
        "t10k-labels-idx1-ubyte": test_labels,
    }.items():
        (folder / f"{stem}.gz").write_bytes(gzip.compress(idx_file(array)))
    with serving(ROOT, env={**os.environ, "CHAINLENS_DATA_DIR": str(folder)}) as url:
        yield url


def test_mnist_trains_in_the_page_with_28x28_digits_weights_and_pixel_gradients(page, mnist_url, screenshot):
    examples = [item["id"] for item in httpx.get(f"{mnist_url}/examples", timeout=10).json()["examples"]]
    assert "train-mnist" in examples
    open_app(page, mnist_url)
    pick(page, "train-mnist")
    set_form(page, steps="300", record_every="20")
    assert train(page) == "done"
    records = page.evaluate("window.__chainlens.train.recordList")
    assert records[-1]["step"] == 300
    # The first 20 steps' mean loss starts near ln 10 ≈ 2.3; after 300 steps it is a fraction of it.
    assert mean_losses(records[0]) > 1.5
    assert mean_losses(records[-1]) < 0.5 * mean_losses(records[0])
    done = page.evaluate("window.__chainlens.train.done")
    assert done["eval"]["accuracy"] > 0.8  # ten stroke angles, shifted and noisy: learnable

    # Test digits: 28×28 images, each with the run's prediction; wrong ones marked.
    digits = page.locator(".digit-grid .digit")
    expect(digits.first).to_be_visible(timeout=60_000)
    count = digits.count()
    assert count >= 8
    assert digits.first.locator("canvas").evaluate("c => [c.width, c.height]") == [MNIST_SIDE, MNIST_SIDE]
    predictions = done["eval"]["predictions"]
    _, test_labels = stroke_digits(TEST_IMAGES, 1)
    shown = digits.evaluate_all(
        "cells => cells.map(c => [Number(c.dataset.predicted), Number(c.dataset.label), c.classList.contains('wrong')])"
    )
    assert shown == [[predictions[i], int(test_labels[i]), predictions[i] != test_labels[i]] for i in range(count)]

    # First-layer weights: one 28×28 image per unit of W1 (784 × 100), each drawn (not blank).
    weights = page.locator(".weight-grid canvas")
    expect(weights).to_have_count(100)
    assert weights.first.evaluate("c => [c.width, c.height]") == [MNIST_SIDE, MNIST_SIDE]
    colours = weights.first.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const seen = new Set();"
        " for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`); return seen.size; }"
    )
    assert colours > 50  # a weight image, not a blank or flat canvas

    # ∂loss/∂pixels of a chosen digit, against the same gradient asked of the API directly.
    grad = pick_digit_and_its_api_gradient(page, mnist_url, "mnist", 3)
    assert len(grad) == MNIST_SIDE * MNIST_SIDE
    assert page.evaluate("window.__chainlens.train.saliency.row") == 3
    assert page.evaluate("window.__chainlens.train.saliency.grad") == grad
    saliency = page.locator(".saliency-pair canvas").nth(1)
    assert saliency.evaluate("c => [c.width, c.height]") == [MNIST_SIDE, MNIST_SIDE]
    painted = saliency.evaluate(
        f"c => Array.from(c.getContext('2d').getImageData(0, 0, {MNIST_SIDE}, {MNIST_SIDE}).data)"
        ".filter((_, i) => i % 4 === 1)"
    )
    strongest = max(range(MNIST_SIDE * MNIST_SIDE), key=lambda i: abs(grad[i]))
    assert painted[strongest] < 150 and max(painted) > 200

    page.locator(".saliency-block").scroll_into_view_if_needed()
    screenshot(page, "train-mnist")
    narrow_screenshot(page, screenshot, "train-mnist-800", reveal=".saliency-block")

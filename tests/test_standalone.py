"""The standalone HTML file (app/api/standalone.py): POST /graph/html, the page's Export → HTML,
writes what chainlens.save_html writes; its saved body is the route's own; it asks nothing of the
network; the program's text cannot end its script; bad input gets the graph routes' 4xx answers.
The browser opens the files in tests/browser/test_save_html.py and test_export_html.py."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

import chainlens
from app.api import check
from app.engine.limits import Limits
from app.examples import EXAMPLES
from app.main import create_app
from app.settings import Settings
from chainlens.html import page

CHAIN = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}, "grad_output": None}
MLP = next(example for example in EXAMPLES if example["id"] == "regression-mlp")


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


def saved(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="chainlens-saved">(.*?)</script>', html, re.S)
    assert found, "the page holds its saved graph"
    return json.loads(found.group(1))


def test_the_route_writes_what_save_html_writes(client) -> None:
    response = client.post("/graph/html", json=CHAIN)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    result = chainlens.backward(CHAIN["expression"], CHAIN["inputs"])
    assert response.text == page(result)


@pytest.mark.parametrize("example", [CHAIN, MLP], ids=["chain-rule", "regression-mlp"])
def test_the_saved_body_is_the_backward_routes_body(client, example) -> None:
    request = {key: example[key] for key in ("expression", "inputs", "grad_output")}
    html = client.post("/graph/html", json=request).text
    data = saved(html)
    assert data["body"] == client.post("/graph/backward?format=columns", json=request).json()
    assert data["request"] == request
    assert {op["name"] for op in data["ops"]} == {op["name"] for op in client.get("/ops").json()["ops"]}


def test_opened_composites_travel_in_the_request(client) -> None:
    request = {"expression": "y = sigmoid(x)", "inputs": {"x": 0.5}, "grad_output": None, "expand": "all"}
    data = saved(client.post("/graph/html", json=request).text)
    assert data["request"]["expand"] == "all"
    assert data["body"]["groups"], "the body is the opened graph's"


def test_nothing_in_the_file_is_fetched() -> None:
    whole = page(chainlens.backward(CHAIN["expression"], CHAIN["inputs"]))
    assert whole.count("<script") == 2  # the saved graph and the viewer's module
    # The page around the viewer's module (whose code holds KaTeX's HTML templates as strings) and
    # the viewer's CSS: no script, style sheet, image or font from anywhere (fonts are data: URLs).
    html = re.sub(r'<script type="module">.*?</script>', "", whole, flags=re.S)
    # Every url( in the file is a font's data: URL or a reference to a marker of the drawing itself.
    urls = re.findall(r"url\(\s*['\"]?([^)'\"]{0,24})", whole)
    assert urls and all(url.startswith(("data:font/woff2;base64,", "#")) for url in urls), set(urls)
    assert any(url.startswith("data:font/woff2") for url in urls)
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", html)
    assert not re.search(r'<link[^>]*rel="stylesheet"', html)
    assert not re.search(r"@import", whole)


def test_a_program_cannot_end_its_script(client) -> None:
    program = "# </script><script>alert(1)</script><!--\nf = x * 2"
    html = client.post("/graph/html", json={"expression": program, "inputs": {"x": 1}}).text
    assert html.count("<script") == 2 and html.lower().count("</script") == 2
    assert saved(html)["request"]["expression"] == program
    assert "&lt;/script&gt;" in html  # the program shown above the viewer, escaped


def test_a_lone_surrogate_in_a_comment_is_written_as_its_escape(client) -> None:
    body = json.dumps({"expression": "y = x * 2  # \ud800 and \x00", "inputs": {"x": 1}})
    response = client.post("/graph/html", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert "y = x * 2  # \\ud800 and \x00</pre>" in response.text
    assert saved(response.text)["request"]["expression"] == "y = x * 2  # \ud800 and \x00"


def test_nan_inputs_are_written_as_the_api_writes_them(client) -> None:
    html = client.post("/graph/html", json={"expression": "f = x * 2", "inputs": {"x": "NaN"}}).text
    assert saved(html)["request"]["inputs"] == {"x": "NaN"}


def test_bad_input_gets_the_graph_routes_answer(client) -> None:
    for request in ({"expression": "f = x +", "inputs": {"x": 1}}, {"expression": "f = x * y", "inputs": {"x": 1}}):
        got = client.post("/graph/html", json=request)
        want = client.post("/graph/backward", json=request)
        assert got.status_code == want.status_code == 422
        assert got.json() == want.json()


def test_a_program_past_the_limits_is_refused_as_backward_refuses_it() -> None:
    small = TestClient(create_app(Settings(limits=Limits(max_nodes=5))))
    request = {"expression": "a = x * x\nb = a * a\nc = b * b\nd = c * c\ne = d * d", "inputs": {"x": 1.1}}
    got = small.post("/graph/html", json=request)
    assert got.status_code == small.post("/graph/backward", json=request).status_code == 413


def test_a_missing_bundle_is_said(client, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(check, "VIEWER", tmp_path / "viewer.js")
    response = client.post("/graph/html", json=CHAIN)
    assert response.status_code == 503
    assert "npm run build" in response.json()["error"]["message"]

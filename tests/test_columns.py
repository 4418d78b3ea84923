"""`?format=columns` and gzip (docs/api.md, Large responses).

The column body must decode to exactly the object body: `objects_of` below is the decoding the
documentation describes, field by field, written independently of the encoder; every program of
tests/test_encode.py (parity cases, examples, non-finite values, summaries, no steps) and a few
more (empty tensors, groups of an expansion, broadcasting, replays, a training step) are
compared both ways. The UI's own decoder (static/src/api.js) is checked against bodies of the
same server in tests/ui/columns.test.js.
"""

from __future__ import annotations

import copy
import gzip
import json

import httpx
import pytest

from app.api.compression import GZIP_MIN_BYTES
from app.api.encode import graph_body
from app.core import evaluate
from app.examples import TRAIN_EXAMPLES
from tests.test_encode import _PROGRAMS, evaluate_program

_MORE = [
    ("y = sum(x, axis=1)", {"x": {"init": "zeros", "shape": [3, 0]}}, None),  # empty tensors
    (
        "y = x * b + c",
        {"x": {"init": "randn", "shape": [2, 3, 4], "seed": 1}, "b": [[1.0], [2.0], [3.0]], "c": 2.0},
        None,
    ),  # broadcasting over two axes: summed_axes [0, 2]
    ("y = exp(x) * 1e308", {"x": [1.0, 800.0, -800.0]}, None),  # Infinity, 0 and NaN downstream
    (
        "loss = softmax_cross_entropy(linear(x, W, b), labels)",
        {
            "x": [[1.0, 2.0], [0.5, -1.0]],
            "W": [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
            "b": [0.0, 0.1, 0.2],
            "labels": {"value": [0, 2], "requires_grad": False},
        },
        None,
    ),
]
_EXPANDED = _MORE[-1]


def objects_of(columns: dict) -> dict:
    """The object body a column body stands for, as docs/api.md describes the decoding."""
    assert columns["format"] == "columns"
    nodes, steps = columns["nodes"], columns["steps"]
    span = nodes["span"]
    groups = nodes.get("group")
    decoded_nodes = []
    for i in range(len(nodes["op"])):
        node = {
            "id": i,
            **{key: nodes[key][i] for key in ("op", "name", "label", "shape", "value", "grad", "inputs")},
            "span": {key: span[key][i] for key in ("line", "column", "end_line", "end_column")},
        }
        if nodes["params"][i] is not None:
            node["params"] = nodes["params"][i]
        if groups is not None and groups[i] is not None:
            node["group"] = groups[i]
        decoded_nodes.append(node)
    decoded_steps = [{"phase": "forward", "node": node} for node in columns["forward"]]
    decoded_steps.extend(
        {
            "phase": "backward",
            "node": steps["node"][i],
            "input": steps["input"][i],
            "slot": steps["slot"][i],
            "upstream": steps["upstream"][i],
            "local": {
                "formula": columns["formulas"][steps["local"]["formula"][i]],
                "value": steps["local"]["value"][i],
            },
            "contribution": steps["contribution"][i],
            "accumulated": steps["accumulated"][i],
            "summed_axes": steps["summed_axes"][i],
        }
        for i in range(len(steps["node"]))
    )
    rest = {key: value for key, value in columns.items() if key not in ("format", "nodes", "steps", "formulas")}
    return {**rest, "nodes": decoded_nodes, "steps": decoded_steps}


@pytest.mark.parametrize("backward", [True, False], ids=["backward", "forward"])
@pytest.mark.parametrize("program, inputs, grad_output", _PROGRAMS + _MORE)
def test_the_column_body_decodes_to_exactly_the_object_body(program, inputs, grad_output, backward):
    result = evaluate_program(program, inputs, grad_output, backward)
    for max_full, max_step in ((1000, 256), (4, 2)):  # the second summarizes most tensors
        columns = graph_body(result, max_full, max_step, layout="columns")
        assert columns.isascii()
        assert objects_of(json.loads(columns)) == json.loads(graph_body(result, max_full, max_step))


def test_formulas_are_written_once_each_in_order_of_first_use():
    result = evaluate("h = tanh(h * w + b)\n" * 50, {"h": 0.3, "w": 0.5, "b": 0.1}, None)
    body = json.loads(graph_body(result, 1000, 256, layout="columns"))
    formulas, indices = body["formulas"], body["steps"]["local"]["formula"]
    # five per line (tanh, the add's two operands, the mul's two), the same texts on every line
    assert len(indices) == 250 and len(formulas) == len(set(formulas)) == 5
    assert indices == [0, 1, 2, 3, 4] * 50
    assert formulas[0] == "∂h/∂(h * w + b) = 1 − h²"
    assert body["nodes"]["label"][:5] == ["h", "w", "h * w", "b", "h * w + b"]


def test_a_column_body_is_smaller_than_the_object_body():
    result = evaluate("h = tanh(h * w + b)\n" * 1000, {"h": 0.3, "w": 0.5, "b": 0.1}, None)
    assert len(graph_body(result, 1000, 256, layout="columns")) < 0.4 * len(graph_body(result, 1000, 256))


# --- through the routes ---------------------------------------------------------------------------


def _post(client, path: str, body: dict, layout: str | None, accept: str = "identity") -> httpx.Response:
    response = client.post(
        path + (f"?format={layout}" if layout else ""), json=body, headers={"accept-encoding": accept}
    )
    assert response.status_code == 200, response.text
    assert response.headers["vary"] == "Accept-Encoding"
    return response


@pytest.mark.parametrize(
    "path, body",
    [
        ("/graph/backward", {"expression": _EXPANDED[0], "inputs": _EXPANDED[1], "expand": "all"}),
        ("/graph/forward", {"expression": _EXPANDED[0], "inputs": _EXPANDED[1]}),
        (
            "/graph/backward",
            {"expression": "q = x * a\ny = q * q", "inputs": {"x": 1.5, "a": 2}, "mode": "naive-recursion"},
        ),
        ("/graph/backward", {"expression": "q = x * a\ny = q * q", "inputs": {"x": 1.5, "a": 2}, "mode": "overwrite"}),
    ],
)
def test_every_route_answers_columns_that_decode_to_its_objects(client, path, body):
    objects = _post(client, path, body, None).json()
    assert "format" not in objects and isinstance(objects["nodes"], list)  # the default stays the object layout
    assert _post(client, path, body, "objects").json() == objects
    columns = _post(client, path, body, "columns").json()
    assert objects_of(columns) == objects
    if "mode" in body:  # a replay's steps show what each node sent on that step, in both layouts
        assert columns["mode"] == body["mode"] and columns["diverges"] == objects["diverges"]
        assert columns["steps"]["upstream"] == [
            step["upstream"] for step in objects["steps"][len(objects["forward"]) :]
        ]
    if "expand" in body:
        assert columns["groups"] == objects["groups"] and any(g is not None for g in columns["nodes"]["group"])


def test_a_training_steps_graph_answers_columns(client):
    (example,) = [copy.deepcopy(e) for e in TRAIN_EXAMPLES if e["id"] == "train-regression"]
    body = {
        "expression": example["expression"],
        "inputs": example["inputs"],
        "train": example["train"] | {"steps": 5, "record_every": 5},
        "at": 3,
    }
    objects = _post(client, "/train/graph", body, None).json()
    assert objects_of(_post(client, "/train/graph", body, "columns").json()) == objects


def test_an_unknown_format_is_a_422_naming_it(client):
    response = client.post("/graph/backward?format=rows", json={"expression": "x", "inputs": {"x": 1}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["kind"] == "invalid_request" and "format" in error["message"]


_LARGE = {"expression": "h = tanh(h * w + b)\n" * 300, "inputs": {"h": 0.3, "w": 0.5, "b": 0.1}}


@pytest.mark.parametrize("layout", ["objects", "columns"])
def test_large_bodies_are_gzipped_for_clients_that_take_gzip(client, layout):
    plain = _post(client, "/graph/backward", _LARGE, layout)
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content) > GZIP_MIN_BYTES
    for accept in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.5", "*"):
        with client.stream(
            "POST", f"/graph/backward?format={layout}", json=_LARGE, headers={"accept-encoding": accept}
        ) as response:
            raw = b"".join(response.iter_raw())  # as sent, before the client decompresses it
        assert response.headers["content-encoding"] == "gzip", accept
        assert response.headers["vary"] == "Accept-Encoding"
        assert int(response.headers["content-length"]) == len(raw) < len(plain.content) / 4
        assert gzip.decompress(raw) == plain.content


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br", "deflate", "*;q=0", ""])
def test_no_gzip_for_clients_that_do_not_take_it(client, accept):
    response = _post(client, "/graph/backward", _LARGE, "columns", accept)
    assert "content-encoding" not in response.headers
    assert response.content.startswith(b'{"format":"columns"')


def test_small_bodies_are_not_gzipped(client):
    response = _post(
        client,
        "/graph/backward",
        {"expression": "f = (x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}},
        "columns",
        "gzip",
    )
    assert len(response.content) < GZIP_MIN_BYTES and "content-encoding" not in response.headers
    assert response.json()["nodes"]["value"][-1] == -12.0


def test_errors_are_the_usual_error_body_in_either_layout(client):
    response = client.post("/graph/backward?format=columns", json={"expression": "y = tahn(x)", "inputs": {"x": 1}})
    assert response.status_code == 422
    assert response.json()["error"]["kind"] == "unknown_function"


def test_the_openapi_document_describes_the_format_parameter(client):
    document = client.get("/openapi.json").json()
    for path in ("/graph/backward", "/graph/forward", "/train/graph"):
        (parameter,) = [p for p in document["paths"][path]["post"]["parameters"] if p["name"] == "format"]
        assert parameter["in"] == "query" and parameter["required"] is False
        assert parameter["schema"]["enum"] == ["objects", "columns"] and parameter["schema"]["default"] == "objects"
        schema = document["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert {ref["$ref"].rsplit("/", 1)[1] for ref in schema["anyOf"]} == {"GraphResponse", "GraphColumns"}

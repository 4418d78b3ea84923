"""The notebook widget's kernel side (chainlens/messages.py, chainlens/widget.py).

Every compute message is answered as the HTTP API answers the same POST: the same status and the
same body, byte for byte, for good requests and for hostile ones (malformed JSON, wrong types,
unknown paths, programs that try to run Python, past the limits, bodies past the size limit).
A message that is not even a compute message gets a 4xx too, and nothing ever raises out of the
handler (an exception there would be printed by the kernel and leave the viewer waiting).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from python_script import printed

import chainlens
from app.engine.limits import Limits
from app.main import create_app
from app.settings import Settings
from chainlens import compute, messages

CHAIN_RULE = {"expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}}


@pytest.fixture(scope="module")
def server() -> TestClient:
    """The app with the settings chainlens itself reads (the environment's)."""
    return TestClient(create_app(compute.settings()))


def _send(path: object, body: object, config: Settings | None = None, ident: object = 7) -> dict:
    reply = messages.answer({"type": "compute", "id": ident, "path": path, "body": body}, config)
    assert set(reply) == {"type", "id", "status", "body"} and reply["type"] == "answer"
    assert isinstance(reply["body"], str)
    return reply


def _same_as_http(server: TestClient, path: str, raw: str, config: Settings | None = None) -> dict:
    reply = _send(path, raw, config)
    response = server.post(path, content=raw.encode("utf-8", "surrogatepass"))
    assert reply["status"] == response.status_code, (reply, response.text)
    assert reply["body"] == response.text
    return reply


GOOD = [
    ("/graph/backward", CHAIN_RULE),
    ("/graph/backward?format=columns", CHAIN_RULE),
    ("/graph/forward", CHAIN_RULE),
    ("/graph/forward?format=columns", CHAIN_RULE),
    ("/graph/gradcheck", CHAIN_RULE),
    ("/graph/pytorch", CHAIN_RULE),
    ("/graph/dot", CHAIN_RULE),
    ("/graph/backward", {**CHAIN_RULE, "mode": "naive-recursion"}),
    ("/graph/backward?format=columns", {**CHAIN_RULE, "mode": "overwrite"}),
    ("/graph/backward", {"expression": "y = softmax(W @ x)", "inputs": {"W": [[1, 2], [3, 4]], "x": [1, -1]}}),
    (
        "/graph/backward",
        {
            "expression": "y = mse(linear(x, W, b), t)",
            "expand": "all",
            "inputs": {"x": [[1, 2]], "W": [[1], [2]], "b": [0.5], "t": [[1.0]]},
        },
    ),
]


@pytest.mark.parametrize("path, body", GOOD)
def test_good_requests_get_the_http_body(server: TestClient, path: str, body: dict) -> None:
    reply = _same_as_http(server, path, json.dumps(body))
    assert reply["status"] == 200 and reply["id"] == 7


def test_the_chain_rule_numbers() -> None:
    body = json.loads(_send("/graph/backward", json.dumps(CHAIN_RULE))["body"])
    grads = {node["name"]: node["grad"] for node in body["nodes"] if node["op"] == "input"}
    assert grads == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert body["nodes"][body["output"]]["value"] == -12.0
    columns = json.loads(_send("/graph/backward?format=columns", json.dumps(CHAIN_RULE))["body"])
    nodes = columns["nodes"]
    named = {name: grad for name, grad, op in zip(nodes["name"], nodes["grad"], nodes["op"]) if op == "input"}
    assert columns["format"] == "columns" and named == grads


HOSTILE = [
    "{",
    "",
    "[1, 2]",
    "null",
    '"f = x"',
    '{"expression": 42, "inputs": {}}',
    '{"inputs": {"x": 1}}',
    '{"expression": "f = x", "inputs": {"x": 1}, "evil": true}',
    '{"expression": "f = x", "inputs": [1, 2]}',
    '{"expression": "f = x", "inputs": {"x": 1}, "mode": "rm -rf"}',
    '{"expression": "f = x", "inputs": {"x": 1}, "expand": 3}',
    '{"expression": "q = x + \\nf = q * z", "inputs": {"x": 1, "z": 2}}',
    '{"expression": "f = x * y", "inputs": {"x": 1}}',
    '{"expression": "f = __import__(\\"os\\").system(\\"touch /tmp/chainlens-pwned\\")", "inputs": {}}',
    '{"expression": "f = x.__class__.__mro__", "inputs": {"x": 1}}',
    '{"expression": "f = eval(\\"1\\")", "inputs": {}}',
    '{"expression": "lambda: 1", "inputs": {}}',
    '{"expression": "f = x @ y", "inputs": {"x": [[1, 2]], "y": [[1, 2]]}}',
    '{"expression": "f = x", "inputs": {"x": [[1, 2], [3]]}}',
    '{"expression": "f = x", "inputs": {"x": "abc"}}',
    '{"expression": "f = x", "inputs": {"x": NaN}}',
    '{"expression": "f = x", "inputs": {"x": 1e999}}',
    '{"expression": "f = x", "inputs": {"x": 1' + "0" * 5000 + "}}",
    '{"expression": "f = x", "inputs": {"x": {"init": "randn", "shape": [100000, 100000]}}}',
    '{"expression": "f = x", "inputs": {"x": {"init": "randn", "shape": [-1]}}}',
    '{"expression": "f = x", "inputs": {"x": 1}, "grad_output": [1, 2, 3]}',
    '{"expression": "\\ud800", "inputs": {}}',
    '{"expression": "' + "(" * 5000 + "x" + ")" * 5000 + '", "inputs": {"x": 1}}',
    "[" * 100_000,
    '{"expression": "' + "f = x + x\\n" * 20_000 + 'f", "inputs": {"x": 1}}',
]


@pytest.mark.parametrize("raw", HOSTILE, ids=lambda raw: raw[:40])
@pytest.mark.parametrize("path", ["/graph/backward", "/graph/gradcheck", "/graph/forward?format=columns"])
def test_hostile_bodies_get_the_http_4xx(server: TestClient, path: str, raw: str) -> None:
    reply = _same_as_http(server, path, raw)
    assert 400 <= reply["status"] < 500 or reply["status"] == 200, reply
    if reply["status"] != 200:
        assert json.loads(reply["body"])["error"]["kind"]


def test_a_program_that_tries_python_is_refused_and_nothing_runs(tmp_path: object) -> None:
    reply = _send("/graph/backward", json.dumps({"expression": "f = __import__('os').getcwd()", "inputs": {}}))
    error = json.loads(reply["body"])["error"]
    assert reply["status"] == 422 and error["line"] == 1 and "__import__" in error["message"]


def test_limits_are_the_servers() -> None:
    """A program past the node limit, and a body past the size limit: the server's 413s."""
    config = Settings(limits=Limits(max_nodes=10), max_body_bytes=2_000)
    server = TestClient(create_app(config))
    program = "h = x\n" + "h = h * 2\n" * 20 + "h"
    reply = _same_as_http(server, "/graph/backward", json.dumps({"expression": program, "inputs": {"x": 1}}), config)
    assert reply["status"] == 413 and json.loads(reply["body"])["error"]["kind"] == "limit_exceeded"
    huge = json.dumps({"expression": "f = x\n" * 1000, "inputs": {"x": 1}})
    reply = _same_as_http(server, "/graph/backward", huge, config)
    assert reply["status"] == 413 and "2000 bytes" in json.loads(reply["body"])["error"]["message"]


def test_the_memory_estimate_applies() -> None:
    config = Settings(max_request_memory=100_000)
    server = TestClient(create_app(config))
    body = json.dumps({"expression": "y = (x @ x).sum()", "inputs": {"x": {"init": "randn", "shape": [100, 100]}}})
    for path in ("/graph/backward", "/graph/gradcheck"):
        reply = _same_as_http(server, path, body, config)
        assert reply["status"] == 413 and "estimated" in json.loads(reply["body"])["error"]["message"]


@pytest.mark.parametrize("path", ["/graph/backward?format=xml", "/graph/forward?format="])
def test_a_bad_format_is_the_http_422(server: TestClient, path: str) -> None:
    reply = _same_as_http(server, path, json.dumps(CHAIN_RULE))
    assert reply["status"] == 422


@pytest.mark.parametrize("path", ["/graph/unknown", "/nowhere", "/graph/backward/../../etc/passwd", "//evil.example/x"])
def test_unknown_paths_are_the_http_404(server: TestClient, path: str) -> None:
    _same_as_http(server, path, json.dumps(CHAIN_RULE))


@pytest.mark.parametrize("path", ["/train", "/healthz", "/", "graph/backward", "", "x" * 100_000, None, 3, ["/ops"]])
def test_paths_that_are_not_compute_routes_are_404(path: object) -> None:
    reply = _send(path, json.dumps(CHAIN_RULE))
    assert reply["status"] == 404 and json.loads(reply["body"]) == {
        "error": {"kind": "not_found", "message": "Not Found"}
    }


def test_ops_is_the_http_body(server: TestClient) -> None:
    reply = _send("/ops", "")
    assert reply["status"] == 200 and reply["body"] == server.get("/ops").text


@pytest.mark.parametrize("body", [None, 42, {"expression": "f = x"}, ["f = x"], True, b"\xff\xfe"])
def test_a_body_that_is_not_json_text_is_a_4xx(body: object) -> None:
    reply = _send("/graph/backward", body)
    assert 400 <= reply["status"] < 500 and json.loads(reply["body"])["error"]["kind"] in {
        "invalid_request",
        "bad_request",
    }


@pytest.mark.parametrize(
    "message",
    [None, "compute", 42, [], {}, {"type": "other"}, {"type": "compute"}, {"type": ["compute"]}, {"id": 1}],
    ids=repr,
)
def test_malformed_messages_get_a_400_or_404(message: object) -> None:
    reply = messages.answer(message)
    assert reply["type"] == "answer" and reply["status"] in {400, 404}
    assert json.loads(reply["body"])["error"]["kind"] in {"bad_request", "not_found"}


@pytest.mark.parametrize(
    "ident, kept",
    [(1, 1), ("r-1", "r-1"), (2**60, None), (True, None), ({"a": 1}, None), ("x" * 1000, None), (1.5, None)],
)
def test_the_answer_repeats_only_a_plain_id(ident: object, kept: object) -> None:
    assert _send("/graph/backward", json.dumps(CHAIN_RULE), ident=ident)["id"] == kept


def test_a_bug_of_ours_is_a_500_body_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> bytes:
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(messages.ROUTES, "/graph/backward", broken)
    reply = _send("/graph/backward", json.dumps(CHAIN_RULE))
    assert reply["status"] == 500 and json.loads(reply["body"])["error"]["kind"] == "internal_error"
    assert _send("/graph/forward", json.dumps(CHAIN_RULE))["status"] == 200  # and the next message is answered


# --- the widget --------------------------------------------------------------------------------------


def test_show_without_anywidget_names_the_extra() -> None:
    script = (
        "import sys\nsys.modules['anywidget'] = None  # as if anywidget were not installed\n"
        "import chainlens\n"
        "assert 'chainlens.widget' not in sys.modules and sys.modules['anywidget'] is None\n"
        "r = chainlens.backward('f = x * y', x=2, y=3)\n"
        "try:\n    chainlens.show(r)\n"
        "except ImportError as exc:\n    print(exc)\n"
        "try:\n    chainlens.Viewer\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert printed(script).count("pip install 'chainlens[notebook]'") == 2


def test_the_viewer_holds_the_graph_and_answers_its_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainlens.widget import Viewer

    viewer = Viewer(CHAIN_RULE["expression"], CHAIN_RULE["inputs"], height=400)
    result = chainlens.backward(CHAIN_RULE["expression"], CHAIN_RULE["inputs"])
    assert viewer.body == result.to_json(format="columns") and viewer.height == 400
    assert viewer.request == {
        "expression": CHAIN_RULE["expression"],
        "inputs": CHAIN_RULE["inputs"],
        "grad_output": None,
    }
    assert viewer.torch_grads == ""
    assert "import" in viewer._esm or "export" in viewer._esm  # the built front end, one ES module
    sent: list = []
    monkeypatch.setattr(viewer, "send", lambda content, buffers=None: sent.append(content))
    viewer._message(
        viewer, {"type": "compute", "id": 3, "path": "/graph/gradcheck", "body": json.dumps(CHAIN_RULE)}, []
    )
    viewer._message(viewer, "garbage", [])
    assert [reply["id"] for reply in sent] == [3, None]
    assert sent[0]["status"] == 200 and json.loads(sent[0]["body"])["max_rel_error"] < 1e-6
    assert sent[1]["status"] == 400


def test_the_viewer_refuses_a_bad_height_and_stray_inputs() -> None:
    from chainlens.widget import Viewer

    with pytest.raises(ValueError, match="height"):
        Viewer("f = x", x=1, height=5)
    with pytest.raises(TypeError, match="result already holds"):
        Viewer(chainlens.backward("f = x", x=1), x=2)
    with pytest.raises(chainlens.ProgramError, match="line 1"):
        Viewer("f = x +", x=1)


def test_show_puts_another_result_in_the_same_viewer() -> None:
    from chainlens.widget import Viewer

    viewer = Viewer(CHAIN_RULE["expression"], CHAIN_RULE["inputs"])
    viewer.show("y = x * x", x=3.0)
    body = json.loads(viewer.body)
    assert viewer.request == {"expression": "y = x * x", "inputs": {"x": 3.0}, "grad_output": None}
    nodes = body["nodes"]
    assert dict(zip(nodes["name"], nodes["grad"]))["x"] == 6.0
    assert viewer.torch_grads == ""


def test_a_recomputed_from_torch_graph_keeps_its_module_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from torch import nn

    from chainlens.widget import Viewer

    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    viewer = Viewer(chainlens.from_torch(model, torch.randn(2, 3), loss=lambda out: out.sum()))
    shown = json.loads(viewer.body)
    assert [group["label"] for group in shown["groups"]] == ["0", "2"]  # the Linears (a lone Tanh has no box)
    sent: list = []
    monkeypatch.setattr(viewer, "send", lambda content, buffers=None: sent.append(content))
    dragged = {**viewer.request, "inputs": {**viewer.request["inputs"], "input": [[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]}}
    requests = [
        dragged,  # an input dragged
        {**dragged, "mode": "overwrite"},  # Break it
        {**dragged, "expression": dragged["expression"] + "\n"},  # another program text: no groups
    ]
    for ident, request in enumerate(requests):
        path = "/graph/backward?format=columns"
        viewer._message(viewer, {"type": "compute", "id": ident, "path": path, "body": json.dumps(request)}, [])
    bodies = [json.loads(reply["body"]) for reply in sent]
    assert [reply["status"] for reply in sent] == [200, 200, 200]
    for body in bodies[:2]:
        assert body["groups"] == shown["groups"] and body["nodes"]["group"] == shown["nodes"]["group"]
        assert body["nodes"]["value"] != shown["nodes"]["value"]  # recomputed with the dragged input
    assert bodies[1]["mode"] == "overwrite"
    assert "groups" not in bodies[2] and "group" not in bodies[2]["nodes"]
    # The message API alone (no viewer's groups) answers as the server does: no groups.
    assert "groups" not in json.loads(_send("/graph/backward", json.dumps(dragged))["body"])

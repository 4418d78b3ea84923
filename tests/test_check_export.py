"""The exports: POST /graph/pytorch's script, run by the venv's Python with PyTorch, must print
chainlens' gradients (relative 1e-10) for every parity program and every example; POST
/graph/dot's file must render with Graphviz's `dot` and carry every node's value and gradient.

Running 45 scripts in 45 interpreters would spend most of a minute importing torch: the scripts
are written to files and run by one interpreter, each as its own __main__ (runpy.run_path, a fresh
namespace per file), with one more test running a script as a plain `python script.py`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from fastapi.testclient import TestClient
from parity_programs import CASES

from app.engine.ops import OPS
from app.examples import EXAMPLES
from app.export.pytorch import SPELLINGS
from app.main import create_app
from app.settings import Settings
from tests.test_check import SHARED, limited

RTOL = 1e-10
ATOL_SCALE = 1e-12

PROGRAMS = [
    *(
        {
            "id": f"example:{e['id']}",
            "expression": e["expression"],
            "inputs": e["inputs"],
            "grad_output": e["grad_output"],
        }
        for e in EXAMPLES
    ),
    # (a case that calls one op through the engine's API has no program to post: tests/test_index_ops.py
    # exports those calls' graphs)
    *(
        {"id": f"parity:{c['id']}", "expression": c["program"], "inputs": c["inputs"], "grad_output": c["grad_output"]}
        for c in CASES
        if "call" not in c
    ),
]

_RUNNER = """
import contextlib, io, json, runpy, sys
printed = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(path, run_name="__main__")
    printed[path] = out.getvalue()
print(json.dumps(printed))
"""


def request_of(program: dict) -> dict:
    return {key: program[key] for key in ("expression", "inputs", "grad_output")}


@pytest.fixture(scope="module")
def client() -> TestClient:
    """Every gradient in full (the training examples' weights pass the default summary size), so
    PyTorch's numbers compare with chainlens' element by element."""
    return TestClient(create_app(Settings(max_full_elements=1_000_000)))


@pytest.fixture(scope="module")
def torch_outputs(client, tmp_path_factory) -> dict:
    """Every program's exported script, run; its printed JSON by program id."""
    folder = tmp_path_factory.mktemp("scripts")
    paths = {}
    for index, program in enumerate(PROGRAMS):
        response = client.post("/graph/pytorch", json=request_of(program))
        assert response.status_code == 200, (program["id"], response.text)
        assert response.headers["content-type"].startswith("text/x-python")
        path = folder / f"program_{index}.py"
        path.write_text(response.text)
        paths[str(path)] = program["id"]
    run = subprocess.run([sys.executable, "-c", _RUNNER, *paths], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return {paths[path]: json.loads(text) for path, text in json.loads(run.stdout).items()}


def assert_close(actual, expected, what: str) -> None:
    if expected is None:
        assert actual is None, f"{what}: PyTorch has a gradient where chainlens has none"
        return
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(_numbers(expected), dtype=np.float64)
    assert actual.shape == expected.shape, what
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL_SCALE * scale, err_msg=what)


def _numbers(value):
    strings = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    return strings.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("program", PROGRAMS, ids=[program["id"] for program in PROGRAMS])
def test_the_exported_script_reproduces_chainlens_gradients(client, torch_outputs, program):
    body = client.post("/graph/backward", json=request_of(program)).json()
    printed = torch_outputs[program["id"]]
    assert_close(printed["output"], body["nodes"][body["output"]]["value"], f"{program['id']}: output")
    inputs = {node["name"]: node for node in body["nodes"] if node["op"] == "input"}
    takes_grad = {name for name, node in inputs.items() if node["grad"] is not None}
    assert takes_grad <= set(printed["grads"]), program["id"]
    for name, grad in printed["grads"].items():
        assert_close(grad, inputs[name]["grad"], f"{program['id']}: gradient of {name}")


def test_a_script_runs_on_its_own(client, tmp_path):
    script = tmp_path / "shared.py"
    script.write_text(client.post("/graph/pytorch", json=SHARED).text)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"output": 9.0, "grads": {"x": 12.0, "a": 9.0}}


def test_initializers_are_written_as_the_values_the_engine_used(client):
    text = client.post(
        "/graph/pytorch", json={"expression": "y = sum(W)", "inputs": {"W": {"init": "ones", "shape": [2, 2]}}}
    ).text
    assert "W = tensor([[1.0, 1.0], [1.0, 1.0]], requires_grad=True)" in text
    assert '"init"' not in text and "ones" not in text


def test_every_op_of_the_table_has_a_pytorch_spelling():
    assert set(OPS) <= set(SPELLINGS), sorted(set(OPS) - set(SPELLINGS))


def test_variables_that_clash_with_the_scripts_names_are_renamed(client, tmp_path):
    response = client.post(
        "/graph/pytorch", json={"expression": "out = torch * json\nt1 = out + 1", "inputs": {"torch": 2, "json": 3}}
    )
    script = tmp_path / "clash.py"
    script.write_text(response.text)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"output": 7.0, "grads": {"torch": 3.0, "json": 2.0}}


def test_the_script_size_is_limited_before_it_is_written():
    response = limited(max_script_elements=100).post(
        "/graph/pytorch", json={"expression": "y = sum(W)", "inputs": {"W": {"init": "randn", "shape": [20, 20]}}}
    )
    assert response.status_code == 413
    assert "401 numbers" in response.json()["error"]["message"]  # 400 of W, 1 of grad_output


# --- DOT -----------------------------------------------------------------------------------------


def render(dot_text: str) -> str:
    assert shutil.which("dot"), "Graphviz's dot is missing: scripts/ensure-system-packages.sh installs it"
    run = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert not run.stderr.strip(), run.stderr  # dot warns about labels it cannot parse
    return run.stdout


def test_dot_export_draws_values_and_gradients_like_draw_dot(client):
    response = client.post("/graph/dot", json=SHARED)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/vnd.graphviz")
    text = response.text
    assert "rankdir=LR" in text
    assert re.search(r'n0 \[shape=record, label="\{ x \| data 1\.5000 \| grad 12\.0000 \}"\]', text)
    assert '[label="*"]' in text
    assert text.count("n2 -> n3_op;") == 2  # q * q: one edge per operand
    svg = render(text)
    for shown in ("data 1.5000", "grad 12.0000", "grad 9.0000", "data 9.0000"):
        assert shown in svg, shown


@pytest.mark.parametrize("example", EXAMPLES, ids=[example["id"] for example in EXAMPLES])
def test_every_example_renders_with_graphviz(client, example):
    body = client.post("/graph/backward", json=request_of({**example, "expression": example["expression"]})).json()
    svg = render(client.post("/graph/dot", json=request_of(example)).text)
    assert svg.count('class="node"') == len(body["nodes"]) + len(body["forward"])


def test_dot_escapes_record_characters(client):
    svg = render(
        client.post("/graph/dot", json={"expression": "y = maximum(x, 2) * x", "inputs": {"x": [1.0, 3.0]}}).text
    )
    assert "maximum(x, 2)" in svg and "grad [2] norm" in svg

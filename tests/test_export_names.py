"""Issue 22: the exported PyTorch script and DOT file are right for every name chainlens accepts.

Python folds identifiers to NFKC (`ｘ` is `x`) and refuses some that chainlens takes (`x²`); the
script renames those (the mapping in a comment). The property test exports random programs over
such names and runs every script with torch (one worker process, started once: importing torch
per script would cost a second each), comparing its printed gradients with chainlens's."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core import evaluate
from app.engine.errors import ProgramError
from app.export.dot import graph_dot
from app.export.pytorch import pytorch_script
from app.export.text import keeps_name, python_names, visible

# A worker that runs each script file named on stdin and answers its printed line (or its error).
_WORKER = textwrap.dedent("""
    import contextlib, io, json, runpy, sys, traceback
    import torch
    for path in sys.stdin:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                runpy.run_path(path.strip(), run_name="__main__")
            answer = {"stdout": out.getvalue()}
        except BaseException:
            answer = {"error": traceback.format_exc()[-2000:]}
        print(json.dumps(answer), flush=True)
""")


@pytest.fixture(scope="module")
def run_script(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scripts")
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
    )
    count = 0

    def run(script: str) -> dict:
        nonlocal count
        count += 1
        path = Path(folder) / f"script{count}.py"
        path.write_text(script, encoding="utf-8")  # as a client saves the download
        worker.stdin.write(f"{path}\n")
        worker.stdin.flush()
        answer = json.loads(worker.stdout.readline())
        assert "error" not in answer, answer["error"] + "\n" + script
        return json.loads(answer["stdout"].strip().splitlines()[-1])

    yield run
    worker.stdin.close()
    worker.wait(timeout=30)


def chainlens_grads(result) -> dict[str, float | None]:
    graph = result.graph
    return {
        name: None if result.grads[node] is None else float(result.grads[node])
        for node, (op, name) in enumerate(zip(graph.ops, graph.names))
        if op is None and name is not None and graph.requires_grad[node]
    }


def check_parity(run_script, program: str, inputs: dict) -> str:
    result = evaluate(program, inputs)
    script = pytorch_script(result.graph, result.seed)
    printed = run_script(script)
    expected = chainlens_grads(result)
    assert set(printed["grads"]) == set(expected), script
    for name, value in expected.items():
        if value is None:  # an input the output does not depend on
            assert printed["grads"][name] is None, (name, script)
            continue
        assert math.isclose(printed["grads"][name], value, rel_tol=1e-10, abs_tol=1e-12), (name, script)
    assert math.isclose(
        printed["output"], float(result.graph.values[result.graph.output]), rel_tol=1e-10, abs_tol=1e-12
    ), script
    return script


def test_the_issues_programs_export_right(run_script):
    script = check_parity(run_script, "y = ｘ * 2 + x", {"x": 1.0, "ｘ": 3.0})
    assert "#   ｘ -> x_u1" in script
    script = check_parity(
        run_script,
        "ｊson = x * 2\nｔorch = ｊson + json\nｐrint = ｔorch * x\ny = ｐrint + print",
        {"x": 2.0, "json": 1.0, "print": 0.5},
    )
    assert "#   json -> json_" in script and "#   print -> print_" in script
    check_parity(run_script, "y = x² * x① + x½", {"x²": 2.0, "x①": 3.0, "x½": 4.0})
    check_parity(run_script, "a = x * 2\na = a * 3\na_1 = a + 1\nt2 = a_1 * a\nt3 = t2 * a_1", {"x": 1.5})


def test_python_names_are_distinct_identifiers_python_keeps():
    names = ["x", "ｘ", "x²", "x2_u1", "json", "json_", "ﬁ", "fi", "e\u0301", "é", "__debug__", "ℌ", "H"]
    given = python_names(names, {"json", "torch"})
    assert len(set(given.values())) == len(names)
    assert all(keeps_name(name) and name not in {"json", "torch", "__debug__"} for name in given.values())
    assert given["x"] == "x" and given["fi"] == "fi" and given["é"] == "é" and given["json_"] == "json_"
    assert given["json"] == "json__"  # json_ is a name of the program itself


def test_control_characters_never_reach_a_comment():
    text = "a\x00b\x1bc\x85d\u2028e\u202ef\ud800g\tok"
    assert visible(text) == "a\\u0000b\\u001bc\\u0085d\\u2028e\\u202ef\\ud800g\\u0009ok"
    result = evaluate("y = x * 2  # \x00\x1b\ud800\u202e", {"x": 1.0})
    for text in (pytorch_script(result.graph, result.seed), graph_dot(result.graph, result.grads)):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202e]", text)
        text.encode("utf-8")


def test_dot_labels_stay_under_graphvizs_limit():
    name = "a" * 400_000
    result = evaluate(f"y = {name} * 2", {name: 1.0})
    dot = graph_dot(result.graph, result.grads)
    labels = re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)
    assert labels and max(map(len, labels)) < 16_384
    assert "a" * 1_999 + "…" in dot


# Names chainlens accepts: ASCII, and the characters Python folds, refuses or composes.
_ODD = "ｘｊｓｏｎｔｒｃｈｐｉ²³①②½¼ﬁℌ\u0301αβé_"
_NAME = re.compile(r"[^\W\d]\w*")
names = st.one_of(
    st.sampled_from(
        [
            "x",
            "y",
            "json",
            "torch",
            "print",
            "F",
            "tensor",
            "listed",
            "out",
            "grad_output",
            "float",
            "t0",
            "t1",
            "t2",
            "a_1",
            "a_2",
            "x_u1",
            "ｘ",
            "ｊson",
            "ｔorch",
            "ｐrint",
            "x²",
            "x①",
            "x½",
        ]
    ),
    st.text(alphabet="xyza" + _ODD, min_size=1, max_size=4),
).filter(lambda name: _NAME.fullmatch(name) is not None)
comments = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=8)


@st.composite
def programs(draw) -> tuple[str, dict[str, float]]:
    inputs = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    values = {name: draw(st.one_of(st.floats(0.01, 2), st.floats(-2, -0.01))) for name in inputs}
    known = list(inputs)
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        target = draw(names)
        a, b = draw(st.sampled_from(known)), draw(st.sampled_from(known))
        expression = draw(st.sampled_from([f"{a} * {b}", f"{a} + {b}", f"tanh({a}) - {b}", f"sin({a}) * {b} + 1"]))
        comment = draw(comments) if draw(st.booleans()) else ""
        lines.append(f"{target} = {expression}" + (f"  # {comment}" if comment else ""))
        known.append(target)
    return "\n".join(lines), values


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(program=programs())
def test_random_unicode_programs_export_the_same_gradients(run_script, program):
    source, inputs = program
    try:
        evaluate(source, inputs)
    except ProgramError:
        return  # not a program chainlens accepts (a keyword-like name, a comment breaking a line...)
    check_parity(run_script, source, inputs)
    result = evaluate(source, inputs)
    graph_dot(result.graph, result.grads).encode("utf-8")

"""docs/notebook.ipynb runs top to bottom in a real kernel (nbclient + ipykernel), and every cell's
output holds what it should: the printed values and gradients, PyTorch's gradients equal to
chainlens's, and each `chainlens.show` a widget view whose model holds the computed graph.

nbclient keeps the widgets' state (anywidget's traits) in the executed notebook's metadata, so the
graph each view would draw is checked here from what the kernel sent: the body's gradients, the
request, the height, and PyTorch's gradients for a from_torch result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"

pytestmark = pytest.mark.parity


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # cwd: the repository, so that the kernel imports this checkout's chainlens as the tests do.
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return notebook


def _code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")


def _views(cell: nbformat.NotebookNode) -> list[str]:
    return [
        out.data[VIEW]["model_id"] for out in cell.outputs if out.output_type == "display_data" and VIEW in out.data
    ]


def _model(notebook: nbformat.NotebookNode, model_id: str) -> dict:
    return notebook.metadata.widgets[STATE]["state"][model_id]["state"]


def _input_grads(body: dict) -> dict[str, object]:
    """The gradients of a column-layout body's inputs, by name."""
    nodes = body["nodes"]
    return {name: grad for name, grad, op in zip(nodes["name"], nodes["grad"], nodes["op"]) if op == "input"}


def _shows(notebook: nbformat.NotebookNode) -> list[tuple[nbformat.NotebookNode, dict]]:
    """Each cell that shows a viewer, with its widget's state (one viewer per such cell)."""
    found = []
    for cell in _code_cells(notebook):
        views = _views(cell)
        if "chainlens.show(" in cell.source:
            assert len(views) == 1, cell.source
            found.append((cell, _model(notebook, views[0])))
        else:
            assert views == []
    return found


def test_every_cell_ran_without_an_error(executed: nbformat.NotebookNode) -> None:
    for cell in _code_cells(executed):
        assert cell.execution_count is not None
        assert not [out for out in cell.outputs if out.output_type == "error"], cell.source
        assert not [out for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"], cell.source


def test_four_viewers_each_a_widget_of_chainlens(executed: nbformat.NotebookNode) -> None:
    shows = _shows(executed)
    assert len(shows) == 4
    for cell, state in shows:
        assert state["_anywidget_id"].endswith("Viewer")
        height = int(re.search(r"height=(\d+)", cell.source).group(1))
        assert state["height"] == height
        body = json.loads(state["body"])
        assert body["format"] == "columns" and body["steps"]["node"], "a backward timeline"
        assert state["request"]["expression"] and body["nodes"]["op"]


def test_the_chain_rule_cell_prints_and_shows_the_tutorials_numbers(executed: nbformat.NotebookNode) -> None:
    cell, state = _shows(executed)[0]
    assert _text(cell) == "value: -12.0\ngrads: {'x': -4.0, 'y': -4.0, 'z': 3.0}\n"
    body = json.loads(state["body"])
    assert _input_grads(body) == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert body["nodes"]["value"][body["output"]] == -12.0
    assert state["request"] == {
        "expression": "q = x + y\nf = q * z",
        "inputs": {"x": -2.0, "y": 5.0, "z": -4.0},
        "grad_output": None,
    }
    assert state["torch_grads"] == ""  # a program: nothing from PyTorch to show beside it


def test_the_chain_rule_equals_pytorchs_gradients(executed: nbformat.NotebookNode) -> None:
    text = next(_text(cell) for cell in _code_cells(executed) if "((x + y) * z).backward()" in cell.source)
    assert text == "torch grads: {'x': -4.0, 'y': -4.0, 'z': 3.0}\nchain rule max_rel_error: 0\n"


@pytest.mark.parametrize("index, name", [(1, "mlp"), (2, "cnn"), (3, "transformer")])
def test_each_model_equals_pytorch_in_the_print_and_in_the_viewer(
    executed: nbformat.NotebookNode, index: int, name: str
) -> None:
    cell, state = _shows(executed)[index]
    printed = float(re.search(rf"^{name} max_rel_error: (\S+)$", _text(cell), re.MULTILINE).group(1))
    assert 0 <= printed < 1e-9
    # What the viewer holds: chainlens's gradients in the graph body and PyTorch's beside them.
    mine = _input_grads(json.loads(state["body"]))
    theirs = json.loads(state["torch_grads"])
    assert theirs and set(theirs) <= set(mine)
    scale = max(float(np.abs(np.asarray(g)).max()) for g in theirs.values())
    for input_name, grad in theirs.items():
        np.testing.assert_allclose(mine[input_name], grad, rtol=1e-9, atol=1e-12 * scale, err_msg=input_name)


def test_the_mlp_cell_prints_the_translated_program(executed: nbformat.NotebookNode) -> None:
    cell, state = _shows(executed)[1]
    assert _text(cell).startswith(
        "fc1 = F.linear(x, fc1_weight, fc1_bias)\nrelu = F.relu(fc1)\nfc2 = F.linear(relu, fc2_weight, fc2_bias)\n"
    )
    assert state["request"]["expression"].startswith("fc1 = F.linear(x, fc1_weight, fc1_bias)")
    assert set(json.loads(state["torch_grads"])) == {"x", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"}


def test_the_transformer_blocks_modules_are_boxes_and_every_gradient_is_listed(
    executed: nbformat.NotebookNode,
) -> None:
    _, state = _shows(executed)[3]
    labels = {group["label"] for group in json.loads(state["body"])["groups"]}
    assert {"ln_1", "attn", "attn.c_attn", "ln_2", "mlp.c_fc"} <= labels
    last = _code_cells(executed)[-1]
    rows = [line.split() for line in _text(last).splitlines()]
    assert {name for name, _ in rows} == set(json.loads(state["torch_grads"]))
    assert all(float(error) < 1e-9 for _, error in rows)

"""app/api/budget.py: a small graph's memory estimate, made by a loop over its nodes, is the one
numpy's sums give (the loop only saves their fixed cost)."""

from __future__ import annotations

import pytest

import app.api.budget as budget
from app.core import evaluate
from app.examples import EXAMPLES
from app.examples_layers import LAYER_EXAMPLES


def graphs() -> list:
    found = []
    for example in [*EXAMPLES, *LAYER_EXAMPLES]:
        if any(isinstance(raw, dict) and "dataset" in raw for raw in example["inputs"].values()):
            continue  # a training example: its program runs on batches of its dataset
        evaluate(
            example["expression"],
            example["inputs"],
            example.get("grad_output"),
            plan=lambda graph, inputs: found.append(graph),
        )
    chain = "\n".join(["y0 = x * w"] + [f"y{k} = tanh(y{k - 1}) * w + x" for k in range(1, 30)])
    evaluate(chain, {"x": {"init": "randn", "shape": [3, 4]}, "w": 2.0}, plan=lambda graph, inputs: found.append(graph))
    # Scalars that all take a gradient (the numpy sums count their edges per node), through ops
    # whose local derivative is not written (sum, mean: a vector-Jacobian product).
    scalars = "y = sum(x * w) + maximum(x, w)\nz = mean(y) * y"
    evaluate(scalars, {"x": 0.5, "w": -2.0}, plan=lambda graph, inputs: found.append(graph))
    # ... and some that take none: constants, an input that does not, what is made of them only.
    scalars += "\nz = z * 2 + sum(c * 3.5) * (c + 1) + maximum(z, 0.5) + detach(y) * sum(y)"
    fixed = {"value": 1.5, "requires_grad": False}
    evaluate(scalars, {"x": 0.5, "w": -2.0, "c": fixed}, plan=lambda graph, inputs: found.append(graph))
    return found


@pytest.mark.parametrize("layout", ["objects", "columns"])
@pytest.mark.parametrize("backward", [True, False])
def test_the_small_graph_loop_and_the_numpy_sums_agree(monkeypatch, layout, backward):
    found = graphs()
    assert len(found) > 10 and any(len(graph) > budget.SMALL_GRAPH_NODES for graph in found)
    for graph in found:
        for full, step in ((1000, 100), (10, 2)):
            monkeypatch.setattr(budget, "SMALL_GRAPH_NODES", 0)
            by_numpy = budget.estimate(graph, backward, full, step, layout=layout)
            monkeypatch.setattr(budget, "SMALL_GRAPH_NODES", 10**9)
            by_loop = budget.estimate(graph, backward, full, step, layout=layout)
            assert by_loop == by_numpy > 0

"""The exported PyTorch script (POST /graph/pytorch) of every layers parity program reproduces
chainlens' output and input gradients: the spellings of app/export/pytorch_layers.py are right."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from test_layers_parity import CASES, Case, _input_grad, _request

from app.core import evaluate
from app.engine.layers import LAYERS
from app.export.pytorch import SPELLINGS, pytorch_script


def test_every_layer_op_has_a_spelling() -> None:
    assert set(LAYERS) <= set(SPELLINGS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_exported_script_reproduces_the_engine(case: Case) -> None:
    result = evaluate(case.program, _request(case))
    script = pytorch_script(result.graph, result.seed)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(script, "exported.py", "exec"), {"__name__": "exported"})  # noqa: S102  (the test runs the script it exported)
    answer = json.loads(printed.getvalue())
    np.testing.assert_allclose(answer["output"], result.values[result.output], rtol=1e-10, atol=1e-12)
    for name, grad in answer["grads"].items():
        ours = _input_grad(result, name)
        if grad is None:
            assert ours is None or not np.any(ours), name
        else:
            np.testing.assert_allclose(grad, ours, rtol=1e-10, atol=1e-10, err_msg=f"{case.program}: ∂/∂{name}")

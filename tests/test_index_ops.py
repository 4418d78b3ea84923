"""Issue 19's primitives beyond the op-by-op checks of tests/test_gradcheck.py and tests/test_parity.py:

- chains against live PyTorch (float64): an embedding lookup and paired indexing feeding a loss,
  a masked softmax with -inf scores and fully masked rows, NaN and ±inf through the new ops;
- the training path (app.engine.lean) gives the recording path's numbers on the same graphs,
  variadic operands and zero-operand ops included;
- the step record: one backward step per operand of cat/stack (its slice of the upstream
  gradient), the scattered gradient as an index's contribution, formulas per operand slot;
- index values checked at forward (a 422 naming the place), shapes refused statically;
- every op's PyTorch export (app/export/pytorch.py) reproduces the engine's gradients.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from op_calls import build_call, evaluate_call
from parity_programs import CASES

from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.lean import LeanPass
from app.engine.run import seed_for
from app.export.pytorch import pytorch_script

DTYPE = torch.float64
RTOL = 1e-10


def _t(value, grad: bool = True) -> torch.Tensor:
    return torch.tensor(value, dtype=DTYPE, requires_grad=grad)


def _close(actual, expected, what: str = "") -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=RTOL,
        atol=1e-12,
        err_msg=what,
    )


def _grads(result) -> dict:
    graph = result.graph
    return {graph.names[k]: result.grads[k] for k in range(len(graph)) if graph.ops[k] is None and graph.names[k]}


# --- chains against PyTorch ---------------------------------------------------------------------------


def test_embedding_lookup_and_paired_indexing_match_pytorch():
    """makemore's MLP loss path: C[Xb] (rows repeat), view, logits, logprobs[range(n), Yb].mean()."""
    rng = np.random.default_rng(0)
    C = rng.normal(size=(6, 2))
    W = rng.normal(size=(6, 6))
    Xb = [[0, 5, 5], [2, 0, 0], [5, 5, 5], [1, -1, 0]]
    Yb = [3, 0, 5, -2]
    program = (
        "emb = C[Xb]\nh = emb.view(4, -1)\nlogits = h @ W\n"
        "logprobs = log_softmax(logits, axis=1)\nloss = -logprobs[range(4), Yb].mean()"
    )
    result = evaluate(
        program,
        {
            "C": C.tolist(),
            "W": W.tolist(),
            "Xb": {"value": Xb, "requires_grad": False},
            "Yb": {"value": Yb, "requires_grad": False},
        },
    )
    tC, tW = _t(C), _t(W)
    logprobs = torch.log_softmax(tC[torch.tensor(Xb)].view(4, -1) @ tW, dim=1)
    loss = -logprobs[torch.arange(4), torch.tensor(Yb)].mean()
    loss.backward()
    grads = _grads(result)
    _close(result.values[result.output], loss.item(), "loss")
    _close(grads["C"], tC.grad, "∂loss/∂C (repeated rows accumulate)")
    _close(grads["W"], tW.grad, "∂loss/∂W")


def test_masked_softmax_with_minus_inf_rows_matches_pytorch():
    """A causal mask by masked_fill with -inf; a fully masked row is NaN in PyTorch, and in the engine."""
    scores = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5], [0.2, 0.3, 0.4]])
    mask = [[1, 0, 0], [0, 0, 0], [1, 1, 1]]  # row 1: every score masked
    g = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, 0.1], [2.0, 1.0, -1.0]])
    result = evaluate(
        "s = masked_fill(x, m == 0, value=-1e400)\np = softmax(s, axis=-1)\nout = p * g",
        {
            "x": scores.tolist(),
            "m": {"value": mask, "requires_grad": False},
            "g": {"value": g.tolist(), "requires_grad": False},
        },
    )
    tx = _t(scores)
    p = torch.softmax(tx.masked_fill(torch.tensor(mask) == 0, float("-inf")), dim=-1)
    (p * torch.tensor(g)).sum().backward()
    out = result.values[result.output]
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()
    _close(out, (p * torch.tensor(g)).detach(), "values (NaN where PyTorch has NaN)")
    _close(_grads(result)["x"], tx.grad, "∂/∂x")


@pytest.mark.parametrize("op", ["where", "clamp", "logsumexp", "argmax", "argmin", "cat", "var", "gather", "tril"])
def test_nan_and_infinities_pass_through_as_in_pytorch(op):
    x = [[1.0, float("nan"), -float("inf")], [float("inf"), 2.0, 2.0], [-float("inf"), -float("inf"), -float("inf")]]
    c = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]]
    tx = _t(x)
    calls = {
        "where": (lambda: torch.where(torch.tensor(c) != 0, tx, 2 * tx), None, "out = where(c, x, 2 * x)"),
        "clamp": (lambda: torch.clamp(tx, -1.0, 1.5), ("clamp", {"min": -1.0, "max": 1.5}), None),
        "logsumexp": (lambda: torch.logsumexp(tx, dim=1), None, "out = logsumexp(x, axis=1)"),
        "argmax": (lambda: torch.argmax(tx, dim=1).to(DTYPE), None, "out = argmax(x, axis=1)"),
        "argmin": (lambda: torch.argmin(tx, dim=0).to(DTYPE), None, "out = argmin(x, axis=0)"),
        "cat": (lambda: torch.cat([tx, tx], dim=0), ("cat", {"axis": 0}), None),
        "var": (lambda: torch.var(tx, dim=1), None, "out = var(x, axis=1)"),
        "gather": (lambda: torch.gather(tx, 1, torch.tensor([[2, 2], [0, 1], [1, 0]])), ("gather", {"axis": 1}), None),
        "tril": (lambda: torch.tril(tx), None, "out = tril(x)"),
    }
    torch_fn, call, program = calls[op]
    expected = torch_fn()
    inputs = {"x": x}
    if program is not None:
        result = evaluate(program, {"x": x, "c": {"value": c, "requires_grad": False}})
    elif op == "cat":
        result = evaluate_call("cat", call[1], inputs, operands=["x", "x"])
    elif op == "gather":
        positions = {"value": [[2, 2], [0, 1], [1, 0]], "requires_grad": False}
        result = evaluate_call("gather", call[1], {"x": x, "i": positions})
    else:
        result = evaluate_call(*call, inputs)
    _close(result.values[result.output], expected.detach(), f"{op}: values")
    if expected.requires_grad:
        expected.sum().backward()
        _close(_grads(result)["x"], tx.grad, f"{op}: ∂/∂x")


def test_max_pair_by_gather_sends_the_whole_gradient_to_the_first_maximum():
    """torch.max(x, 1).values on ties: values = gather(x, argmax(x, 1, keepdims=True), 1), as PyTorch."""
    x = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    result = evaluate(
        "i = argmax(x, axis=1, keepdims=True)\nv = gather(x, i, axis=1)\nout = v * w",
        {"x": x, "w": {"value": [[2.0], [5.0]], "requires_grad": False}},
    )
    tx = _t(x)
    values, _ = torch.max(tx, 1, keepdim=True)
    (values * torch.tensor([[2.0], [5.0]], dtype=DTYPE)).sum().backward()
    assert tx.grad.tolist() == [[0.0, 2.0, 0.0], [5.0, 0.0, 0.0]]
    _close(_grads(result)["x"], tx.grad)


# --- the training path --------------------------------------------------------------------------------


LEAN_PROGRAMS = [
    (
        "emb = C[Xb]\nh = cat(emb[:, 0], emb[:, 1], axis=1)\nz = stack(sum(h), sum(h * h))\nloss = sum(z * ones((2,)))",
        {
            "C": [[0.5, -1.0], [2.0, 0.25], [1.5, 1.0]],
            "Xb": {"value": [[0, 2], [2, 2], [1, 0]], "requires_grad": False},
        },
    ),
    (
        (
            "s = where(m, x, -x)\nt = clamp(s, min=-0.5, max=0.75)\n"
            "loss = sum(logsumexp(t * w, axis=1)) + var(x) + std(x, axis=0).sum()"
        ),
        {
            "x": [[0.1, -0.7, 1.2], [0.4, 0.9, -0.3]],
            "w": [1.0, 2.0, -1.0],
            "m": {"value": [[1, 0, 1], [0, 0, 1]], "requires_grad": False},
        },
    ),
    (
        (
            "i = argmax(x, axis=1, keepdims=True)\nv = gather(x, i, axis=1)\n"
            "m = masked_fill(x, x > 0.5, value=-1e400)\n"
            "loss = sum(v) + sum(softmax(m, axis=1) * x) + sum(arange(3) * eye(3)[1] * x)"
        ),
        {"x": [[0.1, -0.7, 1.2], [0.4, 0.9, -0.3]]},
    ),
    (
        "out = sum(linear_t(x, W, b) * tril(ones((3, 3)))[:2])",
        {
            "x": [[1.0, 2.0, 0.5], [0.0, -1.0, 2.0]],
            "W": [[0.1, 0.2, 0.3], [0.4, -0.5, 0.6], [0.7, 0.8, -0.9]],
            "b": [0.1, 0.2, 0.3],
        },
    ),
]


@pytest.mark.parametrize(("program", "inputs"), LEAN_PROGRAMS)
def test_the_training_pass_gives_the_recording_passes_numbers(program, inputs):
    result = evaluate(program, inputs)
    graph = result.graph
    targets = [k for k in range(len(graph)) if graph.ops[k] is None and graph.requires_grad[k]]
    lean = LeanPass(graph, targets)
    with np.errstate(all="ignore"):
        value = lean.forward()
        grads = lean.backward()
    _close(value, result.values[result.output])
    for k in targets:
        _close(grads[k], result.grads[k], graph.names[k])


# --- the step record ----------------------------------------------------------------------------------


def test_cat_sends_each_operand_its_slice_of_the_upstream_gradient():
    result = evaluate_call(
        "cat",
        {"axis": 1},
        {"a": [[1.0], [2.0]], "b": [[3.0, 4.0], [5.0, 6.0]]},
        [[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]],
    )
    steps = sorted(result.steps, key=lambda step: step.slot)
    assert [step.slot for step in steps] == [0, 1]
    assert np.asarray(steps[0].contribution).tolist() == [[10.0], [40.0]]
    assert np.asarray(steps[1].contribution).tolist() == [[20.0, 30.0], [50.0, 60.0]]


def test_an_index_step_records_the_scattered_gradient():
    result = evaluate(
        "y = C[i]",
        {"C": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "i": {"value": [2, 0, 2, -1], "requires_grad": False}},
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]],
    )
    (step,) = result.steps
    # rows 0 and 3 (-1) of the upstream go to C's last row, with row 2: they add up
    assert np.asarray(step.contribution).tolist() == [[3.0, 4.0], [0.0, 0.0], [13.0, 16.0]]
    assert step.local is None and step.slot == 0


def test_variadic_formulas_name_each_operand():
    from app.api.encode import graph_body

    result = evaluate("out = stack(a, b * 2, axis=0)", {"a": [1.0, 2.0], "b": [3.0, 4.0]})
    body = json.loads(graph_body(result, 100, 100))
    formulas = {
        step["slot"]: step["local"]["formula"]
        for step in body["steps"]
        if step["phase"] == "backward" and body["nodes"][step["node"]]["op"] == "stack"
    }
    assert "∂L/∂a " in formulas[0] and "∂L/∂(b * 2) " in formulas[1]


def test_minus_inf_params_are_written_as_the_contract_writes_infinities(client):
    response = client.post(
        "/graph/backward",
        json={"expression": "out = masked_fill(x, m, value=-1e400)", "inputs": {"x": [1.0, 2.0], "m": [0, 1]}},
    )
    assert response.status_code == 200, response.text
    node = response.json()["nodes"][-1]
    assert node["op"] == "masked_fill" and node["params"] == {"value": "-Infinity"}
    assert node["value"] == [1.0, "-Infinity"]


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0, 1.5], "index values must be integers"),
        ([0, float("nan")], "index values must be integers"),
        ([3], r"index values must lie in \[-3, 2\]"),
        ([-4], r"index values must lie in \[-3, 2\]"),
    ],
)
def test_index_values_are_checked_at_forward(values, message):
    with pytest.raises(ProgramError, match=message) as caught:
        evaluate("y = 1\nz = C[i]", {"C": [1.0, 2.0, 3.0], "i": {"value": values, "requires_grad": False}})
    assert caught.value.kind == "invalid_input"
    assert (caught.value.start, caught.value.end) == (10, 14)  # C[i] on line 2


def test_bad_index_values_are_a_422_with_the_place(client):
    response = client.post(
        "/graph/backward",
        json={
            "expression": "h = x * 2\ny = h[i]",
            "inputs": {"x": [1.0, 2.0], "i": {"value": [0.5], "requires_grad": False}},
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert "index values must be integers" in error["message"] and (error["line"], error["column"]) == (2, 5)


@pytest.mark.parametrize(
    ("op", "params", "inputs", "message"),
    [
        ("index", {"key": (3,)}, {"x": [1.0, 2.0, 3.0]}, "index 3 is out of range for axis 0 of size 3"),
        ("index", {"key": (0, 0)}, {"x": [1.0, 2.0]}, "indexes 2 axes of a tensor with 1"),
        ("index", {"key": ((None, None, -1),)}, {"x": [1.0, 2.0]}, "step must be positive"),
        (
            "index",
            {"key": ("tensor", "tensor")},
            {"x": [[1.0]], "i": [0.0, 0.0], "j": [0.0, 0.0, 0.0]},
            "cannot be broadcast",
        ),
        ("cat", {"axis": 0}, {"a": [[1.0, 2.0]], "b": [[1.0]]}, "same sizes on every other axis"),
        ("cat", {"axis": 0}, {"a": 1.0, "b": 2.0}, "scalars cannot be concatenated"),
        ("stack", {"axis": 0}, {"a": [1.0], "b": [1.0, 2.0]}, "one shape"),
        ("stack", {"axis": 2}, {"a": [1.0], "b": [1.0]}, "axis 2 is out of range"),
        ("gather", {"axis": 0}, {"x": [1.0, 2.0], "i": [[0.0]]}, "as many as the tensor's 1"),
        ("tril", {"diagonal": 0}, {"x": [1.0, 2.0]}, "at least two axes"),
        ("clamp", {"min": None, "max": None}, {"x": [1.0]}, "needs min or max"),
        ("arange", {"start": 0, "end": 5, "step": 0}, {}, "step cannot be zero"),
        ("arange", {"start": 0, "end": 5, "step": -1}, {}, "cannot go by steps of -1"),
        ("arange", {"start": -1e308, "end": 1e308, "step": 1e-300}, {}, "more elements than a tensor can hold"),
        ("arange", {"start": 0, "end": float("inf"), "step": 1}, {}, "finite start, end and step"),
        ("ones", {"shape": (2, -1)}, {}, "negative size"),
    ],
)
def test_shapes_are_refused_before_anything_runs(op, params, inputs, message):
    with pytest.raises(ProgramError, match=message) as caught:
        build_call(op, params, inputs)
    assert caught.value.kind == "shape_mismatch"


def test_gather_refuses_negative_positions_as_torch_gather_does():
    with pytest.raises(ProgramError, match=r"must lie in \[0, 1\]"):
        evaluate_call("gather", {"axis": 0}, {"x": [1.0, 2.0], "i": {"value": [-1], "requires_grad": False}})


# --- the PyTorch export of every new op ---------------------------------------------------------------

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


def test_exported_scripts_of_the_direct_calls_reproduce_the_engines_gradients(tmp_path):
    """tests/test_check_export.py runs the program cases; the cases that call an op directly are run here."""
    cases = [case for case in CASES if "call" in case]
    results, paths = {}, []
    for case in cases:
        result = evaluate_call(case["call"]["op"], case["call"]["params"], case["inputs"], case["grad_output"])
        grad_output = case["grad_output"]
        seed = seed_for(
            result.graph,
            None if grad_output is None else (np.asarray(grad_output, dtype=np.float64), np.shape(grad_output)),
        )
        path = tmp_path / f"{case['id']}.py"
        path.write_text(pytorch_script(result.graph, seed))
        results[str(path)] = result
        paths.append(str(path))
    run = subprocess.run(
        [sys.executable, "-c", _RUNNER, *paths], capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    for path, result in results.items():
        torch_says = json.loads(printed[path])
        value = result.values[result.output]
        got = np.asarray(torch_says["output"], dtype=np.float64).reshape(np.shape(value))
        _close(got, value, f"{path}: output")
        for name, grad in _grads(result).items():
            if grad is None:
                assert torch_says["grads"].get(name) is None, (path, name)
                continue
            exported = np.asarray(torch_says["grads"][name], dtype=np.float64).reshape(np.shape(grad))
            _close(exported, grad, f"{path}: {name}")


def test_a_zero_d_index_tensor_selects_as_an_int_does():
    """p[targets[t], 0]-style: a 0-d tensor index is a select (PyTorch), not a numpy advanced index."""
    x = np.arange(24.0).reshape(2, 3, 4)
    g = np.arange(15.0).reshape(3, 5)
    result = evaluate_call(
        "index",
        {"key": ("tensor", (None, None, None), "tensor")},
        {
            "x": x.tolist(),
            "t": {"value": 1, "requires_grad": False},
            "i": {"value": [0, 2, 3, 1, 0], "requires_grad": False},
        },
        g,
    )
    tx = _t(x)
    out = tx[torch.tensor(1), :, torch.tensor([0, 2, 3, 1, 0])]
    assert out.shape == (3, 5) and result.graph.shapes[result.output] == (3, 5)
    out.backward(torch.tensor(g))
    _close(result.values[result.output], out.detach())
    _close(_grads(result)["x"], tx.grad)
    with pytest.raises(ProgramError, match="out of range for axis 0 of size 2"):
        evaluate_call("index", {"key": ("tensor",)}, {"x": x.tolist(), "t": {"value": 2, "requires_grad": False}})
    with pytest.raises(ProgramError, match="must be integers"):
        evaluate_call(
            "index", {"key": ("tensor",)}, {"x": x.tolist(), "t": {"value": "Infinity", "requires_grad": False}}
        )


def test_an_empty_result_reads_no_position_as_in_pytorch():
    """PyTorch checks no index value where the result is empty (t[Xb, 2:2] is (3, 0) whatever Xb holds)."""
    inputs = {"x": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "Xb": {"value": [0, 2, 2], "requires_grad": False}}
    result = evaluate("t = x[0:1]\ny = t[Xb, 2:2]\nz = y.sum()", inputs)
    tx = _t(inputs["x"])
    y = tx[0:1][torch.tensor([0, 2, 2]), 2:2]
    y.sum().backward()
    assert result.graph.shapes[result.graph.names.index("y")] == tuple(y.shape) == (3, 0)
    _close(_grads(result)["x"], tx.grad)
    graph = result.graph
    lean = LeanPass(graph, [graph.names.index("x")])
    with np.errstate(all="ignore"):
        lean.forward()
        _close(lean.backward()[graph.names.index("x")], tx.grad)


def test_gather_checks_positions_at_forward():
    with pytest.raises(ProgramError, match=r"must lie in \[0, 1\]") as caught:
        evaluate(
            "y = gather(x, i, axis=1)",
            {"x": [[1.0, 2.0]], "i": {"value": [[5]], "requires_grad": False}},
            backward=False,
        )
    assert caught.value.kind == "invalid_input" and (caught.value.start, caught.value.end) == (4, 24)


def _random_subscript(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple, list[np.ndarray]]:
    """An x shape (axes of 0 to 3, empty ones too), a key of up to 4 items (one ... at most) and its index tensors."""
    shape = tuple(int(d) for d in rng.integers(0, 4, size=rng.integers(0, 4)))
    key, tensors, ellipsis = [], [], False
    for _ in range(rng.integers(0, 5)):
        kind = rng.random()
        if kind < 0.2:
            key.append(int(rng.integers(-3, 4)))
        elif kind < 0.45:
            key.append(
                (
                    rng.choice([None, -4, -2, -1, 0, 1, 2, 4]),
                    rng.choice([None, -4, -1, 0, 1, 2, 3, 5]),
                    rng.choice([None, 1, 2, 3]),
                )
            )
        elif kind < 0.55:
            key.append(None)
        elif kind < 0.62 and not ellipsis:
            key.append("...")
            ellipsis = True
        else:
            index_shape = [(), (2,), (3, 1), (1, 2), (0,)][rng.integers(0, 5)]
            tensors.append(rng.integers(-3, 4, size=index_shape).astype(np.float64))
            key.append("tensor")
    return shape, tuple(key), tensors


def test_random_subscripts_match_pytorch():
    """400 subscripts of every kind on small and empty tensors: the same refusals, values and gradients as
    PyTorch (positions out of range included: PyTorch checks them only where it reads them)."""
    rng = np.random.default_rng(19)
    compared = 0
    for _ in range(400):
        shape, key, tensors = _random_subscript(rng)
        x = np.arange(float(np.prod(shape))).reshape(shape) * 0.5 + 1.0
        inputs = {"x": {"init": "zeros", "shape": list(shape)} if 0 in shape else (x.tolist() if shape else float(x))}
        for k, index in enumerate(tensors):
            inputs[f"i{k}"] = (
                {"init": "zeros", "shape": list(index.shape), "requires_grad": False}
                if index.size == 0
                else {"value": index.tolist() if index.ndim else float(index), "requires_grad": False}
            )
        tx = _t(np.zeros(shape) if 0 in shape else x)
        positions = iter(tensors)
        items = tuple(
            torch.tensor(next(positions), dtype=torch.long)
            if item == "tensor"
            else Ellipsis
            if item == "..."
            else slice(*item)
            if isinstance(item, tuple)
            else item
            for item in key
        )
        try:
            expected = tx[items]
        except (IndexError, RuntimeError):
            with pytest.raises(ProgramError):
                evaluate_call("index", {"key": key}, inputs, backward=False)
            continue
        upstream = np.arange(expected.numel(), dtype=np.float64).reshape(tuple(expected.shape)) + 1.0
        result = evaluate_call("index", {"key": key}, inputs, upstream if upstream.size else None)
        out = np.asarray(result.values[result.output])
        assert out.shape == tuple(expected.shape), (shape, key)
        assert np.array_equal(out, expected.detach().numpy()), (shape, key)
        if upstream.size:
            expected.backward(torch.tensor(upstream))
            assert np.array_equal(np.asarray(result.grads[0]), tx.grad.numpy()), (shape, key)
        compared += 1
    assert compared > 150  # about 2 in 5 are refused (positions drawn out of range, too many items)

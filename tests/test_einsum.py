"""einsum, PyTorch's bool tensors (.bool(), ~, logical ops) and the casts, against PyTorch live.

einsum's values and the gradient of every operand match torch.einsum (float64, relative 1e-10) over
the equations attention code and the textbooks write: matmul, batched matmul, outer product,
transpose, trace, diagonal, a full sum, ellipsis, broadcasting, three operands, implicit outputs;
spelled as torch.einsum, np.einsum, the bare name and with the operands in a list. (Finite
differences: tests/test_gradcheck.py; non-finite inputs: tests/test_nonfinite.py; hostile equations:
tests/test_layers_hostile.py.) The masks are PyTorch's bool tensors as 0.0/1.0. nanoGPT's masked
attention written with einsum, .bool() and ~ runs end to end through POST /graph/backward with
PyTorch's gradients in tests/dialect_corpus.py ("attention_einsum_bool_mask").
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from app.core import evaluate
from app.engine import einsum as einsum_module
from app.engine.errors import LimitExceeded
from tests.conftest import by_name

RTOL = 1e-10


def _values(seed: int, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in shapes]


def _given(value: np.ndarray) -> object:
    """An input as the API takes it (an empty tensor by its shape: [] would be one of shape (0,))."""
    return value.tolist() if value.size else {"init": "zeros", "shape": list(value.shape)}


def assert_close(actual, expected, what: str) -> None:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, PyTorch {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-12 * scale, err_msg=what)


EQUATIONS = [
    # (id, equation, operand shapes)
    ("matmul", "ij,jk->ik", [(3, 4), (4, 5)]),
    ("batched-matmul", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("attention-scores", "bid,bjd->bij", [(2, 4, 3), (2, 5, 3)]),
    ("outer", "i,j->ij", [(3,), (4,)]),
    ("transpose", "ij->ji", [(3, 4)]),
    ("trace", "ii->", [(4, 4)]),
    ("diagonal", "ii->i", [(4, 4)]),
    ("sum", "ij->", [(3, 4)]),
    ("ellipsis", "...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ellipsis-summed", "...ij->ij", [(2, 3, 4)]),
    ("broadcast", "ij,ij->ij", [(3, 1), (3, 4)]),
    ("broadcast-contracted", "ij,jk", [(2, 1), (3, 4)]),
    ("three-operands", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("implicit-sorted", "ba", [(2, 3)]),
    ("implicit-uppercase-first", "aB,Bc", [(2, 3), (3, 4)]),
    ("dot", "i,i", [(5,), (5,)]),
    ("repeated-across", "iji->j", [(3, 2, 3)]),
    ("diagonal-times-vector", "ii,i->i", [(1, 1), (3,)]),
    ("spaces", "b i d , b j d -> b i j", [(2, 3, 4), (2, 5, 4)]),
    ("empty", "ij,jk->ik", [(2, 0), (0, 3)]),
    # two operands are one matmul: batch letters broadcast, letters summed alone, outputs reordered
    ("batch-broadcast", "bij,bjk->bik", [(1, 2, 3), (4, 3, 2)]),
    ("summed-alone", "ij,kl->i", [(2, 3), (4, 2)]),
    ("reordered", "ij,jk->ki", [(2, 3), (3, 4)]),
    ("scalar-operand", ",i->i", [(), (3,)]),
    ("heads", "bhqd,bhkd->bhqk", [(2, 3, 4, 2), (2, 3, 5, 2)]),
    # letters before the closing quote that Python would read as a string prefix (b'', rf'')
    ("batched-dot", "bi,bi->b", [(3, 4), (3, 4)]),
    ("prefix-letters", "ru,uf->rf", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize(("equation", "shapes"), [case[1:] for case in EQUATIONS], ids=[case[0] for case in EQUATIONS])
@pytest.mark.parametrize("spelling", ["torch.einsum", "np.einsum", "einsum", "list", "optimize"])
def test_einsum_matches_pytorch(equation: str, shapes: list, spelling: str) -> None:
    names = [f"x{k}" for k in range(len(shapes))]
    values = _values(len(shapes) + sum(map(len, shapes)), *shapes)
    operands = f"[{', '.join(names)}]" if spelling == "list" else ", ".join(names)
    operands += ", optimize='greedy'" if spelling == "optimize" else ""  # numpy's contraction order: no number changes
    function = {"list": "torch.einsum", "optimize": "np.einsum"}.get(spelling, spelling)
    upstream_shape = torch.einsum(equation, *map(torch.tensor, values)).shape
    upstream = _values(7, tuple(upstream_shape))[0]
    result = evaluate(
        f'y = {function}("{equation}", {operands})',
        {n: _given(v) for n, v in zip(names, values)},
        grad_output=upstream.tolist(),
    )
    tensors = [torch.tensor(v, requires_grad=True) for v in values]
    expected = torch.einsum(equation, *tensors)
    expected.backward(torch.tensor(upstream))
    graph = result.graph
    assert_close(result.values[result.output], expected.detach().numpy(), f"{equation}: value")
    for name, tensor in zip(names, tensors):
        node = graph.names.index(name)
        assert_close(result.grads[node], tensor.grad.numpy(), f"{equation}: ∂/∂{name}")


def test_an_operand_given_twice_gets_both_gradients() -> None:
    (x,) = _values(3, (3, 3))
    result = evaluate('y = torch.einsum("ij,jk->", x, x)', {"x": x.tolist()})
    tensor = torch.tensor(x, requires_grad=True)
    torch.einsum("ij,jk->", tensor, tensor).backward()
    assert_close(result.grads[result.graph.names.index("x")], tensor.grad.numpy(), "x twice")


# --- masks: PyTorch's bool tensors as 0.0/1.0 ---------------------------------------------------------

X = np.array([[0.0, 1.5, -2.0, np.nan], [0.5, 0.0, -0.0, 3.0], [0.0, np.inf, 1.0, -1.0]])
Y = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, -1.0]])


def _bools(fn) -> np.ndarray:
    return fn(torch.tensor(X), torch.tensor(Y)).to(torch.float64).numpy()


MASKS = [
    ("x.bool()", lambda x, y: x.bool()),
    ("x.to(torch.bool)", lambda x, y: x.to(torch.bool)),
    ("x.to(dtype=torch.bool)", lambda x, y: x.to(dtype=torch.bool)),
    ("~x.bool()", lambda x, y: ~x.bool()),
    ("~(x > 0)", lambda x, y: ~(x > 0)),
    ("~~(x > 0)", lambda x, y: ~~(x > 0)),
    ("-x.bool().float() + ~(y > 0)", lambda x, y: -x.bool().float() + ~(y > 0)),
    ("x.logical_not()", lambda x, y: x.logical_not()),
    ("torch.logical_not(x)", lambda x, y: torch.logical_not(x)),
    ("np.logical_not(x)", lambda x, y: torch.logical_not(x)),
    ("x.logical_and(y)", lambda x, y: x.logical_and(y)),
    ("torch.logical_and(x > 0, y)", lambda x, y: torch.logical_and(x > 0, y)),
    ("torch.logical_or(x, y.bool())", lambda x, y: torch.logical_or(x, y.bool())),
    ("np.logical_or(x, y)", torch.logical_or),
    ("torch.logical_xor(x, ~(y > 0))", lambda x, y: torch.logical_xor(x, ~(y > 0))),
    ("np.logical_xor(x, y)", torch.logical_xor),
    ("y.logical_or(x[0])", lambda x, y: y.logical_or(x[0])),
    ("torch.tril(torch.ones(3, 4)).bool()", lambda x, y: torch.tril(torch.ones(3, 4)).bool()),
]


@pytest.mark.parametrize(("program", "torch_fn"), MASKS, ids=[case[0] for case in MASKS])
def test_masks_match_pytorchs_bool_tensors(program: str, torch_fn) -> None:
    result = evaluate(f"m = {program}", {"x": X.tolist(), "y": Y.tolist()})
    np.testing.assert_array_equal(result.values[result.output], _bools(torch_fn))


@pytest.mark.parametrize("cast", ["float", "double", "long", "int"])
def test_numeric_casts_keep_the_values_and_the_gradient(cast: str) -> None:
    """Every tensor is float64: on integer values (where PyTorch's integer casts agree) a cast changes
    nothing, and the gradient flows through it as through float() and double()."""
    values = np.array([[1.0, -2.0, 3.0], [0.0, 5.0, -7.0]])
    result = evaluate(f"y = (x.{cast}() * x).sum()", {"x": values.tolist()})
    torch_x = torch.tensor(values)
    assert result.values[result.output] == float((getattr(torch_x, cast)() * torch_x).sum())
    np.testing.assert_array_equal(result.grads[result.graph.names.index("x")], 2 * values)


def test_a_mask_takes_no_gradient_and_is_not_cast_twice() -> None:
    result = evaluate("m = (x > 0).bool()\ny = (x * ~m).sum()", {"x": X[1:2, :2].tolist()})
    ops = [op.name for op in result.graph.ops if op is not None]
    assert ops == ["gt", "logical_not", "mul", "sum"]  # .bool() of a comparison is the comparison itself
    np.testing.assert_array_equal(result.grads[result.graph.names.index("x")], [[0.0, 1.0]])  # ~m, as m took none


# --- the budget -------------------------------------------------------------------------------------


def test_a_huge_einsum_is_refused_before_anything_is_allocated(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(einsum_module, "_forward", lambda *args, **kw: calls.append(args))
    inputs = {name: {"init": "zeros", "shape": [3000]} for name in "abcd"}
    with pytest.raises(LimitExceeded, match="units of work"):  # 3000⁴ combinations, a scalar result
        evaluate('y = torch.einsum("i,j,k,l->", a, b, c, d)', inputs)
    inputs = {"a": {"init": "zeros", "shape": [4000, 1]}, "b": {"init": "zeros", "shape": [1, 4000]}}
    with pytest.raises(LimitExceeded, match="intermediate"):  # a's gradient at 4000 × 4000 before it is summed
        evaluate('y = torch.einsum("ij,ij->", a, b)', inputs)
    assert not calls


def test_get_ops_lists_einsum_and_the_masks(client) -> None:
    body = client.get("/ops").json()
    ops = {op["name"]: op for op in body["ops"]}
    assert {"einsum", "bool", "logical_not", "logical_and", "logical_or", "logical_xor"} <= set(ops)
    assert ops["einsum"]["signature"] == "einsum(*operands, equation)"
    dialects = body["dialects"]
    for namespace in ("torch", "np"):
        assert dialects["namespaces"][namespace]["einsum"]["args"] == ["equation", "operands"]
        assert dialects["namespaces"][namespace]["logical_xor"]["op"] == "logical_xor"
    assert dialects["bare"]["einsum"]["args"] == ["equation", "operands"]
    assert {"bool", "int", "logical_not", "logical_and", "logical_or", "logical_xor"} <= set(dialects["methods"])


def test_the_pytorch_export_spells_einsum_and_the_masks(client, tmp_path) -> None:
    """POST /graph/pytorch writes torch.einsum and PyTorch's bool tensors; the script's gradients are the engine's."""
    program = (
        "m = torch.tril(torch.ones(3, 3)).bool()\n"
        "s = torch.einsum('ij,jk->ik', a, b).masked_fill(~m, 0.0)\n"
        "loss = (torch.logical_xor(m, a > 0) * s).sum() + np.einsum('ii', a)"
    )
    a, b = _values(5, (3, 3), (3, 3))
    body = {"expression": program, "inputs": {"a": a.tolist(), "b": b.tolist()}}
    script = tmp_path / "export.py"
    script.write_text(client.post("/graph/pytorch", json=body).text)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    exported = json.loads(run.stdout)
    nodes = by_name(client.post("/graph/backward", json=body).json())
    assert_close(exported["output"], nodes["loss"]["value"], "loss")
    for name in ("a", "b"):
        assert_close(exported["grads"][name], nodes[name]["grad"], f"∂loss/∂{name}")

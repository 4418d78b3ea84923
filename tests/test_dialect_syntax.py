"""Issue 19's front end: PyTorch, numpy and micrograd spellings, static Python, subscripts, loops.

Each program's output and every input's gradient are compared with PyTorch's (float64, relative
1e-10), the PyTorch side written out by hand; errors are checked for their kind and place.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app.core import evaluate
from app.engine import dialects
from app.engine.errors import ProgramError
from app.engine.limits import Limits
from app.engine.ops import OPS

RNG = np.random.default_rng(19)
X = RNG.standard_normal((4, 3)).round(3).tolist()
W = RNG.standard_normal((3, 5)).round(3).tolist()
B5 = RNG.standard_normal(5).round(3).tolist()
SQ = RNG.standard_normal((3, 3)).round(3).tolist()
ATT = RNG.standard_normal((2, 4, 6)).round(3).tolist()
XB = [0, 2, 2, 1, 0]  # repeated rows: their gradients accumulate
YB = [2, 0, 1, 2]


def fixed(value) -> dict:
    """An input that takes no gradient (class indices, index tensors)."""
    return {"value": value, "requires_grad": False}


def check(program: str, reference, **inputs) -> None:
    """The program's output and its inputs' gradients equal `reference`'s, computed by PyTorch on
    float64 tensors of the same inputs, passed by position in the order given (those given by fixed()
    as int64 and without gradient)."""
    result = evaluate(program, inputs)
    tensors = {}
    for name, raw in inputs.items():
        if isinstance(raw, dict):
            tensors[name] = torch.tensor(raw["value"], dtype=torch.int64)
        elif isinstance(raw, int):
            tensors[name] = raw
        else:
            tensors[name] = torch.tensor(raw, dtype=torch.float64, requires_grad=True)
    expected = reference(*tensors.values())  # by position, in the order the inputs are given
    out = result.values[result.output]
    np.testing.assert_allclose(np.asarray(out, dtype=float), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    expected.backward(torch.ones_like(expected))
    by_name = {
        result.graph.names[k]: k
        for k in range(len(result.graph))
        if result.graph.ops[k] is None and not result.graph.constant[k]
    }
    for name, tensor in tensors.items():
        if isinstance(tensor, torch.Tensor) and tensor.requires_grad:
            grad = result.grads[by_name[name]]
            want = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
            np.testing.assert_allclose(
                np.asarray(grad, dtype=float),
                want.numpy(),
                rtol=1e-10,
                atol=1e-12,
                err_msg=f"gradient of {name} in {program!r}",
            )


def error(program: str, inputs: dict | None = None, limits: Limits = Limits()) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        evaluate(program, inputs if inputs is not None else {"x": X}, limits=limits)
    return caught.value


# --- namespaces: each name means what its library means ------------------------------------------


@pytest.mark.parametrize(
    ("program", "reference"),
    [
        ("torch.tanh(x)", torch.tanh),
        ("torch.exp(x) + torch.sigmoid(x) * torch.abs(x)", lambda x: torch.exp(x) + torch.sigmoid(x) * torch.abs(x)),
        ("torch.sum(x, 0)", lambda x: torch.sum(x, 0)),
        ("torch.sum(x, dim=1, keepdim=True)", lambda x: torch.sum(x, dim=1, keepdim=True)),
        ("torch.mean(x, (0, 1))", lambda x: torch.mean(x, (0, 1))),
        ("np.sum(x, 0)", lambda x: torch.sum(x, 0)),
        ("np.mean(x, axis=1, keepdims=True)", lambda x: torch.mean(x, 1, keepdim=True)),
        ("torch.softmax(x, dim=-1)", lambda x: torch.softmax(x, dim=-1)),
        ("F.softmax(x, dim=0)", lambda x: F.softmax(x, dim=0)),
        ("F.log_softmax(x, 1)", lambda x: F.log_softmax(x, 1)),
        ("torch.nn.functional.relu(x)", F.relu),
        ("nn.functional.sigmoid(x)", torch.sigmoid),
        ("numpy.tanh(x)", torch.tanh),
        ("np.max(x, 1)", lambda x: torch.amax(x, 1)),
        ("torch.max(x)", torch.max),
        ("torch.max(x, 1).values", lambda x: torch.max(x, 1).values),
        ("torch.max(x, 1)[0] * 2", lambda x: torch.max(x, 1)[0] * 2),
        ("torch.min(x, dim=0, keepdim=True).values", lambda x: torch.min(x, dim=0, keepdim=True).values),
        ("torch.max(x, x * 2)", lambda x: torch.max(x, x * 2)),
        ("math.sqrt(2) * x + math.pi", lambda x: math.sqrt(2) * x + math.pi),
        (
            "np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)",
            lambda x: torch.exp(x) / torch.sum(torch.exp(x), 1, keepdim=True),
        ),
        ("torch.matmul(x, x.T) + torch.mm(x, x.t())", lambda x: x @ x.T + x @ x.T),
    ],
)
def test_namespaced_functions_follow_their_library(program, reference):
    check(program, reference, x=X)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4), (2, 2, 3, 2)])
def test_softmax_without_dim_takes_pytorchs_implicit_dim(shape):
    x = RNG.standard_normal(shape).tolist()
    with pytest.warns(UserWarning, match="Implicit dimension choice"):  # PyTorch: deprecated
        check("F.softmax(x) * F.log_softmax(x)", lambda x: F.softmax(x) * F.log_softmax(x), x=x)


def test_the_pytorch_and_numpy_mlp_lines_run_as_written():
    inputs = {"x": X, "W1": W, "b1": B5}
    check("h = F.relu(x @ W1 + b1)\nh.sum()", lambda x, W1, b1: F.relu(x @ W1 + b1).sum(), **inputs)
    check("np.maximum(0, np.dot(x, W1) + b1)", lambda x, W1, b1: torch.clamp(x @ W1 + b1, min=0), **inputs)


def test_variance_defaults_differ_by_library():
    check("torch.var(x)", torch.var, x=X)
    check("x.std(0)", lambda x: x.std(0), x=X)
    check("np.var(x)", lambda x: torch.var(x, correction=0), x=X)
    check("np.std(x, axis=1, ddof=1)", lambda x: torch.std(x, 1, correction=1), x=X)


def test_f_linear_takes_pytorchs_weight_and_bare_linear_the_tutorials():
    check("F.linear(x, W, b)", F.linear, x=X, W=SQ, b=B5[:3])
    check("linear(x, W, b)", lambda x, W, b: x @ W + b, x=X, W=SQ, b=B5[:3])
    assert not np.allclose(
        evaluate("F.linear(x, W, b)", {"x": X, "W": SQ, "b": B5[:3]}).values[-1],
        evaluate("linear(x, W, b)", {"x": X, "W": SQ, "b": B5[:3]}).values[-1],
    )


def test_cross_entropy_and_mse_under_f():
    check("F.cross_entropy(x, y)", F.cross_entropy, x=X, y=fixed([2, 0, 1, 2]))
    check(
        "F.cross_entropy(x, y, reduction='sum')",
        lambda x, y: F.cross_entropy(x, y, reduction="sum"),
        x=X,
        y=fixed([2, -100, 1, 2]),
    )
    check("F.mse_loss(x, t)", F.mse_loss, x=X, t=X[::-1])


# --- methods and attributes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "reference"),
    [
        (
            "x.exp().log().tanh().relu().sigmoid().abs().sqrt().pow(2)",
            lambda x: x.exp().log().tanh().relu().sigmoid().abs().sqrt().pow(2),
        ),
        ("x.sum(0, keepdim=True)", lambda x: x.sum(0, keepdim=True)),
        ("x.mean(dim=1)", lambda x: x.mean(dim=1)),
        ("x.max(1, keepdim=True).values", lambda x: x.max(1, keepdim=True).values),
        ("x.min(0).values", lambda x: x.min(0).values),
        ("x.view(2, 6)", lambda x: x.view(2, 6)),
        ("x.view(-1)", lambda x: x.view(-1)),
        ("x.view((3, -1))", lambda x: x.view((3, -1))),
        ("x.reshape(6, 2).transpose(-2, -1)", lambda x: x.reshape(6, 2).transpose(-2, -1)),
        ("x.permute(1, 0) * 2", lambda x: x.permute(1, 0) * 2),
        ("x.t() @ x", lambda x: x.t() @ x),
        ("x.mT", lambda x: x.mT),
        ("x.T", lambda x: x.T),
        ("x.contiguous().float().double().detach() * x", lambda x: x.contiguous().double().detach() * x),
        ("x.to(torch.float64) + torch.arange(3, dtype=torch.long)", lambda x: x + torch.arange(3)),
        ("x.unsqueeze(0).squeeze(0).flatten()", lambda x: x.unsqueeze(0).squeeze(0).flatten()),
        ("x.clamp(min=0)", lambda x: x.clamp(min=0)),
        ("x.masked_fill(x > 0, 0.5)", lambda x: x.masked_fill(x > 0, 0.5)),
        (
            "x.size(-1) * x + x.shape[0] + x.ndim + x.numel() + len(x)",
            lambda x: x.size(-1) * x + x.shape[0] + x.ndim + x.numel() + len(x),
        ),
        ("x[0].dot(x[1])", lambda x: x[0].dot(x[1])),
        ("x.mm(x.T)", lambda x: x.mm(x.T)),
        ("x.softmax(-1).log()", lambda x: x.softmax(-1).log()),
    ],
)
def test_methods_have_tensor_semantics(program, reference):
    check(program, reference, x=X)


def test_max_with_a_dim_is_a_pair_of_values_and_indices():
    check("v, i = x.max(1)\nv * 2", lambda x: x.max(1)[0] * 2, x=X)
    result = evaluate("x.max(1).indices", {"x": X})
    np.testing.assert_array_equal(result.values[result.output], np.argmax(np.array(X), axis=1))
    result = evaluate("torch.max(x, 0)[1]", {"x": X})
    np.testing.assert_array_equal(result.values[result.output], np.argmax(np.array(X), axis=0))


def test_split_and_chunk_give_the_slices():
    check("a, b = x.split(2, dim=0)\na * b", lambda x: x.split(2, dim=0)[0] * x.split(2, dim=0)[1], x=X)
    check("q, k, v = x.split(1, dim=1)\nq + k * v", lambda x: x[:, :1] + x[:, 1:2] * x[:, 2:], x=X)
    check("a, b = x.chunk(2)\n(a - b).sum()", lambda x: (x.chunk(2)[0] - x.chunk(2)[1]).sum(), x=X)
    check("parts = x.split([1, 3])\nparts[1].sum() + parts[0].sum()", lambda x: x.sum(), x=X)


def test_micrograd_neuron():
    check(
        "(x1*w1 + x2*w2 + b).tanh()",
        lambda x1, w1, x2, w2, b: (x1 * w1 + x2 * w2 + b).tanh(),
        x1=2.0,
        w1=-3.0,
        x2=0.0,
        w2=1.0,
        b=6.8813735870195432,
    )
    check(
        "n = x1*w1 + b\nn.relu() + n**2",
        lambda x1, w1, b: (x1 * w1 + b).relu() + (x1 * w1 + b) ** 2,
        x1=2.0,
        w1=-0.5,
        b=1.5,
    )


# --- static Python ----------------------------------------------------------------------------------


def test_shapes_unpack_and_integer_arithmetic():
    program = (
        "B, T, C = x.shape\nn_head = 2\nhs = C // n_head\nq = x.view(B, T, n_head, hs).transpose(1, 2)\nq * hs**-0.5"
    )
    check(program, lambda x: x.view(2, 4, 2, 3).transpose(1, 2) * 3**-0.5, x=ATT)


def test_an_integer_input_is_a_node_and_a_number():
    check("x.sum() * 1/(n-1) + n * x.mean()", lambda x, n: x.sum() * 1 / (n - 1) + n * x.mean(), x=X, n=4.0)
    check("x[range(n)].sum()", lambda x, n: x[range(3)].sum(), x=X, n=3)


def test_infinities_tuples_lists_and_augmented_assignment():
    check("x.masked_fill(x < 0, float('-inf')).exp()", lambda x: x.masked_fill(x < 0, float("-inf")).exp(), x=X)
    check("x.masked_fill(x < 0, -math.inf).exp()", lambda x: x.masked_fill(x < 0, -math.inf).exp(), x=X)
    check("torch.cat([x, x * 2], dim=1)", lambda x: torch.cat([x, x * 2], dim=1), x=X)
    check("torch.stack((x, x), 0)", lambda x: torch.stack((x, x), 0), x=X)
    check("h = x\nh += x * 2\nh *= x\nh", lambda x: (x + x * 2) * x, x=X)
    check("s = (4, 3)\nx.view(s[1], s[0])", lambda x: x.view(3, 4), x=X)


def test_starred_shapes_tuple_sums_and_reversed_tuples():
    check("B, T, C = x.shape\nx.view(*x.shape[:-1], 2, C // 2)", lambda x: x.view(*x.shape[:-1], 2, 3), x=ATT)
    check("x.view(x.shape[:-1] + (3, 2))", lambda x: x.view(*x.shape[:-1], 3, 2), x=ATT)
    check("x.permute(*range(3)[::-1])", lambda x: x.permute(*range(3)[::-1]), x=ATT)
    check("a, b = x.split(2)[::-1]\na - b", lambda x: x.split(2)[1] - x.split(2)[0], x=X)
    check("F.dropout(x, p=0.0) + F.dropout(x, 0.3, training=False)", lambda x: x + x, x=X)


def test_comparisons_of_numbers_are_numbers_and_of_tensors_masks():
    check("m = (x > 0)\nx * m", lambda x: x * (x > 0), x=X)
    check("torch.where(x >= 0.1, x, x * 0.01)", lambda x: torch.where(x >= 0.1, x, x * 0.01), x=X)


def test_numbers_written_out_still_build_the_nodes_they_always_built():
    result = evaluate("y = x * (2 * 3)", {"x": 1.5})
    assert [op.name if op else None for op in result.graph.ops] == [None, None, None, "mul", "mul"]
    assert result.values[result.output] == 9.0
    result = evaluate("y = x.view(2 * 6)", {"x": X})  # its value is read from the nodes
    assert [op.name if op else None for op in result.graph.ops] == [None, None, None, "mul", "reshape"]
    result = evaluate("B, C = x.shape\ny = x.view(B * C)", {"x": X})  # computed from a shape: no node
    assert [op.name if op else None for op in result.graph.ops] == [None, "reshape"]
    result = evaluate("B, C = x.shape\ny = x * (B * C)", {"x": X})  # an operand: built where it is used
    assert [op.name if op else None for op in result.graph.ops] == [None, None, None, "mul", "mul"]


# --- subscripts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "reference"),
    [
        ("x[0]", lambda x: x[0]),
        ("x[-1]", lambda x: x[-1]),
        ("x[:, 1:3]", lambda x: x[:, 1:3]),
        ("x[..., -1]", lambda x: x[..., -1]),
        ("x[:, None]", lambda x: x[:, None]),
        ("x[None, ..., None]", lambda x: x[None, ..., None]),
        ("x[::2, ::-1 if False else 2]", None),
        ("x[1:, :2] * x[:-1, 1:]", lambda x: x[1:, :2] * x[:-1, 1:]),
        ("x[3:1]", lambda x: x[3:1]),
        ("x[::3]", lambda x: x[::3]),
        ("x[[0, 2, 2]]", lambda x: x[[0, 2, 2]]),
    ],
)
def test_basic_subscripts(program, reference):
    if reference is None:
        assert error(program).kind == "forbidden"  # a conditional expression
        return
    check(program, reference, x=X)


def test_embedding_lookup_accumulates_repeated_rows():
    check("emb = C[Xb]\n(emb * emb).sum()", lambda C, Xb: (C[Xb] * C[Xb]).sum(), C=W, Xb=fixed(XB))


def test_paired_advanced_indexing_with_a_range():
    program = "logprobs = F.log_softmax(x, 1)\nn = x.shape[0]\nloss = -logprobs[range(n), Yb].mean()"
    check(program, lambda x, Yb: -F.log_softmax(x, 1)[range(4), Yb].mean(), x=X, Yb=fixed(YB))


def test_a_causal_attention_head():
    program = """B, T, C = x.shape
k = x @ Wk
q = x @ Wq
wei = q @ k.transpose(-2, -1) * C**-0.5
tril = torch.tril(torch.ones(T, T))
wei = wei.masked_fill(tril[:T, :T] == 0, float('-inf'))
wei = F.softmax(wei, dim=-1)
out = wei @ x
"""

    def reference(x, Wk, Wq):
        _, T, C = x.shape
        wei = (x @ Wq) @ (x @ Wk).transpose(-2, -1) * C**-0.5
        tril = torch.tril(torch.ones(T, T, dtype=torch.float64))
        wei = wei.masked_fill(tril[:T, :T] == 0, float("-inf"))
        return F.softmax(wei, dim=-1) @ x

    check(program, reference, x=ATT, Wk=RNG.standard_normal((6, 6)).tolist(), Wq=RNG.standard_normal((6, 6)).tolist())


# --- for loops ---------------------------------------------------------------------------------------


def test_a_loop_is_unrolled_with_its_counter_as_a_number():
    program = "h = x\nfor i in range(3):\n    h = torch.tanh(h @ Wh + i)\n    h = h * 0.5\n\nh.sum()"

    def reference(x, Wh):
        h = x
        for i in range(3):
            h = torch.tanh(h @ Wh + i) * 0.5
        return h.sum()

    check(program, reference, x=X, Wh=SQ)
    check("for i in range(2): x = x * 2; x = x + 1\nx", lambda x: (x * 2 + 1) * 2 + 1, x=X)
    check("h = x\nfor w in (1.0, 2.0):\n    for j in range(2):\n        h = h * w\nh", lambda x: x * 4.0, x=X)
    check("for i in range(0):\n    x = x * 2\nx * 1", lambda x: x * 1, x=X)

    def rows(x, W):
        h = torch.zeros(3, dtype=torch.float64)
        for row in x:
            h = torch.tanh(h @ W + row)
        return h

    check("h = torch.zeros(3)\nfor row in x:\n    h = torch.tanh(h @ W + row)\nh", rows, x=X, W=SQ)


def test_a_loop_with_repeated_lines_inside_replays_nothing_wrong():
    program = "h = x\nfor i in range(3):\n" + "    h = h * i + 1\n" * 5 + "h"

    def reference(x):
        h = x
        for i in range(3):
            for _ in range(5):
                h = h * i + 1
        return h

    check(program, reference, x=0.5)
    check(
        "h = x\n" + "h = h * k + 1\n" * 6 + "h",
        lambda x, k: (((((x * k + 1) * k + 1) * k + 1) * k + 1) * k + 1) * k + 1,
        x=0.5,
        k=3.0,
    )
    check(
        "k = 3\nh = x\n" + "h = h * k + 1\n" * 6 + "h = h.view(k, 1)\nh",
        lambda x: ((((((x * 3 + 1) * 3 + 1) * 3 + 1) * 3 + 1) * 3 + 1) * 3 + 1).view(3, 1),
        x=[0.5, 1.0, 2.0],
    )


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "kind", "at", "fragment"),
    [
        (
            "torch.cumsum(x, 0)",
            "unknown_function",
            "torch.cumsum",
            "`torch.cumsum` is not supported; supported torch functions: ",
        ),
        ("y = torch.tanhh(x)", "unknown_function", "torch.tanhh", "did you mean torch.tanh?"),
        ("F.gelu2(x)", "unknown_function", "F.gelu2", "supported F functions"),
        ("np.load('a')", "unknown_function", "np.load", "`np.load` is not supported"),
        ("torch.hub.load('a')", "unknown_function", "torch.hub", "`torch.hub` is not supported"),
        ("torch.nn.Linear(3, 4)", "unknown_function", "torch.nn.Linear", "only torch.nn.functional is"),
        ("x.numpy()", "unknown_function", ".numpy", "is not a supported tensor method"),
        ("x.grad", "forbidden", ".grad", "tensors have .T"),
        ("x.sum", "bad_arguments", ".sum", "is a method: call it"),
        ("torch.tanh", "unknown_name", "torch.tanh", "call it"),
        ("math.exp(x)", "bad_arguments", "x", "use torch.exp"),
        ("a, b = x.shape\na * b * c", "missing_input", "c", "has no value"),
        ("a, b, c = x.shape", "bad_arguments", "x.shape", "3 names cannot take the 2 items"),
        ("x.view(x, 2)", "bad_arguments", "x", "is a tensor"),
        ("range(x)", "bad_arguments", "x", "is a tensor"),
        ("float(x)", "bad_arguments", "x", "not known before the program runs"),
        ("float('hello')", "bad_arguments", "'hello'", "'inf', '-inf' or 'nan'"),
        ("x[1:2:0]", "bad_arguments", "1:2:0", "step must be positive"),
        ("x[1.5]", "bad_arguments", "1.5", "integers"),
        ("x.shape[5]", "bad_arguments", "5", "out of range"),
        ("for i in x.sum():\n    y = i", "forbidden", "x.sum()", "range(k)"),
        ("for i in range(3):\ny = x", "syntax_error", "y", "indented block"),
        ("for i in range(3):\n    y = x\n        z = y", "syntax_error", "z", "unexpected indent"),
        ("x < x < x", "forbidden", "<", "chained comparisons"),
        ("7 // 0 * x", "bad_arguments", "7 // 0", "by zero"),
        ("x.t().t().view(3, 3)", "shape_mismatch", "x.t().t().view(3, 3)", ""),
        ("W = torch.randn(3, 4)", "unknown_function", "torch.randn", 'given as inputs, e.g. "W": {"init": "randn"'),
        ("x.to(x)", "bad_arguments", "x", "accepted only as a dtype"),
        ("B = x.shape[0]", "syntax_error", "B = x.shape[0]", "computes no tensor"),
        ("x.view(*x)", "forbidden", "*x", "a starred argument must be a tuple"),
        ("F.dropout(x)", "forbidden", "F.dropout(x)", "is random"),
        ("x[::-1]", "bad_arguments", "::-1", "step must be positive"),
        ("x.shape[::0]", "bad_arguments", "::0", "must not be zero"),
    ],
)
def test_errors_name_what_is_not_supported_and_where(program, kind, at, fragment):
    exc = error(program)
    assert exc.kind == kind, exc.message
    assert program[exc.start : exc.end] == at, exc.message
    assert fragment in exc.message


def test_a_namespace_never_has_no_value():
    for program in ("torch.tanh(y)", "y = F.relu(x)\nnp.exp(z)"):
        exc = error(program)
        assert "'torch' has no value" not in exc.message and exc.kind == "missing_input"
    exc = error("torch", {})
    assert "has no value" not in exc.message and "namespace torch" in exc.message


def test_a_huge_loop_is_refused_before_it_unrolls():
    exc = error("h = x\nfor i in range(10**9):\n    h = h * 2")
    assert exc.kind == "limit_exceeded" and "1000000000" in exc.message
    exc = error("h = x\nfor i in range(40):\n    h = h * 2 + 1", limits=Limits(max_nodes=100))
    assert exc.kind == "limit_exceeded" and "per iteration" in exc.message


# --- the table -------------------------------------------------------------------------------------


def test_the_table_names_only_ops_that_exist_and_ops_shows_it(client):
    for names in (*dialects.NAMESPACES.values(), dialects.METHODS):
        for spelling in names.values():
            assert spelling.op in OPS or spelling.op in dialects.FORMS
    body = client.get("/ops").json()["dialects"]
    assert body["namespaces"]["F"]["linear"]["op"] == "f_linear" and "linear_t" in body["forms"]["f_linear"]
    assert body["namespaces"]["np"]["var"]["defaults"] == {"correction": 0}
    assert body["namespaces"]["torch"]["sum"]["keywords"]["keepdim"] == "keepdims"
    assert body["aliases"]["torch.nn.functional"] == "F"
    assert "view" in body["methods"] and "mT" in body["attributes"]


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        # Arithmetic on numbers written out builds its nodes where a node-by-node parse builds them,
        # before the right operand's (here x's leaf and exp): the graphs of today's programs stay the same.
        ("z = pi * 2 * x", [math.pi, 2.0, "mul", "x", "mul"]),
        ("z = (2 * 3) * exp(x)", [2.0, 3.0, "mul", "x", "exp", "mul"]),
        ("z = -(2 * 3) * x", [2.0, 3.0, "mul", "neg", "x", "mul"]),
        ("z = (1 - 2) - (3 - 4) * x", [1.0, 2.0, "sub", 3.0, 4.0, "sub", "x", "mul", "sub"]),
        ("z = maximum(2 * 3, exp(x))", [2.0, 3.0, "mul", "x", "exp", "maximum"]),
        ("z = 2 + 3 * 4", [3.0, 4.0, "mul", 2.0, "add"]),
    ],
)
def test_numbers_written_out_keep_their_node_order(program, expected):
    graph = evaluate(program, {"x": 0.5}).graph
    described = [
        op.name if op else (graph.names[k] if not graph.constant[k] else graph.values[k])
        for k, op in enumerate(graph.ops)
    ]
    assert described == expected

"""The corpus of tests/dialect_corpus.py through chainlens and through live PyTorch (float64).

Each program is posted as it is to POST /graph/backward with only its inputs. PyTorch runs the same
text (torch and micrograd programs) or the numpy program's torch twin, in a namespace of this test
module's own: executing pasted text is what the tests do to get the reference numbers, never what
the app does. Every differentiable input's gradient and the output value must agree at a relative
1e-10 (tests/test_parity.py's comparison). A numpy program is also run by numpy itself, whose
forward value both chainlens and the torch twin must give.
"""

from __future__ import annotations

import ast
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from dialect_corpus import CASES, data, given, integer, labels
from test_parity import assert_close

from app.engine.inputs import decode
from app.engine.limits import Limits
from app.examples import DIALECT_EXAMPLES

pytestmark = pytest.mark.parity

BY_ID = {case["id"]: case for case in CASES}
IDS = list(BY_ID)


def _bare_linear(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """chainlens's bare `linear` (the tutorial's W of shape (in, out)), for programs that mix it with F.linear."""
    return x @ W if b is None else x @ W + b


def output_name(text: str) -> str:
    """The name chainlens takes as the output: the last statement's target (inside a trailing loop,
    the loop body's last one). Programs in the corpus end with an assignment."""
    statement = ast.parse(text).body[-1]
    while isinstance(statement, ast.For):
        statement = statement.body[-1]
    if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id
    raise AssertionError(f"the corpus program does not end with an assignment to a name: {ast.dump(statement)}")


def run_text(text: str, namespace: dict) -> object:
    """Runs a corpus program (test-only) and answers its output."""
    exec(compile(text, "<corpus>", "exec"), namespace)  # noqa: S102 - test-only reference run
    return namespace[output_name(text)]


def torch_inputs(case: dict) -> dict:
    tensors = {}
    for name, spec in case["inputs"].items():
        if spec["kind"] == "int":
            tensors[name] = spec["value"]
        elif spec["kind"] == "index":
            tensors[name] = torch.tensor(spec["value"], dtype=torch.long)
        else:
            tensors[name] = torch.tensor(spec["value"], dtype=torch.float64, requires_grad=spec["grad"])
    return tensors


def numpy_inputs(case: dict) -> dict:
    arrays = {}
    for name, spec in case["inputs"].items():
        if spec["kind"] == "int":
            arrays[name] = spec["value"]
        else:
            arrays[name] = np.asarray(spec["value"], dtype=np.int64 if spec["kind"] == "index" else np.float64)
    return arrays


def chainlens_inputs(case: dict) -> dict:
    """The inputs as a user types them in the request: numbers for what takes a gradient, integer
    indices and data as {"value": ..., "requires_grad": false}, an integer as an integer."""
    return {
        name: spec["value"]
        if spec["kind"] == "int" or spec.get("grad")
        else {"value": spec["value"], "requires_grad": False}
        for name, spec in case["inputs"].items()
    }


def torch_reference(case: dict) -> tuple[np.ndarray, dict]:
    """PyTorch's output value and every differentiable input's gradient (None where none flows)."""
    inputs = torch_inputs(case)
    namespace = {"torch": torch, "F": F, "nn": torch.nn, "math": math, "linear": _bare_linear, **inputs}
    previous, cast = torch.get_default_dtype(), torch.Tensor.float
    # The float64 reference of a program written for float32: torch.ones(T, T) and friends are made
    # float64, and .float() (makemore's F.one_hot(...).float()) casts to float64, as chainlens computes.
    torch.set_default_dtype(torch.float64)
    torch.Tensor.float = torch.Tensor.double
    try:
        out = run_text(case["torch"] or case["program"], namespace)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64, f"{case['id']}: output is {out!r}"
        out.backward(torch.ones_like(out))
    finally:
        torch.set_default_dtype(previous)
        torch.Tensor.float = cast
    grads = {
        name: None if tensor.grad is None else tensor.grad.numpy()
        for name, tensor in inputs.items()
        if isinstance(tensor, torch.Tensor) and tensor.requires_grad
    }
    return out.detach().numpy(), grads


def chainlens_answer(client, case: dict, expand: str | None = None) -> dict:
    response = client.post(
        "/graph/backward", json={"expression": case["program"], "inputs": chainlens_inputs(case), "expand": expand}
    )
    if response.status_code != 200:
        error = response.json().get("error", response.json())
        pytest.fail(
            f"{case['id']}: chainlens answered {response.status_code}: {error.get('message', error)}", pytrace=False
        )
    return response.json()


# --- the corpus itself ------------------------------------------------------------------------------

REQUIRED_FEATURES = {  # every feature of issue 19 occurs in some program (a regex over the texts)
    "namespace torch.": r"\btorch\.[a-z]",
    "namespace F.": r"\bF\.[a-z]",
    "namespace torch.nn.functional.": r"torch\.nn\.functional\.",
    "namespace nn.functional.": r"(?<!torch\.)nn\.functional\.",
    "namespace np.": r"\bnp\.[a-z]",
    "namespace numpy.": r"\bnumpy\.[a-z]",
    "namespace math.": r"\bmath\.[a-z]",
    "method call": r"\w\.(sum|mean|exp|tanh)\(",
    "keepdim=": r"keepdim=True",
    "keepdims=": r"keepdims=True",
    "positional dim": r"\.sum\(\d",
    "max values": r"\.max\(1, keepdim=True\)\.values",
    "max indices unpacked": r"values, indices = ",
    "max [0]": r"\.max\(dim=0\)\[0\]",
    "embedding lookup": r"C\[X",
    "paired index": r"\[range\(n\), Yb\]",
    "basic index": r"x\[\.\.\., -1\]",
    "new axis": r"\[:, None\]",
    "np.newaxis": r"np\.newaxis",
    "empty slice": r"\[:, 2:2\]",
    "view": r"\.view\(emb\.shape\[0\], -1\)",
    "view B T": r"\.view\(B, T, ",
    "reshape": r"\.reshape\(",
    "transpose(-2, -1)": r"\.transpose\(-2, -1\)",
    "permute": r"\.permute\(",
    ".t()": r"\.t\(\)",
    ".mT": r"\.mT\b",
    ".T": r"\.T\b",
    "masked_fill -inf": r"masked_fill\(tril == 0, float\('-inf'\)\)",
    "split": r"\.split\(C, dim=2\)",
    "split sizes": r"\.split\(\[",
    "np.split": r"np\.split\(",
    "chunk": r"\.chunk\(",
    "cat": r"torch\.cat\(\[",
    "cat tuple": r"torch\.cat\(\(",
    "np.concatenate": r"np\.concatenate\(",
    "stack": r"torch\.stack\(",
    "np.stack": r"np\.stack\(",
    "where": r"torch\.where\(",
    "np.where": r"np\.where\(",
    "comparison": r" > 0",
    "== mask": r"== 0",
    "argmax": r"argmax\(",
    "tril": r"torch\.tril\(",
    "triu": r"torch\.triu\(",
    "np.tril": r"np\.tril\(",
    "ones": r"torch\.ones\(",
    "zeros": r"torch\.zeros\(",
    "ones_like": r"ones_like\(",
    "zeros_like": r"zeros_like\(",
    "full": r"torch\.full\(",
    "arange": r"torch\.arange\(",
    "np.arange": r"np\.arange\(",
    "eye": r"torch\.eye\(",
    "np.eye": r"np\.eye\(",
    "clamp": r"\.clamp\(min=0\)",
    "torch.clamp": r"torch\.clamp\(",
    "np.clip": r"np\.clip\(",
    "np.maximum": r"np\.maximum\(0, ",
    "logsumexp": r"logsumexp\(",
    "var correction": r"correction=0",
    "var default": r"\.var\(1\)",
    "std": r"\.std\(",
    "np.var": r"np\.var\(",
    "ddof": r"ddof=1",
    "unbiased=False": r"unbiased=False",
    "one_hot": r"F\.one_hot\(",
    "flatten": r"flatten\(",
    "squeeze": r"\.squeeze\(",
    "unsqueeze": r"\.unsqueeze\(",
    "F.linear": r"F\.linear\(",
    "bare linear": r"(?<![.\w])linear\(",
    "F.cross_entropy": r"F\.cross_entropy\(",
    "ignore_index": r"ignore_index=-1",
    "F.mse_loss": r"F\.mse_loss\(",
    "F.softmax": r"F\.softmax\(",
    "log_softmax": r"log_softmax\(",
    "detach": r"\.detach\(\)",
    "contiguous": r"\.contiguous\(\)",
    ".float()": r"\.float\(\)",
    ".double()": r"\.double\(\)",
    ".long()": r"\.long\(\)",
    ".dot": r"\.dot\(",
    ".mm": r"\.mm\(",
    "np.dot": r"np\.dot\(",
    "bmm": r"torch\.bmm\(",
    ".size()": r"\.size\(\)",
    ".size(-1)": r"\.size\(-1\)",
    ".shape[0]": r"\.shape\[0\]",
    "ndim": r"\.ndim\b",
    "numel": r"\.numel\(\)",
    "nelement": r"\.nelement\(\)",
    "len": r"len\(",
    "for loop": r"for \w+ in range\(",
    "+=": r"\+=",
    "-=": r"-=",
    "tuple unpacking": r"B, T, C = ",
    "//": r"C // n_head",
    "1/(n-1)": r"1/\(n-1\)",
    "**-0.5": r"\*\*-0\.5",
    "float('-inf')": r"float\('-inf'\)",
    "math.inf": r"math\.inf",
    "range(n)": r"range\(n\)",
    "list(range)": r"list\(range\(",
    "dtype=": r"dtype=torch\.long",
    "micrograd relu": r"\)\.relu\(\)",
    "micrograd tanh": r"n\.tanh\(\)",
    "reduction=": r"reduction='",
    "integer input": r"n_head",
    # issue 20's layers, as torch.nn.functional spells them
    **{
        f"F.{name}": rf"F\.{name}\("
        for name in (
            "layer_norm",
            "batch_norm",
            "group_norm",
            "normalize",
            "scaled_dot_product_attention",
            "conv1d",
            "conv2d",
            "max_pool2d",
            "avg_pool2d",
            "embedding",
            "gelu",
            "silu",
            "softplus",
            "leaky_relu",
            "elu",
            "hardtanh",
            "binary_cross_entropy",
            "binary_cross_entropy_with_logits",
            "nll_loss",
            "l1_loss",
            "smooth_l1_loss",
            "huber_loss",
            "kl_div",
            "cosine_similarity",
            "dropout",
        )
    },
    "torch.erf": r"torch\.erf\(",
    ".erf()": r"\.erf\(\)",
    "is_causal": r"is_causal=True",
    "training=True": r"F\.batch_norm\(.*training=True",
    "probability target": r"F\.cross_entropy\(z, F\.softmax",
}


def test_corpus_size_and_ids():
    assert len(IDS) == len(CASES), "duplicate ids in tests/dialect_corpus.py"
    assert len(CASES) >= 45
    for dialect in ("torch", "numpy", "micrograd"):
        assert sum(case["dialect"] == dialect for case in CASES) >= 6, dialect


def test_corpus_covers_every_feature():
    texts = "\n".join(case["program"] for case in CASES)
    missing = [feature for feature, pattern in REQUIRED_FEATURES.items() if not re.search(pattern, texts)]
    assert not missing, f"no corpus program uses: {missing}"


@pytest.mark.parametrize("case_id", [case["id"] for case in CASES if case["dialect"] == "numpy"])
def test_numpy_twin_computes_what_numpy_computes(case_id):
    """The torch twin of a numpy program is faithful: numpy running the program itself gives its value."""
    case = BY_ID[case_id]
    expected = np.asarray(run_text(case["program"], {"np": np, "numpy": np, "math": math, **numpy_inputs(case)}))
    value, _ = torch_reference(case)
    assert_close(value, expected, f"{case_id}: torch twin against numpy")


@pytest.mark.parametrize("expand", [None, "all"], ids=["closed", "opened"])
@pytest.mark.parametrize("case_id", IDS)
def test_program_matches_pytorch(client, case_id, expand):
    """Composites (F.linear, F.cross_entropy, softmax, logsumexp, ...) closed and opened into their primitives."""
    case = BY_ID[case_id]
    value, grads = torch_reference(case)
    body = chainlens_answer(client, case, expand)
    nodes = body["nodes"]
    assert_close(nodes[body["output"]]["value"], value, f"{case_id}: output value")
    if case["dialect"] == "numpy":
        numpy_value = run_text(case["program"], {"np": np, "numpy": np, "math": math, **numpy_inputs(case)})
        assert_close(nodes[body["output"]]["value"], np.asarray(numpy_value), f"{case_id}: output value against numpy")
    inputs = {node["name"]: node for node in nodes if node["op"] == "input"}
    for name, spec in case["inputs"].items():
        if spec["kind"] == "int":
            continue  # a Python int in PyTorch: no gradient to compare
        node = inputs.get(name)
        assert node is not None, f"{case_id}: input {name} is not a node of the graph"
        if name not in grads:  # data and indices take no gradient
            assert node["grad"] is None, f"{case_id}: {name} takes no gradient, chainlens gave {node['grad']!r}"
            continue
        expected = grads[name]
        if expected is None:  # nothing flows to it in PyTorch (a path through argmax, say): zeros or none
            expected = None if node["grad"] is None else np.zeros(np.shape(spec["value"]))
        assert_close(node["grad"], expected, f"{case_id}: gradient of {name}")


def test_comparison_catches_a_wrong_gradient():
    """The check can fail: PyTorch's reference for one gradient off by 1e-8 relative is not accepted."""
    case = BY_ID["autograd_tutorial_Q"]
    _, grads = torch_reference(case)
    assert_close(grads["a"], np.array([36.0, 81.0]), "autograd tutorial: dQ/da = 9 a²")
    with pytest.raises(AssertionError):
        assert_close(grads["a"] * (1 + 1e-8), np.array([36.0, 81.0]), "off by 1e-8")


# --- the menu's dialect examples (app/examples.py), with their initializers as the page posts them ---

EXAMPLE_TWINS = {  # the torch twin of the numpy example
    "numpy-two-layer": """
hidden = torch.relu(torch.matmul(X, W1) + b1)
scores = torch.matmul(hidden, W2) + b2
exp_scores = torch.exp(scores - torch.amax(scores, dim=1, keepdim=True))
probs = exp_scores / torch.sum(exp_scores, dim=1, keepdim=True)
loss = -torch.mean(torch.log(probs[torch.arange(N), y]))
""",
}


def example_case(example: dict) -> dict:
    """A corpus case of a menu example: its inputs decoded by the engine (initializers drawn), integral
    inputs that take no gradient as indices."""
    inputs = {}
    for name, raw in example["inputs"].items():
        if isinstance(raw, int) and not isinstance(raw, bool):
            inputs[name] = integer(raw)
            continue
        decoded = decode(name, raw, Limits().max_tensor_elements)
        value = np.asarray(decoded.value, dtype=np.float64)
        if decoded.requires_grad:
            inputs[name] = given(value.tolist())
        elif np.array_equal(value, np.round(value)):
            inputs[name] = labels(value.astype(int).tolist())
        else:
            inputs[name] = data(value.tolist())
    twin = EXAMPLE_TWINS.get(example["id"])
    return {
        "id": example["id"],
        "dialect": "numpy" if twin else "torch",
        "program": example["expression"],
        "inputs": inputs,
        "torch": twin,
    }


def test_menu_has_every_dialect():
    ids = {example["id"] for example in DIALECT_EXAMPLES}
    assert {"pytorch-mlp", "numpy-two-layer", "micrograd-neuron", "makemore-batchnorm"} <= ids
    makemore = next(example["expression"] for example in DIALECT_EXAMPLES if example["id"] == "makemore-batchnorm")
    for spelling in (
        "C[Xb]",
        ".view(emb.shape[0], -1)",
        ".sum(0, keepdim=True)",
        "**-0.5",
        ".max(1, keepdim=True).values",
        "logprobs[range(n), Yb].mean()",
    ):
        assert spelling in makemore, spelling


@pytest.mark.parametrize("example", DIALECT_EXAMPLES, ids=[example["id"] for example in DIALECT_EXAMPLES])
def test_menu_example_matches_pytorch(client, example):
    case = example_case(example)
    value, grads = torch_reference(case)
    response = client.post("/graph/backward", json={"expression": example["expression"], "inputs": example["inputs"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_close(body["nodes"][body["output"]]["value"], value, f"{example['id']}: output value")
    inputs = {node["name"]: node for node in body["nodes"] if node["op"] == "input"}
    for name, grad in grads.items():
        assert_close(inputs[name]["grad"], grad, f"{example['id']}: gradient of {name}")

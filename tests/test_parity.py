"""The engine against PyTorch, on the programs of tests/parity_programs.py.

1. The engine against the committed fixture tests/fixtures/torch_parity.json (runs anywhere).
2. Marked `parity`: PyTorch live, checking that the fixture is still what PyTorch computes
   (and the engine against the live numbers too). Regenerate the fixture with
   `.venv/bin/python scripts/make_parity_fixtures.py`.

Tolerance: relative 1e-10, plus an absolute 1e-12 times the largest magnitude of the array
(for elements near 0 that come out of cancelling sums).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from op_calls import evaluate_call
from parity_programs import CASES

from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.inputs import decode
from app.engine.layers import LAYERS
from app.engine.limits import Limits
from app.engine.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "torch_parity.json"
RTOL = 1e-10
ATOL_SCALE = 1e-12

_spec = importlib.util.spec_from_file_location("make_parity_fixtures", ROOT / "scripts" / "make_parity_fixtures.py")
make_parity_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_parity_fixtures)

BY_ID = {case["id"]: case for case in CASES}
IDS = [case["id"] for case in CASES]


@pytest.fixture(scope="module")
def fixture() -> dict:
    return json.loads(FIXTURE.read_text())


def assert_close(actual, expected, what: str) -> None:
    if expected is None:
        assert actual is None, f"{what}: expected no gradient, got {actual!r}"
        return
    assert actual is not None, f"{what}: expected {expected!r}, got no gradient"
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if expected.size == 0 and actual.size == 0 and np.shape(expected) == (0,):
        return  # JSON's [] does not carry an empty tensor's shape (each side checks its own)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL_SCALE * scale, err_msg=what)


def run_case(case: dict, **options):
    """The engine's run of a case: its program parsed, or (a case with "call") its one op called."""
    if "call" in case:
        options.pop("expand", None)
        return evaluate_call(case["call"]["op"], case["call"]["params"], case["inputs"], **options)
    return evaluate(case["program"], case["inputs"], **options)


def engine_entry(case: dict, expand=None) -> dict:
    """The engine's numbers for a case, laid out as a fixture entry (composites built as their
    primitives with expand="all")."""
    try:
        result = run_case(case, grad_output=case["grad_output"], expand=expand)
    except ProgramError:
        raise
    except Exception as exc:  # an engine crash is a failed comparison, said plainly
        pytest.fail(f"{case['id']}: the engine raised {type(exc).__name__}: {exc}")
    graph = result.graph
    return {
        "output": result.values[result.output],
        "output_shape": graph.shapes[result.output],
        "nodes": [
            {"name": name, "value": graph.values[k], "grad": result.grads[k], "shape": graph.shapes[k]}
            for k, name in enumerate(graph.names)
            if name is not None
        ],
    }


def compare(engine: dict, expected: dict, case_id: str) -> None:
    assert_close(engine["output"], expected["output"], f"{case_id}: output value")
    names = [node["name"] for node in engine["nodes"]]
    assert names == [node["name"] for node in expected["nodes"]], f"{case_id}: named nodes differ"
    for got, want in zip(engine["nodes"], expected["nodes"]):
        assert_close(got["value"], want["value"], f"{case_id}: value of {want['name']}")
        assert_close(got["grad"], want["grad"], f"{case_id}: gradient of {want['name']}")
        if got["grad"] is not None:  # gradients are shaped like their node, as in PyTorch
            assert np.shape(got["grad"]) == tuple(got["shape"]), f"{case_id}: ∂/∂{want['name']} has a wrong shape"


# --- the case list and the fixture file ------------------------------------------------------------


def test_case_ids_are_unique():
    assert len(IDS) == len(set(IDS))


def test_every_op_is_covered_by_some_parity_case():
    used = set()
    for case in CASES:
        result = run_case(case, backward=False)
        used |= {op.name for op in result.graph.ops if op is not None}
    missing = sorted(set(OPS) - set(LAYERS) - used)  # the layers' ops: tests/test_layers_parity.py, live
    assert not missing, f"ops without a parity case in tests/parity_programs.py: {missing}"


def test_fixture_holds_exactly_the_current_cases(fixture):
    assert list(fixture["cases"]) == IDS, "fixture is stale: run scripts/make_parity_fixtures.py"
    for case in CASES:
        entry = fixture["cases"][case["id"]]
        assert entry["program"] == case["program"], f"{case['id']}: program changed since the fixture was made"
        assert entry["grad_output"] == case["grad_output"], f"{case['id']}: grad_output changed"
        assert sorted(entry["inputs"]) == sorted(case["inputs"]), f"{case['id']}: inputs changed"


@pytest.mark.parametrize("case_id", IDS)
def test_inputs_decode_to_the_fixture_numbers(fixture, case_id):
    """The engine still materializes every input (initializers included) to the very same numbers."""
    for name, raw in BY_ID[case_id]["inputs"].items():
        decoded = decode(name, raw, Limits().max_tensor_elements)
        stored = fixture["cases"][case_id]["inputs"][name]
        assert list(decoded.shape) == stored["shape"]
        assert decoded.requires_grad == stored["requires_grad"]
        stored_value = np.asarray(stored["value"], dtype=np.float64).reshape(stored["shape"])
        np.testing.assert_array_equal(np.asarray(decoded.value), stored_value, err_msg=name)


# --- 1. the engine against the committed fixture ---------------------------------------------------


@pytest.mark.parametrize("case_id", IDS)
def test_engine_matches_torch_fixture(fixture, case_id):
    compare(engine_entry(BY_ID[case_id]), fixture["cases"][case_id], case_id)


COMPOSITE_IDS = [
    case["id"]
    for case in CASES
    if "call" not in case
    and any(f"{op.name}(" in case["program"] for op in OPS.values() if op.decomposition is not None)
]


@pytest.mark.parametrize("case_id", COMPOSITE_IDS)
def test_expanded_engine_matches_torch_fixture(fixture, case_id):
    """Composites opened into their primitives give PyTorch's numbers too."""
    compare(engine_entry(BY_ID[case_id], expand="all"), fixture["cases"][case_id], case_id)


def test_comparison_rejects_a_wrong_gradient(fixture):
    """The comparison can fail: one gradient off by 1e-8 relative is caught."""
    entry = engine_entry(BY_ID["tutorial_tensor"])
    entry["nodes"][1]["grad"] = np.asarray(entry["nodes"][1]["grad"]) * (1 + 1e-8)
    with pytest.raises(AssertionError):
        compare(entry, fixture["cases"]["tutorial_tensor"], "tutorial_tensor")


# Known values, independent of PyTorch and the fixture.


def _named(case_id: str) -> dict:
    return {node["name"]: node for node in engine_entry(BY_ID[case_id])["nodes"]}


def test_chain_rule_values():
    nodes = _named("chain_rule")
    assert (nodes["q"]["value"], nodes["f"]["value"]) == (3.0, -12.0)
    assert (nodes["x"]["grad"], nodes["y"]["grad"], nodes["z"]["grad"]) == (-4.0, -4.0, 3.0)
    assert _named("chain_rule_squared_error")["loss"]["value"] == 1.0


def test_shared_intermediate_is_not_double_counted():
    nodes = _named("shared_intermediate")
    assert nodes["x"]["grad"] == 12.0 and nodes["a"]["grad"] == 9.0  # the tutorial said 18 and 13.5


def test_tutorial_tensor_gradients_follow_the_formulas():
    case = BY_ID["tutorial_tensor"]
    x, a, b = (np.array(case["inputs"][k]) for k in ("x", "a", "b"))
    L = np.array(case["grad_output"])
    nodes = _named("tutorial_tensor")
    np.testing.assert_allclose(nodes["a"]["grad"], L * (x * a + b) + L * a * x, rtol=1e-12)
    np.testing.assert_allclose(nodes["x"]["grad"], L * a * a, rtol=1e-12)
    assert np.shape(nodes["b"]["grad"]) == (3,)
    np.testing.assert_allclose(nodes["b"]["grad"], (L * a).sum(axis=0), rtol=1e-12)


def test_broadcast_over_two_axes_sums_both():
    case = BY_ID["broadcast_over_two_axes"]
    nodes = _named("broadcast_over_two_axes")
    assert np.shape(nodes["b"]["grad"]) == (1, 3, 1)
    expected = np.sum(np.array(case["grad_output"]), axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(nodes["b"]["grad"], expected, rtol=1e-12)


def test_cross_entropy_near_1000_is_finite():
    nodes = _named("cross_entropy_logits_near_1000")
    assert np.isfinite(nodes["loss"]["value"])
    assert np.all(np.isfinite(nodes["logits"]["grad"]))
    # a row of equal logits contributes log(3)/3 and gradient (1/3 − onehot)/3
    np.testing.assert_allclose(nodes["logits"]["grad"][2], np.array([1, 1, -2]) / 9, rtol=1e-12)


# --- 2. PyTorch live -------------------------------------------------------------------------------


@pytest.mark.parity
def test_torch_interpreter_knows_every_op():
    assert torch.__version__.startswith("2.")
    assert set(make_parity_fixtures.TORCH_OPS) == set(OPS) - set(LAYERS)


@pytest.mark.parity
@pytest.mark.parametrize("case_id", IDS)
def test_fixture_is_what_torch_computes(fixture, case_id):
    live = make_parity_fixtures.run_case(BY_ID[case_id])
    stored = fixture["cases"][case_id]
    assert json.dumps(live["inputs"]) == json.dumps(stored["inputs"])  # as text: NaN equals NaN there
    assert_close(live["output"], stored["output"], f"{case_id}: PyTorch output vs fixture")
    assert [n["name"] for n in live["nodes"]] == [n["name"] for n in stored["nodes"]]
    for got, want in zip(live["nodes"], stored["nodes"]):
        assert_close(got["value"], want["value"], f"{case_id}: PyTorch value of {want['name']} vs fixture")
        assert_close(got["grad"], want["grad"], f"{case_id}: PyTorch gradient of {want['name']} vs fixture")


@pytest.mark.parity
def test_torch_point_rules_are_the_ones_the_engine_follows():
    """relu'(0) = abs'(0) = 0, max ties split evenly, maximum ties ½ each: checked in PyTorch itself."""
    x = torch.tensor([0.0, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    x.grad = None
    torch.abs(x).sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, 1.0]
    z = torch.tensor([1.0, 3.0, 3.0], dtype=torch.float64, requires_grad=True)
    torch.amax(z, dim=(0,)).backward()
    assert z.grad.tolist() == [0.0, 0.5, 0.5]
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    torch.maximum(a, b).backward()
    assert (a.grad.item(), b.grad.item()) == (0.5, 0.5)

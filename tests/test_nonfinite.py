"""Every op at NaN and ±inf, against PyTorch: values and gradients, through POST /graph/backward.

PyTorch's OpInfo reference inputs include `[inf, inf, inf, -inf, -inf, -inf, nan, nan, nan]`;
here every op of the table meets inf, -inf and nan (next to 0, 1 and -1, where the derivative
rules at kinks and ties decide what a non-finite operand does), both on Python floats (a program
of scalars runs each elementwise op through `Op.scalar`, the SCALAR backend) and on tensors (the
ARRAY backend, and the vector-Jacobian products of the other ops). A binary op meets the whole
cross product of those six values with itself.

Each case is a one-op program run by the server and by PyTorch (float64, through the parity
fixtures' own interpreter, scripts/make_parity_fixtures.py); the value and gradient of every named
node must agree: NaN exactly where PyTorch has NaN, the same infinity where it has one, and the
same number elsewhere (relative 1e-12: the finite numbers of these cases are all but exact, and
PyTorch sums in its own order).

Each case also runs with an upstream gradient of inf, -inf and NaN everywhere: where PyTorch masks
a gradient (relu's threshold_backward, maximum's masked_fill, pow's where at exponent 0,
cross-entropy's scatter into the targets) rather than multiplying the upstream gradient by a local
derivative of 0, the two differ only then (inf · 0 is NaN); Op.masks declares those places.

`NONFINITE` is the one place that knows each op's cases; an op of OPS without an entry fails the
first test, so an op added later is checked the moment it exists.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.engine.inputs import NON_FINITE
from app.engine.ops import OPS
from tests.conftest import by_name
from tests.layers_nonfinite import LAYER_TORCH_OPS, layer_nonfinite

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_parity_fixtures", ROOT / "scripts" / "make_parity_fixtures.py")
make_parity_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_parity_fixtures)
make_parity_fixtures.TORCH_OPS.update(LAYER_TORCH_OPS)  # the layers' bare calls in PyTorch (tests/layers_nonfinite.py)

INF, NAN = math.inf, math.nan
SPECIAL = [INF, -INF, NAN, 0.0, 1.0, -1.0]
PAIRS = list(itertools.product(SPECIAL, SPECIAL))
RTOL = 1e-12


@dataclass(frozen=True)
class Case:
    kind: str  # "scalar" (Python floats), "array" or "refused" (both refuse the input)
    program: str
    inputs: tuple[tuple[str, Any], ...]  # (name, value as the API takes it)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.program.removeprefix('out = ')}:{_text(dict(self.inputs))}"


def _text(value: Any) -> str:
    return str(value).replace(" ", "")


def _json(value: Any) -> Any:
    """A value as the API's JSON writes it: NaN and the infinities as strings."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _case(kind: str, program: str, **inputs: Any) -> Case:
    return Case(kind, program, tuple(inputs.items()))


def _unary(name: str) -> list[Case]:
    scalars = [_case("scalar", f"out = {name}(x)", x=v) for v in SPECIAL]
    return [*scalars, _case("array", f"out = {name}(x)", x=SPECIAL), _case("array", f"out = {name}(x)", x=[SPECIAL])]


def _binary(name: str) -> list[Case]:
    program = f"out = {name}(a, b)"
    scalars = [_case("scalar", program, a=a, b=b) for a, b in PAIRS]
    a, b = zip(*PAIRS)
    return [
        *scalars,
        _case("array", program, a=list(a), b=list(b)),
        # Broadcast both ways: each gradient is summed over a row or a column of the cross product.
        _case("array", program, a=[[v] for v in SPECIAL], b=SPECIAL),
        _case("array", program, a=1.0, b=SPECIAL),
        _case("array", program, a=SPECIAL, b=NAN),
    ]


# Rows of 3: an infinity among finite numbers, both infinities, ties at an infinity, NaN among
# finite numbers and among infinities, two NaNs, a finite tie, and no special value at all.
ROWS = [
    [INF, 1.0, -1.0],
    [-INF, 0.0, 1.0],
    [INF, -INF, 1.0],
    [INF, INF, 0.0],
    [-INF, -INF, -INF],
    [NAN, 1.0, 0.0],
    [NAN, INF, -INF],
    [NAN, NAN, 1.0],
    [1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0],
]
COLUMNS = [list(column) for column in zip(*ROWS)]  # the same rows, laid along axis 0


def _reduce(name: str) -> list[Case]:
    calls = ["", ", axis=1", ", axis=0", ", axis=-1, keepdims=True", ", axis=None, keepdims=True"]
    rows = [_case("array", f"out = {name}(x)", x=row) for row in ROWS]
    return (
        rows
        + [_case("array", f"out = {name}(x{call})", x=ROWS) for call in calls]
        + [_case("array", f"out = {name}(x)", x=v) for v in (INF, NAN)]
    )


def _softmax_like(name: str) -> list[Case]:
    return [_case("array", f"out = {name}(x)", x=ROWS), _case("array", f"out = {name}(x, axis=0)", x=COLUMNS)] + [
        _case("array", f"out = {name}(x)", x=row) for row in ROWS
    ]


def _labels(rows: int, classes: int) -> dict[str, Any]:
    return {"value": [float(k % classes) for k in range(rows)], "requires_grad": False}


def _cross_entropy() -> list[Case]:
    y = _labels(len(ROWS), 3)
    options = [
        "",
        ', reduction="sum"',
        ', reduction="none"',
        ", weight=(0.5, 2, 1)",
        ", ignore_index=1",
        ", label_smoothing=0.2",
        ', weight=(1, 3, 0.5), label_smoothing=0.3, reduction="none"',
    ]
    cases = [_case("array", f"out = softmax_cross_entropy(z, y{o})", z=ROWS, y=y) for o in options]
    # One row at a time: a NaN or an infinity in one row must not reach the others' gradients above.
    cases += [
        _case("array", "out = softmax_cross_entropy(z, y)", z=row, y={"value": 0.0, "requires_grad": False})
        for row in ROWS
    ]
    # A label that is NaN or infinite is no class index: both refuse it.
    cases += [
        _case("refused", "out = softmax_cross_entropy(z, y)", z=[[1.0, 2.0]], y={"value": [v], "requires_grad": False})
        for v in (NAN, INF, -INF)
    ]
    return cases


def _mse() -> list[Case]:
    a, b = zip(*PAIRS)
    return [
        _case("array", f"out = mse(p, t{o})", p=list(a), t=list(b))
        for o in ("", ', reduction="sum"', ', reduction="none"')
    ] + [_case("array", "out = mse(p, t)", p=[x, 1.0], t=[0.0, y]) for x, y in PAIRS]


def _matrix_with(value: float) -> list[list[float]]:
    return [[value, 1.0, 0.0], [-1.0, 2.0, 0.5]]


def _fixed(value: Any) -> dict[str, Any]:
    """An operand that takes no gradient: positions, masks, conditions."""
    return {"value": value, "requires_grad": False}


def _index() -> list[Case]:
    """The positions are integers (no float to poison); the tensor read holds every special value,
    and repeated positions add their (non-finite) upstream gradients up in the scatter-add."""
    return [
        _case("array", "out = x[i]", x=ROWS, i=_fixed([9, 0, 2, 2, -5, 7])),
        _case("array", "out = x[i]", x=SPECIAL, i=_fixed([[2, 2], [0, -1], [1, 5]])),
        _case("array", "out = x[i, j]", x=ROWS, i=_fixed([0, 2, 2, 6, 7, -4]), j=_fixed([0, 1, 1, -1, 0, 2])),
        _case("array", "out = x[:, 1:]", x=ROWS),
        _case("array", "out = x[..., -1]", x=ROWS),
        _case("array", "out = x[1::3, None]", x=ROWS),
        _case("array", "out = x[2]", x=SPECIAL),
        _case("array", "out = x[3:3]", x=SPECIAL),
    ]


def _gather() -> list[Case]:
    rows = _fixed([[k % 3, (k + 1) % 3, k % 3] for k in range(len(ROWS))])
    columns = _fixed([[(k + j) % len(ROWS) for j in range(len(ROWS[0]))] for k in range(4)])
    return [
        _case("array", "out = gather(x, i, axis=1)", x=ROWS, i=rows),
        _case("array", "out = gather(x, i, axis=-1)", x=ROWS, i=_fixed([[0]] * len(ROWS))),
        _case("array", "out = gather(x, i, axis=0)", x=ROWS, i=columns),
        _case("array", "out = gather(x, i, axis=0)", x=SPECIAL, i=_fixed([2, 2, 0, 5, 1])),
    ]


def _joined(name: str) -> list[Case]:
    """Two operands side by side (or one twice: its gradient is the sum of its two slices)."""
    reverse = SPECIAL[::-1]
    return [
        _case("array", f"out = {name}(a, b)", a=SPECIAL, b=reverse),
        _case("array", f"out = {name}(a, b, axis=-1)", a=ROWS, b=[row[::-1] for row in ROWS]),
        _case("array", f"out = {name}(a, b, a, axis=1)", a=ROWS, b=[list(row) for row in reversed(ROWS)]),
        _case("array", f"out = {name}(a, a)", a=SPECIAL),
    ] + (
        [_case("array", "out = stack(a, b)", a=INF, b=NAN)]
        if name == "stack"
        else [_case("array", "out = cat(a, b)", a=[NAN], b=[INF, -INF])]
    )


_CONDITIONS = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]  # the branch not taken holds inf, -inf and nan in turn


def _where() -> list[Case]:
    reverse = SPECIAL[::-1]
    return [
        _case("array", "out = where(c, a, b)", c=_fixed(_CONDITIONS), a=SPECIAL, b=reverse),
        _case("array", "out = where(c, a, b)", c=_fixed([1.0 - v for v in _CONDITIONS]), a=SPECIAL, b=reverse),
        # a condition of inf, -inf or NaN is nonzero: true, as bool() has it
        _case("array", "out = where(c, a, b)", c=_fixed([INF, 0.0, -INF, NAN, 0.0, 0.0]), a=SPECIAL, b=reverse),
        # broadcast: b's one NaN is taken where c is 0 and its gradient sums those places only
        _case("array", "out = where(c, a, b)", c=_fixed([[1.0], [0.0]]), a=SPECIAL, b=NAN),
        _case(
            "array", "out = where(c, a, b)", c=_fixed([[1.0, 0.0, 0.0]]), a=ROWS, b=[[INF], [-INF], [NAN]] + [[0.0]] * 7
        ),
    ]


def _masked_fill() -> list[Case]:
    mask = _fixed([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    values = ("float('-inf')", "float('inf')", "float('nan')", "0.0")
    return [_case("array", f"out = masked_fill(x, m, value={v})", x=SPECIAL, m=mask) for v in values] + [
        # a masked softmax's scores: whole rows filled with -inf; a NaN mask entry is true
        _case("array", "out = masked_fill(x, m, value=float('-inf'))", x=ROWS, m=_fixed([[0.0, 1.0, NAN]])),
        _case("array", "out = masked_fill(x, m, value=float('-inf'))", x=SPECIAL, m=_fixed([[1.0] * 6, [0.0] * 6])),
    ]


def _arg_extremum(name: str) -> list[Case]:
    calls = ["", ", axis=1", ", axis=0", ", axis=-1, keepdims=True"]
    return (
        [_case("array", f"out = {name}(x)", x=row) for row in ROWS]
        + [_case("array", f"out = {name}(x{call})", x=ROWS) for call in calls]
        + [_case("array", f"out = {name}(x)", x=v) for v in (INF, NAN)]
    )


def _triangle(name: str) -> list[Case]:
    square = [ROWS[:3], ROWS[3:6]]  # (2, 3, 3): batched
    return [
        _case("array", f"out = {name}(x)", x=ROWS),
        _case("array", f"out = {name}(x, diagonal=1)", x=COLUMNS),
        _case("array", f"out = {name}(x, diagonal=-1)", x=square),
    ]


def _clamp() -> list[Case]:
    """Bounds at the special values too; x meets them exactly (1, -1 and 0 are in SPECIAL)."""
    bounds = [
        "min=0.0",
        "max=0.0",
        "min=-1.0, max=1.0",
        "min=1.0, max=-1.0",
        "min=float('-inf'), max=float('inf')",
        "min=float('inf')",
        "max=float('-inf')",
        "min=float('nan')",
        "max=float('nan')",
    ]
    return [_case("array", f"out = clamp(x, {b})", x=SPECIAL) for b in bounds] + [
        _case("scalar", f"out = clamp(x, {b})", x=v) for b in bounds[:3] for v in (INF, -INF, NAN)
    ]


def _logsumexp() -> list[Case]:
    """Rows of -inf (the sum is 0: -inf), rows with +inf, NaN among them."""
    calls = [", axis=1", ", axis=-1, keepdims=True", ", axis=(0, 1)"]
    return (
        [_case("array", f"out = logsumexp(x{call})", x=ROWS) for call in calls]
        + [_case("array", "out = logsumexp(x, axis=0)", x=COLUMNS)]
        + [_case("array", "out = logsumexp(x, axis=0)", x=row) for row in ROWS]
    )


def _deviation(name: str) -> list[Case]:
    """var and std at ±inf and NaN, a row without spread (std 0: PyTorch masks its gradient), and
    corrections up to and past n."""
    rows = [*ROWS, [2.0, 2.0, 2.0]]
    calls = [
        "",
        ", axis=1",
        ", axis=0",
        ", axis=-1, keepdims=True",
        ", axis=1, correction=0",
        ", axis=1, correction=3",
        ", axis=1, correction=4",
    ]
    return [_case("array", f"out = {name}(x)", x=row) for row in rows] + [
        _case("array", f"out = {name}(x{call})", x=rows) for call in calls
    ]


def _maker(name: str) -> list[Case]:
    """A constant takes its shape (or count) from a tensor full of special values, which it never reads."""
    if name in ("arange", "eye"):
        return [_case("array", f"out = {name}(len(x))", x=SPECIAL), _case("array", f"out = {name}(len(x))", x=ROWS)]
    fills = [", float('inf')", ", float('-inf')", ", float('nan')"] if name == "full" else [""]
    return [_case("array", f"out = {name}(x.shape{fill})", x=x) for fill in fills for x in (SPECIAL, ROWS)]


def _like(name: str) -> list[Case]:
    fills = [", float('inf')", ", float('-inf')", ", float('nan')", ", 0.5"] if name == "full_like" else [""]
    return [_case("array", f"out = {name}(x{fill})", x=x) for fill in fills for x in (SPECIAL, ROWS, NAN)]


NONFINITE: dict[str, list[Case]] = {
    **{name: _binary(name) for name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum")},
    **{name: _unary(name) for name in ("neg", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu")},
    **{name: _reduce(name) for name in ("sum", "mean", "max", "min")},
    **{name: _softmax_like(name) for name in ("softmax", "log_softmax")},
    "matmul": [
        case
        for v in (INF, -INF, NAN)
        for case in (
            _case("array", "out = matmul(a, b)", a=_matrix_with(v), b=[[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]]),
            _case("array", "out = matmul(a, b)", a=[[1.0, 0.0, 2.0], [0.5, 1.0, 0.0]], b=_matrix_with(v)[0]),
            _case("array", "out = matmul(a, b)", a=[v, 0.0, 1.0], b=[1.0, 2.0, 0.0]),
        )
    ],
    "linear": [
        case
        for v in (INF, -INF, NAN)
        for case in (
            _case(
                "array",
                "out = linear(x, W, b)",
                x=_matrix_with(v),
                W=[[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]],
                b=[0.0, 1.0],
            ),
            _case(
                "array",
                "out = linear(x, W, b)",
                x=[[1.0, 0.0, 2.0]],
                W=[[v, 0.0], [0.0, 1.0], [2.0, -1.0]],
                b=[0.0, 1.0],
            ),
            _case(
                "array",
                "out = linear(x, W, b)",
                x=[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]],
                W=[[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]],
                b=[v, 1.0],
            ),
        )
    ],
    "mse": _mse(),
    "softmax_cross_entropy": _cross_entropy(),
    "onehot": [
        _case("refused", "out = onehot(y, 3)", y={"value": [0.0, v], "requires_grad": False}) for v in (NAN, INF, -INF)
    ],
    "detach": [_case("array", "out = detach(x)", x=SPECIAL), _case("scalar", "out = detach(x)", x=NAN)],
    "transpose": [_case("array", "out = transpose(x)", x=ROWS), _case("array", "out = x.T", x=COLUMNS)],
    "reshape": [_case("array", "out = reshape(x, (5, 6))", x=ROWS), _case("array", "out = reshape(x, -1)", x=ROWS)],
    "index": _index(),
    "gather": _gather(),
    **{name: _joined(name) for name in ("cat", "stack")},
    "where": _where(),
    "masked_fill": _masked_fill(),
    **{name: _binary(name) for name in ("gt", "lt", "ge", "le", "eq", "ne")},
    **{name: _unary(name) for name in ("bool", "logical_not")},
    **{name: _binary(name) for name in ("logical_and", "logical_or", "logical_xor")},
    "einsum": [
        *(
            case
            for v in (INF, -INF, NAN)
            for case in (
                _case(
                    "array",
                    'out = einsum("ij,jk->ik", a, b)',
                    a=_matrix_with(v),
                    b=[[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]],
                ),
                _case("array", 'out = einsum("ii", a)', a=[[v, 1.0], [0.0, -1.0]]),
                _case("array", 'out = einsum("ij,ij->ij", a, b)', a=[[v], [1.0]], b=[SPECIAL, SPECIAL]),
            )
        ),
        _case("array", 'out = einsum("i,i", a, b)', a=[a for a, _ in PAIRS], b=[b for _, b in PAIRS]),
        _case("array", 'out = einsum("i,j->ij", a, b)', a=SPECIAL, b=SPECIAL),
    ],
    **{name: _arg_extremum(name) for name in ("argmax", "argmin")},
    **{name: _triangle(name) for name in ("tril", "triu")},
    "clamp": _clamp(),
    "logsumexp": _logsumexp(),
    **{name: _deviation(name) for name in ("var", "std")},
    "linear_t": [
        case
        for v in (INF, -INF, NAN)
        for case in (
            _case(
                "array",
                "out = linear_t(x, W, b)",
                x=_matrix_with(v),
                W=[[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]],
                b=[0.0, 1.0],
            ),
            _case(
                "array",
                "out = linear_t(x, W, b)",
                x=[[1.0, 0.0, 2.0]],
                W=[[v, 0.0, 2.0], [0.0, 1.0, -1.0]],
                b=[0.0, 1.0],
            ),
            _case(
                "array",
                "out = linear_t(x, W, b)",
                x=[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]],
                W=[[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]],
                b=[v, 1.0],
            ),
        )
    ],
    **{name: _maker(name) for name in ("ones", "zeros", "full", "arange", "eye")},
    **{name: _like(name) for name in ("ones_like", "zeros_like", "full_like")},
    # --- the layers (issue 20): tests/layers_nonfinite.py ---
    **layer_nonfinite(_case, _unary, SPECIAL, ROWS, PAIRS),
}

ALL_CASES = [pytest.param(name, case, id=f"{name}-{case.id}") for name in NONFINITE for case in NONFINITE[name]]
# The upstream gradient fed into the output, of the output's shape: ones, or a non-finite number
# everywhere (where PyTorch masks a gradient rather than multiplying it, relu's at x < 0 say, an
# infinite upstream gradient still gives 0 there).
UPSTREAMS = [None, INF, -INF, NAN]


# --- comparing ------------------------------------------------------------------------------------


def _number(value: Any) -> Any:
    """A response's value as numbers: the strings "NaN", "Infinity", "-Infinity" read back."""
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, str):
        return NON_FINITE[value]
    return value


def assert_same(actual: Any, expected: Any, what: str) -> None:
    """NaN where PyTorch has NaN, the same infinities, and the same numbers elsewhere."""
    if expected is None:
        assert actual is None, f"{what}: PyTorch has no gradient here, the engine gives {actual!r}"
        return
    assert actual is not None, f"{what}: PyTorch gives {expected!r}, the engine no gradient"
    got = np.asarray(_number(actual), dtype=np.float64)
    want = np.asarray(expected, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    nan = np.isnan(want)
    finite = np.isfinite(want)
    same = np.where(nan, np.isnan(got), np.where(finite, np.isclose(got, want, rtol=RTOL, atol=0.0), got == want))
    if not same.all():
        at = [tuple(int(i) for i in index) for index in np.argwhere(~same)]
        raise AssertionError(
            f"{what} differs from PyTorch at {at[:6]}{' ...' if len(at) > 6 else ''}:\n"
            f"engine  {got.tolist()}\nPyTorch {want.tolist()}"
        )


def torch_answer(case: Case, upstream: float | None = None) -> dict[str, tuple[Any, Any]] | None:
    """{name: (value, gradient)} of every named node in PyTorch, or None where PyTorch refuses;
    the output's gradient is ones, or `upstream` everywhere."""
    try:
        run = make_parity_fixtures.TorchRun(case.program, dict(case.inputs))
        run.backward(None if upstream is None else np.full(tuple(run.output.shape), upstream).tolist())
    except (RuntimeError, IndexError, ValueError):
        return None
    plain = make_parity_fixtures.plain
    return {name: (plain(t), plain(t.grad)) for name, t in run.named}


# --- the tests ------------------------------------------------------------------------------------


def test_every_op_has_nonfinite_cases() -> None:
    missing = sorted(set(OPS) - set(NONFINITE))
    assert not missing, (
        f"ops without an entry in NONFINITE of tests/test_nonfinite.py (add cases feeding them inf, -inf "
        f"and nan): {missing}"
    )
    stale = sorted(set(NONFINITE) - set(OPS))
    assert not stale, f"NONFINITE names ops that are not in OPS: {stale}"


def test_every_entry_builds_its_op_and_meets_every_special_value(client: TestClient) -> None:
    """Each case really is its op; elementwise ops are tried on Python floats and on arrays, with
    every special value (a typo cannot hide an op, a narrowed list cannot hide a value)."""
    for name, cases in NONFINITE.items():
        assert cases, f"{name} has no cases"
        met = set()
        for case in cases:
            if case.kind != "refused":
                body = client.post(
                    "/graph/forward", json={"expression": case.program, "inputs": _json(dict(case.inputs))}
                )
                assert body.status_code == 200, body.text
                built = {node["op"] for node in body.json()["nodes"]} - {"input", "constant"}
                assert built == {name}, f"{case.program} builds {built}, expected only {name}"
            for _, value in case.inputs:
                raw = value["value"] if isinstance(value, dict) else value
                met |= {_text(v) for v in np.ravel(np.asarray(raw, dtype=np.float64)).tolist() if not math.isfinite(v)}
        assert met == {"inf", "-inf", "nan"}, f"{name}: its cases never feed it {sorted({'inf', '-inf', 'nan'} - met)}"
        kinds = {case.kind for case in cases}
        if OPS[name].elementwise:
            assert {"scalar", "array"} <= kinds, f"{name}: elementwise, so it needs scalar and array cases"


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=["ones", "inf", "-inf", "nan"])
@pytest.mark.parametrize(("op_name", "case"), ALL_CASES)
def test_op_answers_nonfinite_inputs_as_pytorch(
    client: TestClient, op_name: str, case: Case, upstream: float | None
) -> None:
    expected = torch_answer(case, upstream)
    grad_output = None
    if upstream is not None and expected is not None:
        grad_output = _json(np.full(np.shape(expected["out"][0]), upstream).tolist())
    response = client.post(
        "/graph/backward",
        json={"expression": case.program, "inputs": _json(dict(case.inputs)), "grad_output": grad_output},
    )
    if case.kind == "refused":
        assert expected is None, f"{case.program}: PyTorch computes {expected}; expected it to refuse"
        assert response.status_code == 422, response.text
        assert "labels must be" in response.json()["error"]["message"]
        return
    assert expected is not None, f"{case.program}: PyTorch refused the case"
    assert response.status_code == 200, response.text
    given = f"{dict(case.inputs)}, upstream {'ones' if upstream is None else upstream}"
    if upstream is not None:  # where only a non-finite upstream gradient parts them, say what to do
        given += " (where PyTorch masks this gradient rather than multiplying it, declare Op.masks)"
    body = response.json()
    nodes = by_name(body)
    if case.kind == "scalar":  # the case is meant for the Python-float path: it is all scalars
        assert all(node["shape"] == [] for node in body["nodes"]), case.program
    assert set(nodes) == set(expected), f"named nodes {sorted(nodes)}, PyTorch {sorted(expected)}"
    for name, (value, grad) in expected.items():
        assert_same(nodes[name]["value"], value, f"{case.program} with {given}: value of {name}")
        assert_same(nodes[name]["grad"], grad, f"{case.program} with {given}: gradient of {name}")


def test_comparison_tells_nan_from_a_number() -> None:
    """The comparison can fail: a NaN for a number, a number for a NaN, -inf for inf."""
    assert_same([NAN, 1.0], [NAN, 1.0], "same")
    for got, want in (([0.0], [NAN]), ([NAN], [0.0]), (["-Infinity"], [INF]), ([1.0 + 1e-9], [1.0])):
        with pytest.raises(AssertionError, match="differs from PyTorch"):
            assert_same(got, want, "x")


def test_relu_passes_the_gradient_at_nan_as_pytorch(client: TestClient) -> None:
    """The reported case, PyTorch's OpInfo reference input: relu'(nan) passes the upstream gradient
    (PyTorch's numbers beside the engine's, on both paths)."""
    x = [INF, INF, INF, -INF, -INF, -INF, NAN, NAN, NAN]
    upstream = [2.0, -1.0, 0.5] * 3
    leaf = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    torch.relu(leaf).backward(torch.tensor(upstream, dtype=torch.float64))
    assert leaf.grad.tolist() == [2.0, -1.0, 0.5, 0.0, 0.0, 0.0, 2.0, -1.0, 0.5]
    body = client.post(
        "/graph/backward", json={"expression": "y = relu(x)", "inputs": {"x": _json(x)}, "grad_output": upstream}
    ).json()
    assert by_name(body)["x"]["grad"] == leaf.grad.tolist()
    scalar = client.post(
        "/graph/backward", json={"expression": "y = relu(x)", "inputs": {"x": "NaN"}, "grad_output": -3.0}
    ).json()
    assert by_name(scalar)["x"]["grad"] == -3.0


CHAINS = [
    ("h = relu(x)\nout = h * w", {"x": [-1.0, 0.0, 2.0, NAN, -INF], "w": [INF, -INF, NAN, INF, 1.0]}),
    ("h = relu(x)\nout = h * w", {"x": -1.0, "w": INF}),
    ("m = maximum(a, b)\nout = sum(m * w)", {"a": [1.0, 2.0, 3.0], "b": [2.0, 2.0, 1.0], "w": INF}),
    ("p = a ** b\nout = p * w", {"a": [INF, 2.0, 0.0], "b": [0.0, 0.0, 2.0], "w": NAN}),
    (
        "h = relu(x)\nloss = softmax_cross_entropy(h, y, ignore_index=1)\nout = loss * w",
        {"x": [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], "y": {"value": [0.0, 1.0], "requires_grad": False}, "w": INF},
    ),
]


@pytest.mark.parametrize(("program", "inputs"), CHAINS, ids=[program.replace("\n", "; ") for program, _ in CHAINS])
def test_a_nonfinite_gradient_from_above_is_masked_as_pytorch_masks_it(
    client: TestClient, program: str, inputs: dict[str, Any]
) -> None:
    """A program's own inf or NaN reaches relu, maximum, pow or the loss from above: every named
    node's gradient as PyTorch's, and each masked edge of the step record says 0 (inf · 0 would be NaN)."""
    body = client.post("/graph/backward", json={"expression": program, "inputs": _json(inputs)}).json()
    nodes = by_name(body)
    expected = torch_answer(Case("array", program, tuple(inputs.items())))
    assert expected is not None
    for name, (value, grad) in expected.items():
        assert_same(nodes[name]["value"], value, f"{program}: value of {name}")
        assert_same(nodes[name]["grad"], grad, f"{program}: gradient of {name}")
    for step in body["steps"]:
        if step["phase"] == "backward" and step["input"] == nodes.get("x", {}).get("id"):
            assert_same(step["accumulated"], expected["x"][1], f"{program}: the step record's ∂L/∂x")

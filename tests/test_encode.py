"""The column-by-column JSON writer (app/api/jsontext.py) and the graph bodies written with it.

The writer is checked against orjson's own encoding of the same objects built as dicts; graph
bodies against the contract's objects built one by one from the engine's result.
"""

from __future__ import annotations

import json
import math

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api.encode import _value, graph_body
from app.api.formulas import formula_label as _formula_label
from app.api.jsontext import int_lists, int_texts, items, objects, strings
from app.core import evaluate
from app.engine.errors import SourceMap
from app.engine.limits import Limits
from app.examples import EXAMPLES
from tests.op_calls import evaluate_call
from tests.parity_programs import CASES

# Parity cases that call one op through the engine's API (their "program" is the call as text).
_CALLS = {case["program"]: case["call"] for case in CASES if "call" in case}


def evaluate_program(program: str, inputs, grad_output, backward: bool = True):
    """app.core.evaluate, or for a parity case's call, that op called on its inputs."""
    call = _CALLS.get(program)
    if call is not None:
        return evaluate_call(call["op"], call["params"], inputs, grad_output, backward=backward)
    return evaluate(program, inputs, grad_output, limits=Limits(), backward=backward)


# Values whose JSON text may or may not hold commas, brackets, quotes and escapes.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["NaN", "Infinity", "a,b", '"q"', "[x]"]),
)
_values = st.one_of(
    _scalars,
    st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=3),
    st.lists(st.integers(0, 9), max_size=3).map(lambda ints: np.array(ints, dtype=float)),
    st.dictionaries(st.sampled_from(["min", "max"]), st.floats(allow_nan=False, allow_infinity=False), max_size=2),
)


def _plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.tuples(_values, _values, st.lists(st.integers(0, 99), max_size=4), st.text(max_size=6)), max_size=8))
def test_objects_write_what_orjson_writes_for_the_same_dicts(rows):
    template = '{"a":@,"nested":{"b":@},"ints":[@],"text":@}'
    columns = [
        items([row[0] for row in rows]),
        items([row[1] for row in rows]),
        int_lists([row[2] for row in rows]),
        strings([row[3] for row in rows]),
    ]
    written = "[" + ",".join(objects(template, columns)) + "]"
    expected = [{"a": _plain(a), "nested": {"b": _plain(b)}, "ints": ints, "text": text} for a, b, ints, text in rows]
    assert written.isascii()
    assert json.loads(written) == expected


def test_items_split_one_call_when_no_value_holds_a_comma():
    assert items([1.5, None, -0.0, 7]) == ["1.5", "null", "-0.0", "7"]
    assert items([[1, 2], "x,y", 3.0]) == ["[1,2]", '"x,y"', "3.0"]
    assert items([]) == []


@pytest.mark.parametrize(
    "values",
    [[3, 0, 17], range(5), range(2, 9), [], [-1, 4], [10**6, 2], [1 << 18, 0], [5000, 70_000]],
    ids=repr,
)
def test_int_texts_are_the_ints_json_text(values):
    assert int_texts(values) == [json.dumps(value) for value in values]
    if values and min(values) >= 0:
        assert int_texts(values, below=max(values) + 1) == [json.dumps(value) for value in values]


def test_objects_fold_a_column_that_is_the_same_on_every_row_into_the_template():
    template = '{"a":@,"b":[@],"c":@}'
    assert objects(template, [["1", "2"], ["", ""], ["x", "x"]]) == ['{"a":1,"b":[],"c":x},{"a":2,"b":[],"c":x}']
    assert objects(template, [["1", "1"], ["", ""], ["x", "x"]]) == ['{"a":1,"b":[],"c":x},{"a":1,"b":[],"c":x}']
    assert objects(template, [["1", "2", "1"], ["", "", ""], ["x", "y", "x"]]) == [
        '{"a":1,"b":[],"c":x},{"a":2,"b":[],"c":y},{"a":1,"b":[],"c":x}'
    ]


def test_int_lists_leave_the_brackets_to_the_template():
    assert int_lists([(), (3,), (2, 3)]) == ["", "3", "2,3"]
    assert int_lists([]) == []
    assert int_lists([(), ()]) == int_lists([[], []]) == ["", ""]  # a scalar graph's shapes: not written at all


def test_formulas_are_the_same_whichever_way_their_steps_are_grouped(monkeypatch):
    """Steps are grouped by (op, slot) from the op's id times the slots, or past ID_CODES_SLOTS
    slots from the op's place among the ops: the same formulas either way, variadic ops too."""
    from app.api import formulas
    from app.core import evaluate

    program = "h = x * x + x * w\ny = sum(stack([h, x, h * h], axis=0)) + tanh(h) * w"
    result = evaluate(program, {"x": 0.5, "w": -1.5})
    by_id = graph_body(result, 1000, 256)
    monkeypatch.setattr(formulas, "ID_CODES_SLOTS", 1)
    assert graph_body(result, 1000, 256) == by_id
    formulas_written = {step["local"]["formula"] for step in json.loads(by_id)["steps"] if "local" in step}
    assert {"∂(x * x)/∂x = x", "∂(x * w)/∂w = x", "∂(x * w)/∂x = w"} <= formulas_written


def test_strings_are_ascii_escaped_and_none_is_null():
    assert strings(["∂f/∂q = z", None, "h"]) == ['"\\u2202f/\\u2202q = z"', "null", '"h"']


@pytest.mark.parametrize(
    "values",
    [
        ["a\nb", "c"],  # a line break of its own: the strings are escaped in one call joined by line breaks
        ["c\\nd", "e", None],  # a backslash before an n, which escapes to the joins' own text
        ["", None, ""],
        [None, None],
        [],
        ['"q"', "tab\there", "\u2028", "é"],
    ],
)
def test_strings_escape_each_string_as_json_does(values):
    assert strings(values) == [json.dumps(value) for value in values]


def test_objects_refuse_a_template_that_does_not_fit_the_columns():
    with pytest.raises(ValueError, match="2 places for 1 columns"):
        objects('{"a":@,"b":@}', [["1"]])
    with pytest.raises(ValueError, match="one item per row"):  # columns of different lengths
        objects('{"a":@,"b":@}', [["1", "2"], ["3"]])
    assert objects('{"a":@}', [[]]) == []


def test_long_lists_are_written_block_by_block_to_the_same_text(monkeypatch):
    """Blocks bound how long one C call holds the GIL; they must not change a byte of the body."""
    from app.api import encode, jsontext
    from app.core import evaluate

    program = "\n".join(["h = tanh(x * w + b)"] + ["h = tanh(h * w + b)"] * 6 + ["loss = h * h"])
    result = evaluate(program, {"x": 0.5, "w": [[0.9, -1.5], [0.1, 2.0]], "b": [0.1, float("nan")]})
    whole = encode.graph_body(result, 10_000, 256)
    values = [0.5, None, [1, 2], "a,b", 3] * 3
    unblocked = (items(values), int_lists([(1, 2), ()] * 5), objects('{"a":@}', [["1"] * 10]))
    monkeypatch.setattr(jsontext, "BLOCK", 3)
    monkeypatch.setattr(encode, "BLOCK", 3)
    chunks = encode.graph_chunks(result, 10_000, 256)
    assert b"".join(chunks) == whole
    assert (items(values), int_lists([(1, 2), ()] * 5)) == unblocked[:2]
    assert objects('{"a":@}', [["1"] * 10]) == ['{"a":1},{"a":1},{"a":1}'] * 3 + ['{"a":1}']
    assert ",".join(objects('{"a":@}', [["1"] * 10])) == ",".join(unblocked[2])


def _expected_body(result, max_full: int, max_step: int) -> dict:
    """The contract's body (docs/api.md), built object by object from the engine's result."""
    graph, grads = result.graph, result.grads
    source = SourceMap(graph.source)
    labels = [graph.label(node) for node in range(len(graph))]
    nodes = []
    for node in range(len(graph)):
        op = graph.ops[node]
        entry = {
            "id": node,
            "op": op.name if op else ("constant" if graph.constant[node] else "input"),
            "name": graph.names[node],
            "label": labels[node],
            "shape": list(graph.shapes[node]),
            "value": _plain(_value(graph.values[node], max_full)),
            "grad": None if grads is None else _plain(_value(grads[node], max_full)),
            "inputs": list(graph.args[node]),
            "span": source.span(graph.starts[node], graph.ends[node]),
        }
        if graph.params[node]:
            # ±inf and NaN (a fill value) as the contract writes non-finite numbers
            params = {
                name: value
                if not isinstance(value, float) or math.isfinite(value)
                else {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
                for name, value in graph.params[node].items()
            }
            entry["params"] = json.loads(orjson.dumps(params))
        nodes.append(entry)
    steps = [{"phase": "forward", "node": node} for node in result.forward]
    for step in result.steps:
        op = graph.ops[step.node]
        shown = [_formula_label(labels[j]) for j in graph.args[step.node]]
        names = dict(zip(op.operands, shown), out=_formula_label(labels[step.node]))
        declared = step.slot
        if op.variadic:  # the last operand name stands for the rest: joined, and this one in its formula
            declared = min(step.slot, len(op.operands) - 1)
            names[op.operands[-1]] = ", ".join(shown[len(op.operands) - 1 :])
            if declared == len(op.operands) - 1:
                names[op.operands[-1]] = shown[step.slot]
        steps.append(
            {
                "phase": "backward",
                "node": step.node,
                "input": step.input,
                "slot": step.slot,
                "upstream": _plain(_value(grads[step.node], max_step)),
                "local": {
                    "formula": op.formulas[declared].format(**names),
                    "value": _plain(_value(step.local, max_step)),
                },
                "contribution": _plain(_value(step.contribution, max_step)),
                "accumulated": _plain(_value(step.accumulated, max_step)),
                "summed_axes": list(step.summed_axes),
            }
        )
    return {
        "nodes": nodes,
        "output": graph.output,
        "forward": result.forward,
        "steps": steps,
        "truncated_elements": max_full,
    }


_PROGRAMS = (
    [(case["program"], case["inputs"], case["grad_output"]) for case in CASES]
    + [(example["expression"], example["inputs"], None) for example in EXAMPLES]
    + [
        ("y = log(x)", {"x": [0.0, -1.0, 2.0]}, None),  # -inf and NaN in a tensor
        ("y = x / z", {"x": 1.0, "z": 0.0}, None),  # infinity in a scalar
        ("é = x * x\n# a comment, with commas\nf = sum(é, axis=0, keepdims=True)", {"x": [[1, 2], [3, 4]]}, None),
        ("y = sum(x * 2)", {"x": {"init": "randn", "shape": [40, 40], "seed": 0}}, None),  # summaries
        ("y = transpose(x, axes=(1, 0)) * b", {"x": [[1, 2, 3], [4, 5, 6]], "b": [1, 2]}, [[1, 1], [1, 1], [1, 1]]),
        ("x", {"x": 3.0}, None),  # no steps at all
        ("y = x * 2  # \ud800, a lone surrogate\nz = y + x", {"x": 1.5}, None),  # spans found past it
        ("y = x * 2 + 1", {"x": {"value": 3.0, "requires_grad": False}}, None),  # no backward steps
    ]
)


@pytest.mark.parametrize("backward", [True, False], ids=["backward", "forward"])
@pytest.mark.parametrize("program, inputs, grad_output", _PROGRAMS)
def test_graph_body_is_the_contracts_body(program, inputs, grad_output, backward):
    result = evaluate_program(program, inputs, grad_output, backward)
    for max_full, max_step in ((1000, 256), (4, 2)):  # the second summarizes most tensors
        body = graph_body(result, max_full, max_step)
        assert body.isascii()
        assert json.loads(body) == _expected_body(result, max_full, max_step)

"""The language: what it accepts, what it means, and where it says a program is wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core import evaluate
from app.engine.errors import ProgramError
from app.engine.limits import Limits
from app.engine.ops import OPS


def output(program: str, **inputs):
    result = evaluate(program, inputs)
    return result.values[result.output]


def error(program: str, inputs=None, limits: Limits = Limits()) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        evaluate(program, inputs if inputs is not None else {"x": 1.0, "y": 2.0, "W": [[1.0, 2.0]]}, limits=limits)
    return caught.value


def where(exc: ProgramError, program: str) -> str:
    return program[exc.start : exc.end]


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("2 ** 3 ** 2", 512.0),  # right-associative
        ("-2 ** 2", -4.0),  # unary minus binds looser than **
        ("2 ** -1", 0.5),
        ("10 - 4 - 3", 3.0),  # left-associative
        ("8 / 4 / 2", 1.0),
        ("1e-3 * 1_000", 1.0),
        (".5 + 1.", 1.5),
        ("- -3", 3.0),
        ("+3", 3.0),
        ("pi", math.pi),
        ("e", math.e),
    ],
)
def test_arithmetic_follows_python(program, expected):
    assert output(program) == pytest.approx(expected, rel=1e-15)


def test_statements_by_newline_and_semicolon_comments_and_joined_lines():
    program = "# a comment\na = x * 2; b = (a +\n     1)  # trailing comment\n\nb * 3\n"
    result = evaluate(program, {"x": 1.5})
    assert result.values[result.output] == 12.0


def test_output_is_the_final_expression_else_the_last_assignment():
    assert output("a = x + 1\nb = a * 2", x=1.0) == 4.0
    assert output("a = x + 1\na * 10", x=1.0) == 20.0


def test_reassignment_makes_a_new_node_and_later_lines_see_it():
    result = evaluate("h = x\nh = h * 2\nh = h * 3", {"x": 1.0})
    graph = result.graph
    assert [graph.names[i] for i in result.forward] == ["h", "h"]
    assert result.values[result.output] == 6.0
    assert result.grads[0] == 6.0


def test_a_name_used_twice_is_one_node_with_two_edges():
    result = evaluate("y = x * x", {"x": 3.0})
    mul = result.output
    assert result.graph.args[mul] == (0, 0)
    assert [(s.input, s.slot, s.contribution) for s in result.steps] == [(0, 0, 3.0), (0, 1, 3.0)]
    assert result.grads[0] == 6.0


def test_keyword_and_positional_parameters():
    x = np.arange(6.0).reshape(2, 3)
    assert output("sum(x, axis=0)", x=x.tolist()).tolist() == [3.0, 5.0, 7.0]
    assert output("sum(x, 1, True)", x=x.tolist()).tolist() == [[3.0], [12.0]]
    assert output("mean(x, axis=(0, 1))", x=x.tolist()) == 2.5
    assert output("reshape(x, (3, -1))", x=x.tolist()).shape == (3, 2)
    assert output("transpose(x, axes=(1, 0))", x=x.tolist()).shape == (3, 2)
    assert output("x.T", x=x.tolist()).shape == (3, 2)
    assert output("max(x, axis=-1, keepdims=True)", x=x.tolist()).tolist() == [[2.0], [5.0]]


def test_every_op_is_callable_by_name():
    assert set(OPS) >= {
        "exp",
        "log",
        "sqrt",
        "abs",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "relu",
        "sum",
        "mean",
        "max",
        "min",
        "softmax",
        "log_softmax",
        "mse",
        "softmax_cross_entropy",
        "linear",
        "transpose",
        "reshape",
        "maximum",
        "minimum",
    }


def test_an_input_may_opt_out_of_gradients():
    result = evaluate("y = x * c", {"x": 2.0, "c": {"value": 3.0, "requires_grad": False}})
    assert result.grads[0] == 3.0
    assert result.grads[1] is None
    assert len(result.steps) == 1


def test_constants_take_no_gradient():
    result = evaluate("y = x * 2 + 1", {"x": 2.0})
    constants = [i for i in range(len(result.graph)) if result.graph.constant[i] and result.graph.ops[i] is None]
    assert len(constants) == 2
    assert all(result.grads[i] is None for i in constants)


def test_nodes_the_output_does_not_use_are_computed_without_gradient():
    result = evaluate("unused = x * 5\ny = x + 1", {"x": 2.0})
    unused = result.forward[0]
    assert result.values[unused] == 10.0
    assert result.grads[unused] is None
    assert result.grads[0] == 1.0


def test_initializers_are_seeded_and_shaped():
    spec = {"init": "randn", "shape": [3, 4], "seed": 5}
    first = output("w", w=spec)
    np.testing.assert_array_equal(first, output("w", w=spec))
    assert first.shape == (3, 4)
    assert output("sum(w)", w={"init": "ones", "shape": [2, 2]}) == 4.0
    uniform = output("w", w={"init": "uniform", "shape": [100], "low": 2, "high": 3})
    assert uniform.min() >= 2 and uniform.max() < 3


# --- errors, each with its place --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("program", "kind", "at"),
    [
        ("x.__class__", "forbidden", ".__class__"),
        ("__import__('os')", "forbidden", "__import__"),
        ("lambda x: x", "forbidden", "lambda"),
        ("y = 'text'", "forbidden", "'"),
        ('f"{x}"', "forbidden", 'f"'),
        ("[x for x in y]", "forbidden", "["),
        ("(x for x in y)", "forbidden", "for"),
        ("x[0]", "shape_mismatch", "x[0]"),  # a subscript of the 0-d x
        ("(y := 3)", "forbidden", ":="),
        ("sum(*x)", "forbidden", "*"),
        ("import os", "forbidden", "import"),
        ("x if y else x", "forbidden", "if"),
        ("x < y < x", "forbidden", "<"),
        ("x // W", "bad_arguments", "W"),
        ("x.grad", "forbidden", ".grad"),
        ("x &= 1", "forbidden", "&="),
        ("{1: 2}", "forbidden", "{"),
        ("1j * x", "forbidden", "1j"),
        ("x +", "syntax_error", ""),
        ("x + * y", "forbidden", "*"),
        ("(x + y", "syntax_error", ""),
        ("x + y)", "syntax_error", ")"),
        ("x y", "syntax_error", "y"),
        ("x $ y", "syntax_error", "$"),
        ("x + 1 = y", "syntax_error", "="),
        ("tahn(x)", "unknown_function", "tahn"),
        ("exp", "unknown_name", "exp"),
        ("x * zz", "missing_input", "zz"),
        ("sum(x, axes=0)", "bad_arguments", "axes"),
        ("linear(x, W)", "bad_arguments", "linear(x, W)"),
        ("sum(x, axis=W)", "bad_arguments", "W"),
        ("sum(x, axis=1.5)", "bad_arguments", "1.5"),
        ("x @ W", "shape_mismatch", "x @ W"),
        ("(1, 2) * x", "bad_arguments", "(1, 2)"),
    ],
)
def test_errors_name_the_problem_and_point_at_it(program, kind, at):
    exc = error(program)
    assert exc.kind == kind, exc.message
    assert exc.start is not None
    if at:
        assert where(exc, program) == at, exc.message


def test_unknown_function_suggests_the_closest_names():
    exc = error("y = softmax_crossentropy(x, y)")
    assert exc.suggestions[0] == "softmax_cross_entropy"  # the closest first (the layers add other cross-entropies)
    assert "did you mean softmax_cross_entropy" in exc.message


def test_missing_input_suggests_close_names():
    exc = error("y = wieght * 2", {"weight": 1.0})
    assert exc.kind == "missing_input"
    assert exc.suggestions == ["weight"]


def test_an_input_assigned_again_is_suggested_once():
    exc = error("weight = weight * 2\ny = wieght + 1", {"weight": 1.0})
    assert exc.suggestions == ["weight"]
    assert "did you mean weight?" in exc.message


def test_shape_mismatch_names_both_operands_and_shapes():
    exc = error("h = x @ W", {"x": [[1.0, 2.0, 3.0]], "W": [[1.0], [2.0]]})
    assert exc.kind == "shape_mismatch"
    assert "x has shape (1, 3)" in exc.message and "W has shape (2, 1)" in exc.message
    exc = error("y = a + b", {"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]})
    assert "a has shape (2,)" in exc.message and "b has shape (3,)" in exc.message


def test_an_error_on_a_later_line_points_there():
    program = "a = x * 2\nb = a + 1\nc = b @ x"
    exc = error(program)
    assert where(exc, program) == "b @ x"
    assert program[: exc.start].count("\n") == 2


def test_labels_out_of_range_are_an_input_error_at_the_call():
    program = "softmax_cross_entropy(z, labels)"
    exc = error(program, {"z": [[1.0, 2.0]], "labels": [5]})
    assert exc.kind == "invalid_input"
    assert where(exc, program) == program
    assert error(program, {"z": [[1.0, 2.0]], "labels": [0.5]}).kind == "invalid_input"


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ({"x": "three"}, "the string 'three'"),
        ({"x": True}, "boolean"),
        ({"x": None}, "null"),
        ({"x": [1.0, [2.0]]}, "ragged"),
        ({"x": [[1.0, 2.0], [3.0]]}, "ragged"),
        ({"x": [1.0, "2"]}, "not a number"),
        ({"x": [1, True]}, "not a number"),
        ({"x": {"init": "glorot", "shape": [2]}}, "unknown init"),
        ({"x": {"init": "randn", "shape": [2, -1]}}, "non-negative integers"),
        ({"x": {"init": "randn", "shape": [2], "seed": "s"}}, "seed"),
        ({"x": {"valu": 1}}, "'value' or 'init'"),
        ({"x": {"value": 1, "requires_grad": "yes"}}, "requires_grad"),
    ],
)
def test_bad_input_values_are_named(inputs, fragment):
    exc = error("y = x * 2", inputs)
    assert exc.kind == "invalid_input"
    assert exc.input == "x"
    assert fragment in exc.message


@pytest.mark.parametrize(
    ("program", "inputs", "limits"),
    [
        ("x + x + x", {"x": 1.0}, Limits(max_program_chars=5)),
        ("x + x + x", {"x": 1.0}, Limits(max_nodes=2)),  # x and two adds: 3 nodes
        ("x * 2", {"x": [1.0] * 10}, Limits(max_tensor_elements=5)),
        ("x * 2", {"x": {"init": "zeros", "shape": [1000, 1000]}}, Limits(max_tensor_elements=1000)),
        ("x @ x.T", {"x": {"init": "zeros", "shape": [50, 40]}}, Limits(max_tensor_elements=2000)),
        ("x @ x.T @ x", {"x": {"init": "zeros", "shape": [40, 40]}}, Limits(max_total_work=100_000)),
        ("(" * 120 + "x" + ")" * 120, {"x": 1.0}, Limits()),
        ("-" * 500 + "x", {"x": 1.0}, Limits()),
    ],
)
def test_limits_are_checked_before_computing(program, inputs, limits):
    assert error(program, inputs, limits).kind == "limit_exceeded"


def test_init_past_the_limit_is_refused_before_allocation():
    # 10^12 elements would need 8 TB: refusing it without trying is the only way to answer at all.
    exc = error("x", {"x": {"init": "randn", "shape": [1_000_000, 1_000_000]}})
    assert exc.kind == "limit_exceeded"


@pytest.mark.parametrize(
    ("program", "expected"),
    [("log(x * 0)", -math.inf), ("(x * 0) / (x * 0)", math.nan), ("exp(x * 1000)", math.inf), ("sqrt(-x)", math.nan)],
)
def test_non_finite_results_are_answers_not_errors(program, expected):
    result = evaluate(program, {"x": 1.0})
    got = result.values[result.output]
    assert (math.isnan(got) and math.isnan(expected)) or got == expected

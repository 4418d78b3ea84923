"""The parser's short cuts give the graph the general path gives: node order, spans, names, errors.

expr reads a name that already has a node, and a call, without going through prefix; a right
operand that is such a name, or a number, is read without recursing; the tokenizer returns
parallel lists.
These tests pin the graphs (ids, ops, args, spans) those paths build, including the cases where
a short cut must not be taken.
"""

from __future__ import annotations

import sys

import pytest

from app.engine.errors import ProgramError
from app.engine.inputs import decode
from app.engine.limits import Limits
from app.lang import parse
from app.lang.tokens import END, NAME, NEWLINE, NUMBER, OP, STRING, tokenize

INPUTS = {"x": 0.5, "y": -1.5, "z": 2.0, "v": [1.0, 2.0], "M": [[1.0, 2.0], [3.0, 4.0]]}


def build(program: str, limits: Limits = Limits()):
    decoded = {name: decode(name, raw, 10**6) for name, raw in INPUTS.items()}
    return parse(program, decoded, limits)


def nodes(program: str) -> list[tuple]:
    """Every node as (op or the leaf's name/value, args, source text of its span)."""
    graph = build(program)
    described = []
    for k in range(len(graph)):
        op = graph.ops[k]
        head = op.name if op is not None else (graph.names[k] if not graph.constant[k] else graph.values[k])
        described.append((head, graph.args[k], program[graph.starts[k] : graph.ends[k]]))
    return described


def op_structure(program: str) -> list[tuple]:
    """The op nodes as (op, source text of each operand, source text of the node)."""
    graph = build(program)

    def text(k: int) -> str:
        return program[graph.starts[k] : graph.ends[k]]

    return [(op.name, tuple(map(text, graph.args[k])), text(k)) for k, op in enumerate(graph.ops) if op is not None]


def error(program: str, limits: Limits = Limits()) -> ProgramError:
    with pytest.raises(ProgramError) as caught:
        build(program, limits)
    return caught.value


def test_tokens_are_parallel_lists_with_starts_and_an_end_token():
    program = "h = tanh(h * w)  # c\n\n(x\n + .5);f'"
    kinds, texts, starts = tokenize(program)
    assert texts == ["h", "=", "tanh", "(", "h", "*", "w", ")", "\n", "(", "x", "+", ".5", ")", ";", "f'", ""]
    assert kinds == [NAME, OP, NAME, OP, NAME, OP, NAME, OP, NEWLINE, OP, NAME, OP, NUMBER, OP, NEWLINE, STRING, END]
    assert [program[s : s + len(t)] for s, t in zip(starts, texts)] == texts
    assert starts[-1] == len(program)


@pytest.mark.parametrize("program", ["", " ", "  \t ", "\n\n", "x  ", "x \n  "])
def test_trailing_spaces_and_blank_programs_end_with_one_end_token(program):
    kinds, _, starts = tokenize(program)
    assert kinds.count(END) == 1 and kinds[-1] == END and starts[-1] == len(program)


def test_a_chain_of_assignments_builds_mul_add_tanh_per_line_on_the_newest_node():
    program = "h = tanh(x * y + z)\nh = tanh(h * y + z)"
    assert nodes(program) == [
        ("x", (), "x"),
        ("y", (), "y"),
        ("mul", (0, 1), "x * y"),
        ("z", (), "z"),
        ("add", (2, 3), "x * y + z"),
        ("tanh", (4,), "tanh(x * y + z)"),
        ("mul", (5, 1), "h * y"),
        ("add", (6, 3), "h * y + z"),
        ("tanh", (7,), "tanh(h * y + z)"),
    ]
    graph = build(program)
    assert graph.names[5] == "h" and graph.names[8] == "h" and graph.output == 8


def test_literals_become_constants_after_the_right_operand_is_read_left_first():
    assert nodes("2 * x") == [("x", (), "x"), (2.0, (), "2"), ("mul", (1, 0), "2 * x")]
    assert nodes("2 * 3") == [(2.0, (), "2"), (3.0, (), "3"), ("mul", (0, 1), "2 * 3")]
    assert nodes("maximum(2, x)") == [("x", (), "x"), (2.0, (), "2"), ("maximum", (1, 0), "maximum(2, x)")]


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (
            "x + y * z",
            [("x", (), "x"), ("y", (), "y"), ("z", (), "z"), ("mul", (1, 2), "y * z"), ("add", (0, 3), "x + y * z")],
        ),
        (
            "x * y + z",
            [("x", (), "x"), ("y", (), "y"), ("mul", (0, 1), "x * y"), ("z", (), "z"), ("add", (2, 3), "x * y + z")],
        ),
        (
            "x - y - z",
            [("x", (), "x"), ("y", (), "y"), ("sub", (0, 1), "x - y"), ("z", (), "z"), ("sub", (2, 3), "x - y - z")],
        ),
        (
            "x ** y ** z",
            [("x", (), "x"), ("y", (), "y"), ("z", (), "z"), ("pow", (1, 2), "y ** z"), ("pow", (0, 3), "x ** y ** z")],
        ),
        (
            "x * y ** z",
            [("x", (), "x"), ("y", (), "y"), ("z", (), "z"), ("pow", (1, 2), "y ** z"), ("mul", (0, 3), "x * y ** z")],
        ),
        ("x + M.T", [("x", (), "x"), ("M", (), "M"), ("transpose", (1,), "M.T"), ("add", (0, 2), "x + M.T")]),
        (
            "x + tanh(y).T",
            [
                ("x", (), "x"),
                ("y", (), "y"),
                ("tanh", (1,), "tanh(y)"),
                ("transpose", (2,), "tanh(y).T"),
                ("add", (0, 3), "x + tanh(y).T"),
            ],
        ),
    ],
)
def test_precedence_and_spans_when_the_operands_are_names(program, expected):
    assert nodes(program) == expected
    # Again once every name has a node, so that expr reads the names by its short cuts: the op
    # nodes are the same, on operands with the same text.
    assert op_structure("x + y + z + M\n" + program)[3:] == op_structure(program)


def test_a_name_with_a_node_followed_by_a_call_or_subscript_is_not_read_as_a_variable():
    # `exp` is assigned, and still callable as the function; `x(` and `x[` are errors as before
    graph = build("exp = x\nexp(exp)")
    assert graph.ops[graph.output].name == "exp" and graph.args[graph.output] == (0,)
    assert error("y + x\nx(2)").message == "unknown function 'x'; the functions are listed at GET /ops"
    exc = error("y + x\ny + x[0]")  # a subscript of the 0-d x, not a variable named `x[`
    assert exc.kind == "shape_mismatch" and exc.message.startswith("shapes do not fit in x[")


def test_an_assignment_shadows_an_input_from_then_on():
    described = nodes("a = x + 1\nx = a * 2\nx + y")
    assert described == [
        ("x", (), "x"),
        (1.0, (), "1"),
        ("add", (0, 1), "x + 1"),
        (2.0, (), "2"),
        ("mul", (2, 3), "a * 2"),
        ("y", (), "y"),
        ("add", (4, 5), "x + y"),
    ]


@pytest.mark.parametrize("program", ["tanh(", "tanh(x,", "maximum(x, ", "sum(x, axis=0,", "sum(x, axis=0, \n"])
def test_a_call_cut_off_at_the_end_is_an_incomplete_expression(program):
    # (these used to fail with an IndexError, a 500 from the API)
    exc = error(program)
    assert (exc.kind, exc.message) == ("syntax_error", "the expression is incomplete: a value is missing here")
    assert exc.start == exc.end == len(program)


def test_a_long_chain_does_not_recurse_per_operator():
    program = " + ".join(["x"] * 3000) + "\ny = " + " * ".join(["y"] * 3000)
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 40)
    try:
        graph = build(program)
    finally:
        sys.setrecursionlimit(limit)
    assert len(graph) == 2 + 2999 * 2


def test_limits_are_checked_in_the_same_order_on_the_short_cuts():
    program = "\n".join(["h = tanh(h * y + z)"] * 10).replace("h * y", "x * y", 1)
    assert error(program, Limits(max_nodes=7)).message == "the program needs more than 7 nodes (the limit)"
    assert error(program, Limits(max_total_work=5)).message == (
        "the program needs more than 5 units of work (the limit)"
    )
    # both exceeded by the same node (the first tanh, node 5): the work is checked first
    assert error(program, Limits(max_nodes=5, max_total_work=2)).message == (
        "the program needs more than 2 units of work (the limit)"
    )
    assert error("x ** x ** x", Limits(max_nesting=1)).message == "the expression is nested more than 1 levels deep"


def outcome_of(program: str, limits: Limits) -> list | tuple:
    """Every list of the graph, or the error's kind, message and place."""
    from test_parse_replay import FIELDS

    try:
        graph = build(program, limits)
    except ProgramError as caught:
        return (caught.kind, caught.message, caught.start, caught.end)
    return [getattr(graph, field) for field in FIELDS]


@pytest.mark.parametrize("limits", [Limits(), Limits(max_nesting=1), Limits(max_nodes=4), Limits(max_total_work=2)])
@pytest.mark.parametrize(
    "program",
    [
        "x * 2 + y * -0.5 + z * 1_0 - x / -3e-2",
        "x * -0 + x * -0.0 + x * 0 + y * 1e400 + y * -1e400",
        "x * 2 ** 3 + x * -2 ** 2 + x ** 2 + x ** -2",  # ** binds tighter: no short cut
        "x + -2 * y + 3 * x + x + 2 * 3 + x - - 2",  # the number is another operator's operand
        "x @ 2 + x < 2 + x // 2 + x % 3",  # not all are operators that build a node here
        "x * 2j",
        "x * -2j",
        "x * 2 .T",
        "x * 2(y)",
        "x * -2[0]",
        "x * (-(2)) + x * - 2 + tanh(x * -1) * 10000000000000000000000",
        "v * 2 + M @ v * -1 + sum(M * 3, axis=0)",
        "h = x\n" + "h = h * 0.5 + -0.25\n" * 5,
    ],
)
def test_a_number_right_operand_read_in_expr_builds_what_prefix_builds(program, limits, monkeypatch):
    """_Parser.number_operand (a number, or a minus and a number, after an operator whose left
    operand is a node) gives the graph, or the error, that the general path (expr, prefix,
    operand) gives."""
    from app.lang import parser as parser_module

    short = outcome_of(program, limits)
    monkeypatch.setattr(parser_module._Parser, "number_operand", lambda self, pos, power: None)
    general = outcome_of(program, limits)
    assert repr(short) == repr(general)

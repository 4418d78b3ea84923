"""Repeated statements built from a record of their first parse (app/lang/replay.py) give the
graph a full parse gives: every list of the graph, every value and gradient, every error with its
place. Each program here is parsed both ways and compared field by field."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.errors import ProgramError
from app.engine.graph import Graph
from app.engine.inputs import decode
from app.engine.limits import Limits
from app.engine.run import run
from app.lang import parser as parser_module
from app.lang import replay as replay_module

INPUTS = {
    "h": 0.3,
    "x": 0.5,
    "y": -1.5,
    "w": 0.75,
    "b": 0.1,
    "v": [1.0, 2.0],
    "M": [[1.0, 2.0], [3.0, 4.0]],
    "c": {"value": 0.25, "requires_grad": False},
}
# Every column (the places are read through properties, which put in those of nodes added one by one).
FIELDS = [name for name in Graph.__slots__ if name not in ("limits", "expansion") and name[0] != "_"]
FIELDS += ["starts", "ends"]
CHAIN = "h = tanh(h * w + b)\n"


def build(program: str, limits: Limits = Limits(), replays: bool = True) -> Graph:
    decoded = {name: decode(name, raw, 10**6) for name, raw in INPUTS.items()}
    return parser_module._Parser(program, decoded, limits, replays=replays).program()


def assert_same_graph(program: str, limits: Limits = Limits()) -> Graph:
    replayed, parsed = build(program, limits), build(program, limits, replays=False)
    for field in FIELDS:
        assert same(getattr(replayed, field), getattr(parsed, field)), field
    return replayed


def same(a, b) -> bool:
    """Equal to the bit: arrays by dtype, shape and elements, containers item by item."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def counted(monkeypatch) -> dict[str, int]:
    """How often a statement was replayed alone and how many runs were built together."""
    calls = {"replay": 0, "run": 0}

    def wrap(name, fn):
        def counting(*args):
            node = fn(*args)
            calls[name] += node is not None
            return node

        return counting

    monkeypatch.setattr(parser_module, "replay", wrap("replay", replay_module.replay))
    monkeypatch.setattr(parser_module, "replay_run", wrap("run", replay_module.replay_run))
    return calls


@pytest.mark.parametrize(
    "program",
    [
        "h = x\n" + CHAIN * 40,  # a run of scalar statements, built together
        CHAIN * 40,  # h is an input used the first time: that statement is not recorded as it is
        "h = v\n" + CHAIN * 10,  # tensors: replayed statement by statement through Graph.apply
        "h = c\n" + "h = h * c + 1\n" * 5 + "h = h * x\n" * 5 + "h = h * c\n" * 5,  # gradient flags change
        "h = 2.0\nh = h * 3 - 1\nh = h * 3 - 1\nh = h * 3 - 1; h = h * 3 - 1;h = h * 3 - 1\nh = h * 3 - 1",
        "a = x\nb = a * x\nb = a * x\nb = a * x\nb = a * x",  # two names for one node: parsed each time
        "x * y\nx * y\nx * y\nz = x * y\nz = x * y\nz = x * y\nz",
        "s = sum(v, axis=0)\ns = sum(v, axis=0)\ns = sum(v, axis=0)\ns = sum(v, axis=0)",  # an axis: parsed
        "h = x\n" + "h = tanh(h * w + b)  # step\n" * 4 + "h = tanh(h * w +\n  b)\n" * 4,  # comments, joined lines
        "h = x\n" + CHAIN * 5 + "w = h\n" + CHAIN * 5 + "tanh = h\n" + CHAIN * 5,  # the names change meaning
        # Runs past their first lines are not tokenized (tokenize_runs): indented lines, two runs,
        # a run at the end without a line break, a run of tensors (its tokens are put back).
        "h = x\n" + "  h = tanh(h * w + b)  \n" * 8 + "h",
        "h = x\n" + CHAIN * 8 + "g = h * 2\n" + CHAIN * 9 + "h = h * g\n" + CHAIN * 4,
        "h = x\n" + (CHAIN * 8).rstrip("\n"),
        "h = v\n" + CHAIN * 8 + "h = h * x\n" + CHAIN * 8,
        # Loops (issue 19): a body's statements are replayed from the third iteration on, one by one;
        # one that reads the loop's counter is parsed each time; the same text after the body is not
        # part of the body.
        "h = x\nfor i in range(6):\n    h = torch.tanh(h * w + b)\n    g = h * i\n" + CHAIN * 4,
        "h = x\nfor i in range(5):\n    h = tanh(h * w + b)\n    h = tanh(h * w + b)\nh = tanh(h * w + b)\n",
        "h = x\nfor i in range(3):\n    for j in range(4):\n        h = h * w + b\n    h = h * c\nh",
        "h = v\nfor i in range(4): h = h * w + b; h = h * x\nh.sum()",
        "h = x\nfor i in range(5):\n" + "    h = h * w + b\n" * 6 + CHAIN * 5,  # a run inside the body
        # ~ (a logical not: no gradient, so never recorded) between and inside runs, on scalars and tensors
        "h = x\n" + (CHAIN + "m = ~(h > 0.5)\nh = h * ~m\n") * 6,
        "h = v\n" + "m = ~(h > 0)\nh = h * m + ~m * w\n" * 6,
    ],
)
def test_a_replayed_program_builds_the_graph_a_full_parse_builds(program):
    replayed = run(with_values(assert_same_graph(program)))
    parsed = run(with_values(build(program, replays=False)))
    assert same(replayed.values, parsed.values)
    assert same(replayed.grads, parsed.grads)
    assert same(replayed.records, parsed.records)


def with_values(graph: Graph) -> Graph:
    """The graph with its inputs built, as app.core.evaluate builds them."""
    decoded = {name: decode(name, raw, 10**6) for name, raw in INPUTS.items()}
    for node, name in enumerate(graph.names):
        if graph.ops[node] is None and graph.values[node] is None:
            graph.values[node] = decoded[name].built()
    return graph


def test_a_long_chain_is_built_as_one_run(monkeypatch):
    calls = counted(monkeypatch)
    graph = build("h = x\n" + CHAIN * 1000)
    assert calls == {"replay": 1, "run": 1}
    assert len(graph) == 3 + 3 * 1000  # the leaves x, w and b, then mul, add and tanh per line
    assert graph.names[-1] == "h" and graph.args[-1] == (len(graph) - 2,)
    assert graph.starts[-1] == len("h = x\n") + len(CHAIN) * 999 + 4


@pytest.mark.parametrize(
    "program, message, line, column",
    [
        # The third `a @ v` meets a scalar: the error is at the fourth line, as a full parse has it.
        ("a = M\na = a @ v\na = a @ v\na = a @ v\n", "shapes do not fit", 4, 5),
        ("h = x\n" + CHAIN * 30 + "h = h * q\n", "'q' has no value", 32, 9),
        ("h = v\n" + CHAIN * 30 + "h = h @ v\n" + CHAIN * 6 + "h = h @ v\n", "shapes do not fit", 39, 5),
        ("h = x\n" + CHAIN * 30 + "h = h * $\n", "unexpected character '$'", 32, 9),
        ("h = x\n" + CHAIN * 30 + "h = h * ~2\n", "~ is the logical not of a mask", 32, 9),
    ],
)
def test_errors_in_and_after_replayed_statements_name_the_same_place(program, message, line, column):
    errors = []
    for replays in (True, False):
        with pytest.raises(ProgramError) as caught:
            build(program, replays=replays)
        errors.append(caught.value)
    replayed, parsed = errors
    assert (replayed.kind, replayed.message, replayed.start, replayed.end) == (
        parsed.kind,
        parsed.message,
        parsed.start,
        parsed.end,
    )
    assert message in replayed.message
    assert program.count("\n", 0, replayed.start) + 1 == line
    assert replayed.start - (program.rfind("\n", 0, replayed.start) + 1) + 1 == column


@pytest.mark.parametrize("limits", [Limits(max_nodes=100), Limits(max_total_work=100)])
def test_a_limit_reached_inside_a_run_stops_at_the_statement_a_full_parse_stops_at(limits):
    program = "h = x\n" + CHAIN * 60
    errors = []
    for replays in (True, False):
        with pytest.raises(ProgramError) as caught:
            build(program, limits, replays=replays)
        errors.append(caught.value)
    replayed, parsed = errors
    assert replayed.kind == parsed.kind == "limit_exceeded"
    assert (replayed.message, replayed.start, replayed.end) == (parsed.message, parsed.start, parsed.end)
    assert replayed.start > len(program) // 2  # well inside the run: statement 33 or 34 of 60


def test_a_loops_body_is_replayed(monkeypatch):
    calls = counted(monkeypatch)
    build("h = x\nfor i in range(50):\n    h = torch.tanh(h * w + b)\nh")
    assert calls["replay"] == 48 and calls["run"] == 0  # iterations 3 to 50, one by one

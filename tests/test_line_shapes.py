"""Runs of lines of one shape (app/lang/shapes.py) are built as a full parse builds them.

A line's shape (tokens.line_shapes) stands for the tokens the tokenizer gives it: two lines of one
shape have tokens at the same places, of the same kinds, with the same texts but for names and
numbers. The first test holds the tokenizer to that; the others parse programs written out line
by line both ways (built from a recorded line, and parsed line by line) and compare every list
of the graph, the values and gradients of a run, and every error with its place.
"""

from __future__ import annotations

import random
import re
import string

import pytest
import test_parse_replay as replay_tests
from hypothesis import given, settings
from hypothesis import strategies as st
from test_parse_replay import FIELDS, build, same
from test_tokens_speedpath import PIECES as SPEEDPATH_PIECES
from test_tokens_speedpath import outcome

from app.engine.errors import ProgramError
from app.engine.graph import Graph
from app.engine.limits import Limits
from app.lang import parser as parser_module
from app.lang import replay as replay_module
from app.lang import shapes as shapes_module
from app.lang.tokens import NAME, NUMBER, Tokens, is_plain, line_shapes, loose_shapes
from app.settings import load_settings

# The tokenizer tests' pieces that a plain line may hold (no quote, comment or line break), and
# numbers and names whose letters and digits the shapes tell apart.
PIECES = [
    *(piece for piece in SPEEDPATH_PIECES if is_plain(piece) and "\n" not in piece and "\\" not in piece),
    *("e", "E", "j", "w1", "__a", "12", "2E+4", "7J", "1e", "1e-3", "x.T", "~", "~x"),
]
_CLASSES = [
    string.ascii_letters.translate(str.maketrans("", "", "eEjJ")),
    "eE",
    "jJ",
    string.digits,
]


def same_shape(text: str, rng: random.Random) -> str:
    """`text` with every letter and digit replaced by another of its class (see tokens._SHAPE)."""
    out = []
    for c in text:
        chars = next((chars for chars in _CLASSES if c in chars), c)
        out.append(rng.choice(chars))
    return "".join(out)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join), st.integers(0, 2**32))
def test_lines_of_one_shape_have_the_same_tokens_but_for_names_and_numbers(line, seed):
    other = same_shape(line, random.Random(seed))
    assert line_shapes(line) == line_shapes(other)
    assert is_plain(line) and is_plain(other)
    a, b = outcome(line), outcome(other)
    if isinstance(a, Tokens):
        assert isinstance(b, Tokens)
        a_kinds, a_texts, a_starts = a
        b_kinds, b_texts, b_starts = b
        assert a_kinds == b_kinds and a_starts == b_starts
        assert [t for t, k in zip(a_texts, a_kinds) if k not in (NAME, NUMBER)] == [
            t for t, k in zip(b_texts, b_kinds) if k not in (NAME, NUMBER)
        ]
        assert list(map(len, a_texts)) == list(map(len, b_texts))
    else:
        assert a == b


def loosely_same_shape(text: str, rng: random.Random) -> str:
    """same_shape, with each run of digits also of another length (1 to 3 digits)."""
    out = same_shape(text, rng)
    return re.sub("[0-9]+", lambda _: "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 3))), out)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), max_size=20).map("".join), st.integers(0, 2**32))
def test_lines_of_one_loose_shape_have_the_same_tokens_but_for_names_and_numbers(line, seed):
    """Loose shapes (tokens.loose_shapes): the same tokens, of the same kinds and texts but for
    names and numbers, none of whose edges is inside a run of digits (shapes._build_loose moves
    each place by the lengths of the runs of digits before it)."""
    other = loosely_same_shape(line, random.Random(seed))
    assert loose_shapes(line_shapes(line)) == loose_shapes(line_shapes(other))
    a, b = outcome(line), outcome(other)
    if isinstance(a, Tokens):
        assert isinstance(b, Tokens)
        assert a.kinds == b.kinds
        assert [t for t, k in zip(a.texts, a.kinds) if k not in (NAME, NUMBER)] == [
            t for t, k in zip(b.texts, b.kinds) if k not in (NAME, NUMBER)
        ]
        for text, tokens in ((line, a), (other, b)):
            for start, token in zip(tokens.starts, tokens.texts):
                for edge in (start, start + len(token)):
                    assert not (0 < edge < len(text) and text[edge - 1].isdigit() and text[edge].isdigit())
    else:
        assert not isinstance(b, Tokens) and a[:2] == b[:2]  # the same error (kind, message)


def written_out(line: str, count: int, start: int = 1) -> str:
    """`line` formatted with i (this line), p (the line before) for i = start, start + 1, ..."""
    lines = range(start, start + count)
    return "".join(line.format(i=i, p=i - 1, d=i % 9 + 1, e=i * 4 % 9 + 1) + "\n" for i in lines)


CONSTANTS = written_out("x{i} = tanh(x{p} * 0.{d} + 0.{e})", 30)
NAMES = written_out("x{i} = tanh(x{p} * w + b)", 30)
# Constants of varying digit counts, as users write them (bench/workloads.py's constants_program).
VARYING = "".join(f"h = tanh(h * w + {round(0.1 + i * 1e-5, 5)!r})\n" for i in range(60))


def counted(monkeypatch) -> list[int]:
    """The number of lines of each run built from a record."""
    runs: list[int] = []

    def counting(shape, graph, scope, statics, source, block):
        node = shapes_module.build_run(shape, graph, scope, statics, source, block)
        if node is not None:
            runs.append(block.copies)
        return node

    monkeypatch.setattr(parser_module, "build_run", counting)
    return runs


@pytest.fixture(
    params=["few-digits", "line-by-line", "rows"], ids=["runs-few-digits", "runs-line-by-line", "runs-as-rows"]
)
def rows_at_once(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's numbers that differ in a digit or two are read from a table of their float()s
    (shapes._few_digits), others of runs of 256 lines and more from rows of bytes with numpy
    (shapes._rows, _decimals), the rest one by one: "few-digits" is as the parser runs (none of
    these tests' runs is that long), "line-by-line" reads every run's numbers one by one, "rows"
    every run's from rows of bytes."""
    if request.param != "few-digits":
        monkeypatch.setattr(shapes_module, "_few_digits", lambda *args: None)
    if request.param == "rows":
        monkeypatch.setattr(shapes_module, "_ROWS_AT_ONCE", 2)


@pytest.mark.parametrize(
    "program",
    [
        "x0 = x\n" + CONSTANTS,
        "x0 = x\n" + NAMES,
        NAMES.replace("x0", "y", 1),  # the run's first line is the first to read the inputs
        "x0 = x\n" + written_out("x{i} = x{p} * -0.{d} - {e}", 12),  # negated constants
        "x0 = x\n" + written_out("x{i} = x{p} * -{d}e-1 + 1_0", 12),
        "x0 = x\n" + written_out("x{i} = x{p} * -0 + x{p} * -0.0", 12),  # -0 is 0.0, -0.0 is -0.0
        "x0 = x\n" + written_out("x{i} = sin(x{p}) * x{p}", 12),  # one name twice: parsed each time
        "h = x\n" + written_out("h = tanh(h * w + {d})", 12),  # one name, assigned on every line
        "h = x\ng = y\n" + "".join(f"{'hg'[i % 2]} = {'gh'[i % 2]} * w + {i % 9}\n" for i in range(12)),
        "x0 = x\n" + written_out("x{i} = x{p} * w\nv{i} = x{i} + b", 6),  # two shapes in turn
        "x0 = x\n" + written_out("x{i} = x{p} * w + b", 12).replace("x7 * w + b", "x7 * w + y"),  # y: new input
        "x0 = x\n" + written_out("x{i} = x{p} * w + c", 12),  # c needs no gradient, x does
        "x0 = x\n" + written_out("x{i} = x{p} + c", 12),
        "x0 = c\n" + written_out("x{i} = x{p} * 0.{d}", 12),  # no gradient at all
        "x0 = x\n" + written_out("x{i} = x{p} * v", 12),  # tensors: parsed line by line
        "x0 = x\n" + written_out("x{i} = x{p} * (0.{d} + 0.{e})", 12),  # arithmetic on numbers
        "x0 = x\n" + written_out("x{i} = x{p} * pi + {d}", 12),
        "x0 = x\n" + written_out("x{i} = exp(x{p}) * 0.{d}", 12).replace("exp", "sin", 3),  # functions differ
        "x0 = x\n" + written_out("x0 * 0.{d} + w", 12),  # expression statements
        "x0 = x\nw = 2\n" + written_out("x{i} = x{p} * w", 12),  # w stands for a number
        "x0 = x\n" + written_out("x{i} = x{p} * 0.{d}", 5) + "tanh = x\n" + written_out("x{i} = tanh(x{p})", 12, 6),
        "x0 = x\n"
        + written_out("x{i} = x{p} * 0.{d}", 5)
        + written_out("s{i} = tanh(s{p})", 12, 6).replace("s5", "x5"),
        "h = x\nfor i in range(3):\n" + written_out("    x{i} = h * 0.{d}", 8) + "x0 = x3\n" + NAMES,  # a loop's body
        "h = x\n" + written_out("for i in range({d}): h = h * 0.{e} + b", 7),  # loops on one line each
        "h = x\n" + written_out("g{i} = h * 0.{d}", 7) + "for i in range(2):\n" + written_out("    g{i} = g{i} * w", 7),
        "x0 = x\n" + written_out("x{i} = x{p} * 0.{d}", 12).rstrip("\n"),  # no line break at the end
        "x0 = x\n" + written_out("  x{i}  =  x{p}*0.{d}  ", 12),  # indented, spaces at the end
        "h = x\n" + VARYING,  # lines of one loose shape: numbers of varying lengths
        "h = x\n" + VARYING.rstrip("\n"),
        "x0 = x\n" + written_out("x{i} = tanh(x{p} * {i}.{e} + {p}e-{d})", 40),  # and names
        "x0 = x\n" + written_out("x{i} = x{p} * -{i}", 40),
        "x0 = x\n" + written_out("x{i} = x{p} * 0.{e} + x{p}", 40),  # one name twice: parsed line by line
        "x0 = x\n" + written_out("  x{i}  =  x{p}*{i}.0  ", 40),
        # ~ (logical not, which takes no gradient) is never recorded: its lines are parsed one by one
        "x0 = x\n" + written_out("x{i} = ~(x{p} > 0.{d}) * x{p}", 12),
        "x0 = x\n" + written_out("x{i} = x{p} * ~(x{p} > 0.{d}) + ~(v > 0).sum()", 12),
        # Runs after the first built from its record, its places moved (shapes.moved_shape): other
        # nodes for the names, a tensor (parsed line by line), negated numbers whose lengths change.
        "x0 = x\nw1 = w\nw11 = b\n" + written_out("x{i} = x{p} * w1", 9) + written_out("x{i} = x{p} * w11", 12, 10),
        "x0 = x\nw1 = w\nw11 = v\n" + written_out("x{i} = x{p} * w1", 9) + written_out("x{i} = x{p} * w11", 12, 10),
        "x0 = x\n" + written_out("x{i} = x{p} * -{i}.{d} - {e}", 40),
        # x1 and x10 in turn: names whose lengths differ, each read on the line after it is assigned
        "x1 = x\nx10 = x\n"
        + "".join(f"x1{'0' * (i % 2)} = tanh(x1{'0' * (1 - i % 2)} * 0.{i % 9 + 1})\n" for i in range(40)),
    ],
)
def test_a_run_of_one_shape_builds_the_graph_a_full_parse_builds(program, rows_at_once):
    replay_tests.test_a_replayed_program_builds_the_graph_a_full_parse_builds(program)


def test_a_program_written_out_is_built_run_by_run(monkeypatch):
    runs = counted(monkeypatch)
    program = "x0 = x\n" + written_out("x{i} = tanh(x{p} * 0.{d} + 0.{e})", 1000)
    graph = build(program)
    # Runs of one shape: x1..x9, x11..x99, x101..x999 (the line from x9 to x10 is a shape of its
    # own); the first run's first line is parsed and recorded, the rest built, and the other runs
    # are built whole from that record, its places moved (shapes.moved_shape).
    assert runs == [8, 89, 899]
    assert len(graph) == 1 + 5 * 1000 and graph.names[-1] == "x1000"
    assert graph.values[-5:] == [0.2, None, 0.5, None, None]  # the last line's constants: 0.2, 0.5
    assert program[graph.starts[-1] : graph.ends[-1]] == "tanh(x999 * 0.2 + 0.5)"


def test_a_program_of_varying_digit_counts_is_built_as_one_run(monkeypatch):
    runs = counted(monkeypatch)
    program = "h = x\n" + VARYING * 10
    graph = build(program)
    # One run of one loose shape: its first line parsed (it reads the input w for the first time:
    # not recorded), the second parsed and recorded, the rest built.
    assert runs == [598]
    assert [value for value in graph.values[-4:] if value is not None] == [0.10059]  # the last line's constant
    last = program.rstrip("\n").rsplit("\n", 1)[1]
    assert program[graph.starts[-1] : graph.ends[-1]] == last[4:]


def both_ways(program: str, limits: Limits) -> list[ProgramError]:
    """The error of a parse with runs built from a record, and that of a parse line by line."""
    errors = []
    for replays in (True, False):
        with pytest.raises(ProgramError) as caught:
            build(program, limits, replays=replays)
        errors.append(caught.value)
    return errors


@pytest.mark.parametrize(
    "program, message",
    [
        ("x0 = x\n" + NAMES.replace("x20 *", "q *"), "'q' has no value"),
        ("x0 = x\n" + NAMES.replace("x20 =", "def ="), "is a Python keyword"),
        ("x0 = x\n" + NAMES.replace("x20 =", "__a ="), "names starting with __"),
        ("x0 = x\n" + NAMES.replace("x20 = tanh(", "x20 = tanh(v @ "), "shapes do not fit"),
        ("x0 = x\n" + CONSTANTS.replace("x19 * 0.", "x19 * 0j"), "complex numbers"),
        ("x0 = x\n" + written_out("x{i} = x{p} * (1 // ({p} - 7))", 9), "by zero"),
        ("x0 = x\n" + NAMES.replace("tanh(x20", "tanh(x20 $"), "unexpected character"),
        ("x0 = x\n" + NAMES.replace("tanh(x20 * w", "tanh(x20 * ~2"), "~ is the logical not of a mask"),
        ("x0 = x\n" + written_out("x{i} = x{p} * ~{d}", 12), "~ is the logical not of a mask"),
        ("h = x\n" + VARYING.replace("h * w + 0.10033", "h * q + 0.10033"), "'q' has no value"),
        ("h = x\n" + VARYING.replace("0.10033", "0.10033j"), "complex numbers"),
        ("h = x\n" + VARYING.replace("w + 0.10033", "v @ 0.10033"), "shapes do not fit"),
        ("x0 = x\n" + written_out("x{i} = x{p} * {i}", 40).replace("x33 = ", "in = "), "Python keyword"),
        ("x0 = x\nw1 = w\n" + written_out("x{i} = x{p} * w1", 9) + written_out("x{i} = x{p} * w11", 12, 10), "'w11'"),
        ("".join(f"{name} = x * 0.{k}\n" for k, name in enumerate(["ab", "cd", "gh", "if", "kl"])), "Python keyword"),
    ],
)
def test_errors_in_a_run_name_the_place_a_full_parse_names(program, message, rows_at_once):
    replayed, parsed = both_ways(program, Limits())
    assert message in replayed.message
    assert (replayed.kind, replayed.message, replayed.start, replayed.end) == (
        parsed.kind,
        parsed.message,
        parsed.start,
        parsed.end,
    )


def test_a_record_moves_to_a_line_that_differs_only_in_its_runs_of_digits():
    """shapes.moved_shape: each place moved by how much longer the runs of digits before it are;
    None for a line that differs elsewhere."""
    shape = shapes_module.Shape(
        (0, 2), 1, ((5, 7),), ((15, 19, "tanh"),), (), ((1, 10, 13, False),), (None,), ((),), (10, 5), (13, 13), 1
    )
    moved = shapes_module.moved_shape(shape, "x9 = x8 * 0.5 + tanh(y)", "x10 = x9 * 0.75 + tanh(y)")
    assert moved == shape._replace(
        target=(0, 3),
        operands=((6, 8),),
        fixed=((17, 21, "tanh"),),
        constants=((1, 11, 15, False),),
        starts=(11, 6),
        ends=(15, 15),
    )
    assert shapes_module.moved_shape(shape, "x9 = x8 * 0.5 + tanh(y)", "x10 = x9 * 0.75 + tanh(z)") is None
    assert shapes_module.moved_shape(shape, "x9 = x8 * 0.5 + tanh(y)", "x10 = x9 * 0 + tanh(y)") is None


@pytest.mark.parametrize("limits", [Limits(max_nodes=100), Limits(max_total_work=100)])
@pytest.mark.parametrize("loose", [False, True], ids=["one-shape", "one-loose-shape"])
def test_a_limit_reached_inside_a_run_of_one_shape_stops_where_a_full_parse_stops(limits, loose):
    program = "x0 = x\n" + written_out("x{i} = tanh(x{p} * 0.{d} + 0.{e})", 60)
    if loose:
        program = "h = x\n" + VARYING
    replayed, parsed = both_ways(program, limits)
    assert replayed.kind == parsed.kind == "limit_exceeded"
    assert (replayed.message, replayed.start, replayed.end) == (parsed.message, parsed.start, parsed.end)


# Mostly scalar inputs, and now and then a tensor (v), names with no value yet (g, q), a keyword,
# a name refused, a constant and a function.
_NAMES = ["x", "y", "w", "b", "h", "c"] * 8 + ["v", "g", "q", "in", "__", "pi", "tanh", "x1", "x12", "y1"]
_NUMBERS = ["1", "2", "5", "9", "0", "0.5", "0.25", ".5", "1_0", "1e3", "3j", "2.", "-0", "10", "0.125", "12e30", "03"]
_LINES = [
    "{t} = tanh({a} * {n} + {b})",
    "{t} = {a} * -{n} - {b}",
    "{t} = {a} ** {n}",
    "{t} = sin({a}) + {a} / {n}",
    "{t} = maximum({a}, {b}) * ({n} + {n})",
    "{a} * {n} + {b}",
    "{t} = ~({a} > {n}) * {b}",
]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_LINES),
            st.integers(1, 9),  # lines of this shape in a row
            st.lists(st.sampled_from(_NAMES), min_size=3, max_size=3),
            st.sampled_from(_NUMBERS),
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(0, 2**32),
)
def test_any_program_of_runs_parses_as_line_by_line(runs, seed):
    """Runs of lines of one shape with names that repeat, are assigned, are inputs read for the first
    time, keywords, constants or functions, and numbers of every spelling: the same graph or the
    same error either way, with the runs' numbers read as strings and from rows of bytes
    (shapes._rows)."""
    same_either_way(runs, seed)
    same_either_way(runs, seed, loose=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shapes_module, "_ROWS_AT_ONCE", 2)
        same_either_way(runs, seed)


def same_either_way(runs: list[tuple[str, int, list[str], str]], seed: int, loose: bool = False) -> None:
    """`loose`: numbers and names of one loose shape (tokens.loose_shapes) on the lines of a run,
    rather than of one length; and runs 8 times longer, so that loose shapes are looked for."""
    rng = random.Random(seed)
    lines = []

    def key(text: str) -> str | int:
        return loose_shapes(line_shapes(text))[0] if loose else len(text)

    for line, count, names, number in runs:
        for _ in range(count * (8 if loose else 1)):
            # names of one length (loose shape) stay in the shape; each line may pick others of that length
            t, a, b = (rng.choice([n for n in _NAMES if key(n) == key(name)]) for name in names)
            lines.append(line.format(t=t, a=a, b=b, n=rng.choice([n for n in _NUMBERS if key(n) == key(number)])))
    program = "x = x\n" + "\n".join(lines)
    outcomes = []
    for replays in (True, False):
        try:
            graph = build(program, replays=replays)
            outcomes.append([getattr(graph, field) for field in FIELDS])
        except ProgramError as error:
            outcomes.append([error.kind, error.message, error.start, error.end])
    assert same(outcomes[0], outcomes[1])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(1, 15), st.integers(-1, 15), st.booleans(), st.integers(1, 80), st.integers(0, 2**32))
def test_decimals_read_from_their_digits_are_the_floats_float_reads(digits, point, underscore, count, seed):
    """shapes._decimals: a column of numbers of one shape (up to 15 digits, a point anywhere or
    none, an underscore), bit for bit the values float() gives."""
    rng = random.Random(seed)

    def number() -> str:
        text = "".join(rng.choice(string.digits) for _ in range(digits))
        if underscore and digits > 1:
            text = text[0] + "_" + text[1:]
        return text if point < 0 else text[: point + 1] + "." + text[point + 1 :]

    numbers = [number() for _ in range(count)]
    lines = [f"x = {text} * y" for text in numbers]
    rows = shapes_module._rows("\n".join(lines), count, len(lines[0]) + 1)
    values = shapes_module._decimals(rows, 4, numbers[0])
    assert values is not None
    expected = [float(text.replace("_", "")) for text in numbers]
    assert [value.hex() for value in values] == [value.hex() for value in expected]
    assert all(type(value) is float for value in values)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text("0123456789.", min_size=1, max_size=8), st.integers(0, 3), st.integers(2, 40), st.integers(0, 2**32))
def test_numbers_that_differ_in_few_digits_are_the_floats_float_reads(model, varying, count, seed):
    """shapes._few_digits: a column of numbers of one shape that differ in `varying` of their
    digits, bit for bit the values float() gives; None where they are not digits with at most one
    point, or differ in more than two digits."""
    rng = random.Random(seed)
    places = [k for k, c in enumerate(model) if c.isdigit()]
    changed = rng.sample(places, min(varying, len(places)))

    def number() -> str:
        return "".join(rng.choice(string.digits) if k in changed else c for k, c in enumerate(model))

    numbers = [number() for _ in range(count)]
    text = "\n".join(f"x = {number} * y" for number in numbers)
    values = shapes_module._few_digits(text, len(model) + 9, count, 4, numbers[0])
    differing = sum(len({number[k] for number in numbers}) > 1 for k in range(len(model)))
    if model.count(".") > 1 or not places or differing > 2:
        assert values is None
        return
    assert values is not None
    assert [value.hex() for value in values] == [float(number).hex() for number in numbers]
    assert all(type(value) is float for value in values)


@pytest.mark.parametrize("first", ["1e5", "1234567890123456", "12j"])
def test_decimals_with_an_exponent_or_more_digits_are_left_to_float(first):
    rows = shapes_module._rows(f"x = {first}", 1, len(first) + 5)
    assert shapes_module._decimals(rows, 4, first) is None


@pytest.mark.parametrize(
    "start, stop, step",
    [(0, 10, 1), (5, 1000, 7), (3, 5000, 5), (2**18 - 10, 2**18 + 10, 3), (2**18 + 1, 2**18 + 90, 8)],
)
def test_shared_ints_are_a_ranges_ints(start, stop, step):
    """shapes._ints: the ints of a run's node ids and places, from one table up to 2**18."""
    assert shapes_module._ints(start, stop, step) == list(range(start, stop, step))
    table = shapes_module._INTS
    assert table == list(range(len(table))) and (stop > 2**18 or len(table) >= stop)


@pytest.mark.parametrize(
    "start, stop, step",
    [(0, 10, 1), (5, 1000, 7), (3, 5000, 5), (2**17 - 10, 2**17 + 10, 3), (2**17 + 1, 2**17 + 90, 8)],
)
def test_shared_singles_are_a_ranges_one_tuples(start, stop, step):
    """shapes.singles: the operands of a run's unary ops, from one table of 1-tuples up to 2**17."""
    assert shapes_module.singles(start, stop, step) == [(node,) for node in range(start, stop, step)]
    table = shapes_module._SINGLES
    assert table == [(node,) for node in range(len(table))] and (stop > 2**17 or len(table) >= stop)


@pytest.mark.parametrize(
    "lines", [range(7, 7 + 31 * 5, 31), range(0, 31 * 600, 31), [3, 40, 41, 90], list(range(0, 900, 3))]
)
def test_line_places_are_each_nodes_start_and_end_line_by_line(lines):
    """shapes.line_places, in Python (a few lines) and in numpy (more than _ROWS_AT_ONCE): line by
    line, node by node, as Graph keeps its starts and ends."""
    starts, ends = (4, 0, 9), (7, 12, 15)
    got_starts, got_ends = shapes_module.line_places(lines, starts, ends)
    assert got_starts.tolist() == [line + place for line in lines for place in starts]
    assert got_ends.tolist() == [line + place for line in lines for place in ends]
    assert got_starts.typecode == got_ends.typecode == Graph("", Limits()).starts.typecode


def test_a_program_longer_than_32_bit_places_is_refused_by_the_limits_and_the_settings(monkeypatch):
    """A node's place is a 32-bit int (Graph.starts, Graph.ends): no limit lets a longer program in."""
    assert Limits(max_program_chars=2**31 - 1).max_program_chars == 2**31 - 1
    with pytest.raises(ValueError, match="below 2\\*\\*31"):
        Limits(max_program_chars=2**31)
    monkeypatch.setenv("CHAINLENS_MAX_PROGRAM_CHARS", str(2**31))
    with pytest.raises(SystemExit, match="CHAINLENS_MAX_PROGRAM_CHARS must be below 2147483648"):
        load_settings()
    monkeypatch.setenv("CHAINLENS_MAX_PROGRAM_CHARS", "600000")
    assert load_settings().limits.max_program_chars == 600_000


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "ab", "a0", "0.0", "", "a = a(0)", "ba"]), st.integers(1, 40)), max_size=12
    )
)
def test_runs_found_by_galloping_are_the_runs_line_by_line(runs):
    """replay._runs: runs of copies of one line found a stretch at a time (doubling, then halving)
    are those found comparing line by line."""
    lines = "".join((line + "\n") * copies for line, copies in runs)
    assert replay_module._runs(lines, gallop=True) == replay_module._runs(lines, gallop=False)
    assert sum(copies for _, copies in replay_module._runs(lines, gallop=True)) == lines.count("\n")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(1, 9), st.integers(-1, 9)), min_size=1, max_size=60), st.integers(0, 2**32))
def test_decimals_of_varying_lengths_read_from_their_digits_are_the_floats_float_reads(lengths, seed):
    """shapes._loose_decimals: a column of numbers whose digit counts differ from line to line
    (a run of one loose shape), bit for bit the values float() gives; None past 15 digits."""
    rng = random.Random(seed)
    point = lengths[0][1] >= 0  # one loose shape: all with a point, or none
    numbers = [
        "".join(rng.choice(string.digits) for _ in range(whole))
        + ("." + "".join(rng.choice(string.digits) for _ in range(max(fraction, 1))) if point else "")
        for whole, fraction in lengths
    ]
    text = "\n".join(f"x = {number} * y" for number in numbers)
    codes = shapes_module.np.frombuffer(text.encode("ascii"), shapes_module.np.uint8)
    starts, ends = (runs.reshape(len(numbers), -1) for runs in shapes_module._digit_runs(codes))
    if point:
        values = shapes_module._loose_decimals(codes, starts[:, 0], ends[:, 0], starts[:, 1], ends[:, 1])
    else:
        values = shapes_module._loose_decimals(codes, starts[:, 0], ends[:, 0], None, None)
    if max(len(number) - point for number in numbers) > 15:
        assert values is None
        return
    assert values is not None
    assert [value.hex() for value in values] == [float(number).hex() for number in numbers]
    assert all(type(value) is float for value in values)

"""A run of lines of one shape is built from a record of how one of them was parsed.

A program written out line by line repeats the shape of its lines, not their text:
`x2 = tanh(x1 * 0.7 + 0.3)`, `x3 = tanh(x2 * 0.2 + 0.9)`, ... Lines of one shape
(tokens.line_shapes) have their tokens at the same places, of the same kinds, and differ only in
the texts of their names and numbers. So one line's parse is recorded as a Shape, by place in
the line: the name it assigns, the names it reads as operands, the numbers that became constants,
the names whose text must stay as it is (a function's, an attribute's) and the nodes it built
(op, operands, span). The other lines of the run are built from it with their own names and
numbers, column by column (build_run), never tokenized (replay.tokenize_runs). Lines of one
loose shape (tokens.loose_shapes: runs of digits of any length, `0.1` and `0.10001`, `x9` and
`x10`) are built from one record too: a place on each line is the recorded line's, moved by how
much longer that line's runs of digits before it are (_build_loose).

Runs of one shape that follow each other and differ only in their runs of digits (`x1`..`x9`,
then `x11`..`x99`) are built whole from the first run's record, its places moved by the digits'
counts (moved_shape): their first lines are not parsed either.

A line's parse depends on its token texts and on the outcomes of the scope lookups it makes, so
a line is built from the record only where those are as they were: every name whose text must
stay does, and is in the scope (or not) as it was; every operand name has a scalar node; every
assigned name is one a full parse accepts. Only statements of scalar elementwise ops and
constants are recorded (as app/lang/replay.py records them), where every number written is one
constant node and every op has an operand that is not a constant (`2 * 3` is arithmetic on
numbers known before the run, whose errors, such as a division by zero, depend on the numbers).
Anything else, or a limit the run would pass, and the run's lines are tokenized and parsed one
by one, so that an error names the place a full parse names.

What a run costs is mostly the objects it makes and frees. Its node ids are slices of one table
of ints that every parse shares (_ints), and a unary op's operand tuples of one of 1-tuples
(singles), so they are neither made nor freed, and touch no fresh memory; its nodes' places are
found for all lines at once and kept as machine integers, not an int object each (line_places);
the numbers of a long run are read from the digits of all its lines at once (_decimals, and
_loose_decimals where their lengths differ: bit for bit what float() reads), or where they differ
in a digit or two, from a table of float()s by those digits (_few_digits: no numpy call, which
costs tens of microseconds when its code has left the cache, and no new float per line).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Callable
from itertools import accumulate, repeat
from keyword import kwlist
from operator import add, itemgetter, mul, sub
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from app.engine.graph import PLACES
from app.lang.tokens import NAME, NUMBER

if TYPE_CHECKING:
    from app.engine.graph import Graph
    from app.lang.replay import Omitted, Reads

# Decimals read from their digits (see _decimals): up to 15 digits, whose integer is below 2**53;
# the place values of those digits, and the powers of ten that are floats exactly.
_EXACT_DIGITS = 15
_WEIGHTS = np.array([10**k for k in range(_EXACT_DIGITS - 1, -1, -1)], dtype=np.int64)
_LINE_BREAK, _ZERO = ord("\n"), ord("0")
_TABLE_DIGITS = 2  # numbers that differ in more digits are read by _decimals
_ROWS_AT_ONCE = 256  # fewer lines are read one by one: numpy's calls cost more than they save (measured)
_POWERS = tuple(float(10**k) for k in range(_EXACT_DIGITS + 1))
_INT_POWERS = np.array([10**k for k in range(_EXACT_DIGITS + 1)], dtype=np.int64)
_FLOAT_POWERS = np.array(_POWERS)
# The ints of node ids in the program that runs share (see _ints): up to 2**18
# (10 MB at most, a program of a quarter of a million characters), made as they are first needed.
_SHARED_INTS = 1 << 18
_INTS: list[int] = []
# The 1-tuples of node ids that runs share (see singles): up to 2**17, more than Limits.max_nodes
# (7 MB at most), made as they are first needed.
_SHARED_SINGLES = 1 << 17
_SINGLES: list[tuple[int]] = []
_DIGIT_RUNS = re.compile("[0-9]+")
# Names an assignment refuses (Parser.check_name): the keywords, True, False and None among them.
_REFUSED = frozenset(kwlist)


class Shape(NamedTuple):
    """One recorded line. Places are (start, end) in the line. The template's nodes are the
    operands' nodes (0..len(operands)-1), then the nodes built, in order."""

    target: tuple[int, int] | None  # the name assigned, or None for an expression statement
    assigned: int  # the template node the name is assigned (-1: none)
    operands: tuple[tuple[int, int], ...]  # the names read as operands
    fixed: tuple[tuple[int, int, str], ...]  # the other names: (start, end, text)
    found: tuple[tuple[str, bool], ...]  # each such name looked up, and whether the scope had it
    constants: tuple[tuple[int, int, int, bool], ...]  # (node built, start, end of the number, negated)
    ops: tuple[Any, ...]  # of the nodes built; None for a constant
    refs: tuple[tuple[int, ...], ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    result: int


def record_shape(
    graph: Graph, reads: Reads, first: int, result: int, tokens: tuple[list[str], list[str], list[int]], line: int
) -> Shape | None:
    """The Shape of the statement whose tokens are `tokens` (kinds, texts, starts: only its
    own), just parsed with `reads` as its scope, which built nodes `first`.. of `graph`; `line`:
    where its line starts. None where a run could not be built from it (see the module's note)."""
    kinds, texts, starts = tokens
    count = len(graph)
    if count == first or result < first or graph.ops[result] is None:
        return None
    if reads.assigned:
        if len(reads.assigned) != 1 or len(kinds) < 2 or kinds[0] != NAME or texts[1] != "=":
            return None
        if reads.assigned[0] != (texts[0], result):
            return None
        target: tuple[int, int] | None = (starts[0] - line, starts[0] + len(texts[0]) - line)
        body = 2
    else:
        target, body = None, 0
    constants: dict[int, int] = {}  # a constant built → its template node
    used: set[int] = set()  # the nodes from before the statement that it used
    for node in range(first, count):
        op = graph.ops[node]
        if graph.shapes[node] or graph.params[node] is not None:
            return None
        if op is None:
            if not graph.constant[node] or type(graph.values[node]) is not float:
                return None
            constants[node] = node - first
            continue
        if op.local is None or op.vjp is not None:
            return None
        args = graph.args[node]
        if all(arg in constants for arg in args):
            return None  # arithmetic on numbers
        used.update(arg for arg in args if arg < first)
    # Every number written is one constant, at its place (or at the minus before it: `-0.5`).
    at = {(graph.starts[node], graph.ends[node]): node for node in constants}
    numbers = []
    for k in range(body, len(kinds)):
        if kinds[k] != NUMBER:
            continue
        start, end = starts[k], starts[k] + len(texts[k])
        value = float(texts[k].replace("_", ""))
        leaf = at.pop((start, end), -1)
        negated = leaf < 0 and k > body and texts[k - 1] == "-"
        if negated:
            leaf = at.pop((starts[k - 1], end), -1)
            value = -value
        if leaf < 0 or graph.values[leaf] != value:
            return None
        numbers.append((leaf - first, start - line, end - line, negated))
    if at:  # a constant not written as a number (pi, a value known before the run)
        return None
    # Names: an operand is one that found a node from before the statement that the statement
    # used; any other name must keep its text, and its lookups their outcomes.
    outcomes: dict[str, int | None] = {}
    for name, outcome in reads.lookups:
        if outcomes.setdefault(name, outcome) != outcome:
            return None
    operand_at: dict[int, tuple[int, int]] = {}
    fixed = []
    for k in range(body, len(kinds)):
        if kinds[k] != NAME:
            continue
        text, start = texts[k], starts[k]
        found = outcomes.get(text)
        if found is not None and found < first and found in used:
            if found in operand_at:
                return None  # two names of the statement stand for one node: which is which is lost
            operand_at[found] = (start - line, start + len(text) - line)
        else:
            fixed.append((start - line, start + len(text) - line, text))
    if len(operand_at) != len(used):
        return None
    index = {node: k for k, node in enumerate(operand_at)}
    index.update((node, len(operand_at) + node - first) for node in range(first, count))
    fixed_texts = {text for _, _, text in fixed}
    return Shape(
        target,
        index[result] if target is not None else -1,
        tuple(operand_at.values()),
        tuple(fixed),
        tuple((name, outcome is not None) for name, outcome in outcomes.items() if name in fixed_texts),
        tuple((len(operand_at) + node, start, end, negated) for node, start, end, negated in numbers),
        tuple(graph.ops[first:count]),
        tuple(tuple(map(index.__getitem__, graph.args[node])) for node in range(first, count)),
        tuple(start - line for start in graph.starts[first:count]),
        tuple(end - line for end in graph.ends[first:count]),
        index[result],
    )


def moved_shape(shape: Shape, model: str, line: str) -> Shape | None:
    """`shape`, recorded on the line `model`, for `line`, where the two lines differ only in their
    runs of digits (`x9 = tanh(x8 * 0.5)`, `x10 = tanh(x9 * 0.75)`): each place moved by how much
    longer the runs of digits before it are on `line`. Their tokens are then of the same kinds in
    the same order (see tokens.loose_shapes), and build_run checks the rest (the names kept, the
    lookups, the numbers) as for the lines after the recorded one. None where they differ
    elsewhere. A program written out line by line (`x1`..`x9`, `x10`..`x99`, ...) is runs of one
    shape after another, each built from the record of the first without parsing its first line."""
    if _DIGIT_RUNS.sub("0", model) != _DIGIT_RUNS.sub("0", line):
        return None
    model_starts, model_ends = _digit_spans(model)
    line_starts, line_ends = _digit_spans(line)
    # shifts[k]: how much later a place after the first k runs of digits is on `line`
    lengths = map(sub, map(sub, line_ends, line_starts), map(sub, model_ends, model_starts))
    shifts: list[int] = list(accumulate(lengths, initial=0))

    def move(place: int) -> int:
        return place + shifts[_runs_before(model_starts, model_ends, place)]

    def span(start: int, end: int) -> tuple[int, int]:
        return move(start), move(end)

    try:
        return shape._replace(
            target=None if shape.target is None else span(*shape.target),
            operands=tuple(span(*operand) for operand in shape.operands),
            fixed=tuple((*span(start, end), text) for start, end, text in shape.fixed),
            constants=tuple((node, *span(start, end), negated) for node, start, end, negated in shape.constants),
            starts=tuple(map(move, shape.starts)),
            ends=tuple(map(move, shape.ends)),
        )
    except ValueError:
        return None


def build_run(
    shape: Shape, graph: Graph, scope: dict[str, int], statics: dict[str, Any], source: str, block: Omitted
) -> int | None:
    """The lines of `block` built from `shape`, as a full parse builds them: the last line's node,
    or None (nothing built) where that is not possible (see the module's note).

    The lines are one string, each `stride` characters after the one before, so the characters
    at one place of every line are text[place::stride]: a name that is the same on every line,
    or the name the line before assigned, is found by comparing such strings, without a string
    per line."""
    count, stride = block.copies, block.stride
    if not stride:
        return _build_loose(shape, graph, scope, statics, source, block)
    text = source[block.start : block.start + stride * count - 1]

    def everywhere(start: int, word: str) -> bool:
        """Whether every line has `word` at `start`."""
        return all(text[place::stride] == c * count for place, c in enumerate(word, start))

    if text.count("\n") != count - 1:
        return None

    def column(start: int, end: int) -> list[str]:
        # Sliced from the run's text where each line has it (no string per line made and freed first).
        length = end - start
        return [text[place : place + length] for place in range(start, len(text), stride)]

    def after(operand: tuple[int, int], target: tuple[int, int]) -> bool:
        return _after(text, stride, count, operand, target)

    def where(starts: tuple[int, ...], ends: tuple[int, ...]) -> tuple[array[int], array[int]]:
        return line_places(range(block.start, block.start + stride * count, stride), starts, ends)

    rows: list[np.ndarray] = []  # the run's bytes as rows (_rows), made once a number needs them

    def word(start: int, end: int) -> str:
        return text[start:end]

    def decimals(start: int, end: int) -> list[float] | None:
        numbers = _few_digits(text, stride, count, start, text[start:end])
        if numbers is None and count >= _ROWS_AT_ONCE:
            if not rows:
                rows.append(_rows(text, count, stride))
            numbers = _decimals(rows[0], start, text[start:end])
        return numbers

    return _build(shape, graph, scope, statics, count, (everywhere, column, after, where, word, decimals))


_Lines = tuple[
    Callable[[int, str], bool],
    Callable[[int, int], list[str]],
    Callable[[tuple[int, int], tuple[int, int]], bool],
    Callable[[tuple[int, ...], tuple[int, ...]], "tuple[array[int], array[int]]"],
    Callable[[int, int], str],
    Callable[[int, int], "list[float] | None"],
]


def _build_loose(
    shape: Shape, graph: Graph, scope: dict[str, int], statics: dict[str, Any], source: str, block: Omitted
) -> int | None:
    """build_run for lines of one loose shape (tokens.loose_shapes): each place of the recorded
    line (the one before the block) is, on each line, moved by how much longer that line's runs
    of digits before it are than the recorded line's: it is as far from the end of the run of
    digits before it as on the recorded line (found for all lines at once, in numpy)."""
    count = block.copies
    model_start = source.rfind("\n", 0, block.start - 1) + 1
    model = source[model_start : block.start - 1]
    text = source[block.start : block.end]
    if text.endswith("\n"):
        text = text[:-1]
    codes = np.frombuffer(text.encode("ascii"), np.uint8)
    model_starts, model_ends = _digit_spans(model)  # (one line: no numpy call)
    width = len(model_starts)
    runs = _digit_runs(codes)
    if len(runs[0]) != width * count or text.count("\n") != count - 1:
        return None
    run_starts, run_ends = runs[0].reshape(count, width), runs[1].reshape(count, width)
    # moved[i, k]: where in the source line i has the recorded line's place 0, for a place after k
    # runs of digits: a place after a run is as far from its end on every line (lines of one loose
    # shape differ only in their runs' lengths), and one before them all as far from the line's start.
    moved = np.empty((count, width + 1), np.intc)  # (as a graph keeps places: see line_places)
    if width:
        np.subtract(run_starts[:, 0], model_starts[0] - block.start, out=moved[:, 0])
        np.subtract(run_ends, np.array(model_ends) - block.start, out=moved[:, 1:])
    else:  # (no digits: lines of one length, built by build_run's other path, unless built one by one)
        moved[0, 0] = block.start
        moved[1:, 0] = np.flatnonzero(codes == _LINE_BREAK) + 1 + block.start
    places: dict[int, list[int]] = {}
    columns: dict[tuple[int, int], list[str]] = {}

    def runs_before(place: int) -> int:
        return _runs_before(model_starts, model_ends, place)

    def each_line(place: int) -> list[int]:
        """Where `place` is on each line, as ints (a column's texts are sliced at them)."""
        at = places.get(place)
        if at is None:
            at = places[place] = (moved[:, runs_before(place)] + place).tolist()
        return at

    def column(start: int, end: int) -> list[str]:
        texts = columns.get((start, end))
        if texts is None:
            texts = columns[start, end] = list(map(source.__getitem__, map(slice, each_line(start), each_line(end))))
        return texts

    def everywhere(start: int, word: str) -> bool:
        """Whether every line has `word` at `start`: as long as it (no run of digits of another
        length in it) and of its bytes, compared for all lines at once."""
        first, last = runs_before(start), runs_before(start + len(word))
        if first != last and not (moved[:, first] == moved[:, last]).all():
            return False
        at = moved[:, first] + (start - block.start)
        return all((codes[at + k] == ord(c)).all() for k, c in enumerate(word))

    def after(operand: tuple[int, int], target: tuple[int, int]) -> bool:
        """_after: at once in bytes where both names are as long on every line as on the first."""
        (start, end), (target_start, target_end) = operand, target
        at, ends = moved[:, runs_before(start)], moved[:, runs_before(end)]
        target_at, target_ends = moved[:, runs_before(target_start)], moved[:, runs_before(target_end)]
        if end - start != target_end - target_start or not ((ends == at).all() and (target_ends == target_at).all()):
            return column(*operand)[1:] == column(*target)[:-1]
        at, target_at = at[1:] + (start - block.start), target_at[:-1] + (target_start - block.start)
        return all((codes[at + k] == codes[target_at + k]).all() for k in range(end - start))

    def word(start: int, end: int) -> str:
        """The first line's text from `start` to `end` (not each_line's columns: most words are no node's edges)."""
        first_line = moved[0].tolist()
        return source[first_line[runs_before(start)] + start : first_line[runs_before(end)] + end]

    def decimals(start: int, end: int) -> list[float] | None:
        """The number at `start` on each line, read from its runs of digits at once where it is
        written as digits, or as digits, a point and digits, on the recorded line (and so on
        every line): see _loose_decimals."""
        first = runs_before(start)
        if first == width or model_starts[first] != start:
            return None
        if model_ends[first] == end:
            return _loose_decimals(codes, run_starts[:, first], run_ends[:, first], None, None)
        point = model_ends[first]
        if first + 1 == width or model[point] != "." or model_starts[first + 1] != point + 1:
            return None
        if model_ends[first + 1] != end:
            return None
        return _loose_decimals(
            codes, run_starts[:, first], run_ends[:, first], run_starts[:, first + 1], run_ends[:, first + 1]
        )

    def where(starts: tuple[int, ...], ends: tuple[int, ...]) -> tuple[array[int], array[int]]:
        places = starts + ends
        at = moved.T[[runs_before(place) for place in places]] + np.array(places, np.intc)[:, None]
        return _turned(at, len(starts))

    try:
        return _build(shape, graph, scope, statics, count, (everywhere, column, after, where, word, decimals))
    except ValueError:
        return None


def line_places(
    lines: range | list[int], starts: tuple[int, ...], ends: tuple[int, ...]
) -> tuple[array[int], array[int]]:
    """Where each of the nodes whose `starts` and `ends` (offsets in a line) are given starts and
    ends on each line starting at `lines`: line by line, node by node, as a graph keeps them
    (machine integers, not an int object each). A long run's in numpy, computed a place a row,
    then turned (numpy's loop over a short last axis costs twice as much); a few lines' in
    Python (numpy's calls cost more)."""
    if len(lines) < _ROWS_AT_ONCE:
        return (
            array(PLACES, [line + place for line in lines for place in starts]),
            array(PLACES, [line + place for line in lines for place in ends]),
        )
    at = np.array(starts + ends, np.intc)[:, None] + (
        np.arange(lines.start, lines.stop, lines.step, dtype=np.intc)
        if type(lines) is range
        else np.array(lines, np.intc)
    )
    return _turned(at, len(starts))


def _turned(at: np.ndarray, width: int) -> tuple[array[int], array[int]]:
    """Starts and ends, each line's in a row, from `at`: the places' starts then ends, each a row
    of every line's."""
    return array(PLACES, at[:width].T.tobytes()), array(PLACES, at[width:].T.tobytes())


def _digit_spans(line: str) -> tuple[list[int], list[int]]:
    """Where each run of digits of one line starts, and where it ends (a regular expression: for
    one line, a numpy call costs more)."""
    spans = [run.span() for run in _DIGIT_RUNS.finditer(line)]
    return [start for start, _ in spans], [end for _, end in spans]


def _runs_before(starts: list[int], ends: list[int], place: int) -> int:
    """How many of a line's runs of digits (their `starts` and `ends`) start before `place`; a
    ValueError where the place is inside one (never a token's edge: see tokens)."""
    before = bisect_left(starts, place)
    if before and ends[before - 1] > place:
        raise ValueError("a place inside a run of digits")
    return before


def _digit_runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of digits of a text (its bytes, `codes`) starts, and where it ends."""
    digits = np.zeros(len(codes) + 2, dtype=bool)
    np.less(codes - _ZERO, 10, out=digits[1:-1])  # (a byte below the 0's wraps around, past 9)
    edges = np.flatnonzero(digits[1:] != digits[:-1])  # a run's start, its end, the next one's start, ...
    return edges[0::2], edges[1::2]


def _build(
    shape: Shape,
    graph: Graph,
    scope: dict[str, int],
    statics: dict[str, Any],
    count: int,
    lines: _Lines,
) -> int | None:
    """build_run's lines, given where the places of each line are (see build_run, _build_loose):
    whether every line has a text at a place, the texts between two places, whether each line
    reads at a place what the one before assigned, where places of the line are on each line in
    the source (see line_places), the first line's text between two places, the
    numbers at a place read at once (None: read them from their texts)."""
    everywhere, column, after, where, first_text, decimals = lines

    for start, _, word in shape.fixed:
        if not everywhere(start, word):
            return None
    targets = None
    named: list[str] = []  # the names assigned, each once where it is one name (not a list of it to scan)
    one = False  # one name on every line (`h = tanh(h * w + 0.1)`): no column of it
    if shape.target is not None:
        name = first_text(*shape.target)
        one = everywhere(shape.target[0], name)
        targets = [name] * count if one else column(*shape.target)
        named = [name] if one else targets
        if not _assignable(named, targets[0], statics):
            return None
    for name, found in shape.found:
        if (name in scope) is not found or name in statics:
            return None
        if name in named:
            return None  # the run would change its outcome
    outside = len(shape.operands)
    width = len(shape.ops)
    first = len(graph)
    op_count = width - shape.ops.count(None)
    limits = graph.limits
    if first + count * width > limits.max_nodes or graph.work + count * op_count > limits.max_total_work:
        return None  # built line by line: the error names the node a full parse names
    total = count * width

    def ids(ref: int) -> list[int]:
        """The node of the template's built node `ref` on each line, one list shared by all
        that read it (fewer int objects to make and to free)."""
        built = made.get(ref)
        if built is None:
            built = made[ref] = _ints(first + ref - outside, first + ref - outside + total, width)
        return built

    made: dict[int, list[int]] = {}
    assigned = ids(shape.assigned) if targets is not None else []
    columns = []  # each operand's node, line by line
    before: set[int] = set()  # the nodes from before the run that it reads
    for start, end in shape.operands:
        name = first_text(start, end)
        if everywhere(start, name) and name not in named:  # the same node on every line
            node = scope.get(name)
            if node is None:
                return None
            before.add(node)
            columns.append([node] * count)
        elif shape.target is not None and after((start, end), shape.target):
            node = scope.get(name)  # the line before the run assigned it
            if node is None:
                return None
            before.add(node)
            columns.append([node, *assigned[:-1]])
        else:
            nodes = _read(column(start, end), targets, assigned, scope, before)
            if nodes is None:
                return None
            columns.append(nodes)
    shapes, requires = graph.shapes, graph.requires_grad
    if any(shapes[node] for node in before):
        return None
    flags = {requires[node] for node in before}
    if len(flags) > 1:
        return None  # some need a gradient and some not: parsed line by line
    flag = flags.pop() if flags else False
    numbers = []  # each constant's value, line by line
    for _, start, end, negated in shape.constants:
        column_numbers = decimals(start, end)
        if column_numbers is None:
            column_numbers = _numbers(column(start, end))
        if negated and 0.0 in column_numbers:
            return None  # -0 is the constant 0.0, -0.0 is -0.0: left to the parser
        numbers.append(list(map(float.__neg__, column_numbers)) if negated else column_numbers)

    # Nothing can stop the run now: the graph's lists grow by its nodes, filled place by place.
    graph.work += count * op_count
    graph.ops += shape.ops * count
    nones, empties = [None] * total, [()] * total  # each list made once, for all that start so
    graph.args += empties  # a constant's
    graph.params += nones
    shapes += empties
    graph.names += nones
    graph.values += nones
    del nones, empties
    # Every op node reads, through the ops before it, a node from before the run (an op reads
    # something that is not a constant): it needs a gradient if those do, and they all agree.
    requires += [op is not None and flag for op in shape.ops] * count
    graph.scalar += [True] * total
    graph.constant += [op is None for op in shape.ops] * count
    for position, refs in enumerate(shape.refs):
        if len(refs) == 1 and refs[0] >= outside:  # a unary op on a node of its line
            operand = first + refs[0] - outside
            graph.args[first + position :: width] = singles(operand, operand + total, width)
        elif refs:
            operands = [columns[ref] if ref < outside else ids(ref) for ref in refs]
            graph.args[first + position :: width] = list(zip(*operands))
    starts, ends = where(shape.starts, shape.ends)
    graph.add_places(starts, ends)
    for (node, _, _, _), values in zip(shape.constants, numbers):
        graph.values[first + node - outside :: width] = values
    if targets is not None:
        graph.names[first + shape.assigned - outside :: width] = targets
        if one:
            scope[targets[0]] = assigned[-1]  # (one name: its last node, without a lookup per line)
        else:
            scope.update(zip(targets, assigned))
    return first + total - width + shape.result - outside


def _ints(start: int, stop: int, step: int) -> list[int]:
    """list(range(start, stop, step)), its ints taken from _INTS where they are below _SHARED_INTS:
    a run's node ids are most of the ints it reads, and ints shared by every parse
    of the process are neither made nor freed (each is an int object of its own otherwise)."""
    global _INTS  # noqa: PLW0603 (one table for the process, replaced as it grows)
    if stop > _SHARED_INTS:
        return list(range(start, stop, step))
    ints = _INTS
    if stop > len(ints):
        # A new table, not the old one extended: a parse in another thread may be reading it,
        # and a list(range(n)) holds i at i whichever table it gets.
        ints = _INTS = list(range(min(max(stop, 2 * len(ints)), _SHARED_INTS)))
    return ints[start:stop:step]


def singles(start: int, stop: int, step: int) -> list[tuple[int]]:
    """[(i,) for i in range(start, stop, step)]: the operands of a unary op on each line of a run
    (`tanh(...)`), taken from a table of 1-tuples that every parse shares where they are below
    _SHARED_SINGLES, as _ints shares ints: operand tuples are most of the objects a run makes and
    frees, and a unary op's need not be made at all."""
    global _SINGLES  # noqa: PLW0603 (one table for the process, replaced as it grows: see _ints)
    if stop > _SHARED_SINGLES:
        return [(node,) for node in range(start, stop, step)]
    table = _SINGLES
    if stop > len(table):
        table = _SINGLES = list(zip(_ints(0, min(max(stop, 2 * len(table)), _SHARED_SINGLES), 1)))
    return table[start:stop:step]


def _after(text: str, stride: int, count: int, operand: tuple[int, int], target: tuple[int, int]) -> bool:
    """Whether each line but the first reads, at `operand`, the name the line before assigned
    (at `target`): the newest node of that name. Compared place by place down the lines."""
    (start, end), (target_start, target_end) = operand, target
    if end - start != target_end - target_start:
        return False
    return all(text[start + k + stride :: stride] == text[target_start + k :: stride][:-1] for k in range(end - start))


def _rows(text: str, count: int, stride: int) -> np.ndarray:
    """The run's characters (ASCII: see tokens.is_plain) as `count` rows of `stride` bytes, a
    line and its line break each."""
    return np.frombuffer((text + "\n").encode("ascii"), np.uint8).reshape(count, stride)


def _few_digits(text: str, stride: int, count: int, start: int, first: str) -> list[float] | None:
    """The numbers at `start` of each of the `count` lines of `text` (each `stride` characters
    after the one before; `first` the first line's) where they are digits with at most one point
    and differ in at most _TABLE_DIGITS places: the float() of each way of writing them (a hundred
    at most), looked up by the digits of each line's. Else None (then _decimals reads them).

    Bit for bit what float() reads, as each value is float() of its line's text; and no numpy
    call, each of which costs tens of microseconds when its code is not in the cache, and no new
    float object per line: most of the time a run's numbers take when they are few digits."""
    if count < 2 or not first.replace(".", "", 1).isdigit():
        return None
    varying = [place for place, c in enumerate(first, start) if text[place::stride] != c * count]
    if len(varying) > _TABLE_DIGITS:
        return None
    if not varying:
        return [float(first)] * count
    # A line's digits at the varying places, as a number: each digit's byte times its weight.
    weights = [10 ** (len(varying) - 1 - k) for k in range(len(varying))]
    keys: Any = text[varying[0] :: stride].encode("ascii")
    table = [0.0] * (_ZERO * sum(weights) + 10 ** len(varying))
    if len(varying) > 1:
        keys = map(add, map(mul, keys, repeat(weights[0])), text[varying[1] :: stride].encode("ascii"))
    digits = list(first)
    for value in range(10 ** len(varying)):
        for place, weight in zip(varying, weights):
            digits[place - start] = str(value // weight % 10)
        table[_ZERO * sum(weights) + value] = float("".join(digits))
    return list(itemgetter(*keys)(table))


def _decimals(rows: np.ndarray, start: int, first: str) -> list[float] | None:
    """The numbers at `start` of each row, all of the shape of `first` (the first row's), read
    from their digits at once: None where they are not decimals of at most 15 digits with no
    exponent (then _numbers reads them).

    Such a number is an integer M < 10**15 < 2**53 over 10**k, k <= 15: both are floats exactly,
    so their quotient, rounded once to the nearest float (IEEE division), is the nearest float to
    the decimal, which is what float() gives (correctly rounded): bit for bit the same value."""
    places = [place for place, c in enumerate(first, start) if c.isdigit()]
    if not places or len(places) > _EXACT_DIGITS or not first.replace("_", "").replace(".", "").isdigit():
        return None
    point = first.find(".")
    fraction = 0 if point < 0 else sum(c.isdigit() for c in first[point:])
    weights = _WEIGHTS[-len(places) :]
    # In integers (numpy's own loop: a float matmul would wake BLAS's threads), then exactly as
    # floats: every integer here is below 2**53.
    mantissas = rows[:, places].astype(np.int64) @ weights
    mantissas -= _ZERO * int(weights.sum())
    values = mantissas.astype(np.float64)
    if fraction:
        values /= _POWERS[fraction]
    result: list[float] = values.tolist()
    return result


def _loose_decimals(
    codes: np.ndarray,
    int_starts: np.ndarray,
    int_ends: np.ndarray,
    fraction_starts: np.ndarray | None,
    fraction_ends: np.ndarray | None,
) -> list[float] | None:
    """The numbers written as a run of digits (from `int_starts` to `int_ends` in `codes`, on each
    line), and a point and a run of digits after it where `fraction_starts` is given, of lengths
    that differ from line to line: bit for bit what float() reads, as _decimals; None where a line
    has more than 15 digits."""
    mantissas, lengths = _run_integers(codes, int_starts, int_ends)
    if fraction_starts is None or fraction_ends is None:
        if lengths.max() > _EXACT_DIGITS:
            return None
        whole: list[float] = mantissas.astype(np.float64).tolist()
        return whole
    fractions, fraction_lengths = _run_integers(codes, fraction_starts, fraction_ends)
    if (lengths + fraction_lengths).max() > _EXACT_DIGITS:
        return None
    mantissas *= _INT_POWERS[fraction_lengths]
    mantissas += fractions
    values = mantissas.astype(np.float64)
    values /= _FLOAT_POWERS[fraction_lengths]  # an exact power of ten each: one rounding, as float() rounds
    result: list[float] = values.tolist()
    return result


def _run_integers(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integer each run of digits (starts[i] to ends[i] in `codes`) writes, and the runs' lengths;
    the integers are only right where a run has at most 15 digits (the caller checks the lengths)."""
    lengths = ends - starts
    digits = min(int(lengths.max()), _EXACT_DIGITS)
    at = ends[:, None] + np.arange(-digits, 0)  # each run's last `digits` places, right-aligned
    values = codes[np.maximum(at, 0)].astype(np.int64) - _ZERO
    values[at < starts[:, None]] = 0  # before the run: no digit
    return values @ _WEIGHTS[-digits:], lengths


def _numbers(texts: list[str]) -> list[float]:
    """The numbers' values, as the parser reads them (app/lang/parser.py's _number, as a float):
    float() reads Python's underscores between digits as the parser does, any other way of
    writing them the parser reads without its underscores."""
    try:
        return list(map(float, texts))
    except ValueError:
        return list(map(float, map(str.replace, texts, repeat("_"), repeat(""))))


def _assignable(targets: list[str], first: str, statics: dict[str, Any]) -> bool:
    """Whether a full parse assigns each of these names (`first` the first line's) as a node's
    (see Parser.check_name and Parser.assign): no keyword, no name starting with __, none that
    stands for a value with no node (assigning one removes that value). The names have one shape,
    so they have the same underscores and a digit where `first` has one: a keyword has neither."""
    return (
        not first.startswith("__")
        and (not first.isalpha() or _REFUSED.isdisjoint(targets))
        and (not statics or statics.keys().isdisjoint(targets))
    )


def _read(
    names: list[str], targets: list[str] | None, assigned: list[int], scope: dict[str, int], before: set[int]
) -> list[int] | None:
    """The node each line reads by its name in `names`: the one the newest line before it in the
    run assigned that name, or else the scope's; None where a name has no node. The nodes from
    the scope are added to `before`."""
    nodes = [-1] * len(names)
    if targets is not None:
        newest: dict[str, int] = {}
        for k, (name, target, node) in enumerate(zip(names, targets, assigned)):
            nodes[k] = newest.get(name, -1)
            newest[target] = node
    for k, node in enumerate(nodes):
        if node < 0:
            from_scope = scope.get(names[k])
            if from_scope is None:
                return None
            before.add(from_scope)
            nodes[k] = from_scope
    return nodes

"""A statement whose text was parsed before is built again from a record of what that parse did.

Long programs repeat lines: an unrolled recurrence is `h = tanh(h * w + b)` thousands of times.
Parsing a statement depends only on its tokens (which its text decides: a statement starts
outside brackets, and the tokenizer keeps no other state across lines) and on which names the
scope holds; what it builds depends on those and on the nodes the names stand for. So the first
parse of a text is recorded as a Template: every scope lookup and its outcome (a node, or none),
the nodes built (op, operands, span relative to the statement's start) and the name assigned.
A later statement with the same text whose lookups come out the same (the same names have
nodes, the same names have none) is built with the same nodes, re-based: by Graph.add_scalars,
which checks them as Graph.leaf and Graph.apply would, or else by those one by one, so that a
shape or limit error names the same place a full parse would. Anything else (a lookup that now
finds a node: a name assigned since) goes through the parser again.

Only statements of scalars are recorded: a tensor's shape checks cost more than parsing its
statement, and a run of scalar statements (replay_run) is where the time goes. The lines of such
runs are not even tokenized past their first few (tokenize_runs).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import groupby, repeat
from operator import add
from typing import Any, NamedTuple

import numpy as np

from app.engine.errors import ProgramError
from app.engine.graph import Graph
from app.lang.shapes import line_places, singles
from app.lang.tokens import Tokens, is_plain, loose_text, shape_text, tokenize


class Reads:
    """The scope while a statement is recorded: it answers from the parser's scope (no copy) and
    notes every lookup with its outcome, and every assignment. The parser looks names up with
    `get` and `in`, assigns with `[name] = node` and lists the names (`[*scope]`) for hints."""

    __slots__ = ("assigned", "lookups", "scope")

    def __init__(self, scope: dict[str, int]) -> None:
        self.scope = scope
        self.lookups: list[tuple[str, int | None]] = []
        self.assigned: list[tuple[str, int]] = []

    def get(self, name: str, default: int | None = None) -> int | None:
        node = self.scope.get(name)
        self.lookups.append((name, node))
        return default if node is None else node

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __getitem__(self, name: str) -> int:
        return self.scope[name]

    def __setitem__(self, name: str, node: int) -> None:
        self.assigned.append((name, node))
        self.scope[name] = node

    def __iter__(self) -> Iterator[str]:
        return iter(self.scope)

    def pop(self, name: str) -> int:
        """A name that now stands for a value with no node (such a statement is never recorded)."""
        return self.scope.pop(name)


class Built(NamedTuple):
    """One node built by a recorded statement. `refs` index the template's nodes (see Template)."""

    op: Any  # None for a constant leaf
    refs: tuple[int, ...]
    start: int  # relative to the statement's first character
    end: int
    value: float | None  # a constant leaf's value


class Template(NamedTuple):
    """What parsing one statement text did. `lookups`: each name looked up and whether it had a
    node; `names`: the distinct names whose nodes the statement used, in order, which are the
    template's nodes 0..len(names)-1, followed by the nodes built in order; `assigned`: each
    (name, template node) the statement assigned; `result`: the statement's node; `ops` and
    `values`: the built nodes' ops and values, as Graph.add_scalars takes them."""

    lookups: tuple[tuple[str, bool], ...]
    names: tuple[str, ...]
    built: tuple[Built, ...]
    assigned: tuple[tuple[str, int], ...]
    result: int
    ops: tuple[Any, ...]
    values: tuple[float | None, ...]


def record(graph: Graph, reads: Reads, first: int, result: int, offset: int) -> Template | None:
    """The template of the statement just parsed with `reads` as its scope, which built nodes
    `first`.. of `graph` from source offset `offset`. None where a replay would not be quicker
    than parsing or could differ from it: only statements of scalars are recorded (elementwise
    ops without params and constants, which Graph.add_scalars builds together; a tensor's shape
    checks cost more than parsing its statement), and not one that built an input (built
    once, on its first use) or where two names stood for one node (`a = x`, then `a * x`: which
    operand came from which name is lost)."""
    used: dict[int, str] = {}  # a node found in the scope → the name it was found by
    for name, node in reads.lookups:
        if node is not None and node < first and used.setdefault(node, name) != name:
            return None
    index = {node: k for k, node in enumerate(used)}
    count = len(graph)
    index.update((node, len(used) + k) for k, node in enumerate(range(first, count)))
    built = []
    for node in range(first, count):
        op = graph.ops[node]
        if graph.shapes[node] or graph.params[node] is not None:
            return None
        if op is None and not graph.constant[node]:
            return None
        if op is not None and (op.local is None or op.vjp is not None):
            return None
        if not all(arg in index for arg in graph.args[node]):
            return None  # an operand not found by a lookup: never so, but then nothing is assumed
        built.append(
            Built(
                op,
                tuple(map(index.__getitem__, graph.args[node])),
                graph.starts[node] - offset,
                graph.ends[node] - offset,
                graph.values[node] if op is None else None,
            )
        )
    if not built or result not in index or not all(node in index for _, node in reads.assigned):
        return None
    return Template(
        tuple((name, node is not None) for name, node in reads.lookups),
        tuple(used.values()),
        tuple(built),
        tuple((name, index[node]) for name, node in reads.assigned),
        index[result],
        tuple(b.op for b in built),
        tuple(b.value for b in built),
    )


def replay(template: Template, graph: Graph, scope: dict[str, int], offset: int) -> int | None:
    """Builds the template's statement at source offset `offset`; its node, or None (nothing
    built) when the scope no longer gives the lookups the outcomes recorded."""
    for name, found in template.lookups:
        if (name in scope) is not found:
            return None
    nodes = list(map(scope.__getitem__, template.names))
    first = len(graph)
    built = template.built
    nodes += range(first, first + len(built))
    args = [tuple(map(nodes.__getitem__, b.refs)) for b in built]
    starts = [b.start + offset for b in built]
    ends = [b.end + offset for b in built]
    if not graph.add_scalars(template.ops, args, template.values, starts, ends):
        # An operand is a tensor now, or a limit stops a node: one by one, as the parser builds them.
        for b, operands, start, end in zip(built, args, starts, ends):
            if b.op is None:
                graph.leaf(None, b.value, (), False, start, end)
            else:
                graph.apply(b.op, operands, None, start, end)
    return _assign(template, graph, scope, nodes)


def _assign(template: Template, graph: Graph, scope: dict[str, int], nodes: list[int]) -> int:
    """The statement's assignments, as Parser.statement makes them; its node."""
    names = graph.names
    for name, ref in template.assigned:
        node = nodes[ref]
        if names[node] is None:
            names[node] = name
        scope[name] = node
    return nodes[template.result]


def replay_run(template: Template, graph: Graph, scope: dict[str, int], offsets: list[int]) -> int | None:
    """The statement replayed last, again at each of `offsets` (a run of the same line, as in an
    unrolled recurrence), built in one go: its node at the last offset, or None (nothing built)
    where that is not possible, and the statements are then replayed one by one.

    Possible for a template (all of scalars: see record) that assigns one name to one of its
    nodes. The scope's names then stay the same through the run (the assigned one is
    already there), so the lookups come out the same for every statement; each operand is a
    node the scope gives now (the same for every statement), the assigned name's node of the
    statement before, or a node of the same statement: node ids that step by the statement's
    node count. The limits are checked for the whole run first; the gradient flags, which may
    differ from one statement to the next until they settle, are found statement by statement.
    """
    built, names = template.built, template.names
    if len(template.assigned) != 1:
        return None
    assigned_name, assigned = template.assigned[0]
    width, count, outside = len(built), len(offsets), len(names)
    if assigned < outside:
        return None
    for name, found in template.lookups:
        if (name in scope) is not found:
            return None
    first = len(graph)
    ops, values = template.ops, template.values
    op_count = width - ops.count(None)
    limits = graph.limits
    if first + count * width > limits.max_nodes or graph.work + count * op_count > limits.max_total_work:
        return None
    shapes, requires = graph.shapes, graph.requires_grad
    fixed = [scope[name] for name in names]  # the assigned name's entry moves: see moving
    if any(shapes[node] for node in fixed):
        return None
    moving = first - width + assigned - outside  # the assigned node of the statement before the run
    if scope[assigned_name] != moving:
        return None

    def start_and_step(ref: int) -> tuple[int, int]:
        """The ref's node in the run's statement i: start + step * i."""
        if ref >= outside:
            return first + ref - outside, width
        if names[ref] == assigned_name:
            return moving, width
        return fixed[ref], 0

    columns: list[Sequence[tuple[int, ...]]] = []
    for b in built:
        operands = [start_and_step(ref) for ref in b.refs]
        if len(operands) == 1 and operands[0][1]:  # a unary op on a node that moves: shared 1-tuples
            start, step = operands[0]
            columns.append(singles(start, start + step * count, step))
            continue
        columns.append(
            list(
                zip(
                    *[
                        range(start, start + step * count, step) if step else repeat(start, count)
                        for start, step in operands
                    ]
                )
            )
            if operands
            else [()] * count
        )
    args: list[Any] = [None] * (count * width)
    for position, column in enumerate(columns):
        args[position::width] = column
    # Gradient flags: statement i's from statement i - 1's, until a statement repeats the one before.
    flags: list[bool] = []
    before = requires[first - width : first]
    for _ in range(count):
        current: list[bool] = []
        for b in built:
            flag = False
            for ref in b.refs:
                if ref >= outside:
                    flag = current[ref - outside]
                elif names[ref] == assigned_name:
                    flag = before[assigned - outside]
                else:
                    flag = requires[fixed[ref]]
                if flag:
                    break
            current.append(flag)
        if current == before:
            flags += current * ((count * width - len(flags)) // width)
            break
        flags += current
        before = current
    total = count * width
    graph.work += count * op_count
    graph.ops += ops * count
    graph.args += args
    graph.params += [None] * total
    shapes += [()] * total
    assigned_names: list[str | None] = [None] * total
    assigned_names[assigned - outside :: width] = [assigned_name] * count
    graph.names += assigned_names
    starts, ends = line_places(offsets, tuple(b.start for b in built), tuple(b.end for b in built))
    graph.add_places(starts, ends)
    graph.values += values * count
    requires += flags
    graph.scalar += [True] * total
    graph.constant += [op is None for op in ops] * count
    last = first + total - width
    scope[assigned_name] = last + assigned - outside
    start, step = start_and_step(template.result)
    return start + step * (count - 1)


def repeats(source: str) -> bool:
    """Whether a line of `source` shows up three times or more: only then does recording a
    statement pay (it is recorded the second time it is seen and replayed from the third), so a
    program of different lines is parsed without looking for repeats at all."""
    lines = source.split("\n")
    if len(set(lines)) == len(lines):  # no line twice: found without counting each
        return False
    return len(lines) > 2 and Counter(lines).most_common(1)[0][1] > 2


class Omitted(NamedTuple):
    """Lines of a run left out of the tokens: `copies` lines of one length, the first at `start`,
    each `stride` characters after the one before; each statement starts `indent` characters into
    its line. `end`: where the last one ends (its line break included). `varies`: the lines are of
    one shape (tokens.line_shapes) but not all one text, built by app/lang/shapes.py; else they
    are copies of the run's line, built by replay_run. `stride` 0: the lines are of one loose
    shape (tokens.loose_shapes) and of lengths that differ (then `varies`)."""

    start: int
    stride: int
    copies: int  # not `count`: a tuple's count method has that name
    indent: int
    end: int
    varies: bool = False

    def offsets(self) -> range:
        first = self.start + self.indent
        return range(first, first + self.stride * self.copies, self.stride)


# A run of one line keeps its first lines as tokens: the first parse, the recording, the first
# replay. A run of one shape keeps none (Parser.resume tokenizes the lines it records).
KEPT_LINES = 3
# Loose shapes (tokens.loose_shapes) are looked for where runs of one shape average fewer lines
# in the program's first _SAMPLE_LINES lines.
_SHORT_RUNS = 8
_SAMPLE_LINES = 256
_LINE_BREAK = ord("\n")
_SPACES = " \t\f\r"


def tokenize_runs(source: str) -> tuple[Tokens, dict[int, Omitted], bool]:
    """The tokens of `source` without the lines of runs past their first lines (an unrolled
    recurrence, or a program written out line by line, is almost all such lines), those lines,
    by where the line break before them starts, and whether a line of the rest repeats (see
    repeats). A run is KEPT_LINES + 1 lines or more of one shape (tokens.line_shapes) in a row.
    The parser builds them from a recorded line (replay_run, shapes.build_run), or puts their
    tokens in (tokens_of) if it cannot. Tokenizing them would take a third of the time a long
    chain takes to build.

    Only for a plain program (tokens.is_plain) without `;`: there a line is a statement and its
    tokens are those of its own text. The lines kept are tokenized as they are, so an error in
    them (a character outside the language) is the one the whole program's tokens give: the
    lines left out are of the shape of kept ones, and a shape's characters are the language's.
    """
    if ";" in source:
        return tokenize(source), {}, repeats(source)
    if not source.isascii():  # not plain (see below)
        return tokenize(source, plain=False), {}, repeats(source)
    shaped = shape_text(source) + "\n"  # the last line too ends with a line break
    # Short runs of one shape in the first lines: runs of one loose shape, which hold those of one
    # shape (the first lines decide: grouping every line both ways cost a tenth of the parse of
    # 3,000 lines of varying constants).
    sample = shaped.split("\n", _SAMPLE_LINES)[:-1]
    loose = sum(1 for _ in groupby(sample)) > len(sample) // _SHORT_RUNS
    if loose:
        lines = loose_text(shaped)
        sample = lines.split("\n", _SAMPLE_LINES)[:-1]
        groups = _runs(lines, sum(1 for _ in groupby(sample)) < len(sample))
    else:
        groups = _runs(shaped, True)
    if len(groups) == shaped.count("\n"):  # no two lines in a row of one shape: no run
        return tokenize(source), {}, repeats(source)
    followed = [shape for shape, _ in groups[:-1]]  # a line break follows a line of each shape
    if groups[-1][1] > 1:
        followed.append(groups[-1][0])
    if not is_plain(source, followed):
        return tokenize(source, plain=False), {}, repeats(source)
    ends: list[int] = []  # where each run of one loose shape ends in the source, its last line break included
    if loose and len(groups) == 1:  # one loose shape throughout (no numpy call: cold, each costs tens of us)
        ends = [len(shaped)]
    elif loose:
        breaks = np.flatnonzero(np.frombuffer(shaped.encode("ascii"), np.uint8) == _LINE_BREAK)
        ends = (breaks[np.cumsum([length for _, length in groups]) - 1] + 1).tolist()
    omitted: dict[int, Omitted] = {}
    kept: list[tuple[int, int]] = []  # the parts of the source tokenized: (start, end)
    start = offset = 0  # where the part not yet kept starts; where the next line starts
    for group, (shape, length) in enumerate(groups):
        stride = len(shape) + 1
        if loose:  # a loose shape: the lines are copies of one shape, or else of lengths that differ
            end = ends[group]
            if length > KEPT_LINES:
                stride = shaped.index("\n", offset) + 1 - offset
                one_length = end - offset == stride * length  # then are they copies of one shape?
                if not one_length or not shaped.startswith(shaped[offset : end - stride], offset + stride):
                    stride = 0
        else:
            end = offset + stride * length
        if length > KEPT_LINES and shape.strip(_SPACES) and not stride:
            # Lines of one loose shape, not of one length: built from the first (Parser.resume).
            first = 0 if 0 < offset != start else 1
            kept_end = source.index("\n", offset) + 1 if first else offset
            kept.append((start, kept_end))
            start = min(end, len(source) + 1)
            indent = len(shape) - len(shape.lstrip(_SPACES))
            omitted[kept_end - 1] = Omitted(kept_end, 0, length - first, indent, min(start, len(source)), True)
        elif length > KEPT_LINES and shape.strip(_SPACES):
            # All copies of the first line: each line is the one before it (compared in one go).
            varies = not source.startswith(source[offset : offset + stride * (length - 1) - 1], offset + stride)
            # A run of one shape starts with its first line (see Parser.resume), but at the start
            # of the program or right after another run: its line break must be a token.
            first = KEPT_LINES if not varies else 0 if 0 < offset != start else 1
            kept.append((start, offset + stride * first))
            start = min(offset + stride * length, len(source) + 1)  # past the last line's break
            indent = len(shape) - len(shape.lstrip(_SPACES))
            omitted[offset + stride * first - 1] = Omitted(
                offset + stride * first, stride, length - first, indent, min(start, len(source)), varies
            )
        offset = end
    if not omitted:
        return tokenize(source, plain=True), {}, repeats(source)
    if start < len(source):
        kept.append((start, len(source)))
    # The kept parts tokenized as one text (whole lines: their tokens are those of each part; one
    # call, where one per part cost 15 us each after ast.parse), their starts moved back part by part.
    kept = [(begin, end) for begin, end in kept if begin < end]
    text = "".join(source[begin:end] for begin, end in kept)
    try:
        kinds, texts, starts = tokenize(text, plain=True)
    except ProgramError:  # a kept line's tokens are wrong: the whole program's tokens say where first
        return tokenize(source, plain=True), {}, repeats(source)
    moved: list[int] = []
    at = first_token = 0  # where the part starts in `text`; its first token
    for begin, end in kept:
        last_token = bisect_left(starts, at + end - begin, first_token)
        moved += map(add, starts[first_token:last_token], repeat(begin - at))
        at, first_token = at + end - begin, last_token
    moved.append(len(source))  # the END token's
    return Tokens(kinds, texts, moved), omitted, repeats(text)


def _runs(lines: str, gallop: bool) -> list[tuple[str, int]]:
    """The runs of copies of one line in `lines` (each line ends with a line break): (line, copies)
    each, in order. `gallop`: found a run at a time, each the longest stretch of text that repeats
    its first line, by doubling then halving the stretch compared (a few comparisons of whole
    stretches, in C), rather than line by line (quicker where there are few runs)."""
    if not gallop:
        return [(line, len(list(group))) for line, group in groupby(lines.split("\n")[:-1])]
    runs = []
    pos, size = 0, len(lines)
    while pos < size:
        period = lines.index("\n", pos) + 1 - pos
        copies = 1
        if lines.startswith("\n", pos + 2 * period - 1):  # the next line is as long: maybe a copy
            while lines.startswith(lines[pos : pos + period * copies], pos + period * copies):
                copies *= 2  # the next `copies` lines are copies too
            half = copies // 2
            while half:
                if lines.startswith(lines[pos : pos + period * half], pos + period * copies):
                    copies += half
                half //= 2
        runs.append((lines[pos : pos + period - 1], copies))
        pos += period * copies
    return runs


def tokens_of(source: str, block: Omitted) -> Tokens:
    """The tokens of the omitted lines, with their starts in `source`; no END token. Only lines of
    a plain program (tokens.is_plain) are left out and put back, so whole lines of it are plain
    too: tokenize is told so rather than finding it again."""
    piece = tokenize(source[block.start : block.end], plain=True)
    return Tokens(piece.kinds[:-1], piece.texts[:-1], [offset + block.start for offset in piece.starts[:-1]])

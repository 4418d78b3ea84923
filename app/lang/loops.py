"""`for i in range(k):` with an indented body (or a body on the same line), unrolled.

The body is parsed once per iteration with the loop's name bound to that iteration's value, so
the graph holds every iteration's nodes, as if the body had been written out k times (folding
then sees the repetitions). Before the second iteration the node limit is checked for all of
them: a loop too large to unroll is refused without being unrolled.

Blocks are found from the tokens' columns: the tokenizer keeps no indentation, and a body's
statements are those that start at the first body line's column, up to the first line that
starts left of it. Only `for` bodies are blocks; elsewhere a line's indentation is ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine.errors import LimitExceeded, ProgramError
from app.lang.replay import Template
from app.lang.static import Term, Terms, describe
from app.lang.tokens import END, NAME, NEWLINE

if TYPE_CHECKING:
    from app.lang.parser import _Parser


# Tokens parsed by unrolling, all loops together, per node of the node limit: a loop whose body
# makes no node (`for i in range(10**5): j = i`) is bounded too, and so are loops in loops.
TOKENS_PER_NODE = 10


def column(parser: _Parser, pos: int) -> int:
    """The 0-based column where token `pos` starts."""
    start = parser.starts[pos]
    return start - (parser.source.rfind("\n", 0, start) + 1)


def loop(parser: _Parser) -> int:
    """The `for` statement at parser.pos; the node of the last statement of its last iteration."""
    kinds, texts, starts = parser.kinds, parser.texts, parser.starts
    pos = parser.pos
    for_start = starts[pos]
    if kinds[pos + 1] != NAME or texts[pos + 2] != "in":
        raise ProgramError(
            "forbidden",
            "a loop is written `for name in range(k):` (one name, no unpacking)",
            start=for_start,
            end=parser.end(pos + 1),
        )
    name = texts[pos + 1]
    parser.check_name(name, starts[pos + 1], parser.end(pos + 1))
    if parser.depth + 1 >= parser.max_depth:  # loops nest as calls do, within the same bound (and a call)
        raise LimitExceeded(
            f"the loops are nested too deep: loops and calls together may nest {parser.max_depth} levels",
            start=for_start,
            end=parser.end(pos),
        )
    parser.depth += 1
    parser.pos = pos + 3
    iterable = parser.expr()
    values = _values(parser, iterable, for_start)
    if texts[parser.pos] != ":":
        raise ProgramError(
            "syntax_error", "expected ':' after the loop's header", start=starts[parser.pos], end=parser.end(parser.pos)
        )
    parser.pos += 1
    parser.unrecordable = True
    if kinds[parser.pos] == NEWLINE and texts[parser.pos] == "\n":
        _restore_all(parser)
        body = parser.pos + 1
        if kinds[body] == END or column(parser, body) <= column(parser, pos):
            raise ProgramError(
                "syntax_error",
                "expected an indented block after the loop's header",
                start=starts[body],
                end=parser.end(body),
            )
        indent = column(parser, body)
    else:
        body, indent = parser.pos, -1  # the body on the header's line
    limits = parser.graph.limits
    budget = limits.max_nodes * TOKENS_PER_NODE
    node = -1
    first = len(parser.graph)
    # Statement text → its record, as the program's own (see Parser.repeatable_statement): from the
    # third iteration on, a body statement of scalars that reads no loop counter is replayed.
    templates: dict[str, Template | bool] | None = {} if parser.can_replay else None
    for count, value in enumerate(values):
        if count == 1:
            per_iteration = len(parser.graph) - first
            needed = len(parser.graph) + per_iteration * (len(values) - 1)
            if needed > limits.max_nodes:
                raise LimitExceeded(
                    f"the loop would need {needed} nodes when unrolled ({per_iteration} per iteration, "
                    f"{len(values)} iterations); the limit is {limits.max_nodes}",
                    start=for_start,
                    end=iterable[3],
                )
            if parser.unrolled + (parser.pos - body) * (len(values) - 1) > budget:
                raise LimitExceeded(
                    f"the loop would parse its body {len(values)} times, more than the limit of "
                    f"{budget} tokens unrolled in a program",
                    start=for_start,
                    end=iterable[3],
                )
        first = len(parser.graph)
        parser.pos = body
        _bind(parser, name, value)
        node = _body(parser, indent, node, templates)
        parser.unrolled += parser.pos - body
        if parser.unrolled > budget:  # loops inside loops: each iteration counts
            raise LimitExceeded(
                f"the loops would parse more than the limit of {budget} tokens unrolled in a program",
                start=for_start,
                end=iterable[3],
            )
    parser.depth -= 1
    if not values:  # the body is skipped: still checked as Python would parse it
        parser.pos = body
        _skip(parser, indent)
    return node


def _values(parser: _Parser, iterable: Term, for_start: int) -> list[Term]:
    """The terms the loop's name takes, one per iteration."""
    node, literal, start, end = iterable
    if node < 0 and isinstance(literal, Terms):
        return list(literal)
    if node < 0 and isinstance(literal, (range, tuple)):
        if len(literal) > parser.graph.limits.max_nodes:
            raise LimitExceeded(
                f"the loop runs {len(literal)} times; a loop is unrolled into the graph, whose limit is "
                f"{parser.graph.limits.max_nodes} nodes",
                start=for_start,
                end=end,
            )
        return [(-1, value, start, end) for value in literal]
    if node >= 0 and parser.graph.shapes[node]:  # for row in X: X[0], X[1], ...
        return parser.items(iterable, "iterate over")
    raise ProgramError(
        "forbidden",
        f"a loop runs over range(k), a tuple, a list or a tensor's rows; "
        f"this is {describe(literal) if node < 0 else 'a 0-d tensor'}",
        start=start,
        end=end,
    )


def _bind(parser: _Parser, name: str, term: Term) -> None:
    """The loop's name for one iteration: a node, or a value known before the run."""
    if term[0] >= 0:
        parser.assign(name, term)
        return
    if name in parser.scope:
        parser.scope.pop(name)
    parser.statics[name] = term[1]


def _body(parser: _Parser, indent: int, node: int, templates: dict[str, Template | bool] | None) -> int:
    """One iteration's statements, from parser.pos to the end of the body."""
    kinds, texts = parser.kinds, parser.texts
    while True:
        made = parser.statement() if templates is None else parser.repeatable_statement(templates, runs=False)
        if made >= 0:
            node = made
        pos = parser.pos
        if kinds[pos] == END:
            return node
        if kinds[pos] != NEWLINE:
            raise parser.unexpected(pos, after_term=True)
        if indent < 0:  # the body on the header's line: `;` continues it, a line break ends it
            if texts[pos] != ";" or kinds[pos + 1] in (NEWLINE, END):
                return node
            parser.pos = pos + 1
            continue
        while kinds[pos] == NEWLINE and kinds[pos + 1] == NEWLINE:
            pos += 1
        if kinds[pos + 1] == END:
            parser.pos = pos
            return node
        if texts[pos] == ";":
            parser.pos = pos + 1
            continue
        where = column(parser, pos + 1)
        if where < indent:
            parser.pos = pos
            return node
        if where > indent:
            raise ProgramError(
                "syntax_error",
                "unexpected indent: this line is indented more than the loop's body",
                start=parser.starts[pos + 1],
                end=parser.end(pos + 1),
            )
        parser.pos = pos + 1


def _skip(parser: _Parser, indent: int) -> None:
    """Past a body that runs no time, with its statements parsed against nothing (never built)."""
    kinds, texts = parser.kinds, parser.texts
    pos = parser.pos
    while kinds[pos] != END:
        if (
            kinds[pos] == NEWLINE
            and texts[pos] == "\n"
            and (indent < 0 or kinds[pos + 1] == END or column(parser, pos + 1) < indent)
        ):
            break
        pos += 1
    parser.pos = pos


def _restore_all(parser: _Parser) -> None:
    """Every line left out of the tokens (a run of one line, app/lang/replay.py) put back in:
    a loop's body is parsed more than once, by positions."""
    if not parser.omitted:
        return
    breaks = [
        p
        for p in range(parser.pos, len(parser.kinds))
        if parser.kinds[p] == NEWLINE and parser.starts[p] in parser.omitted
    ]
    for pos in reversed(breaks):
        parser.restore(pos)

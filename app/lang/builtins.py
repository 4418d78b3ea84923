"""Python's len, range, list, tuple, float and int, on values known before the program runs.

`range(n)`, `len(x)`, `float('-inf')`, `int(C / 2)` are evaluated by the parser from shapes and
numbers it already holds; a tensor's values are never read (`float(x)` of a tensor is refused).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from app.engine.errors import ProgramError
from app.lang.static import NumberList, Term, TermList, Terms, Word, is_int, is_number, plain

if TYPE_CHECKING:
    from app.lang.parser import _Parser


_MAX_BOUND = 2**62
_NON_FINITE = {
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "nan": math.nan,
}


def call(parser: _Parser, name: str, start: int) -> Term:
    """The builtin `name` called at parser.pos (its name's token)."""
    parser.pos += 1
    positional, keywords, end = parser.arguments()
    parser.unrecordable = True
    if keywords:
        first = next(iter(keywords.values()))
        raise ProgramError("bad_arguments", f"{name}() takes no keyword arguments here", start=first[2], end=first[3])
    if name == "len":
        return _len(parser, positional, start, end)
    if name == "range":
        return _range(parser, positional, start, end)
    if name in ("list", "tuple"):
        return _sequence(parser, name, positional, start, end)
    return _number(parser, name, positional, start, end)


def _one(name: str, positional: list[Term], start: int, end: int) -> Term:
    if len(positional) != 1:
        raise ProgramError("bad_arguments", f"{name}() takes one argument", start=start, end=end)
    return positional[0]


def _len(parser: _Parser, positional: list[Term], start: int, end: int) -> Term:
    term = _one("len", positional, start, end)
    node, literal, _, _ = term
    if node >= 0:
        shape = parser.graph.shapes[node]
        if not shape:
            raise ProgramError("bad_arguments", "len() of a 0-d tensor", start=term[2], end=term[3])
        return (-1, shape[0], start, end)
    if isinstance(literal, (tuple, range)):
        return (-1, len(literal), start, end)
    raise ProgramError("bad_arguments", "len() takes a tensor, a tuple or a range", start=term[2], end=term[3])


def _range(parser: _Parser, positional: list[Term], start: int, end: int) -> Term:
    if not 1 <= len(positional) <= 3:
        raise ProgramError("bad_arguments", "range() takes 1 to 3 integers", start=start, end=end)
    bounds = []
    for term in positional:
        value = parser.static(term, "range's bounds", "integers")
        if not is_int(value):
            raise ProgramError(
                "bad_arguments", f"range() takes integers, got {plain(value)!r}", start=term[2], end=term[3]
            )
        if abs(value) > _MAX_BOUND:  # len() of a longer range is past what Python can count
            raise ProgramError(
                "limit_exceeded",
                f"range() bounds are limited to ±2**62, got {plain(value)}",
                start=term[2],
                end=term[3],
            )
        bounds.append(int(value))
    if len(bounds) == 3 and bounds[2] == 0:
        raise ProgramError("bad_arguments", "range()'s step must not be zero", start=start, end=end)
    return (-1, range(*bounds), start, end)


def _sequence(parser: _Parser, name: str, positional: list[Term], start: int, end: int) -> Term:
    """list(range(n)) (d2l's index), tuple(x.shape): the items of a value known before the run."""
    term = _one(name, positional, start, end)
    literal = term[1]
    if term[0] >= 0 or not isinstance(literal, (tuple, range)):
        raise ProgramError(
            "bad_arguments",
            f"{name}() takes a range or a tuple known before the program runs",
            start=term[2],
            end=term[3],
        )
    limit = parser.graph.limits.max_tensor_elements
    if len(literal) > limit:
        raise ProgramError(
            "limit_exceeded", f"{name}() of {len(literal)} items; the limit is {limit}", start=start, end=end
        )
    if isinstance(literal, Terms):
        return (-1, TermList(literal) if name == "list" else Terms(literal), start, end)
    return (-1, NumberList(literal) if name == "list" else tuple(literal), start, end)


def _number(parser: _Parser, name: str, positional: list[Term], start: int, end: int) -> Term:
    term = _one(name, positional, start, end)
    node, literal, _, _ = term
    if node < 0 and isinstance(literal, Word):
        value = _NON_FINITE.get(literal.strip().lower())
        if value is None or name != "float":
            raise ProgramError(
                "bad_arguments",
                f"{name}() of a string takes 'inf', '-inf' or 'nan' (float only)",
                start=term[2],
                end=term[3],
            )
        return (-1, value, start, end)
    value = parser.static_or_none(term)
    if node >= 0 and value is None:
        raise ProgramError(
            "bad_arguments",
            f"{name}() of a tensor reads its value, which is not known before the program runs; "
            f"tensors are float64 already (x.float() and x.long() change nothing)",
            start=term[2],
            end=term[3],
        )
    if not is_number(value) or isinstance(value, Terms):
        raise ProgramError("bad_arguments", f"{name}() takes a number", start=term[2], end=term[3])
    value = plain(value)
    if name == "int":
        if not math.isfinite(value):
            raise ProgramError("bad_arguments", f"int() of {value!r}", start=start, end=end)
        return (-1, int(value), start, end)
    return (-1, float(value), start, end)

"""JSON text written column by column: how large response bodies are built.

A 10,000-node graph answers with about 63,000 JSON objects (nodes and their spans, steps and
their local derivatives), all with the same fields. Building a dict for each and handing the tree
to a JSON encoder cost more than everything else in the request. Here a list of objects is written
from one list per field (a column): a column of numbers becomes its items' texts in one orjson
call, split at the commas; the columns are interleaved with the literal text of the object's
template by slice assignment, and joined once. No Python code runs per value.

Long lists are written in blocks of BLOCK items or rows, never in one call: the server computes
in worker threads beside the event loop, and a C call holds the GIL for as long as it runs (a
100,000-node body written in one join held it for 50-90 ms, and /healthz waited that long).
`objects` answers a list of blocks, which the caller encodes and sends one by one.

Everything is str, not bytes: str.join does not do the per-piece buffer bookkeeping that
bytes.join does (3× faster here at 300,000 pieces). Strings are written with ASCII escapes, so a
body stays ASCII and its final encode is a plain copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any, cast

import numpy as np
import orjson

_NUMPY = orjson.OPT_SERIALIZE_NUMPY
# Items or rows per C call: a few hundred microseconds of work each.
BLOCK = 4096


def _blockwise(write: Callable[[Sequence[Any]], list[str]], values: Sequence[Any]) -> list[str]:
    """write(values) for a long list, a block at a time (see the module docstring)."""
    if len(values) <= BLOCK:
        return write(values)
    texts: list[str] = []
    for start in range(0, len(values), BLOCK):
        texts.extend(write(values[start : start + BLOCK]))
    return texts


def items(values: Sequence[Any]) -> list[str]:
    """The JSON text of each value (numbers, None, ASCII strings, contiguous numpy arrays, lists,
    dicts). One orjson call writes a block of the list, split at its commas; when a value's own
    text holds a comma (a tensor, an object), each value is written by itself instead."""
    return _blockwise(_items, values)


def _items(values: Sequence[Any]) -> list[str]:
    if not values:
        return []
    texts = orjson.dumps(values, option=_NUMPY)[1:-1].decode().split(",")
    if len(texts) == len(values):  # every comma was a separator
        return texts
    return [orjson.dumps(value, option=_NUMPY).decode() for value in values]


def int_lists(lists: Sequence[Sequence[int]]) -> list[str]:
    """The items of each list of ints (a shape, operand ids, axes) without the brackets, which the
    template holds: (2, 3) gives "2,3" and () gives ""."""
    if lists.count(()) == len(lists):  # a scalar graph's shapes and summed axes (`()` is one object: no compare)
        return [""] * len(lists)
    return _blockwise(_int_lists, lists)


def _int_lists(lists: Sequence[Sequence[int]]) -> list[str]:
    if not lists:
        return []
    return orjson.dumps(lists)[2:-2].decode().split("],[")


# "0", "1", ...: the texts of the ints up to the largest asked for yet, the list replaced whole
# when it grows, never grown in place (another thread may be reading it).
_int_texts: list[list[str]] = [[]]
_MOST_INT_TEXTS = 1 << 18


def int_texts(values: Sequence[int], below: int | None = None) -> list[str]:
    """The JSON text of each int of a column of ids, lines or columns, from a table of texts made
    once (no text is written, nor split, per item); ints past the table written as items does.
    `below`: a bound the caller knows every value is under (and at least 0), not looked for again."""
    if not values:
        return []
    table = _int_texts[0]
    if below is not None:
        low, high = 0, below - 1
    elif isinstance(values, range):
        low, high = values[0], values[-1]
    else:
        low, high = min(values), max(values)
    if low < 0 or high >= _MOST_INT_TEXTS:
        return items(values)
    if high >= len(table):
        table = _int_texts[0] = list(map(str, range(max(high + 1, 2 * len(table), 1024))))
    if isinstance(values, range) and values.step == 1:
        return table[values.start : values.stop]
    return list(map(table.__getitem__, values))


def strings(values: Sequence[str | None]) -> list[str]:
    """The JSON text of each string (or None), ASCII-escaped.

    A column that repeats itself (the ops' names) has each distinct string escaped once. One of
    mostly different strings (a program's labels) is escaped in one call of json's C escaper,
    joined by line breaks: a string's own line break comes out escaped, so the escaped text splits
    at the joins alone. A string holding a line break or a backslash before an n splits once more,
    and is caught by the count: then each string is escaped by itself.
    """
    distinct = set(values)
    if 2 * len(distinct) < len(values):
        return _each(values, distinct)
    present = [value for value in values if value is not None] if None in distinct else values
    texts = encode_basestring_ascii("\n".join(cast("Sequence[str]", present))).replace("\\n", '"\n"').split("\n")
    if len(texts) != len(present):
        return _each(values, distinct)
    if len(present) == len(values):
        return texts
    text = iter(texts)
    return ["null" if value is None else next(text) for value in values]


def _each(values: Sequence[str | None], distinct: set[str | None]) -> list[str]:
    """strings(values), each distinct string escaped by itself."""
    # json's C escaper called directly: json.dumps costs several µs per call before it gets there.
    texts = {value: "null" if value is None else encode_basestring_ascii(value) for value in distinct}
    return list(map(texts.__getitem__, values))


def json_list(values: Sequence[Any] | np.ndarray) -> list[str]:
    """A whole list (or a 1-d numpy array) as JSON text (numbers, None, lists, tuples, dicts,
    contiguous numpy arrays), in pieces: "[", then its items a block at a time with commas between
    the blocks, then "]". The column layout writes each field of a list of objects this way, with
    no text per item."""
    return _bracketed(values, lambda block: orjson.dumps(block, option=_NUMPY)[1:-1].decode())


def text_list(values: Sequence[str | None]) -> list[str]:
    """A list of strings (or None) as JSON text with ASCII escapes, in pieces as json_list."""
    return joined_list(strings(values))


def joined_list(texts: Sequence[str]) -> list[str]:
    """A list whose items' JSON texts are given, in pieces as json_list."""
    return _bracketed(texts, ",".join)


def _bracketed(values: Sequence[Any] | np.ndarray, write: Callable[[Any], str]) -> list[str]:
    pieces = ["["]
    for start in range(0, len(values), BLOCK):
        pieces += ("," if start else "", write(values[start : start + BLOCK]))
    pieces.append("]")
    return pieces


def objects(template: str, columns: list[list[str]]) -> list[str]:
    """A list's objects as blocks of text, each up to BLOCK objects comma separated (the caller
    puts commas between blocks, and the brackets): `template` once per row, with its k-th `@`
    replaced by that row's item of columns[k]."""
    pieces = template.split("@")
    if len(pieces) != len(columns) + 1:
        raise ValueError(f"the template has {len(pieces) - 1} places for {len(columns)} columns")
    rows = len(columns[0])
    if any(len(column) != rows for column in columns):
        raise ValueError("every column must have one item per row")
    pieces, columns = _folded(pieces, columns)
    if not columns:  # every column the same on every row
        return [",".join([pieces[0]] * len(range(start, min(start + BLOCK, rows)))) for start in range(0, rows, BLOCK)]
    return [_rows(pieces, [column[start : start + BLOCK] for column in columns]) for start in range(0, rows, BLOCK)]


def _folded(pieces: list[str], columns: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """The template with every column that has the same item on every row (a scalar graph's
    shapes, parameters and summed axes) written into its literal text: fewer pieces to join."""
    kept_pieces, kept = [pieces[0]], []
    for column, piece in zip(columns, pieces[1:]):
        if column and same_on_every_row(column):
            kept_pieces[-1] += column[0] + piece
        else:
            kept.append(column)
            kept_pieces.append(piece)
    return kept_pieces, kept


def same_on_every_row(column: list[str]) -> bool:
    """Whether a (non-empty) column has the same item on every row."""
    first = column[0]
    # the ends and the middle tell most columns that vary, before a full count
    return first == column[-1] == column[len(column) // 2] and column.count(first) == len(column)


def _rows(pieces: list[str], columns: list[list[str]]) -> str:
    return interleaved(pieces, columns, ",")


def interleaved(pieces: list[str], columns: list[list[str]], separator: str) -> str:
    """The rows of a template as one text, `separator` between them: the template's literal
    `pieces` with each row's item of every column put between them (len(pieces) == len(columns) + 1)."""
    rows = len(columns[0])
    # A row's parts: literal, item, literal, item, ..., item; the row's closing literal goes into
    # the first part of the next row (or after the last row).
    width = 2 * len(columns)
    parts: list[str | None] = [None] * (rows * width)
    parts[0::width] = [pieces[-1] + separator + pieces[0]] * rows
    parts[0] = pieces[0]
    for k in range(1, len(columns)):
        parts[2 * k :: width] = [pieces[k]] * rows
    for k, column in enumerate(columns):
        parts[2 * k + 1 :: width] = column
    parts.append(pieces[-1])
    return "".join(cast("list[str]", parts))  # every None filled in above

"""Subscripts: `x[0]`, `x[:, 1:3]`, `x[..., -1]`, `x[:, None]`, `C[Xb]`, `logprobs[range(n), Yb]`.

A tensor's subscript becomes one `index` node: its static key says, item by item, what the
subscript holds (an int, a slice as (start, stop, step), None for a new axis, Ellipsis, or "the
next tensor operand"), and the integer tensors it holds are the node's other operands. A range
or a list of integers in a subscript is such a tensor, made a constant here. A subscript of a
value known before the run (`x.shape[0]`, `pair[1]`, `sizes[1:]`) is taken here, at parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from app.engine import ops
from app.engine.errors import ProgramError
from app.lang.static import NumberList, Term, Terms, describe, is_int, plain

if TYPE_CHECKING:
    from app.lang.parser import _Parser

KEY_ELLIPSIS = getattr(ops, "KEY_ELLIPSIS", "...")
KEY_TENSOR = getattr(ops, "KEY_TENSOR", "tensor")
_MASKS = frozenset(("gt", "lt", "ge", "le", "eq", "ne"))  # ops whose results are masks
_SLICE = object()  # marks a slice item while the subscript is read
_ELLIPSIS = object()


def subscript(parser: _Parser, term: Term) -> Term:
    """`term[...]`, with `[` at parser.pos."""
    open_start = parser.starts[parser.pos]
    parser.pos += 1
    parser.enter(open_start)
    items, is_tuple = parser.comma_items("]", lambda: _item(parser), parser.unclosed_bracket)
    end = parser.end(parser.pos)
    parser.pos += 1
    parser.depth -= 1
    if not items:
        raise ProgramError("syntax_error", "an empty subscript x[] is not Python", start=open_start, end=end)
    node, literal, start, _ = term
    if node < 0:
        return _static_subscript(parser, literal, items, is_tuple, start, end)
    return _tensor_subscript(parser, node, items, start, end)


def _item(parser: _Parser) -> tuple[Any, Any, int, int]:
    """One item of a subscript: (kind, value, start, end); kind is _SLICE, _ELLIPSIS or None (a term)."""
    texts, starts = parser.texts, parser.starts
    pos = parser.pos
    start = starts[pos]
    if texts[pos] == "." and texts[pos + 1] == "." and texts[pos + 2] == "." and starts[pos + 2] == start + 2:
        parser.pos = pos + 3
        return (_ELLIPSIS, None, start, start + 3)
    lower = None if texts[pos] == ":" else parser.expr()
    if lower is not None and texts[parser.pos] != ":":
        return (None, lower, lower[2], lower[3])
    bounds: list[Term | None] = [lower]
    end = parser.end(parser.pos)
    for _ in range(2):
        if texts[parser.pos] != ":":
            break
        parser.pos += 1
        end = parser.end(parser.pos - 1)
        if texts[parser.pos] in (":", ",", "]"):
            bounds.append(None)
        else:
            bound = parser.expr()
            bounds.append(bound)
            end = bound[3]
    bounds += [None] * (3 - len(bounds))
    return (_SLICE, bounds, start, end)


def _slice(
    parser: _Parser, bounds: list[Term | None], start: int, end: int, tensor: bool = True
) -> tuple[int | None, ...]:
    """A slice's (start, stop, step); a tensor's step must be positive (as in PyTorch), a tuple's not zero."""
    values: list[int | None] = []
    for bound in bounds:
        if bound is None:
            values.append(None)
            continue
        value = parser.static(bound, "a slice's bounds", "integers")
        if value is not None and not is_int(value):
            raise ProgramError(
                "bad_arguments",
                f"a slice's bounds must be integers or None, got {describe(value)}",
                start=bound[2],
                end=bound[3],
            )
        values.append(None if value is None else int(value))
    if values[2] is not None and values[2] <= 0 and (tensor or values[2] == 0):
        raise ProgramError(
            "bad_arguments",
            "a slice's step must be positive (as in PyTorch)" if tensor else "a slice's step must not be zero",
            start=start,
            end=end,
        )
    return tuple(values)


def _static_subscript(
    parser: _Parser, literal: Any, items: list[tuple[Any, Any, int, int]], is_tuple: bool, start: int, end: int
) -> Term:
    """A subscript of a value known before the run: a tuple, a list, a range, a pair."""
    if not isinstance(literal, (tuple, range)):
        raise ProgramError("bad_arguments", f"{describe(literal)} cannot be subscripted", start=start, end=end)
    if is_tuple or len(items) != 1 or items[0][0] is _ELLIPSIS:
        raise ProgramError(
            "bad_arguments", f"{describe(literal)} takes one integer or slice in [ ]", start=start, end=end
        )
    kind, value, item_start, item_end = items[0]
    if kind is _SLICE:
        bounds = slice(*_slice(parser, value, item_start, item_end, tensor=False))
        if isinstance(literal, Terms):
            return (-1, type(literal)(literal[bounds]), start, end)
        return (-1, literal[bounds], start, end)
    index = parser.static(value, "an index", "an integer")
    if not is_int(index):
        raise ProgramError(
            "bad_arguments",
            f"{describe(literal)} takes an integer index, got {describe(index)}",
            start=item_start,
            end=item_end,
        )
    if not -len(literal) <= index < len(literal):
        raise ProgramError(
            "bad_arguments",
            f"index {plain(index)} is out of range for {describe(literal)} of {len(literal)} items",
            start=item_start,
            end=item_end,
        )
    if isinstance(literal, Terms):
        item = literal[int(index)]
        return (item[0], item[1], start, end)
    return (-1, literal[int(index)], start, end)


def _tensor_subscript(parser: _Parser, node: int, items: list[tuple[Any, Any, int, int]], start: int, end: int) -> Term:
    """A subscript of a tensor: one `index` node."""
    index = ops.OPS.get("index")
    if index is None:
        raise ProgramError("forbidden", "indexing and slicing (x[...]) are not available yet", start=start, end=end)
    key: list[Any] = []
    tensors: list[int] = []
    for kind, value, item_start, item_end in items:
        if kind is _ELLIPSIS:
            key.append(KEY_ELLIPSIS)
        elif kind is _SLICE:
            key.append(_slice(parser, value, item_start, item_end))
        elif value[0] >= 0 and parser.static_or_none(value) is None:
            made_by = parser.graph.ops[value[0]]
            if made_by is not None and made_by.name in _MASKS:
                raise ProgramError(
                    "forbidden",
                    "a boolean mask as an index (x[x > 0]) is not supported: its result's shape "
                    "depends on the values; use torch.where(mask, x, 0) or x.masked_fill(mask == 0, 0)",
                    start=item_start,
                    end=item_end,
                )
            key.append(KEY_TENSOR)
            tensors.append(value[0])
        else:
            static = value[1] if value[0] < 0 else parser.static_or_none(value)
            if static is None and value[0] < 0:
                key.append(None)
            elif is_int(static):
                key.append(int(static))
            elif value[0] >= 0:  # an integer input used as an index tensor (0-d)
                key.append(KEY_TENSOR)
                tensors.append(value[0])
            elif isinstance(static, (range, NumberList, Terms)):
                key.append(KEY_TENSOR)
                tensors.append(_constant_indices(parser, value, item_start, item_end))
            else:
                raise ProgramError(
                    "bad_arguments",
                    f"a tensor's subscript takes integers, slices, None, ..., integer tensors, "
                    f"ranges and lists of integers; this is {describe(static)}",
                    start=item_start,
                    end=item_end,
                )
    return parser.apply(index, (node, *tensors), {"key": tuple(key)}, start, end)


def _constant_indices(parser: _Parser, term: Term, start: int, end: int) -> int:
    """A range or a list of integers in a subscript, as a constant tensor of them."""
    literal = term[1]
    if isinstance(literal, Terms):
        literal = parser.static(term, "an index list", "integers")
    if isinstance(literal, range) and len(literal) > parser.graph.limits.max_tensor_elements:
        raise ProgramError(
            "limit_exceeded",
            f"the index {describe(literal)} has {len(literal)} elements; the limit is "
            f"{parser.graph.limits.max_tensor_elements} per tensor",
            start=start,
            end=end,
        )
    try:
        values = np.asarray(plain(literal) if not isinstance(literal, range) else literal, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):  # ragged lists, lists of tuples
        raise ProgramError(
            "bad_arguments",
            "an index list must be a (nested) list of integers, every row as long",
            start=start,
            end=end,
        ) from None
    if values.dtype.kind != "f" or (values.size and not np.all(np.mod(values, 1) == 0)):
        raise ProgramError("bad_arguments", "an index list must hold integers", start=start, end=end)
    return parser.graph.leaf(None, values if values.ndim else float(values), values.shape, False, start, end)

"""Values the parser knows before the program runs: numbers, shapes, tuples, ranges, namespaces.

Python that forward passes are written in (`B, T, C = x.shape`, `C // n_head`, `range(n)`,
`float('-inf')`) is evaluated here, by the parser, on values it already holds: nothing of the
program ever reaches Python's eval. Such a value is a term's `literal` (node -1, see the parser).

Arithmetic on numbers written in the program builds constant nodes and op nodes, as it always
has (`2 * 3` in a program is drawn as a product); the same arithmetic is also needed as a value
(`x.view(2 * 3, -1)`). So a sum, product, quotient or power of two numbers is a number that
remembers how it was made (IntExpr, FloatExpr): used as a value it is the number, used as an
operand the parser builds its nodes from `parts` in the order a node-by-node parse would have.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

# A parsed piece of a program: (node, literal, start, end); node is -1 for a value with no node.
Term = tuple[int, Any, int, int]

# Past this many bits an integer result is a float: shapes never need more, and `10 ** 10 ** 10`
# must not take Python minutes to compute.
MAX_INT_BITS = 256


class IntExpr(int):
    """An int made by arithmetic on numbers of the program; `parts` = (op, left term, right term)."""

    parts: tuple[Any, ...] | None


class FloatExpr(float):
    """A float made by arithmetic on numbers of the program; `parts` as IntExpr's."""

    parts: tuple[Any, ...] | None


class Namespace(str):
    """A namespace or a path on the way to one (`torch`, `torch.nn`, `F`), as a value."""


class Dtype(str):
    """A dtype (`torch.long`): every tensor is float64, so it only ever changes nothing."""


class Word(str):
    """A string literal of the program: a plain quoted word (`reduction="sum"`, `float('inf')`)."""


class Terms(tuple[Term, ...]):
    """A tuple or list that holds terms (tensors among them): `[a, b]`, `x.split(C, dim=2)`."""

    brackets = "()"


class TermList(Terms):
    brackets = "[]"


class Pair(Terms):
    """torch.max(x, dim)'s (values, indices): a tuple with `.values` and `.indices`."""


class NumberList(tuple[Any, ...]):
    """A list of numbers, `[0, 2]`: a tuple but for indexing, where a list is an advanced index."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _floordiv(a: Any, b: Any) -> Any:
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return a // b


def _mod(a: Any, b: Any) -> Any:
    if b == 0:
        raise ZeroDivisionError("integer division or modulo by zero")
    return a % b


def _truediv(a: Any, b: Any) -> float:
    if b == 0:  # as the node would compute it: IEEE, not an exception
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return float(a / b)


def _power(a: Any, b: Any) -> Any:
    if is_int(a) and is_int(b) and b >= 0:
        if abs(a) < 2 or int(a).bit_length() * b <= MAX_INT_BITS:
            return a**b
        return float("inf") if a > 0 or b % 2 == 0 else float("-inf")
    try:
        result = math.pow(a, b)
    except (OverflowError, ValueError):
        result = float("nan") if a < 0 else float("inf")
    return result


ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _truediv,
    "**": _power,
    "//": _floordiv,
    "%": _mod,
}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def arithmetic(text: str, a: Any, b: Any) -> Any:
    """`a text b` on two numbers, as Python computes it, with integers bounded (see MAX_INT_BITS)."""
    result = ARITHMETIC[text](a, b)
    if is_int(result) and result.bit_length() > MAX_INT_BITS:
        return float("inf") if result > 0 else float("-inf")
    return result


def remembered(value: Any, parts: tuple[Any, ...] | None) -> Any:
    """`value` as a number that remembers the parts it was made from (see the module docstring)."""
    if is_int(value):
        made: IntExpr | FloatExpr = IntExpr(value)
    else:
        made = FloatExpr(value)
    made.parts = parts
    return made


def plain(value: Any) -> Any:
    """The value without what it remembers: an int, a float, a tuple of them."""
    if type(value) is IntExpr:
        return int(value)
    if type(value) is FloatExpr:
        return float(value)
    if type(value) in (tuple, NumberList):
        return tuple(map(plain, value))
    return value


def describe(value: Any) -> str:
    """A static value in words, for error messages."""
    if isinstance(value, Namespace):
        return f"the namespace {value}"
    if isinstance(value, Pair):
        return "a (values, indices) pair"
    if isinstance(value, Terms):
        items = "1 item" if len(value) == 1 else f"{len(value)} items"
        return f"a {'list' if isinstance(value, TermList) else 'tuple'} of {items}"
    if isinstance(value, NumberList):
        return "a list of numbers"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, range):
        return "a range"
    if isinstance(value, Word):
        return "a string"
    if isinstance(value, Dtype):
        return f"the dtype {value}"
    if value is None or isinstance(value, bool) or value is Ellipsis:
        return repr(value)
    return repr(plain(value))

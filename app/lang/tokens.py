"""Splits a program into tokens with one regular expression.

Newlines inside brackets are dropped (implicit line joining, as in Python); a newline or `;`
elsewhere ends a statement. Strings and characters outside the language become tokens of their
own so that the parser can name them in a clear error.
"""
from __future__ import annotations

import re

from app.engine.errors import ProgramError

NUMBER, NAME, OP, NEWLINE, STRING, END = "number", "name", "op", "newline", "string", "end"

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\f\r]+|\\\r?\n|\#[^\n]*)
    |(?P<newline>\n|;)
    |(?P<number>(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)
    |(?P<string>[rRbBuUfF]{0,2}['"])
    |(?P<name>[^\W\d]\w*)
    |(?P<op>\*\*=|//=|\*\*|//|:=|==|!=|<=|>=|->|[-+*/@%&|^]=|[-+*/@%(),.=\[\]{}:<>~&|^!])
    |(?P<other>.)
    """,
    re.VERBOSE,
)
_OPEN, _CLOSE = "([{", ")]}"


def tokenize(source: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) tuples, ending with an END token."""
    tokens: list[tuple[str, str, int, int]] = []
    append = tokens.append
    depth = 0
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        if kind == "space":
            continue
        text = match.group()
        start, end = match.span()
        if kind == "op":
            if text in _OPEN:
                depth += 1
            elif text in _CLOSE:
                depth = max(depth - 1, 0)
        elif kind == "newline":
            if text == "\n" and (depth or not tokens or tokens[-1][0] == NEWLINE):
                continue  # a line joined inside brackets, or a blank line
        elif kind == "other":
            raise ProgramError(
                "syntax_error", f"unexpected character {text!r}", start=start, end=end
            )
        append((kind, text, start, end))
    append((END, "", len(source), len(source)))
    return tokens

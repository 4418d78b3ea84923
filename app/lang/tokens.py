"""Splits a program into tokens with one regular expression and one pass.

Each match is (spaces, token), so positions follow from the lengths alone and the kind from the
token's first character: this is about twice as fast as asking each match for its group and
span. Comments and line continuations are tokens that the loop skips.

Newlines inside brackets are dropped (implicit line joining, as in Python); a newline or `;`
elsewhere ends a statement. Strings and characters outside the language become tokens of their
own so that the parser can name them in a clear error.
"""
from __future__ import annotations

import re
import string

from app.engine.errors import ProgramError

NUMBER, NAME, OP, NEWLINE, STRING, END = "number", "name", "op", "newline", "string", "end"

_TOKEN = re.compile(
    r"""
    ([ \t\f\r]*)
    ( [rRbBuUfF]{1,2}['"]                                   # a string with a prefix: f"...
    | [^\W\d]\w*                                            # a name
    | [(),=+\-*/@\n;](?![*=/])                               # the common one-character tokens
    | (?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?   # a number
    | \*\*=|//=|\*\*|//|:=|==|!=|<=|>=|->|[-+*/@%&|^]=       # two- and three-character operators
    | \#[^\n]*                                              # a comment (skipped)
    | \\\r?\n                                              # a line continuation (skipped)
    | [\s\S]                                                # any other single character
    | \Z )
    """,
    re.VERBOSE,
)
_OPERATORS = set("-+*/@%(),.=[]{}:<>~&|^!")
_KIND = {c: NUMBER for c in string.digits}
_KIND.update({c: NAME for c in string.ascii_letters + "_"})
_KIND.update({c: OP for c in _OPERATORS})
_KIND.update({"'": STRING, '"': STRING, "\n": NEWLINE, ";": NEWLINE})
_OPEN, _CLOSE = "([{", ")]}"


def tokenize(source: str) -> list[tuple[str, str, int, int]]:
    """(kind, text, start, end) tuples, ending with an END token."""
    tokens: list[tuple[str, str, int, int]] = []
    append = tokens.append
    depth = 0
    last_kind = NEWLINE  # a leading blank line is skipped like any other
    end = 0
    for skipped, text in _TOKEN.findall(source):
        start = end + len(skipped)
        end = start + len(text)
        if not text:
            break
        first = text[0]
        kind = _KIND.get(first)
        if first == "#" or (first == "\\" and len(text) > 1):
            continue
        if kind is NAME:
            if text[-1] in "'\"":
                kind = STRING
        elif kind is OP:
            if first == "." and len(text) > 1:
                kind = NUMBER
            elif first in _OPEN:
                depth += 1
            elif first in _CLOSE and len(text) == 1:
                depth = max(depth - 1, 0)
        elif kind is NEWLINE:
            if first == "\n" and (depth or last_kind is NEWLINE):
                continue  # a line joined inside brackets, or a blank line
        elif kind is None:
            if not first.isidentifier():
                raise ProgramError("syntax_error", f"unexpected character {first!r}", start=start, end=end)
            kind = NAME
        last_kind = kind
        append((kind, text, start, end))
    append((END, "", len(source), len(source)))
    return tokens

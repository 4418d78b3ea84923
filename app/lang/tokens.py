"""Splits a program into tokens with one regular expression and one pass.

re.split with the token pattern gives the spaces before each token and the token, alternately,
so positions follow from the lengths alone and the kind from the token's first character: this
is about twice as fast as asking each match for its group and span. Comments and line
continuations are tokens that the loop skips.

Newlines inside brackets are dropped (implicit line joining, as in Python); a newline or `;`
elsewhere ends a statement. Strings and characters outside the language become tokens of their
own so that the parser can name them in a clear error.

The tokens come as parallel lists (kinds, texts, starts) rather than a tuple per token, and a
token's end is its start plus the length of its text, not stored: the tokenizer runs once per
token of programs of 10,000 nodes and more, and the tuples and the stored ends (an int object
each) cost about a fifth of its time.
"""
from __future__ import annotations

import re
import string
from typing import NamedTuple

from app.engine.errors import ProgramError

NUMBER, NAME, OP, NEWLINE, STRING, END = "number", "name", "op", "newline", "string", "end"

_TOKEN = re.compile(
    r"""
    ( [(),=+\-*/@\n;](?![*=/])                               # the common one-character tokens
    | [rRbBuUfF]{1,2}['"]                                   # a string with a prefix: f"...
    | [^\W\d]\w*                                            # a name
    | (?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?   # a number
    | \*\*=|//=|\*\*|//|:=|==|!=|<=|>=|->|[-+*/@%&|^]=       # two- and three-character operators
    | \#[^\n]*                                              # a comment (skipped)
    | \\\r?\n                                              # a line continuation (skipped)
    | [^ \t\f\r]                                            # any other single character
    )
    """,
    re.VERBOSE,
)
# The common one-character tokens come first: no other alternative can match where they do (a
# string prefix and a name start with a letter), and most tokens are one of them. Every
# alternative starts with a character other than a space, tab, form feed or carriage return, so
# what lies between two matches is spaces only.

# The class of a token by its first character. Names and plain operators need nothing more;
# the other classes are what the loop has to look at again. A name that starts with a string
# prefix letter may be a prefixed string, such as f".
_OPENING, _CLOSING, _DOT, _LINE_BREAK = "opening", "closing", "dot", "line break"
_SKIPPED, _PREFIX = "skipped", "prefix"
_CLASS = {c: NUMBER for c in string.digits}
_CLASS.update({c: NAME for c in string.ascii_letters + "_"})
_CLASS.update({c: _PREFIX for c in "rRbBuUfF"})
_CLASS.update({c: OP for c in "-+*/@%,=:<>~&|^!"})
_CLASS.update({c: _OPENING for c in "([{"})
_CLASS.update({c: _CLOSING for c in ")]}"})
_CLASS.update({"'": STRING, '"': STRING, "\n": _LINE_BREAK, ";": NEWLINE, ".": _DOT})
_CLASS.update({"#": _SKIPPED, "\\": _SKIPPED})


class Tokens(NamedTuple):
    """Parallel lists: token i is kinds[i], texts[i], starting at starts[i]; the last is END."""

    kinds: list[str]
    texts: list[str]
    starts: list[int]


def tokenize(source: str) -> Tokens:
    """The tokens of `source`, ending with an END token at its end."""
    kinds: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    classes = _CLASS
    depth = 0
    end = 0
    # kinds.append(...) rather than a saved bound method: the interpreter inlines list.append
    # called this way. zip(parts, parts) pairs each token with the spaces before it (and leaves
    # out the spaces at the end).
    parts = iter(_TOKEN.split(source))  # spaces, token, spaces, token, ..., spaces
    for skipped, text in zip(parts, parts):
        start = end + len(skipped)
        end = start + len(text)
        kind = classes.get(text[0])
        if kind is not NAME and kind is not OP:
            if kind is _OPENING:
                depth += 1
                kind = OP
            elif kind is _CLOSING:
                if depth and len(text) == 1:
                    depth -= 1
                kind = OP
            elif kind is _LINE_BREAK:
                if depth or not kinds or kinds[-1] is NEWLINE:
                    continue  # a line joined inside brackets, or a blank line (a leading one too)
                kind = NEWLINE
            elif kind is _PREFIX:
                kind = STRING if text[-1] in "'\"" else NAME
            elif kind is _DOT:
                kind = NUMBER if len(text) > 1 else OP  # .5, or the . of x.T
            elif kind is _SKIPPED:
                if text[0] == "#" or len(text) > 1:
                    continue  # a comment, or a line continuation
                raise ProgramError("syntax_error", f"unexpected character {text!r}", start=start, end=end)
            elif kind is None:
                first = text[0]
                if not first.isidentifier():
                    raise ProgramError("syntax_error", f"unexpected character {first!r}", start=start, end=end)
                kind = NAME  # a name that starts with a non-ASCII letter
        kinds.append(kind)
        texts.append(text)
        starts.append(start)
    kinds.append(END)
    texts.append("")
    starts.append(len(source))
    return Tokens(kinds, texts, starts)

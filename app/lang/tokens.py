"""Splits a program into tokens with one regular expression and a few passes over whole lists.

Each match of the token pattern is a token with the spaces after it, so re.findall gives the
program in pieces that add up to all of it (after any leading spaces): the starts are the running
sum of the pieces' lengths and the texts are the pieces without their spaces. A token's kind
follows from its first character. This is about twice as fast as asking each match for its
group and span.

Newlines inside brackets are dropped (implicit line joining, as in Python), and so are blank
lines; a newline or `;` elsewhere ends a statement. Comments and line continuations are dropped
too. Strings and characters outside the language become tokens of their own so that the parser
can name them in a clear error.

The tokens come as parallel lists (kinds, texts, starts) rather than a tuple per token, and a
token's end is its start plus the length of its text, not stored: the tokenizer runs once per
token of programs of 10,000 nodes and more, and the tuples and the stored ends (an int object
each) cost about a fifth of its time. For the same reason a program of ASCII characters with no
comment, line continuation, quote or dropped newline (see _PLAIN) gets its kinds from a dictionary
lookup per token run by map in C, with no Python code per token: about 30% less time than the
loop that every other program goes through, token by token.
"""

from __future__ import annotations

import re
import string
from itertools import accumulate, repeat
from operator import itemgetter
from typing import NamedTuple, cast

import numpy as np

from app.engine.errors import ProgramError

NUMBER, NAME, OP, NEWLINE, STRING, END = "number", "name", "op", "newline", "string", "end"

_SPACES = " \t\f\r"
_TOKEN = re.compile(
    r"""
    (?: [(),=+\-*/@\n;](?![*=/])                            # the common one-character tokens
    | [rRbBuUfF]{1,2}['"]                                   # a string with a prefix: f"...
    | [^\W\d]\w*                                            # a name
    | (?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?   # a number
    | \*\*=|//=|\*\*|//|:=|==|!=|<=|>=|->|[-+*/@%&|^]=       # two- and three-character operators
    | \#[^\n]*                                              # a comment (skipped)
    | \\\r?\n                                              # a line continuation (skipped)
    | [^ \t\f\r]                                            # any other single character
    )
    [ \t\f\r]*                                              # the spaces after the token
    """,
    re.VERBOSE,
)
# The common one-character tokens come first: no other alternative can match where they do (a
# string prefix and a name start with a letter), and most tokens are one of them. Every
# alternative starts with a character other than a space, tab, form feed or carriage return, and
# only a comment can end with one (a comment's text is never kept), so the matches cover the
# program after its leading spaces and stripping the spaces leaves the token.

# The class of a token by its first character. Names and plain operators need nothing more;
# the other classes are what the loop has to look at again. A name that starts with a string
# prefix letter may be a prefixed string, such as f".
_OPENING, _CLOSING, _DOT, _LINE_BREAK = "opening", "closing", "dot", "line break"
_SKIPPED, _PREFIX = "skipped", "prefix"
_CLASS = dict.fromkeys(string.digits, NUMBER)
_CLASS.update(dict.fromkeys(string.ascii_letters + "_", NAME))
_CLASS.update(dict.fromkeys("rRbBuUfF", _PREFIX))
_CLASS.update(dict.fromkeys("-+*/@%,=:<>~&|^!", OP))
_CLASS.update(dict.fromkeys("([{", _OPENING))
_CLASS.update(dict.fromkeys(")]}", _CLOSING))
_CLASS.update({"'": STRING, '"': STRING, "\n": _LINE_BREAK, ";": NEWLINE, ".": _DOT})
_CLASS.update({"#": _SKIPPED, "\\": _SKIPPED})

# The kind of a token by its first character, for a program of ASCII characters with no comment,
# line continuation or quote: a string prefix letter can then only start a name. A dot starts a
# number (.5) or is an operator (x.T), which the token's length tells. A bracket or a line break
# settles the kind but not whether the token is kept, which _drops_newlines answers for the whole
# program. Any other character is missing: the token is not part of the language.
_PLAIN = {c: kind for c, kind in _CLASS.items() if kind in (NAME, NUMBER, OP, NEWLINE)}
_PLAIN.update(dict.fromkeys("rRbBuUfF", NAME))
_PLAIN.update(dict.fromkeys("()[]{}", OP))
_PLAIN.update({"\n": NEWLINE, ".": _DOT})

_WITHOUT_SPACES = str.maketrans("", "", _SPACES)
_BRACKETS_AND_LINE_BREAKS: dict[int, int | None] = {ord(c): None for c in map(chr, range(128)) if c not in "()[]{}\n"}
_BRACKETS_AND_LINE_BREAKS.update(str.maketrans("[{]}", "(())"))


# A line's shape: each letter and digit replaced by its class as the token pattern sees it in a
# plain program (see is_plain: no quotes, so a string prefix letter is just a letter): e and E
# (a number's exponent), j and J (a complex number's), any other letter, any digit; _ and every
# other character stand for themselves. Every part of _TOKEN matches a character by one of these
# classes, so two plain lines of the same shape have tokens at the same places, of the same kinds,
# with the same texts but for their names and numbers: the tokens of one are the tokens of the
# other with those texts taken from its own line (app/lang/shapes.py builds such lines that way).
# tests/test_line_shapes.py checks it against the tokenizer.
_SHAPE = str.maketrans(
    {
        **dict.fromkeys(string.ascii_letters.translate(str.maketrans("", "", "eEjJ")), "a"),
        **dict.fromkeys(string.digits, "0"),
        "E": "e",
        "J": "j",
    }
)


def line_shapes(source: str) -> list[str]:
    """The shape of each line of `source` (see _SHAPE), for a plain program."""
    return shape_text(source).split("\n")


def shape_text(source: str) -> str:
    """`source` with each character replaced by its class (see _SHAPE): its lines' shapes."""
    return source.translate(_SHAPE)


# A run of digits is never split between tokens (every part of _TOKEN that takes a digit takes
# the digits after it too), so the tokens of a line keep their kinds and order whatever the
# number of digits in each run: lines whose shapes differ only there (`0.1` and `0.10001`, `x9`
# and `x10`) have tokens of the same kinds at places that differ by the runs' lengths.
_ZERO = ord("0")


def loose_shapes(shapes: list[str]) -> list[str]:
    """The shapes (line_shapes) of a plain program (ASCII) with each run of digits as one: a
    line's loose shape."""
    return loose_text("\n".join(shapes)).split("\n")


def loose_text(shaped: str) -> str:
    """An ASCII text of shapes (shape_text) with each run of digits as one, all at once in numpy:
    every 0 that follows a 0 is dropped (a regular expression's substitution took 14 times as long
    over the whole text, and line by line its time grows with the number of different lines)."""
    codes = np.frombuffer(shaped.encode("ascii"), np.uint8)
    zeros = codes == _ZERO
    kept = zeros[1:] & zeros[:-1]  # (a 0 after a 0, then flipped in place: fewer arrays made, each cold)
    np.logical_not(kept, out=kept)
    rest: str = codes[1:][kept].tobytes().decode("ascii")
    return shaped[:1] + rest


class Tokens(NamedTuple):
    """Parallel lists: token i is kinds[i], texts[i], starting at starts[i]; the last is END."""

    kinds: list[str]
    texts: list[str]
    starts: list[int]


def tokenize(source: str, plain: bool | None = None) -> Tokens:
    """The tokens of `source`, ending with an END token at its end; `plain`: is_plain(source),
    if the caller knows it."""
    pieces = _TOKEN.findall(source)  # each token with the spaces after it
    texts = list(map(str.rstrip, pieces, repeat(_SPACES)))
    # One start more than there are tokens: the last, len(source), is the END token's.
    starts = list(accumulate(map(len, pieces), initial=len(source) - len(source.lstrip(_SPACES))))
    del pieces  # freed before the lists below are built: measured 0.3 ms faster of 9 on 37,000 tokens
    kinds: list[str] | None = None
    if is_plain(source) if plain is None else plain:
        plain_kinds = list(map(_PLAIN.get, map(itemgetter(0), texts)))
        found = set(plain_kinds)
        if None not in found:  # else a character outside the language: the loop raises the error
            kinds = cast("list[str]", plain_kinds)
        if kinds is not None and _DOT in found:  # found by list.index, in C, rather than by a loop over every token
            i = -1
            for _ in range(kinds.count(_DOT)):
                i = kinds.index(_DOT, i + 1)
                kinds[i] = NUMBER if len(texts[i]) > 1 else OP  # .5, or the . of x.T
    if kinds is None:
        kinds, texts, starts = _one_by_one(texts, starts)
    kinds.append(END)
    texts.append("")
    return Tokens(kinds, texts, starts)


def is_plain(source: str, followed: list[str] | None = None) -> bool:
    """Whether `source` is ASCII with no comment, line continuation or quote, and drops no newline
    (see _drops_newlines): then its tokens are each line's, and each line's tokens depend on that
    line alone. `followed`: the shapes (line_shapes) of the lines that a line break follows, each
    different one at least once, if the caller has them: whether a line break is dropped depends
    on the line's spaces, brackets and `;`, which its shape keeps, so only those are looked at."""
    if not source.isascii() or any(c in source for c in "#\\'\""):
        return False
    if followed is not None:
        return not _drops_newlines("".join(line + "\n" for line in followed))
    return not _drops_newlines(source)


def _drops_newlines(source: str) -> bool:
    """Whether an ASCII program without comments or line continuations drops a newline:
    a leading one, one after a newline or `;` (a blank line), or one inside brackets."""
    lines = source.translate(_WITHOUT_SPACES)
    if lines.startswith("\n") or "\n\n" in lines or ";\n" in lines:
        return True
    # Each line starts outside brackets until one ends inside them, and a line's brackets decide
    # where it ends: walk each different line's brackets once.
    for brackets in set(source.translate(_BRACKETS_AND_LINE_BREAKS).split("\n")[:-1]):
        depth = 0
        for bracket in brackets:
            if bracket == "(":
                depth += 1
            elif depth:
                depth -= 1
        if depth:
            return True
    return False


def _one_by_one(all_texts: list[str], all_starts: list[int]) -> tuple[list[str], list[str], list[int]]:
    """The kinds, texts and starts of the tokens that are kept, with the END token's start."""
    kinds: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    classes = _CLASS
    depth = 0
    # kinds.append(...) rather than a saved bound method: the interpreter inlines list.append
    # called this way.
    for text, start in zip(all_texts, all_starts):
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
                raise ProgramError("syntax_error", f"unexpected character {text!r}", start=start, end=start + len(text))
            elif kind is None:
                first = text[0]
                if not first.isidentifier():
                    raise ProgramError(
                        "syntax_error", f"unexpected character {first!r}", start=start, end=start + len(text)
                    )
                kind = NAME  # a name that starts with a non-ASCII letter
        kinds.append(kind)
        texts.append(text)
        starts.append(start)
    starts.append(all_starts[-1])
    return kinds, texts, starts

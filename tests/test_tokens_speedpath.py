"""The tokenizer's path without a loop per token gives what the loop gives, token for token."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.errors import ProgramError
from app.lang import tokens
from app.lang.tokens import END, NAME, NEWLINE, NUMBER, OP, tokenize

PIECES = [
    "x",
    "h",
    "b",
    "rb",
    "tanh",
    "w0",
    "1",
    "2.5",
    ".5",
    "1e-3",
    "1_000",
    "2.",
    "3j",
    ".T",
    ".",
    "=",
    "+",
    "-",
    "*",
    "**",
    "//=",
    "==",
    "->",
    ",",
    ";",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "# c",
    "\\\n",
    "\\",
    "'",
    "f'",
    "é",
    "∂x",
    "²",
    "$",
    "?",
]


def by_the_loop(source: str):
    """tokenize with every program sent through the loop."""
    with mock.patch.object(tokens, "_drops_newlines", return_value=True):
        return outcome(source)


def outcome(source: str):
    try:
        return tokenize(source)
    except ProgramError as error:
        return error.kind, error.message, error.start, error.end


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_any_program_tokenizes_as_the_loop_does(source):
    assert outcome(source) == by_the_loop(source)


@pytest.mark.parametrize(
    "source",
    [
        "h = tanh(h * w + b)\nh = tanh(h * w + b)",
        "\nx",
        "  \n x",
        "x\n\ny",
        "x\n \t\ny\n",
        "x;\ny",
        "x ; \r\ny",
        "x;;y\n",
        "f(x,\n  y)",
        "(\n)",
        ")(\nx",
        "x)\ny",
        "[[x]\n]",
        "{x}\n(y)\n",
        "(x\n",
        "y = x @ W.T + .5",
        "x .T\n.5",
        "x\r\ny\r\n",
    ],
)
def test_newlines_dots_and_spaces_as_the_loop(source):
    assert outcome(source) == by_the_loop(source)


def test_a_plain_program_keeps_every_newline_outside_brackets():
    kinds, texts, starts = tokenize("y = f(x).T\nz = .5 * y\n")
    assert texts == ["y", "=", "f", "(", "x", ")", ".", "T", "\n", "z", "=", ".5", "*", "y", "\n", ""]
    assert kinds == [NAME, OP, NAME, OP, NAME, OP, OP, NAME, NEWLINE, NAME, OP, NUMBER, OP, NAME, NEWLINE, END]
    assert starts == [0, 2, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 18, 20, 21, 22]

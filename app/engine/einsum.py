"""einsum: every sum of products written as an equation, as torch.einsum and np.einsum read it.

`einsum("bid,bjd->bij", q, k)` names each axis of each operand by a letter; letters in the output
(after `->`) are kept, every other letter is summed over. Without `->` the output is the letters
that appear exactly once, in alphabetical order (uppercase first). `...` stands for the axes a
term does not name, broadcast as numpy broadcasts (aligned on the right); without `...` in an
explicit output they are summed over, as PyTorch does (numpy refuses that equation). A letter
repeated in one term reads a diagonal (`ii->i`, `ii->` the trace). Sizes of one letter must agree
across operands, or be 1 (broadcast), as in both libraries.

An equation is first *spelled out* (`spelled`): each `...` replaced by letters the equation does
not use, the output written explicitly. The forward pass is the einsum of that equation
(`_contract`: one matmul for two operands, numpy's einsum otherwise); the gradient of each operand
is an einsum too (`_vjp`), of the upstream gradient and the other operands, whose output is that
operand's letters. Three things an einsum output cannot say are done around it: a letter only that
operand has (summed in the forward) gets the gradient copied along it, an axis of size 1 that the
others broadcast gets it summed back, and a repeated letter gets it written onto the diagonal it
was read from, zeros elsewhere.

The cost is the product of the sizes of all letters (every combination is visited once per einsum)
times the number of operands (each einsum reads them all, and there is one per operand's gradient
besides the forward one); the largest intermediate, the gradient of an operand at the broadcast
sizes before axes of size 1 are summed back. Both are declared (`budget`) and checked before
anything is allocated.
"""

from __future__ import annotations

import string
from functools import lru_cache
from math import prod
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from app.engine.ops import PARAM_KINDS, Op, Param
from app.engine.shapes import ArgumentError, ShapeError

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # the order of an implicit output
_ELLIPSIS = "..."


def _equation(value: Any) -> str:
    """The equation parameter: a string (the parser passes the quoted word it read), spaces dropped."""
    if type(value) is not str:
        raise ValueError("not a string")
    return "".join(value.split())


PARAM_KINDS["equation"] = (_equation, "a quoted equation such as 'ij,jk->ik'")


class Spelled(NamedTuple):
    """An equation with every axis named by a letter: one term per operand, and the output."""

    terms: tuple[str, ...]
    output: str

    def text(self) -> str:
        return f"{','.join(self.terms)}->{self.output}"


def _split(term: str, where: str) -> tuple[str, str | None]:
    """A term's letters before and after its `...` (None after: it has none); ArgumentError for a
    character that is not a letter or a `.` outside one `...`."""
    head, dots, tail = term.partition(_ELLIPSIS)
    for part in (head, tail):
        for char in part:
            if char == ".":
                raise ArgumentError(f"{where} has a '.' that is not part of one '...'")
            if char not in _LETTERS:
                raise ArgumentError(f"{where} has {char!r}: subscripts are letters a-z and A-Z, and '...'")
    return (head, tail) if dots else (head, None)


@lru_cache(maxsize=512)
def spelled(equation: str, ranks: tuple[int, ...]) -> Spelled:
    """The equation for operands of `ranks` axes, spelled out (see the module's note); ArgumentError
    where it is malformed or names another number of operands, ShapeError where a term names more
    or fewer axes than its operand has."""
    shown = f"the equation {equation!r}"
    inputs, arrow, output = equation.partition("->")
    if "->" in output:
        raise ArgumentError(f"{shown} has more than one '->'")
    terms = inputs.split(",")
    if len(terms) != len(ranks):
        raise ArgumentError(
            f"{shown} names {len(terms)} operand{'s' if len(terms) != 1 else ''}, "
            f"and {len(ranks)} {'were' if len(ranks) != 1 else 'was'} given"
        )
    parts = [_split(term, f"{shown}, operand {k}") for k, term in enumerate(terms)]
    used = set(equation)
    spare = [c for c in _LETTERS if c not in used]
    broadcast_rank = 0
    for k, ((head, tail), rank) in enumerate(zip(parts, ranks)):
        named = len(head) + len(tail or "")
        if named > rank or (tail is None and named != rank):
            raise ShapeError(
                f"operand {k} of {shown} names {named} ax{'is' if named == 1 else 'es'} "
                f"({terms[k] or 'none'}) but has {rank}"
            )
        if tail is not None:
            broadcast_rank = max(broadcast_rank, rank - named)
    if broadcast_rank > len(spare):
        raise ArgumentError(
            f"{shown} needs {broadcast_rank} axes under '...' and has {len(spare)} "
            f"letter{'s' if len(spare) != 1 else ''} to spare"
        )
    dots = "".join(spare[:broadcast_rank])  # aligned on the right, as numpy broadcasts
    spelled_terms = tuple(
        head if tail is None else head + dots[broadcast_rank - (rank - len(head) - len(tail)) :] + tail
        for (head, tail), rank in zip(parts, ranks)
    )
    if arrow:
        head, tail = _split(output, f"{shown}, its output")
        out = head if tail is None else head + dots + tail
        for char in dict.fromkeys(head + (tail or "")):
            if out.count(char) > 1:
                raise ArgumentError(f"{shown} has {char!r} more than once in its output")
            if not any(char in term for term in terms):
                raise ArgumentError(f"{shown} has {char!r} in its output and in no operand")
    else:  # implicit: the broadcast axes, then the letters written once, alphabetically (A-Z before a-z)
        once = [c for c in _LETTERS if c not in spare and inputs.count(c) == 1]
        out = dots + "".join(once)
    return Spelled(spelled_terms, out)


def _sizes(spelling: Spelled, shapes: tuple[tuple[int, ...], ...], equation: str) -> dict[str, int]:
    """Each letter's size, broadcast over the operands (sizes agree or are 1); ShapeError otherwise."""
    sizes: dict[str, int] = {}
    for k, (term, shape) in enumerate(zip(spelling.terms, shapes)):
        own: dict[str, int] = {}
        for char, length in zip(term, shape):
            if own.setdefault(char, length) != length:
                raise ShapeError(
                    f"{equation!r} repeats {_shown(char, equation)} in operand {k}, whose sizes there differ "
                    f"({own[char]} and {length}): a diagonal needs equal sizes"
                )
        for char, length in own.items():
            known = sizes.setdefault(char, length)
            if known == 1:
                sizes[char] = length
            elif length not in (1, known):
                raise ShapeError(
                    f"{equation!r}: {_shown(char, equation)} has size {length} in operand {k} and {known} "
                    "before it (sizes must agree or be 1)"
                )
    return sizes


def _shown(char: str, equation: str) -> str:
    """A letter as an error names it: the letter, or an axis under '...' (a letter the program never wrote)."""
    return repr(char) if char in equation else "an axis under '...'"


def _parts(equation: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[Spelled, dict[str, int]]:
    spelling = spelled(equation, tuple(map(len, shapes)))
    return spelling, _sizes(spelling, shapes, equation)


def _shape(*shapes: tuple[int, ...], equation: str) -> tuple[int, ...]:
    spelling, sizes = _parts(equation, shapes)
    return tuple(sizes[char] for char in spelling.output)


def _budget(out: tuple[int, ...], *shapes: tuple[int, ...], equation: str) -> tuple[int, int]:
    """(work, largest intermediate): every combination of the letters' sizes once per operand, and
    the largest operand gradient at the broadcast sizes (before axes of size 1 are summed back)."""
    spelling, sizes = _parts(equation, shapes)
    scratch = max((prod(sizes[c] for c in dict.fromkeys(term)) for term in spelling.terms), default=0)
    return prod(sizes.values()) * len(shapes), scratch


def _summed_alone(x: Any, term: str, others: str) -> tuple[Any, str]:
    """x summed over the letters of its term that `others` lacks, and the term left."""
    alone = tuple(axis for axis, c in enumerate(term) if c not in others)
    if not alone:
        return x, term
    return np.sum(x, axis=alone), "".join(c for c in term if c in others)


def _contract(terms: tuple[str, ...], output: str, operands: tuple[Any, ...]) -> Any:
    """The einsum of spelled-out terms. Two operands without a repeated letter (the forward pass of
    nearly every einsum written, and every gradient of one) are one matmul, batch letters kept as
    matmul's broadcast axes: numpy's einsum would loop in C where BLAS multiplies (3-5 times
    slower for attention's scores). Any other einsum is numpy's."""
    if len(operands) != 2 or any(len(set(term)) != len(term) for term in terms):
        return np.einsum(f"{','.join(terms)}->{output}", *operands)
    a, ta = _summed_alone(np.asarray(operands[0]), terms[0], terms[1] + output)
    b, tb = _summed_alone(np.asarray(operands[1]), terms[1], ta + output)
    inner = [c for c in ta if c in tb and c not in output]
    for c in inner:  # a contracted letter of size 1 on one side is summed on the other first (broadcast)
        i, j = ta.index(c), tb.index(c)
        if a.shape[i] == 1 and b.shape[j] != 1:
            b = np.sum(b, axis=j, keepdims=True)
        elif b.shape[j] == 1 and a.shape[i] != 1:
            a = np.sum(a, axis=i, keepdims=True)
    batch = [c for c in output if c in ta and c in tb]
    left = [c for c in output if c in ta and c not in tb]
    right = [c for c in output if c in tb and c not in ta]
    own_a, own_b = dict(zip(ta, a.shape)), dict(zip(tb, b.shape))
    a = np.transpose(a, [ta.index(c) for c in batch + left + inner]).reshape(
        [own_a[c] for c in batch] + [prod(own_a[c] for c in left), prod(own_a[c] for c in inner)]
    )
    b = np.transpose(b, [tb.index(c) for c in batch + inner + right]).reshape(
        [own_b[c] for c in batch] + [prod(own_b[c] for c in inner), prod(own_b[c] for c in right)]
    )
    product = np.matmul(a, b)
    kept = tuple(own_a[c] for c in left) + tuple(own_b[c] for c in right)
    result = product.reshape(product.shape[: len(batch)] + kept)
    order = batch + left + right
    return np.transpose(result, [order.index(c) for c in output])


def _forward(m: type, *operands: Any, equation: str) -> Any:
    spelling = spelled(equation, tuple(np.ndim(x) for x in operands))
    return _contract(spelling.terms, spelling.output, operands)


def _vjp(grad: Any, out: Any, *operands: Any, equation: str, part: int) -> Any:
    """∂L/∂operands[part]: the einsum of the upstream gradient and the other operands whose output
    is this operand's letters, then copied along the letters only it has, summed back where it was
    broadcast and written onto the diagonal where it repeats a letter (see the module's note)."""
    shapes = tuple(np.shape(x) for x in operands)
    spelling = spelled(equation, tuple(map(len, shapes)))
    term, shape = spelling.terms[part], shapes[part]
    others = [k for k in range(len(operands)) if k != part]
    letters = "".join(dict.fromkeys(term))
    elsewhere = set(spelling.output).union(*(spelling.terms[k] for k in others))
    kept = "".join(c for c in letters if c in elsewhere)
    terms = (spelling.output, *(spelling.terms[k] for k in others))
    grad = _contract(terms, kept, (grad, *(operands[k] for k in others)))
    own = dict(zip(term, shape))
    # (a kept letter may have size 1 here where every other operand broadcast it: copied below)
    found = iter(np.shape(grad))
    grad = np.reshape(grad, [next(found) if c in elsewhere else 1 for c in letters])
    summed = tuple(axis for axis, c in enumerate(letters) if own[c] == 1 and grad.shape[axis] != 1)
    if summed:
        grad = np.sum(grad, axis=summed, keepdims=True)
    grad = np.broadcast_to(grad, [own[c] for c in letters])
    if len(letters) == len(term):
        return grad
    # A repeated letter read a diagonal: the gradient goes back onto it, through a view of zeros
    # whose axis per letter steps along every axis that letter names.
    full = np.zeros(shape)
    steps = [sum(stride for c, stride in zip(term, full.strides) if c == letter) for letter in letters]
    as_strided(full, grad.shape, steps, writeable=True)[...] = grad
    return full


EINSUM: Op = Op(
    "einsum",
    ("operands",),
    "The sum of products an equation names, as torch.einsum and np.einsum: einsum('bid,bjd->bij', q, k) is "
    "q @ k.transpose(-2, -1). Letters after -> are kept, the others summed; without -> the letters written "
    "once, alphabetically; '...' the axes a term leaves unnamed (broadcast); a repeated letter a diagonal.",
    _shape,
    _forward,
    ("∂L/∂{operands} = einsum of ∂L/∂{out} and the other operands, with {operands}'s letters as the output",),
    vjp=(_vjp,),
    params=(Param("equation", "equation", required=True),),
    budget=_budget,
    syntax="einsum({operands})",
    variadic=True,
)

"""Scalar kernels: an elementwise op on Python floats in one call, (operands...) -> (out, ∂out/∂operand, ...).

The forward pass of a scalar node computes its local derivatives along with its value (they cost a
few float operations), so the backward pass over scalar nodes is multiplications only. A kernel is
built from the op table's own functions (forward and local, written once against the backend `m`);
nothing here restates a forward or a derivative.

A scalar node's time is Python calls, not arithmetic: a kernel that calls the op's forward and
each local derivative makes four calls per binary node (about 125 ns on the machine that measured
it, where a whole node of a hand-written tape of Python floats takes 200 ns). Most of those calls
do nothing a call is needed for: add's forward is `a + b`, tanh's `m.tanh(x)`; add's local
derivatives are the constants 1 and 1, mul's are its operands b and a, exp's is its own result.
So each function is read once per op, by calling it on stand-ins for out and the operands
(`_Probe`) and for the backend (`_Recorder`):

- a function that answers a constant, or one of its arguments, without touching the stand-ins
  answers the same for every float: the kernel puts that constant or value in place, no call;
- a forward that is one operator or one backend function of its operands, in order (`a + b`,
  `m.tanh(x)`), is that operator or function: the kernel calls it directly (operator.add and
  math.tanh are C functions), one Python frame fewer;
- anything else (a function that computes more, compares or branches on its arguments) raises on
  the stand-ins, and is called as the table wrote it.

That takes a binary node's kernel from about 125 ns to 60 and tanh's from 147 ns to 103.
app.engine.run's walker takes the same pieces apart (scalar_parts): the value forward, the local
derivatives backward, only on the edges a gradient flows through.

tests/test_kernels.py checks every op's kernel against the table's functions called one by one,
on ordinary and special floats (0, ±inf, nan), bit for bit.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import partial
from typing import Any


class _Refused(Exception):
    """A function did something with a stand-in other than what a shortcut can take its place."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise _Refused


class _Traced:
    """What one operator or backend function of stand-ins answered: fn(*args)."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args


def _operator(fn: Callable[..., Any], reflected: bool = False) -> Callable[..., _Traced]:
    if reflected:
        return lambda self, other: _Traced(fn, (other, self))
    return lambda self, *other: _Traced(fn, (self, *other))


class _Probe:
    """A stand-in for out or an operand. Arithmetic on it is recorded (one level: a _Traced takes
    no further operator); every comparison, conversion, truth test and attribute refuses."""

    __slots__ = ()
    __add__, __radd__ = _operator(operator.add), _operator(operator.add, True)
    __sub__, __rsub__ = _operator(operator.sub), _operator(operator.sub, True)
    __mul__, __rmul__ = _operator(operator.mul), _operator(operator.mul, True)
    __truediv__, __rtruediv__ = _operator(operator.truediv), _operator(operator.truediv, True)
    __pow__, __rpow__ = _operator(operator.pow), _operator(operator.pow, True)
    __neg__, __pos__, __abs__ = _operator(operator.neg), _operator(operator.pos), _operator(operator.abs)
    __bool__ = __float__ = __int__ = __index__ = __complex__ = __round__ = __trunc__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _refuse
    __getattr__ = __getitem__ = __iter__ = __len__ = __contains__ = __call__ = _refuse


class _Recorder:
    """A stand-in for the backend `m`: m.NAME(args) is recorded as the backend's own NAME(args)."""

    __slots__ = ("backend",)

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def __getattr__(self, name: str) -> Callable[..., _Traced]:
        fn = getattr(self.backend, name)
        return lambda *args: _Traced(fn, args)


_CALLED = object()  # the function computes: call it


def _read(fn: Callable[..., Any], m: Any, probes: list[_Probe]) -> Any:
    """What fn(m, *probes) answers without computing: a float, a probe, a _Traced; else _CALLED."""
    try:
        answer = fn(_Recorder(m), *probes)
    except Exception:  # noqa: BLE001 (any failure on a stand-in means: it computes)
        return _CALLED
    return answer if type(answer) in (float, _Probe, _Traced) else _CALLED


def _direct(forward: Callable[..., Any], m: Any, arity: int) -> Callable[..., Any] | None:
    """The function that forward(m, *operands) is, called on the operands in order; else None."""
    operands = [_Probe() for _ in range(arity)]
    answer = _read(forward, m, operands)
    if type(answer) is _Traced and len(answer.args) == arity and all(a is b for a, b in zip(answer.args, operands)):
        return answer.fn
    return None


def _shortcut(local: Callable[..., Any], m: Any, arity: int) -> Any:
    """What the local derivative `local` answers without a call: a float constant, or the position
    of the argument it answers among (out, operands...); else _CALLED."""
    probes = [_Probe() for _ in range(arity + 1)]
    answer = _read(local, m, probes)
    if type(answer) is float:
        return answer
    for position, probe in enumerate(probes):
        if answer is probe:
            return position
    return _CALLED


def _bound(forward: Callable[..., Any], m: Any, arity: int) -> Callable[..., Any]:
    """forward as a call on the operands alone: the operator or function it is, else the table's
    forward with m bound (as a two- or one-operand call: *args cost more)."""
    direct = _direct(forward, m, arity)
    if direct is not None:
        return direct
    if arity == 2:
        return lambda a, b: forward(m, a, b)
    if arity == 1:
        return lambda x: forward(m, x)
    return lambda *operands: forward(m, *operands)


def scalar_kernel(forward: Callable[..., Any], local: tuple[Callable[..., Any], ...], m: Any) -> Callable[..., Any]:
    """The op's kernel on Python floats (`m` is the SCALAR backend): (operands...) -> (out, locals...).

    Written out per kind of shortcut: a call with *args, or a test per call, costs more than the
    float arithmetic inside it."""
    arity = len(local)
    f = _bound(forward, m, arity)
    shortcuts = [_shortcut(d, m, arity) for d in local]
    if arity not in (1, 2):  # (no op of the table has more operands elementwise)

        def any_arity(*operands: Any) -> Any:
            out = f(*operands)
            return (out, *(d(m, out, *operands) for d in local))

        return any_arity
    if arity == 1:
        (d_x,), (s_x,) = local, shortcuts
        if type(s_x) is float:
            constant = s_x

            def unary_constant(x: Any) -> Any:
                return f(x), constant

            return unary_constant
        if s_x == 0 and type(s_x) is int:  # ∂out/∂x = out (exp)

            def unary_out(x: Any) -> Any:
                out = f(x)
                return out, out

            return unary_out

        def unary(x: Any) -> Any:
            out = f(x)
            return out, d_x(m, out, x)

        return unary
    (d_a, d_b), (s_a, s_b) = local, shortcuts
    if type(s_a) is float and type(s_b) is float:
        c_a, c_b = s_a, s_b

        def binary_constant(a: Any, b: Any) -> Any:
            return f(a, b), c_a, c_b

        return binary_constant
    if (s_a, s_b) == (2, 1) and type(s_a) is int and type(s_b) is int:  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a

        def binary_swapped(a: Any, b: Any) -> Any:
            return f(a, b), b, a

        return binary_swapped

    def binary(a: Any, b: Any) -> Any:
        out = f(a, b)
        return out, d_a(m, out, a, b), d_b(m, out, a, b)

    return binary


# Two patterns of local derivatives that most scalar programs are made of, answered by scalar_parts
# as these very tuples, which the walker recognizes by identity (one test for a node's two edges,
# in place of a test of each derivative's kind): a sum's (∂/∂a = ∂/∂b = 1: each contribution is the
# upstream gradient itself) and a product's (∂/∂a = b, ∂/∂b = a: positions among (out, a, b)).
SUM_PARTS: tuple[Any, ...] = (None, None)
PRODUCT_PARTS: tuple[Any, ...] = (2, 1)


def scalar_parts(
    forward: Callable[..., Any], local: tuple[Callable[..., Any], ...], m: Any
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The op on Python floats as app.engine.run's walker takes it apart: the forward as one call on
    the operands, and per operand its local derivative as None (the constant 1: upstream · 1 is the
    upstream gradient, bit for bit), a float (another constant), an int (the position
    of the argument it is among (out, operands...)), or the table's function, called on
    (m, out, operands...) (a call through a partial binding m is not inlined by CPython 3.11: it
    cost tanh's backward edge a third more).

    The walker computes a node's value in the forward pass and its local derivatives in the
    backward pass, only for the operands a gradient flows to: a kernel that answers them together
    (scalar_kernel) costs a Python frame and a tuple per node, which took more time than the
    whole forward pass of a tape of Python floats. The same shortcuts as scalar_kernel's, read the
    same way."""
    arity = len(local)
    direct = _direct(forward, m, arity)
    shortcuts = [_shortcut(d, m, arity) for d in local]
    derivatives = tuple(
        d if shortcut is _CALLED else None if type(shortcut) is float and shortcut == 1.0 else shortcut
        for d, shortcut in zip(local, shortcuts)
    )
    # (compared as the walker reads them: None, and the positions as ints, not an equal float)
    for pattern in (SUM_PARTS, PRODUCT_PARTS):
        if len(local) == 2 and all(d is p or (type(d) is int and d == p) for d, p in zip(derivatives, pattern)):
            derivatives = pattern
    return (direct if direct is not None else partial(forward, m)), derivatives

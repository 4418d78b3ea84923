"""Input values from JSON-like Python objects to float64 values, checked before allocation.

An input is a number, a nested list of numbers, `{"value": ..., "requires_grad": bool}`, or an
initializer `{"init": "randn" | "uniform" | "zeros" | "ones", "shape": [...], "seed": 0}`.
Scalars become Python floats (cheaper than 0-d arrays); tensors become float64 arrays.

Declaring and building are two steps: `declare` checks an input and finds its shape without
allocating anything (a nested list's shape is claimed along its first elements, an initializer's
is given); `Input.built()` makes the array, and is called only for the inputs the program uses,
after the request's memory has been estimated. `decode` does both at once.

Numbers: JSON ints of any size, floats, and the strings "NaN", "Infinity" and "-Infinity" that
responses use, alone or inside lists alike. An int past the float range becomes ±inf, as 1e400
does when JSON is parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import isfinite, prod
from typing import Any

import numpy as np

from app.engine.errors import LimitExceeded, ProgramError
from app.engine.shapes import MAX_AXES

INITS = ("randn", "uniform", "zeros", "ones")
_INPUT_KEYS = {"value", "requires_grad"}
_INIT_KEYS = {"init", "shape", "seed", "scale", "low", "high", "requires_grad"}
NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_INFINITE_TEXT = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def number(x: float) -> float | str:
    """A float as the API writes it: NaN and the infinities as the strings that NON_FINITE reads."""
    if x != x:
        return "NaN"
    return _INFINITE_TEXT.get(x, x)


# A nested list is converted this many elements at a time: one numpy call on millions of
# Python objects would hold the GIL (and stall the event loop) for a tenth of a second.
_CHUNK = 1 << 16
# Declarers of input objects marked by a key ("dataset": app.datasets.declare), registered by the
# layers above the engine, which the engine may not import: (name, object, max_elements) -> Input.
OBJECT_DECODERS: dict[str, Callable[[str, dict[str, Any], int], Input]] = {}


@dataclass(slots=True)
class Input:
    value: Any  # float or float64 ndarray; None until built (see built)
    shape: tuple[int, ...]
    requires_grad: bool
    build: Callable[[], Any] | None = None  # makes the value; None once it exists

    def built(self) -> Any:
        if self.build is not None:
            self.value = self.build()
            self.build = None
        return self.value

    @property
    def elements(self) -> int:
        return prod(self.shape)


def _bad(name: str, message: str) -> ProgramError:
    return ProgramError("invalid_input", f"input '{name}': {message}", input=name)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def as_number(x: Any) -> float | None:
    """A JSON number or non-finite string as a float (ints past the float range as ±inf), else None."""
    if type(x) is float:
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            return float("inf") if x > 0 else float("-inf")
    if isinstance(x, str):
        return NON_FINITE.get(x)
    return None


def _claimed_shape(value: list[Any]) -> tuple[int, ...]:
    """The shape a nested list claims along its first elements (raggedness is found later)."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value or len(shape) > MAX_AXES:
            break
        value = value[0]
    return tuple(shape)


def _check_size(name: str, shape: tuple[int, ...], max_elements: int, verb: str) -> None:
    if len(shape) > MAX_AXES:
        raise LimitExceeded(f"input '{name}' has more than {MAX_AXES} axes (the limit)", input=name)
    elements = prod(shape)
    # An axis past the limit is refused even when another axis is 0: numpy cannot make it.
    longest = max(shape, default=0)
    if longest > max_elements and elements <= max_elements:
        raise LimitExceeded(
            f"input '{name}' {verb} shape {list(shape)}, with an axis of {longest} elements; "
            f"the limit is {max_elements} per tensor",
            input=name,
        )
    if elements > max_elements:
        raise LimitExceeded(
            f"input '{name}' {verb} shape {list(shape)}, {elements} elements; the limit is {max_elements} per tensor",
            input=name,
        )


def declare(name: str, raw: Any, max_elements: int) -> Input:
    """One entry of the request's `inputs`, checked and shaped, not yet built."""
    if isinstance(raw, dict):
        for key, declarer in OBJECT_DECODERS.items():
            if key in raw:
                return declarer(name, raw, max_elements)
        if "init" in raw:
            shape, build = _init(name, raw, max_elements)
        elif "value" in raw:
            unknown = set(raw) - _INPUT_KEYS
            if unknown:
                raise _bad(name, f"unknown keys {sorted(unknown)}; an input object has 'value' and 'requires_grad'")
            shape, build = _tensor_spec(name, raw["value"], max_elements)
        else:
            raise _bad(name, "an input object needs 'value' or 'init'")
        requires_grad = raw.get("requires_grad", True)
        if not isinstance(requires_grad, bool):
            raise _bad(name, "requires_grad must be true or false")
    else:
        shape, build = _tensor_spec(name, raw, max_elements)
        requires_grad = True
    if not shape:  # scalars cost nothing to make: made now
        return Input(build(), shape, requires_grad)
    return Input(None, shape, requires_grad, build)


def decode(name: str, raw: Any, max_elements: int) -> Input:
    """One entry of the request's `inputs`, built."""
    given = declare(name, raw, max_elements)
    given.built()
    return given


def tensor(name: str, raw: Any, max_elements: int) -> tuple[Any, tuple[int, ...]]:
    """A number or nested list → (float or ndarray, shape)."""
    shape, build = _tensor_spec(name, raw, max_elements)
    return build(), shape


def tensor_shape(name: str, raw: Any, max_elements: int) -> tuple[tuple[int, ...], Callable[[], Any]]:
    """A number or nested list → (its claimed shape, a function that builds it), allocating nothing."""
    return _tensor_spec(name, raw, max_elements)


def _tensor_spec(name: str, raw: Any, max_elements: int) -> tuple[tuple[int, ...], Callable[[], Any]]:
    number = as_number(raw)
    if number is not None:
        return (), lambda: number
    if not isinstance(raw, list):
        raise _bad(name, f"expected a number or a nested list of numbers, got {_describe(raw)}")
    claimed = _claimed_shape(raw)
    _check_size(name, claimed, max_elements, "has")
    return claimed, lambda: _array(name, raw, claimed)


def _array(name: str, raw: list[Any], claimed: tuple[int, ...]) -> np.ndarray:
    """The nested list as a float64 array of the claimed shape, or a ProgramError saying why not."""
    try:
        array = _converted(raw, claimed)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or array.dtype.kind not in "iuf" or array.shape != claimed or _has_bool(raw):
        # Rare: strings for non-finite numbers, ints past the float range, or an error to name.
        array = _slow_array(name, raw, claimed)
    return array.astype(np.float64, copy=False)


def _converted(raw: list[Any], claimed: tuple[int, ...]) -> np.ndarray:
    """numpy's conversion, a block of rows at a time (see _CHUNK)."""
    elements = prod(claimed)
    if elements <= _CHUNK or len(raw) < 2:
        return np.array(raw)
    rows = max(1, _CHUNK * len(raw) // max(elements, 1))
    blocks = [np.array(raw[k : k + rows]) for k in range(0, len(raw), rows)]
    if len({block.dtype.kind for block in blocks}) > 1 or any(block.dtype.kind not in "iuf" for block in blocks):
        raise ValueError("not one numeric dtype")
    return np.concatenate(blocks)


def _slow_array(name: str, raw: list[Any], claimed: tuple[int, ...]) -> np.ndarray:
    """Element by element, iteratively: every leaf a number (see as_number), every row as long as
    the claimed shape says."""
    flat: list[float] = []
    stack = [(raw, 0)]
    depth = len(claimed)
    while stack:
        item, level = stack.pop()
        if level < depth:
            if not isinstance(item, list) or len(item) != claimed[level]:
                raise _bad(name, "is ragged: every row of a nested list must have the same length")
            stack.extend((child, level + 1) for child in reversed(item))
            continue
        number = as_number(item)
        if number is None:
            if isinstance(item, list):
                raise _bad(name, "is ragged: every row of a nested list must have the same length")
            raise _bad(name, f"holds {_describe(item)}, which is not a number")
        flat.append(number)
    return np.array(flat, dtype=np.float64).reshape(claimed)


def _has_bool(raw: list[Any]) -> bool:
    # numpy folds true/false into numbers silently ([true, 1.5] becomes [1.0, 1.5]); they are not
    # numbers to us. Large tensors usually arrive as initializers, so this walk stays cheap.
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool):
            return True
    return False


def _describe(x: Any) -> str:
    if isinstance(x, bool):
        return f"the boolean {str(x).lower()}"
    if isinstance(x, str):
        return f"the string {x!r}" if len(x) < 40 else "a string"
    if x is None:
        return "null"
    if isinstance(x, dict):
        return "an object"
    return type(x).__name__


def _whole(x: Any) -> int | None:
    """A JSON number that is a whole number, as an int; None for anything else (NaN, inf too)."""
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if isinstance(x, float) and isfinite(x) and x == int(x):
        return int(x)
    return None


def _init(name: str, spec: dict[str, Any], max_elements: int) -> tuple[tuple[int, ...], Callable[[], Any]]:
    unknown = set(spec) - _INIT_KEYS
    if unknown:
        raise _bad(name, f"unknown keys {sorted(unknown)} in an initializer; allowed: {sorted(_INIT_KEYS)}")
    kind = spec["init"]
    if not isinstance(kind, str) or kind not in INITS:
        shown = repr(kind) if isinstance(kind, str) and len(kind) < 40 else _describe(kind)
        raise _bad(name, f"unknown init {shown}; use one of {', '.join(INITS)}")
    raw_shape = spec.get("shape", [])
    dims = [_whole(d) for d in raw_shape] if isinstance(raw_shape, list) else [None]
    if any(d is None or d < 0 for d in dims):
        raise _bad(name, "an initializer's shape must be a list of non-negative integers, e.g. [3, 15]")
    shape = tuple(d for d in dims if d is not None)  # all of them (checked just above)
    _check_size(name, shape, max_elements, "would have")
    seed = _whole(spec.get("seed", 0))
    if seed is None or seed < 0 or seed >= 1 << 128:
        raise _bad(name, "seed must be an integer from 0 to 2**128 - 1")
    numbers = {}
    for key, default in (("scale", 1.0), ("low", 0.0), ("high", 1.0)):
        number = as_number(spec.get(key, default))
        if number is None or not isfinite(number):
            raise _bad(name, f"{key} must be a finite number")
        numbers[key] = number
    low, high = numbers["low"], numbers["high"]
    if kind == "uniform":
        if low > high:
            raise _bad(name, f"low ({low:g}) must not be greater than high ({high:g})")
        if not isfinite(high - low):
            raise _bad(name, "high − low must be a finite number")

    def build() -> Any:
        rng = np.random.default_rng(seed)
        if kind == "randn":
            value = rng.standard_normal(shape) * numbers["scale"]
        elif kind == "uniform":
            value = rng.uniform(low, high, shape)
        else:
            value = (np.zeros if kind == "zeros" else np.ones)(shape)
        return float(value) if not shape else value

    return shape, build

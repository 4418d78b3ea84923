"""Input values from JSON-like Python objects to float64 values, checked before allocation.

An input is a number, a nested list of numbers, `{"value": ..., "requires_grad": bool}`, or an
initializer `{"init": "randn" | "uniform" | "zeros" | "ones", "shape": [...], "seed": 0}`.
Scalars become Python floats (cheaper than 0-d arrays); tensors become float64 arrays.
The claimed size of a nested list and of an initializer is checked against the per-tensor limit
before numpy allocates anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import isfinite, prod
from typing import Any, Callable

import numpy as np

from app.engine.errors import LimitExceeded, ProgramError

INITS = ("randn", "uniform", "zeros", "ones")
_INPUT_KEYS = {"value", "requires_grad"}
_INIT_KEYS = {"init", "shape", "seed", "scale", "low", "high", "requires_grad"}
# Decoders of input objects marked by a key ("dataset": app.datasets.decode), registered by the
# layers above the engine, which the engine may not import: (name, object, max_elements) -> Input.
OBJECT_DECODERS: dict[str, Callable[[str, dict, int], "Input"]] = {}


@dataclass(slots=True)
class Input:
    value: Any  # float or float64 ndarray
    shape: tuple[int, ...]
    requires_grad: bool


def _bad(name: str, message: str) -> ProgramError:
    return ProgramError("invalid_input", f"input '{name}': {message}", input=name)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _claimed_shape(value: list) -> tuple[int, ...]:
    """The shape a nested list claims along its first elements (raggedness is found later)."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def tensor(name: str, raw: Any, max_elements: int) -> tuple[Any, tuple[int, ...]]:
    """A number or nested list → (float or ndarray, shape)."""
    if _is_number(raw):
        value = float(raw)
        return value, ()
    if not isinstance(raw, list):
        raise _bad(name, f"expected a number or a nested list of numbers, got {_describe(raw)}")
    claimed = _claimed_shape(raw)
    if prod(claimed) > max_elements:
        raise LimitExceeded(
            f"input '{name}' has shape {list(claimed)}, {prod(claimed)} elements; "
            f"the limit is {max_elements} per tensor", input=name,
        )
    try:
        array = np.array(raw)
    except (ValueError, TypeError, OverflowError):
        raise _bad(name, "is ragged: every row of a nested list must have the same length") from None
    if array.dtype.kind in "iu":
        array = array.astype(np.float64)
    if array.dtype.kind != "f" or array.shape != claimed or _has_bool(raw):
        raise _bad(name, _why_not_numeric(raw, claimed, array))
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        raise _bad(name, "holds a number that is not finite")
    return array, array.shape


def _has_bool(raw: list) -> bool:
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


def _why_not_numeric(raw: list, claimed: tuple[int, ...], array: np.ndarray) -> str:
    stack = [raw]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif not _is_number(item):
            return f"holds {_describe(item)}, which is not a number"
    if array.shape != claimed or array.dtype.kind == "O":
        return "is ragged: every row of a nested list must have the same length"
    return "holds a value that is not a number"


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


def _init(name: str, spec: dict, max_elements: int) -> tuple[Any, tuple[int, ...]]:
    unknown = set(spec) - _INIT_KEYS
    if unknown:
        raise _bad(name, f"unknown keys {sorted(unknown)} in an initializer; allowed: {sorted(_INIT_KEYS)}")
    kind = spec["init"]
    if kind not in INITS:
        raise _bad(name, f"unknown init {kind!r}; use one of {', '.join(INITS)}")
    shape = spec.get("shape", [])
    if not isinstance(shape, list) or not all(_is_number(d) and int(d) == d and d >= 0 for d in shape):
        raise _bad(name, "an initializer's shape must be a list of non-negative integers, e.g. [3, 15]")
    shape = tuple(int(d) for d in shape)
    if prod(shape) > max_elements:
        raise LimitExceeded(
            f"input '{name}' would have shape {list(shape)}, {prod(shape)} elements; "
            f"the limit is {max_elements} per tensor", input=name,
        )
    seed = spec.get("seed", 0)
    if not _is_number(seed) or int(seed) != seed or seed < 0:
        raise _bad(name, "seed must be a non-negative integer")
    numbers = {}
    for key, default in (("scale", 1.0), ("low", 0.0), ("high", 1.0)):
        numbers[key] = spec.get(key, default)
        if not _is_number(numbers[key]) or not isfinite(numbers[key]):
            raise _bad(name, f"{key} must be a finite number")
    rng = np.random.default_rng(int(seed))
    if kind == "randn":
        value = rng.standard_normal(shape) * numbers["scale"]
    elif kind == "uniform":
        value = rng.uniform(numbers["low"], numbers["high"], shape)
    else:
        value = (np.zeros if kind == "zeros" else np.ones)(shape)
    if not shape:
        return float(value), ()
    return value, shape


def decode(name: str, raw: Any, max_elements: int) -> Input:
    """One entry of the request's `inputs`."""
    if isinstance(raw, dict):
        for key, decoder in OBJECT_DECODERS.items():
            if key in raw:
                return decoder(name, raw, max_elements)
        if "init" in raw:
            value, shape = _init(name, raw, max_elements)
        elif "value" in raw:
            unknown = set(raw) - _INPUT_KEYS
            if unknown:
                raise _bad(name, f"unknown keys {sorted(unknown)}; an input object has 'value' and 'requires_grad'")
            value, shape = tensor(name, raw["value"], max_elements)
        else:
            raise _bad(name, "an input object needs 'value' or 'init'")
        requires_grad = raw.get("requires_grad", True)
        if not isinstance(requires_grad, bool):
            raise _bad(name, "requires_grad must be true or false")
        return Input(value, shape, requires_grad)
    value, shape = tensor(name, raw, max_elements)
    return Input(value, shape, True)

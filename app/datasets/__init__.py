"""Datasets that inputs can draw rows from: `{"dataset": "digits", "field": "images", "split":
"train", "rows": [0, 5, 9]}`.

`resolve` checks such an input and answers a `DatasetRows` (which rows of which stored array, and
the shape they make), checking the size against the per-tensor limit before reading any data;
`declare` makes it an engine Input whose values are taken when the input is built. The engine
cannot import this package, so `install()` registers `declare` with app.engine.inputs under the
key "dataset".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod
from pathlib import Path
from typing import Any

import numpy as np

from app.datasets import digits, mnist, regression
from app.datasets.base import Dataset, DatasetError, Field
from app.engine import inputs as engine_inputs
from app.engine.errors import LimitExceeded

DATASETS: dict[str, Dataset] = {d.name: d for d in (regression.DATASET, digits.DATASET, mnist.DATASET)}
_KEYS = {"dataset", "field", "split", "rows", "requires_grad"}


@dataclass
class DatasetRows:
    """A dataset input resolved: `rows` (indices into the split) of one field's stored array."""

    dataset: Dataset
    field: Field
    split: str
    stored: np.ndarray  # every row of the split, stored values (bytes for images)
    rows: np.ndarray  # intp indices into stored
    requires_grad: bool
    all_rows: bool = False  # rows is every row in order: positions are rows (one indexing saved a step)

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self.field.shape

    def take(self, positions: np.ndarray | None = None) -> np.ndarray:
        """float64 values of self.rows[positions] (all of self.rows when None)."""
        if positions is None:
            picked = self.rows
        else:
            picked = positions if self.all_rows else self.rows[positions]
        values = self.stored[picked]  # a new array: indexing by a list of rows copies
        if self.field.scale != 1.0:
            return values / self.field.scale  # float64
        return values if values.dtype == np.float64 else values.astype(np.float64)

    def float64_bytes(self) -> int:
        """Bytes of every row of self.rows as float64 (what in_float64 holds)."""
        return 8 * len(self.rows) * prod(self.row_shape)

    def in_float64(self) -> DatasetRows:
        """The same rows, converted and scaled once: each take is then one indexing of float64
        rows (a training run's batches from the digits took 12 µs a step in conversion). The
        values are the ones take() makes: scaling each element is the same before or after
        indexing."""
        values = self.take()
        return replace(
            self, stored=values, rows=np.arange(len(values)), all_rows=True, field=replace(self.field, scale=1.0)
        )


def configure(data_dir: str | Path | None) -> None:
    """Where MNIST's files are (settings.data_dir)."""
    mnist.data_dir = Path(data_dir) if data_dir else None


def describe() -> list[dict]:
    return [dataset.describe() for dataset in DATASETS.values()]


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_dataset(raw: Any) -> bool:
    return isinstance(raw, dict) and "dataset" in raw


def resolve(name: str, spec: dict, max_elements: int, *, all_rows_at_once: bool = True) -> DatasetRows:
    """Check a dataset input and find its rows; reads data only once the size is known to fit.
    A training run that draws batches passes all_rows_at_once=False and checks its batch instead."""
    requested = spec.get("dataset")
    dataset = DATASETS.get(requested) if isinstance(requested, str) else None
    if dataset is None:
        raise DatasetError(name, f"unknown dataset {spec.get('dataset')!r}; GET /datasets lists {', '.join(DATASETS)}")
    unknown = set(spec) - _KEYS - set(dataset.options)
    if unknown:
        allowed = sorted(_KEYS | set(dataset.options))
        raise DatasetError(name, f"unknown keys {sorted(unknown)} for dataset '{dataset.name}'; allowed: {allowed}")
    field = dataset.field(spec.get("field"))
    if field is None:
        raise DatasetError(
            name,
            f"dataset '{dataset.name}' has no field {spec.get('field')!r}; "
            f"its fields are {', '.join(f.name for f in dataset.fields)}",
        )
    split = spec.get("split", dataset.splits[0])
    if split not in dataset.splits:
        raise DatasetError(name, f"dataset '{dataset.name}' has no split {split!r}; use {' or '.join(dataset.splits)}")
    options = _options(name, dataset, spec, max_elements)
    requires_grad = spec.get("requires_grad", False)
    if not isinstance(requires_grad, bool):
        raise DatasetError(name, "requires_grad must be true or false")
    try:
        count = dataset.count_rows(split, options)
    except DatasetError as exc:
        raise DatasetError(name, exc.message) from None
    rows = _rows(name, spec.get("rows"), count, split)
    elements = len(rows) * prod(field.shape)
    if all_rows_at_once and elements > max_elements:
        raise LimitExceeded(
            f"input '{name}' would take {len(rows)} rows of {dataset.name}.{field.name}, {elements} elements; "
            f"the limit is {max_elements} per tensor (choose fewer rows, or train in batches)",
            input=name,
        )
    try:
        stored = dataset.read(split, options)[field.name]
    except DatasetError as exc:
        raise DatasetError(name, exc.message) from None
    return DatasetRows(dataset, field, split, stored, rows, requires_grad, all_rows=spec.get("rows") is None)


def _options(name: str, dataset: Dataset, spec: dict, max_elements: int) -> dict:
    options = {key: spec.get(key, default) for key, default in dataset.options.items()}
    for key, value in options.items():
        if not _int(value) or value < 0:
            raise DatasetError(name, f"{key} must be a non-negative integer")
    if "n" in options and options["n"] * 3 > max_elements:
        raise LimitExceeded(
            f"input '{name}': n = {options['n']} rows would pass the limit of {max_elements} elements per tensor",
            input=name,
        )
    return options


def _rows(name: str, rows: Any, count: int, split: str) -> np.ndarray:
    if rows is None:
        return np.arange(count)
    if not isinstance(rows, list) or not all(_int(r) for r in rows):
        raise DatasetError(name, "rows must be a list of row numbers (integers)")
    # Checked as Python ints first: a row past 2**63 does not fit the index array (OverflowError).
    if rows and (min(rows) < 0 or max(rows) >= count):
        raise DatasetError(name, f"rows must lie in [0, {count - 1}] (the {split} split has {count} rows)")
    return np.array(rows, dtype=np.intp)


def declare(name: str, spec: dict, max_elements: int) -> engine_inputs.Input:
    """The hook app.engine.inputs calls for an input object with a "dataset" key: checked and
    shaped now, its rows taken (as float64) when the input is built."""
    resolved = resolve(name, spec, max_elements)
    shape = (len(resolved.rows), *resolved.row_shape)
    return engine_inputs.Input(None, shape, resolved.requires_grad, resolved.take)


def install() -> None:
    engine_inputs.OBJECT_DECODERS["dataset"] = declare


__all__ = [
    "DATASETS",
    "DatasetError",
    "DatasetRows",
    "configure",
    "declare",
    "describe",
    "install",
    "is_dataset",
    "resolve",
]

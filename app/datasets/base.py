"""What every dataset is: a description (for GET /datasets) and a reader of whole splits.

A dataset answers, per split, a table: one array per field, all with the same number of rows.
Shapes are known from the description (or a file's header) before anything is read, so a request
for too many rows is refused before the data is loaded. Nothing about training lives here: the
training loop only ever asks for rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.engine.errors import ProgramError


class DatasetError(ProgramError):
    """A dataset input that names something that does not exist or cannot be read (a 4xx)."""

    def __init__(self, input_name: str | None, message: str) -> None:
        where = f"input '{input_name}': " if input_name else ""
        super().__init__("invalid_dataset", where + message, input=input_name)


@dataclass(frozen=True)
class Field:
    name: str
    shape: tuple[int, ...]  # of one row
    doc: str
    image_shape: tuple[int, int] | None = None  # a row drawn as an image (row-major pixels)
    # Stored values are divided by this when rows are taken (grey levels kept as bytes until then:
    # MNIST's training images are 47 MB as bytes, 376 MB as float64).
    scale: float = 1.0


@dataclass
class Dataset:
    name: str
    title: str
    fields: tuple[Field, ...]
    splits: tuple[str, ...]
    classes: int | None
    source: str
    licence: str
    doc: str
    options: dict[str, Any]  # option name -> default (regression: n and seed)
    # (split, options) -> rows of that split; may read a file header, never the data
    count_rows: Callable[[str, dict], int]
    # (split, options) -> {field: array of all rows, stored values}; may read files (cached)
    read: Callable[[str, dict], dict[str, np.ndarray]]
    available: Callable[[], str | None] = field(default=lambda: None)  # None, or why not

    def field(self, name: object) -> Field | None:
        """The field called `name`, which may be anything a request sent (then no field has it)."""
        return next((f for f in self.fields if f.name == name), None)

    def describe(self) -> dict:
        why_not = self.available()
        return {
            "name": self.name,
            "title": self.title,
            "doc": self.doc,
            "available": why_not is None,
            **({"unavailable_because": why_not} if why_not else {}),
            "fields": [
                {
                    "name": f.name,
                    "shape": list(f.shape),
                    "doc": f.doc,
                    **({"image_shape": list(f.image_shape)} if f.image_shape else {}),
                }
                for f in self.fields
            ],
            "splits": {split: self._rows_or_none(split) for split in self.splits},
            "classes": self.classes,
            "options": self.options,
            "source": self.source,
            "licence": self.licence,
        }

    def _rows_or_none(self, split: str) -> int | None:
        try:
            return self.count_rows(split, dict(self.options))
        except ProgramError:
            return None

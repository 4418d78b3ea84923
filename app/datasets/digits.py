"""The UCI optical-recognition digits (1,797 images of 8×8 grey levels), bundled with the project.

The file data/digits.u8.gz is written by scripts/make_digits.py from scikit-learn's copy of the
set (rows of the label, then 64 pixels 0-16). Pixels are scaled to [0, 1] by dividing by 16, so
the same network and learning rates suit digits and MNIST alike.

The split is fixed: train is the first 1,437 images, test the last 360 (the last fifth). The
images are ordered by writer blocks, so the test digits come mostly from writers the network did
not see, as in a real test set; every class has 33-37 test images.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.datasets.base import Dataset, Field

FILE = Path(__file__).resolve().parent / "data" / "digits.u8.gz"
COUNT = 1797
TRAIN = 1437
SIDE = 8
GREY_LEVELS = 16.0
_SPLITS = {"train": slice(0, TRAIN), "test": slice(TRAIN, COUNT)}


@lru_cache(maxsize=1)
def _rows() -> np.ndarray:
    return np.frombuffer(gzip.decompress(FILE.read_bytes()), dtype=np.uint8).reshape(COUNT, 1 + SIDE * SIDE)


def _split(split: str) -> dict[str, np.ndarray]:
    rows = _rows()[_SPLITS[split]]
    return {"images": rows[:, 1:], "labels": rows[:, 0]}


DATASET = Dataset(
    name="digits",
    title="Handwritten digits, 8×8 (UCI, as scikit-learn ships them)",
    fields=(
        Field(
            "images",
            (SIDE * SIDE,),
            "8×8 grey levels row by row, scaled to [0, 1] (level / 16)",
            image_shape=(SIDE, SIDE),
            scale=GREY_LEVELS,
        ),
        Field("labels", (), "the digit, a class index 0-9"),
    ),
    splits=tuple(_SPLITS),
    classes=10,
    source=(
        "UCI Machine Learning Repository, Optical Recognition of Handwritten Digits "
        "(E. Alpaydin, C. Kaynak, 1998), the copy in scikit-learn (sklearn.datasets.load_digits)"
    ),
    licence="CC BY 4.0 (UCI Machine Learning Repository)",
    doc="1,797 digits; train is the first 1,437, test the last 360.",
    options={},
    count_rows=lambda split, options: _SPLITS[split].stop - _SPLITS[split].start,
    read=lambda split, options: _split(split),
)

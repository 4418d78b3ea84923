"""MNIST from its four standard IDX files in CHAINLENS_DATA_DIR (gzip-compressed or not).

Nothing is ever downloaded: without the files the dataset is listed as unavailable, and a request
for it is a 4xx that says where to put them. A file is recognised as gzip by its first two bytes,
not its name. IDX: two zero bytes, a type code (0x08: unsigned bytes, the only one MNIST uses), the
number of axes, then each axis' size as a big-endian uint32, then the data row-major.
Pixels are scaled to [0, 1] by dividing by 255.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.datasets.base import Dataset, DatasetError, Field

SIDE = 28
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"

data_dir: Path | None = None  # set from settings.data_dir by app.datasets.configure


def _path(stem: str) -> Path:
    if data_dir is None:
        raise DatasetError(
            None, "dataset 'mnist' needs its four IDX files in the folder named by CHAINLENS_DATA_DIR, which is not set"
        )
    for candidate in (data_dir / stem, data_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(None, f"dataset 'mnist': {stem} (or {stem}.gz) is not in {data_dir}")


def _open(path: Path) -> io.BufferedIOBase:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _header(stream: io.BufferedIOBase, path: Path, ndim: int) -> tuple[int, ...]:
    head = stream.read(4)
    if len(head) < 4 or head[:2] != b"\0\0":
        raise DatasetError(None, f"dataset 'mnist': {path.name} is not an IDX file")
    if head[2] != _UBYTE or head[3] != ndim:
        raise DatasetError(
            None,
            f"dataset 'mnist': {path.name} holds type 0x{head[2]:02x} with {head[3]} axes; "
            f"expected unsigned bytes (0x08) with {ndim}",
        )
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DatasetError(None, f"dataset 'mnist': {path.name} ends inside its header")
    return struct.unpack(f">{ndim}I", dims)


def _read_header(path: Path, ndim: int) -> tuple[int, ...]:
    try:
        with _open(path) as stream:
            return _header(stream, path, ndim)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(None, f"dataset 'mnist': cannot read {path.name}: {exc}") from None


def _read(path: Path, ndim: int) -> np.ndarray:
    try:
        with _open(path) as stream:
            shape = _header(stream, path, ndim)
            data = stream.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(None, f"dataset 'mnist': cannot read {path.name}: {exc}") from None
    expected = int(np.prod(shape))
    if len(data) != expected:
        raise DatasetError(
            None,
            f"dataset 'mnist': {path.name} holds {len(data)} bytes of data; its header {list(shape)} says {expected}",
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _count(split: str, options: dict) -> int:
    images, labels = (_path(stem) for stem in FILES[split])
    count, height, width = _read_header(images, 3)
    if (height, width) != (SIDE, SIDE):
        raise DatasetError(None, f"dataset 'mnist': {images.name} holds {height}×{width} images, not 28×28")
    (label_count,) = _read_header(labels, 1)
    if label_count != count:
        raise DatasetError(
            None, f"dataset 'mnist': {images.name} holds {count} images but {labels.name} {label_count} labels"
        )
    return count


def _read_split(split: str, options: dict) -> dict[str, np.ndarray]:
    _count(split, options)  # the headers agree
    images, labels = (_path(stem) for stem in FILES[split])
    return _cached(images, labels, images.stat().st_mtime_ns, labels.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _cached(images: Path, labels: Path, *mtimes: int) -> dict[str, np.ndarray]:
    # Keyed by the files' modification times too: replaced files are read again.
    pixels = _read(images, 3)
    classes = _read(labels, 1)
    if classes.size and classes.max() > 9:
        raise DatasetError(None, f"dataset 'mnist': {labels.name} holds the label {classes.max()}, not a digit")
    return {"images": pixels.reshape(len(pixels), SIDE * SIDE), "labels": classes}


def _available() -> str | None:
    try:
        for split in FILES:
            _count(split, {})
    except DatasetError as exc:
        return exc.message
    return None


DATASET = Dataset(
    name="mnist",
    title="MNIST handwritten digits, 28×28 (from CHAINLENS_DATA_DIR)",
    fields=(
        Field(
            "images",
            (SIDE * SIDE,),
            "28×28 grey levels row by row, scaled to [0, 1] (level / 255)",
            image_shape=(SIDE, SIDE),
            scale=255.0,
        ),
        Field("labels", (), "the digit, a class index 0-9"),
    ),
    splits=tuple(FILES),
    classes=10,
    source=(
        "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits; "
        "the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte (each may be .gz) in CHAINLENS_DATA_DIR; never downloaded"
    ),
    licence="CC BY-SA 3.0 (as published by Y. LeCun and C. Cortes); not bundled",
    doc="60,000 training and 10,000 test images when the standard files are present.",
    options={},
    count_rows=_count,
    read=_read_split,
    available=_available,
)

"""Regenerate app/datasets/data/digits.u8.gz from scikit-learn's copy of the UCI digits.

    .venv/bin/pip install -e '.[dev]'     # scikit-learn is a dev dependency only
    .venv/bin/python scripts/make_digits.py

The file is 1,797 rows of 65 bytes, gzip-compressed with no timestamp (so the same data gives the
same bytes): each row is the digit's label (0-9), then its 8×8 pixels row by row as grey levels
0-16, exactly as scikit-learn's load_digits gives them, in the same order. app/datasets/digits.py
reads it; nothing about splits or scaling lives in the file.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "app" / "datasets" / "data" / "digits.u8.gz"


def main() -> None:
    digits = load_digits()
    pixels = digits.data.astype(np.uint8)
    if not np.array_equal(pixels, digits.data):
        raise SystemExit("scikit-learn's digits are no longer integer grey levels 0-16")
    rows = np.column_stack([digits.target.astype(np.uint8), pixels])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(gzip.compress(rows.tobytes(), compresslevel=9, mtime=0))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {rows.shape[0]} digits)")


if __name__ == "__main__":
    main()

"""The tutorial's regression data: y = 2·x1 + 3·x2 + 4·x3 + 5, generated, not stored.

x1, x2 and x3 are drawn uniformly from [0, 30), [0, 20) and [0, 11) as the tutorial draws them
(`np.random.random() * 30` ...), here from numpy's seeded generator, so that `n` and `seed` name
one sample exactly. The train and test splits are independent streams of the same seed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from app.datasets.base import Dataset, Field

RANGES = np.array([30.0, 20.0, 11.0])
WEIGHTS = np.array([2.0, 3.0, 4.0])
BIAS = 5.0
_SPLITS = ("train", "test")


@lru_cache(maxsize=8)
def _sample(split: str, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, _SPLITS.index(split)])
    x = rng.random((n, 3)) * RANGES
    y = (x @ WEIGHTS + BIAS)[:, np.newaxis]
    x.flags.writeable = False  # shared by every request that asks for this sample
    y.flags.writeable = False
    return {"x": x, "y": y}


DATASET = Dataset(
    name="regression",
    title="The tutorial's regression task",
    fields=(
        Field("x", (3,), "x1 in [0, 30), x2 in [0, 20), x3 in [0, 11), uniform"),
        Field("y", (1,), "the target 2·x1 + 3·x2 + 4·x3 + 5"),
    ),
    splits=_SPLITS,
    classes=None,
    source="generated (the tutorial's formula and ranges)",
    licence="generated data, no licence needed",
    doc="n rows per split drawn with numpy's default_rng([seed, 0]) for train and [seed, 1] for test.",
    options={"n": 1000, "seed": 0},
    count_rows=lambda split, options: options["n"],
    read=lambda split, options: _sample(split, options["n"], options["seed"]),
)

"""Which rows each step sees: a seeded shuffle, epoch by epoch, as a pure function of the step.

Step s (counted from 1) is batch j = (s − 1) mod B of epoch e = (s − 1) div B, where B = N div size
is the number of whole batches in the N rows (the rest of an epoch's shuffle is left out, so every
batch has the same size and the graph its same shapes). Epoch e's order is
numpy.random.default_rng([seed, e]).permutation(N): any step's rows are found without replaying
the steps before it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


class Batches:
    def __init__(self, rows: int, size: int, seed: int) -> None:
        self.rows, self.size, self.seed = rows, size, seed
        self.per_epoch = rows // size
        self._order = lru_cache(maxsize=2)(self._permutation)

    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(self.rows)

    def positions(self, step: int) -> np.ndarray:
        """Positions (into the dataset inputs' rows) of step `step`'s batch."""
        epoch, index = divmod(step - 1, self.per_epoch)
        return self._order(epoch)[index * self.size : (index + 1) * self.size]

"""Training: a program's parameters fitted by an optimizer, step by step, as a stream of records.

The engine does each step's forward and backward (app.engine.lean); this package owns the loop,
the batches, the optimizers, the records and the limits of a run. It knows nothing of HTTP.
"""

from app.train.config import TrainConfig
from app.train.run import TrainingError, TrainingRun, TrainLimits

__all__ = ["TrainConfig", "TrainLimits", "TrainingError", "TrainingRun"]

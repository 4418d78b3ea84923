"""The autograd engine: op table, graph, static shape pass, forward and backward with a step record.

Imports numpy and the standard library only (a test keeps it that way). `app.core.evaluate`
joins it to the language: program text and inputs in, a `Result` out.
"""

from app.engine.errors import ProgramError
from app.engine.limits import Limits
from app.engine.run import Result, run

__all__ = ["Limits", "ProgramError", "Result", "run"]

"""The one exception type for problems with a user's program or inputs.

A ProgramError carries a machine-readable `kind`, a plain-words message, and where it can the
place in the program (character offsets, turned into line:column by `locate`) or the input it
concerns. The API turns it into a 4xx answer; nothing else about it is HTTP.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any


class ProgramError(Exception):
    """A problem with the program or its inputs, to be reported to the user."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        start: int | None = None,
        end: int | None = None,
        input: str | None = None,
        suggestions: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.start = start
        self.end = end
        self.input = input
        self.suggestions = suggestions or []


class LimitExceeded(ProgramError):
    """The request asks for more than the configured limits allow."""

    def __init__(self, message: str, **where: Any) -> None:
        super().__init__("limit_exceeded", message, **where)


class SourceMap:
    """Turns character offsets of a program into 1-based (line, column) pairs."""

    __slots__ = ("line_starts",)

    def __init__(self, text: str) -> None:
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self.line_starts = starts

    def locate(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def span(self, start: int, end: int) -> dict[str, int]:
        line, column = self.locate(start)
        end_line, end_column = self.locate(end)
        return {"line": line, "column": column, "end_line": end_line, "end_column": end_column}

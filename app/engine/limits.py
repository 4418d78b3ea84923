"""Limits on the work one request may ask for, checked before any array is allocated."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # 10,000 statements of `h = tanh(h * w + b)` are about 200,000 characters.
    max_program_chars: int = 500_000
    # Nodes of the graph, inputs and constants included.
    max_nodes: int = 100_000
    # Elements of any one tensor (an input, an init, or any intermediate result): 32 MiB of float64.
    max_tensor_elements: int = 4_000_000
    # Sum over nodes of their estimated cost (elements produced; multiply-adds for matmul).
    # The tutorial's 784-100-200-10 MLP on a batch of 32 costs about 3.3 million.
    max_total_work: int = 50_000_000
    # Parentheses and calls nested inside one another.
    # Each level costs the parser at most about 7 Python frames: 100 levels stay well inside the
    # interpreter's limit of 1,000 frames, with room for the server's own.
    max_nesting: int = 100
    # Entries of the request's inputs, and their elements all together (used or not: an unused
    # input is never built, but nothing should be sent that the program cannot use).
    max_inputs: int = 1_000
    max_input_elements: int = 16_000_000

    def __post_init__(self) -> None:
        # A node's place in the program is kept as a 32-bit int (app/engine/graph.py's PLACES).
        if self.max_program_chars >= 2**31:
            raise ValueError(f"max_program_chars must be below 2**31, got {self.max_program_chars}")

"""Limits of the checking and export routes, checked before any of their work starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckLimits:
    # Edges the naive recursion may apply. It applies a node's edges once per path from the
    # output to the node, which doubles with every level of fan-out (2^30 for 30 levels).
    max_replay_steps: int = 100_000
    # Elements of one input checked by finite differences; past this, a seeded sample of them.
    gradcheck_sample: int = 64
    # Forward passes × (the program's work + GRADCHECK_NODE_COST per op node): a unit is about
    # a nanosecond here, so the default keeps a check to a couple of seconds of one core.
    max_gradcheck_work: int = 2_000_000_000
    # Numbers written as literals into an exported PyTorch script (about 25 bytes each).
    max_script_elements: int = 1_000_000


# A forward pass costs about a microsecond of Python per op node, on top of its numpy work.
GRADCHECK_NODE_COST = 1_000
# A unit of work takes about a nanosecond: refusals say how long a check would take in these terms.
SECONDS_PER_UNIT = 1e-9

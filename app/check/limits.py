"""Limits of the checking and export routes, checked before any of their work starts."""

from __future__ import annotations

from dataclasses import dataclass

from app.engine.costs import forward_seconds
from app.engine.graph import Graph


@dataclass(frozen=True)
class CheckLimits:
    # Edges the naive recursion may apply. It applies a node's edges once per path from the
    # output to the node, which doubles with every level of fan-out (2^30 for 30 levels).
    max_replay_steps: int = 100_000
    # Elements of one input checked by finite differences; past this, a seeded sample of them.
    gradcheck_sample: int = 64
    # Forward passes × (the program's work + GRADCHECK_NODE_COST per op node): about a couple of
    # seconds of one core for most programs (check_seconds says how long for a given one).
    max_gradcheck_work: int = 2_000_000_000
    # Numbers written as literals into an exported PyTorch script (about 25 bytes each).
    max_script_elements: int = 1_000_000


# A forward pass costs about a microsecond of Python per op node, on top of its numpy work.
GRADCHECK_NODE_COST = 1_000


def pass_work(graph: Graph) -> int:
    """Work units of one of a gradient check's forward passes over `graph`."""
    return graph.work + GRADCHECK_NODE_COST * len(graph.computed())


def check_seconds(graph: Graph, work: float) -> float:
    """Seconds of `work` units of a gradient check of `graph` (its forward passes), or of the work
    a limit allows it: the passes at the time app/engine/costs.py estimates for one (the same per-op
    estimate that sizes the job for its lane and a training run's refusal)."""
    per_pass = pass_work(graph)
    # A program with no op node (`f = x`) has passes that cost nothing.
    return work / per_pass * forward_seconds(graph) if per_pass else 0.0

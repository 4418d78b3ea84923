""" "Did you mean ...?": the known names closest to an unknown one, in time linear in its length.

difflib's ratio is quadratic in the lengths it compares: a 20,000-character unknown name beside
a similar input key took 29 s of CPU. People mistype names of a few dozen characters, so names
longer than MAX_CHARS get no suggestions, and neither are such names suggested. A program may
also assign tens of thousands of names: only names of a length that can reach the cutoff are
compared (a ratio of at least 0.6 needs the shorter name to be at least 3/7 of the longer), and
at most MAX_CANDIDATES of them, so an error costs milliseconds, not a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

MAX_CHARS = 64
MAX_CANDIDATES = 2_000
CUTOFF = 0.6


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    if len(name) > MAX_CHARS:
        return []
    shortest = len(name) * CUTOFF / (2 - CUTOFF)  # 2·min/(len(name) + len(k)) ≥ CUTOFF
    longest = len(name) * (2 - CUTOFF) / CUTOFF
    candidates = [k for k in known if shortest <= len(k) <= min(longest, MAX_CHARS)]
    return get_close_matches(name, candidates[:MAX_CANDIDATES], n=n, cutoff=CUTOFF)

""""Did you mean ...?": the known names closest to an unknown one, in time linear in its length.

difflib's ratio is quadratic in the lengths it compares: a 20,000-character unknown name beside
a similar input key took 29 s of CPU. People mistype names of a few dozen characters, so names
longer than MAX_CHARS get no suggestions, and neither are such names suggested.
"""
from __future__ import annotations

from difflib import get_close_matches
from typing import Iterable

MAX_CHARS = 64


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    if len(name) > MAX_CHARS:
        return []
    candidates = [k for k in known if len(k) <= MAX_CHARS]
    return get_close_matches(name, candidates, n=n, cutoff=0.6)

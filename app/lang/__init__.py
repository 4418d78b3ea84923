"""The chainlens language: Python expression syntax, parsed with a whitelist, never evaluated."""

from app.lang.parser import parse

__all__ = ["parse"]

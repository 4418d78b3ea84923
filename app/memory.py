"""Keep memory that a request freed for the next request, instead of handing it back to the OS.

glibc returns freed memory at the top of its heap to the OS past 128 KiB (M_TRIM_THRESHOLD) and
serves every allocation above a moving threshold with a fresh mmap (M_MMAP_THRESHOLD); both make
the next request fault the same pages in again. A backward pass holds every gradient and step
alive until its response is encoded, so it frees a large heap top after each request: on the
784-100-200-10 MLP, page faults made run() 1.6× a hand-written numpy pass that runs between
requests, against 1.3× with these two thresholds raised. The process keeps up to `trim` bytes of
freed heap; arrays above `mmap` bytes still get (and give back) their own mapping.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def keep_freed_memory(trim: int = 256 << 20, mmap: int = 32 << 20) -> bool:
    """Raise glibc's trim and mmap thresholds in this process; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False
    # mallopt answers 1 on success; musl's stub answers 0 and changes nothing.
    return bool(mallopt(_M_TRIM_THRESHOLD, trim)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap))


def give_back() -> bool:
    """Hand the C heap's free memory back to the OS now (glibc's malloc_trim); False without glibc.

    Called after a request that used more than CHAINLENS_TRIM_AFTER_BYTES: keep_freed_memory keeps
    up to 256 MB for the next request, which after a heavy one would leave the worker that much
    larger for as long as it stays idle.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    return bool(malloc_trim(0))

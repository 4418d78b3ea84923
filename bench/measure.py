"""How every benchmark script times a call and describes the machine it ran on."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial


def timed_call(fn: Callable[..., object], setup: Callable[[], object] | None = None) -> float:
    """Seconds of fn(setup()) (setup untimed; fn() without one), GC collected before and paused
    during the call, as the server pauses it while it builds and encodes a graph."""
    state = setup() if setup else None
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn(state) if setup else fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def timed_call_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """Seconds and CPU seconds of this process for fn(), timed as timed_call times it (the GC
    collected before and paused during the call, neither inside the times)."""
    gc.collect()
    gc.disable()
    try:
        cpu, start = time.process_time(), time.perf_counter()
        fn()
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        gc.enable()


def median_time(fn: Callable[..., object], repeat: int, setup: Callable[[], object] | None = None) -> float:
    """Median seconds of timed_call(fn, setup) over `repeat` calls."""
    return statistics.median(timed_call(fn, setup) for _ in range(repeat))


def interleaved(cases: dict, repeat: int) -> dict[str, float]:
    """Median seconds of each case {name: (fn, setup or None)}, taken in rounds (one call of each
    case per round) so that a change in the machine's load reaches every case alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, (fn, setup) in cases.items():
            times[name].append(timed_call(fn, setup))
    return {name: statistics.median(values) for name, values in times.items()}


def rounds_cpu(cases: dict, repeat: int) -> dict[str, list[float]]:
    """CPU seconds of each case {name: (fn, setup or None)} in every round: one call of each case per
    round, timed as timed_call_cpu times it (setup untimed; fn(setup()) or fn()), the order of the
    cases reversed every other round, so that no case always follows the same one (a call pays for
    the caches the one before it left). CPU time, not wall time: a shared machine's load stops the
    process mid-call, which wall time counts and CPU time does not."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for round_ in range(repeat):
        for name in names if round_ % 2 == 0 else names[::-1]:
            fn, setup = cases[name]
            state = setup() if setup else None
            times[name].append(timed_call_cpu(partial(fn, state) if setup else fn)[1])
    return times


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median over rounds of ours / theirs, each round's pair measured under the same load."""
    return statistics.median(a / b for a, b in zip(ours, theirs))


def machine(**details: object) -> dict:
    """Python, platform and cores, then `details` (libraries, threads), then the load average."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cores_usable": cores,
        **details,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }

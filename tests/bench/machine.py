"""The machine's own parallel capacity, the reference for worker scaling figures."""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.synchronize import Barrier

_start: Barrier | None = None


def _spin(_: int) -> float:
    """A fixed amount of pure-Python work; returns its wall time (after waiting at the start barrier)."""
    if _start is not None:
        _start.wait()
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - started


def _init(barrier: Barrier) -> None:
    global _start
    _start = barrier


def machine_parallelism(repeats: int = 3) -> float:
    """How much more pure-Python CPU work two processes get done than one, on this machine, now.

    The ceiling for "2 workers vs 1": a 2-core machine whose cores are shared or throttled gives less
    than 2x, and no worker design can beat it. Both processes start together at a barrier and each
    times its own work; best of `repeats` for one and for two, as a VM's neighbours make timings jump.
    """
    context = multiprocessing.get_context("spawn")
    alone = context.Barrier(1)
    together = context.Barrier(2)
    with context.Pool(1, initializer=_init, initargs=(alone,)) as single:
        single.apply(_spin, (0,))  # warm up
        one = min(single.apply(_spin, (0,)) for _ in range(repeats))
    with context.Pool(2, initializer=_init, initargs=(together,)) as pair:
        pair.map(_spin, [0, 1], chunksize=1)  # warm up
        two = min(max(pair.map(_spin, [0, 1], chunksize=1)) for _ in range(repeats))
    return round(2 * one / two, 2)

"""The machine's own parallel capacity, the reference for worker scaling figures."""

from __future__ import annotations

import multiprocessing
import time


def _spin(_: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - started


def machine_parallelism(repeats: int = 3) -> float:
    """How much more pure-Python CPU work two processes get done than one, on this machine, now.

    The ceiling for "2 workers vs 1": a 2-core machine whose cores are shared or throttled gives less
    than 2x, and no worker design can beat it. Best of `repeats` for both, as a VM's neighbours make
    single timings jump.
    """
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [0, 0])  # warm up both processes
        one = min(pool.map(_spin, [0])[0] for _ in range(repeats))
        two = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            pool.map(_spin, [0, 1])
            two = min(two, time.perf_counter() - started)
    return round(2 * one / two, 2)

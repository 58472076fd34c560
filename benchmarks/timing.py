"""Timing shared by the benchmark scripts (run from the repository root)."""
from __future__ import annotations

import statistics
import time


def median_seconds(function, repeats: int) -> float:
    """Median wall time of ``function()`` after one warm-up call.

    Args:
        function: A callable without arguments.
        repeats: Number of timed calls.

    Returns:
        The median time in seconds.
    """
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)

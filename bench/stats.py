"""Latency summaries the benchmarks print."""

from __future__ import annotations

import statistics


def median_p95_ms(samples: list[float]) -> tuple[float, float]:
    """The median and 95th percentile of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000

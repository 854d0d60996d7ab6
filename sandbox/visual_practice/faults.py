"""Seeded trouble on purpose: added latency and transient 502/503 answers.

Each kind draws from its own random stream, so turning latency on does not change which requests
fail, and a seed with the same request sequence gives the same faults.
"""

from __future__ import annotations

import random

LATENCY_CAP = 10.0  # times the mean: an exponential tail, but no request waits forever


class Faults:
    def __init__(self, seed: int) -> None:
        self._latency = random.Random(f"{seed}:latency")
        self._faults = random.Random(f"{seed}:faults")

    def latency_s(self, mean_ms: float) -> float:
        """Exponentially distributed with the given mean (ms), capped at LATENCY_CAP times it, in seconds."""
        if mean_ms <= 0:
            return 0.0
        return min(self._latency.expovariate(1.0 / mean_ms), LATENCY_CAP * mean_ms) / 1000.0

    def fault(self, rate: float) -> int | None:
        """502, 503 (equally likely) for a `rate` share of calls, else None; always draws, to stay in step."""
        hit, kind = self._faults.random(), self._faults.random()
        if hit >= rate:
            return None
        return 502 if kind < 0.5 else 503

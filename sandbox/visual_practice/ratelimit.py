"""The API's rate limit: a sliding log of accepted request times per key over a rolling window.

A refused request is not logged, so the wait the server announces is exactly the wait needed: after
`Retry-After` seconds the oldest logged request has left the window and a slot is free.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float | None = None  # when refused: the moment a slot frees (epoch seconds)

    def headers(self, now: float) -> dict[str, str]:
        out = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}
        if self.reset_at is not None:
            # Both rounded up, so that a client waiting either one finds the slot free.
            out["X-RateLimit-Reset"] = str(math.ceil(self.reset_at))
            out["Retry-After"] = str(max(1, math.ceil(self.reset_at - now)))
        return out


class SlidingLogLimiter:
    """Not locked: the sandbox calls it from its event loop only."""

    def __init__(self) -> None:
        self._logs: dict[str, collections.deque[float]] = {}

    def hit(self, key: str, now: float, limit: int, window_s: float) -> Decision:
        log = self._logs.setdefault(key, collections.deque())
        while log and log[0] + window_s <= now:
            log.popleft()
        if len(log) < limit:
            log.append(now)
            return Decision(True, limit, limit - len(log))
        # The limit may have been lowered at run time, leaving more than `limit` entries in the log:
        # a slot frees when the log falls below the limit.
        return Decision(False, limit, 0, reset_at=log[len(log) - limit] + window_s)

    def reset(self) -> None:
        self._logs.clear()

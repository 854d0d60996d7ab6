"""Riding just under Pipedrive's burst limit: a rolling 2-s window kept in sync with the
`x-ratelimit-*` headers, and an adaptive (AIMD) number of requests in flight.

`BurstLimiter` is the hard rule — never more request starts in a rolling window than the limit —
and it believes the server over itself: `x-ratelimit-limit` replaces the plan's figure, and
`x-ratelimit-remaining: 0` or a 429 holds every sender until the window frees.
`AdaptiveConcurrency` decides how many requests may be in flight: enough to fill the window
despite latency, halved on a 429 so a burst of parallel senders backs off together.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Mapping

from vp2pd.clock import SYSTEM_CLOCK, Clock

from loaders.pipedrive.settings import (BURST_MARGIN_S, BURST_WINDOW_S, CONCURRENCY_DECREASE, CONCURRENCY_INITIAL,
                                        CONCURRENCY_MAX, CONCURRENCY_MIN)

log = logging.getLogger(__name__)

# Above this an `x-ratelimit-reset` is an epoch timestamp, below it a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def reset_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the server frees the window: `Retry-After`, else `x-ratelimit-reset`."""
    waits = []
    retry_after = header_number(headers, "retry-after")
    if retry_after is not None:
        waits.append(retry_after)
    reset = header_number(headers, "x-ratelimit-reset")
    if reset is not None:
        waits.append(reset - now if reset > _EPOCH_THRESHOLD else reset)
    return max(0.0, max(waits)) if waits else None


class BurstLimiter:
    """At most `limit` request starts in any rolling `window_s` (plus a small margin)."""

    def __init__(self, limit: int, *, window_s: float = BURST_WINDOW_S, margin_s: float = BURST_MARGIN_S,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.limit, self.window_s, self.margin_s, self.clock = limit, window_s + margin_s, margin_s, clock
        self._starts: collections.deque[float] = collections.deque()
        self._hold_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair and the log exact
            while True:
                now = self.clock.now()
                while self._starts and self._starts[0] <= now - self.window_s:
                    self._starts.popleft()
                if now < self._hold_until:
                    await self.clock.sleep(self._hold_until - now)
                    continue
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                await self.clock.sleep(self._starts[0] + self.window_s - now + 0.001)

    def hold(self, seconds: float) -> None:
        """Nobody sends for `seconds` (the server said its window is full)."""
        self._hold_until = max(self._hold_until, self.clock.now() + seconds + self.margin_s)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow the server's own view of the window from a response's headers."""
        limit = header_number(headers, "x-ratelimit-limit")
        if limit is not None and limit >= 1 and int(limit) != self.limit:
            log.info("burst limit is %d per window (server), not %d", int(limit), self.limit)
            self.limit = int(limit)
        remaining = header_number(headers, "x-ratelimit-remaining")
        if remaining is not None and remaining <= 0 and self.in_window() < self.limit:
            # The server's window is full but ours is not: someone else spends this token too.
            # (When ours is full as well, our own log paces more finely than the whole-second reset.)
            self.hold(reset_delay(headers, self.clock.now()) or 0.0)

    def in_window(self) -> int:
        now = self.clock.now()
        return sum(1 for start in self._starts if start > now - self.window_s)


class AdaptiveConcurrency:
    """Additive increase (one more slot per window of clean answers while work waits),
    multiplicative decrease on a 429 (at most once per burst window)."""

    def __init__(self, initial: int = CONCURRENCY_INITIAL, *, minimum: int = CONCURRENCY_MIN,
                 maximum: int = CONCURRENCY_MAX, clock: Clock = SYSTEM_CLOCK) -> None:
        self.minimum, self.maximum, self.clock = minimum, maximum, clock
        self.limit = float(max(minimum, min(maximum, initial)))
        self.in_flight = 0
        self.decreases = 0
        self._waiting = 0
        self._last_decrease = float("-inf")
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            self._waiting += 1
            try:
                await self._changed.wait_for(lambda: self.in_flight < int(self.limit))
            finally:
                self._waiting -= 1
            self.in_flight += 1

    async def release(self, *, throttled: bool) -> None:
        async with self._changed:
            self.in_flight -= 1
            if throttled:
                now = self.clock.now()
                if now - self._last_decrease >= BURST_WINDOW_S:
                    self.limit = max(float(self.minimum), self.limit * CONCURRENCY_DECREASE)
                    self._last_decrease = now
                    self.decreases += 1
            elif self._waiting:
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._changed.notify_all()

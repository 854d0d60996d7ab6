"""Riding just under Pipedrive's burst limit: a rolling 2-s window kept in sync with the
`x-ratelimit-*` headers, and an adaptive (AIMD) number of requests in flight.

`BurstLimiter` is the hard rule — never more request starts in a rolling window than the limit,
evenly spaced — and it believes the server over itself: `x-ratelimit-limit` replaces the plan's
figure, a 429 holds every sender for what `Retry-After` / `x-ratelimit-reset` say, and a full
server window that our own log cannot explain (another client on the same token) holds too.
`AdaptiveConcurrency` decides how many requests may be in flight: enough to fill the window
despite latency, halved on a 429 so parallel senders back off together.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from typing import Callable, Mapping

from vp2pd.clock import SYSTEM_CLOCK, Clock

from loaders.pipedrive.settings import (BURST_MARGIN_S, BURST_WINDOW_S, CONCURRENCY_DECREASE, CONCURRENCY_INITIAL,
                                        CONCURRENCY_MAX, CONCURRENCY_MIN, LATENCY_HEADROOM)

log = logging.getLogger(__name__)

# Above this an `x-ratelimit-reset` is an epoch timestamp, below it a number of seconds.
_EPOCH_THRESHOLD = 1_000_000_000


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def reset_delay(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the server frees the window: the longer of `Retry-After` and `x-ratelimit-reset`
    (Pipedrive sends seconds; an epoch timestamp is understood too)."""
    waits = []
    retry_after = header_number(headers, "retry-after")
    if retry_after is not None:
        waits.append(retry_after)
    reset = header_number(headers, "x-ratelimit-reset")
    if reset is not None:
        waits.append(reset - now if reset > _EPOCH_THRESHOLD else reset)
    return max(0.0, max(waits)) if waits else None


@dataclass
class Slot:
    """One request start in the window; `at` moves to when the request really left (see `sent`)."""

    at: float
    in_window: int  # starts in our window, this one included, when it was granted


class BurstLimiter:
    """At most `limit` request starts in any rolling `window_s` (plus a small margin), spread evenly:
    one start per `window_s / limit`. A burst of starts would travel over connections still being
    opened and land at the server late and unevenly; the server counts arrivals, so the next
    window's first request, sent on a warm connection, could land inside the old window (a 429,
    and a whole-second wait). Even spacing keeps arrivals in the order and rhythm we sent them, and
    `sent` re-times a start to the moment its body left, which is as near to the server's clock
    as a client gets."""

    def __init__(self, limit: int, *, window_s: float = BURST_WINDOW_S, margin_s: float = BURST_MARGIN_S,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.limit, self.window_s, self.margin_s, self.clock = limit, window_s + margin_s, margin_s, clock
        self._slots: list[Slot] = []
        self._hold_until = 0.0
        self._next_at = 0.0
        self.pacing = False  # the last start had to wait: the rate, not concurrency, is the bottleneck
        self._lock = asyncio.Lock()

    def _expire(self, now: float) -> None:
        self._slots = [s for s in self._slots if s.at > now - self.window_s]

    async def acquire(self) -> Slot:
        """Wait for a start and take it."""
        async with self._lock:  # one waiter at a time keeps the order fair and the log exact
            self.pacing = False
            while True:
                now = self.clock.now()
                self._expire(now)
                wait_until = max(self._hold_until, self._next_at)
                if now < wait_until:
                    self.pacing = True
                    await self.clock.sleep(wait_until - now)
                    continue
                if len(self._slots) < self.limit:
                    slot = Slot(now, len(self._slots) + 1)
                    self._slots.append(slot)
                    # From the planned time, not the (slightly late) wake-up, so the rate does not
                    # drift; but never from further back than a quarter interval, so an idle client
                    # does not save up a burst.
                    interval = self.window_s / self.limit
                    self._next_at = max(self._next_at, now - interval / 4) + interval
                    return slot
                self.pacing = True
                await self.clock.sleep(min(s.at for s in self._slots) + self.window_s - now + 0.001)

    def sent(self, slot: Slot) -> None:
        """The request of `slot` has left (its body is on the wire): count it from now."""
        slot.at = max(slot.at, self.clock.now())

    def hold(self, seconds: float) -> None:
        """Nobody sends for `seconds` (the server said its window is full)."""
        self._hold_until = max(self._hold_until, self.clock.now() + seconds + self.margin_s)

    def observe(self, headers: Mapping[str, str], slot: Slot | None = None) -> None:
        """Follow the server's own view of the window from a response's headers; `slot` is the one
        `acquire` gave the request that got this answer."""
        limit = header_number(headers, "x-ratelimit-limit")
        if limit is not None and limit >= 1 and int(limit) != self.limit:
            log.info("burst limit is %d per window (server), not %d", int(limit), self.limit)
            self.limit = int(limit)
        remaining = header_number(headers, "x-ratelimit-remaining")
        if remaining is None or remaining > 0:
            return
        ours = self.in_window() if slot is None else slot.in_window
        # The server's window is full. If ours was full too, that is our own pacing at the limit and
        # our log (finer than the whole-second reset) already waits; if the server counted clearly
        # more than we sent, someone else spends this token too: wait what the server says.
        if self.limit - ours > 1:
            self.hold(reset_delay(headers, self.clock.now()) or 0.0)

    def in_window(self) -> int:
        now = self.clock.now()
        return sum(1 for s in self._slots if s.at > now - self.window_s)


class AdaptiveConcurrency:
    """How many requests may be in flight. Additive increase (one more slot per window of clean
    answers while work waits for a slot and the burst limiter is not what holds it back),
    multiplicative decrease on a 429 (at most once per burst window) — but never below what
    Little's law says the allowed rate needs at the latency we measure (rate × latency, with
    headroom for the latency's tail), so a 429 from timing jitter cannot starve the window."""

    def __init__(self, initial: int = CONCURRENCY_INITIAL, *, minimum: int = CONCURRENCY_MIN,
                 maximum: int = CONCURRENCY_MAX, rate: Callable[[], float] = lambda: 0.0,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self.minimum, self.maximum, self.rate, self.clock = minimum, maximum, rate, clock
        self.limit = float(max(minimum, min(maximum, initial)))
        self.latency_s: float | None = None  # moving average of answered requests
        self.in_flight = 0
        self.decreases = 0
        self._waiting = 0
        self._last_decrease = float("-inf")
        self._changed = asyncio.Condition()

    @property
    def floor(self) -> int:
        if self.latency_s is None:
            return self.minimum
        needed = math.ceil(self.rate() * self.latency_s * LATENCY_HEADROOM)
        return max(self.minimum, min(self.maximum, needed))

    @property
    def allowed(self) -> int:
        return max(int(self.limit), self.floor)

    async def acquire(self) -> None:
        async with self._changed:
            self._waiting += 1
            try:
                await self._changed.wait_for(lambda: self.in_flight < self.allowed)
            finally:
                self._waiting -= 1
            self.in_flight += 1

    async def release(self, *, throttled: bool, rate_bound: bool = False, latency_s: float | None = None) -> None:
        async with self._changed:
            self.in_flight -= 1
            if latency_s is not None:
                self.latency_s = latency_s if self.latency_s is None else 0.9 * self.latency_s + 0.1 * latency_s
            if throttled:
                now = self.clock.now()
                if now - self._last_decrease >= BURST_WINDOW_S:
                    self.limit = max(float(self.minimum), self.limit * CONCURRENCY_DECREASE)
                    self._last_decrease = now
                    self.decreases += 1
            elif self._waiting and not rate_bound:
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            # Wake as many waiters as there are free slots: notify_all would wake every queued
            # request (a load queues two batches) on every answer, each to find no slot but one.
            self._changed.notify(max(0, self.allowed - self.in_flight))

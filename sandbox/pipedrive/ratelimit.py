"""Pipedrive's token-based rate limits: a burst window per token, a daily token budget per company,
and the edge's abuse protection for clients that keep sending after 429s.

The burst window is a sliding log of accepted request times over a rolling 2 s (refused requests are
not logged, so waiting `x-ratelimit-reset` seconds always frees a slot). Unlike the Visual Practice
limiter, every answer reports the seconds until the window frees (`x-ratelimit-reset`, as Pipedrive
sends it) rather than an epoch time, so this one keeps its own log. Not locked: the sandbox calls
these from its event loop only.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass

from vp2pd.pipedrive_contract import BURST_WINDOW_S

DAY_S = 86_400.0


@dataclass(frozen=True)
class BurstDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # whole seconds until the oldest request in the window leaves it

    def headers(self) -> dict[str, str]:
        return {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(self.remaining),
                "x-ratelimit-reset": str(self.reset_s)}


class BurstWindow:
    def __init__(self, window_s: float = BURST_WINDOW_S) -> None:
        self.window_s = window_s
        self._logs: dict[str, collections.deque[float]] = {}

    def _log(self, key: str, now: float) -> collections.deque[float]:
        log = self._logs.setdefault(key, collections.deque())
        while log and log[0] + self.window_s <= now:
            log.popleft()
        return log

    def _decision(self, log: collections.deque[float], allowed: bool, limit: int, now: float) -> BurstDecision:
        # Rounded up, so a client that waits this long finds a slot; at least 1 (a whole-second header).
        frees_at = log[max(0, len(log) - limit)] + self.window_s if log else now + self.window_s
        return BurstDecision(allowed, limit, max(0, limit - len(log)), max(1, math.ceil(frees_at - now)))

    def peek(self, key: str, now: float, limit: int) -> BurstDecision:
        log = self._log(key, now)
        return self._decision(log, len(log) < limit, limit, now)

    def hit(self, key: str, now: float, limit: int) -> BurstDecision:
        log = self._log(key, now)
        if len(log) >= limit:
            return self._decision(log, False, limit, now)
        log.append(now)
        return self._decision(log, True, limit, now)

    def reset(self) -> None:
        self._logs.clear()


class DailyBudget:
    """Tokens spent per UTC day by the company (all its tokens together); resets at 00:00 UTC."""

    def __init__(self) -> None:
        self.day = -1
        self.spent = 0

    def _roll(self, now: float) -> None:
        day = int(now // DAY_S)
        if day != self.day:
            self.day, self.spent = day, 0

    def allows(self, cost: int, budget: int, now: float) -> bool:
        """A call is refused when it would take the day's spending past the budget."""
        self._roll(now)
        return self.spent + cost <= budget

    def charge(self, cost: int, now: float) -> None:
        self._roll(now)
        self.spent += cost

    def resets_at(self, now: float) -> float:
        return (int(now // DAY_S) + 1) * DAY_S

    def reset(self) -> None:
        self.day, self.spent = -1, 0


class AbuseGuard:
    """More than `max_refused` 429-refused requests by one token within `window_s` → blocked for
    `block_s`: every request of that token is then answered 403 text/html, before the API sees it."""

    def __init__(self) -> None:
        self._refused: dict[str, collections.deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def blocked(self, key: str, now: float) -> bool:
        return self._blocked_until.get(key, 0.0) > now

    def refused(self, key: str, now: float, max_refused: int, window_s: float, block_s: float) -> bool:
        """Note a 429 to `key`; True if that makes it a hammering client, now blocked."""
        log = self._refused.setdefault(key, collections.deque())
        log.append(now)
        while log and log[0] + window_s <= now:
            log.popleft()
        if len(log) > max_refused:
            self._blocked_until[key] = now + block_s
            log.clear()
            return True
        return False

    def reset(self) -> None:
        self._refused.clear()
        self._blocked_until.clear()

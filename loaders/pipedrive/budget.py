"""The client's own ledger of today's token budget.

Pipedrive reports the 2-s burst in headers but nothing about the daily budget, so the client counts
what it spends from the cost table (`x-token-cost` of each operation in the OpenAPI) and refuses a
request that would eat into the reserve — before it is sent, so the budget is never overspent.
The budget resets at midnight in the company's time zone (configurable, UTC by default).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from vp2pd.clock import SYSTEM_CLOCK, Clock

from loaders.pipedrive.errors import BudgetExhausted
from loaders.pipedrive.settings import DEFAULT_TIMEZONE, RESERVE_FRACTION


class TokenLedger:
    def __init__(self, daily_budget: int, *, reserve: int | None = None, timezone: str = DEFAULT_TIMEZONE,
                 spent_today: int = 0, clock: Clock = SYSTEM_CLOCK) -> None:
        if daily_budget <= 0:
            raise ValueError(f"daily budget must be positive, got {daily_budget}")
        self.daily_budget = daily_budget
        self.reserve = round(daily_budget * RESERVE_FRACTION) if reserve is None else reserve
        if not 0 <= self.reserve < daily_budget:
            raise ValueError(f"reserve {self.reserve} must be within the daily budget {daily_budget}")
        self.tz = ZoneInfo(timezone)
        self.clock = clock
        self._day = self._today()
        # Tokens spent today before this process started (another run, the customer's team) count too.
        self._spent = spent_today
        self.by_operation: Counter[str] = Counter()

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock.now(), self.tz).date()

    def _roll(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent = today, 0
            self.by_operation.clear()

    @property
    def spent(self) -> int:
        self._roll()
        return self._spent

    @property
    def left(self) -> int:
        """Tokens left today, reserve included."""
        return self.daily_budget - self.spent

    @property
    def usable(self) -> int:
        """Tokens this client may still spend today (what is left above the reserve)."""
        return max(0, self.left - self.reserve)

    def resets_at(self) -> datetime:
        """The next midnight in the company's time zone, when Pipedrive refills the budget."""
        tomorrow = self._today() + timedelta(days=1)
        return datetime.combine(tomorrow, time(0), self.tz)

    def seconds_to_reset(self) -> float:
        return self.resets_at().timestamp() - self.clock.now()

    def charge(self, cost: int, operation: str) -> None:
        """Count a request about to be sent, or raise `BudgetExhausted` and send nothing."""
        if cost > self.usable:
            raise BudgetExhausted(cost, self.usable, self.reserve, self.resets_at())
        self._spent += cost
        self.by_operation[operation] += cost

    def exhaust(self) -> None:
        """Pipedrive says today's budget is spent (someone else spent it too): refuse until reset."""
        self._roll()
        self._spent = max(self._spent, self.daily_budget)

    def refund(self, cost: int, operation: str) -> None:
        """Give back a charge for a request Pipedrive did not count (it never reached the API)."""
        self._roll()
        self._spent = max(0, self._spent - cost)
        self.by_operation[operation] -= cost

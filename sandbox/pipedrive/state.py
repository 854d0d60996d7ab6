"""What the running sandbox knows: settings, the account, limiters, faults and counters."""

from __future__ import annotations

import collections
import json
import os
from dataclasses import dataclass, field
from typing import Any

from sandbox.pipedrive.account import Account
from sandbox.pipedrive.faults import PipedriveFaults
from sandbox.pipedrive.ratelimit import AbuseGuard, BurstWindow, DailyBudget
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from vp2pd import pipedrive_contract as pc
from vp2pd.clock import Clock


@dataclass
class Stats:
    requests: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)
    rate_limited: int = 0
    daily_limited: int = 0
    blocked: int = 0
    dropped: int = 0
    faults: collections.Counter[int] = field(default_factory=collections.Counter)

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "rate_limited": self.rate_limited, "daily_limited": self.daily_limited, "blocked": self.blocked,
                "dropped": self.dropped, "faults": {str(k): v for k, v in sorted(self.faults.items())}}


@dataclass
class TokenLedger:
    """Tokens charged since the account was made (or reset), total and per operation."""

    total: int = 0
    # "v2 addPerson" -> [calls, tokens]
    by_operation: dict[str, list[int]] = field(default_factory=dict)

    def charge(self, op: pc.Operation) -> None:
        self.total += op.token_cost
        calls_tokens = self.by_operation.setdefault(f"{op.version} {op.operation_id}", [0, 0])
        calls_tokens[0] += 1
        calls_tokens[1] += op.token_cost


class SandboxState:
    def __init__(self, settings: PipedriveSandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.stats = Stats()  # request counters cover the whole run, across resets
        self.reset()

    def reset(self, restore: bool = True) -> None:
        """A new account from the same seed (or the state file's, when there is one and `restore`),
        with fresh limits and token ledger."""
        self.account = Account(self.settings.account_seed, self.settings.company_domain,
                               lambda: self.settings.plan, self.clock.now)
        path = self.settings.state_file
        if restore and path is not None and path.exists():
            self.account.restore(json.loads(path.read_text(encoding="utf-8")))
        self.tokens = TokenLedger()
        self.burst = BurstWindow()
        self.budget = DailyBudget()
        self.abuse = AbuseGuard()
        self.faults = PipedriveFaults(self.settings.seed)

    def persist(self) -> None:
        """Write the account to the state file, if there is one (atomically: a crash mid-write
        leaves the previous snapshot)."""
        path = self.settings.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_text(json.dumps(self.account.snapshot(), separators=(",", ":")), encoding="utf-8")
        os.replace(partial, path)

    def reset_limits(self) -> None:
        self.burst.reset()
        self.budget.reset()
        self.abuse.reset()
        self.faults.storm_until = 0.0

    def update(self, settings: PipedriveSandboxSettings) -> None:
        reseed = settings.seed != self.settings.seed
        self.settings = settings
        if reseed:
            self.faults = PipedriveFaults(settings.seed)

    def daily_budget(self) -> int:
        s = self.settings
        return s.daily_budget if s.daily_budget is not None else pc.daily_budget(s.plan, s.seats)

    def tokens_json(self) -> dict[str, Any]:
        now = self.clock.now()
        self.budget.allows(0, 0, now)  # roll the day over if it has changed
        budget = self.daily_budget()
        return {"total": self.tokens.total,
                "by_operation": {k: {"calls": c, "tokens": t} for k, (c, t) in sorted(self.tokens.by_operation.items())},
                "daily_budget": budget, "spent_today": self.budget.spent,
                "left_today": max(0, budget - self.budget.spent), "resets_at": self.budget.resets_at(now)}

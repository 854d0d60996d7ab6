"""How the Pipedrive sandbox behaves: its account (plan, seats, seed), limits and the trouble it makes.

Defaults follow Pipedrive's documented limits; the abuse-protection numbers (how many 429-refused
requests in what window earn a block, and how long the block lasts) are not published, so we pick
values that a well-behaved client never meets and a retry loop without backoff meets within seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Plan = Literal["lite", "growth", "premium", "ultimate"]


class PipedriveSandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_token: str = Field(min_length=1, repr=False, description="Accepted as x-api-token, ?api_token= and Bearer.")
    oauth_tokens: frozenset[str] = Field(frozenset(), repr=False, description="More Bearer tokens accepted.")
    company_domain: str = Field("sandbox", description="The {company} of https://{company}.pipedrive.com.")
    plan: Plan = "growth"
    seats: int = Field(1, ge=1)
    account_seed: int = Field(0, description="Custom-field keys and option ids: two seeds, two accounts.")
    daily_budget: int | None = Field(None, ge=1, description="Override of 30,000 × plan multiplier × seats.")
    rate_limits: bool = Field(True, description="False: no burst or daily limit (headers still sent).")
    # Abuse protection ("hammering"): more than this many 429-refused requests by one token within
    # hammer_window_s earns a block of block_s seconds, answered 403 text/html as Pipedrive's edge does.
    hammer_max_refused: int = Field(20, ge=1)
    hammer_window_s: float = Field(10.0, gt=0)
    block_s: float = Field(60.0, gt=0)
    # Faults, seeded: latency is exponential with this mean (capped at 10× the mean).
    latency_ms: float = Field(0.0, ge=0)
    fault_rate: float = Field(0.0, ge=0, le=1, description="Share of API requests answered 502 or 503.")
    drop_rate: float = Field(0.0, ge=0, le=1, description="Share of API requests whose connection is dropped.")
    storm_rate: float = Field(0.0, ge=0, le=1, description="Chance per request that a 429 storm starts.")
    applied_fault_rate: float = Field(0.0, ge=0, le=1, description="Share of writes applied, then answered "
                                      "504 (the edge timed out after the API ran: the write landed, unseen).")
    storm_s: float = Field(5.0, gt=0, description="How long a 429 storm answers every request 429.")
    seed: int = Field(0, description="Faults repeat for a seed and request sequence.")
    state_file: Path | None = Field(None, description="JSON snapshot of the account, loaded at start and "
                                                      "rewritten after every change; None: in memory only.")

    def public(self) -> dict[str, Any]:
        """The settings as the admin surface shows them: everything but the tokens."""
        return self.model_dump(mode="json", exclude={"api_token", "oauth_tokens"})

    def patched(self, changes: dict[str, Any]) -> "PipedriveSandboxSettings":
        """New settings with `changes` applied and validated; tokens and the account seed are fixed."""
        fixed = {"api_token", "oauth_tokens", "account_seed", "state_file"} & set(changes)
        if fixed:
            raise ValueError(f"{', '.join(sorted(fixed))} cannot be changed at run time")
        return PipedriveSandboxSettings.model_validate({**self.model_dump(), **changes})

    def accepts(self, token: str) -> bool:
        return token == self.api_token or token in self.oauth_tokens

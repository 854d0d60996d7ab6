"""What the Pipedrive client raises. Every message is passed through `redact` so no token leaks."""

from __future__ import annotations

from datetime import datetime

from vp2pd.secrets import redact

from loaders.pipedrive.settings import ABUSE_MESSAGE


class PipedriveError(RuntimeError):
    """A Pipedrive request that failed for good, with the status and Pipedrive's error text."""

    def __init__(self, message: str, status: int | None = None, error_code: str | None = None) -> None:
        super().__init__(redact(message))
        self.status = status
        self.error_code = error_code


class AbuseProtection(PipedriveError):
    """Pipedrive's edge answered 403 with an HTML page: the client kept going after 429s."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{ABUSE_MESSAGE} ({detail})", 403, "abuse_protection")


class RateLimited(PipedriveError):
    """Still answered 429 after the configured number of waits."""


class RemovedEndpoint(PipedriveError):
    """A v1 endpoint Pipedrive no longer supports (use v2); refused before anything is sent."""


class UnknownOperation(PipedriveError):
    """A method and path that Pipedrive's OpenAPI does not document: its cost is unknown."""


class BudgetExhausted(PipedriveError):
    """Sending the next request would eat into the reserve of today's token budget."""

    def __init__(self, needed: int, left: int, reserve: int, resets_at: datetime) -> None:
        super().__init__(
            f"Pipedrive daily token budget: {needed} tokens needed, {left} left before the reserve of "
            f"{reserve}; the budget resets at {resets_at.isoformat()}", None, "budget_exhausted")
        self.needed, self.left, self.reserve, self.resets_at = needed, left, reserve, resets_at

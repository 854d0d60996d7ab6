"""When to retry a Pipedrive request, how long to wait, and the hooks the loader hangs on it.

Retried: 429 (waiting what `Retry-After` / `x-ratelimit-reset` say), 5xx, timeouts and dropped
connections (jittered exponential backoff). Never retried: a 403 whose body is an HTML page — that
is Pipedrive's edge blocking a client that kept hammering after 429s; the only cure is to stop.

Hooks let the loader's ledger (later issues) keep creates idempotent: `before_send` and
`after_response` see every attempt, and `on_retry` runs before a retry is sent — it may look up
whether the failed create landed anyway and return `Landed(data)` to stop retrying.
"""

from __future__ import annotations

import inspect
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import httpx

from loaders.pipedrive.limiter import header_number, reset_delay
from loaders.pipedrive.settings import BACKOFF_BASE_S, BACKOFF_CAP_S, MAX_429_WAITS, MAX_ATTEMPTS, RETRY_STATUSES

TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass
class RequestInfo:
    """One logical request; `attempt` counts its sends, `request_id` stays the same across them."""

    method: str
    path: str
    operation_id: str
    token_cost: int
    params: Mapping[str, Any] | None = None
    json: Any = None
    attempt: int = 0
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Landed:
    """What `on_retry` returns when the request already took effect: `data` is used as its result."""

    data: Any


MaybeAwaitable = Any  # a hook may be sync or async
BeforeSend = Callable[[RequestInfo], MaybeAwaitable]
AfterResponse = Callable[[RequestInfo, httpx.Response | None, BaseException | None], MaybeAwaitable]
OnRetry = Callable[[RequestInfo, str, float], MaybeAwaitable]


@dataclass
class Hooks:
    before_send: BeforeSend | None = None
    after_response: AfterResponse | None = None
    # (info, reason, delay_s) -> None to retry, or Landed(data) to stop with that result.
    on_retry: OnRetry | None = None


async def call_hook(hook: Callable[..., Any] | None, *args: Any) -> Any:
    if hook is None:
        return None
    result = hook(*args)
    return await result if inspect.isawaitable(result) else result


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = MAX_ATTEMPTS
    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S
    max_429_waits: int = MAX_429_WAITS
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def backoff(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        """Jittered exponential delay before retry number `attempt` (1-based): half fixed, half
        random, so parallel senders that failed together do not come back together. A 503's
        `Retry-After` is a floor (capped: a server asking for an hour gets the cap, then a retry)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        delay = ceiling * (0.5 + 0.5 * self.rng.random())
        told = header_number(headers, "retry-after") if headers is not None else None
        return min(self.cap_s, max(delay, told)) if told is not None else delay

    def wait_after_429(self, headers: Mapping[str, str], now: float, waits: int) -> float:
        told = reset_delay(headers, now)
        return told if told is not None else self.backoff(waits)


def is_abuse_block(response: httpx.Response) -> bool:
    """A 403 with an HTML body: the edge's abuse protection, not an API error (which is JSON)."""
    if response.status_code != 403:
        return False
    content_type = response.headers.get("content-type", "").lower()
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def is_retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES


def is_json(response: httpx.Response) -> bool:
    return "json" in response.headers.get("content-type", "").lower()

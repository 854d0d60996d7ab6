"""HTTP client for the Visual Practice REST API: Basic auth, User-Agent, rate limit, retries.

The client paces itself with a sliding log of its own requests (the API allows
`requests_per_minute` per key over a rolling minute) so it rarely meets a 429, and when it does it
waits exactly what `Retry-After` / `X-RateLimit-Reset` say. Transient failures (502/503/504,
timeouts, dropped connections) are retried with jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx

from vp2pd.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
MAX_429_WAITS = 50  # a limiter that keeps answering 429 for this long is a real problem


class VPError(RuntimeError):
    """A Visual Practice request that failed for good (after retries), with what it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SlidingWindowLimiter:
    """At most `limit` requests in any `window_s` seconds (the server's own rule).

    Each request holds its slot from the moment it is sent until its answer arrives, and the
    window counts from the later of the two: the server logs a request when it checks it, which
    is after we sent it (the connection, its queue, a busy server), and before it answers. Counting
    from the send, the first request of each new window arrived while the server still counted
    the old one: a 429 whose whole-second Retry-After stalled every stream for 1-2 s a minute.
    """

    def __init__(self, limit: int, window_s: float, clock: Clock) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._slots: collections.deque[list[float]] = collections.deque()  # [time], oldest first
        self._lock = asyncio.Lock()

    async def acquire(self) -> list[float]:
        """Wait for a free slot; returns it, to `settle` when the answer arrives."""
        async with self._lock:
            while True:
                now = self.clock.now()
                while self._slots and self._slots[0][0] <= now - self.window_s:
                    self._slots.popleft()
                if len(self._slots) < self.limit:
                    slot = [now]
                    self._slots.append(slot)
                    return slot
                await self.clock.sleep(self._slots[0][0] + self.window_s - now + 0.001)

    def settle(self, slot: list[float]) -> None:
        """The answer arrived (or the request failed): the slot's window counts from now."""
        slot[0] = max(slot[0], self.clock.now())

    def hold_until(self, when: float) -> None:
        """The server said no slot frees before `when`: fill the log so nobody sends earlier."""
        now = self.clock.now()
        self._slots = collections.deque([when - self.window_s] for _ in range(self.limit))
        log.debug("rate limited by server; pausing %.1fs", when - now)


class VPClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        user_agent: str,
        requests_per_minute: int = 200,
        window_s: float = 60.0,
        timeout_s: float = 30.0,
        max_retries: int = 8,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clock = clock
        self.max_retries = max_retries
        self.limiter = SlidingWindowLimiter(requests_per_minute, window_s, clock)
        self.requests_sent = 0
        self.retries = 0
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(api_key, ""),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            timeout=timeout_s,
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> "VPClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _url(self, path_or_url: str) -> str:
        # Relative paths resolve under the base URL; `links.next` arrives absolute.
        return path_or_url if "://" in path_or_url else path_or_url.lstrip("/")

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        self.retries += 1
        delay = retry_after if retry_after is not None else min(30.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0)
        await self.clock.sleep(delay)

    def _retry_after(self, response: httpx.Response) -> float | None:
        if "retry-after" in response.headers:
            try:
                return max(0.0, float(response.headers["retry-after"]))
            except ValueError:
                return None
        return None

    def _hold_after_429(self, response: httpx.Response) -> None:
        reset = response.headers.get("x-ratelimit-reset")
        wait = self._retry_after(response)
        if reset is not None:
            try:
                wait = max(wait or 0.0, float(reset) - self.clock.now())
            except ValueError:
                pass
        self.limiter.hold_until(self.clock.now() + max(wait if wait is not None else 1.0, 0.0))

    @asynccontextmanager
    async def stream(self, path_or_url: str, *, params: Any = None,
                     headers: dict[str, str] | None = None) -> AsyncIterator[httpx.Response]:
        """A successful streamed response (2xx), after rate limiting and retries."""
        attempt = waits_429 = 0
        yielded = False
        while True:
            slot = await self.limiter.acquire()
            self.requests_sent += 1
            retry_after: float | None = None
            try:
                async with self._http.stream("GET", self._url(path_or_url), params=params, headers=headers) as resp:
                    self.limiter.settle(slot)
                    if resp.status_code < 400:
                        yielded = True
                        yield resp
                        return
                    if resp.status_code == 429:
                        waits_429 += 1
                        if waits_429 > MAX_429_WAITS:
                            raise VPError(f"GET {path_or_url}: still rate limited after {MAX_429_WAITS} waits", 429)
                        self._hold_after_429(resp)  # the limiter now makes the next acquire wait
                        continue
                    if resp.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
                        body = (await resp.aread()).decode("utf-8", "replace")[:300]
                        url = resp.request.url.copy_with(query=None)
                        raise VPError(f"GET {url} answered {resp.status_code}: {body}", resp.status_code)
                    retry_after = self._retry_after(resp)
                    log.debug("GET %s answered %s; retrying", path_or_url, resp.status_code)
            except TRANSIENT_ERRORS as exc:
                self.limiter.settle(slot)  # it may have reached the server
                if yielded:  # failed while the caller read the body: the caller decides (e.g. resume)
                    raise
                if attempt >= self.max_retries:
                    raise VPError(f"GET {path_or_url} failed after {attempt} retries: {exc!r}") from exc
                log.debug("transient error on %s: %r", path_or_url, exc)
            await self._backoff(attempt, retry_after)
            attempt += 1

    async def get_json(self, path_or_url: str, params: Any = None) -> Any:
        async with self.stream(path_or_url, params=params) as resp:
            body = await resp.aread()
        try:
            return json.loads(body)
        except ValueError as exc:
            raise VPError(f"GET {path_or_url} did not answer JSON: {body[:200]!r}") from exc

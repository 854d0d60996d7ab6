"""Async client for Pipedrive's API: auth, v2/v1 routing, burst limit, token budget, retries.

Every request goes through one path (`_send`): the spec names its operation and cost (a removed v1
endpoint or an undocumented one is refused before anything is sent), the ledger charges its tokens
(or refuses, before the budget's reserve is touched), the adaptive concurrency and the burst
limiter let it go, and the retry rules decide what a failure means.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Literal, Mapping

import httpx

from vp2pd import pipedrive_contract as contract
from vp2pd.clock import SYSTEM_CLOCK, Clock
from vp2pd.secrets import pipedrive_api_token, redact

from loaders.pipedrive import paginate
from loaders.pipedrive.budget import TokenLedger
from loaders.pipedrive.errors import (AbuseProtection, BudgetExhausted, PipedriveError, RateLimited, RemovedEndpoint,
                                      UnknownOperation)
from loaders.pipedrive.limiter import AdaptiveConcurrency, BurstLimiter
from loaders.pipedrive.retry import (TRANSIENT_ERRORS, Hooks, Landed, RequestInfo, RetryPolicy, call_hook,
                                     is_abuse_block, is_json, is_retryable_status)
from loaders.pipedrive.settings import (COMPANY_URL, CONCURRENCY_INITIAL, CONCURRENCY_MAX, DAILY_LIMIT_CODE,
                                        DEFAULT_TIMEZONE, ITEM_SEARCH_TYPES, OBJECTS, SEARCHABLE, TIMEOUT_S, UNCHARGED_STATUSES,
                                        USER_AGENT, V1_PAGE_LIMIT, V1_PAGE_LIMITS, V2_PAGE_LIMIT, VERSION_PREFIX)

log = logging.getLogger(__name__)
Auth = Literal["api_token", "oauth"]


def _key(op: contract.Operation) -> str:
    """How the ledger names an operation: v1 and v2 share some operationIds (getPersonFields)."""
    return f"{op.version} {op.operation_id}"


class PipedriveClient:
    def __init__(self, base_url: str, token: str, *, auth: Auth = "api_token", plan: str = "growth", seats: int = 1,
                 timezone: str = DEFAULT_TIMEZONE, daily_budget: int | None = None,
                 reserve_tokens: int | None = None, spent_today: int = 0,
                 hooks: Hooks | None = None, retry: RetryPolicy | None = None, clock: Clock = SYSTEM_CLOCK,
                 transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = TIMEOUT_S,
                 concurrency: int = CONCURRENCY_INITIAL, max_concurrency: int = CONCURRENCY_MAX,
                 user_agent: str = USER_AGENT) -> None:
        if not token:
            raise ValueError("a Pipedrive API token (or OAuth access token) is required")
        self.base_url = base_url.rstrip("/")
        self.plan = plan
        self.clock = clock
        self.hooks = hooks or Hooks()
        self.retry = retry or RetryPolicy()
        # `daily_budget` overrides the plan's figure (an account that bought extra tokens, a sandbox).
        budget = daily_budget if daily_budget is not None else contract.daily_budget(plan, seats)
        self.ledger = TokenLedger(budget, reserve=reserve_tokens, timezone=timezone,
                                  spent_today=spent_today, clock=clock)
        self.burst = BurstLimiter(contract.burst_limit(plan), clock=clock)
        self.search_burst = BurstLimiter(contract.SEARCH_BURST_PER_2S, clock=clock)
        self.concurrency = AdaptiveConcurrency(concurrency, maximum=max_concurrency, clock=clock,
                                               rate=lambda: self.burst.limit / self.burst.window_s)
        self._token = token
        auth_header = {"x-api-token": token} if auth == "api_token" else {"Authorization": f"Bearer {token}"}
        self._http = httpx.AsyncClient(base_url=self.base_url, headers={**auth_header, "User-Agent": user_agent},
                                       timeout=timeout_s, transport=transport, follow_redirects=False)
        self.requests_sent = 0
        self.retries = 0
        self.responses_429 = 0
        # Set by the edge's HTML 403: from then on this client sends nothing (a new client, later, may).
        self.blocked: str | None = None

    @classmethod
    def from_env(cls, base_url: str | None = None, *, company: str | None = None,
                 **options: Any) -> "PipedriveClient":
        """A client whose token is `PIPEDRIVE_API_TOKEN` from the environment (never from a file), for
        `base_url` (the sandbox, a proxy) or the company's own `https://{company}.pipedrive.com`."""
        if (base_url is None) == (company is None):
            raise ValueError("give either base_url or company")
        url = base_url if base_url is not None else COMPANY_URL.format(company=company)
        return cls(url, pipedrive_api_token(), **options)

    def __repr__(self) -> str:  # never the token
        return f"PipedriveClient({self.base_url!r}, plan={self.plan!r}, tokens_spent={self.ledger.spent})"

    async def __aenter__(self) -> "PipedriveClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _scrub(self, text: str) -> str:
        return redact(text.replace(self._token, "<token>"))

    # -- routing -------------------------------------------------------------------------------

    @staticmethod
    def path(obj: str, suffix: str = "") -> str:
        """The API path of an object (`persons` -> `/api/v2/persons`), v2 or v1 by the routing table."""
        if obj not in OBJECTS:
            raise ValueError(f"unknown Pipedrive object {obj!r}; known: {', '.join(OBJECTS)}")
        version, base, _ = OBJECTS[obj]
        return f"{VERSION_PREFIX[version]}{base}{suffix}"

    def operation(self, method: str, path: str) -> contract.Operation:
        if contract.is_removed_v1(method, path):
            raise RemovedEndpoint(f"{method} {path}: Pipedrive's v1 endpoint is out of support since 2026-08-01; "
                                  f"use the v2 endpoint (client.path(...) routes it)")
        op = contract.operation_for(method, path)
        if op is None:
            raise UnknownOperation(f"{method} {path} is not an operation of Pipedrive's API v1 or v2")
        return op

    # -- the one request path ------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, files: Any = None, data: Any = None) -> dict[str, Any]:
        """The JSON body of a successful call (a `Landed` result from `on_retry` stands in for it)."""
        result = await self._send(method, path, params=params, json=json, files=files, data=data)
        if isinstance(result, Landed):
            return {"success": True, "data": result.data}
        if not is_json(result):
            raise PipedriveError(f"{method} {path}: expected JSON, got {result.headers.get('content-type')!r}",
                                 result.status_code)
        return result.json()

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response | Landed:
        method = method.upper()
        op = self.operation(method, path)
        if self.blocked is not None:  # every request during a block only extends it
            raise AbuseProtection(f"{method} {path} not sent: {self.blocked}")
        info = RequestInfo(method, path, op.operation_id, op.token_cost, kwargs.get("params"), kwargs.get("json"))
        waits_429 = failures = 0
        while True:
            info.attempt += 1
            response, error = await self._attempt(op, info, **kwargs)
            if response is not None and response.status_code < 400:
                return response
            if response is not None and is_abuse_block(response):
                self.blocked = f"{method} {path} answered 403 with an HTML page"
                raise AbuseProtection(self.blocked)
            if response is not None and response.status_code == 429:
                if self._daily_limit(response):
                    self.ledger.exhaust()
                    raise BudgetExhausted(op.token_cost, 0, self.ledger.reserve, self.ledger.resets_at())
                waits_429 += 1
                self.responses_429 += 1
                if waits_429 > self.retry.max_429_waits:
                    raise RateLimited(f"{method} {path}: still 429 after {waits_429 - 1} waits", 429)
                delay, reason = self.retry.wait_after_429(response.headers, self.clock.now(), waits_429), "429"
                (self.search_burst if op.is_search else self.burst).hold(delay)  # every sender waits
            elif error is not None or (response is not None and is_retryable_status(response.status_code)):
                failures += 1
                reason = type(error).__name__ if error is not None else str(response.status_code)
                if failures >= self.retry.max_attempts:
                    raise PipedriveError(f"{method} {path}: gave up after {failures} attempts ({reason})",
                                         response.status_code if response is not None else None) from None
                delay = self.retry.backoff(failures, response.headers if response is not None else None)
            else:
                raise self._error(method, path, response)
            self.retries += 1
            outcome = await call_hook(self.hooks.on_retry, info, reason, delay)
            if isinstance(outcome, Landed):
                return outcome
            log.debug("retrying %s %s in %.2fs (%s)", method, path, delay, reason)
            await self.clock.sleep(delay)

    async def _attempt(self, op: contract.Operation, info: RequestInfo,
                       **kwargs: Any) -> tuple[httpx.Response | None, BaseException | None]:
        self.ledger.charge(op.token_cost, _key(op))  # raises before sending, never after
        await self.concurrency.acquire()
        throttled, latency = False, None
        try:
            slots = [(self.burst, await self.burst.acquire())]
            if op.is_search:  # a search counts in both windows
                slots.append((self.search_burst, await self.search_burst.acquire()))
            await call_hook(self.hooks.before_send, info)
            self.requests_sent += 1

            async def trace(event: str, _: dict[str, Any]) -> None:
                if event.endswith("send_request_body.complete"):
                    for limiter, slot in slots:
                        limiter.sent(slot)

            started = self.clock.now()
            try:
                response = await self._http.request(info.method, info.path, extensions={"trace": trace}, **kwargs)
            except TRANSIENT_ERRORS as exc:
                if isinstance(exc, httpx.ConnectError):  # never reached Pipedrive: not counted there
                    self.ledger.refund(op.token_cost, _key(op))
                await call_hook(self.hooks.after_response, info, None, exc)
                return None, exc
            throttled, latency = response.status_code == 429, self.clock.now() - started
            if response.status_code in UNCHARGED_STATUSES:
                self.ledger.refund(op.token_cost, _key(op))
            limiter, slot = slots[-1]  # the headers describe the window that decided: search's for a search
            limiter.observe(response.headers, slot)
            await call_hook(self.hooks.after_response, info, response, None)
            return response, None
        finally:
            await self.concurrency.release(throttled=throttled, rate_bound=self.burst.pacing, latency_s=latency)

    @staticmethod
    def _daily_limit(response: httpx.Response) -> bool:
        if not is_json(response):
            return False
        try:
            return response.json().get("code") == DAILY_LIMIT_CODE
        except ValueError:
            return False

    def _error(self, method: str, path: str, response: httpx.Response) -> PipedriveError:
        detail, code = response.text[:500], None
        if is_json(response):
            try:
                body = response.json()
                detail = str(body.get("error") or body.get("message") or detail)
                if body.get("error_info"):
                    detail += f" ({body['error_info']})"
                code = body.get("code") or body.get("errorCode")
            except ValueError:
                pass
        return PipedriveError(self._scrub(f"{method} {path} answered {response.status_code}: {detail}"),
                              response.status_code, str(code) if code is not None else None)

    # -- objects -------------------------------------------------------------------------------

    async def create(self, obj: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return (await self.request("POST", self.path(obj), json=dict(body)))["data"]

    async def get(self, obj: str, record_id: int | str) -> dict[str, Any]:
        return (await self.request("GET", self.path(obj, f"/{record_id}")))["data"]

    async def update(self, obj: str, record_id: int | str, body: Mapping[str, Any]) -> dict[str, Any]:
        method = "PATCH" if OBJECTS[obj][0] == "v2" else "PUT"  # v2 patches; v1 puts
        return (await self.request(method, self.path(obj, f"/{record_id}"), json=dict(body)))["data"]

    async def delete(self, obj: str, record_id: int | str) -> Any:
        return (await self.request("DELETE", self.path(obj, f"/{record_id}")))["data"]

    def list(self, obj: str, *, page_size: int | None = None, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Every record of `obj`, page by page at the largest page size (or `page_size`)."""
        path = self.path(obj)  # raises for an unknown object
        _, base, paging = OBJECTS[obj]
        if paging == "cursor":
            return paginate.cursor_items(self._fetch, path, params, limit=page_size or V2_PAGE_LIMIT)
        if paging == "offset":
            limit = page_size or V1_PAGE_LIMITS.get(base, V1_PAGE_LIMIT)
            return paginate.offset_items(self._fetch, path, params, limit=limit)
        return paginate.single_page(self._fetch, path, params)

    def list_path(self, path: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Every record of any v2 cursor-paged list (fields endpoints, followers, ...)."""
        return paginate.cursor_items(self._fetch, path, params)

    def search(self, obj: str, term: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """v2 search: `/{obj}/search` where it exists, else itemSearch narrowed to the item type."""
        if obj in SEARCHABLE:
            return paginate.cursor_items(self._fetch, self.path(obj, "/search"), {"term": term, **params})
        if obj not in ITEM_SEARCH_TYPES:
            raise ValueError(f"{obj!r} cannot be searched; searchable: {', '.join([*SEARCHABLE, *ITEM_SEARCH_TYPES])}")
        return paginate.cursor_items(self._fetch, "/api/v2/itemSearch",
                                     {"term": term, "item_types": ITEM_SEARCH_TYPES[obj], **params})

    async def upload_file(self, content: bytes, filename: str, **links: int) -> dict[str, Any]:
        """v1 multipart upload, linked to e.g. `person_id=` / `deal_id=`."""
        form = {k: str(v) for k, v in links.items()}
        return (await self.request("POST", self.path("files"), files={"file": (filename, content)}, data=form))["data"]

    async def download_file(self, file_id: int) -> bytes:
        result = await self._send("GET", self.path("files", f"/{file_id}/download"))
        if isinstance(result, Landed):
            return bytes(result.data)
        return result.content

    async def _fetch(self, method: str, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request(method, path, params=params)

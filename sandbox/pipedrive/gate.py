"""Everything before and after a handler, in Pipedrive's order: auth (401), the edge's abuse block
(403 HTML), the spec lookup (removed v1 endpoints 410, unknown paths 404, spec operations the
sandbox does not emulate 501), 429 storms, the burst window (429), the daily token budget (429),
added latency, dropped connections and 5xx faults; then the handler, charged its `x-token-cost`;
then, for a write that succeeded, maybe a 504 in place of its answer (applied, answer lost at the edge).

Tokens are charged for every request that reaches an emulated operation: success or 4xx alike, as
Pipedrive charges a call, not a result. Requests refused before it (401, 403 block, 404/410/501,
429, dropped, injected 5xx) cost nothing. Every answer but a dropped connection carries
`x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` of the token's burst window.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import traceback
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import ERROR_INFO, PipedriveError
from sandbox.pipedrive.faults import ConnectionDropped
from sandbox.pipedrive.ratelimit import BurstDecision
from sandbox.pipedrive.state import SandboxState
from sandbox.pipedrive.timefmt import v2_time
from sandbox.visual_practice.gate import BAD_GATEWAY
from vp2pd import pipedrive_contract as pc

SEARCH_WINDOW = ":search"
GATEWAY_TIMEOUT = ("<html><head><title>504 Gateway Time-out</title></head>\n"
                   "<body><h1>504 Gateway Time-out</h1></body></html>\n")
BLOCKED_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Access denied | pipedrive.com</title></head>\n<body>\n"
    "<h1>Sorry, you have been blocked</h1>\n<p>You are unable to access pipedrive.com: this client kept "
    "sending requests after being rate limited (HTTP 429).</p>\n<p>Back off and retry later.</p>\n</body></html>\n"
)


def presented_token(request: Request) -> str | None:
    """The token of `x-api-token`, `Authorization: Bearer` or `?api_token=` (in that order)."""
    token = request.headers.get("x-api-token")
    if token:
        return token
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.query_params.get("api_token") or None


def _accepted(state: SandboxState, token: str | None) -> bool:
    if not token:
        return False
    s = state.settings
    return any(hmac.compare_digest(token.encode(), t.encode()) for t in (s.api_token, *s.oauth_tokens))


def unauthorized() -> JSONResponse:
    return JSONResponse({"success": False, "error": "unauthorized access", "errorCode": 401,
                         "error_info": ERROR_INFO, "data": None, "additional_data": None}, 401)


async def drop_connection(receive: Receive) -> None:
    """Close the client's connection without an answer. Under uvicorn the request cycle's `receive`
    is bound to the connection, whose transport we abort; once uvicorn has seen the connection lost
    it sends nothing (no 500) and the client gets "Server disconnected without sending a response".
    In process (httpx ASGITransport) there is no connection: ConnectionDropped goes up to the caller."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise ConnectionDropped("the sandbox dropped the connection")
    transport.abort()
    await asyncio.sleep(0)  # let uvicorn's connection_lost run before the app returns


class ApiGate:
    """An ASGI app for every path that is not the admin surface."""

    def __init__(self, state: SandboxState, handlers: Handlers) -> None:
        self.state = state
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        state = self.state
        state.stats.requests += 1
        request = Request(scope, receive)
        limit_headers: dict[str, str] = {}

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                state.stats.by_status[message["status"]] += 1
                MutableHeaders(scope=message).update(limit_headers)
            await send(message)

        try:
            response = await self._answer(request, limit_headers)
        except ConnectionDropped:
            await drop_connection(receive)
            return
        await response(scope, receive, counted)

    async def _answer(self, request: Request, limit_headers: dict[str, str]) -> Response:
        state, settings = self.state, self.state.settings
        now = state.clock.now()
        op = pc.operation_for(request.method, request.url.path)
        token = presented_token(request)
        plan_limit = pc.burst_limit(settings.plan, op)
        window_key = (token or "") + (SEARCH_WINDOW if op is not None and op.is_search else "")
        limit_headers.update(state.burst.peek(window_key, now, plan_limit).headers())
        if not _accepted(state, token):
            return unauthorized()
        assert token is not None
        if state.abuse.blocked(token, now):
            state.stats.blocked += 1
            return HTMLResponse(BLOCKED_PAGE, 403)
        if op is None:
            return self._no_operation(request)
        handler = self.handlers.get((op.version, op.operation_id))
        if handler is None:
            return PipedriveError(501, f"The sandbox does not emulate {op.method} {op.template} "
                                       f"({op.version} {op.operation_id})").response()
        if settings.rate_limits:
            refused = self._rate_limited(op, token, now, limit_headers)
            if refused is not None:
                return refused
        latency = state.faults.latency_s(settings.latency_ms)
        if latency:
            await state.clock.sleep(latency)
        if state.faults.drops(settings.drop_rate):
            state.stats.dropped += 1
            raise ConnectionDropped(f"sandbox dropped {request.method} {request.url.path}")
        fault = state.faults.fault(settings.fault_rate)
        if fault is not None:
            state.stats.faults[fault] += 1
            if fault == 502:
                return HTMLResponse(BAD_GATEWAY, 502)
            return PipedriveError(503, "Service temporarily unavailable").response()
        state.budget.charge(op.token_cost, now)
        state.tokens.charge(op)
        ctx = Ctx(request, op, pc.path_params(op, request.url.path), state)
        try:
            response = await handler(ctx)
            if request.method != "GET" and response.status_code < 300:
                state.persist()
                if state.faults.fails_after_applying(settings.applied_fault_rate):
                    state.stats.faults[504] += 1
                    return HTMLResponse(GATEWAY_TIMEOUT, 504)
            return response
        except PipedriveError as exc:
            return exc.response()
        except Exception:  # a sandbox bug must look like Pipedrive's 500, and say what broke
            return PipedriveError(500, "Internal server error: " + traceback.format_exc(limit=-3)).response()

    def _no_operation(self, request: Request) -> Response:
        path = request.url.path
        if pc.is_removed_v1(request.method, path):
            return PipedriveError(410, f"{request.method} {path} is no longer available: Pipedrive removed this v1 "
                                       "endpoint on 2026-08-01; use API v2 (/api/v2/...)").response()
        return PipedriveError(404, f"Unknown method {request.method} {path}").response()

    def _rate_limited(self, op: pc.Operation, token: str, now: float,
                      limit_headers: dict[str, str]) -> Response | None:
        state, settings = self.state, self.state.settings
        decision: BurstDecision | None = None
        if state.faults.in_storm(settings.storm_rate, settings.storm_s, now):
            decision = BurstDecision(False, pc.burst_limit(settings.plan, op), 0,
                                     max(1, math.ceil(state.faults.storm_until - now)))
        elif op.is_search:
            decision = state.burst.hit(token + SEARCH_WINDOW, now, pc.SEARCH_BURST_PER_2S)
            if decision.allowed:
                state.burst.hit(token, now, pc.burst_limit(settings.plan))
        else:
            decision = state.burst.hit(token, now, pc.burst_limit(settings.plan))
        limit_headers.update(decision.headers())
        if not decision.allowed:
            return self._too_many(token, now, "Request over limit. Rate limit of "
                                  f"{decision.limit} requests per 2 seconds reached for this token.")
        budget = state.daily_budget()
        if not state.budget.allows(op.token_cost, budget, now):
            state.stats.daily_limited += 1
            resets = v2_time(state.budget.resets_at(now))
            return self._too_many(token, now, f"Daily limit reached: the company's daily budget of {budget} API tokens "
                                  f"is spent ({state.budget.spent} used; this call costs {op.token_cost}). "
                                  f"The budget resets at {resets}.", daily=True)
        return None

    def _too_many(self, token: str, now: float, message: str, daily: bool = False) -> Response:
        state, s = self.state, self.state.settings
        if not daily:
            state.stats.rate_limited += 1
        body: dict[str, Any] = PipedriveError(429, message, code="daily_limit_exceeded" if daily else "rate_limit").body()
        if state.abuse.refused(token, now, s.hammer_max_refused, s.hammer_window_s, s.block_s):
            # This 429 is the one too many: from the next request on, the edge blocks the token.
            body["error"] += " Too many requests after 429s: this token is now blocked."
        return JSONResponse(body, 429)

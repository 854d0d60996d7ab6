"""What stands before every `/api/v1` request, in this order: User-Agent check (400), Basic auth (401),
rate limit (429), added latency, injected faults (502 / 503); then the route.

Every answer after the auth check carries `X-RateLimit-Limit` and `X-RateLimit-Remaining`, except the
injected 502, which plays a proxy answering for a dead upstream and so knows nothing of the limit.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.visual_practice.query import ApiError
from sandbox.visual_practice.state import SandboxState

BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Basic realm="Visual Practice API"'}
HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed"}


def error_response(exc: ApiError | HTTPException) -> JSONResponse:
    if isinstance(exc, ApiError):
        return JSONResponse(exc.body, exc.status, headers=exc.headers)
    return JSONResponse({"error": HTTP_ERRORS.get(exc.status_code, "error")}, exc.status_code, headers=exc.headers)


def authenticated_key(authorization: str | None, api_key: str) -> str | None:
    """The API key of a valid `Basic base64(key:)` header (key as user name, empty password), else None."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not sep or password or not hmac.compare_digest(user.encode(), api_key.encode()):
        return None
    return user


class ApiGate:
    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state, settings = self.state, self.state.settings
        state.stats.requests += 1

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                state.stats.by_status[message["status"]] += 1
            await send(message)

        headers = Headers(scope=scope)
        if not headers.get("user-agent"):
            body = {"error": "user_agent_required", "message": "send a User-Agent header naming your client"}
            await JSONResponse(body, 400)(scope, receive, counted)
            return
        key = authenticated_key(headers.get("authorization"), settings.api_key)
        if key is None:
            await JSONResponse({"error": "unauthorized"}, 401, headers=UNAUTHORIZED_HEADERS)(scope, receive, counted)
            return

        now = state.clock.now()
        decision = state.limiter.hit(key, now, settings.requests_per_minute, settings.window_s)
        limit_headers = decision.headers(now)
        if not decision.allowed:
            state.stats.rate_limited += 1
            await JSONResponse({"error": "rate_limited"}, 429, headers=limit_headers)(scope, receive, counted)
            return

        async def with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(limit_headers)
            await counted(message)

        latency = state.faults.latency_s(settings.latency_ms)
        if latency:
            await state.clock.sleep(latency)
        fault = state.faults.fault(settings.fault_rate)
        if fault is not None:
            state.stats.faults[fault] += 1
            if fault == 502:
                await Response(BAD_GATEWAY, 502, media_type="text/html")(scope, receive, counted)
            else:
                unavailable = JSONResponse({"error": "unavailable"}, 503, headers={"Retry-After": "1"})
                await unavailable(scope, receive, with_limits)
            return

        try:
            await self.app(scope, receive, with_limits)
        except (ApiError, HTTPException) as exc:
            await error_response(exc)(scope, receive, with_limits)


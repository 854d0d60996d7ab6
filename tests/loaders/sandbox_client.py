"""The Pipedrive client wired to the in-process sandbox, every exchange checked against the spec."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
from starlette.applications import Starlette

from loaders.pipedrive.client import PipedriveClient
from sandbox.pipedrive.faults import ConnectionDropped
from tests.contract.pipedrive_sandbox import BASE, TOKEN
from tests.contract.validate import ValidatingTransport, validate_exchange
from vp2pd.clock import FakeClock


class DropsAsDisconnect(httpx.AsyncBaseTransport):
    """In process a dropped connection surfaces as the sandbox's ConnectionDropped; over TCP httpx
    sees the server disconnect without an answer. Map the one to the other, as the wire would."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self.inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response", request=request) from exc


class ProxyPagesUnchecked(httpx.AsyncBaseTransport):
    """Validates like ValidatingTransport, except a 5xx HTML page: that is a proxy answering for an
    unavailable upstream (the sandbox's injected 502 plays nginx), which the API spec cannot document,
    just as it cannot document the edge's HTML 403. Used only by the fault-injection test."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges = self.proxy_pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self.inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        checked = httpx.Response(response.status_code, headers=response.headers, content=raw, request=request)
        if response.status_code >= 500 and "html" in response.headers.get("content-type", ""):
            self.proxy_pages += 1
        else:
            validate_exchange(request, checked)
        self.exchanges += 1
        return httpx.Response(response.status_code, headers=response.headers, content=raw, request=request)


@asynccontextmanager
async def pd_client(app: Starlette, clock: FakeClock, token: str = TOKEN, proxy_pages_unchecked: bool = False,
                    **options: Any) -> AsyncIterator[PipedriveClient]:
    """A `PipedriveClient` on the sandbox's FakeClock. On leaving, checks that the validator saw every
    exchange the sandbox answered (dropped connections have no answer to check)."""
    state = app.state.sandbox
    checking = ProxyPagesUnchecked if proxy_pages_unchecked else ValidatingTransport
    transport = checking(DropsAsDisconnect(httpx.ASGITransport(app=app)))
    before, dropped_before = state.stats.requests, state.stats.dropped
    async with PipedriveClient(BASE, token, clock=clock, transport=transport, **options) as client:
        yield client
    answered = (state.stats.requests - before) - (state.stats.dropped - dropped_before)
    assert transport.exchanges == answered, f"validated {transport.exchanges} of {answered} API exchanges"


async def admin(app: Starlette, what: str) -> Any:
    """GET /_admin/<what> of the sandbox (tokens, export, stats): its own view, outside the API."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        response = await http.get(f"/_admin/{what}")
        response.raise_for_status()
        return response.json()


async def live(app: Starlette, table: str) -> list[dict[str, Any]]:
    """Rows of an account table that are not deleted, from the admin export."""
    rows = (await admin(app, "export"))[table]
    return [r for r in rows if not r.get("is_deleted") and r.get("active_flag") is not False]

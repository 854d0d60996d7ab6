"""Drive setup / load / rollback against the in-process sandbox, as the CLI does."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.load import Loader, LoadResult
from loaders.pipedrive.setup import SetupResult, run_setup
from tests.contract.pipedrive_sandbox import BASE, TOKEN
from tests.contract.validate import ValidatingTransport
from tests.load.conftest import Env
from tests.loaders.sandbox_client import DropsAsDisconnect, ProxyPagesUnchecked, admin

CREATE_PATHS = ("/api/v2/persons", "/api/v2/organizations", "/api/v2/deals", "/api/v2/activities",
                "/api/v2/products", "/v1/notes", "/v1/files", "/v1/organizationRelationships")


class LosesAnswers(httpx.AsyncBaseTransport):
    """The sandbox applies every `every`-th create, then the answer is lost on the way back (a read
    error): exactly the crash window between Pipedrive accepting a create and us hearing of it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, every: int) -> None:
        self.inner, self.every, self.creates, self.lost = inner, every, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path in CREATE_PATHS:
            self.creates += 1
            if self.creates % self.every == 0:
                await response.aread()
                self.lost += 1
                raise httpx.ReadError("connection reset while reading the answer", request=request)
        return response


@asynccontextmanager
async def client_for(env: Env, *, lose_every: int = 0, proxy_pages: bool = False,
                     **options: Any) -> AsyncIterator[PipedriveClient]:
    inner: httpx.AsyncBaseTransport = DropsAsDisconnect(httpx.ASGITransport(app=env.app))
    if lose_every:
        inner = LosesAnswers(inner, lose_every)
    # With injected 502 pages (a proxy's HTML, which the API spec cannot document) those go unchecked.
    transport = ProxyPagesUnchecked(inner) if proxy_pages else ValidatingTransport(inner)
    async with PipedriveClient(BASE, TOKEN, clock=env.clock, transport=transport, **options) as client:
        client.transport_under_test = inner  # type: ignore[attr-defined]
        yield client


async def setup(env: Env, **options: Any) -> SetupResult:
    ledger = env.ledger()
    try:
        async with client_for(env, **options) as client:
            return await run_setup(client, ledger, env.home / "pipeline.yml")
    finally:
        ledger.close()


async def load(env: Env, *, stop_at_budget: bool = False, **options: Any) -> LoadResult:
    ledger = env.ledger()
    try:
        async with client_for(env, **options) as client:
            return await Loader(client, ledger, env.home, currency="CAD", stop_at_budget=stop_at_budget).run()
    finally:
        ledger.close()


async def export(env: Env) -> dict[str, Any]:
    return await admin(env.app, "export")


async def create_calls(env: Env) -> int:
    """Create calls the sandbox has charged so far (its own ledger, per operation)."""
    tokens = await admin(env.app, "tokens")
    return sum(v["calls"] for op, v in tokens["by_operation"].items() if op.split(" ")[1].startswith("add"))


async def sample(env: Env, size: int, quirks=None):
    from loaders.pipedrive.sample import run_sample

    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            return await run_sample(client, ledger, env.home, size, currency="CAD", quirks=quirks)
    finally:
        ledger.close()


async def decide(env: Env, decision: str, run_id: str | None = None) -> dict[str, Any]:
    from loaders.pipedrive.sample import decide as run_decide

    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            return await run_decide(client, ledger, run_id, decision)
    finally:
        ledger.close()


async def delta(env: Env, **options: Any):
    from loaders.pipedrive.delta import run_delta

    ledger = env.ledger()
    try:
        async with client_for(env, **options) as client:
            return await run_delta(client, ledger, env.home, currency="CAD")
    finally:
        ledger.close()


async def write_calls(env: Env) -> int:
    """API writes (every operation but the get* reads) the sandbox has charged so far."""
    tokens = await admin(env.app, "tokens")
    return sum(v["calls"] for op, v in tokens["by_operation"].items() if not op.split(" ")[1].startswith("get"))

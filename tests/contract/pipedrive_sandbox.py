"""Test helpers for the Pipedrive sandbox: an in-process app on a FakeClock and an httpx client
whose every API exchange passes through the contract validator.

`sandbox_client` also checks, on leaving, that the validator saw exactly as many API exchanges as
the sandbox answered: no response of a test escapes the contract check.
"""

from __future__ import annotations

import asyncio
import functools
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx
from starlette.applications import Starlette

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from tests.contract.validate import INVALID_REQUEST, ValidatingTransport
from vp2pd.clock import FakeClock

TOKEN = "pd-test-token-5b1c"
BASE = "https://sandbox.pipedrive.com"
INVALID = {INVALID_REQUEST: True}  # extensions= of a request that breaks the spec on purpose


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def make_sandbox(**settings: Any) -> tuple[Starlette, FakeClock]:
    clock = FakeClock()
    return create_app(PipedriveSandboxSettings(api_token=TOKEN, **settings), clock), clock


@asynccontextmanager
async def sandbox_client(app: Starlette, token: str | None = TOKEN,
                         headers: dict[str, str] | None = None) -> AsyncIterator[httpx.AsyncClient]:
    transport = ValidatingTransport(httpx.ASGITransport(app=app))
    sent = {"x-api-token": token} if token else {}
    stats = app.state.sandbox.stats
    before, dropped_before = stats.requests, stats.dropped
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers={**sent, **(headers or {})}) as client:
        yield client
    # A dropped connection has no answer to check.
    answered = (stats.requests - before) - (stats.dropped - dropped_before)
    assert transport.exchanges == answered, f"validated {transport.exchanges} of {answered} API exchanges"


def data(response: httpx.Response) -> Any:
    assert response.is_success, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    body = response.json()
    assert body["success"] is True
    return body["data"]

"""The Pipedrive sandbox as a real server on 127.0.0.1 (`start()`), with the contract validator on
a real network transport, and a dropped connection as a client sees it over TCP."""

from __future__ import annotations

import httpx
import pytest

from sandbox.pipedrive.server import start
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from tests.contract.pipedrive_sandbox import TOKEN, run_async
from tests.contract.validate import ValidatingTransport


@run_async
async def test_start_serves_the_api_over_tcp() -> None:
    with start(PipedriveSandboxSettings(api_token=TOKEN, plan="lite")) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        transport = ValidatingTransport(httpx.AsyncHTTPTransport())
        async with httpx.AsyncClient(transport=transport, base_url=server.url, headers={"x-api-token": TOKEN}) as client:
            made = await client.post("/api/v2/persons", json={"name": "Over TCP"})
            assert made.status_code == 200 and made.json()["data"]["id"] == 1
            listed = await client.get("/api/v2/persons")
            assert [p["name"] for p in listed.json()["data"]] == ["Over TCP"]
            assert listed.headers["x-ratelimit-limit"] == "20"
            assert (await client.get("/v1/deals")).status_code == 410
            upload = await client.post("/v1/files", data={"person_id": "1"}, files={"file": ("a.txt", b"abc", "text/plain")})
            download = await client.get(f"/v1/files/{upload.json()['data']['id']}/download")
            assert download.content == b"abc"
        assert transport.exchanges == 5
        async with httpx.AsyncClient(base_url=server.url) as admin:
            assert (await admin.get("/_admin/tokens")).json()["total"] == 5 + 10 + 10 + 20


@run_async
async def test_a_dropped_connection_is_a_disconnect_without_answer() -> None:
    with start(PipedriveSandboxSettings(api_token=TOKEN, drop_rate=1.0)) as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"x-api-token": TOKEN}) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
                await client.get("/api/v2/persons")
            async with httpx.AsyncClient(base_url=server.url) as admin:
                assert (await admin.patch("/_admin/settings", json={"drop_rate": 0})).status_code == 200
                stats = (await admin.get("/_admin/stats")).json()
            assert stats["dropped"] == 1 and stats["by_status"] == {}
            assert (await client.get("/api/v2/persons")).status_code == 200  # the sandbox lives on

"""The Pipedrive sandbox as a real server on 127.0.0.1 (`start()`), with the contract validator on
a real network transport, and a dropped connection as a client sees it over TCP."""

from __future__ import annotations

from pathlib import Path

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


@run_async
async def test_a_state_file_keeps_the_account_across_restarts(tmp_path: Path) -> None:
    settings = PipedriveSandboxSettings(api_token=TOKEN, account_seed=9, state_file=tmp_path / "pd" / "state.json")
    headers = {"x-api-token": TOKEN}
    with start(settings) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            field = (await client.post("/api/v2/personFields", json={"field_name": "Status", "field_type": "enum",
                                                                     "options": [{"label": "A"}]})).json()["data"]
            person = (await client.post("/api/v2/persons", json={"name": "Kept", "custom_fields": {
                field["field_code"]: field["options"][0]["id"]}})).json()["data"]
            await client.post("/v1/files", data={"person_id": str(person["id"])}, files={"file": ("k.txt", b"kept")})
            await client.delete("/api/v2/persons/1")
    with start(settings) as server:  # a new process would read the same file
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            shown = (await client.get(f"/api/v2/persons/{person['id']}")).json()["data"]
            assert shown["is_deleted"] is True and shown["custom_fields"] == person["custom_fields"]
            assert (await client.get("/v1/files/1/download")).content == b"kept"
            second = (await client.post("/api/v2/persons", json={"name": "After"})).json()["data"]
            assert second["id"] == 2  # ids go on where they stopped
            later = (await client.post("/api/v2/personFields", json={"field_name": "Later", "field_type": "varchar"})).json()
    # The field made after the restart has the key an uninterrupted account makes next.
    with start(PipedriveSandboxSettings(api_token=TOKEN, account_seed=9)) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            await client.post("/api/v2/personFields", json={"field_name": "Status", "field_type": "enum",
                                                             "options": [{"label": "A"}]})
            same = (await client.post("/api/v2/personFields", json={"field_name": "Later", "field_type": "varchar"})).json()
    assert later["data"]["field_code"] == same["data"]["field_code"]

"""Auth, token-based rate limits (burst per 2 s, search burst, daily budget), abuse protection (403
HTML), the token ledger, injected faults and the admin surface, on a FakeClock."""

from __future__ import annotations

import httpx
import pytest

from sandbox.pipedrive.faults import ConnectionDropped
from tests.contract.pipedrive_sandbox import BASE, TOKEN, data, make_sandbox, run_async, sandbox_client
from vp2pd import pipedrive_contract as pc

LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def admin(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)  # type: ignore[arg-type]


@run_async
async def test_auth_by_header_query_and_bearer_else_401() -> None:
    app, _ = make_sandbox(oauth_tokens=frozenset({"oauth-access-1"}))
    async with sandbox_client(app, token=None) as client:
        assert (await client.get("/api/v2/persons", headers={"x-api-token": TOKEN})).status_code == 200
        assert (await client.get("/api/v2/persons", params={"api_token": TOKEN})).status_code == 200
        assert (await client.get("/v1/users/me", headers={"Authorization": "Bearer oauth-access-1"})).status_code == 200
        for headers in ({}, {"x-api-token": "wrong"}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
            answer = await client.get("/api/v2/persons", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.json()["success"] is False and answer.json()["error"] == "unauthorized access"
            assert all(h in answer.headers for h in LIMIT_HEADERS)
        assert (await client.get("/v1/users/me")).json()["errorCode"] == 401  # v1 documents this 401 shape
    assert app.state.sandbox.tokens.total == 10 + 10 + 2  # 401s cost nothing


@run_async
async def test_burst_limit_429_headers_body_and_recovery() -> None:
    app, clock = make_sandbox(plan="growth")
    async with sandbox_client(app) as client:
        for i in range(40):
            answer = await client.get("/api/v2/persons")
            assert answer.status_code == 200
            assert answer.headers["x-ratelimit-limit"] == "40"
            assert answer.headers["x-ratelimit-remaining"] == str(39 - i)
        refused = await client.get("/api/v2/persons")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/json"
        assert (refused.headers["x-ratelimit-remaining"], refused.headers["x-ratelimit-reset"]) == ("0", "2")
        body = refused.json()
        assert body["success"] is False and body["data"] is None and "40 requests per 2 seconds" in body["error"]
        clock.advance(int(refused.headers["x-ratelimit-reset"]))
        assert (await client.get("/api/v2/persons")).status_code == 200  # waiting the reset frees the window
    assert app.state.sandbox.stats.rate_limited == 1
    assert app.state.sandbox.tokens.total == 41 * 10  # the refused call is not charged


@pytest.mark.parametrize(("plan", "burst"), list(pc.BURST_PER_2S.items()))
@run_async
async def test_burst_limit_follows_the_plan(plan: str, burst: int) -> None:
    app, clock = make_sandbox(plan=plan)
    async with sandbox_client(app) as client:
        codes = [(await client.get("/api/v2/stages")).status_code for _ in range(burst + 1)]
    assert codes == [200] * burst + [429]


@run_async
async def test_search_has_its_own_burst_of_ten() -> None:
    app, clock = make_sandbox(plan="ultimate")
    async with sandbox_client(app) as client:
        codes = [(await client.get("/api/v2/itemSearch", params={"term": "ann"})).status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        listed = await client.get("/api/v2/persons")
        assert listed.status_code == 200 and listed.headers["x-ratelimit-limit"] == "120"
        assert listed.headers["x-ratelimit-remaining"] == str(120 - 11)  # searches count in the general window too


@run_async
async def test_hammering_after_429s_gets_403_html_until_the_block_ends() -> None:
    app, clock = make_sandbox(plan="lite", hammer_max_refused=5, hammer_window_s=10, block_s=60)
    async with sandbox_client(app) as client:
        codes = [(await client.get("/api/v2/deals")).status_code for _ in range(20 + 6)]
        assert codes == [200] * 20 + [429] * 6  # the 6th 429 within 10 s is one too many
        blocked = await client.get("/api/v2/deals")
        assert blocked.status_code == 403 and blocked.headers["content-type"].startswith("text/html")
        assert "<html" in blocked.text and "blocked" in blocked.text
        clock.advance(30)  # the burst window is long free, but the block lasts
        assert (await client.get("/api/v2/deals")).status_code == 403
        clock.advance(31)
        assert (await client.get("/api/v2/deals")).status_code == 200
    stats = app.state.sandbox.stats
    assert (stats.rate_limited, stats.blocked, stats.by_status[403]) == (6, 2, 2)


@run_async
async def test_a_client_that_waits_after_429_is_never_blocked() -> None:
    app, clock = make_sandbox(plan="lite")  # default abuse rule: more than 20 refusals in 10 s
    async with sandbox_client(app) as client:
        statuses = []
        for _ in range(120):
            answer = await client.get("/api/v2/deals")
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                clock.advance(int(answer.headers["x-ratelimit-reset"]))
        assert 403 not in statuses and statuses.count(429) >= 5  # one refusal per window, then it waits


@run_async
async def test_daily_budget_is_spent_by_token_cost_and_resets_at_midnight_utc() -> None:
    app, clock = make_sandbox(daily_budget=100)
    async with sandbox_client(app) as client:
        for _ in range(10):  # GET /persons costs 10
            assert (await client.get("/api/v2/persons")).status_code == 200
            clock.advance(1)
        over = await client.get("/api/v2/persons")
        assert over.status_code == 429 and "Daily limit" in over.json()["error"]
        assert over.json()["code"] == "daily_limit_exceeded" and "resets at 2026-11-19T00:00:00Z" in over.json()["error"]
        assert over.headers["x-ratelimit-remaining"] != "0"  # the burst window is not what refused it
        async with admin(app) as a:
            tokens = (await a.get("/_admin/tokens")).json()
        assert (tokens["daily_budget"], tokens["spent_today"], tokens["left_today"]) == (100, 100, 0)
        clock.advance(tokens["resets_at"] - clock.now())
        assert (await client.get("/api/v2/persons")).status_code == 200


def test_daily_budget_from_plan_and_seats() -> None:
    app, _ = make_sandbox(plan="premium", seats=3)
    assert app.state.sandbox.daily_budget() == 30_000 * 5 * 3 == pc.daily_budget("premium", 3)


@run_async
async def test_tokens_spent_equal_the_sum_of_x_token_cost() -> None:
    app, clock = make_sandbox(rate_limits=False)
    expected: dict[str, int] = {}
    async with sandbox_client(app) as client:
        async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
            answer = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
            op = pc.operation_for(method, path)
            assert op is not None
            key = f"{op.version} {op.operation_id}"
            expected[key] = expected.get(key, 0) + pc.token_cost(method, path)
            return answer

        await call("POST", "/api/v2/organizations", json={"name": "Org"})
        for i in range(3):
            await call("POST", "/api/v2/persons", json={"name": f"P{i}", "org_id": 1})
        await call("PATCH", "/api/v2/persons/2", json={"name": "P1b"})
        await call("GET", "/api/v2/persons", params={"limit": 500})
        await call("GET", "/api/v2/persons/1")
        await call("DELETE", "/api/v2/persons/3")
        await call("GET", "/api/v2/persons/search", params={"term": "p1"})
        await call("POST", "/v1/notes", json={"content": "n", "person_id": 1})
        await call("GET", "/v1/notes")
        await call("POST", "/api/v2/persons", json={"name": "bad", "owner_id": 77})  # a 400 is charged too
        await call("GET", "/v1/users/find", params={"term": "admin"})
        await client.get("/v1/persons")  # removed endpoint: 410, free
    async with admin(app) as a:
        tokens = (await a.get("/_admin/tokens")).json()
    assert tokens["total"] == sum(expected.values()) == 5 + 3 * 5 + 5 + 10 + 1 + 3 + 20 + 10 + 20 + 5 + 40
    assert {k: v["tokens"] for k, v in tokens["by_operation"].items()} == expected
    assert tokens["by_operation"]["v2 addPerson"]["calls"] == 4


@run_async
async def test_faults_5xx_latency_storms_and_drops_are_seeded() -> None:
    app, clock = make_sandbox(rate_limits=False, fault_rate=1.0)
    async with sandbox_client(app) as client:
        codes = {(await client.get("/api/v2/persons")).status_code for _ in range(20)}
        assert codes == {502, 503}
    assert app.state.sandbox.tokens.total == 0

    app, clock = make_sandbox(rate_limits=False, latency_ms=100, seed=3)
    start = clock.now()
    async with sandbox_client(app) as client:
        for _ in range(50):
            assert (await client.get("/api/v2/persons")).status_code == 200
    waited = clock.now() - start
    assert 2.0 < waited < 10.0  # exponential, mean 100 ms: about 5 s of virtual time for 50 calls

    app, clock = make_sandbox(storm_rate=1.0, storm_s=5)
    async with sandbox_client(app) as client:
        stormed = await client.get("/api/v2/persons")
        assert stormed.status_code == 429 and stormed.headers["x-ratelimit-reset"] == "5"
        async with admin(app) as a:
            assert (await a.patch("/_admin/settings", json={"storm_rate": 0})).json()["storm_rate"] == 0
        assert (await client.get("/api/v2/persons")).status_code == 429  # the storm runs its course
        clock.advance(5)
        assert (await client.get("/api/v2/persons")).status_code == 200

    app, _ = make_sandbox(rate_limits=False, drop_rate=1.0)
    async with sandbox_client(app) as client:
        with pytest.raises(ConnectionDropped):  # in process; over TCP see test_pipedrive_server
            await client.get("/api/v2/persons")
    assert app.state.sandbox.stats.dropped == 1 and app.state.sandbox.tokens.total == 0


@run_async
async def test_admin_export_stats_settings_reset_and_seeding() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with admin(app) as a:
        fields = (await a.post("/_admin/fields", json=[
            {"entity": "person", "field_name": "Status", "field_type": "enum", "options": ["Active", "Inactive"]},
            {"entity": "deal", "field_name": "Contract no", "field_type": "varchar"}])).json()
        assert [f["entity"] for f in fields] == ["person", "deal"] and len(fields[0]["options"]) == 2
        bad = await a.post("/_admin/fields", json=[{"entity": "lead", "field_name": "x", "field_type": "varchar"}])
        assert bad.status_code == 400
        async with sandbox_client(app) as client:
            data(await client.post("/api/v2/persons", json={"name": "Ann", "custom_fields": {
                fields[0]["field_code"]: fields[0]["options"][0]["id"]}}))
            data(await client.delete("/api/v2/persons/1"))
            await client.get("/api/v2/persons/42")
        export = (await a.get("/_admin/export")).json()
        assert export["persons"][0]["is_deleted"] is True
        assert export["persons"][0]["_custom"] == {fields[0]["field_code"]: fields[0]["options"][0]["id"]}
        assert {f["field_code"] for f in export["fields"]["person"]} >= {"name", fields[0]["field_code"]}
        assert export["users"][0]["email"] == "admin@sandbox.example" and len(export["stages"]) == 5
        stats = (await a.get("/_admin/stats")).json()
        assert stats["requests"] == 3 and stats["by_status"] == {"200": 2, "404": 1}
        shown = (await a.get("/_admin/settings")).json()
        assert "api_token" not in shown and shown["plan"] == "growth"
        refused = await a.patch("/_admin/settings", json={"api_token": "x"})
        assert refused.status_code == 400
        assert (await a.patch("/_admin/settings", json={"plan": "gold"})).status_code == 400
        assert (await a.patch("/_admin/settings", json={"plan": "lite"})).json()["plan"] == "lite"
        assert (await a.post("/_admin/reset")).json() == {"reset": True}
        after = (await a.get("/_admin/export")).json()
        assert after["persons"] == [] and (await a.get("/_admin/tokens")).json()["total"] == 0
        # The same seed makes the same account: a re-seeded field gets the same key as before.
        again = (await a.post("/_admin/fields", json=[
            {"entity": "person", "field_name": "Status", "field_type": "enum", "options": ["Active", "Inactive"]}])).json()
        assert again[0]["field_code"] == fields[0]["field_code"]

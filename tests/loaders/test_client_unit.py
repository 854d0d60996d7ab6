"""The client's mechanics against scripted answers: auth, routing, retries, abuse block, hooks,
budget, secrecy of the token."""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.errors import (AbuseProtection, BudgetExhausted, PipedriveError, RemovedEndpoint,
                                      UnknownOperation)
from loaders.pipedrive.retry import Hooks, Landed, RetryPolicy
from tests.loaders.helpers import BASE, TOKEN, Script, make_client, ok
from vp2pd import pipedrive_contract as pc
from vp2pd.clock import FakeClock

HTML_403 = httpx.Response(403, text="<!DOCTYPE html><html><body>Access denied</body></html>",
                          headers={"content-type": "text/html; charset=UTF-8"})


def run(coro):
    return asyncio.run(coro)


def test_api_token_header_and_routing_per_object() -> None:
    script = Script(FakeClock(), [ok({"id": 1}), ok({"id": 2}), ok({"id": 1, "name": "B"})])

    async def go():
        async with make_client(script) as c:
            await c.create("persons", {"name": "A"})
            await c.create("notes", {"content": "n", "person_id": 1})
            await c.update("persons", 1, {"name": "B"})

    run(go())
    assert script.paths == ["POST /api/v2/persons", "POST /v1/notes", "PATCH /api/v2/persons/1"]
    first = script.seen[0][1]
    assert first.headers["x-api-token"] == TOKEN
    assert "authorization" not in first.headers and "api_token" not in str(first.url)


def test_oauth_sends_a_bearer_token() -> None:
    script = Script(FakeClock(), [ok({"id": 7})])

    async def go():
        async with make_client(script, auth="oauth") as c:
            return await c.get("deals", 7)

    assert run(go()) == {"id": 7}
    request = script.seen[0][1]
    assert request.headers["authorization"] == f"Bearer {TOKEN}" and "x-api-token" not in request.headers


def test_removed_v1_endpoint_is_refused_before_anything_is_sent() -> None:
    script = Script(FakeClock())

    async def go():
        async with make_client(script) as c:
            for method, path in [("GET", "/v1/persons"), ("POST", "/v1/deals"), ("PUT", "/v1/organizations/4")]:
                with pytest.raises(RemovedEndpoint, match="out of support"):
                    await c.request(method, path)
            with pytest.raises(UnknownOperation):
                await c.request("GET", "/api/v2/nonsense")
            return c.ledger.spent

    assert run(go()) == 0
    assert script.seen == []


def test_429_waits_what_the_server_says_then_succeeds() -> None:
    clock = FakeClock()
    script = Script(clock, [httpx.Response(429, json={"success": False, "error": "Too many requests"},
                                           headers={"retry-after": "1.5", "x-ratelimit-remaining": "0"}),
                            ok([{"id": 1}], next_cursor=None)])

    async def go():
        async with make_client(script) as c:
            rows = [r async for r in c.list("persons")]
            return rows, c.responses_429, c.retries

    rows, throttled, retries = run(go())
    assert rows == [{"id": 1}] and throttled == 1 and retries == 1
    assert script.seen[1][0] - script.seen[0][0] >= 1.5


def test_html_403_raises_abuse_protection_without_parsing_or_retrying() -> None:
    script = Script(FakeClock(), [HTML_403])

    async def go():
        async with make_client(script) as c:
            await c.create("persons", {"name": "A"})

    with pytest.raises(AbuseProtection, match="Pipedrive abuse protection: back off") as info:
        run(go())
    assert len(script.seen) == 1 and info.value.status == 403
    assert not isinstance(info.value.__context__, ValueError)  # no JSON decode was attempted


def test_after_the_block_the_client_sends_nothing_more() -> None:
    script = Script(FakeClock(), [HTML_403])

    async def go():
        async with make_client(script) as c:
            with pytest.raises(AbuseProtection):
                await c.create("persons", {"name": "A"})
            with pytest.raises(AbuseProtection, match="not sent"):
                await c.get("persons", 1)

    run(go())
    assert len(script.seen) == 1  # each request during a block would only extend it


def test_json_403_is_an_api_error_not_abuse() -> None:
    script = Script(FakeClock(), [httpx.Response(403, json={"success": False, "error": "Field limit reached",
                                                            "code": "feature_capping_custom_fields_limit"})])

    async def go():
        async with make_client(script) as c:
            await c.request("POST", "/api/v2/personFields", json={"field_name": "x", "field_type": "varchar"})

    with pytest.raises(PipedriveError) as info:
        run(go())
    assert not isinstance(info.value, AbuseProtection)
    assert info.value.error_code == "feature_capping_custom_fields_limit" and "Field limit reached" in str(info.value)


def test_5xx_timeouts_and_dropped_connections_are_retried_with_growing_backoff() -> None:
    clock = FakeClock()
    script = Script(clock, [httpx.Response(502, text="<html>Bad gateway</html>"), httpx.ReadTimeout("slow"),
                            httpx.RemoteProtocolError("peer closed connection"), httpx.Response(503),
                            ok({"id": 9})])

    async def go():
        async with make_client(script) as c:
            return await c.create("organizations", {"name": "Clinic"}), c.retries

    data, retries = run(go())
    assert data == {"id": 9} and retries == 4
    times = [t for t, _ in script.seen]
    gaps = [b - a for a, b in zip(times, times[1:])]
    policy = RetryPolicy()
    for n, gap in enumerate(gaps, start=1):  # jitter keeps each delay in [cap/2, cap]
        ceiling = min(policy.cap_s, policy.base_s * 2 ** (n - 1))
        assert ceiling / 2 <= gap <= ceiling + 1e-9


def test_retry_after_of_a_503_is_honoured() -> None:
    clock = FakeClock()
    script = Script(clock, [httpx.Response(503, json={"success": False, "error": "maintenance"},
                                           headers={"retry-after": "7"}), ok({"id": 1})])

    async def go():
        async with make_client(script) as c:
            return await c.get("persons", 1)

    assert run(go()) == {"id": 1}
    assert script.seen[1][0] - script.seen[0][0] == pytest.approx(7.0, abs=0.01)


def test_gives_up_after_max_attempts_with_a_clear_error() -> None:
    script = Script(FakeClock(), [httpx.Response(500)] * 3)

    async def go():
        async with make_client(script, retry=RetryPolicy(max_attempts=3)) as c:
            await c.get("persons", 1)

    with pytest.raises(PipedriveError, match="gave up after 3 attempts"):
        run(go())
    assert len(script.seen) == 3


def test_on_retry_hook_can_stop_a_create_that_already_landed() -> None:
    clock = FakeClock()
    script = Script(clock, [httpx.ReadTimeout("answer lost")])
    events: list[tuple] = []

    def before(info):
        events.append(("send", info.request_id, info.attempt))

    def after(info, response, error):
        events.append(("after", info.request_id, type(error).__name__ if error else response.status_code))

    async def on_retry(info, reason, delay):
        events.append(("retry", info.request_id, reason))
        return Landed({"id": 42, "name": "A"})  # the ledger found the person by its migration key

    async def go():
        async with make_client(script, hooks=Hooks(before, after, on_retry)) as c:
            return await c.create("persons", {"name": "A"})

    assert run(go()) == {"id": 42, "name": "A"}
    assert len(script.seen) == 1  # no second create was sent
    request_ids = {e[1] for e in events}
    assert len(request_ids) == 1
    assert [e[0] for e in events] == ["send", "after", "retry"] and events[1][2] == "ReadTimeout"


def test_ledger_charges_the_spec_cost_of_every_request_sent() -> None:
    script = Script(FakeClock(), [ok({"id": 1}), ok({"id": 1}), ok({"id": 1}), ok([], pagination={}),
                                  httpx.Response(500), ok({"id": 1})])

    async def go():
        async with make_client(script) as c:
            await c.create("persons", {"name": "A"})
            await c.update("persons", 1, {"name": "B"})
            await c.delete("persons", 1)
            [r async for r in c.list("notes")]
            await c.create("notes", {"content": "x", "person_id": 1})
            return c.ledger.spent, dict(c.ledger.by_operation)

    spent, by_op = run(go())
    expected = (pc.token_cost("POST", "/api/v2/persons") + pc.token_cost("PATCH", "/api/v2/persons/1")
                + pc.token_cost("DELETE", "/api/v2/persons/1") + pc.token_cost("GET", "/v1/notes")
                + 2 * pc.token_cost("POST", "/v1/notes"))  # the 500 reached Pipedrive: it was charged
    assert spent == expected == sum(by_op.values())
    assert by_op["v1 addNote"] == 2 * pc.token_cost("POST", "/v1/notes")


def test_budget_stops_before_the_reserve_and_says_when_it_resets() -> None:
    clock = FakeClock(datetime(2026, 12, 1, 21, 30, tzinfo=ZoneInfo("America/Toronto")).timestamp())
    budget = pc.daily_budget("lite", 1)
    cost = pc.token_cost("POST", "/api/v2/persons")
    script = Script(clock, [ok({"id": n}) for n in range(3)])

    async def go():
        c = make_client(script, plan="lite", seats=1, reserve_tokens=100, timezone="America/Toronto",
                        spent_today=budget - 100 - 2 * cost - 1)
        async with c:
            await c.create("persons", {"name": "A"})
            await c.create("persons", {"name": "B"})
            with pytest.raises(BudgetExhausted) as info:
                await c.create("persons", {"name": "C"})
            return c, info.value

    c, exc = run(go())
    assert len(script.seen) == 2  # the third create was never sent
    assert c.ledger.left == 101 and c.ledger.usable == 1
    assert exc.resets_at == datetime(2026, 12, 2, 0, 0, tzinfo=ZoneInfo("America/Toronto"))
    assert "resets at 2026-12-02T00:00:00-05:00" in str(exc) and f"{cost} tokens needed" in str(exc)
    clock.advance(c.ledger.seconds_to_reset() + 1)  # past midnight in Toronto: a new day's budget
    assert c.ledger.spent == 0 and c.ledger.usable == budget - 100


def test_token_never_appears_in_errors_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN", raising=False)  # the client scrubs on its own
    echo = httpx.Response(401, json={"success": False, "error": f"unauthorized: token {TOKEN} is invalid"})
    script = Script(FakeClock(), [echo, HTML_403, httpx.Response(500, text=f"trace {TOKEN}")])

    async def go():
        c = make_client(script, retry=RetryPolicy(max_attempts=1))
        texts = [repr(c), str(c)]
        async with c:
            for call in (c.get("persons", 1), c.get("persons", 2), c.get("persons", 3),
                         c.request("GET", "/v1/persons")):
                with pytest.raises(PipedriveError) as info:
                    await call
                texts += [str(info.value), repr(info.value)]
        return texts

    texts = run(go())
    assert any("unauthorized" in t for t in texts)
    assert all(TOKEN not in t for t in texts)


def test_from_env_reads_the_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "env-token-abc123")
    client = PipedriveClient.from_env(BASE, plan="premium", seats=3)
    assert client._http.headers["x-api-token"] == "env-token-abc123"
    assert client.ledger.daily_budget == 30_000 * 5 * 3 and client.burst.limit == 100
    assert PipedriveClient.from_env(company="lakeside").base_url == "https://lakeside.pipedrive.com"
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN")
    with pytest.raises(Exception, match="PIPEDRIVE_API_TOKEN is not set"):
        PipedriveClient.from_env(BASE)

"""The client against the in-process Pipedrive sandbox (FakeClock), every exchange validated against
the official OpenAPI: paging to the end, 429s, the edge's 403, faults, the token ledger, the budget."""

import asyncio

import httpx
import pytest

from loaders.pipedrive import values
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.errors import AbuseProtection, BudgetExhausted, PipedriveError, RemovedEndpoint
from loaders.pipedrive.retry import Hooks, Landed, RequestInfo
from tests.contract.pipedrive_sandbox import BASE, TOKEN, make_sandbox, run_async, sandbox_client
from tests.contract.validate import ValidatingTransport
from tests.loaders.sandbox_client import admin, live, pd_client
from vp2pd import pipedrive_contract as pc


@run_async
async def test_cursor_and_offset_pagination_reach_the_end() -> None:
    app, clock = make_sandbox()
    async with pd_client(app, clock) as c:
        made = [await c.create("persons", {"name": f"Person {i}"}) for i in range(23)]
        paged = [p["id"] async for p in c.list("persons", page_size=5)]
        whole = [p["id"] async for p in c.list("persons")]
        for i in range(7):
            await c.create("notes", {"content": f"<p>note {i}</p>", "person_id": made[0]["id"]})
        notes = [n["content"] async for n in c.list("notes", page_size=3, person_id=made[0]["id"])]
        for i in range(3):
            await c.upload_file(f"file {i}".encode(), f"f{i}.txt", person_id=made[1]["id"])
        files = [f["name"] async for f in c.list("files", page_size=2)]
        first_file = min([f async for f in c.list("files")], key=lambda f: f["id"])
        downloaded = await c.download_file(first_file["id"])
        by_op = c.ledger.by_operation
    assert paged == whole == [p["id"] for p in made]
    assert by_op["v2 getPersons"] == pc.token_cost("GET", "/api/v2/persons") * (5 + 1)  # 5 pages of 5, then 1 of 500
    assert notes == [f"<p>note {i}</p>" for i in range(7)]
    assert by_op["v1 getNotes"] == pc.token_cost("GET", "/v1/notes") * 3
    assert sorted(files) == ["f0.txt", "f1.txt", "f2.txt"] and downloaded == b"file 0"


@run_async
async def test_searches_keep_to_their_own_lower_burst_limit() -> None:
    app, clock = make_sandbox()
    async with pd_client(app, clock, auth="oauth") as c:  # Bearer works as well as x-api-token
        await c.create("persons", {"name": "Jo Client"})
        start = clock.now()
        for _ in range(25):
            assert [p["name"] async for p in c.search("persons", "Jo")] == ["Jo Client"]
        elapsed = clock.now() - start
    stats = await admin(app, "stats")
    assert stats["rate_limited"] == 0  # 10 per 2 s for searches, never exceeded
    assert elapsed >= (25 - 10) * pc.BURST_WINDOW_S / pc.SEARCH_BURST_PER_2S


@run_async
async def test_429_backs_off_then_every_create_lands_once() -> None:
    app, clock = make_sandbox(plan="growth")  # 40 per 2 s
    async with sandbox_client(app) as raw:  # another process on the same token fills the window
        statuses = [(await raw.get("/api/v2/persons")).status_code for _ in range(40)]
    assert statuses == [200] * 40
    start = clock.now()
    async with pd_client(app, clock, plan="premium", concurrency=8) as c:  # wrongly believes Premium's 100
        made = await asyncio.gather(*(c.create("persons", {"name": f"P{i}"}) for i in range(70)))
        throttled, learned = c.responses_429, c.burst.limit
    stats = await admin(app, "stats")
    assert throttled >= 1 and stats["rate_limited"] == throttled and stats["blocked"] == 0
    assert learned == 40  # x-ratelimit-limit corrected the client's plan figure
    assert clock.now() - start >= 2.0  # waited for the window the 429 named
    persons = await live(app, "persons")
    assert sorted(p["name"] for p in persons) == sorted(f"P{i}" for i in range(70))
    assert sorted(m["id"] for m in made) == sorted(p["id"] for p in persons)


@run_async
async def test_hammering_gets_the_edges_html_403_and_a_clear_error() -> None:
    app, clock = make_sandbox(hammer_max_refused=3)
    async with sandbox_client(app) as raw:  # someone else's loop that ignores 429s on our token
        statuses = [(await raw.get("/api/v2/persons")).status_code for _ in range(46)]
    assert 429 in statuses and statuses[-1] == 403
    async with pd_client(app, clock) as c:
        with pytest.raises(AbuseProtection, match="Pipedrive abuse protection: back off"):
            await c.create("persons", {"name": "after the block"})
        sent = c.requests_sent
    assert sent == 1  # not retried: the block lasts, retrying only extends it
    assert await live(app, "persons") == []


@run_async
async def test_5xx_and_dropped_connections_are_retried_without_duplicates() -> None:
    app, clock = make_sandbox(fault_rate=0.2, drop_rate=0.15, seed=3)
    async with pd_client(app, clock, proxy_pages_unchecked=True) as c:  # the spec has no proxy 502 page
        made = [await c.create("persons", {"name": f"P{i}"}) for i in range(40)]
        retries, spent = c.retries, c.ledger.spent
    stats, tokens = await admin(app, "stats"), await admin(app, "tokens")
    faults = sum(stats["faults"].values())
    assert stats["dropped"] >= 1 and faults >= 1
    assert retries == stats["dropped"] + faults
    assert len(await live(app, "persons")) == 40 == len({m["id"] for m in made})
    # Injected 5xx are refunded; a dropped answer stays charged (the client cannot know it was free).
    assert spent - tokens["total"] == stats["dropped"] * pc.token_cost("POST", "/api/v2/persons")


@run_async
async def test_token_ledger_equals_the_sandbox_count_after_a_mixed_workload() -> None:
    app, clock = make_sandbox()
    async with pd_client(app, clock) as c:
        org = await c.create("organizations", {"name": "Lakeside Clinic"})
        people = [await c.create("persons", {"name": f"Client {i}", "org_id": org["id"]}) for i in range(6)]
        deal = await c.create("deals", {"title": "Care plan", "person_id": people[0]["id"]})
        await c.update("persons", people[1]["id"], {"name": "Client One"})
        await c.update("deals", deal["id"], {"title": "Care plan 2027"})
        await c.get("organizations", org["id"])
        assert len([p async for p in c.list("persons")]) == 6
        assert [p["id"] async for p in c.search("persons", "Client One")] == [people[1]["id"]]
        assert [o["id"] async for o in c.search("organizations", "Lakeside")] == [org["id"]]
        note = await c.create("notes", {"content": "<p>SOAP</p>", "person_id": people[2]["id"]})
        await c.update("notes", note["id"], {"content": "<p>SOAP, amended</p>"})
        assert len([n async for n in c.list("notes")]) == 1
        await c.delete("notes", note["id"])
        await c.delete("persons", people[5]["id"])
        assert [u async for u in c.list("users")]
        assert [t async for t in c.list("activityTypes")]
        with pytest.raises(PipedriveError) as bad:  # a 400 is charged too, on both sides
            await c.create("persons", {"name": "X", "org_id": 999_999})
        assert bad.value.status == 400
        client_total, client_by_op = c.ledger.spent, +c.ledger.by_operation
    tokens = await admin(app, "tokens")
    assert client_total == tokens["total"] == tokens["spent_today"]
    assert client_by_op == {op: v["tokens"] for op, v in tokens["by_operation"].items()}
    assert len(client_by_op) >= 14


@run_async
async def test_budget_exhaustion_stops_before_the_reserve_with_nothing_overspent() -> None:
    app, clock = make_sandbox(daily_budget=500)
    cost = pc.token_cost("POST", "/api/v2/persons")
    async with pd_client(app, clock, daily_budget=500, reserve_tokens=50) as c:
        with pytest.raises(BudgetExhausted) as stop:
            for i in range(1000):
                await c.create("persons", {"name": f"P{i}"})
        sent, spent = c.requests_sent, c.ledger.spent
    tokens, stats = await admin(app, "tokens"), await admin(app, "stats")
    assert spent == tokens["spent_today"] == 450 and sent == 450 // cost
    assert len(await live(app, "persons")) == 450 // cost
    assert stats["daily_limited"] == 0  # the sandbox never had to refuse: the client stopped itself
    assert stop.value.resets_at.timestamp() == tokens["resets_at"]  # UTC midnight, as the sandbox's
    assert "resets at" in str(stop.value) and tokens["left_today"] == 50


@run_async
async def test_a_budget_spent_elsewhere_stops_at_the_first_daily_429() -> None:
    app, clock = make_sandbox(daily_budget=100)
    async with pd_client(app, clock, daily_budget=10_000) as c:  # the client does not know the others spent it
        with pytest.raises(BudgetExhausted):
            for i in range(100):
                await c.create("persons", {"name": f"P{i}"})
        with pytest.raises(BudgetExhausted):
            await c.create("persons", {"name": "refused locally"})
        sent = c.requests_sent
    stats = await admin(app, "stats")
    assert stats["daily_limited"] == 1 and sent == 100 // pc.token_cost("POST", "/api/v2/persons") + 1


@run_async
async def test_removed_v1_endpoint_and_wrong_token_against_the_sandbox() -> None:
    app, clock = make_sandbox()
    async with pd_client(app, clock) as c:
        with pytest.raises(RemovedEndpoint):
            await c.request("GET", "/v1/persons")
    assert (await admin(app, "stats"))["requests"] == 0  # refused before sending
    wrong = "wrong-token-8d7e6f5a"
    async with pd_client(app, clock, token=wrong) as c:
        with pytest.raises(PipedriveError) as info:
            await c.get("persons", 1)
    assert info.value.status == 401 and wrong not in str(info.value) and wrong not in repr(info.value)


class LosesAnswers(httpx.AsyncBaseTransport):
    """Delivers the request, then loses the answer (a timeout on the way back): the create landed."""

    def __init__(self, inner: httpx.AsyncBaseTransport, lose: int) -> None:
        self.inner, self.lose = inner, lose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self.lose:
            self.lose -= 1
            await response.aclose()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


@run_async
async def test_on_retry_hook_finds_a_create_that_landed_and_no_duplicate_is_made() -> None:
    app, clock = make_sandbox()
    transport = ValidatingTransport(LosesAnswers(httpx.ASGITransport(app=app), lose=1))
    client = PipedriveClient(BASE, TOKEN, clock=clock, transport=transport)

    async def landed(info: RequestInfo, reason: str, delay: float):
        # What the loader's ledger will do: look the record up by its migration key before resending.
        email = info.json["emails"][0]["value"]
        found = [p async for p in client.search("persons", email, fields="email", exact_match=True)]
        return Landed(await client.get("persons", found[0]["id"])) if found else None

    client.hooks = Hooks(on_retry=landed)
    async with client:
        person = await client.create("persons", {"name": "Ada", "emails": values.contact_list("ada@example.org")})
        sends = client.ledger.by_operation["v2 addPerson"] // pc.token_cost("POST", "/api/v2/persons")
    persons = await live(app, "persons")
    assert len(persons) == 1 and person["id"] == persons[0]["id"] and sends == 1

"""Paginators, the burst limiter, the adaptive concurrency and the v2 value shapes."""

import asyncio
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest

from loaders.pipedrive import values
from loaders.pipedrive.errors import PipedriveError
from loaders.pipedrive.limiter import AdaptiveConcurrency, BurstLimiter
from tests.loaders.helpers import Script, make_client, ok
from vp2pd.clock import FakeClock


def run(coro):
    return asyncio.run(coro)


def test_cursor_pagination_follows_next_cursor_to_the_end_at_500() -> None:
    script = Script(FakeClock(), [ok([{"id": 1}, {"id": 2}], next_cursor="c1"), ok([{"id": 3}], next_cursor="c2"),
                                  ok([{"id": 4}], next_cursor=None)])

    async def go():
        async with make_client(script) as c:
            return [r["id"] async for r in c.list("deals", updated_since="2026-11-01T00:00:00Z")]

    assert run(go()) == [1, 2, 3, 4]
    params = [dict(r.url.params) for _, r in script.seen]
    assert [p.get("cursor") for p in params] == [None, "c1", "c2"]
    assert all(p["limit"] == "500" and p["updated_since"] == "2026-11-01T00:00:00Z" for p in params)


def test_cursor_that_repeats_stops_with_an_error() -> None:
    script = Script(FakeClock(), [ok([{"id": 1}], next_cursor="same"), ok([{"id": 2}], next_cursor="same")])

    async def go():
        async with make_client(script) as c:
            return [r async for r in c.list("persons")]

    with pytest.raises(PipedriveError, match="came back twice"):
        run(go())


def test_offset_pagination_for_v1_notes_and_files() -> None:
    def page(ids, more, next_start=None):
        pagination = {"start": 0, "limit": 500, "more_items_in_collection": more}
        if next_start is not None:
            pagination["next_start"] = next_start
        return ok([{"id": i} for i in ids], pagination=pagination)

    script = Script(FakeClock(), [page([1, 2], True, 2), page([3], False), page([10], False)])

    async def go():
        async with make_client(script) as c:
            notes = [r["id"] async for r in c.list("notes", person_id=5)]
            files = [r["id"] async for r in c.list("files")]
            return notes, files

    assert run(go()) == ([1, 2, 3], [10])
    params = [dict(r.url.params) for _, r in script.seen]
    assert [(p["start"], p["limit"]) for p in params] == [("0", "500"), ("2", "500"), ("0", "100")]
    assert params[0]["person_id"] == "5" and script.paths[2] == "GET /v1/files"


def test_search_unwraps_items_and_uses_the_per_object_endpoint() -> None:
    script = Script(FakeClock(), [ok({"items": [{"result_score": 1.0, "item": {"id": 3, "name": "Jo"}}]},
                                     next_cursor=None)])

    async def go():
        async with make_client(script) as c:
            return [r async for r in c.search("persons", "jo@example.com", fields="email", exact_match=True)]

    assert run(go()) == [{"id": 3, "name": "Jo"}]
    request = script.seen[0][1]
    assert request.url.path == "/api/v2/persons/search"
    assert request.url.params["term"] == "jo@example.com" and request.url.params["exact_match"] == "true"


def test_burst_limiter_never_exceeds_the_limit_in_any_rolling_window() -> None:
    clock = FakeClock()
    limiter = BurstLimiter(40, clock=clock)

    async def go():
        starts = []
        for _ in range(200):
            await limiter.acquire()
            starts.append(clock.now())
            clock.advance(0.01)
        return starts

    starts = run(go())
    for i, t in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < t + 2.0) <= 40
    steady_rate = (len(starts) - 40) / (starts[-1] - starts[39])
    assert steady_rate > 0.97 * 20  # still rides the limit: ~20 starts per second


def test_burst_limiter_follows_the_servers_headers() -> None:
    clock = FakeClock()
    limiter = BurstLimiter(40, clock=clock)
    limiter.observe(httpx.Headers({"x-ratelimit-limit": "20", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}))
    assert limiter.limit == 20
    start = clock.now()
    run(limiter.acquire())
    assert clock.now() - start >= 1.0  # held until the server's window frees


def test_a_start_counts_from_when_its_request_left() -> None:
    clock = FakeClock()
    limiter = BurstLimiter(2, margin_s=0.0, clock=clock)

    async def go():
        first = await limiter.acquire()
        clock.advance(0.5)  # the first request waited for a connection before it left
        limiter.sent(first)
        await limiter.acquire()
        await limiter.acquire()  # the window frees when the first, as sent, leaves it
        return first.at, clock.now()

    sent_at, third_at = run(go())
    assert third_at == pytest.approx(sent_at + 2.0, abs=0.002)


def test_full_server_window_holds_only_when_someone_else_spends_the_token() -> None:
    clock = FakeClock()
    limiter = BurstLimiter(3, margin_s=0.0, clock=clock)
    full = httpx.Headers({"x-ratelimit-limit": "3", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"})

    async def go():
        slots = [await limiter.acquire() for _ in range(3)]
        limiter.observe(full, slots[-1])  # our own third request filled it: our log already paces
        own = limiter._hold_until
        limiter.observe(full, slots[0])  # full when we had sent one: another client on this token
        return own, limiter._hold_until - clock.now()

    own, held = run(go())
    assert own == 0.0 and held == pytest.approx(2.0)


def test_adaptive_concurrency_halves_on_429_and_grows_back_while_work_waits() -> None:
    clock = FakeClock()
    aimd = AdaptiveConcurrency(8, clock=clock)

    async def go():
        await aimd.acquire()
        await aimd.release(throttled=True)
        after_429 = aimd.limit
        await aimd.acquire()
        await aimd.release(throttled=True)  # same burst window: no second halving
        same_window = aimd.limit
        # keep more work queued than the limit allows, so growth applies
        peak = 0

        async def worker():
            nonlocal peak
            for _ in range(40):
                await aimd.acquire()
                peak = max(peak, aimd.in_flight)
                await asyncio.sleep(0)
                await aimd.release(throttled=False)

        await asyncio.gather(*(worker() for _ in range(12)))
        return after_429, same_window, aimd.limit, peak

    after_429, same_window, grown, peak = run(go())
    assert after_429 == 4.0 and same_window == 4.0
    assert grown > 8.0 and peak <= int(grown)


def test_values_become_v2_shapes() -> None:
    assert values.plain("monetary", Decimal("1234.50"), "f", "cad") == {"value": 1234.5, "currency": "CAD"}
    assert values.plain("monetary", (10, "EUR"), "f") == {"value": 10.0, "currency": "EUR"}
    assert values.plain("double", "12.5", "f") == 12.5
    assert values.plain("date", datetime(2026, 3, 4, 10, 0), "f") == "2026-03-04"
    assert values.plain("date", "2026-03-04", "f") == "2026-03-04"
    assert values.plain("daterange", (date(2026, 1, 1), "2026-02-01"), "f") == {"start": "2026-01-01", "end": "2026-02-01"}
    assert values.plain("time", "09:30", "f") == {"value": "09:30:00"}
    assert values.plain("timerange", ("09:00", "17:30:00"), "f") == {"start": "09:00:00", "end": "17:30:00"}
    assert values.plain("address", {"route": "Main St", "street_number": "1", "locality": "Toronto"}, "f") == {
        "route": "Main St", "street_number": "1", "locality": "Toronto", "value": "1 Main St, Toronto"}
    assert values.plain("address", "1 Main St, Toronto", "f") == {"value": "1 Main St, Toronto"}
    assert values.plain("user", "7", "f") == 7
    assert values.contact_list(["a@x.org", "", {"value": "b@x.org", "label": "home"}]) == [
        {"value": "a@x.org", "label": "work", "primary": True},
        {"value": "b@x.org", "label": "home", "primary": False}]
    for field_type, bad in [("double", True), ("double", "12,5 $"), ("date", "03/04/2026"), ("user", 1.5),
                            ("monetary", 5), ("address", {"street": "x"})]:
        with pytest.raises(values.ValueConversionError, match="f"):
            values.plain(field_type, bad, "f")

"""The API client's pacing and retries (against scripted answers) and the record checks."""

import asyncio
from decimal import Decimal

import httpx
import pytest

from extractors.visual_practice.api.client import VPClient, VPError
from extractors.visual_practice.api.records import InvalidRecord, to_raw_row
from vp2pd.clock import FakeClock
from vp2pd.vp_contract import collection


def scripted(answers: list, clock: FakeClock, seen: list) -> httpx.MockTransport:
    """A transport answering from a list; each entry a response factory or an exception."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((clock.now(), request))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler)


def client(transport: httpx.MockTransport, clock: FakeClock, **kw) -> VPClient:
    return VPClient("http://vp.test/api/v1", "key-123", user_agent="vp2pd-test", clock=clock, transport=transport, **kw)


def test_429_waits_what_the_server_says_then_succeeds() -> None:
    clock, seen = FakeClock(), []
    reset = clock.now() + 17
    answers = [httpx.Response(429, json={"error": "rate_limited"},
                              headers={"Retry-After": "17", "X-RateLimit-Reset": str(int(reset))}),
               httpx.Response(200, json={"ok": True})]

    async def go():
        async with client(scripted(answers, clock, seen), clock) as c:
            return await c.get_json("clients")

    assert asyncio.run(go()) == {"ok": True}
    assert len(seen) == 2
    assert seen[1][0] - seen[0][0] == pytest.approx(17, abs=0.01)  # waited exactly the server's reset
    first = seen[0][1]
    assert first.headers["user-agent"] == "vp2pd-test"
    assert first.headers["authorization"] == httpx.BasicAuth("key-123", "")._auth_header  # key as user, empty password


def test_transient_failures_are_retried_and_permanent_ones_raise() -> None:
    clock, seen = FakeClock(), []
    answers = [httpx.Response(502, text="<html>Bad Gateway</html>"), httpx.ReadError("connection reset"),
               httpx.Response(503, json={"error": "unavailable"}, headers={"Retry-After": "1"}),
               httpx.Response(200, json={"n": 1}), httpx.Response(400, json={"error": "bad filter q[]=x"})]

    async def go():
        async with client(scripted(answers, clock, seen), clock) as c:
            assert await c.get_json("clients") == {"n": 1}
            assert c.retries == 3
            with pytest.raises(VPError, match="400.*bad filter") as err:
                await c.get_json("clients")
            assert err.value.status == 400

    asyncio.run(go())


def test_gives_up_after_max_retries_with_the_reason() -> None:
    clock, seen = FakeClock(), []
    answers = [httpx.Response(503, json={"error": "unavailable"}) for _ in range(4)]

    async def go():
        async with client(scripted(answers, clock, seen), clock, max_retries=3) as c:
            await c.get_json("clients")

    with pytest.raises(VPError, match="503"):
        asyncio.run(go())
    assert len(seen) == 4


def test_pacing_never_exceeds_the_limit_in_any_window() -> None:
    clock, seen = FakeClock(), []
    answers = [httpx.Response(200, json={}) for _ in range(25)]

    async def go():
        async with client(scripted(answers, clock, seen), clock, requests_per_minute=10, window_s=60) as c:
            await asyncio.gather(*(c.get_json("x") for _ in range(25)))

    asyncio.run(go())
    times = sorted(t for t, _ in seen)
    assert len(times) == 25
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 60) <= 10
    assert times[-1] - times[0] >= 120  # 25 requests at 10/min need two full windows of waiting


def test_record_is_typed_and_unknown_attributes_kept() -> None:
    clients = collection("clients")
    row = to_raw_row(clients, {
        "id": "100234", "chart_number": "000412", "date_of_birth": "1980-02-29",
        "created_at": "2026-03-02T14:30:00Z", "emails": [{"address": "a@b.ca", "label": "home", "primary": True}],
        "custom_properties": {"Allergies": "none", "Visits": 3}, "favourite_colour": "teal",
    })
    assert row["created_at"] == "2026-03-02 14:30:00"
    assert row["date_of_birth"] == "1980-02-29"
    assert row["emails"] == [{"address": "a@b.ca", "label": "home", "primary": True}]
    assert row["custom_properties"] == {"Allergies": "none", "Visits": 3}
    assert row["_extra"] == {"favourite_colour": "teal"}
    invoice = to_raw_row(collection("invoices"), {"id": "9", "total": "125.50", "lines": [{"amount": "-12.00"}]})
    assert Decimal(invoice["total"]) == Decimal("125.50") and invoice["lines"][0]["amount"] == "-12.00"


@pytest.mark.parametrize("record, message", [
    ({"id": "1", "date_of_birth": "1980-02-30"}, "date_of_birth"),
    ({"id": "1", "created_at": "yesterday"}, "created_at"),
    ({"id": "1", "emails": [{"address": "a@b.c", "primary": "yes"}]}, r"emails\[0\]\.primary"),
    ({"id": "1", "emails": "a@b.c"}, "emails"),
    ({"chart_number": "1"}, "missing id"),
])
def test_invalid_records_name_field_and_value(record: dict, message: str) -> None:
    with pytest.raises(InvalidRecord, match=message):
        to_raw_row(collection("clients"), record)

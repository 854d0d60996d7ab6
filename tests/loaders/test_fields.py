"""The field catalogue against sandbox accounts: keys and option ids per account, idempotent
creation by name and type, type conflicts, and values in v2 shapes that the sandbox accepts."""

from datetime import date
from decimal import Decimal

import httpx
import pytest

from loaders.pipedrive import values
from loaders.pipedrive.fields import FieldCatalogue, FieldError
from tests.contract.pipedrive_sandbox import BASE, make_sandbox, run_async
from tests.loaders.sandbox_client import admin, pd_client

REFERRAL = ("Referral source", "enum", ["Web", "Friend", "Physician"])
LOCATIONS = ("Locations", "set", ["Downtown", "Uptown"])


async def custom_fields(app, entity: str) -> dict[str, dict]:
    exported = (await admin(app, "export"))["fields"][entity]
    return {f["field_name"]: f for f in exported if f["is_custom_field"] and not f["is_deleted"]}


@run_async
async def test_keys_and_option_ids_differ_per_account_and_resolve_by_name_and_label() -> None:
    resolved = []
    for seed in (1, 2):
        app, clock = make_sandbox(account_seed=seed)
        async with pd_client(app, clock) as c:
            cat = await FieldCatalogue(c, "persons").load()
            await cat.ensure_field(*REFERRAL)
            await cat.ensure_field(*LOCATIONS)
            resolved.append((cat.key("referral SOURCE"), cat.option_id("Referral source", "friend"),
                             cat.option_id("Locations", "Uptown")))
        truth = await custom_fields(app, "person")
        referral = truth["Referral source"]
        assert resolved[-1][0] == referral["field_code"] and len(referral["field_code"]) == 40
        assert resolved[-1][1] == next(o["id"] for o in referral["options"] if o["label"] == "Friend")
    (key1, friend1, uptown1), (key2, friend2, uptown2) = resolved
    assert key1 != key2 and (friend1, uptown1) != (friend2, uptown2)


@run_async
async def test_missing_fields_and_options_are_created_once_and_a_rerun_creates_nothing() -> None:
    app, clock = make_sandbox(account_seed=5)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        seeded = await http.post("/_admin/fields", json=[{"entity": "person", "field_name": "Status",
                                                          "field_type": "enum", "options": ["Active"]}])
        assert seeded.status_code == 201  # the customer's account already has this one
    async with pd_client(app, clock) as c:
        cat = await FieldCatalogue(c, "persons").load()
        await cat.ensure_field("status", "enum", ["Active", "Inactive"])  # exists: only the option is new
        await cat.ensure_field(*REFERRAL)
        assert cat.created_fields == ["Referral source"] and cat.created_options == [("Status", "Inactive")]
        first = await custom_fields(app, "person")

        rerun = await FieldCatalogue(c, "persons").load()  # a second run reads the account afresh
        await rerun.ensure_field("Status", "enum", ["Active", "Inactive"])
        await rerun.ensure_field(*REFERRAL)
        await rerun.ensure_options("Referral source", ["web", "Friend"])
        assert rerun.created_fields == [] and rerun.created_options == []
        assert rerun.key("Status") == cat.key("Status")
        created = c.ledger.by_operation
    assert await custom_fields(app, "person") == first
    assert [o["label"] for o in first["Status"]["options"]] == ["Active", "Inactive"]
    assert created["v2 addPersonField"] == 5 and created["v2 addPersonFieldOptions"] == 5  # one call each


@run_async
async def test_same_name_with_another_type_is_a_clear_error() -> None:
    app, clock = make_sandbox()
    async with pd_client(app, clock) as c:
        cat = await FieldCatalogue(c, "organizations").load()
        await cat.ensure_field("Clinic code", "varchar")
        with pytest.raises(FieldError, match="'Clinic code' exists as varchar, not enum"):
            await cat.ensure_field("Clinic code", "enum", ["A"])
        with pytest.raises(FieldError, match="no option labelled 'Nope'"):
            await cat.ensure_field(*REFERRAL)
            cat.option_id("Referral source", "Nope")
        with pytest.raises(FieldError, match="cannot be created through the API"):
            await (await FieldCatalogue(c, "activities").load()).ensure_field("Room", "varchar")
    assert list(await custom_fields(app, "organization")) == ["Clinic code", "Referral source"]


@run_async
async def test_values_in_v2_shapes_are_accepted_and_stored_as_sent() -> None:
    app, clock = make_sandbox()
    async with pd_client(app, clock) as c:
        cat = FieldCatalogue(c, "persons", default_currency="CAD")
        for name, kind, options in [REFERRAL, LOCATIONS, ("Balance", "monetary", []), ("First visit", "date", []),
                                    ("Home address", "address", []), ("Visits", "double", []),
                                    ("Preferred time", "time", []), ("Coverage", "daterange", []),
                                    ("Chart number", "varchar", [])]:
            await cat.ensure_field(name, kind, options)
        plain = {"Referral source": "Physician", "Locations": ["Uptown", "Downtown"], "Balance": Decimal("120.50"),
                 "First visit": date(2025, 4, 7), "Home address": "12 King St W, Toronto", "Visits": "3",
                 "Preferred time": "09:30", "Coverage": ("2026-01-01", "2026-12-31"), "Chart number": 10042}
        shaped = cat.custom_fields(plain)
        person = await c.create("persons", {"name": "Ada Client", "custom_fields": shaped,
                                            "emails": values.contact_list(["ada@example.org", "ada@work.example"]),
                                            "phones": values.contact_list("+1 416 555 0100", label="mobile")})
        stored = (await c.get("persons", person["id"]))["custom_fields"]
        with pytest.raises(Exception, match="400"):  # the same value unconverted: v2 coerces nothing
            await c.create("persons", {"name": "Raw", "custom_fields": {cat.key("Visits"): "3"}})
    assert stored[cat.key("Referral source")] == cat.option_id("Referral source", "Physician")
    assert stored[cat.key("Locations")] == [cat.option_id("Locations", "Uptown"), cat.option_id("Locations", "Downtown")]
    assert stored[cat.key("Balance")] == {"value": 120.5, "currency": "CAD"}
    assert stored[cat.key("First visit")] == "2025-04-07" and stored[cat.key("Visits")] == 3.0
    assert stored[cat.key("Home address")]["value"] == "12 King St W, Toronto"
    assert stored[cat.key("Preferred time")]["value"].startswith("09:30")
    assert stored[cat.key("Coverage")] == {"start": "2026-01-01", "end": "2026-12-31"}
    assert stored[cat.key("Chart number")] == "10042"
    exported = next(p for p in (await admin(app, "export"))["persons"] if p["id"] == person["id"])
    assert [e["value"] for e in exported["emails"]] == ["ada@example.org", "ada@work.example"]
    assert [e["primary"] for e in exported["emails"]] == [True, False] and exported["phones"][0]["label"] == "mobile"

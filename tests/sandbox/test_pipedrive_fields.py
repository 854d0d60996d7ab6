"""Custom fields like a real account: random 40-hex keys and option ids per account seed, v2 value
shapes checked per field type, deleted fields ignored on write, the bulk option endpoints and the
plan's cap on custom fields (403 feature_capping_*)."""

from __future__ import annotations

import re

import httpx

from sandbox.pipedrive.fields import CAPPING_CODE, CUSTOM_FIELD_CAP
from tests.contract.pipedrive_sandbox import INVALID, data, make_sandbox, run_async, sandbox_client

KEY = re.compile(r"^[0-9a-f]{40}$")


async def add_field(client: httpx.AsyncClient, entity: str, name: str, kind: str, options: list[str] | None = None) -> dict:
    body: dict = {"field_name": name, "field_type": kind}
    if options is not None:
        body["options"] = [{"label": label} for label in options]
    return data(await client.post(f"/api/v2/{entity}Fields", json=body))


async def account_fields(seed: int) -> list[dict]:
    app, _ = make_sandbox(rate_limits=False, account_seed=seed)
    async with sandbox_client(app) as client:
        return [await add_field(client, "person", "Status", "enum", ["Active", "Inactive"]),
                await add_field(client, "person", "Referral", "varchar")]


@run_async
async def test_keys_and_option_ids_differ_per_account_and_repeat_per_seed() -> None:
    one, again, other = await account_fields(1), await account_fields(1), await account_fields(2)
    assert all(KEY.match(f["field_code"]) for f in one + other)
    assert [f["field_code"] for f in one] == [f["field_code"] for f in again]  # same seed, same account
    assert not {f["field_code"] for f in one} & {f["field_code"] for f in other}
    ids_one = [o["id"] for o in one[0]["options"]]
    ids_other = [o["id"] for o in other[0]["options"]]
    assert ids_one != ids_other and ids_one[1] == ids_one[0] + 1
    assert [o["label"] for o in one[0]["options"]] == ["Active", "Inactive"]
    assert one[0]["is_custom_field"] is True and one[1]["options"] is None


@run_async
async def test_custom_field_values_in_v2_shapes() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        status = await add_field(client, "person", "Status", "enum", ["Active", "Inactive"])
        tags = await add_field(client, "person", "Tags", "set", ["VIP", "Insured", "Minor"])
        balance = await add_field(client, "person", "Balance", "monetary")
        address = await add_field(client, "person", "Home", "address")
        period = await add_field(client, "person", "Coverage", "daterange")
        slot = await add_field(client, "person", "Preferred time", "time")
        score = await add_field(client, "person", "Score", "double")
        active, vip, minor = status["options"][0]["id"], tags["options"][0]["id"], tags["options"][2]["id"]
        values = {status["field_code"]: active, tags["field_code"]: [vip, minor],
                  balance["field_code"]: {"value": 120.5, "currency": "CAD"},
                  address["field_code"]: {"value": "1 Main St, Toronto", "locality": "Toronto", "country": "Canada"},
                  period["field_code"]: {"start": "2026-01-01", "end": "2026-12-31"},
                  slot["field_code"]: {"value": "09:30:00"}, score["field_code"]: 4}
        person = data(await client.post("/api/v2/persons", json={"name": "Ann", "custom_fields": values}))
        assert person["custom_fields"] == values
        shown = data(await client.get(f"/api/v2/persons/{person['id']}"))["custom_fields"]
        assert shown == values
        cleared = data(await client.patch(f"/api/v2/persons/{person['id']}",
                                          json={"custom_fields": {tags["field_code"]: None}}))
        assert cleared["custom_fields"][tags["field_code"]] is None
        assert cleared["custom_fields"][status["field_code"]] == active  # untouched

        bad_values = [
            (status["field_code"], "Active"),  # enum: the option id, not its label
            (status["field_code"], 999_999),  # not an option of this field
            (tags["field_code"], vip),  # set: an array
            (tags["field_code"], []),  # set: null clears it, [] is refused
            (balance["field_code"], 120.5),  # monetary: {value, currency}
            (balance["field_code"], {"value": "120.5", "currency": "CAD"}),
            (period["field_code"], "2026-01-01"),
            (slot["field_code"], "9am"),
            (score["field_code"], "4"),  # numbers are not coerced
            ("0" * 40, "x"),  # no such field
        ]
        for code, value in bad_values:
            answer = await client.post("/api/v2/persons", json={"name": "B", "custom_fields": {code: value}})
            assert answer.status_code == 400, (code, value, answer.text)
            assert answer.json()["error"].startswith(f"custom_fields.{code}"), answer.text
        assert len(data(await client.get("/api/v2/persons"))) == 1


@run_async
async def test_writes_naming_a_deleted_field_are_ignored() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        kept = await add_field(client, "deal", "Kept", "varchar")
        gone = await add_field(client, "deal", "Gone", "varchar")
        deal = data(await client.post("/api/v2/deals", json={"title": "D", "custom_fields": {
            kept["field_code"]: "a", gone["field_code"]: "b"}}))
        assert deal["custom_fields"] == {kept["field_code"]: "a", gone["field_code"]: "b"}
        deleted = data(await client.delete(f"/api/v2/dealFields/{gone['field_code']}"))
        assert deleted["field_code"] == gone["field_code"]
        listed = [f["field_code"] for f in data(await client.get("/api/v2/dealFields"))]
        assert gone["field_code"] not in listed and kept["field_code"] in listed
        assert (await client.get(f"/api/v2/dealFields/{gone['field_code']}")).status_code == 404
        written = data(await client.patch(f"/api/v2/deals/{deal['id']}", json={"custom_fields": {
            kept["field_code"]: "a2", gone["field_code"]: "ignored"}}))
        assert written["custom_fields"] == {kept["field_code"]: "a2"}  # silently dropped, as Pipedrive does
        system = await client.delete("/api/v2/dealFields/title")
        assert system.status_code == 400
    exported = app.state.sandbox.account.export()["fields"]["deal"]
    assert [f["is_deleted"] for f in exported if f["field_code"] == gone["field_code"]] == [True]


@run_async
async def test_bulk_option_endpoints() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        field = await add_field(client, "organization", "Region", "enum", ["North"])
        code = field["field_code"]
        added = data(await client.post(f"/api/v2/organizationFields/{code}/options",
                                       json=[{"label": "South"}, {"label": "East"}]))
        assert [o["label"] for o in added] == ["South", "East"]
        renamed = data(await client.patch(f"/api/v2/organizationFields/{code}/options",
                                          json=[{"id": added[1]["id"], "label": "East coast"}]))
        assert renamed == [{"id": added[1]["id"], "label": "East coast"}]
        removed = await client.request("DELETE", f"/api/v2/organizationFields/{code}/options",
                                       json=[{"id": added[0]["id"]}])
        assert [o["id"] for o in removed.json()["data"]] == [added[0]["id"]]
        now = data(await client.get(f"/api/v2/organizationFields/{code}"))
        assert [o["label"] for o in now["options"]] == ["North", "East coast"]
        missing = await client.patch(f"/api/v2/organizationFields/{code}/options", json=[{"id": 1, "label": "x"}])
        assert missing.status_code == 400
        no_options = await client.post("/api/v2/organizationFields", json={"field_name": "Tier", "field_type": "enum"})
        assert no_options.status_code == 400 and no_options.json()["error"].startswith("options")
        bad_type = await client.post("/api/v2/organizationFields", json={"field_name": "X", "field_type": "blob"},
                                     extensions=INVALID)
        assert bad_type.status_code == 400 and bad_type.json()["error"].startswith("field_type")
        renamed_field = data(await client.patch(f"/api/v2/organizationFields/{code}", json={"field_name": "Area"}))
        assert renamed_field["field_name"] == "Area"


@run_async
async def test_custom_field_cap_per_plan_is_403_feature_capping() -> None:
    app, _ = make_sandbox(rate_limits=False, plan="lite")
    cap = CUSTOM_FIELD_CAP["lite"]
    async with sandbox_client(app) as client:
        for i in range(cap):  # the cap counts the company's custom fields across entities
            await add_field(client, "person" if i % 2 else "product", f"F{i}", "varchar")
        refused = await client.post("/api/v2/dealFields", json={"field_name": "One too many", "field_type": "varchar"})
        assert refused.status_code == 403
        body = refused.json()
        assert body["code"] == CAPPING_CODE and body["code"].startswith("feature_capping_") and body["success"] is False
        first = data(await client.get("/api/v2/personFields", params={"limit": 500}))
        custom = [f for f in first if f["is_custom_field"]]
        data(await client.delete(f"/api/v2/personFields/{custom[0]['field_code']}"))
        await add_field(client, "deal", "Fits again", "varchar")  # a deleted field frees its place


@run_async
async def test_fields_list_pages_by_cursor_and_builtin_fields_come_from_the_spec() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        for i in range(7):
            await add_field(client, "product", f"P{i}", "text")
        seen, cursor = [], None
        while True:
            body = (await client.get("/api/v2/productFields", params={"limit": 4, **({"cursor": cursor} if cursor else {})})).json()
            seen += body["data"]
            cursor = body["additional_data"]["next_cursor"]
            if cursor is None:
                break
        codes = [f["field_code"] for f in seen]
        assert len(codes) == len(set(codes)) and {"name", "code", "prices"} <= set(codes)
        assert sum(f["is_custom_field"] for f in seen) == 7
        activity = data(await client.get("/api/v2/activityFields"))
        assert {"subject", "due_date", "participants"} <= {f["field_code"] for f in activity}
        readonly = await client.post("/api/v2/activityFields", json={"field_name": "x", "field_type": "varchar"})
        assert readonly.status_code == 404  # activity fields are read-only in v2: no such operation

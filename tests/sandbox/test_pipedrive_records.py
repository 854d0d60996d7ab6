"""The Pipedrive sandbox's v2 entities: create, read, update, soft delete, lists with cursor paging,
filters and sorting, deal products and search, and v2's strict input checks (400 naming the field).

Every exchange passes through the contract validator (tests/contract/validate.py).
"""

from __future__ import annotations

import httpx

from tests.contract.pipedrive_sandbox import INVALID, data, make_sandbox, run_async, sandbox_client


async def add(client: httpx.AsyncClient, path: str, body: dict) -> dict:
    return data(await client.post(f"/api/v2/{path}", json=body))


async def all_pages(client: httpx.AsyncClient, path: str, **params: object) -> tuple[list[dict], int]:
    """Every record of a v2 list, following next_cursor to the end; also the number of pages."""
    rows: list[dict] = []
    cursor, pages = None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = (await client.get(f"/api/v2/{path}", params=query)).json()
        rows += body["data"]
        pages += 1
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return rows, pages


@run_async
async def test_create_get_update_and_soft_delete_a_person() -> None:
    app, clock = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        made = await add(client, "persons", {
            "name": "Maria Garcia Lopez", "emails": [{"value": "maria@example.com", "primary": True, "label": "work"}],
            "phones": [{"value": "+1 416 555 0101", "primary": True, "label": "mobile"}]})
        assert (made["id"], made["first_name"], made["last_name"]) == (1, "Maria", "Garcia Lopez")
        assert made["owner_id"] == 1 and made["is_deleted"] is False
        assert made["add_time"] == "2026-11-18T11:06:40Z"  # RFC 3339 of the FakeClock's start
        second = await add(client, "persons", {"name": "Li Wei"})
        assert second["id"] == 2  # ids increase per object type

        clock.advance(60)
        patched = data(await client.patch("/api/v2/persons/1", json={"name": "Maria Garcia", "visible_to": 1}))
        assert (patched["name"], patched["visible_to"], patched["first_name"]) == ("Maria Garcia", 1, "Maria")
        assert patched["update_time"] == "2026-11-18T11:07:40Z" and patched["add_time"] == made["add_time"]
        assert patched["emails"] == made["emails"]  # PATCH leaves what it does not name

        assert data(await client.delete("/api/v2/persons/1")) == {"id": 1}
        listed = data(await client.get("/api/v2/persons"))
        assert [p["id"] for p in listed] == [2]  # deleted records leave the lists
        shown = data(await client.get("/api/v2/persons/1"))
        assert shown["is_deleted"] is True  # but stay readable by id
        again = await client.delete("/api/v2/persons/1")
        assert again.status_code == 404 and again.json()["success"] is False
        assert (await client.patch("/api/v2/persons/1", json={"name": "x"})).status_code == 404
        assert (await client.get("/api/v2/persons/99")).status_code == 404
    exported = app.state.sandbox.account.export()
    assert [(p["id"], p["is_deleted"]) for p in exported["persons"]] == [(1, True), (2, False)]


@run_async
async def test_strict_types_are_refused_with_400_naming_the_field() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        cases = [
            ("persons", {"name": "A", "visible_to": "3"}, "visible_to"),  # numbers are not coerced from strings
            ("persons", {"name": "A", "emails": ["a@example.com"]}, "emails[0]"),  # {value, label, primary} objects
            ("persons", {"name": "A", "emails": [{"value": "a@x.com", "primary": 1}]}, "emails[0].primary"),
            ("persons", {"name": "A", "email": "a@example.com"}, "email"),  # v1 key: unknown in v2
            ("deals", {"title": "D", "value": "100"}, "value"),
            ("deals", {"title": "D", "is_archived": "false"}, "is_archived"),  # booleans only true/false
            ("activities", {"subject": "S", "done": 0}, "done"),
            ("organizations", {}, "name"),  # required
        ]
        for path, body, field in cases:
            answer = await client.post(f"/api/v2/{path}", json=body, extensions=INVALID)
            assert answer.status_code == 400, (path, body, answer.text)
            error = answer.json()
            assert error["success"] is False and error["data"] is None and error["error"].startswith(field), error
        # Checks against the account's own data are 400s too, but the request itself meets the spec.
        for path, body, field in [("persons", {"name": "A", "owner_id": 999}, "owner_id"),
                                  ("persons", {"name": "A", "org_id": 5}, "org_id"),
                                  ("deals", {"title": "D", "status": "closed"}, "status"),
                                  ("activities", {"subject": "S", "type": "fax"}, "type"),
                                  ("activities", {"subject": "S", "participants": [{"person_id": 7, "primary": True}]},
                                   "participants[0].person_id")]:
            answer = await client.post(f"/api/v2/{path}", json=body)
            assert answer.status_code == 400 and answer.json()["error"].startswith(field), answer.text
        assert data(await client.get("/api/v2/persons")) == []  # nothing was written


@run_async
async def test_owner_must_be_an_active_user() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as admin:
        users = (await admin.post("/_admin/users", json=[{"name": "Jo", "email": "jo@clinic.example"},
                                                         {"name": "Gone", "email": "gone@clinic.example", "active": False}])).json()
    async with sandbox_client(app) as client:
        person = await add(client, "persons", {"name": "A", "owner_id": users[0]["id"]})
        assert person["owner_id"] == users[0]["id"]
        refused = await client.post("/api/v2/persons", json={"name": "B", "owner_id": users[1]["id"]})
        assert refused.status_code == 400 and "no active user" in refused.json()["error"]


@run_async
async def test_cursor_paging_to_the_end_and_limits() -> None:
    app, clock = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        for i in range(1, 24):
            await add(client, "organizations", {"name": f"Org {i:02d}"})
            clock.advance(1)
        rows, pages = await all_pages(client, "organizations", limit=5)
        assert [r["id"] for r in rows] == list(range(1, 24)) and pages == 5
        desc, _ = await all_pages(client, "organizations", limit=7, sort_by="add_time", sort_direction="desc")
        assert [r["id"] for r in desc] == list(range(23, 0, -1))
        # A record inserted behind the cursor does not shift the next page (keyset cursor).
        first = (await client.get("/api/v2/organizations", params={"limit": 10})).json()
        await add(client, "organizations", {"name": "Late"})
        data(await client.delete("/api/v2/organizations/2"))
        second = (await client.get("/api/v2/organizations",
                                   params={"limit": 10, "cursor": first["additional_data"]["next_cursor"]})).json()
        assert [r["id"] for r in second["data"]] == list(range(11, 21))
        assert (await client.get("/api/v2/organizations", params={"limit": 501})).status_code == 400
        assert len(data(await client.get("/api/v2/organizations", params={"limit": 500}))) == 23
        bad = await client.get("/api/v2/organizations", params={"cursor": "not-a-cursor!"})
        assert bad.status_code == 400
        wrong_sort = await client.get("/api/v2/organizations", params={"cursor": first["additional_data"]["next_cursor"],
                                                                        "sort_by": "update_time"})
        assert wrong_sort.status_code == 400 and "cursor" in wrong_sort.json()["error"]


@run_async
async def test_updated_since_ids_and_equality_filters() -> None:
    app, clock = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        org = await add(client, "organizations", {"name": "Clinic"})
        for i in range(6):
            await add(client, "persons", {"name": f"P{i}", **({"org_id": org["id"]} if i % 2 else {})})
        clock.advance(3600)
        data(await client.patch("/api/v2/persons/2", json={"name": "P1 renamed"}))
        since = "2026-11-18T12:00:00Z"
        changed = data(await client.get("/api/v2/persons", params={"updated_since": since}))
        assert [p["id"] for p in changed] == [2]
        before = data(await client.get("/api/v2/persons", params={"updated_until": since}))
        assert [p["id"] for p in before] == [1, 3, 4, 5, 6]
        picked = data(await client.get("/api/v2/persons", params={"ids": "5,1,3"}))
        assert [p["id"] for p in picked] == [1, 3, 5]
        in_org = data(await client.get("/api/v2/persons", params={"org_id": org["id"]}))
        assert [p["id"] for p in in_org] == [2, 4, 6]
        bad = await client.get("/api/v2/persons", params={"updated_since": "yesterday"})
        assert bad.status_code == 400 and bad.json()["error"].startswith("updated_since")
        bad = await client.get("/api/v2/persons", params={"org_id": "one"}, extensions=INVALID)
        assert bad.status_code == 400 and bad.json()["error"].startswith("org_id")


@run_async
async def test_deals_pipelines_stages_and_deal_products() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        pipeline = await add(client, "pipelines", {"name": "Services"})
        stage_a = await add(client, "stages", {"name": "Booked", "pipeline_id": pipeline["id"]})
        stage_b = await add(client, "stages", {"name": "Done", "pipeline_id": pipeline["id"]})
        assert (stage_a["order_nr"], stage_b["order_nr"]) == (1, 2)
        stages = data(await client.get("/api/v2/stages", params={"pipeline_id": pipeline["id"]}))
        assert [s["name"] for s in stages] == ["Booked", "Done"]
        default = await add(client, "deals", {"title": "Default pipeline"})
        assert (default["pipeline_id"], default["stage_id"]) == (1, 1)  # the account's first pipeline and stage
        deal = await add(client, "deals", {"title": "Contract", "stage_id": stage_b["id"], "value": 250, "currency": "CAD"})
        assert deal["pipeline_id"] == pipeline["id"]
        mismatch = await client.post("/api/v2/deals", json={"title": "X", "stage_id": stage_a["id"], "pipeline_id": 1})
        assert mismatch.status_code == 400
        won = data(await client.patch(f"/api/v2/deals/{deal['id']}", json={"status": "won"}))
        assert won["status"] == "won" and won["won_time"] is not None

        product = await add(client, "products", {"name": "Physio session", "code": "PHY-1",
                                                 "prices": [{"price": 90, "currency": "CAD"}]})
        assert product["prices"][0]["product_id"] == product["id"]
        one = data(await client.post(f"/api/v2/deals/{deal['id']}/products",
                                     json={"product_id": product["id"], "item_price": 90, "quantity": 2}))
        assert one["sum"] == 180 and one["name"] == "Physio session" and one["currency"] == "CAD"
        many = data(await client.post(f"/api/v2/deals/{deal['id']}/products/bulk", json={"data": [
            {"product_id": product["id"], "item_price": 100, "quantity": 1, "discount": 10},
            {"product_id": product["id"], "item_price": 50, "quantity": 3}]}))
        assert [m["sum"] for m in many] == [90, 150]
        bad_bulk = await client.post(f"/api/v2/deals/{deal['id']}/products/bulk",
                                     json={"data": [{"product_id": product["id"], "item_price": 1, "quantity": 1},
                                                    {"product_id": 999, "item_price": 1, "quantity": 1}]})
        assert bad_bulk.status_code == 400 and "data[1].product_id" in bad_bulk.json()["error"]
        patched = data(await client.patch(f"/api/v2/deals/{deal['id']}/products/{one['id']}", json={"quantity": 3}))
        assert patched["sum"] == 270
        data(await client.delete(f"/api/v2/deals/{deal['id']}/products/{many[0]['id']}"))
        listed = data(await client.get(f"/api/v2/deals/{deal['id']}/products"))
        assert [a["id"] for a in listed] == [one["id"], many[1]["id"]]
        across = data(await client.get("/api/v2/deals/products", params={"deal_ids": [deal["id"], default["id"]]}))
        assert len(across) == 2
        removed = await client.delete(f"/api/v2/deals/{deal['id']}/products")
        assert removed.json()["data"]["ids"] == [one["id"], many[1]["id"]]
        assert data(await client.get(f"/api/v2/deals/{deal['id']}/products")) == []


@run_async
async def test_activity_participants_and_person() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        a = await add(client, "persons", {"name": "A"})
        b = await add(client, "persons", {"name": "B"})
        activity = await add(client, "activities", {
            "subject": "Initial assessment", "type": "meeting", "due_date": "2026-12-01", "due_time": "09:30",
            "duration": "01:00", "participants": [{"person_id": a["id"], "primary": False},
                                                  {"person_id": b["id"], "primary": True}]})
        assert activity["person_id"] == b["id"] and len(activity["participants"]) == 2
        done = data(await client.patch(f"/api/v2/activities/{activity['id']}", json={"done": True}))
        assert done["done"] is True and done["marked_as_done_time"] is not None
        by_person = data(await client.get("/api/v2/activities", params={"done": "true"}))
        assert [x["id"] for x in by_person] == [activity["id"]]
        bad = await client.post("/api/v2/activities", json={"subject": "S", "due_date": "01/12/2026"})
        assert bad.status_code == 400 and bad.json()["error"].startswith("due_date")


@run_async
async def test_search_per_entity_and_item_search() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        org = await add(client, "organizations", {"name": "Harbour Physio"})
        await add(client, "persons", {"name": "Ann Harbour", "org_id": org["id"],
                                      "emails": [{"value": "ann@harbour.example", "primary": True, "label": "work"}]})
        await add(client, "persons", {"name": "Bob Stone", "emails": [{"value": "bob@stone.example", "primary": True,
                                                                         "label": "work"}]})
        await add(client, "deals", {"title": "Harbour renewal", "org_id": org["id"]})
        await add(client, "products", {"name": "Harbour pack", "code": "HP"})
        persons = data(await client.get("/api/v2/persons/search", params={"term": "harbour"}))["items"]
        assert [i["item"]["name"] for i in persons] == ["Ann Harbour"]
        assert persons[0]["item"]["organization"]["id"] == org["id"]
        exact = data(await client.get("/api/v2/persons/search", params={
            "term": "bob@stone.example", "fields": "email", "exact_match": "true"}))["items"]
        assert [(i["item"]["name"], i["result_score"]) for i in exact] == [("Bob Stone", 1.0)]
        every = data(await client.get("/api/v2/itemSearch", params={"term": "harbour"}))["items"]
        assert sorted(i["item"]["type"] for i in every) == ["deal", "organization", "person", "product"]
        only = data(await client.get("/api/v2/itemSearch", params={"term": "harbour", "item_types": "deal"}))["items"]
        assert [i["item"]["title"] for i in only] == ["Harbour renewal"]
        short = await client.get("/api/v2/persons/search", params={"term": "a"})
        assert short.status_code == 400
        paged = (await client.get("/api/v2/itemSearch", params={"term": "harbour", "limit": 3})).json()
        rest = (await client.get("/api/v2/itemSearch", params={"term": "harbour", "limit": 3,
                                                               "cursor": paged["additional_data"]["next_cursor"]})).json()
        assert len(paged["data"]["items"]) == 3 and len(rest["data"]["items"]) == 1
        assert rest["additional_data"]["next_cursor"] is None


@run_async
async def test_concurrent_creates_get_unique_ids_and_share_the_burst_window() -> None:
    import asyncio

    app, _ = make_sandbox(plan="growth")
    async with sandbox_client(app) as client:
        answers = await asyncio.gather(*(client.post("/api/v2/persons", json={"name": f"P{i}"}) for i in range(50)))
    created = sorted(a.json()["data"]["id"] for a in answers if a.status_code == 200)
    assert created == list(range(1, 41))  # 40 per 2 s on Growth, ids without gaps
    assert sorted(a.status_code for a in answers).count(429) == 10

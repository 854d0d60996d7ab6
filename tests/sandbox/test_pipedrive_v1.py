"""The v1 endpoints Pipedrive has no v2 for (notes, files, users, activity types, organization
relationships) with start/limit paging, and the removed v1 endpoints failing loudly (410)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.contract.pipedrive_sandbox import INVALID, data, make_sandbox, run_async, sandbox_client


async def v1_all(client: httpx.AsyncClient, path: str, limit: int, **params: object) -> tuple[list[dict], list[dict]]:
    """Every item of a v1 list by start/limit to the end; also each page's pagination block."""
    items: list[dict] = []
    paginations: list[dict] = []
    start = 0
    while True:
        body = (await client.get(f"/v1/{path}", params={**params, "start": start, "limit": limit})).json()
        items += body["data"]
        pagination = body["additional_data"]["pagination"]
        paginations.append(pagination)
        if not pagination["more_items_in_collection"]:
            return items, paginations
        start = pagination["next_start"]


@run_async
async def test_notes_crud_and_start_limit_paging() -> None:
    app, clock = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        person = data(await client.post("/api/v2/persons", json={"name": "Ann Lee"}))
        deal = data(await client.post("/api/v2/deals", json={"title": "Plan"}))
        for i in range(12):
            target = {"person_id": person["id"]} if i % 3 else {"deal_id": deal["id"], "pinned_to_deal_flag": 1}
            data(await client.post("/v1/notes", json={"content": f"<p>note {i}</p>", **target}))
            clock.advance(10)
        note = data(await client.get("/v1/notes/1"))
        assert note["deal"] == {"title": "Plan"} and note["pinned_to_deal_flag"] is True  # 0/1 in, booleans out
        assert note["add_time"] == "2026-11-18 11:06:40"  # v1 time format
        items, pages = await v1_all(client, "notes", limit=5)
        assert [n["id"] for n in items] == list(range(1, 13))
        assert [p["start"] for p in pages] == [0, 5, 10] and pages[0]["next_start"] == 5
        assert "next_start" not in pages[-1] and pages[-1]["limit"] == 5
        for_person = data(await client.get("/v1/notes", params={"person_id": person["id"]}))
        assert len(for_person) == 8 and {n["person"]["name"] for n in for_person} == {"Ann Lee"}
        newest = data(await client.get("/v1/notes", params={"sort": "add_time DESC", "limit": 2}))
        assert [n["id"] for n in newest] == [12, 11]
        updated = data(await client.put("/v1/notes/3", json={"content": "<p>edited</p>"}))
        assert updated["content"] == "<p>edited</p>" and updated["update_time"] > updated["add_time"]
        since = data(await client.get("/v1/notes", params={"updated_since": "2026-11-18T11:08:30Z"}))
        assert [n["id"] for n in since] == [3, 12]  # note 12 added at 11:08:30, note 3 edited at 11:08:40
        since = data(await client.get("/v1/notes", params={"updated_since": "2026-11-18T11:08:31Z"}))
        assert [n["id"] for n in since] == [3]
        assert data(await client.delete("/v1/notes/3")) is True
        assert (await client.get("/v1/notes/3")).status_code == 404
        assert 3 not in [n["id"] for n in data(await client.get("/v1/notes"))]
        orphan = await client.post("/v1/notes", json={"content": "nowhere"})
        assert orphan.status_code == 400
        wrong = await client.post("/v1/notes", json={"content": "x", "person_id": 999})
        assert wrong.status_code == 400 and wrong.json()["error"].startswith("person_id")
        bad_pin = await client.post("/v1/notes", json={"content": "x", "person_id": 1, "pinned_to_person_flag": True},
                                    extensions=INVALID)
        assert bad_pin.status_code == 400


@run_async
async def test_files_upload_download_list_and_delete() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        person = data(await client.post("/api/v2/persons", json={"name": "Ann Lee"}))
        payload = bytes(range(256)) * 40
        made = data(await client.post("/v1/files", data={"person_id": str(person["id"])},
                                      files={"file": ("scan.pdf", payload, "application/pdf")}))
        assert (made["file_name"], made["file_size"], made["person_id"], made["person_name"]) == \
            ("scan.pdf", len(payload), person["id"], "Ann Lee")
        downloaded = await client.get(f"/v1/files/{made['id']}/download")
        assert downloaded.content == payload and downloaded.headers["content-type"] == "application/octet-stream"
        for i in range(104):
            data(await client.post("/v1/files", data={"person_id": str(person["id"])},
                                   files={"file": (f"f{i}.txt", f"file {i}".encode(), "text/plain")}))
        items, pages = await v1_all(client, "files", limit=100)
        assert len(items) == 105 and len(pages) == 2
        too_many = await client.get("/v1/files", params={"limit": 101}, extensions=INVALID)
        assert too_many.status_code == 400  # v1 files list: limit at most 100
        assert data(await client.delete(f"/v1/files/{made['id']}")) == {"id": made["id"]}
        assert (await client.get(f"/v1/files/{made['id']}/download")).status_code == 404
        assert len(data(await client.get("/v1/files", params={"limit": 100}))) == 100
        unattached = await client.post("/v1/files", files={"file": ("x.txt", b"x", "text/plain")})
        assert unattached.status_code == 400
        no_file = await client.post("/v1/files", data={"person_id": "1"}, files={"other": ("x", b"x")},
                                   extensions=INVALID)
        assert no_file.status_code == 400
    exported = app.state.sandbox.account.export()["files"]
    assert exported[0]["sha256"] == hashlib.sha256(payload).hexdigest() and exported[0]["active_flag"] is False


@run_async
async def test_users_list_find_by_email_and_me() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as admin:
        seeded = (await admin.post("/_admin/users", json=[
            {"name": "Dr Jo Park", "email": "jo.park@clinic.example"},
            {"name": "Sam Park", "email": "sam@clinic.example", "active": False}])).json()
    async with sandbox_client(app) as client:
        users = data(await client.get("/v1/users"))
        assert [u["email"] for u in users] == ["admin@sandbox.example", "jo.park@clinic.example", "sam@clinic.example"]
        found = data(await client.get("/v1/users/find", params={"term": "JO.PARK@clinic.example", "search_by_email": 1}))
        assert [u["id"] for u in found] == [seeded[0]["id"]]
        by_name = data(await client.get("/v1/users/find", params={"term": "park"}))
        assert [u["id"] for u in by_name] == [seeded[0]["id"], seeded[1]["id"]]
        assert by_name[1]["active_flag"] is False
        me = data(await client.get("/v1/users/me"))
        assert me["is_you"] is True and me["company_domain"] == "sandbox" and me["id"] == users[0]["id"]
        assert data(await client.get(f"/v1/users/{seeded[0]['id']}"))["name"] == "Dr Jo Park"
        assert (await client.get("/v1/users/99")).status_code == 404


@run_async
async def test_activity_types_and_organization_relationships() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        types = data(await client.get("/v1/activityTypes"))
        assert {"call", "meeting", "task"} <= {t["key_string"] for t in types}
        made = data(await client.post("/v1/activityTypes", json={"name": "Home visit", "icon_key": "car"}))
        assert made["key_string"] == "home_visit" and made["is_custom_flag"] is True
        activity = data(await client.post("/api/v2/activities", json={"subject": "Visit", "type": "home_visit"}))
        assert activity["type"] == "home_visit"
        data(await client.put(f"/v1/activityTypes/{made['id']}", json={"color": "00FF00"}))
        gone = data(await client.delete(f"/v1/activityTypes/{made['id']}"))
        assert gone["active_flag"] is False
        refused = await client.post("/api/v2/activities", json={"subject": "Visit", "type": "home_visit"})
        assert refused.status_code == 400

        parent = data(await client.post("/api/v2/organizations", json={"name": "Health Group"}))
        child = data(await client.post("/api/v2/organizations", json={"name": "Clinic East"}))
        data(await client.post("/api/v2/persons", json={"name": "A", "org_id": child["id"]}))
        rel = data(await client.post("/v1/organizationRelationships", json={
            "type": "parent", "rel_owner_org_id": parent["id"], "rel_linked_org_id": child["id"]}))
        assert rel["rel_owner_org_id"]["value"] == parent["id"] and rel["rel_linked_org_id"]["people_count"] == 1
        seen = (await client.get("/v1/organizationRelationships", params={"org_id": child["id"]})).json()
        assert [(r["calculated_type"], r["calculated_related_org_id"]) for r in seen["data"]] == [("parent", parent["id"])]
        assert set(seen["related_objects"]["organization"]) == {str(parent["id"]), str(child["id"])}
        from_parent = data(await client.get(f"/v1/organizationRelationships/{rel['id']}", params={"org_id": parent["id"]}))
        assert from_parent["calculated_type"] == "daughter"
        data(await client.delete(f"/v1/organizationRelationships/{rel['id']}"))
        assert data(await client.get("/v1/organizationRelationships", params={"org_id": child["id"]})) == []
        self_rel = await client.post("/v1/organizationRelationships", json={
            "type": "related", "rel_owner_org_id": parent["id"], "rel_linked_org_id": parent["id"]})
        assert self_rel.status_code == 400


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/persons"), ("POST", "/v1/persons"), ("GET", "/v1/deals/1"), ("PUT", "/v1/organizations/1"),
    ("GET", "/api/v1/activities"), ("DELETE", "/v1/products/3"), ("GET", "/v1/pipelines"), ("GET", "/v1/stages"),
])
@run_async
async def test_removed_v1_endpoints_answer_410_in_pipedrive_error_shape(method: str, path: str) -> None:
    app, _ = make_sandbox()
    async with sandbox_client(app) as client:
        answer = await client.request(method, path, json={"name": "x"} if method in ("POST", "PUT") else None)
        assert answer.status_code == 410
        body = answer.json()
        assert body["success"] is False and body["data"] is None and body["additional_data"] is None
        assert "/api/v2" in body["error"] and body["error_info"]
    assert app.state.sandbox.tokens.total == 0  # refused before any token is charged


@run_async
async def test_unknown_paths_and_unemulated_operations() -> None:
    app, _ = make_sandbox()
    async with sandbox_client(app) as client:
        unknown = await client.get("/api/v2/nothing")
        assert unknown.status_code == 404 and unknown.json()["success"] is False
        unemulated = await client.get("/api/v2/projectTemplates")  # in the spec, not in the sandbox
        assert unemulated.status_code == 501 and "getProjectTemplates" in unemulated.json()["error"]

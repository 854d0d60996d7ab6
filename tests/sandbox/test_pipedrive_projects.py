"""The sandbox's Projects API (v2): boards, phases and projects with their links and custom fields.

Every exchange passes through the contract validator (tests/contract/validate.py), so the shapes
are the spec's: no `is_deleted` on these objects, 201 for addProject, boards/phases lists unpaged.
"""

from __future__ import annotations

import httpx

from tests.contract.pipedrive_sandbox import INVALID, data, make_sandbox, run_async, sandbox_client


async def add(client: httpx.AsyncClient, path: str, body: dict) -> dict:
    return data(await client.post(f"/api/v2/{path}", json=body))


@run_async
async def test_boards_and_phases_list_add_get_patch_delete() -> None:
    app, _ = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        assert data(await client.get("/api/v2/boards")) == []  # a fresh account has no project board
        board = await add(client, "boards", {"name": "Care plans"})
        other = await add(client, "boards", {"name": "Equipment"})
        assert (board["id"], board["order_nr"], other["order_nr"]) == (1, 1, 2)
        assert "is_deleted" not in board  # the spec's board has no such property
        first = await add(client, "phases", {"name": "Migrated", "board_id": board["id"]})
        second = await add(client, "phases", {"name": "Done", "board_id": board["id"]})
        await add(client, "phases", {"name": "Elsewhere", "board_id": other["id"]})
        assert (first["order_nr"], second["order_nr"], first["board_id"]) == (1, 2, board["id"])
        listed = data(await client.get("/api/v2/phases", params={"board_id": board["id"]}))
        assert [p["name"] for p in listed] == ["Migrated", "Done"]  # only that board's phases
        assert (await client.get("/api/v2/phases", extensions=INVALID)).status_code == 400  # board_id required
        bad = await client.post("/api/v2/phases", json={"name": "x", "board_id": 99})
        assert bad.status_code == 400 and "board_id" in bad.json()["error"]

        renamed = data(await client.patch(f"/api/v2/boards/{board['id']}", json={"name": "Care plans (VP)"}))
        assert renamed["name"] == "Care plans (VP)"
        assert data(await client.get(f"/api/v2/phases/{second['id']}"))["name"] == "Done"
        # a board that still holds phases cannot go; its phases first, then the board
        assert (await client.delete(f"/api/v2/boards/{board['id']}")).status_code == 400
        for phase in (first, second):
            assert data(await client.delete(f"/api/v2/phases/{phase['id']}")) == {"id": phase["id"]}
        assert data(await client.delete(f"/api/v2/boards/{board['id']}")) == {"id": board["id"]}
        assert [b["id"] for b in data(await client.get("/api/v2/boards"))] == [other["id"]]
        assert (await client.get(f"/api/v2/boards/{board['id']}")).status_code == 404


@run_async
async def test_projects_links_custom_fields_paging_and_delete() -> None:
    app, clock = make_sandbox(rate_limits=False)
    async with sandbox_client(app) as client:
        board = await add(client, "boards", {"name": "Care plans"})
        phase = await add(client, "phases", {"name": "Migrated", "board_id": board["id"]})
        later = await add(client, "phases", {"name": "Closed", "board_id": board["id"]})
        org = await add(client, "organizations", {"name": "Acme"})
        people = [await add(client, "persons", {"name": f"P {i}"}) for i in range(2)]
        field = await add(client, "projectFields", {"field_name": "Goal", "field_type": "varchar"})

        made = await add(client, "projects", {
            "title": "Care plan 1", "phase_id": phase["id"], "person_ids": [people[1]["id"], people[0]["id"]],
            "org_ids": [org["id"]], "start_date": "2026-01-05", "description": "from VP",
            "custom_fields": {field["field_code"]: "Walk 5 km"}})
        assert made["board_id"] == board["id"]  # derived from the phase
        assert made["person_ids"] == sorted(p["id"] for p in people) and made["org_ids"] == [org["id"]]
        assert (made["status"], made["deal_ids"], made["archive_time"]) == ("open", [], None)
        assert made["custom_fields"] == {field["field_code"]: "Walk 5 km"}
        assert "is_deleted" not in made and "template_id" not in made

        for body, word in (({"title": "x", "person_ids": [99]}, "person_ids"),
                           ({"title": "x", "board_id": board["id"] + 1, "phase_id": phase["id"]}, "board_id"),
                           ({"title": "x", "board_id": board["id"]}, "phase_id"),
                           ({"title": "x", "status": "sideways"}, "status")):
            refused = await client.post("/api/v2/projects", json=body)
            assert refused.status_code == 400 and word in refused.json()["error"], (body, refused.text)

        for i in range(4):
            await add(client, "projects", {"title": f"Extra {i}", "phase_id": later["id"]})
        clock.advance(60)
        moved = data(await client.patch(f"/api/v2/projects/{made['id']}", json={"status": "completed"}))
        assert moved["status"] == "completed" and moved["status_change_time"] != made["status_change_time"]

        seen, cursor, pages = [], None, 0
        while True:
            body = (await client.get("/api/v2/projects", params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
            seen += [p["id"] for p in body["data"]]
            pages += 1
            cursor = body["additional_data"]["next_cursor"]
            if cursor is None:
                break
        assert (seen, pages) == ([1, 2, 3, 4, 5], 3)
        by_person = data(await client.get("/api/v2/projects", params={"person_id": people[0]["id"]}))
        assert [p["id"] for p in by_person] == [made["id"]]
        assert len(data(await client.get("/api/v2/projects", params={"phase_id": later["id"]}))) == 4
        assert [p["id"] for p in data(await client.get("/api/v2/projects", params={"status": "completed"}))] == [1]

        assert data(await client.delete(f"/api/v2/projects/{made['id']}")) == {"id": made["id"]}
        assert made["id"] not in [p["id"] for p in data(await client.get("/api/v2/projects"))]
        assert [p["id"] for p in data(await client.get("/api/v2/projects", params={"status": "deleted"}))] == [1]
        assert data(await client.get(f"/api/v2/projects/{made['id']}"))["status"] == "deleted"
        assert (await client.delete(f"/api/v2/projects/{made['id']}")).status_code == 404
        by_op = app.state.sandbox.tokens_json()["by_operation"]
    exported = app.state.sandbox.account.export()
    assert len(exported["projects"]) == 5 and exported["projects"][0]["is_deleted"] is True
    assert [b["name"] for b in exported["boards"]] == ["Care plans"]
    # charged at the spec's x-token-cost: addProject 5 (10 answered, 4 of them refused with 400), deleteProject 3
    adds = next(v for k, v in by_op.items() if "addProject" in k and "Board" not in k and "Phase" not in k and "Field" not in k)
    assert adds == {"calls": 9, "tokens": 45}
    deletes = next(v for k, v in by_op.items() if k.endswith("deleteProject"))
    assert deletes["tokens"] == 3 * deletes["calls"]

"""Every operation the sandbox emulates, called once on one account through the contract validator:
each request meets the spec's request schema, each answer its response schema, and the sandbox's
token ledger shows that every registered handler was reached (so none escapes the contract check)."""

from __future__ import annotations

from typing import Any

from sandbox.pipedrive.app import handlers
from tests.contract.pipedrive_sandbox import make_sandbox, run_async, sandbox_client

ENTITIES = {"persons": {"name": "Ann"}, "organizations": {"name": "Org"}, "deals": {"title": "Deal"},
            "activities": {"subject": "Call", "type": "call"}, "products": {"name": "Product"},
            "pipelines": {"name": "Pipeline"}}
UPDATES = {"persons": {"name": "Ann B"}, "organizations": {"name": "Org B"}, "deals": {"value": 10},
           "activities": {"done": True}, "products": {"tax": 5}, "pipelines": {"name": "P B"}, "stages": {"name": "S B"}}
FIELD_PATHS = ("personFields", "organizationFields", "dealFields", "productFields", "projectFields")


def calls() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, httpx keyword arguments), in an order where every id exists when used."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for name, body in ENTITIES.items():
        out.append(("POST", f"/api/v2/{name}", {"json": body}))
    out.append(("POST", "/api/v2/stages", {"json": {"name": "Stage", "pipeline_id": 2}}))
    for name in [*ENTITIES, "stages"]:
        out += [("GET", f"/api/v2/{name}", {}), ("GET", f"/api/v2/{name}/1", {}),
                ("PATCH", f"/api/v2/{name}/{6 if name == 'stages' else 1}", {"json": UPDATES[name]})]
    out += [("POST", "/api/v2/deals/1/products", {"json": {"product_id": 1, "item_price": 5, "quantity": 2}}),
            ("POST", "/api/v2/deals/1/products/bulk", {"json": {"data": [{"product_id": 1, "item_price": 1, "quantity": 1}]}}),
            ("GET", "/api/v2/deals/1/products", {}), ("GET", "/api/v2/deals/products", {"params": {"deal_ids": 1}}),
            ("PATCH", "/api/v2/deals/1/products/1", {"json": {"quantity": 3}}),
            ("DELETE", "/api/v2/deals/1/products/2", {}), ("DELETE", "/api/v2/deals/1/products", {})]
    for term_path in ("itemSearch", "persons/search", "organizations/search", "deals/search", "products/search"):
        out.append(("GET", f"/api/v2/{term_path}", {"params": {"term": "an"}}))
    for path in FIELD_PATHS:
        out += [("POST", f"/api/v2/{path}", {"json": {"field_name": "Kind", "field_type": "enum", "options": [{"label": "A"}]}}),
                ("GET", f"/api/v2/{path}", {})]
    out += [("GET", "/api/v2/activityFields", {}), ("GET", "/api/v2/activityFields/subject", {})]
    out += [("POST", "/v1/notes", {"json": {"content": "n", "person_id": 1}}), ("GET", "/v1/notes", {}),
            ("GET", "/v1/notes/1", {}), ("PUT", "/v1/notes/1", {"json": {"content": "m"}}),
            ("POST", "/v1/files", {"data": {"deal_id": "1"}, "files": {"file": ("a.txt", b"a", "text/plain")}}),
            ("GET", "/v1/files", {}), ("GET", "/v1/files/1", {}), ("GET", "/v1/files/1/download", {}),
            ("GET", "/v1/users", {}), ("GET", "/v1/users/find", {"params": {"term": "admin"}}),
            ("GET", "/v1/users/me", {}), ("GET", "/v1/users/1", {}),
            ("GET", "/v1/activityTypes", {}), ("POST", "/v1/activityTypes", {"json": {"name": "Visit", "icon_key": "car"}}),
            ("PUT", "/v1/activityTypes/7", {"json": {"name": "Home visit"}}),
            ("POST", "/api/v2/organizations", {"json": {"name": "Daughter"}}),
            ("POST", "/v1/organizationRelationships", {"json": {"type": "parent", "rel_owner_org_id": 1, "rel_linked_org_id": 2}}),
            ("GET", "/v1/organizationRelationships", {"params": {"org_id": 1}}),
            ("GET", "/v1/organizationRelationships/1", {}),
            ("PUT", "/v1/organizationRelationships/1", {"json": {"type": "related"}}),
            ("DELETE", "/v1/organizationRelationships/1", {}), ("DELETE", "/v1/activityTypes/7", {}),
            ("DELETE", "/v1/files/1", {}), ("DELETE", "/v1/notes/1", {})]
    out += [("POST", "/api/v2/boards", {"json": {"name": "Board"}}), ("GET", "/api/v2/boards", {}),
            ("GET", "/api/v2/boards/1", {}), ("PATCH", "/api/v2/boards/1", {"json": {"name": "Board B"}}),
            ("POST", "/api/v2/phases", {"json": {"name": "Phase", "board_id": 1}}),
            ("GET", "/api/v2/phases", {"params": {"board_id": 1}}), ("GET", "/api/v2/phases/1", {}),
            ("PATCH", "/api/v2/phases/1", {"json": {"name": "Phase B"}}),
            ("POST", "/api/v2/projects", {"json": {"title": "Project", "phase_id": 1, "person_ids": [1]}}),
            ("GET", "/api/v2/projects", {}), ("GET", "/api/v2/projects/1", {}),
            ("PATCH", "/api/v2/projects/1", {"json": {"status": "completed"}}),
            ("DELETE", "/api/v2/projects/1", {}), ("DELETE", "/api/v2/phases/1", {}), ("DELETE", "/api/v2/boards/1", {})]
    for name in ("deals", "activities", "persons", "products", "organizations", "stages", "pipelines"):
        out.append(("DELETE", f"/api/v2/{name}/{6 if name == 'stages' else 2 if name == 'organizations' else 1}", {}))
    return out


def field_calls(codes: dict[str, str], option_ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    out: list[tuple[str, str, dict[str, Any]]] = []
    for path in FIELD_PATHS:
        code = codes[path]
        out += [("GET", f"/api/v2/{path}/{code}", {}), ("PATCH", f"/api/v2/{path}/{code}", {"json": {"field_name": "Type"}}),
                ("POST", f"/api/v2/{path}/{code}/options", {"json": [{"label": "B"}]}),
                ("PATCH", f"/api/v2/{path}/{code}/options", {"json": [{"id": option_ids[path], "label": "A2"}]}),
                ("DELETE", f"/api/v2/{path}/{code}/options", {"json": [{"id": option_ids[path]}]}),
                ("DELETE", f"/api/v2/{path}/{code}", {})]
    return out


@run_async
async def test_every_emulated_operation_answers_within_the_spec() -> None:
    app, _ = make_sandbox(rate_limits=False)
    codes: dict[str, str] = {}
    option_ids: dict[str, int] = {}
    async with sandbox_client(app) as client:
        for method, path, kwargs in calls():
            answer = await client.request(method, path, **kwargs)
            assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text[:300]}"
            if method == "POST" and path.endswith("Fields"):
                made = answer.json()["data"]
                codes[path.rsplit("/", 1)[1]], option_ids[path.rsplit("/", 1)[1]] = made["field_code"], made["options"][0]["id"]
        for method, path, kwargs in field_calls(codes, option_ids):
            answer = await client.request(method, path, **kwargs)
            assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text[:300]}"
    reached = {tuple(key.split(" ")) for key in app.state.sandbox.tokens.by_operation}
    assert reached == set(handlers()), sorted(set(handlers()) - reached)

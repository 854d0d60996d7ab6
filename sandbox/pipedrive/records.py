"""The v2 entities: what a created or updated record holds, beyond what the spec's schema checks.

The schema checks (types, enums, unknown keys) are done by `strict` from the YAML before we get here;
this module adds what a real account checks against its own data: `owner_id` names an active user,
references name live records, a stage belongs to its pipeline, an activity's type exists, custom
field values fit their fields, and it fills the values Pipedrive derives (first/last name, won_time,
participants). Every record carries every property of the spec's response schema, null when unset.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable

from sandbox.pipedrive.account import Account
from sandbox.pipedrive.errors import bad_request
from vp2pd import pipedrive_contract as pc

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HHMM = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
DEAL_STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class Entity:
    table: str
    label: str  # "Person", for messages
    path: str  # "/persons"
    field_entity: str | None  # the custom-field catalogue, if it has custom fields
    refs: tuple[tuple[str, str], ...]  # (property, table) references that must be live
    defaults: tuple[tuple[str, Any], ...]
    derive: Callable[[Account, dict[str, Any], dict[str, Any], bool], None]


@functools.cache
def response_properties(path: str) -> tuple[str, ...]:
    """Every property of the entity in the spec's GET-one response (`data` of `GET {path}/{id}`)."""
    op = pc.operation_for("GET", f"/api/v2{path}/1")
    assert op is not None, path
    schema = pc.operation_spec(op)["responses"]["200"]["content"]["application/json"]["schema"]
    names: list[str] = []

    def collect(node: dict[str, Any]) -> None:
        for part in node.get("allOf", []):
            collect(part)
        for name in node.get("properties", {}):
            if name not in names:
                names.append(name)

    for part in schema.get("allOf", [schema]):
        data = part.get("properties", {}).get("data")
        if data:
            collect(data)
    return tuple(names)


def _person(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if "name" in body:
        first, _, last = body["name"].strip().partition(" ")
        row["first_name"], row["last_name"] = first, last or None
    for key in ("emails", "phones"):
        for i, item in enumerate(body.get(key) or []):
            if "value" not in item:
                raise bad_request(f"{key}[{i}].value: required")
        if key in body and body[key] is not None:
            row[key] = [{"value": i["value"], "primary": bool(i.get("primary", False)), "label": i.get("label", "work")}
                        for i in body[key]]


def _deal(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    now = account.now_v2()
    if "status" in body and body["status"] not in DEAL_STATUSES:
        raise bad_request(f"status: must be one of {', '.join(DEAL_STATUSES)}, got {body['status']!r}")
    stages = account.table("stages")
    if "stage_id" in body and body["stage_id"] is not None:
        stage = stages.rows[body["stage_id"]]  # live: checked as a reference
        if body.get("pipeline_id") not in (None, stage["pipeline_id"]):
            raise bad_request(f"stage_id: stage {stage['id']} is not in pipeline {body['pipeline_id']}")
        row["pipeline_id"] = stage["pipeline_id"]
    elif creating or "pipeline_id" in body:
        pipeline_id = row.get("pipeline_id") or min(
            i for i, p in account.table("pipelines").rows.items() if not p["is_deleted"])
        first = sorted((s["order_nr"], s["id"]) for s in stages.rows.values()
                       if s["pipeline_id"] == pipeline_id and not s["is_deleted"])
        if not first:
            raise bad_request(f"pipeline_id: pipeline {pipeline_id} has no stages")
        row["pipeline_id"], row["stage_id"] = pipeline_id, first[0][1]
    if creating or "stage_id" in body:
        row["stage_change_time"] = now
    status = body.get("status")
    if status == "won" and not body.get("won_time"):
        row["won_time"] = now
    if status == "lost" and not body.get("lost_time"):
        row["lost_time"] = now
    if status in ("won", "lost"):
        row["close_time"] = row.get("close_time") or now
    if status == "open":
        row["won_time"] = row["lost_time"] = row["close_time"] = None
    if "expected_close_date" in body and body["expected_close_date"] and not DATE.match(body["expected_close_date"]):
        raise bad_request("expected_close_date: must be a date YYYY-MM-DD")


def _activity(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if "type" in body:
        types = {t["key_string"] for t in account.table("activity_types").rows.values() if t["active_flag"]}
        if body["type"] not in types:
            raise bad_request(f"type: no activity type {body['type']!r}; the account has {', '.join(sorted(types))}")
    for key, pattern, form in (("due_date", DATE, "YYYY-MM-DD"), ("due_time", HHMM, "HH:MM"), ("duration", HHMM, "HH:MM")):
        if body.get(key) is not None and not pattern.match(body[key]):
            raise bad_request(f"{key}: must be {form}, got {body[key]!r}")
    participants = body.get("participants")
    if participants is not None:
        for i, p in enumerate(participants):
            if account.live("persons", p.get("person_id", -1)) is None:
                raise bad_request(f"participants[{i}].person_id: no person with id {p.get('person_id')}")
        row["participants"] = [{"person_id": p["person_id"], "primary": bool(p.get("primary", False))} for p in participants]
        primary = [p["person_id"] for p in participants if p.get("primary")] or [p["person_id"] for p in participants]
        row["person_id"] = primary[0] if primary else None
    elif body.get("person_id") is not None:
        row["participants"] = [{"person_id": body["person_id"], "primary": True}]
    if creating:
        row["creator_user_id"] = account.me_id
    if "done" in body:
        row["marked_as_done_time"] = account.now_v2() if body["done"] else None


def _product(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if "category" in body and body["category"] is not None:
        row["category"] = str(body["category"])
    if "prices" in body:
        prices = []
        for i, price in enumerate(body["prices"] or []):
            if not isinstance(price, dict) or isinstance(price.get("price"), bool) or \
                    not isinstance(price.get("price"), (int, float)):
                raise bad_request(f"prices[{i}].price: required, a number")
            if not isinstance(price.get("currency"), str):
                raise bad_request(f"prices[{i}].currency: required, a currency code")
            prices.append({"product_id": row.get("id", 0), "price": price["price"], "currency": price["currency"],
                           "cost": price.get("cost", 0), "direct_cost": price.get("direct_cost"),
                           "notes": price.get("notes", "")})
        row["prices"] = prices


def _stage(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if creating:
        siblings = [s for s in account.table("stages").rows.values() if s["pipeline_id"] == body["pipeline_id"]]
        row["order_nr"] = len(siblings) + 1


def _pipeline(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if creating:
        row["order_nr"] = len(account.table("pipelines").rows) + 1


def _board(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if creating and body.get("order_nr") is None:
        row["order_nr"] = sum(not b["is_deleted"] for b in account.table("boards").rows.values()) + 1


def _phase(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    if creating and body.get("order_nr") is None:
        row["order_nr"] = sum(p["board_id"] == body["board_id"] and not p["is_deleted"]
                              for p in account.table("phases").rows.values()) + 1


PROJECT_STATUSES = ("open", "completed", "canceled")  # `deleted` is what DELETE makes, not a value to send
PROJECT_LINKS = (("deal_ids", "deals"), ("person_ids", "persons"), ("org_ids", "organizations"))


def _project(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    row.pop("template_id", None)  # request-only: the spec's Project has no template_id
    if "status" in body and body["status"] not in PROJECT_STATUSES:
        raise bad_request(f"status: must be one of {', '.join(PROJECT_STATUSES)}, got {body['status']!r}")
    if body.get("phase_id") is not None:
        phase = account.table("phases").rows[body["phase_id"]]  # live: checked as a reference
        if body.get("board_id") not in (None, phase["board_id"]):
            raise bad_request(f"phase_id: phase {phase['id']} is not on board {body['board_id']}")
        row["board_id"] = phase["board_id"]
    elif body.get("board_id") is not None and (creating or body["board_id"] != row.get("board_id")):
        raise bad_request("phase_id: required with board_id (a project sits in one phase of its board)")
    for prop, table in PROJECT_LINKS:
        for i, linked in enumerate(body.get(prop) or []):
            if account.live(table, linked) is None:
                raise bad_request(f"{prop}[{i}]: no {table[:-1]} with id {linked}")
        if prop in body:
            row[prop] = sorted(set(body[prop] or []))
    if creating or ("status" in body and body["status"] != row.get("_status_before")):
        row["status_change_time"] = account.now_v2()


def _nothing(account: Account, row: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    return None


OWNED = (("owner_id", "users"),)
ENTITIES: dict[str, Entity] = {e.table: e for e in (
    Entity("persons", "Person", "/persons", "person", OWNED + (("org_id", "organizations"),),
           (("emails", []), ("phones", []), ("label_ids", []), ("visible_to", 3), ("im", [])), _person),
    Entity("organizations", "Organization", "/organizations", "organization", OWNED,
           (("label_ids", []), ("visible_to", 3)), _nothing),
    Entity("deals", "Deal", "/deals", "deal",
           OWNED + (("person_id", "persons"), ("org_id", "organizations"), ("pipeline_id", "pipelines"),
                    ("stage_id", "stages")),
           (("value", 0), ("currency", "USD"), ("status", "open"), ("is_archived", False), ("label_ids", []),
            ("visible_to", 3), ("origin", "API")), _deal),
    Entity("activities", "Activity", "/activities", "activity",
           OWNED + (("person_id", "persons"), ("org_id", "organizations"), ("deal_id", "deals")),
           (("type", "task"), ("subject", "Task"), ("done", False), ("busy", False), ("participants", []),
            ("attendees", [])), _activity),
    Entity("products", "Product", "/products", "product", OWNED,
           (("tax", 0), ("is_linkable", True), ("visible_to", 3), ("prices", []), ("billing_frequency", "one-time"),
            ("unit", ""), ("code", ""), ("description", "")), _product),
    Entity("pipelines", "Pipeline", "/pipelines", None, (), (("is_deal_probability_enabled", False),), _pipeline),
    Entity("stages", "Stage", "/stages", None, (("pipeline_id", "pipelines"),),
           (("deal_probability", 100), ("is_deal_rot_enabled", False)), _stage),
    Entity("boards", "Project board", "/boards", None, (), (), _board),
    Entity("phases", "Project phase", "/phases", None, (("board_id", "boards"),), (), _phase),
    Entity("projects", "Project", "/projects", "project",
           OWNED + (("board_id", "boards"), ("phase_id", "phases")),
           (("status", "open"), ("deal_ids", []), ("person_ids", []), ("org_ids", []), ("label_ids", []),
            ("description", "")), _project),
)}


def check_refs(account: Account, entity: Entity, body: dict[str, Any]) -> None:
    for prop, table in entity.refs:
        value = body.get(prop)
        if value is None:
            continue
        row = account.live(table, value)
        if row is None or (table == "users" and not row["active_flag"]):
            what = "active user" if table == "users" else table[:-1].replace("_", " ")
            raise bad_request(f"{prop}: no {what} with id {value}")


def create(account: Account, entity: Entity, body: dict[str, Any]) -> dict[str, Any]:
    check_refs(account, entity, body)
    now = account.now_v2()
    row: dict[str, Any] = {name: None for name in response_properties(entity.path)}
    row.update({k: (list(v) if isinstance(v, list) else v) for k, v in entity.defaults})
    row.update({k: v for k, v in body.items() if k != "custom_fields"})
    row.update(is_deleted=False, add_time=body.get("add_time") or now, update_time=now)
    if "owner_id" in row and row["owner_id"] is None:
        row["owner_id"] = account.me_id
    custom = _custom(account, entity, body)
    table = account.table(entity.table)
    row["id"] = table.last_id + 1  # derive() may need the id (product prices)
    entity.derive(account, row, body, True)
    if entity.field_entity:
        row["_custom"] = custom
    return table.insert(row)


def update(account: Account, entity: Entity, row: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    check_refs(account, entity, body)
    custom = _custom(account, entity, body)
    staged = dict(row)
    staged["_status_before"] = row.get("status")
    staged.update({k: v for k, v in body.items() if k != "custom_fields"})
    entity.derive(account, staged, body, False)  # may raise: the stored row stays untouched
    if entity.field_entity:
        staged["_custom"] = {**row.get("_custom", {}), **custom}
    staged["update_time"] = account.now_v2()
    staged.pop("_status_before")
    row.update(staged)
    return row


def _custom(account: Account, entity: Entity, body: dict[str, Any]) -> dict[str, Any]:
    if "custom_fields" not in body:
        return {}
    if entity.field_entity is None:
        raise bad_request(f"custom_fields: {entity.label.lower()}s have no custom fields")
    return account.fields.clean_values(entity.field_entity, body["custom_fields"], account.exists)


def public(account: Account, entity: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """The record as the API shows it: stored values, custom fields of live fields only."""
    shown = {k: v for k, v in row.items() if not k.startswith("_")}
    if "is_deleted" not in response_properties(entity.path):  # boards, phases, projects: the spec has none
        shown.pop("is_deleted", None)
    if entity.field_entity:
        shown["custom_fields"] = account.fields.shown_values(entity.field_entity, row.get("_custom", {}))
    return shown

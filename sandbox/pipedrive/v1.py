"""API v1 handlers for what has no v2: notes, files, users, activity types, organization relationships.

v1 paging is `start`/`limit` with `additional_data.pagination` (files: limit ≤ 100). Deletes set
`active_flag` false; deleted objects leave the lists. v1 times are `YYYY-MM-DD HH:MM:SS` (UTC).
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import bad_request, not_found
from sandbox.pipedrive.paging import v1_page
from sandbox.pipedrive.timefmt import parse_rfc3339

FILES_MAX_LIMIT = 100
FILE_FORM_FIELDS = frozenset({"deal_id", "person_id", "org_id", "product_id", "activity_id", "lead_id", "project_id"})
NOTE_TARGETS = (("deal_id", "deals", "deal", "title"), ("person_id", "persons", "person", "name"),
                ("org_id", "organizations", "organization", "name"), ("lead_id", None, None, None),
                ("project_id", None, "project", None), ("task_id", None, "task", None))
PINS = ("pinned_to_lead_flag", "pinned_to_deal_flag", "pinned_to_organization_flag", "pinned_to_person_flag",
        "pinned_to_project_flag", "pinned_to_task_flag")
SORT = re.compile(r"^\s*(\w+)(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)


def _sorted(rows: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    if not sort:
        return sorted(rows, key=lambda r: r["id"])
    match = SORT.match(sort)
    if match is None or (rows and match.group(1) not in rows[0]):
        raise bad_request(f"sort: {sort!r} is not 'field_name ASC|DESC' of a field of the object")
    name, desc = match.group(1), (match.group(2) or "ASC").upper() == "DESC"
    return sorted(rows, key=lambda r: (r.get(name) is not None, r.get(name) or "", r["id"]), reverse=desc)


def _v1_page(ctx: Ctx, rows: list[Any], max_limit: int = 500) -> Response:
    page, pagination = v1_page(rows, ctx.query("start"), ctx.query("limit"), max_limit)
    return ctx.ok(page, {"pagination": pagination})


# -- users -------------------------------------------------------------------------------------------
def _user(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "is_you": row["id"] == ctx.account.me_id}


async def get_users(ctx: Ctx) -> Response:
    return ctx.ok([_user(ctx, u) for u in ctx.account.table("users").rows.values()])


async def find_users(ctx: Ctx) -> Response:
    term = (ctx.query("term") or "").strip().lower()
    if not term:
        raise bad_request("term: required")
    by_email = ctx.query("search_by_email") == 1
    found = [u for u in ctx.account.table("users").rows.values()
             if (term == u["email"].lower() if by_email else term in u["name"].lower())]
    return ctx.ok([_user(ctx, u) for u in found])


async def get_current_user(ctx: Ctx) -> Response:
    me = ctx.account.table("users").rows[ctx.account.me_id]
    a = ctx.account
    return ctx.ok({**_user(ctx, me), "company_id": a.company_id, "company_name": f"{a.company_domain} (sandbox)",
                   "company_domain": a.company_domain, "company_country": "US", "company_industry": "Services",
                   "language": {"language_code": "en", "country_code": "US"}})


async def get_user(ctx: Ctx) -> Response:
    row = ctx.account.table("users").rows.get(ctx.path_id())
    if row is None:
        raise not_found("User")
    return ctx.ok(_user(ctx, row))


# -- notes -------------------------------------------------------------------------------------------
def _note_view(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    view = dict(row)
    for key, table, name, label in NOTE_TARGETS:
        if table is not None and name is not None:
            target = ctx.account.table(table).rows.get(row.get(key) or -1)
            view[name] = {label: target[label]} if target else None
    user = ctx.account.table("users").rows.get(row["user_id"])
    view["user"] = ({"email": user["email"], "icon_url": user["icon_url"] or "", "is_you": user["id"] == ctx.account.me_id,
                     "name": user["name"]} if user else None)
    return view


def _note_refs(ctx: Ctx, body: dict[str, Any], creating: bool) -> None:
    if creating and not any(body.get(k) is not None for k, *_ in NOTE_TARGETS):
        raise bad_request("A note must be attached to a deal, person, organization, lead, project or task "
                          "(deal_id, person_id, org_id, lead_id, project_id or task_id)")
    for key, table, _, _ in NOTE_TARGETS:
        if table is not None and body.get(key) is not None and ctx.account.live(table, body[key]) is None:
            raise bad_request(f"{key}: no {table[:-1]} with id {body[key]}")
    if body.get("user_id") is not None and ctx.account.live("users", body["user_id"]) is None:
        raise bad_request(f"user_id: no user with id {body['user_id']}")


def _note_values(body: dict[str, Any]) -> dict[str, Any]:
    return {k: (bool(v) if k in PINS else v) for k, v in body.items()}


async def get_notes(ctx: Ctx) -> Response:
    rows = [n for n in ctx.account.table("notes").rows.values() if n["active_flag"]]
    for key in ("user_id", "deal_id", "person_id", "org_id", "lead_id", "project_id", "task_id"):
        value = ctx.query(key)
        if value is not None:
            rows = [n for n in rows if n.get(key) == value]
    for pin in PINS:
        value = ctx.query(pin)
        if value is not None:
            rows = [n for n in rows if n[pin] == bool(value)]
    since = ctx.request.query_params.get("updated_since")
    if since is not None:
        try:
            edge = parse_rfc3339(since).replace("T", " ").rstrip("Z")
        except ValueError:
            raise bad_request(f"updated_since: {since!r} is not an RFC 3339 date-time") from None
        rows = [n for n in rows if n["update_time"] >= edge]
    for bound, keep in (("start_date", lambda d, b: d >= b), ("end_date", lambda d, b: d <= b)):
        value = ctx.query(bound)
        if value is not None:
            rows = [n for n in rows if keep(n["add_time"][:10], value)]
    return _v1_page(ctx, [_note_view(ctx, n) for n in _sorted(rows, ctx.query("sort"))])


async def add_note(ctx: Ctx) -> Response:
    body = await ctx.body()
    _note_refs(ctx, body, creating=True)
    now = ctx.account.now_v1()
    row = {"content": "", "active_flag": True, "add_time": now, "update_time": now, "user_id": ctx.account.me_id,
           "last_update_user_id": ctx.account.me_id, "deal_id": None, "person_id": None, "org_id": None,
           "lead_id": None, "project_id": None, "task_id": None, **{p: False for p in PINS}}
    row.update(_note_values(body))
    return ctx.ok(_note_view(ctx, ctx.account.table("notes").insert(row)))


def _live_note(ctx: Ctx) -> dict[str, Any]:
    row = ctx.account.live("notes", ctx.path_id())
    if row is None:
        raise not_found("Note")
    return row


async def get_note(ctx: Ctx) -> Response:
    return ctx.ok(_note_view(ctx, _live_note(ctx)))


async def update_note(ctx: Ctx) -> Response:
    row = _live_note(ctx)
    body = await ctx.body()
    _note_refs(ctx, body, creating=False)
    row.update(_note_values(body), update_time=ctx.account.now_v1(), last_update_user_id=ctx.account.me_id)
    return ctx.ok(_note_view(ctx, row))


async def delete_note(ctx: Ctx) -> Response:
    row = _live_note(ctx)
    row.update(active_flag=False, update_time=ctx.account.now_v1())
    return ctx.ok(True)


# -- files -------------------------------------------------------------------------------------------
FILE_TARGETS = (("deal_id", "deals", "deal_name", "title"), ("person_id", "persons", "person_name", "name"),
                ("org_id", "organizations", "org_name", "name"), ("product_id", "products", "product_name", "name"),
                ("activity_id", "activities", None, None))


def _multipart(ctx: Ctx, raw: bytes) -> tuple[dict[str, str], tuple[str, str, bytes] | None]:
    content_type = ctx.request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise bad_request("POST /files takes multipart/form-data with a `file` part")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    fields: dict[str, str] = {}
    upload = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "file" and part.get_filename() is not None:
            upload = (part.get_filename(), part.get_content_type(), data)
        elif name:
            fields[name] = data.decode("utf-8")
    return fields, upload


def _file_url(ctx: Ctx, file_id: int) -> str:
    return f"{ctx.request.base_url}v1/files/{file_id}/download"


async def add_file(ctx: Ctx) -> Response:
    fields, upload = _multipart(ctx, await ctx.request.body())
    if upload is None:
        raise bad_request("file: required (a multipart part named `file` with a filename)")
    values: dict[str, Any] = {}
    for key, raw in fields.items():
        if key not in FILE_FORM_FIELDS:
            raise bad_request(f"{key}: unknown parameter for addFile")
        if key in ("lead_id",):
            values[key] = raw
            continue
        try:
            values[key] = int(raw)
        except ValueError:
            raise bad_request(f"{key}: {raw!r} is not a valid integer") from None
    targets = [k for k, *_ in FILE_TARGETS if values.get(k) is not None] + [k for k in ("lead_id", "project_id") if k in values]
    if not targets:
        raise bad_request("A file must be attached to a deal, person, organization, product, activity, lead or project")
    now = ctx.account.now_v1()
    name, media, data = upload
    row: dict[str, Any] = {"user_id": ctx.account.me_id, "deal_id": None, "person_id": None, "org_id": None,
                           "product_id": None, "activity_id": None, "lead_id": None, "project_id": None,
                           "add_time": now, "update_time": now, "file_name": name, "file_size": len(data),
                           "file_type": media, "active_flag": True, "inline_flag": False, "remote_location": "s3",
                           "name": name, "description": ""}
    for key, table, label_key, label in FILE_TARGETS:
        if values.get(key) is None:
            continue
        target = ctx.account.live(table, values[key])
        if target is None:
            raise bad_request(f"{key}: no {table[:-1]} with id {values[key]}")
        row[key] = values[key]
        if label_key:
            row[label_key] = target[label]
    row.update({k: values[k] for k in ("lead_id", "project_id") if k in values})
    made = ctx.account.table("files").insert(row)
    made["url"] = _file_url(ctx, made["id"])
    ctx.account.blobs[made["id"]] = data
    return ctx.ok(made)


async def get_files(ctx: Ctx) -> Response:
    rows = [f for f in ctx.account.table("files").rows.values() if f["active_flag"]]
    return _v1_page(ctx, _sorted(rows, ctx.query("sort")), FILES_MAX_LIMIT)


def _live_file(ctx: Ctx) -> dict[str, Any]:
    row = ctx.account.live("files", ctx.path_id())
    if row is None:
        raise not_found("File")
    return row


async def get_file(ctx: Ctx) -> Response:
    return ctx.ok(_live_file(ctx))


async def download_file(ctx: Ctx) -> Response:
    row = _live_file(ctx)
    return Response(ctx.account.blobs[row["id"]], media_type="application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{row["file_name"]}"'})


async def delete_file(ctx: Ctx) -> Response:
    row = _live_file(ctx)
    row.update(active_flag=False, update_time=ctx.account.now_v1())
    return ctx.ok({"id": row["id"]})


# -- activity types ------------------------------------------------------------------------------------
async def get_activity_types(ctx: Ctx) -> Response:
    return ctx.ok([t for t in ctx.account.table("activity_types").rows.values() if t["active_flag"]])


def _key_string(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "activity"


async def add_activity_type(ctx: Ctx) -> Response:
    body = await ctx.body()
    taken = {t["key_string"] for t in ctx.account.table("activity_types").rows.values()}
    key = _key_string(body["name"])
    while key in taken:
        key += "_"
    return ctx.ok(ctx.account.add_activity_type(body["name"], body["icon_key"], key, color=body.get("color")))


def _live_type(ctx: Ctx) -> dict[str, Any]:
    row = ctx.account.live("activity_types", ctx.path_id())
    if row is None:
        raise not_found("Activity type")
    return row


async def update_activity_type(ctx: Ctx) -> Response:
    row = _live_type(ctx)
    row.update(await ctx.body(), update_time=ctx.account.now_v1())
    return ctx.ok(row)


async def delete_activity_type(ctx: Ctx) -> Response:
    row = _live_type(ctx)
    row.update(active_flag=False, update_time=ctx.account.now_v1())
    return ctx.ok(row)


# -- organization relationships ---------------------------------------------------------------------
def _org_info(ctx: Ctx, org_id: int) -> dict[str, Any]:
    org = ctx.account.table("organizations").rows[org_id]
    people = sum(1 for p in ctx.account.table("persons").rows.values() if p["org_id"] == org_id and not p["is_deleted"])
    address = org.get("address")
    return {"name": org["name"], "people_count": people, "owner_id": org["owner_id"],
            "address": address.get("value") if isinstance(address, dict) else None, "cc_email": None, "value": org_id}


def _relationship_view(ctx: Ctx, row: dict[str, Any], org_id: int | None) -> dict[str, Any]:
    view = {k: v for k, v in row.items() if k not in ("owner_org", "linked_org")}
    view["rel_owner_org_id"] = _org_info(ctx, row["owner_org"])
    view["rel_linked_org_id"] = _org_info(ctx, row["linked_org"])
    if org_id is not None:
        other = row["linked_org"] if org_id == row["owner_org"] else row["owner_org"]
        if row["type"] == "related":
            kind = "related"
        else:
            kind = "daughter" if org_id == row["owner_org"] else "parent"
        view.update(calculated_type=kind, calculated_related_org_id=other,
                    related_organization_name=ctx.account.table("organizations").rows[other]["name"])
    return view


def _related_objects(ctx: Ctx, org_ids: set[int]) -> dict[str, Any]:
    orgs = {}
    for org_id in sorted(org_ids):
        info = _org_info(ctx, org_id)
        orgs[str(org_id)] = {"id": org_id, **{k: v for k, v in info.items() if k != "value"}}
    return {"organization": orgs}


def _check_orgs(ctx: Ctx, body: dict[str, Any]) -> None:
    for key in ("org_id", "rel_owner_org_id", "rel_linked_org_id"):
        if body.get(key) is not None and ctx.account.live("organizations", body[key]) is None:
            raise bad_request(f"{key}: no organization with id {body[key]}")


async def get_relationships(ctx: Ctx) -> Response:
    org_id = ctx.query("org_id")
    if org_id is None:
        raise bad_request("org_id: required")
    rows = [r for r in ctx.account.table("organization_relationships").rows.values()
            if r["active_flag"] == "true" and org_id in (r["owner_org"], r["linked_org"])]
    page, pagination = v1_page(rows, ctx.query("start"), ctx.query("limit"))
    orgs = {o for r in page for o in (r["owner_org"], r["linked_org"])}
    return ctx.ok([_relationship_view(ctx, r, org_id) for r in page], pagination,
                  related_objects=_related_objects(ctx, orgs))


async def add_relationship(ctx: Ctx) -> Response:
    body = await ctx.body()
    _check_orgs(ctx, body)
    if body["rel_owner_org_id"] == body["rel_linked_org_id"]:
        raise bad_request("rel_linked_org_id: an organization cannot be related to itself")
    now = ctx.account.now_v1()
    # The spec types this relationship's active_flag as a string, and its examples agree ("true").
    row = ctx.account.table("organization_relationships").insert({
        "type": body["type"], "owner_org": body["rel_owner_org_id"], "linked_org": body["rel_linked_org_id"],
        "add_time": now, "update_time": now, "active_flag": "true"})
    orgs = {row["owner_org"], row["linked_org"]}
    return ctx.ok(_relationship_view(ctx, row, None), related_objects=_related_objects(ctx, orgs))


def _live_relationship(ctx: Ctx) -> dict[str, Any]:
    row = ctx.account.table("organization_relationships").rows.get(ctx.path_id())
    if row is None or row["active_flag"] != "true":
        raise not_found("Organization relationship")
    return row


async def get_relationship(ctx: Ctx) -> Response:
    row = _live_relationship(ctx)
    org_id = ctx.query("org_id")
    orgs = {row["owner_org"], row["linked_org"]}
    return ctx.ok(_relationship_view(ctx, row, org_id if org_id in orgs else None),
                  related_objects=_related_objects(ctx, orgs))


async def update_relationship(ctx: Ctx) -> Response:
    row = _live_relationship(ctx)
    body = await ctx.body()
    _check_orgs(ctx, body)
    changes = {"type": body.get("type", row["type"]), "owner_org": body.get("rel_owner_org_id", row["owner_org"]),
               "linked_org": body.get("rel_linked_org_id", row["linked_org"])}
    if changes["owner_org"] == changes["linked_org"]:
        raise bad_request("rel_linked_org_id: an organization cannot be related to itself")
    row.update(changes, update_time=ctx.account.now_v1())
    return ctx.ok(_relationship_view(ctx, row, None),
                  related_objects=_related_objects(ctx, {row["owner_org"], row["linked_org"]}))


async def delete_relationship(ctx: Ctx) -> Response:
    row = _live_relationship(ctx)
    row.update(active_flag="false", update_time=ctx.account.now_v1())
    return ctx.ok({"id": row["id"]})


def register(handlers: Handlers) -> None:
    handlers.update({
        ("v1", "getUsers"): get_users, ("v1", "findUsersByName"): find_users,
        ("v1", "getCurrentUser"): get_current_user, ("v1", "getUser"): get_user,
        ("v1", "getNotes"): get_notes, ("v1", "addNote"): add_note, ("v1", "getNote"): get_note,
        ("v1", "updateNote"): update_note, ("v1", "deleteNote"): delete_note,
        ("v1", "getFiles"): get_files, ("v1", "addFile"): add_file, ("v1", "getFile"): get_file,
        ("v1", "downloadFile"): download_file, ("v1", "deleteFile"): delete_file,
        ("v1", "getActivityTypes"): get_activity_types, ("v1", "addActivityType"): add_activity_type,
        ("v1", "updateActivityType"): update_activity_type, ("v1", "deleteActivityType"): delete_activity_type,
        ("v1", "getOrganizationRelationships"): get_relationships,
        ("v1", "addOrganizationRelationship"): add_relationship,
        ("v1", "getOrganizationRelationship"): get_relationship,
        ("v1", "updateOrganizationRelationship"): update_relationship,
        ("v1", "deleteOrganizationRelationship"): delete_relationship,
    })

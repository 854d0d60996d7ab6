"""API v1 notes (no v2 exists): CRUD, filters by the object a note is attached to, `updated_since`,
`start_date`/`end_date`, `sort`, start/limit paging. Pin flags go in as 0/1 and come out as booleans."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import bad_request, not_found
from sandbox.pipedrive.timefmt import parse_rfc3339
from sandbox.pipedrive.v1_common import paged, sort_rows

NOTE_TARGETS = (("deal_id", "deals", "deal", "title"), ("person_id", "persons", "person", "name"),
                ("org_id", "organizations", "organization", "name"), ("lead_id", None, None, None),
                ("project_id", None, "project", None), ("task_id", None, "task", None))
PINS = ("pinned_to_lead_flag", "pinned_to_deal_flag", "pinned_to_organization_flag", "pinned_to_person_flag",
        "pinned_to_project_flag", "pinned_to_task_flag")

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
    return paged(ctx, [_note_view(ctx, n) for n in sort_rows(rows, ctx.query("sort"))])


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


def register(handlers: Handlers) -> None:
    handlers.update({("v1", "getNotes"): get_notes, ("v1", "addNote"): add_note, ("v1", "getNote"): get_note,
                     ("v1", "updateNote"): update_note, ("v1", "deleteNote"): delete_note})

"""API v1 company objects (no v2 exists): users (list, find by name or email, me), activity types,
organization relationships (parent/daughter/related, seen from a given organization)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import bad_request, not_found
from sandbox.pipedrive.paging import v1_page

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
        ("v1", "getActivityTypes"): get_activity_types, ("v1", "addActivityType"): add_activity_type,
        ("v1", "updateActivityType"): update_activity_type, ("v1", "deleteActivityType"): delete_activity_type,
        ("v1", "getOrganizationRelationships"): get_relationships,
        ("v1", "addOrganizationRelationship"): add_relationship,
        ("v1", "getOrganizationRelationship"): get_relationship,
        ("v1", "updateOrganizationRelationship"): update_relationship,
        ("v1", "deleteOrganizationRelationship"): delete_relationship,
    })

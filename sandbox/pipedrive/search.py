"""API v2 search: per-entity (`/persons/search`, ...) and `/itemSearch` across entities.

A term matches a field when it is a case-insensitive substring (exact_match: the whole value);
results are ordered by score (1.0 for a whole-value match, 0.5 for a partial one), then id, and
paged by cursor. Terms shorter than 2 characters are refused (1 with exact_match), as Pipedrive does.
"""

from __future__ import annotations

from typing import Any, Callable

from starlette.responses import Response

from sandbox.pipedrive.account import Account
from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import bad_request
from sandbox.pipedrive.paging import offset_cursor_page, v2_limit

ItemShape = Callable[[Account, dict[str, Any]], dict[str, Any]]


def _custom_texts(row: dict[str, Any]) -> list[str]:
    return [str(v) for v in row.get("_custom", {}).values() if isinstance(v, (str, int, float)) and not isinstance(v, bool)]


def _notes(account: Account, key: str, row_id: int) -> list[str]:
    return [n["content"] for n in account.table("notes").rows.values() if n.get(key) == row_id and n["active_flag"]]


def _ref(account: Account, table: str, row_id: int | None, *fields: str) -> dict[str, Any] | None:
    row = account.live(table, row_id) if row_id is not None else None
    return None if row is None else {"id": row["id"], **{f: row.get(f) for f in fields}}


def _address(row: dict[str, Any]) -> str | None:
    address = row.get("address")
    return address.get("value") if isinstance(address, dict) else None


# table -> (item type, searchable texts by `fields` name, item shape)
def _person_texts(a: Account, r: dict[str, Any]) -> dict[str, list[str]]:
    return {"name": [r["name"] or ""], "email": [e["value"] for e in r["emails"] or []],
            "phone": [p["value"] for p in r["phones"] or []], "notes": _notes(a, "person_id", r["id"]),
            "custom_fields": _custom_texts(r)}


def _person_item(a: Account, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "type": "person", "name": r["name"], "phones": [p["value"] for p in r["phones"] or []],
            "emails": [e["value"] for e in r["emails"] or []], "visible_to": r["visible_to"], "owner": {"id": r["owner_id"]},
            "organization": _ref(a, "organizations", r["org_id"], "name"), "custom_fields": _custom_texts(r),
            "notes": _notes(a, "person_id", r["id"])}


def _org_texts(a: Account, r: dict[str, Any]) -> dict[str, list[str]]:
    return {"name": [r["name"] or ""], "address": [_address(r) or ""], "notes": _notes(a, "org_id", r["id"]),
            "custom_fields": _custom_texts(r)}


def _org_item(a: Account, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "type": "organization", "name": r["name"], "address": _address(r),
            "visible_to": r["visible_to"], "owner": {"id": r["owner_id"]}, "custom_fields": _custom_texts(r),
            "notes": _notes(a, "org_id", r["id"])}


def _deal_texts(a: Account, r: dict[str, Any]) -> dict[str, list[str]]:
    return {"title": [r["title"] or ""], "notes": _notes(a, "deal_id", r["id"]), "custom_fields": _custom_texts(r)}


def _deal_item(a: Account, r: dict[str, Any]) -> dict[str, Any]:
    value = r["value"]
    return {"id": r["id"], "type": "deal", "title": r["title"],
            "value": int(value) if float(value).is_integer() else value, "currency": r["currency"],
            "status": r["status"], "visible_to": r["visible_to"], "owner": {"id": r["owner_id"]},
            "stage": _ref(a, "stages", r["stage_id"], "name"), "person": _ref(a, "persons", r["person_id"], "name"),
            "organization": _ref(a, "organizations", r["org_id"], "name", "address"),
            "custom_fields": _custom_texts(r), "notes": _notes(a, "deal_id", r["id"]), "is_archived": r["is_archived"]}


def _product_texts(a: Account, r: dict[str, Any]) -> dict[str, list[str]]:
    return {"name": [r["name"] or ""], "code": [r["code"] or ""], "custom_fields": _custom_texts(r)}


def _product_item(a: Account, r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "type": "product", "name": r["name"], "code": r["code"], "visible_to": r["visible_to"],
            "owner": {"id": r["owner_id"]}, "custom_fields": _custom_texts(r)}


SEARCHABLE = {
    "person": ("persons", _person_texts, _person_item),
    "organization": ("organizations", _org_texts, _org_item),
    "deal": ("deals", _deal_texts, _deal_item),
    "product": ("products", _product_texts, _product_item),
}


def _score(texts: dict[str, list[str]], fields: set[str] | None, term: str, exact: bool) -> float:
    best = 0.0
    for name, values in texts.items():
        if fields is not None and name not in fields:
            continue
        for value in values:
            low = value.lower()
            if low == term:
                return 1.0
            if not exact and term in low:
                best = 0.5
    return best


def _term(ctx: Ctx) -> tuple[str, bool]:
    term = (ctx.query("term") or "").strip().lower()
    exact = bool(ctx.query("exact_match"))
    if len(term) < (1 if exact else 2):
        raise bad_request("term: must be at least 2 characters (1 with exact_match)")
    return term, exact


def _fields(ctx: Ctx) -> set[str] | None:
    raw = ctx.request.query_params.get("fields")
    return {f.strip() for f in raw.split(",")} if raw else None


def _results(ctx: Ctx, kinds: list[str]) -> list[dict[str, Any]]:
    term, exact = _term(ctx)
    fields = _fields(ctx)
    found = []
    for kind in kinds:
        table, texts, shape = SEARCHABLE[kind]
        for row in ctx.account.table(table).rows.values():
            if row["is_deleted"]:
                continue
            score = _score(texts(ctx.account, row), fields, term, exact)
            if score > 0:
                found.append((score, kind, row))
    found.sort(key=lambda t: (-t[0], t[1], t[2]["id"]))
    return [{"result_score": score, "item": SEARCHABLE[kind][2](ctx.account, row)} for score, kind, row in found]


def _entity_search(kind: str):  # type: ignore[no-untyped-def]
    async def handler(ctx: Ctx) -> Response:
        results = _results(ctx, [kind])
        org_filter = ctx.query("organization_id") if kind in ("person", "deal") else None
        if org_filter is not None:
            results = [r for r in results if (r["item"].get("organization") or {}).get("id") == org_filter]
        page, next_cursor = offset_cursor_page(results, v2_limit(ctx.query("limit")), ctx.query("cursor"))
        return ctx.ok({"items": page}, {"next_cursor": next_cursor})
    return handler


async def item_search(ctx: Ctx) -> Response:
    raw = ctx.request.query_params.get("item_types")
    kinds = [k.strip() for k in raw.split(",")] if raw else list(SEARCHABLE)
    unknown = [k for k in kinds if k not in SEARCHABLE]
    if unknown:
        # leads, files, mail attachments and projects are not emulated: say so instead of finding nothing.
        raise bad_request(f"item_types: the sandbox searches {', '.join(SEARCHABLE)}, not {unknown[0]}")
    page, next_cursor = offset_cursor_page(_results(ctx, kinds), v2_limit(ctx.query("limit")), ctx.query("cursor"))
    return ctx.ok({"items": page}, {"next_cursor": next_cursor})


def register(handlers: Handlers) -> None:
    handlers[("v2", "searchItem")] = item_search
    handlers[("v2", "searchPersons")] = _entity_search("person")
    handlers[("v2", "searchOrganization")] = _entity_search("organization")
    handlers[("v2", "searchDeals")] = _entity_search("deal")
    handlers[("v2", "searchProducts")] = _entity_search("product")

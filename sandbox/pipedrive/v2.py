"""API v2 handlers: the seven entities' list/get/add/update/delete and deal products.

Lists: cursor paging, `ids=`, `updated_since`/`updated_until`, `sort_by`/`sort_direction`, and
equality filters for every query parameter the spec lists that is also a property of the record
(owner_id, org_id, person_id, deal_id, pipeline_id, stage_id, status, done, ...). Deleted records
leave the lists; GET by id still shows them with `is_deleted: true`; PATCH and DELETE of a deleted
record answer 404.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.pipedrive import records
from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import PipedriveError, bad_request, not_found
from sandbox.pipedrive.paging import cursor_page, v2_limit
from sandbox.pipedrive.records import ENTITIES, Entity
from sandbox.pipedrive.strict import query_params
from sandbox.pipedrive.timefmt import parse_rfc3339

# Query parameters with a meaning of their own; the rest of a list's parameters filter by equality.
LIST_CONTROLS = frozenset({"cursor", "limit", "sort_by", "sort_direction", "ids", "updated_since", "updated_until",
                           "filter_id", "include_fields", "custom_fields", "include_option_labels",
                           "include_labels"})
MAX_IDS = 100
# The operationIds of each entity's five endpoints, in the spec's naming.
OPERATIONS = {
    "persons": ("getPersons", "getPerson", "addPerson", "updatePerson", "deletePerson"),
    "organizations": ("getOrganizations", "getOrganization", "addOrganization", "updateOrganization",
                      "deleteOrganization"),
    "deals": ("getDeals", "getDeal", "addDeal", "updateDeal", "deleteDeal"),
    "activities": ("getActivities", "getActivity", "addActivity", "updateActivity", "deleteActivity"),
    "products": ("getProducts", "getProduct", "addProduct", "updateProduct", "deleteProduct"),
    "pipelines": ("getPipelines", "getPipeline", "addPipeline", "updatePipeline", "deletePipeline"),
    "stages": ("getStages", "getStage", "addStage", "updateStage", "deleteStage"),
    "boards": ("getProjectsBoards", "getProjectsBoard", "addProjectBoard", "updateProjectBoard", "deleteProjectBoard"),
    "phases": ("getProjectsPhases", "getProjectsPhase", "addProjectPhase", "updateProjectPhase", "deleteProjectPhase"),
    "projects": ("getProjects", "getProject", "addProject", "updateProject", "deleteProject"),
}


def parse_ids(raw: str | None) -> set[int] | None:
    if raw is None:
        return None
    try:
        ids = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise bad_request(f"ids: {raw!r} is not a comma-separated list of integers") from None
    if len(ids) > MAX_IDS:
        raise bad_request(f"ids: at most {MAX_IDS} ids, got {len(ids)}")
    return ids


def list_rows(ctx: Ctx, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """Filter, sort and page `rows` by the list parameters of `ctx.op`."""
    if ctx.query("filter_id") is not None:
        raise bad_request(f"filter_id: no filter with id {ctx.query('filter_id')}")
    ids = parse_ids(ctx.request.query_params.get("ids"))
    if ids is not None:
        rows = [r for r in rows if r["id"] in ids]
    for bound, keep in (("updated_since", lambda v, b: v >= b), ("updated_until", lambda v, b: v < b)):
        raw = ctx.request.query_params.get(bound)
        if raw is not None:
            try:
                edge = parse_rfc3339(raw)
            except ValueError:
                raise bad_request(f"{bound}: {raw!r} is not an RFC 3339 date-time") from None
            rows = [r for r in rows if r.get("update_time") and keep(r["update_time"], edge)]
    for name in sorted(query_params(ctx.op) - LIST_CONTROLS):
        value = ctx.query(name)
        if value is not None and rows and name in rows[0]:
            rows = [r for r in rows if r.get(name) == value]
    sort_by = ctx.query("sort_by") or "id"
    direction = ctx.query("sort_direction") or "asc"
    return cursor_page(rows, sort_by, direction, v2_limit(ctx.query("limit")), ctx.query("cursor"))


def _entity_handlers(entity: Entity) -> dict[str, Any]:
    async def list_(ctx: Ctx) -> Response:
        rows = [r for r in ctx.account.table(entity.table).rows.values() if not r["is_deleted"]]
        page, next_cursor = list_rows(ctx, rows)
        return ctx.ok([records.public(ctx.account, entity, r) for r in page], {"next_cursor": next_cursor})

    def stored(ctx: Ctx, live: bool) -> dict[str, Any]:
        row = ctx.account.table(entity.table).rows.get(ctx.path_id())
        if row is None or (live and row["is_deleted"]):
            raise not_found(entity.label)
        return row

    async def get(ctx: Ctx) -> Response:
        # A deleted board or phase is gone (nothing in its shape could say it is deleted); a deleted
        # project stays readable with status `deleted`, as the other entities do with `is_deleted`.
        gone_when_deleted = entity.table in ("boards", "phases")
        return ctx.ok(records.public(ctx.account, entity, stored(ctx, live=gone_when_deleted)))

    async def add(ctx: Ctx) -> Response:
        row = records.create(ctx.account, entity, await ctx.body())
        return ctx.ok(records.public(ctx.account, entity, row))

    async def update(ctx: Ctx) -> Response:
        row = stored(ctx, live=True)
        body = await ctx.body()
        if entity.table == "deals" and body.get("is_deleted") is True:
            raise bad_request("is_deleted: delete a deal with DELETE /api/v2/deals/{id}")
        return ctx.ok(records.public(ctx.account, entity, records.update(ctx.account, entity, row, body)))

    async def delete(ctx: Ctx) -> Response:
        row = stored(ctx, live=True)
        if entity.table == "pipelines" and sum(not p["is_deleted"] for p in ctx.account.table("pipelines").rows.values()) == 1:
            raise PipedriveError(400, "Cannot delete the last pipeline of the company")
        row.update(is_deleted=True, update_time=ctx.account.now_v2())
        return ctx.ok({"id": row["id"]})

    return dict(zip(("list", "get", "add", "update", "delete"), (list_, get, add, update, delete)))


# -- projects, boards, phases ------------------------------------------------------------------------
# Their lists differ from the other entities': boards and phases come whole (no paging parameters in
# the spec, `additional_data: null`), phases only of one board; projects page by cursor but filter by
# a status list (`open,completed`; `deleted` ones only when asked) and by membership of a linked id.
async def list_boards(ctx: Ctx) -> Response:
    rows = [r for r in ctx.account.table("boards").rows.values() if not r["is_deleted"]]
    entity = ENTITIES["boards"]
    return ctx.ok([records.public(ctx.account, entity, r) for r in sorted(rows, key=lambda r: (r["order_nr"], r["id"]))])


async def list_phases(ctx: Ctx) -> Response:
    board_id = ctx.query("board_id")
    if board_id is None:
        raise bad_request("board_id: required")
    rows = [r for r in ctx.account.table("phases").rows.values() if r["board_id"] == board_id and not r["is_deleted"]]
    entity = ENTITIES["phases"]
    return ctx.ok([records.public(ctx.account, entity, r) for r in sorted(rows, key=lambda r: (r["order_nr"], r["id"]))])


async def list_projects(ctx: Ctx) -> Response:
    if ctx.query("filter_id") is not None:
        raise bad_request(f"filter_id: no filter with id {ctx.query('filter_id')}")
    raw = ctx.query("status")
    statuses = {s.strip() for s in raw.split(",") if s.strip()} if raw else set(records.PROJECT_STATUSES)
    unknown = statuses - {*records.PROJECT_STATUSES, "deleted"}
    if unknown:
        raise bad_request(f"status: unknown status {', '.join(sorted(unknown))}")
    rows = [r for r in ctx.account.table("projects").rows.values()
            if ("deleted" if r["is_deleted"] else r["status"]) in statuses]
    if ctx.query("phase_id") is not None:
        rows = [r for r in rows if r["phase_id"] == ctx.query("phase_id")]
    for name, prop in (("deal_id", "deal_ids"), ("person_id", "person_ids"), ("org_id", "org_ids")):
        if ctx.query(name) is not None:
            rows = [r for r in rows if ctx.query(name) in r[prop]]
    page, next_cursor = cursor_page(rows, "id", "asc", v2_limit(ctx.query("limit")), ctx.query("cursor"))
    entity = ENTITIES["projects"]
    return ctx.ok([records.public(ctx.account, entity, r) for r in page], {"next_cursor": next_cursor})


def _delete_guarded(table: str, children: tuple[tuple[str, str], ...]) -> Any:
    """DELETE of a board or phase that still holds live phases or projects is refused (400)."""
    async def delete(ctx: Ctx) -> Response:
        row = ctx.account.live(table, ctx.path_id())
        if row is None:
            raise not_found(ENTITIES[table].label)
        for child, prop in children:
            held = [c["id"] for c in ctx.account.table(child).rows.values() if c[prop] == row["id"] and not c["is_deleted"]]
            if held:
                raise bad_request(f"id: {ENTITIES[table].label.lower()} {row['id']} still holds {child} {held[:5]}")
        row.update(is_deleted=True, update_time=ctx.account.now_v2())
        return ctx.ok({"id": row["id"]})
    return delete


async def delete_project(ctx: Ctx) -> Response:
    row = ctx.account.live("projects", ctx.path_id())
    if row is None:
        raise not_found("Project")
    now = ctx.account.now_v2()
    row.update(is_deleted=True, status="deleted", status_change_time=now, update_time=now)
    return ctx.ok({"id": row["id"]})


PROJECT_OVERRIDES: dict[str, Any] = {
    "getProjectsBoards": list_boards, "getProjectsPhases": list_phases, "getProjects": list_projects,
    "deleteProjectBoard": _delete_guarded("boards", (("phases", "board_id"), ("projects", "board_id"))),
    "deleteProjectPhase": _delete_guarded("phases", (("projects", "phase_id"),)),
    "deleteProject": delete_project,
}


# -- deal products ---------------------------------------------------------------------------------
def _deal(ctx: Ctx) -> dict[str, Any]:
    deal = ctx.account.live("deals", ctx.path_id())
    if deal is None:
        raise not_found("Deal")
    return deal


def _attach(ctx: Ctx, deal: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    product = ctx.account.live("products", item["product_id"])
    if product is None:
        raise bad_request(f"product_id: no product with id {item['product_id']}")
    now = ctx.account.now_v2()
    siblings = [a for a in ctx.account.table("deal_products").rows.values() if a["deal_id"] == deal["id"]]
    row = {"deal_id": deal["id"], "product_id": product["id"], "name": product["name"], "currency": deal["currency"],
           "tax": 0, "comments": "", "discount": 0, "discount_type": "percentage", "tax_method": "inclusive",
           "is_enabled": True, "product_variation_id": None, "order_nr": len(siblings) + 1,
           "billing_frequency": "one-time", "billing_frequency_cycles": None, "billing_start_date": None,
           "add_time": now, "update_time": now, "is_deleted": False}
    row.update(item)
    row["sum"] = _sum(row)
    return ctx.account.table("deal_products").insert(row)


def _sum(row: dict[str, Any]) -> float:
    gross = row["quantity"] * row["item_price"]
    discount = gross * row["discount"] / 100 if row["discount_type"] == "percentage" else row["discount"]
    net = gross - discount
    return round(net * (1 + row["tax"] / 100) if row["tax_method"] == "exclusive" else net, 2)


def _public_attachment(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "is_deleted"}


async def get_deal_products(ctx: Ctx) -> Response:
    deal = _deal(ctx)
    rows = [a for a in ctx.account.table("deal_products").rows.values() if a["deal_id"] == deal["id"] and not a["is_deleted"]]
    page, next_cursor = list_rows(ctx, rows)
    return ctx.ok([_public_attachment(a) for a in page], {"next_cursor": next_cursor})


async def get_deals_products(ctx: Ctx) -> Response:
    deal_ids = parse_ids(",".join(ctx.request.query_params.getlist("deal_ids"))) or set()
    if not deal_ids:
        raise bad_request("deal_ids: required")
    rows = [a for a in ctx.account.table("deal_products").rows.values() if a["deal_id"] in deal_ids and not a["is_deleted"]]
    page, next_cursor = list_rows(ctx, rows)
    return ctx.ok([_public_attachment(a) for a in page], {"next_cursor": next_cursor})


async def add_deal_product(ctx: Ctx) -> Response:
    deal = _deal(ctx)
    return ctx.ok(_public_attachment(_attach(ctx, deal, await ctx.body())))


async def add_many_deal_products(ctx: Ctx) -> Response:
    deal = _deal(ctx)
    items = (await ctx.body())["data"]
    for i, item in enumerate(items):  # all or nothing: check every product before attaching any
        if ctx.account.live("products", item["product_id"]) is None:
            raise bad_request(f"data[{i}].product_id: no product with id {item['product_id']}")
    return ctx.ok([_public_attachment(_attach(ctx, deal, item)) for item in items])


def _attachment(ctx: Ctx, deal: dict[str, Any]) -> dict[str, Any]:
    row = ctx.account.table("deal_products").rows.get(ctx.path_id("product_attachment_id"))
    if row is None or row["deal_id"] != deal["id"] or row["is_deleted"]:
        raise not_found("Product attachment")
    return row


async def update_deal_product(ctx: Ctx) -> Response:
    row = _attachment(ctx, _deal(ctx))
    body = await ctx.body()
    if "product_id" in body and ctx.account.live("products", body["product_id"]) is None:
        raise bad_request(f"product_id: no product with id {body['product_id']}")
    row.update(body, update_time=ctx.account.now_v2())
    row["sum"] = _sum(row)
    return ctx.ok(_public_attachment(row))


async def delete_deal_product(ctx: Ctx) -> Response:
    row = _attachment(ctx, _deal(ctx))
    row.update(is_deleted=True, update_time=ctx.account.now_v2())
    return ctx.ok({"id": row["id"]})


async def delete_many_deal_products(ctx: Ctx) -> Response:
    deal = _deal(ctx)
    wanted = parse_ids(ctx.request.query_params.get("ids"))
    rows = [a for a in ctx.account.table("deal_products").rows.values()
            if a["deal_id"] == deal["id"] and not a["is_deleted"] and (wanted is None or a["id"] in wanted)]
    # Pipedrive deletes at most 100 per call and says whether more are left.
    batch, more = rows[:MAX_IDS], len(rows) > MAX_IDS
    for row in batch:
        row.update(is_deleted=True, update_time=ctx.account.now_v2())
    return ctx.ok({"ids": [r["id"] for r in batch]}, {"more_items_in_collection": more})


def register(handlers: Handlers) -> None:
    for table, op_ids in OPERATIONS.items():
        made = _entity_handlers(ENTITIES[table])
        for kind, op_id in zip(("list", "get", "add", "update", "delete"), op_ids):
            handlers[("v2", op_id)] = PROJECT_OVERRIDES.get(op_id, made[kind])
    handlers.update({
        ("v2", "getDealProducts"): get_deal_products,
        ("v2", "getDealsProducts"): get_deals_products,
        ("v2", "addDealProduct"): add_deal_product,
        ("v2", "addManyDealProducts"): add_many_deal_products,
        ("v2", "updateDealProduct"): update_deal_product,
        ("v2", "deleteDealProduct"): delete_deal_product,
        ("v2", "deleteManyDealProducts"): delete_many_deal_products,
    })

"""API v2 fields endpoints: list (cursor), get, add, update, delete, and the bulk option endpoints,
for persons, organizations, deals, products, projects and activities (activity fields are read-only
in v2)."""

from __future__ import annotations

from starlette.responses import Response

from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.fields import FIELD_ENTITIES
from sandbox.pipedrive.paging import offset_cursor_page, v2_limit

# operationId stem per entity: getPersonFields, addPersonField, addPersonFieldOptions, ...
STEMS = {"person": "Person", "organization": "Organization", "deal": "Deal", "activity": "Activity",
         "product": "Product", "project": "Project"}


def _handlers(entity: str) -> dict[str, object]:
    async def list_(ctx: Ctx) -> Response:
        fields = [f.public() for f in ctx.account.fields.active(entity)]
        page, next_cursor = offset_cursor_page(fields, v2_limit(ctx.query("limit")), ctx.query("cursor"))
        return ctx.ok(page, {"next_cursor": next_cursor})

    async def get(ctx: Ctx) -> Response:
        return ctx.ok(ctx.account.fields.get(entity, ctx.params["field_code"]).public())

    async def add(ctx: Ctx) -> Response:
        return ctx.ok(ctx.account.fields.add(entity, await ctx.body()).public())

    async def update(ctx: Ctx) -> Response:
        return ctx.ok(ctx.account.fields.update(entity, ctx.params["field_code"], await ctx.body()).public())

    async def delete(ctx: Ctx) -> Response:
        return ctx.ok(ctx.account.fields.delete(entity, ctx.params["field_code"]).public())

    def options(method: str):  # type: ignore[no-untyped-def]
        async def handler(ctx: Ctx) -> Response:
            change = getattr(ctx.account.fields, method)
            made = change(entity, ctx.params["field_code"], await ctx.body())
            return ctx.ok([{"id": o["id"], "label": o["label"]} for o in made], {})
        return handler

    stem = STEMS[entity]
    return {f"get{stem}Fields": list_, f"get{stem}Field": get, f"add{stem}Field": add,
            f"update{stem}Field": update, f"delete{stem}Field": delete,
            f"add{stem}FieldOptions": options("add_options"), f"update{stem}FieldOptions": options("update_options"),
            f"delete{stem}FieldOptions": options("delete_options")}


def register(handlers: Handlers) -> None:
    from vp2pd import pipedrive_contract as pc

    in_spec = {o.operation_id for o in pc.operations("v2")}
    for entity in FIELD_ENTITIES:
        for op_id, handler in _handlers(entity).items():
            if op_id in in_spec:  # activityFields has only the two GETs in v2
                handlers[("v2", op_id)] = handler  # type: ignore[assignment]

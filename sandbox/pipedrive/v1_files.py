"""API v1 files (no v2 exists): multipart upload attached to a deal, person, organization, product,
activity, lead or project; download; list (limit at most 100); delete."""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.context import Ctx, Handlers
from sandbox.pipedrive.errors import bad_request, not_found
from sandbox.pipedrive.v1_common import paged, sort_rows

FILES_MAX_LIMIT = 100
FILE_FORM_FIELDS = frozenset({"deal_id", "person_id", "org_id", "product_id", "activity_id", "lead_id", "project_id"})
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
    return paged(ctx, sort_rows(rows, ctx.query("sort")), FILES_MAX_LIMIT)


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


def register(handlers: Handlers) -> None:
    handlers.update({("v1", "getFiles"): get_files, ("v1", "addFile"): add_file, ("v1", "getFile"): get_file,
                     ("v1", "downloadFile"): download_file, ("v1", "deleteFile"): delete_file})

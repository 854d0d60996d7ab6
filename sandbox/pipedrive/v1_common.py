"""What the v1 handlers share: v1 `sort` ("field ASC|DESC") and start/limit answers.

v1 paging is `start`/`limit` with `additional_data.pagination`; deletes set `active_flag` false and
deleted objects leave the lists; v1 times are `YYYY-MM-DD HH:MM:SS` (UTC).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.context import Ctx
from sandbox.pipedrive.errors import bad_request
from sandbox.pipedrive.paging import V1_MAX_LIMIT, v1_page

SORT = re.compile(r"^\s*(\w+)(?:\s+(ASC|DESC))?\s*$", re.IGNORECASE)


def sort_rows(rows: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    if not sort:
        return sorted(rows, key=lambda r: r["id"])
    match = SORT.match(sort)
    if match is None or (rows and match.group(1) not in rows[0]):
        raise bad_request(f"sort: {sort!r} is not 'field_name ASC|DESC' of a field of the object")
    name, desc = match.group(1), (match.group(2) or "ASC").upper() == "DESC"
    return sorted(rows, key=lambda r: (r.get(name) is not None, r.get(name) or "", r["id"]), reverse=desc)


def paged(ctx: Ctx, rows: list[Any], max_limit: int = V1_MAX_LIMIT) -> Response:
    page, pagination = v1_page(rows, ctx.query("start"), ctx.query("limit"), max_limit)
    return ctx.ok(page, {"pagination": pagination})

"""Paging as each API version does it.

v2: keyset cursors. The cursor is opaque base64url JSON of the last row's sort value and id, with
the sort it belongs to, so a page boundary stays put when rows are inserted or deleted before it.
v1: `start`/`limit` offsets with `additional_data.pagination`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Sequence

from sandbox.pipedrive.errors import bad_request

V2_MAX_LIMIT = 500
V2_DEFAULT_LIMIT = 100
V1_MAX_LIMIT = 500
V1_DEFAULT_LIMIT = 100


def encode_cursor(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise bad_request("cursor: not a cursor this API returned") from None
    if not isinstance(data, dict):
        raise bad_request("cursor: not a cursor this API returned")
    return data


def v2_limit(raw: int | None) -> int:
    if raw is None:
        return V2_DEFAULT_LIMIT
    if not 1 <= raw <= V2_MAX_LIMIT:
        raise bad_request(f"limit: must be between 1 and {V2_MAX_LIMIT}, got {raw}")
    return raw


def _sort_key(row: dict[str, Any], sort_by: str) -> tuple[Any, ...]:
    value = row.get(sort_by)
    # Nulls first, then by value; the id breaks ties so the order is total.
    return (value is not None, value if value is not None else "", row["id"])


def cursor_page(rows: Sequence[dict[str, Any]], sort_by: str, direction: str, limit: int,
                cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `rows` in (sort_by, id) order and the cursor of the next page (None at the end)."""
    ordered = sorted(rows, key=lambda r: _sort_key(r, sort_by), reverse=direction == "desc")
    if cursor is not None:
        data = decode_cursor(cursor)
        if data.get("sort_by") != sort_by or data.get("dir") != direction:
            raise bad_request("cursor: it was made for another sort_by/sort_direction")
        after = tuple(data.get("after") or ())
        if len(after) != 3:
            raise bad_request("cursor: not a cursor this API returned")
        ordered = [r for r in ordered
                   if (_sort_key(r, sort_by) > after if direction == "asc" else _sort_key(r, sort_by) < after)]
    page = ordered[:limit]
    if len(ordered) <= limit:
        return page, None
    return page, encode_cursor({"sort_by": sort_by, "dir": direction, "after": list(_sort_key(page[-1], sort_by))})


def offset_cursor_page(items: Sequence[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """Search results page by offset (their order is by score, not a column)."""
    start = int(decode_cursor(cursor).get("offset", 0)) if cursor else 0
    page = list(items[start:start + limit])
    more = start + limit < len(items)
    return page, encode_cursor({"offset": start + limit}) if more else None


def v1_page(items: Sequence[Any], start: int | None, limit: int | None,
            max_limit: int = V1_MAX_LIMIT) -> tuple[list[Any], dict[str, Any]]:
    start = start or 0
    limit = V1_DEFAULT_LIMIT if limit is None else limit
    if start < 0:
        raise bad_request(f"start: must be 0 or more, got {start}")
    if not 1 <= limit <= max_limit:
        raise bad_request(f"limit: must be between 1 and {max_limit}, got {limit}")
    page = list(items[start:start + limit])
    more = start + limit < len(items)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    return page, pagination

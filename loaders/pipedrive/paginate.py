"""Paginators as async iterators of records: v2 cursor pages and v1 start/limit pages.

Both always ask for the largest page the endpoint allows: a list call costs the same tokens
whatever its size, so 500 rows a page is the cheapest way to read.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Mapping

from loaders.pipedrive.errors import PipedriveError
from loaders.pipedrive.settings import V2_PAGE_LIMIT

Fetch = Callable[[str, str, Mapping[str, Any]], Awaitable[dict[str, Any]]]  # (method, path, params) -> body


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    if data is None:
        return []
    if isinstance(data, dict) and "items" in data:  # search answers {"items": [{"item": {...}}]}
        return [entry.get("item", entry) for entry in data["items"]]
    if isinstance(data, list):
        return data
    raise PipedriveError(f"expected a list in `data`, got {type(data).__name__}")


async def cursor_items(fetch: Fetch, path: str, params: Mapping[str, Any] | None = None, *,
                       limit: int = V2_PAGE_LIMIT) -> AsyncIterator[dict[str, Any]]:
    """Every record of a v2 list: follow `additional_data.next_cursor` until it is null."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = {**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = await fetch("GET", path, page)
        for row in _rows(body):
            yield row
        cursor = (body.get("additional_data") or {}).get("next_cursor")
        if not cursor:
            return
        if cursor in seen:  # a server that loops would otherwise make us spend the day's budget
            raise PipedriveError(f"GET {path}: cursor {cursor!r} came back twice; stopping")
        seen.add(cursor)


async def offset_items(fetch: Fetch, path: str, params: Mapping[str, Any] | None = None, *,
                       limit: int) -> AsyncIterator[dict[str, Any]]:
    """Every record of a v1 list: `start`/`limit` while `more_items_in_collection` is true."""
    start = 0
    while True:
        body = await fetch("GET", path, {**(params or {}), "start": start, "limit": limit})
        rows = _rows(body)
        for row in rows:
            yield row
        pagination = (body.get("additional_data") or {}).get("pagination") or {}
        if not pagination.get("more_items_in_collection"):
            return
        next_start = pagination.get("next_start", start + len(rows))
        if not isinstance(next_start, int) or next_start <= start:
            raise PipedriveError(f"GET {path}: pagination does not advance (start {start}, next {next_start!r})")
        start = next_start


async def single_page(fetch: Fetch, path: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[dict[str, Any]]:
    """Lists the API returns whole (users, activity types, organization relationships)."""
    for row in _rows(await fetch("GET", path, dict(params or {}))):
        yield row

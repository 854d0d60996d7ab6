"""One stream per API list: paging it, landing its records, pulling its deletions, counting it.

A stream is a collection's list endpoint (`/clients`), or one custom object type's records
(`/custom_objects/{key}/records`). Paging follows `links.next`; records are checked against the
contract and landed in batches, invalid ones quarantined with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import duckdb

from extractors.visual_practice import raw
from extractors.visual_practice.api.client import VPClient
from extractors.visual_practice.api.landing import RawLander
from extractors.visual_practice.api.records import InvalidRecord, to_raw_row
from vp2pd.vp_contract import Collection
from vp2pd.warehouse import quote

Params = list[tuple[str, str | int]]


@dataclass
class Page:
    records: list[Any]
    total: int
    next_url: str | None


def ts_param(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stream:
    coll: Collection
    path: str  # list endpoint relative to the API base
    list_key: str  # the list's key in the answer
    con: duckdb.DuckDBPyConnection
    client: VPClient
    run_id: str
    tmp_dir: Path
    per_page: int = 100
    object_key: str | None = None
    received: set[str] = field(default_factory=set)
    quarantined: dict[str, raw.QuarantineRow] = field(default_factory=dict)
    healed: int = 0
    deleted_flagged: int = 0
    lander: RawLander = field(init=False)

    def __post_init__(self) -> None:
        self.lander = RawLander(self.con, self.coll, self.run_id, self.tmp_dir)

    @property
    def name(self) -> str:
        """Watermark key: the collection, or `custom_object_records:<type>`."""
        return f"{self.coll.name}:{self.object_key}" if self.object_key else self.coll.name

    # -- reading -------------------------------------------------------------------------------
    async def page(self, url: str, params: Params | None = None, list_key: str | None = None) -> Page:
        list_key = list_key or self.list_key
        body = await self.client.get_json(url, params)
        if not isinstance(body, dict) or not isinstance(body.get(list_key), list):
            raise ValueError(f"{url}: answer has no {list_key!r} list")
        return Page(body[list_key], int(body.get("total_entries", 0)), (body.get("links") or {}).get("next"))

    async def pages(self, filters: Sequence[str] = (), deleted: bool = False) -> AsyncIterator[Page]:
        """Every page of the list (or of its `/deleted` list), following `links.next`."""
        path, list_key = (f"{self.path}/deleted", "deleted") if deleted else (self.path, self.list_key)
        params: Params = [("per_page", self.per_page), *(("q[]", f) for f in filters)]
        page = await self.page(path, params, list_key)
        yield page
        while page.next_url:
            page = await self.page(page.next_url, list_key=list_key)
            yield page

    def land(self, records: list[Any]) -> None:
        for record in records:
            rid = str(record.get(self.coll.key)) if isinstance(record, dict) else ""
            try:
                row = to_raw_row(self.coll, record, self.object_key)
            except InvalidRecord as exc:
                rid = rid or f"#{len(self.quarantined) + 1}"
                self.received.add(rid)
                self.quarantined[rid] = raw.QuarantineRow(
                    self.coll.name, f"/{self.path}", rid, json.dumps(record, ensure_ascii=False)[:1_000_000],
                    f"{self.coll.name} {rid}: {exc}")
                continue
            self.received.add(rid)
            self.quarantined.pop(rid, None)  # a later valid version supersedes a quarantined one
            self.lander.add(row)

    async def read_all(self, filters: Sequence[str] = ()) -> tuple[set[str], int]:
        """Page through the list and land it; returns the ids read and the last page's `total_entries`."""
        seen: set[str] = set()
        total = 0
        async for page in self.pages(filters):
            self.land(page.records)
            seen.update(str(r.get(self.coll.key)) for r in page.records if isinstance(r, dict))
            total = page.total
        self.lander.flush()
        return seen, total

    async def pull_deleted(self, since: datetime | str | None) -> list[tuple[str, datetime]]:
        filters = [f"deleted_at:>={ts_param(since)}"] if since else []
        found: list[tuple[str, datetime]] = []
        async for page in self.pages(filters, deleted=True):
            for item in page.records:
                found.append((str(item["id"]), datetime.fromisoformat(item["deleted_at"].replace("Z", ""))))
        self.lander.flush()
        self.deleted_flagged += raw.mark_deleted(self.con, self.coll, found, self.run_id)
        return found

    # -- counting ------------------------------------------------------------------------------
    def _scope(self) -> tuple[str, list[Any]]:
        if self.object_key is None:
            return "TRUE", []
        return "object_key = ?", [self.object_key]

    def local_count(self, lo: int | None = None, hi: int | None = None) -> int:
        """Live ids held for this stream in [lo, hi), counting ids quarantined this run as held."""
        self.lander.flush()
        key = quote(self.coll.key)
        where, params = self._scope()
        if lo is not None:
            where += f" AND TRY_CAST({key} AS BIGINT) >= ?"
            params.append(lo)
        if hi is not None:
            where += f" AND TRY_CAST({key} AS BIGINT) < ?"
            params.append(hi)
        held = raw.live_count(self.con, self.coll, where, params)
        outside = [q for q in self.quarantined if q.isdigit() and (lo is None or int(q) >= lo)
                   and (hi is None or int(q) < hi) and not self._held(q)]
        return held + len(outside)

    def _held(self, record_id: str) -> bool:
        return self.con.execute(
            f"SELECT count(*) FROM {raw.table(self.coll)} WHERE {quote(self.coll.key)} = ? AND _deleted_at IS NULL",
            [record_id]).fetchone()[0] > 0

    def local_ids(self, lo: int, hi: int | None) -> set[str]:
        key = quote(self.coll.key)
        where, params = self._scope()
        where += f" AND _deleted_at IS NULL AND TRY_CAST({key} AS BIGINT) >= ?"
        params.append(lo)
        if hi is not None:
            where += f" AND TRY_CAST({key} AS BIGINT) < ?"
            params.append(hi)
        rows = self.con.execute(f"SELECT {key} FROM {raw.table(self.coll)} WHERE {where}", params).fetchall()
        return {r[0] for r in rows}

    def median_local_id(self, lo: int, hi: int) -> int | None:
        key = quote(self.coll.key)
        where, params = self._scope()
        return self.con.execute(
            f"SELECT quantile_disc(TRY_CAST({key} AS BIGINT), 0.5) FROM {raw.table(self.coll)} "
            f"WHERE _deleted_at IS NULL AND {where} AND TRY_CAST({key} AS BIGINT) >= ? AND TRY_CAST({key} AS BIGINT) < ?",
            [*params, lo, hi]).fetchone()[0]

    def max_local_id(self) -> int | None:
        key = quote(self.coll.key)
        where, params = self._scope()
        return self.con.execute(
            f"SELECT max(TRY_CAST({key} AS BIGINT)) FROM {raw.table(self.coll)} WHERE _deleted_at IS NULL AND {where}",
            params).fetchone()[0]

"""The raw layer, schema `raw_visual_practice`: where both extractors land Visual Practice as it is.

One table per contract collection, contract field names as columns, typed (nested arrays as DuckDB
LIST/STRUCT, free-form objects as JSON). A CSV export refers to other records by display value
(`"SMITH, JOHN"`, a location name); those land in `<field>_display` beside the id column for the
transform to resolve. Bookkeeping columns: `_run_id`, `_extracted_at`, `_source` (`api`/`csv`),
`_record_hash` (change detection), `_deleted_at` (deleted in the source); `_extra` holds source
attributes the contract does not name.

Every extractor stages its rows with the contract columns and calls `upsert`, so re-running an
extraction never duplicates a row and an unchanged record keeps the run that first landed it.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Sequence

import duckdb

from vp2pd.vp_contract import COLLECTIONS, PRACTICE, Collection
from vp2pd.warehouse import insert_rows, quote, setting

SCHEMA = "raw_visual_practice"
META_COLUMNS = (
    ("_run_id", "VARCHAR"),
    ("_extracted_at", "TIMESTAMP"),
    ("_source", "VARCHAR"),
    ("_record_hash", "VARCHAR"),
    ("_deleted_at", "TIMESTAMP"),
)

BOOKKEEPING_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}._runs (
        run_id VARCHAR PRIMARY KEY, source VARCHAR, mode VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, status VARCHAR, message VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}._extract_report (
        run_id VARCHAR, collection VARCHAR, source VARCHAR, reported BIGINT, extracted BIGINT,
        healed BIGINT, quarantined BIGINT, rows_read BIGINT, inserted BIGINT, updated BIGINT,
        deleted BIGINT, status VARCHAR, detail VARCHAR, finished_at TIMESTAMP)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}._quarantine (
        run_id VARCHAR, collection VARCHAR, source VARCHAR, location VARCHAR, line_or_id VARCHAR,
        raw_text VARCHAR, reason VARCHAR, quarantined_at TIMESTAMP)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}._deleted (
        collection VARCHAR, id VARCHAR, deleted_at TIMESTAMP, run_id VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}._watermarks (
        stream VARCHAR PRIMARY KEY, updated_at TIMESTAMP, deleted_at TIMESTAMP, run_id VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}._document_files (
        document_id VARCHAR PRIMARY KEY, path VARCHAR, status VARCHAR, size_bytes BIGINT,
        sha256 VARCHAR, detail VARCHAR, run_id VARCHAR)""",
)


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def data_columns(coll: Collection) -> list[tuple[str, str]]:
    """(name, DuckDB type) of a raw table's data columns: contract fields, display references, `_extra`.

    `_extra` (JSON object) keeps whatever the source sent that the contract does not name (an
    unknown API attribute, a CSV column the alias table does not know), so nothing is lost and the
    mapping proposal can profile it.
    """
    cols = [(f.name, f.duckdb_type) for f in coll.fields]
    cols += [(f.display_column, "VARCHAR[]" if f.type == "str[]" else "VARCHAR") for f in coll.refs]
    return [*cols, ("_extra", "JSON")]  # type: ignore[list-item]


def table(coll: Collection | str) -> str:
    name = coll if isinstance(coll, str) else coll.name
    return f"{SCHEMA}.{quote(name)}"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for coll in (PRACTICE, *COLLECTIONS):
        cols = ", ".join(f"{quote(n)} {t}" for n, t in [*data_columns(coll), *META_COLUMNS])
        con.execute(f"CREATE TABLE IF NOT EXISTS {table(coll)} ({cols})")
    for ddl in BOOKKEEPING_DDL:
        con.execute(ddl)


def record_hash_sql(coll: Collection, alias: str = "s") -> str:
    """SQL computing a row's content hash over its data columns (the same for API and CSV rows).

    DuckDB's 64-bit `hash` is ~15x cheaper than md5 over JSON and ample for telling whether one
    record changed between two extractions (it is not a security digest).
    """
    members = ", ".join(f"{quote(n)} := {alias}.{quote(n)}" for n, _ in data_columns(coll))
    return f"CAST(hash(struct_pack({members})) AS VARCHAR)"


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: "UpsertCounts") -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


@contextmanager
def fast_writes(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Raw rows written without DuckDB's DICT_FSST string compression, for the block.

    Analysing DICT_FSST for every string column was ~75% of writing a million clients (measured
    on 200k: 9.6 s with it, 2.8 s without; plain dictionary, RLE and bit-packing still apply).
    The raw layer is written once per extraction and read by the staging models; its file is
    ~2x larger for it. The setting is the database's (GLOBAL), so it is restored after.
    """
    with setting(con, "disabled_compression_methods",
                 lambda before: ",".join(sorted({m for m in before.split(",") if m} | {"dict_fsst"}))):
        yield


def upsert(con: duckdb.DuckDBPyConnection, coll: Collection, staged: str, run_id: str, source: str) -> UpsertCounts:
    with fast_writes(con):
        return _upsert(con, coll, staged, run_id, source)


def _upsert(con: duckdb.DuckDBPyConnection, coll: Collection, staged: str, run_id: str, source: str) -> UpsertCounts:
    """Merge staged rows (a relation with the data columns, ids unique) into the raw table.

    New ids are inserted, changed ones replaced (a record deleted earlier and seen again is live
    again), unchanged ones left as they are with their original `_run_id`. Only keys and hashes
    are joined; full rows are copied once, straight into the table.
    """
    key = quote(coll.key)
    target = table(coll)
    cols = ", ".join(quote(n) for n, _ in data_columns(coll))
    meta = [run_id, now_utc(), source]
    insert = f"INSERT INTO {target} ({cols}, _run_id, _extracted_at, _source, _record_hash, _deleted_at) "
    if con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").fetchone()[0]:
        # A first extraction: nothing to compare with, one straight copy. `staged` may be a view
        # of parsing expressions (the CSV landing): DuckDB inlines a view's expressions into each
        # use, so selecting the columns and hashing them computed every value twice. Packed once
        # into the struct the hash is taken of (the same struct as `record_hash_sql`'s), the
        # columns are read back from it (measured on 200k clients: 5.5 s -> 3.9 s).
        members = ", ".join(f"{quote(n)} := s.{quote(n)}" for n, _ in data_columns(coll))
        fields = ", ".join(f"r.{quote(n)}" for n, _ in data_columns(coll))
        con.execute(insert + f"SELECT {fields}, ?, ?, ?, CAST(hash(r) AS VARCHAR), NULL "
                    f"FROM (SELECT struct_pack({members}) AS r FROM {staged} s)", meta)
        return UpsertCounts(inserted=con.execute(f"SELECT count(*) FROM {target}").fetchone()[0])
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [staged]).fetchone()[0]:
        # Keys and rows are read from the staged relation twice below: compute a view once.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _upsert_rows AS SELECT * FROM {staged}")
        try:
            return _upsert(con, coll, "_upsert_rows", run_id, source)
        finally:
            con.execute("DROP TABLE IF EXISTS _upsert_rows")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _upsert_keys AS SELECT s.{key} AS k, {record_hash_sql(coll)} AS h, "
        f"r._record_hash AS old_h, r._deleted_at AS old_deleted FROM {staged} s LEFT JOIN {target} r ON r.{key} = s.{key}"
    )
    inserted, updated, unchanged = con.execute(
        "SELECT count(*) FILTER (WHERE old_h IS NULL), "
        "count(*) FILTER (WHERE old_h IS NOT NULL AND (old_h <> h OR old_deleted IS NOT NULL)), "
        "count(*) FILTER (WHERE old_h = h AND old_deleted IS NULL) FROM _upsert_keys"
    ).fetchone()
    if inserted or updated:
        con.execute("DELETE FROM _upsert_keys WHERE old_h = h AND old_deleted IS NULL")
        if updated:
            con.execute(f"DELETE FROM {target} WHERE {key} IN (SELECT k FROM _upsert_keys WHERE old_h IS NOT NULL)")
        con.execute(insert + f"SELECT {', '.join('s.' + quote(n) for n, _ in data_columns(coll))}, ?, ?, ?, u.h, NULL "
                    f"FROM {staged} s JOIN _upsert_keys u ON u.k = s.{key}", meta)
    con.execute("DROP TABLE _upsert_keys")
    return UpsertCounts(inserted, updated, unchanged)


def mark_deleted(con: duckdb.DuckDBPyConnection, coll: Collection, deletions: Iterable[tuple[str, datetime]],
                 run_id: str) -> int:
    """Record source deletions and flag the raw rows; returns how many live raw rows were flagged."""
    rows = [(coll.name, rid, at, run_id) for rid, at in deletions]
    if not rows:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE _del (collection VARCHAR, id VARCHAR, deleted_at TIMESTAMP, run_id VARCHAR)")
    insert_rows(con, "_del", ("collection", "id", "deleted_at", "run_id"), rows)
    con.execute(
        f"INSERT INTO {SCHEMA}._deleted SELECT DISTINCT d.* FROM _del d "
        f"ANTI JOIN {SCHEMA}._deleted x ON x.collection = d.collection AND x.id = d.id"
    )
    key = quote(coll.key)
    flagged = con.execute(
        f"SELECT count(*) FROM {table(coll)} r JOIN _del d ON r.{key} = d.id WHERE r._deleted_at IS NULL"
    ).fetchone()[0]
    con.execute(
        f"UPDATE {table(coll)} r SET _deleted_at = d.deleted_at FROM _del d "
        f"WHERE r.{key} = d.id AND r._deleted_at IS NULL"
    )
    con.execute("DROP TABLE _del")
    return flagged


def live_count(con: duckdb.DuckDBPyConnection, coll: Collection, where: str = "TRUE", params: Sequence[Any] = ()) -> int:
    return con.execute(
        f"SELECT count(*) FROM {table(coll)} WHERE _deleted_at IS NULL AND ({where})", list(params)
    ).fetchone()[0]


@dataclass
class QuarantineRow:
    collection: str
    location: str  # endpoint or file
    line_or_id: str
    raw_text: str
    reason: str


QUARANTINE_COLUMNS = ("run_id", "collection", "source", "location", "line_or_id", "raw_text", "reason",
                      "quarantined_at")


def quarantine(con: duckdb.DuckDBPyConnection, run_id: str, source: str, rows: Sequence[QuarantineRow]) -> None:
    at = now_utc()
    insert_rows(con, f"{SCHEMA}._quarantine", QUARANTINE_COLUMNS,
                [(run_id, r.collection, source, r.location, r.line_or_id, r.raw_text, r.reason, at) for r in rows])


DOCUMENT_FILE_COLUMNS = ("document_id", "path", "status", "size_bytes", "sha256", "detail", "run_id")


def record_document_files(con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Upsert document outcomes (tuples in DOCUMENT_FILE_COLUMNS order), all in one statement."""
    insert_rows(con, f"{SCHEMA}._document_files", DOCUMENT_FILE_COLUMNS, rows, replace=True)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, source: str, mode: str) -> None:
    ensure_schema(con)
    con.execute(f"INSERT INTO {SCHEMA}._runs VALUES (?, ?, ?, ?, NULL, 'running', NULL)",
                [run_id, source, mode, now_utc()])


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, message: str | None = None) -> None:
    con.execute(f"UPDATE {SCHEMA}._runs SET finished_at = ?, status = ?, message = ? WHERE run_id = ?",
                [now_utc(), status, message, run_id])


@dataclass
class CollectionReport:
    collection: str
    source: str
    reported: int | None = None
    extracted: int = 0
    healed: int = 0
    quarantined: int = 0
    rows_read: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    deleted: int = 0
    status: str = "ok"
    detail: str | None = None

    @property
    def balanced(self) -> bool:
        return self.reported is None or self.reported == self.extracted


def write_report(con: duckdb.DuckDBPyConnection, run_id: str, reports: Iterable[CollectionReport]) -> None:
    at = now_utc()
    con.executemany(
        f"INSERT INTO {SCHEMA}._extract_report VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, r.collection, r.source, r.reported, r.extracted, r.healed, r.quarantined, r.rows_read,
             r.counts.inserted, r.counts.updated, r.deleted, r.status, r.detail, at)
            for r in reports
        ],
    )


def get_watermark(con: duckdb.DuckDBPyConnection, stream: str) -> tuple[datetime | None, datetime | None]:
    row = con.execute(f"SELECT updated_at, deleted_at FROM {SCHEMA}._watermarks WHERE stream = ?", [stream]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def set_watermark(con: duckdb.DuckDBPyConnection, stream: str, updated_at: datetime | None,
                  deleted_at: datetime | None, run_id: str) -> None:
    con.execute(f"INSERT OR REPLACE INTO {SCHEMA}._watermarks VALUES (?, ?, ?, ?)", [stream, updated_at, deleted_at, run_id])


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

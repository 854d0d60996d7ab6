"""The sandbox practice store: what the data generator writes and the Visual Practice sandbox serves.

A DuckDB file (`store.duckdb` in a practice folder). Every contract collection has a table holding
each record's JSON exactly as the API returns it (`doc`), beside the columns the API filters and
orders on (id, timestamps, foreign keys). `deleted` lists deletions for the `/deleted` endpoints;
`meta` holds the practice object and generation settings.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import duckdb
import pyarrow as pa

from vp2pd.vp_contract import COLLECTIONS, Collection, collection
from vp2pd.warehouse import connect, quote

STORE_FILE = "store.duckdb"
OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
FLUSH_ROWS = 20_000


def iso(ts: datetime) -> str:
    """Contract timestamp text: ISO-8601 UTC with a Z, whole seconds."""
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """A contract timestamp (or date) as naive UTC."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _fk_columns(coll: Collection) -> list[str]:
    return [f.name for f in coll.refs if f.type != "str[]"]


def _columns(coll: Collection) -> list[tuple[str, str]]:
    cols = [("id", "VARCHAR"), ("id_num", "BIGINT"), ("object_key", "VARCHAR"),
            ("created_at", "TIMESTAMP"), ("updated_at", "TIMESTAMP")]
    cols += [(name, "VARCHAR") for name in _fk_columns(coll)]
    return cols + [("doc", "VARCHAR")]


def _row(coll: Collection, record: dict[str, Any], object_key: str | None) -> list[Any]:
    key = str(record[coll.key])
    id_num = int(key) if key.isdigit() else None
    row: list[Any] = [key, id_num, object_key]
    for ts in ("created_at", "updated_at"):
        row.append(parse_iso(record[ts]) if record.get(ts) else None)
    row += [record.get(name) for name in _fk_columns(coll)]
    row.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    return row


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: str


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(
        "CREATE TABLE IF NOT EXISTS deleted (collection VARCHAR, object_key VARCHAR, id VARCHAR, "
        "id_num BIGINT, deleted_at TIMESTAMP)"
    )
    for coll in COLLECTIONS:
        cols = ", ".join(f"{quote(n)} {t}" for n, t in _columns(coll))
        con.execute(f"CREATE TABLE IF NOT EXISTS {coll.name} ({cols})")


class StoreWriter:
    """Streams generated records into a new store with bounded memory (flushes every 20k rows)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / STORE_FILE
        path.unlink(missing_ok=True)
        self.con = connect(path)
        _create_schema(self.con)
        self._rows: dict[str, list[list[Any]]] = {c.name: [] for c in COLLECTIONS}
        self._deleted: list[list[Any]] = []

    def set_meta(self, key: str, value: Any) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, json.dumps(value)])

    def add(self, name: str, record: dict[str, Any], object_key: str | None = None) -> None:
        coll = collection(name)
        rows = self._rows[name]
        rows.append(_row(coll, record, object_key))
        if len(rows) >= FLUSH_ROWS:
            self._flush(coll)

    def add_deleted(self, name: str, record_id: str, deleted_at: datetime, object_key: str | None = None) -> None:
        self._deleted.append([name, object_key, record_id, int(record_id), deleted_at])
        if len(self._deleted) >= FLUSH_ROWS:
            self._flush_deleted()

    def _flush(self, coll: Collection) -> None:
        rows = self._rows[coll.name]
        if not rows:
            return
        names = [n for n, _ in _columns(coll)]
        batch = pa.Table.from_pydict({n: [r[i] for r in rows] for i, n in enumerate(names)})
        self.con.register("_batch", batch)
        self.con.execute(f"INSERT INTO {coll.name} SELECT * FROM _batch")
        self.con.unregister("_batch")
        rows.clear()

    def _flush_deleted(self) -> None:
        if self._deleted:
            self.con.executemany("INSERT INTO deleted VALUES (?, ?, ?, ?, ?)", self._deleted)
            self._deleted.clear()

    def close(self) -> None:
        for coll in COLLECTIONS:
            self._flush(coll)
        self._flush_deleted()
        self.con.execute("CHECKPOINT")
        self.con.close()


class Store:
    """Read and mutate a practice store; thread-safe (one lock, DuckDB queries are short).

    `in_memory=True` copies the file into memory first, so a sandbox that churns or is mutated by a
    test leaves the generated practice untouched.
    """

    def __init__(self, folder: Path, *, in_memory: bool = True) -> None:
        self.folder = folder
        path = folder / STORE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no practice store at {path}; run `vp2pd generate` first")
        if in_memory:
            self.con = duckdb.connect(":memory:")
            self.con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
            self.con.execute("COPY FROM DATABASE src TO memory")
            self.con.execute("DETACH src")
        else:
            self.con = connect(path)
        self.lock = threading.Lock()
        self._last_id: int | None = None
        self._orders: dict[tuple[str, str | None], pa.StringArray] = {}  # unfiltered lists, sorted
        self._meta = {k: json.loads(v) for k, v in self.con.execute("SELECT key, value FROM meta").fetchall()}

    # -- reads ---------------------------------------------------------------------------------
    def meta(self, key: str, default: Any = None) -> Any:
        return self._meta.get(key, default)

    @property
    def practice(self) -> dict[str, Any]:
        return self._meta["practice"]

    def _where(self, coll: Collection, filters: Iterable[Filter], object_key: str | None,
               time_field: str | None = None) -> tuple[str, list[Any]]:
        clauses, params = ["TRUE"], []
        if object_key is not None:
            clauses.append("object_key = ?")
            params.append(object_key)
        for f in filters:
            op = OPS[f.op]
            if f.field in (coll.key, "id"):
                if f.value.isdigit():
                    clauses.append(f"id_num {op} ?")
                    params.append(int(f.value))
                else:
                    clauses.append(f"id {op} ?")
                    params.append(f.value)
            elif f.field in ("created_at", "updated_at") or f.field == time_field:
                clauses.append(f"{quote(f.field)} {op} ?")
                params.append(parse_iso(f.value))
            else:
                clauses.append(f"{quote(f.field)} {op} ?")
                params.append(f.value)
        return " AND ".join(clauses), params

    def list(self, name: str, filters: Iterable[Filter] = (), page: int = 1, per_page: int = 50,
             object_key: str | None = None) -> tuple[list[str], int]:
        """One page of record JSON texts in the API's order, and the total for these filters."""
        coll = collection(name)
        filters = tuple(filters)
        where, params = self._where(coll, filters, object_key)
        order = "created_at, id_num, id" if "created_at" in coll.field_names else "id_num, id"
        start = (page - 1) * per_page
        with self.lock:
            if not filters:
                docs = self._ordered_docs(coll, where, params, order, object_key)
                return docs[start:start + per_page].to_pylist(), len(docs)
            total = self.con.execute(f"SELECT count(*) FROM {name} WHERE {where}", params).fetchone()[0]
            rows = self.con.execute(
                f"SELECT doc FROM {name} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, per_page, start],
            ).fetchall()
        return [d[0] for d in rows], total

    def _ordered_docs(self, coll: Collection, where: str, params: list[Any], order: str,
                      object_key: str | None) -> pa.StringArray:
        """A whole unfiltered list in the API's order, kept until the collection is written.

        Paging asks for the same ordering page after page: an `ORDER BY ... LIMIT/OFFSET` sorted
        the docs again for every page (30-150 ms a page on a 60k-record collection), which capped
        the sandbox below the 200/min limit's burst; a slice of the sorted docs costs ~10 µs.
        Filtered lists (catch-up, healing ranges) are small and one-off: they stay in SQL.
        """
        cache_key = (coll.name, object_key)
        docs = self._orders.get(cache_key)
        if docs is None:
            rows = self.con.execute(f"SELECT doc FROM {coll.name} WHERE {where} ORDER BY {order}", params).fetchall()
            docs = self._orders[cache_key] = pa.array([r[0] for r in rows], pa.string())  # compact, unlike a list
        return docs

    def warm_lists(self) -> None:
        """Sort every unfiltered list now, before a client pages: sorting a 60k-record collection
        on its first page held the server for ~0.5 s, which stretched a client's first burst of
        the rate limit's minute (and, the limit being a rolling minute, every burst after it)."""
        for coll in COLLECTIONS:
            for object_key in (self.object_keys() if coll.name == "custom_object_records" else [None]):
                self.list(coll.name, per_page=0, object_key=object_key)

    def _written(self, name: str) -> None:
        """A write to `name` invalidates its sorted lists (callers hold the lock)."""
        for cache_key in [k for k in self._orders if k[0] == name]:
            del self._orders[cache_key]

    def get(self, name: str, record_id: str, object_key: str | None = None) -> str | None:
        coll = collection(name)
        where, params = self._where(coll, [Filter(coll.key, "=", record_id)], object_key)
        with self.lock:
            row = self.con.execute(f"SELECT doc FROM {name} WHERE {where}", params).fetchone()
        return row[0] if row else None

    def list_deleted(self, name: str, filters: Iterable[Filter] = (), page: int = 1, per_page: int = 50,
                     object_key: str | None = None) -> tuple[list[dict[str, str]], int]:
        coll = collection(name)
        where, params = self._where(coll, filters, object_key, time_field="deleted_at")
        where += " AND collection = ?"
        params.append(name)
        with self.lock:
            total = self.con.execute(f"SELECT count(*) FROM deleted WHERE {where}", params).fetchone()[0]
            rows = self.con.execute(
                f"SELECT id, deleted_at FROM deleted WHERE {where} ORDER BY deleted_at, id_num LIMIT ? OFFSET ?",
                [*params, per_page, (page - 1) * per_page],
            ).fetchall()
        return [{"id": r[0], "deleted_at": iso(r[1].replace(tzinfo=timezone.utc))} for r in rows], total

    def counts(self) -> dict[str, int]:
        """Live records per collection, as `/practice/stats` reports them."""
        with self.lock:
            return {c.name: self.con.execute(f"SELECT count(*) FROM {c.name}").fetchone()[0] for c in COLLECTIONS}

    def object_keys(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.con.execute("SELECT id FROM custom_objects ORDER BY id_num, id").fetchall()]

    def ids(self, name: str) -> list[str]:
        with self.lock:
            return [r[0] for r in self.con.execute(f"SELECT id FROM {name} ORDER BY id_num, id").fetchall()]

    # -- writes (churn, drills, tests) ------------------------------------------------------------
    def _next_id(self) -> str:
        """A fresh id above every id the store has ever held (ids are never reused)."""
        with self.lock:
            if self._last_id is None:
                last = int(self._meta.get("last_id", 0))
                for coll in COLLECTIONS:
                    last = max(last, self.con.execute(f"SELECT coalesce(max(id_num), 0) FROM {coll.name}").fetchone()[0])
                last = max(last, self.con.execute("SELECT coalesce(max(id_num), 0) FROM deleted").fetchone()[0])
                self._last_id = last
            self._last_id += 1
            return str(self._last_id)

    def insert(self, name: str, record: dict[str, Any], object_key: str | None = None) -> dict[str, Any]:
        """Insert a record; a missing id gets a new one (ids are never reused)."""
        coll = collection(name)
        record = dict(record)
        record.setdefault(coll.key, self._next_id())
        row = _row(coll, record, object_key)
        marks = ", ".join("?" for _ in row)
        with self.lock:
            self.con.execute(f"INSERT INTO {name} VALUES ({marks})", row)
            self._written(name)
        return record

    def update(self, name: str, record_id: str, changes: dict[str, Any], at: datetime) -> dict[str, Any]:
        coll = collection(name)
        with self.lock:
            row = self.con.execute(f"SELECT doc, object_key FROM {name} WHERE id = ?", [record_id]).fetchone()
            if row is None:
                raise KeyError(f"{name} {record_id} does not exist")
            self.con.execute(f"DELETE FROM {name} WHERE id = ?", [record_id])
            self._written(name)
        record = {**json.loads(row[0]), **changes}
        if "updated_at" in coll.field_names:
            record["updated_at"] = iso(at)
        return self.insert(name, record, row[1])

    def delete(self, name: str, record_id: str, at: datetime) -> bool:
        with self.lock:
            row = self.con.execute(f"SELECT object_key FROM {name} WHERE id = ?", [record_id]).fetchone()
            if row is None:
                return False
            self.con.execute(f"DELETE FROM {name} WHERE id = ?", [record_id])
            self._written(name)
            id_num = int(record_id) if record_id.isdigit() else None
            self.con.execute("INSERT INTO deleted VALUES (?, ?, ?, ?, ?)",
                             [name, row[0], record_id, id_num, at.astimezone(timezone.utc).replace(tzinfo=None)])
        return True

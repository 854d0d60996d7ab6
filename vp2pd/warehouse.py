"""The DuckDB warehouse: one file per customer (`build/<slug>.duckdb`), opened the same way everywhere.

Memory is capped so that extracting or transforming a million-record practice stays within the
bounds the benchmarks check; DuckDB spills to disk beyond the cap.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import duckdb

DEFAULT_MEMORY_LIMIT = "512MB"
MEMORY_LIMIT_ENV = "VP2PD_DUCKDB_MEMORY_LIMIT"
FEW_VALUES = 2_000  # insert_rows binds up to this many values as parameters


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a DuckDB database; `:memory:` for a throwaway one."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = {
        "memory_limit": os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT),
        # Insertion order is never relied on (every query orders explicitly); dropping it lets
        # large inserts stream instead of buffering.
        "preserve_insertion_order": False,
    }
    return duckdb.connect(str(path), read_only=read_only, config=config)


@contextmanager
def setting(con: duckdb.DuckDBPyConnection, name: str, value: str | Callable[[str], str]) -> Iterator[None]:
    """DuckDB setting `name` at `value` (or `value(current)`) for the block, then as it was.

    Most settings are the database's (GLOBAL), shared by every cursor: hence always restored.
    """
    current = con.execute(f"SELECT current_setting('{name}')").fetchone()[0]
    before = "" if current is None else str(current)
    con.execute(f"SET {name} = '{value(before) if callable(value) else value}'")
    try:
        yield
    finally:
        con.execute(f"SET {name} = '{before}'")


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB's memory cap set to `limit` for the block, unless the environment sets the cap."""
    if os.environ.get(MEMORY_LIMIT_ENV):
        yield
        return
    with setting(con, "memory_limit", limit):
        yield


def quote(identifier: str) -> str:
    """A SQL identifier, quoted (contract field names include reserved words such as `primary`)."""
    return '"' + identifier.replace('"', '""') + '"'


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                *, replace: bool = False, as_text: bool = False) -> None:
    """Insert (or, with `replace`, upsert by primary key) many rows in ONE statement over an Arrow
    table: DuckDB's executemany runs a statement per row (~3 ms each on a keyed table, minutes for a
    practice's 61k documents). Column types are inferred, or all text with `as_text`.

    A few rows go as one VALUES statement instead: a process's first Arrow scan costs ~0.3 s
    (DuckDB loading its Arrow support), binding values ~0.2 ms per row of 8 (measured)."""
    if not rows:
        return
    names = ", ".join(quote(c) for c in columns)
    verb = f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({names})"
    if len(rows) * len(columns) <= FEW_VALUES:
        row = "(" + ", ".join(["?::VARCHAR" if as_text else "?"] * len(columns)) + ")"
        con.execute(f"{verb} VALUES {', '.join([row] * len(rows))}", [v for r in rows for v in r])
        return
    import pyarrow as pa

    kind = pa.string() if as_text else None
    batch = pa.table({c: pa.array([r[i] for r in rows], type=kind) for i, c in enumerate(columns)})
    view = f"_rows_{uuid.uuid4().hex[:8]}"  # unique: two writers on one connection never share a name
    con.register(view, batch)
    try:
        con.execute(f"{verb} SELECT {names} FROM {view}")
    finally:
        con.unregister(view)

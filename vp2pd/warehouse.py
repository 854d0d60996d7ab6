"""The DuckDB warehouse: one file per customer (`build/<slug>.duckdb`), opened the same way everywhere.

Memory is capped so that extracting or transforming a million-record practice stays within the
bounds the benchmarks check; DuckDB spills to disk beyond the cap.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "512MB"


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a DuckDB database; `:memory:` for a throwaway one."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = {
        "memory_limit": os.environ.get("VP2PD_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
        # Insertion order is never relied on (every query orders explicitly); dropping it lets
        # large inserts stream instead of buffering.
        "preserve_insertion_order": False,
    }
    return duckdb.connect(str(path), read_only=read_only, config=config)


def quote(identifier: str) -> str:
    """A SQL identifier, quoted (contract field names include reserved words such as `primary`)."""
    return '"' + identifier.replace('"', '""') + '"'

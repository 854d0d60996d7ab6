"""Stream API pages into the raw layer in batches: bounded memory, one upsert per batch.

Rows are buffered per collection (deduplicated by id: paging under churn can return a record
twice), written as NDJSON and read back by DuckDB with the raw table's column types, then merged
with `raw.upsert`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from extractors.visual_practice import raw
from vp2pd.vp_contract import Collection

FLUSH_ROWS = 5_000


def _columns_literal(coll: Collection) -> str:
    members = ", ".join(f"'{name}': '{typ}'" for name, typ in raw.data_columns(coll))
    return "{" + members + "}"


class RawLander:
    def __init__(self, con: duckdb.DuckDBPyConnection, coll: Collection, run_id: str, tmp_dir: Path) -> None:
        self.con, self.coll, self.run_id = con, coll, run_id
        self.tmp_dir = tmp_dir
        self.counts = raw.UpsertCounts()
        self.landed_ids: set[str] = set()
        self._buffer: dict[str, dict[str, Any]] = {}

    def add(self, row: dict[str, Any]) -> None:
        key = str(row[self.coll.key])
        self._buffer[key] = row
        if len(self._buffer) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", dir=self.tmp_dir, delete=False,
                                         encoding="utf-8") as handle:
            for row in self._buffer.values():
                handle.write(json.dumps(row, ensure_ascii=False, default=str))
                handle.write("\n")
            path = Path(handle.name)
        try:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _api_batch AS SELECT * FROM read_json(?, "
                f"columns = {_columns_literal(self.coll)}, format = 'newline_delimited')",
                [str(path)],
            )
            self.counts.add(raw.upsert(self.con, self.coll, "_api_batch", self.run_id, "api"))
            self.con.execute("DROP TABLE _api_batch")
        finally:
            path.unlink(missing_ok=True)
        self.landed_ids.update(self._buffer)
        self._buffer.clear()

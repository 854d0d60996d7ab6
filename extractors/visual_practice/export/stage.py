"""Staging one export file: which rows land, and the quarantine rows of those that cannot.

The file is read once into `<table>_rows` (text columns and record order `_ord`); the stage
table is narrow (order, key, duplicate key, and reason and text of bad rows), and the wide
parsed rows are computed by `rows_sql` straight into `raw.upsert`. Rows that must not land are
listed by `_ord` in `<table>_skip` and become quarantine rows with their line number, key, text
and reason; rows DuckDB rejected never reach the stage and are quarantined from its rejects
table. So rows read = landed + quarantined, by construction and checked by the tests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from extractors.visual_practice.export.aliases import FileSpec
from extractors.visual_practice.export.encoding import detect_encoding, readable
from extractors.visual_practice.export.files import ExportError, ExportFile
from extractors.visual_practice.export.plan import FilePlan, StageQuery, plan_file
from extractors.visual_practice.export.read import FileScan, LineNumbers, Reject, ordered_table, read_header
from extractors.visual_practice.raw import QuarantineRow


@dataclass
class StagedFile:
    plan: FilePlan
    scan: FileScan
    query: StageQuery
    table: str  # the narrow stage table
    lines: LineNumbers
    rows_read: int  # data records read: accepted + rejected
    duplicate_label: str  # what `_dup` holds, for reasons (`Chart #`, `Object Key/Field Key`)
    quarantine: list[QuarantineRow] = field(default_factory=list)
    quarantined_keys: list[str | None] = field(default_factory=list)  # each quarantined row's key, if readable

    @property
    def file(self) -> ExportFile:
        return self.plan.file

    @property
    def skip_table(self) -> str:
        return f"{self.table}_skip"

    @property
    def collection(self) -> str:
        return self.plan.spec.collection.name

    def where_landed(self) -> str:
        return f"_ord NOT IN (SELECT _ord FROM {self.skip_table})"

    def landed_keys(self) -> str:
        """SELECT of the keys (`_key`) of the rows that land."""
        return f"SELECT _key FROM {self.table} WHERE {self.where_landed()}"

    def landed_count(self, con: duckdb.DuckDBPyConnection) -> int:
        return con.execute(f"SELECT count(*) FROM {self.table} WHERE {self.where_landed()}").fetchone()[0]

    def rows_sql(self, columns: list[tuple[str, str]]) -> str:
        """The landing rows, parsed into `columns`."""
        return self.query.rows_sql(columns, self.skip_table)

    def where(self, line: int, key: str | None) -> str:
        """`line_or_id` of a quarantined row: its record number and, when readable, its key."""
        return f"line {line}, {self.plan.key_label} {key}" if key else f"line {line}"

    def set_aside(self, con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str | None, str]],
                  raw_text: dict[int, str] | None = None) -> None:
        """Quarantine accepted rows (ordinal, key, reason); their text is read back from the file when not given."""
        if not rows:
            return
        ordinals = [o for o, _, _ in rows]
        con.execute(f"INSERT INTO {self.skip_table} SELECT unnest(?::BIGINT[])", [ordinals])
        texts = raw_text if raw_text is not None else self._texts(con, ordinals)
        self.quarantine += [
            QuarantineRow(self.collection, self.file.name, self.where(self.lines.line(o), key), texts.get(o, ""), reason)
            for o, key, reason in rows
        ]
        self.quarantined_keys += [key for _, key, _ in rows]

    def _texts(self, con: duckdb.DuckDBPyConnection, ordinals: list[int]) -> dict[int, str]:
        con.execute("CREATE OR REPLACE TEMP TABLE _csv_wanted AS SELECT unnest(?::BIGINT[]) AS _ord", [ordinals])
        texts = dict(con.execute(self.query.raw_rows_sql("_csv_wanted")).fetchall())
        con.execute("DROP TABLE _csv_wanted")
        return texts

    def set_aside_duplicates(self, con: duckdb.DuckDBPyConnection) -> None:
        """Keep the first row of each `_dup` value, quarantine the later ones."""
        # Counting first keeps the lists to the few repeated values.
        dupes = con.execute(
            f"WITH landed AS (SELECT _ord, _key, _dup FROM {self.table} WHERE {self.where_landed()} AND _dup IS NOT NULL) "
            "SELECT _dup, list(_ord ORDER BY _ord), list(_key ORDER BY _ord) FROM landed WHERE _dup IN "
            "(SELECT _dup FROM landed GROUP BY _dup HAVING count(*) > 1) GROUP BY _dup"
        ).fetchall()
        self.set_aside(con, [
            (o, key, f"duplicate {self.duplicate_label} {value}, first at line {self.lines.line(ords[0])}")
            for value, ords, keys in dupes for o, key in list(zip(ords, keys))[1:]
        ])


def _reject_key(plan: FilePlan, reject: Reject) -> str | None:
    """The key of a malformed row, when its key field can still be read."""
    try:
        return next(csv.reader([reject.raw_text]))[plan.key_index] or None
    except (csv.Error, IndexError, StopIteration):
        return None


def stage_file(con: duckdb.DuckDBPyConnection, scratch: Path, spec: FileSpec, file: ExportFile, table: str,
               unique: list[str], object_key: str | None = None,
               field_keys: dict[str, str] | None = None) -> StagedFile:
    """Read one file into `<table>_rows` and its checks into `table`.

    `unique`: targets (`field:id`, `element:id`, `element:key`) whose values together must not
    repeat; the first row of a repeated value lands, later ones are quarantined.
    """
    encoding = detect_encoding(file.path)
    header, record_end = read_header(file.path, encoding)
    if not header:
        raise ExportError(f"{file.name} is empty: it has no header row")
    plan = plan_file(spec, file, header, object_key, field_keys)
    with readable(file.path, encoding, scratch) as text:
        scan = FileScan(file.path, text, header, record_end, f"{table}_rejects", spec.formats.every_field_quoted)
        scan.drop_rejects(con)
        ordered_table(con, f"{table}_rows", f"SELECT * FROM {scan.relation()}")
        rejects = scan.rejects(con)
        scan.drop_rejects(con)
        blanks = scan.blank_records()
    query = StageQuery(plan, f"{table}_rows")
    unique_columns = [plan.column_of(*u.split(":")) for u in unique]
    duplicate_columns = [c for c in unique_columns if c is not None] if None not in unique_columns else []
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query.checks_sql(duplicate_columns)}")
    accepted = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    staged = StagedFile(plan, scan, query, table, scan.line_numbers(rejects, blanks),
                        accepted + len(rejects), "/".join(header[c] for c in duplicate_columns))
    explained = {"TOO MANY COLUMNS": f"more fields than the header's {len(header)}",
                 "MISSING COLUMNS": f"fewer fields than the header's {len(header)}"}
    if encoding == "cp1252":  # its copy keeps the five undefined bytes, which are not UTF-8 (encoding.py)
        explained["INVALID ENCODING"] = "holds a byte Windows-1252 does not define"
    for reject in rejects:
        key = _reject_key(plan, reject)
        why = explained.get(reject.errors, reject.message)
        staged.quarantine.append(QuarantineRow(plan.spec.collection.name, file.name, staged.where(reject.line, key),
                                               reject.raw_text, f"malformed row: {reject.errors} ({why})"))
        staged.quarantined_keys.append(key)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {staged.skip_table} (_ord BIGINT)")
    bad = con.execute(f"SELECT _ord, _key, _err, _raw FROM {table} WHERE _err IS NOT NULL ORDER BY _ord").fetchall()
    staged.set_aside(con, [(o, key, err) for o, key, err, _ in bad], {o: text for o, _, _, text in bad})
    if duplicate_columns:
        staged.set_aside_duplicates(con)
    return staged

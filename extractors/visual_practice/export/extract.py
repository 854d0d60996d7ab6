"""Land a Visual Practice admin-panel CSV export (contract section 2) in `raw_visual_practice`.

Per collection: each of its files is read once and checked in SQL (stage.py), rows that cannot
land are quarantined with line, key, text and reason, nested files (contacts, invoice lines and
payments) are assembled into their parents, and the result goes through `raw.upsert`, so
re-running the same export changes nothing. An export is a full snapshot: a record an earlier
CSV extraction landed that is no longer in the export is marked deleted (as of the export date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from extractors.visual_practice import raw
from extractors.visual_practice.export.aliases import AliasTable, FileSpec, load_aliases, normalise_label
from extractors.visual_practice.export.assemble import (
    DEFINITION_COLUMNS,
    custom_objects_landing,
    landed_rows,
    record_landing,
)
from extractors.visual_practice.export.documents import ManifestRow, place_documents
from extractors.visual_practice.export.files import ExportError, ExportFile, ExportFolder, open_export
from extractors.visual_practice.export.stage import StagedFile, stage_file
from vp2pd.config import CustomerConfig
from vp2pd.vp_contract import COLLECTIONS, Collection
from vp2pd.warehouse import insert_rows, memory_limit, quote

SOURCE = "csv"
NOT_EXPORTED = ("automations", "templates", "reports")  # configuration, not data: never in an export
LANDING = "_csv_landing"
# A file's text is kept in memory while it lands (a million clients: ~520 MB); under the
# warehouse's 512 MB it spilled to disk and the read in file order took 7.6 s instead of 2.9 s
# (measured). 700 MB holds it, with the process's peak still under 1 GiB (~780 MB).
MEMORY_LIMIT = "700MB"


@dataclass
class FileAccount:
    """One file's accounting: rows read = landed + quarantined."""

    file: str
    encoding: str
    record_end: str
    rows_read: int
    landed: int
    quarantined: int
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{self.file} ({self.encoding}, {self.record_end}): {self.rows_read} rows read, "
                 f"{self.landed} landed, {self.quarantined} quarantined"]
        if self.unknown_columns:
            parts.append("unknown columns kept in _extra: " + ", ".join(self.unknown_columns))
        if self.missing_columns:
            parts.append("columns absent (NULL): " + ", ".join(self.missing_columns))
        return "; ".join(parts + self.notes)


@dataclass
class ExportReport(raw.CollectionReport):
    """A collection's report; `reported`, `rows_read`, `extracted` and `quarantined` are its main
    file's (for custom objects, rows are fields and `extracted` counts objects), `files` every file's."""

    files: list[FileAccount] = field(default_factory=list)


def _account(staged: StagedFile, landed: int, older: list[str]) -> FileAccount:
    plan = staged.plan
    notes = [*plan.notes, *(f"older {name} not read" for name in older)]
    return FileAccount(staged.file.name, staged.scan.text.encoding, staged.scan.record_end, staged.rows_read,
                       landed, len(staged.quarantine), list(plan.unknown), list(plan.missing), notes)


class ExportJob:
    def __init__(self, con: duckdb.DuckDBPyConnection, cfg: CustomerConfig, aliases: AliasTable,
                 export: ExportFolder, run_id: str) -> None:
        self.con = con
        self.cfg = cfg
        self.aliases = aliases
        self.export = export
        self.run_id = run_id
        self.scratch = cfg.customer_build_dir / "tmp"
        # custom object type (casefolded) -> (its key, normalised field label -> field key)
        self.definitions: dict[str, tuple[str, dict[str, str]]] = {}

    def files_of(self, spec: FileSpec) -> list[ExportFile]:
        return [f for f in sorted(self.export.files.values(), key=lambda f: f.stem)
                if self.aliases.spec_for(f.stem) is spec]

    def stage(self, spec: FileSpec, file: ExportFile, number: int) -> StagedFile:
        coll = spec.collection
        if spec.nest:
            unique = ["element:id"]
        elif coll.name == "custom_objects":
            unique = ["field:key", "element:key"]
        else:
            unique = [f"field:{coll.key}"]
        object_key = field_keys = None
        if coll.name == "custom_object_records":
            named = file.stem.split("-", 1)[1]
            object_key, field_keys = self.definitions.get(named.casefold(), (named, None))
        return stage_file(self.con, self.scratch, spec, file, f"_csv_{coll.name}_{number}", unique, object_key, field_keys)

    def collection(self, coll: Collection) -> ExportReport:
        if coll.name in NOT_EXPORTED:
            return ExportReport(coll.name, SOURCE, status="not_in_export",
                                detail="configuration, not data: Visual Practice exports do not contain it")
        specs = [s for s in self.aliases.files.values() if s.collection.name == coll.name]
        mains = [(s, f) for s in specs if not s.nest for f in self.files_of(s)]
        nests = [(s, f) for s in specs if s.nest for f in self.files_of(s)]
        if not mains and not nests:
            expected = ", ".join(f"VP-{s.stem}-YYYYMMDD.csv" for s in specs) or "no file"
            return ExportReport(coll.name, SOURCE, status="not_in_export", detail=f"not in this export ({expected})")
        try:
            return self._land(coll, mains, nests)
        finally:
            self.con.execute(f"DROP VIEW IF EXISTS {LANDING}")
            pattern = [f"_csv_{coll.name}_%"]
            for name, in self.con.execute(
                "SELECT view_name FROM duckdb_views() WHERE temporary AND view_name LIKE ?", pattern).fetchall():
                self.con.execute(f"DROP VIEW IF EXISTS {quote(name)}")
            for name, in self.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE ?", pattern).fetchall():
                self.con.execute(f"DROP TABLE IF EXISTS {quote(name)}")

    def _land(self, coll: Collection, mains: list[tuple[FileSpec, ExportFile]],
              nests: list[tuple[FileSpec, ExportFile]]) -> ExportReport:
        con = self.con
        staged = [self.stage(spec, f, n) for n, (spec, f) in enumerate(mains)]
        _set_aside_cross_file_duplicates(con, staged)
        nested: dict[str, StagedFile] = {}
        for n, (spec, f) in enumerate(nests, start=len(staged)):
            child = self.stage(spec, f, n)
            _set_aside_orphans(con, coll, child, staged)
            nested[spec.nest or ""] = child
        everything = staged + list(nested.values())
        raw.quarantine(con, self.run_id, SOURCE, [q for s in everything for q in s.quarantine])
        landed = {s.table: s.landed_count(con) for s in everything}
        files = [_account(s, landed[s.table], self.export.older(s.file)) for s in everything]
        detail = [f.describe() for f in files]
        if not staged:
            return ExportReport(coll.name, SOURCE, status="not_in_export", files=files, detail=" | ".join(
                [f"no VP-{spec.stem} file for its {spec.nest} rows, which are all quarantined" for spec, _ in nests]
                + detail))

        keys = " UNION ALL ".join(s.landed_keys() for s in staged)
        extracted = con.execute(f"SELECT count(DISTINCT _key) FROM ({keys})").fetchone()[0]
        con.execute(f"CREATE OR REPLACE TEMP VIEW {LANDING} AS {self._landing(coll, staged, nested)}")
        counts = raw.upsert(con, coll, LANDING, self.run_id, SOURCE)
        con.execute("DROP TABLE IF EXISTS _csv_documents_hashes")
        deleted, deletion_note = self._mark_gone(coll, staged, keys)
        if deletion_note:
            detail.append(deletion_note)
        main_files = files[: len(staged)]
        return ExportReport(
            coll.name, SOURCE, reported=sum(f.rows_read for f in main_files), extracted=extracted,
            quarantined=sum(f.quarantined for f in main_files), rows_read=sum(f.rows_read for f in main_files),
            counts=counts, deleted=deleted, status="ok", detail=" | ".join(detail),
            files=files,
        )

    def _landing(self, coll: Collection, staged: list[StagedFile], nested: dict[str, StagedFile]) -> str:
        if coll.name == "custom_objects":
            self._remember_definitions(staged[0])
            return custom_objects_landing(staged[0], staged[0].plan.spec.formats.list_separator)
        if coll.name == "documents":
            self._place_documents(coll, staged)
            return record_landing(coll, staged, nested, {"sha256": "h.sha256"},
                                  ("LEFT JOIN _csv_documents_hashes h ON h.id = s.id",))
        return record_landing(coll, staged, nested)

    def _remember_definitions(self, staged: StagedFile) -> None:
        rows = self.con.execute(
            f"SELECT key, list((_el_label, _el_key)) FILTER (WHERE _el_key IS NOT NULL) "
            f"FROM ({staged.rows_sql(DEFINITION_COLUMNS)}) GROUP BY key"
        ).fetchall()
        self.definitions = {
            key.casefold(): (key, {normalise_label(label or field_key): field_key for label, field_key in pairs or []})
            for key, pairs in rows
        }

    def _place_documents(self, coll: Collection, staged: list[StagedFile]) -> None:
        columns = [*raw.data_columns(coll), ("_file", "VARCHAR")]
        rows = self.con.execute(
            f"SELECT id, _file, filename, size_bytes FROM ({landed_rows(staged, columns)}) ORDER BY id"
        ).fetchall()
        placed = place_documents(self.con, self.cfg, self.export.root, [ManifestRow(*r) for r in rows], self.run_id)
        self.con.execute("CREATE OR REPLACE TEMP TABLE _csv_documents_hashes (id VARCHAR, sha256 VARCHAR)")
        # none when no file is beside the manifest (a metadata-only export)
        insert_rows(self.con, "_csv_documents_hashes", ("id", "sha256"),
                    [(d.document_id, d.sha256) for d in placed if d.sha256])

    def _mark_gone(self, coll: Collection, staged: list[StagedFile], landed_keys: str) -> tuple[int, str | None]:
        """Records an earlier CSV run landed that this export no longer has are deleted (as of its date).

        A quarantined row still exists in the source, so its key is spared; when a malformed row's
        key cannot be read, nothing is marked (it might be any record).
        """
        spared = [k for s in staged for k in s.quarantined_keys]
        if None in spared:
            return 0, f"deletions not marked: {spared.count(None)} quarantined row(s) without a readable key"
        earlier = self.con.execute(
            f"SELECT count(*) FROM {raw.table(coll)} WHERE _source = ? AND _deleted_at IS NULL AND _run_id <> ?",
            [SOURCE, self.run_id]).fetchone()[0]
        if not earlier:  # every live CSV row is this run's (a first extraction): none can be gone
            return 0, None
        key = quote(coll.key)
        scope = ""
        if coll.name == "custom_object_records":
            scope = "AND list_contains(?::VARCHAR[], object_key)"
        gone = [r[0] for r in self.con.execute(
            f"SELECT {key} FROM {raw.table(coll)} WHERE _source = ? AND _deleted_at IS NULL {scope} "
            f"AND {key} NOT IN ({landed_keys}) AND NOT list_contains(?::VARCHAR[], {key})",
            [SOURCE, *([[s.plan.object_key for s in staged]] if scope else []), spared],
        ).fetchall()]
        as_of = datetime.strptime(max(s.file.date for s in staged), "%Y%m%d")
        return raw.mark_deleted(self.con, coll, [(g, as_of) for g in gone], self.run_id), None


def _set_aside_cross_file_duplicates(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> None:
    """A key in several files of one collection (custom object records): the first file's row lands."""
    if len(staged) < 2:
        return
    union = " UNION ALL ".join(f"SELECT {n} AS f, _key, _ord FROM {s.table} WHERE {s.where_landed()}"
                               for n, s in enumerate(staged))
    dupes = con.execute(
        f"SELECT _key, list([f, _ord] ORDER BY f, _ord) FROM ({union}) GROUP BY _key HAVING count(DISTINCT f) > 1"
    ).fetchall()
    later: dict[int, list[tuple[int, str, str]]] = {}
    for value, places in dupes:
        (first_file, first_ord), *rest = places
        first = f"{staged[first_file].file.name} line {staged[first_file].lines.line(first_ord)}"
        for f, o in rest:
            later.setdefault(f, []).append((o, value, f"duplicate {staged[f].plan.key_label} {value}, first at {first}"))
    for f, rows in later.items():
        staged[f].set_aside(con, rows)


def _set_aside_orphans(con: duckdb.DuckDBPyConnection, coll: Collection, child: StagedFile,
                       parents: list[StagedFile]) -> None:
    """Nested rows whose parent did not land: not in the parent file, or quarantined there."""
    if parents:
        landed = " UNION ALL ".join(p.landed_keys() for p in parents)
        # In the parent file: read there, or a malformed row DuckDB rejected whose key was readable.
        seen = " UNION ALL ".join([f"SELECT _key FROM {p.table}" for p in parents] + ["SELECT unnest(?::VARCHAR[])"])
        rejected = [k for p in parents for k in p.quarantined_keys if k is not None]
        rows = con.execute(
            f"SELECT _ord, _key, _key IN ({seen}) FROM {child.table} WHERE {child.where_landed()} "
            f"AND _key NOT IN ({landed}) ORDER BY _ord", [rejected]
        ).fetchall()
        parent_file = parents[0].file.name
    else:
        rows = con.execute(f"SELECT _ord, _key, false FROM {child.table} WHERE {child.where_landed()}").fetchall()
        parent_file = f"the {coll.name} file (absent from this export)"
    label = child.plan.key_label
    child.set_aside(con, [
        (o, parent, f"{label} {parent}: its {coll.name} record was quarantined in {parent_file}" if known
         else f"{label} {parent} is not in {parent_file}")
        for o, parent, known in rows
    ])


def extract_export(con: duckdb.DuckDBPyConnection, cfg: CustomerConfig, export_path: Path,
                   run_id: str) -> list[raw.CollectionReport]:
    """Land every file of the export (a folder or a zip of it); one report per contract collection."""
    raw.ensure_schema(con)
    override = cfg.resolve(cfg.visual_practice.csv_aliases) if cfg.visual_practice.csv_aliases else None
    aliases = load_aliases(override)
    with open_export(Path(export_path), cfg.customer_build_dir / "tmp") as export:
        if export.get("Clients") is None:
            raise ExportError(f"{export_path} has no VP-Clients-YYYYMMDD.csv: it is not a Visual Practice export "
                              "(or not all of one)")
        job = ExportJob(con, cfg, aliases, export, run_id)
        with memory_limit(con, MEMORY_LIMIT):
            return [job.collection(coll) for coll in COLLECTIONS]

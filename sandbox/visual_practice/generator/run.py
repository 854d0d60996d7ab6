"""Generate a practice: reference collections first, then clients in chunks, each chunk flushed to
the store, the document folder, the export and the quirk manifest before the next is built."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rich.table import Table

from sandbox.visual_practice.generator.bundle import Bundle, Context
from sandbox.visual_practice.generator.clients import build_bundle
from sandbox.visual_practice.generator.document_files import DOCUMENTS_DIR, DocumentFiles, write_zip
from sandbox.visual_practice.generator.export_writer import ExportWriter
from sandbox.visual_practice.generator.options import GeneratorOptions
from sandbox.visual_practice.generator.practice import build_practice
from sandbox.visual_practice.generator.quirks import Manifest, QuirkPlan
from sandbox.visual_practice.generator.sequences import Sequences
from sandbox.visual_practice.generator.timeline import Timeline, iso
from sandbox.visual_practice.store import STORE_FILE, StoreWriter
from vp2pd.vp_contract import COLLECTIONS

CHUNK_CLIENTS = 2_000
STORE_MEMORY_LIMIT = "64MB"
EXPORT_DIR = "export"
# Collections that hang off a client; the clients-only case skips building them altogether.
DEPENDENT_COLLECTIONS = frozenset({"service_contracts", "service_records", "appointments", "appointment_notes",
                                   "invoices", "claims", "documents", "custom_object_records"})


@dataclass
class GenerationSummary:
    out: Path
    counts: dict[str, int]  # live records per collection written to the store
    deleted: dict[str, int]
    quirks: dict[str, int]  # manifest entries per quirk
    csv_defects: int
    store: Path
    export: Path
    documents: Path | None
    manifest: Path
    zip: Path | None
    seconds: float
    document_bytes: int = 0
    export_files: list[Path] = field(default_factory=list)

    def table(self) -> Table:
        table = Table(title=f"Generated practice in {self.out} ({self.seconds:.1f} s)")
        table.add_column("collection")
        table.add_column("live", justify="right")
        table.add_column("deleted", justify="right")
        for name in sorted(set(self.counts) | set(self.deleted)):
            table.add_row(name, f"{self.counts.get(name, 0):,}", f"{self.deleted.get(name, 0):,}")
        table.caption = (f"{sum(self.quirks.values()):,} quirks of {len(self.quirks)} kinds, "
                         f"{self.csv_defects} CSV defects; export {self.export}")
        return table


def generate(out: Path, options: GeneratorOptions) -> GenerationSummary:
    options.validate()
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / EXPORT_DIR, out / DOCUMENTS_DIR):
        shutil.rmtree(stale, ignore_errors=True)
    for old_zip in out.glob("VP-Export-*.zip"):
        old_zip.unlink()

    timeline = Timeline(options.as_of, options.timezone)
    export_date = timeline.export_date()
    seq = Sequences()
    practice = build_practice(options, seq, timeline)
    manifest = Manifest(out, options.seed, options.mess)
    store = StoreWriter(out)
    # The store is only appended to here: a smaller buffer pool than the warehouse default keeps a
    # million-client run (its reference collections in memory) well under 1 GiB.
    store.con.execute(f"SET memory_limit = '{STORE_MEMORY_LIMIT}'")
    export = ExportWriter(out / EXPORT_DIR, options, practice, manifest, export_date)
    full = options.documents == "full"
    files = DocumentFiles(out, out / EXPORT_DIR if full else None, options.seed, full) \
        if options.writes("documents") else None
    counts: Counter[str] = Counter()
    deleted: Counter[str] = Counter()

    for name, records in practice.reference_collections().items():
        if options.writes(name):
            for record in records:
                store.add(name, record)
            counts[name] += len(records)
    for entry in practice.quirks:
        if options.writes(entry.collection):
            manifest.add(entry)

    ctx = Context(options, practice, timeline, QuirkPlan(options.mess, options.clients), seq,
                  dependents=any(options.writes(c) for c in DEPENDENT_COLLECTIONS))
    for first in range(0, options.clients, CHUNK_CLIENTS):
        bundles = [build_bundle(ctx, i) for i in range(first, min(first + CHUNK_CLIENTS, options.clients))]
        for bundle in bundles:
            _write_bundle(bundle, options, store, manifest, files, counts, deleted)
        export.write_chunk(bundles)

    store.set_meta("practice", practice.practice)
    store.set_meta("seed", options.seed)
    store.set_meta("options", options.as_json())
    store.set_meta("as_of", iso(timeline.as_of))
    store.set_meta("export_started_at", iso(timeline.export_started))
    store.set_meta("documents_mode", options.documents)
    store.set_meta("export_date", export_date)
    store.set_meta("last_id", seq.last_id)
    store.close()
    export_files = export.close()
    manifest_path = manifest.finish()
    zip_path = None
    if options.zip_export:
        zip_path = write_zip(out / EXPORT_DIR, out / f"VP-Export-{export_date}.zip", timeline.local(timeline.as_of))
    return GenerationSummary(
        out=out, counts={c.name: counts[c.name] for c in COLLECTIONS if options.writes(c.name)},
        deleted=dict(deleted), quirks=dict(manifest.counts), csv_defects=len(manifest.csv_defects),
        store=out / STORE_FILE, export=out / EXPORT_DIR, documents=files.folder if files and full else None,
        manifest=manifest_path, zip=zip_path, seconds=time.perf_counter() - started,
        document_bytes=files.bytes_written if files else 0, export_files=export_files,
    )


def _write_bundle(bundle: Bundle, options: GeneratorOptions, store: StoreWriter, manifest: Manifest,
                  files: DocumentFiles | None, counts: Counter[str], deleted: Counter[str]) -> None:
    if files is not None:
        for document in bundle.records.get("documents", ()):
            files.materialize(document, bundle.export_paths.get(document["id"]))
    for name, records in bundle.records.items():
        if options.writes(name):
            for record in records:
                store.add(name, record)
            counts[name] += len(records)
    if options.writes("custom_object_records"):
        for key, record in bundle.custom_records:
            store.add("custom_object_records", record, object_key=key)
        counts["custom_object_records"] += len(bundle.custom_records)
    for name, record_id, at in bundle.deleted:
        if options.writes(name):
            store.add_deleted(name, record_id, _naive_utc(at))
            deleted[name] += 1
    for entry in bundle.quirks:
        if options.writes(entry.collection):
            manifest.add(entry)


def _naive_utc(instant: int) -> datetime:
    """The store keeps deletion times as naive UTC."""
    return datetime.fromtimestamp(instant, timezone.utc).replace(tzinfo=None)

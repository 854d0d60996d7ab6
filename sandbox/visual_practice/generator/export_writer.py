"""Writes the admin-panel CSV export (contract section 2) exactly per `export_layout`, streamed per
chunk of clients, with the defects real exports have when mess > 0.

Every field double-quoted, embedded quotes doubled, comma separated, CR or CRLF record ends (LF
inside note fields stays as it is), cp1252 or UTF-8 with a BOM. Defects go to the manifest with
their record number (the header is record 1): a row with a wrong column count, undecodable bytes,
an impossible date, a key written twice. Each kind is forced on the first rows of the first file
that can carry it and otherwise drawn per row from a hash of its key, so chunking never moves one.
"""

from __future__ import annotations

import codecs
import csv
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sandbox.visual_practice.export_layout import CUSTOM_RECORD_COLUMNS, FILES, Column, file_name
from sandbox.visual_practice.generator.bundle import Bundle
from sandbox.visual_practice.generator.catalogue import CUSTOM_PROPERTIES
from sandbox.visual_practice.generator.export_format import ValueFormat
from sandbox.visual_practice.generator.export_rows import Getter, References, compile_columns
from sandbox.visual_practice.generator.options import RECORD_ENDS, GeneratorOptions
from sandbox.visual_practice.generator.practice import Practice
from sandbox.visual_practice.generator.quirks import CSV_DEFECTS, Manifest

FLUSH_CHARS = 4 << 20
RANDOM_DEFECT_RATE = 0.0003  # per data row of a file that can carry defects, at mess 1
FORCED_DEFECT_ROWS = {1: "wrong_column_count", 2: "undecodable_bytes", 3: "bad_date", 4: "duplicate_key"}
# stem -> (key column, text column for undecodable bytes, date column for impossible dates);
# the first of these files the export contains gets the forced defects.
DEFECT_TARGETS = {
    "Clients": ("Chart #", "Address", "Date of Birth"),
    "Appointments": ("ID", "Notes", "Start"),
    "Invoices": ("Bill #", "Reference #", "Issue Date"),
    "AppointmentNotes": ("ID", "Subjective", "Signed"),
}
# Bytes no decoder of the declared encoding accepts: cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D
# undefined; in UTF-8, a Latin-1 é, a bad continuation, a byte never used, a surrogate, a stray continuation.
UNDECODABLE = {
    "cp1252": (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"),
    "utf-8": (b"\xe9", b"\xc3\x28", b"\xff", b"\xed\xa0\x80", b"\x80"),
}
NESTED = {"ClientContacts": "contacts", "InvoiceLines": "lines", "InvoicePayments": "payments"}
REFERENCE_STEMS = ("Locations", "Staff", "Organizations", "ReferralSources", "Services", "CustomObjects")


class CsvFile:
    """One export file: rows are buffered as text and encoded per flush."""

    def __init__(self, path: Path, header: list[str], options: GeneratorOptions) -> None:
        self.path = path
        self.codec = "utf-8" if options.encoding == "utf-8-sig" else "cp1252"
        self._out = path.open("wb")
        if options.encoding == "utf-8-sig":
            self._out.write(codecs.BOM_UTF8)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_ALL, lineterminator=RECORD_ENDS[options.record_end])
        self._markers_used = False
        self.records = 0
        self.write(header)

    def write(self, row: list[str | None]) -> int:
        """Writes a record; returns its record number."""
        self._writer.writerow(row)
        self.records += 1
        if self._buffer.tell() > FLUSH_CHARS:
            self.flush()
        return self.records

    def marker(self, index: int) -> str:
        """A stand-in character for undecodable bytes number `index`, swapped in when encoding."""
        self._markers_used = True
        return chr(1 + index)

    def flush(self) -> None:
        # Strict: everything generated exists in cp1252 (accents, smart quotes), so a character that
        # does not is a generator bug to see, not a `?` to hide.
        data = self._buffer.getvalue().encode(self.codec)
        if self._markers_used:
            for index, raw in enumerate(UNDECODABLE[self.codec]):
                data = data.replace(chr(1 + index).encode(), raw)
            self._markers_used = False
        self._out.write(data)
        self._buffer.seek(0)
        self._buffer.truncate()

    def close(self) -> None:
        self.flush()
        self._out.close()


class Defects:
    """Decides which data rows of one file get a defect, and writes them."""

    def __init__(self, stem: str, columns: list[Column], seed: int, mess: float, forced: bool,
                 manifest: Manifest) -> None:
        labels = [c.label for c in columns]
        key, text, date = DEFECT_TARGETS[stem]
        self.key, self.text, self.date = labels.index(key), labels.index(text), labels.index(date)
        self.date_is_datetime = columns[self.date].kind == "datetime"
        self.stem, self.seed, self.manifest = stem, seed, manifest
        self.threshold = int(mess * RANDOM_DEFECT_RATE * 2**32)
        self.forced = dict(FORCED_DEFECT_ROWS) if forced and mess > 0 else {}
        self.rows = 0

    def write(self, out: CsvFile, row: list[str | None], mdy: bool) -> None:
        self.rows += 1
        key = row[self.key] or ""
        kind = self.forced.pop(self.rows, None)
        if kind is None and self.threshold:
            draw = zlib.crc32(f"{self.seed}:{self.stem}:{key}".encode())
            kind = CSV_DEFECTS[draw % len(CSV_DEFECTS)] if draw < self.threshold else None
        if kind is None:
            out.write(row)
            return
        if kind == "wrong_column_count":
            bad = row + [""] if self.rows % 2 else row[:-1]
            detail = f"{len(bad)} fields instead of {len(row)}"
        elif kind == "bad_date":
            value = "02/30/2026" if mdy else "20261345"
            bad = list(row)
            bad[self.date] = value + (" 09:30" if self.date_is_datetime else "")
            detail = f"{bad[self.date]!r} in column {self.date + 1}"
        elif kind == "undecodable_bytes":
            index = zlib.crc32(key.encode()) % len(UNDECODABLE[out.codec])
            bad = list(row)
            value = bad[self.text] or ""
            bad[self.text] = value[: len(value) // 2] + out.marker(index) + value[len(value) // 2:]
            detail = f"bytes {UNDECODABLE[out.codec][index].hex(' ').upper()} in column {self.text + 1}"
        else:  # duplicate_key: the row again, as when a record changes while the export runs
            first = out.write(row)
            bad = row
            detail = f"repeats record {first}"
        line = out.write(bad)
        self.manifest.add_defect(out.path.name, line, kind, key, detail)


@dataclass
class _Target:
    out: CsvFile
    getters: list[Getter]
    collection: str
    defects: Defects | None


class ExportWriter:
    def __init__(self, folder: Path, options: GeneratorOptions, practice: Practice, manifest: Manifest,
                 export_date: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.options = options
        self.fmt = ValueFormat(options)
        self.refs = References(displays=practice.displays())
        self.targets: dict[str, _Target] = {}
        files = [f for f in FILES if options.writes(f.collection) and (f.stem != "CustomObjects" or options.enterprise)]
        forced_stem = next((s for s in DEFECT_TARGETS if any(f.stem == s for f in files)), None)
        for layout in files:
            columns = layout.columns_for(options.header_release)
            getters = compile_columns(columns, layout.collection, self.fmt, self.refs)
            labels = [c.label for c in columns]
            if layout.stem == "Clients":  # custom properties after the fixed columns
                for label, kind in CUSTOM_PROPERTIES.items():
                    labels.append(f"Custom: {label}")
                    getters.append(self._custom_property(label, kind))
            defects = (Defects(layout.stem, columns, options.seed, options.mess, layout.stem == forced_stem, manifest)
                       if layout.stem in DEFECT_TARGETS else None)
            out = CsvFile(folder / file_name(layout.stem, export_date), labels, options)
            self.targets[layout.stem] = _Target(out, getters, layout.collection, defects)
        if options.enterprise and options.writes("custom_object_records"):
            for obj in practice.custom_objects:
                self._add_custom_file(obj, export_date)
        self._write_reference(practice)

    def _custom_property(self, label: str, kind: str) -> Getter:
        fmt = self.fmt
        return lambda r, p: fmt.loose(r["custom_properties"].get(label), kind)

    def _add_custom_file(self, obj: dict[str, Any], export_date: str) -> None:
        fmt = self.fmt
        id_column, *rest = CUSTOM_RECORD_COLUMNS
        getters = compile_columns([id_column], "custom_object_records", fmt, self.refs)
        labels = [id_column.label]
        for spec in obj["fields"]:
            labels.append(spec["label"])
            getters.append(lambda r, p, key=spec["key"], kind=spec["type"]: fmt.loose(r["fields"].get(key), kind))
        getters += compile_columns(list(rest), "custom_object_records", fmt, self.refs)
        labels += [c.label for c in rest]
        out = CsvFile(self.folder / file_name(f"Custom-{obj['key']}", export_date), labels, self.options)
        self.targets[f"Custom-{obj['key']}"] = _Target(out, getters, "custom_object_records", None)

    def _write_reference(self, practice: Practice) -> None:
        collections = practice.reference_collections()
        for stem in REFERENCE_STEMS:
            target = self.targets.get(stem)
            if target is None:
                continue
            for record in collections[target.collection]:
                if stem == "CustomObjects":  # one row per field of the definition
                    for spec in record["fields"]:
                        target.out.write([g(record, spec) for g in target.getters])
                else:
                    target.out.write([g(record, None) for g in target.getters])

    def write_chunk(self, bundles: list[Bundle]) -> None:
        refs = self.refs
        for table in (refs.charts, refs.client_names, refs.bills, refs.export_paths):
            table.clear()
        for bundle in bundles:
            refs.charts.update(bundle.charts)
            refs.client_names.update(bundle.display_names)
            refs.export_paths.update(bundle.export_paths)
            refs.bills.update((i["id"], i["invoice_number"]) for i in bundle.records.get("invoices", ()))
        mdy = self.options.date_style == "mdy"
        for stem, target in self.targets.items():
            if stem in REFERENCE_STEMS:
                continue
            getters = target.getters
            for record, parent in self._rows(stem, target.collection, bundles):
                row = [g(record, parent) for g in getters]
                if target.defects:
                    target.defects.write(target.out, row, mdy)
                else:
                    target.out.write(row)
            target.out.flush()

    @staticmethod
    def _rows(stem: str, collection: str,
              bundles: list[Bundle]) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
        for bundle in bundles:
            if stem.startswith("Custom-"):
                key = stem.removeprefix("Custom-")
                yield from ((r, None) for k, r in bundle.custom_records if k == key)
                continue
            for record in bundle.records.get(collection, ()):
                if collection == "clients" and record["id"] in bundle.not_exported:
                    continue  # created after the export had written the Clients file
                if stem in NESTED:
                    yield from ((child, record) for child in record[NESTED[stem]])
                else:
                    yield record, None

    def close(self) -> list[Path]:
        for target in self.targets.values():
            target.out.close()
        return [t.out.path for t in self.targets.values()]

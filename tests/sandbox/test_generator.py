"""The synthetic practice generator: contents, relationships, quirks, export format, determinism, scale."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from rich.console import Console

from sandbox.visual_practice import documents
from sandbox.visual_practice.export_layout import FILES, file_name
from sandbox.visual_practice.generator import GeneratorOptions, OptionsError, generate, run
from sandbox.visual_practice.generator.catalogue import CUSTOM_PROPERTIES
from sandbox.visual_practice.generator.quirks import CSV_DEFECTS, QUIRK_NAMES
from sandbox.visual_practice.store import Filter, Store
from vp2pd.vp_contract import COLLECTIONS

csv.field_size_limit(2**24)  # notes of ~200 KB are a quirk the export must carry
EXPORT_DATE = "20261120"
CLIENTS = 300
AS_OF = "2026-11-20T12:00:00Z"
TORONTO = ZoneInfo("America/Toronto")
CANONICAL_PHONE = re.compile(r"^\d{3}-\d{3}-\d{4}$")
VALID_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


@dataclass
class Practice:
    out: Path
    options: GeneratorOptions
    records: dict[str, dict[str, dict[str, Any]]]  # collection -> id -> record
    deleted: dict[str, set[str]]
    object_keys: dict[str, str]  # custom object record id -> type key
    meta: dict[str, Any]
    manifest: dict[str, Any]

    def csv_path(self, stem: str) -> Path:
        return self.out / "export" / file_name(stem, EXPORT_DATE)

    def csv(self, stem: str) -> list[list[str]]:
        """Records of an export file; undecodable bytes become lone surrogates."""
        encoding = "utf-8-sig" if self.options.encoding == "utf-8-sig" else "cp1252"
        text = self.csv_path(stem).read_bytes().decode(encoding, errors="surrogateescape")
        return list(csv.reader(io.StringIO(text, newline="")))

    def table(self, stem: str) -> list[dict[str, str]]:
        header, *rows = self.csv(stem)
        return [dict(zip(header, row)) for row in rows if len(row) == len(header)]


def load(out: Path, options: GeneratorOptions) -> Practice:
    con = duckdb.connect(str(out / "store.duckdb"), read_only=True)
    records: dict[str, dict[str, dict[str, Any]]] = {}
    object_keys: dict[str, str] = {}
    for coll in COLLECTIONS:
        rows = con.execute(f"SELECT id, object_key, doc FROM {coll.name}").fetchall()
        records[coll.name] = {r[0]: json.loads(r[2]) for r in rows}
        object_keys.update({r[0]: r[1] for r in rows if r[1]})
    deleted: dict[str, set[str]] = defaultdict(set)
    for name, record_id in con.execute("SELECT collection, id FROM deleted").fetchall():
        deleted[name].add(record_id)
    meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta").fetchall()}
    con.close()
    manifest = json.loads((out / "quirks.json").read_text(encoding="utf-8"))
    return Practice(out, options, records, deleted, object_keys, meta, manifest)


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Practice:
    """Enterprise, mess 0.5, cp1252, CR, new headers, YYYYMMDD, plain money, full documents, zipped."""
    options = GeneratorOptions(clients=CLIENTS, seed=11, plan="enterprise", mess=0.5, zip_export=True)
    out = tmp_path_factory.mktemp("messy")
    generate(out, options)
    return load(out, options)


CLEAN_OPTIONS = GeneratorOptions(
    clients=60, seed=3, mess=0.0, encoding="utf-8-sig", record_end="crlf", header_release="1999.4",
    date_style="mdy", money_style="dollar", documents="metadata", zip_export=True,
)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Practice:
    """Standard, mess 0, UTF-8 with BOM, CRLF, old headers, MM/DD/YYYY, $ money, metadata documents."""
    out = tmp_path_factory.mktemp("clean")
    generate(out, CLEAN_OPTIONS)
    return load(out, CLEAN_OPTIONS)


def entries(practice: Practice, quirk: str) -> list[dict[str, str]]:
    return practice.manifest["records"].get(quirk, [])


# -- content -------------------------------------------------------------------------------------

def test_counts_per_client_are_in_range(messy: Practice) -> None:
    count = {name: len(records) for name, records in messy.records.items()}
    per_client = {name: n / CLIENTS for name, n in count.items()}
    assert CLIENTS <= count["clients"] <= CLIENTS * 1.15  # extra records of quirks (duplicates, merges...)
    assert 6.5 <= per_client["appointments"] <= 9.5
    assert 1.5 <= per_client["appointment_notes"] <= 2.6
    assert 1.5 <= per_client["invoices"] <= 2.5
    assert 2.0 <= per_client["service_records"] <= 3.4
    assert 0.2 <= per_client["service_contracts"] <= 0.4
    assert 0.4 <= per_client["documents"] <= 0.9
    assert 0.2 <= per_client["custom_object_records"] <= 0.5
    assert count["organizations"] == CLIENTS // 8
    assert count["locations"] == 1 + CLIENTS // 500
    assert count["staff"] == max(6, CLIENTS // 40)
    assert 8 <= count["referral_sources"] <= 12
    assert 25 <= count["services"] <= 40
    for name in ("automations", "templates", "reports"):
        assert 5 <= count[name] <= 15
    assert 2 <= count["custom_objects"] <= 3
    per_client_invoices = Counter(i["client_id"] for i in messy.records["invoices"].values())
    assert set(per_client_invoices.values()) <= {1, 2, 3}
    roles = Counter(s["role"] for s in messy.records["staff"].values())
    assert set(roles) == {"practitioner", "admin", "reception", "billing"}
    assert any(not s["is_active"] and s["role"] == "practitioner" for s in messy.records["staff"].values())
    codes = {s["code"] for s in messy.records["services"].values()}
    assert "A007" in codes and any(not s["is_billable"] for s in messy.records["services"].values())


def test_appointments_span_two_years_back_and_three_months_ahead(messy: Practice) -> None:
    appointments = messy.records["appointments"].values()
    starts = sorted(a["starts_at"] for a in appointments if a["status"] != "template")
    assert starts[0] < "2024-12-31" and "2027-01-01" < starts[-1] < "2027-02-25"
    statuses = Counter(a["status"] for a in appointments)
    assert set(statuses) == {"booked", "arrived", "completed", "cancelled", "no_show", "template"}
    assert all(a["status"] in ("booked", "template") for a in appointments if a["starts_at"] > AS_OF)
    assert {a["channel"] for a in appointments} == {"in_person", "phone", "video"}
    messy_notes = {e["id"] for q in ("note_unsafe_html", "note_word_markup") for e in entries(messy, q)}
    tags = Counter(tag for n in messy.records["appointment_notes"].values() if n["id"] not in messy_notes
                   for part in ("subjective", "objective", "assessment", "plan")
                   for tag in re.findall(r"</?([a-z:]+)", n[part]))
    assert set(tags) == {"p", "br", "b", "i", "ul", "ol", "li", "table", "tr", "th", "td"}


def test_ids_are_unique_increasing_digit_strings_and_timestamps_ordered(messy: Practice) -> None:
    ids: list[str] = []
    for name, records in messy.records.items():
        if name == "custom_objects":
            continue
        for record in records.values():
            ids.append(record["id"])
            for nested in ("lines", "payments"):
                ids += [x["id"] for x in record.get(nested) or []]
            created, updated = record.get("created_at") or record.get("uploaded_at"), record.get("updated_at")
            if created and updated:
                assert created <= updated <= AS_OF, (name, record["id"])
    ids += [i for deleted in messy.deleted.values() for i in deleted]
    assert all(i.isdigit() and int(i) >= 100_000 for i in ids)
    assert len(ids) == len(set(ids))
    assert int(messy.meta["last_id"]) >= max(int(i) for i in ids)
    assert messy.meta["practice"]["plan"] == "enterprise" and messy.meta["export_date"] == EXPORT_DATE
    assert messy.meta["seed"] == 11 and messy.meta["documents_mode"] == "full"
    for name, deleted in messy.deleted.items():
        assert not deleted & set(messy.records[name]), f"deleted {name} still live"


def test_the_sandbox_store_serves_what_was_generated(messy: Practice) -> None:
    store = Store(messy.out)
    assert store.counts() == {name: len(records) for name, records in messy.records.items()}
    assert store.practice["timezone"] == "America/Toronto" and store.practice["currency"] == "CAD"
    page, total = store.list("appointments", [Filter("client_id", "=", next(iter(messy.records["clients"])))])
    assert total == len(page) > 0
    gone, total = store.list_deleted("clients")
    assert {g["id"] for g in gone} == messy.deleted["clients"] and total == len(messy.deleted["clients"])
    assert store.object_keys() == sorted(messy.records["custom_objects"])


def test_every_reference_points_at_a_live_or_deleted_record(messy: Practice) -> None:
    orphans = {e["id"] for e in entries(messy, "org_orphan_parent")}
    known = {name: set(records) | messy.deleted.get(name, set()) for name, records in messy.records.items()}
    dangling = []
    for coll in COLLECTIONS:
        for record in messy.records[coll.name].values():
            for ref in coll.refs:
                values = record.get(ref.name)
                for value in values if isinstance(values, list) else [values]:
                    if value is not None and value not in known[ref.ref or ""]:
                        dangling.append((coll.name, record["id"], ref.name, value))
    organizations = messy.records["organizations"]
    assert sorted(dangling) == sorted(("organizations", o, "parent_id", organizations[o]["parent_id"]) for o in orphans)
    for invoice in messy.records["invoices"].values():
        for line in invoice["lines"]:
            assert line["service_record_id"] is None or line["service_record_id"] in known["service_records"]
    for record in messy.records["custom_object_records"].values():
        assert set(record["links"]["client_ids"]) <= known["clients"]
        assert set(record["links"]["organization_ids"]) <= known["organizations"]


# -- quirks --------------------------------------------------------------------------------------

def _local_offsets(appointment: dict[str, Any]) -> tuple[Any, Any]:
    start = datetime.fromisoformat(appointment["starts_at"]).astimezone(TORONTO)
    end = datetime.fromisoformat(appointment["ends_at"]).astimezone(TORONTO)
    return start.utcoffset(), end.utcoffset()


def _org_depth(orgs: dict[str, dict[str, Any]], org_id: str) -> int:
    depth = 0
    while org_id in orgs:
        depth += 1
        org_id = orgs[org_id]["parent_id"]
    return depth


def test_every_quirk_is_listed_and_really_present(messy: Practice) -> None:
    assert set(messy.manifest["records"]) == set(QUIRK_NAMES)
    r, deleted = messy.records, messy.deleted
    clients, appointments, invoices, docs = r["clients"], r["appointments"], r["invoices"], r["documents"]
    address_users = Counter(e["address"] for c in clients.values() for e in c["emails"])
    checks = {
        "name_case": lambda c, d: any(n and n in (n.upper(), n.lower()) and n != n.title()
                                      for n in (c["first_name"], c["last_name"])),
        "name_spaces": lambda c, d: "  " in c["last_name"] or c["last_name"].endswith(" "),
        "display_name_mismatch": lambda c, d: c["display_name"] != f"{c['last_name']}, {c['first_name']}".upper(),
        "accented_name": lambda c, d: not (c["first_name"] + c["last_name"]).isascii(),
        "one_word_name": lambda c, d: c["first_name"] == "" and " " not in c["last_name"].strip(),
        "email_missing": lambda c, d: c["emails"] == [],
        "email_malformed": lambda c, d: not VALID_EMAIL.match(c["emails"][0]["address"]),
        "email_shared_family": lambda c, d: address_users[c["emails"][0]["address"]] >= 2,
        "email_duplicate_across_clients": lambda c, d: address_users[c["emails"][0]["address"]] >= 2,
        "phone_formats": lambda c, d: any(not CANONICAL_PHONE.match(p["number"]) for p in c["phones"]),
        "duplicate_client": lambda c, d: c["id"] > d and c["date_of_birth"] == clients[d]["date_of_birth"]
            and c["first_name"].casefold() == clients[d]["first_name"].casefold()
            and c["last_name"].casefold() in clients[d]["last_name"].casefold(),
        "merged_client": lambda c, d: c["merged_into_id"] == d and d in clients,
        "multiple_contacts": lambda c, d: len(c["contacts"]) >= 2,
        "custom_props_sparse": lambda c, d: set(c["custom_properties"]) < set(CUSTOM_PROPERTIES),
        "custom_props_mixed_types": lambda c, d: any(
            isinstance(v, str) and CUSTOM_PROPERTIES[k] in ("int", "bool") or
            CUSTOM_PROPERTIES[k] == "date" and not re.match(r"^\d{4}-\d\d-\d\d$", str(v))
            for k, v in c["custom_properties"].items()),
        "appt_template_slot": lambda a, d: a["client_id"] is None and a["status"] == "template",
        "appt_cancelled": lambda a, d: a["status"] == "cancelled" and a["cancellation_reason"],
        "appt_no_show": lambda a, d: a["status"] == "no_show",
        "appt_dst_span": lambda a, d: len(set(_local_offsets(a))) == 2,
        "appt_departed_practitioner": lambda a, d: not r["staff"][a["practitioner_id"]]["is_active"],
        "appt_deleted_client": lambda a, d: a["client_id"] in deleted["clients"] and a["client_id"] not in clients,
        "invoice_void": lambda i, d: i["status"] == "void" and i["balance"] == "0.00",
        "invoice_partial_multi_payer": lambda i, d: len({p["payer_type"] for p in i["payments"]}) >= 2
            and float(i["balance"]) > 0 and i["status"] == "partially_paid",
        "invoice_negative_adjustment": lambda i, d: any(float(l["amount"]) < 0 for l in i["lines"]),
        "invoice_rejected_resubmitted": lambda i, d: _double_counts(i),
        "doc_large": lambda x, d: x["size_bytes"] > 50 * 2**20 and x["category"] == "imaging",
        "doc_zero_byte": lambda x, d: x["size_bytes"] == 0,
        "doc_duplicate_name": lambda x, d: docs[d.split(" ")[3].rstrip(":")]["filename"] == x["filename"],
        "doc_illegal_chars": lambda x, d: re.search(r'[<>:"/\\|?*]', x["filename"]) is not None,
        "doc_wrong_content_type": lambda x, d: not x["filename"].endswith(
            {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "application/dicom": ".dcm",
             "text/plain": ".txt"}[x["content_type"]]),
        "note_unsafe_html": lambda n, d: any(s in n["subjective"] for s in ("<script", "onclick=", "onerror=",
                                                                             "onmouseover=")),
        "note_word_markup": lambda n, d: all(s in n["subjective"] for s in ("<o:p>", "mso-", "\u2019")),
        "note_huge": lambda n, d: len(n["objective"]) >= 200_000,
        "org_hierarchy_deep": lambda o, d: _org_depth(r["organizations"], o["id"]) == 4,
        "org_orphan_parent": lambda o, d: o["parent_id"] and o["parent_id"] not in r["organizations"],
        "export_race": lambda x, d: x["created_at"] > messy.meta["export_started_at"],
    }
    assert set(checks) == set(QUIRK_NAMES)
    failures = []
    for quirk, listed in messy.manifest["records"].items():
        for entry in listed:
            record = r[entry["collection"]].get(entry["id"])
            if record is None or not checks[quirk](record, entry["detail"]):
                failures.append((quirk, entry))
    assert failures == []


def _double_counts(invoice: dict[str, Any]) -> bool:
    rejected = [l for l in invoice["lines"] if l["status"] == "rejected"]
    again = [l for l in invoice["lines"] if l["status"] == "resubmitted"]
    naive = sum(round(float(l["amount"]) * 100) for l in invoice["lines"])
    total = round(float(invoice["total"]) * 100)
    return bool(rejected) and any(a["service_code"] == rejected[0]["service_code"] for a in again) and naive > total


def test_quirks_that_show_in_the_export(messy: Practice) -> None:
    charts = {row["Chart #"] for row in messy.table("Clients")}
    appointment_charts = {row["ID"]: row["Chart #"] for row in messy.table("Appointments")}
    for entry in entries(messy, "export_race"):
        record = messy.records[entry["collection"]][entry["id"]]
        if entry["collection"] == "clients":
            assert record["chart_number"] not in charts
        else:
            assert appointment_charts[record["id"]] not in charts
            assert record["created_at"] > messy.meta["export_started_at"]
    exported = {row["ID"]: row for row in messy.table("Documents")}
    for entry in entries(messy, "doc_illegal_chars"):
        name = exported[entry["id"]]["File"]
        assert not re.search(r'[<>:"\\|?*]', name.split("/", 2)[2]) and (messy.out / "export" / name).is_file()
    for entry in entries(messy, "doc_duplicate_name"):
        assert exported[entry["id"]]["File"].endswith(")" + Path(exported[entry["id"]]["File"]).suffix)
    slots = [a for a in messy.table("Appointments") if a["Status"] == "template"]
    assert slots and all(a["Chart #"] == "" and a["Patient"] == "" for a in slots)
    for entry in entries(messy, "appt_dst_span"):
        row = next(a for a in messy.table("Appointments") if a["ID"] == entry["id"])
        start, end = (datetime.strptime(row[k], "%Y%m%d %H:%M") for k in ("Start", "End"))
        assert (end - start).total_seconds() in (0, 7200)  # wall clock: 01:30 -> 01:30 or 03:30


def test_each_csv_defect_is_where_the_manifest_says(messy: Practice) -> None:
    defects = messy.manifest["csv_defects"]
    assert {d["kind"] for d in defects} == set(CSV_DEFECTS)
    for defect in defects:
        stem = defect["file"].removeprefix("VP-").removesuffix(f"-{EXPORT_DATE}.csv")
        rows = messy.csv(stem)
        header, row = rows[0], rows[defect["line"] - 1]
        key_column = {"Clients": "Chart #", "Invoices": "Bill #"}.get(stem, "ID")
        assert row[header.index(key_column)] == defect["key"]
        if defect["kind"] == "wrong_column_count":
            assert len(row) != len(header)
        elif defect["kind"] == "undecodable_bytes":
            assert any("\udc80" <= ch <= "\udcff" for value in row for ch in value)
        elif defect["kind"] == "bad_date":
            assert any(v.startswith(("20261345", "02/30/2026")) for v in row)
        else:
            assert sum(r[header.index(key_column)] == defect["key"] for r in rows[1:]) == 2
    listed = {(d["file"], d["line"]) for d in defects}
    for layout in FILES:  # nowhere else: every other record has the header's width and decodes
        if not messy.csv_path(layout.stem).exists():
            continue
        rows = messy.csv(layout.stem)
        for number, row in enumerate(rows[1:], start=2):
            if (file_name(layout.stem, EXPORT_DATE), number) not in listed:
                assert len(row) == len(rows[0]), (layout.stem, number)


def test_mess_zero_is_clean(clean: Practice) -> None:
    assert clean.manifest["records"] == {} and clean.manifest["csv_defects"] == []
    clients = clean.records["clients"].values()
    assert len(clients) == 60 and not clean.deleted.get("clients")
    assert all((c["first_name"] + c["last_name"]).isascii() and c["first_name"] for c in clients)
    assert all(VALID_EMAIL.match(c["emails"][0]["address"]) for c in clients)
    assert len({c["emails"][0]["address"] for c in clients}) == 60
    assert all(CANONICAL_PHONE.match(p["number"]) for c in clients for p in c["phones"])
    assert all(set(c["custom_properties"]) == set(CUSTOM_PROPERTIES) for c in clients)
    assert all(c["merged_into_id"] is None for c in clients)
    statuses = {a["status"] for a in clean.records["appointments"].values()}
    assert statuses <= {"booked", "arrived", "completed"}
    assert all(i["status"] != "void" and all(float(l["amount"]) >= 0 for l in i["lines"])
               for i in clean.records["invoices"].values())
    assert all(r["parent_id"] is None or r["parent_id"] in clean.records["organizations"]
               for r in clean.records["organizations"].values())


# -- export format -------------------------------------------------------------------------------

def test_encodings_and_record_ends(messy: Practice, clean: Practice) -> None:
    cp1252 = messy.csv_path("Staff").read_bytes()
    assert not cp1252.startswith(b"\xef\xbb\xbf") and b"\r\n" not in cp1252
    assert cp1252.count(b"\r") == 1 + len(messy.records["staff"])
    cp1252.decode("cp1252")
    utf8 = clean.csv_path("Staff").read_bytes()
    assert utf8.startswith(b"\xef\xbb\xbf") and utf8.count(b"\r\n") == 1 + len(clean.records["staff"])
    utf8.decode("utf-8-sig")
    # Accented names survive cp1252; notes keep their LF inside the quoted field.
    accented = [messy.records["clients"][e["id"]] for e in entries(messy, "accented_name")]
    shown = {row["Chart #"]: row["Last Name"] for row in messy.table("Clients")}
    assert any(shown.get(c["chart_number"]) == c["last_name"] and not c["last_name"].isascii() for c in accented)
    notes = messy.csv_path("AppointmentNotes").read_bytes()
    assert b"\n" in notes and b"\x92" in notes  # LF inside fields, cp1252 smart quote from pasted Word


def test_old_and_new_headers(messy: Practice, clean: Practice) -> None:
    new = messy.csv("Clients")[0]
    old = clean.csv("Clients")[0]
    assert "Version" in new and "Version" not in old
    assert "Channel" in messy.csv("Appointments")[0] and "Channel" not in clean.csv("Appointments")[0]
    layout = {f.stem: f for f in FILES}
    assert new == layout["Clients"].labels("2024.1") + [f"Custom: {label}" for label in CUSTOM_PROPERTIES]
    for stem in ("Appointments", "Invoices", "Documents", "InvoiceLines"):
        assert clean.csv(stem)[0] == layout[stem].labels("1999.4")
    assert not clean.csv_path("CustomObjects").exists()
    assert messy.csv("CustomObjects")[0] == layout["CustomObjects"].labels()


def test_date_money_and_reference_styles(messy: Practice, clean: Practice) -> None:
    for practice, date_re, money_re in (
        (messy, r"^\d{8}$", r"^-?\d+\.\d\d$"),
        (clean, r"^\d\d/\d\d/\d{4}$", r"^-?\$\d{1,3}(,\d{3})*\.\d\d$"),
    ):
        client = practice.records["clients"]
        for row in practice.table("Clients")[10:30]:
            assert re.match(date_re, row["Date of Birth"])
        for row in practice.table("Invoices")[:50]:
            assert re.match(money_re, row["Total"]) and re.match(money_re, row["$ Paid"])
        by_chart = {c["chart_number"]: c for c in client.values()}
        for row in practice.table("Appointments")[:200]:
            record = practice.records["appointments"][row["ID"]]
            local = datetime.fromisoformat(record["starts_at"]).astimezone(TORONTO)
            expected = local.strftime("%Y%m%d %H:%M" if practice is messy else "%m/%d/%Y %H:%M")
            assert row["Start"] == expected
            staff = practice.records["staff"][record["practitioner_id"]]
            assert row["Practitioner"] == f"{staff['last_name'].upper()}, {staff['first_name'].upper()}"
            if record["client_id"] in client:
                assert by_chart[row["Chart #"]]["id"] == record["client_id"]
    paid = {row["Bill #"]: row for row in messy.table("Invoices")}
    for invoice in list(messy.records["invoices"].values())[:100]:
        row = paid.get(invoice["invoice_number"])
        if row:
            assert row["$ Paid"] == f"{sum(round(float(p['amount']) * 100) for p in invoice['payments']) / 100:.2f}"
    assert any(row["Amount"].startswith("-") for row in messy.table("InvoiceLines"))
    assert {row["Active"] for row in messy.table("Staff")} == {"Yes", "No"}


# -- documents, plans, options -------------------------------------------------------------------

def test_documents_full_and_metadata(messy: Practice, clean: Practice) -> None:
    manifest = {row["ID"]: row for row in messy.table("Documents")}
    for doc in messy.records["documents"].values():
        path = messy.out / "documents" / doc["id"]
        assert path.stat().st_size == doc["size_bytes"]
        if doc["size_bytes"] < 5 * 2**20:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == doc["sha256"]
        exported = messy.out / "export" / manifest[doc["id"]]["File"]
        assert exported.stat().st_ino == path.stat().st_ino or exported.read_bytes() == path.read_bytes()
        chart = messy.records["clients"][doc["client_id"]]["chart_number"]
        assert manifest[doc["id"]]["File"].startswith(f"documents/{chart}/")
    assert not (clean.out / "documents").exists() and not (clean.out / "export" / "documents").exists()
    for doc in clean.records["documents"].values():
        assert doc["sha256"] == documents.sha256(3, doc["id"], doc["size_bytes"], doc["content_type"])


def test_enterprise_has_custom_objects_with_many_to_many_links(messy: Practice, clean: Practice) -> None:
    kinds = {rel["kind"] for obj in messy.records["custom_objects"].values() for rel in obj["relations"]}
    assert kinds == {"many_to_one", "many_to_many"}
    records = messy.records["custom_object_records"]
    assert set(messy.object_keys.values()) <= set(messy.records["custom_objects"])
    assert all("object_key" not in rec for rec in records.values())
    assert any(len(rec["links"]["client_ids"]) >= 2 for rec in records.values())
    assert any(rec["links"]["organization_ids"] for rec in records.values())
    linked = Counter(c for rec in records.values() for c in rec["links"]["client_ids"])
    assert max(linked.values()) >= 2  # N:N: a client linked by several records
    key = next(iter(messy.records["custom_objects"]))
    rows = messy.table(f"Custom-{key}")
    assert len(rows) == sum(1 for k in messy.object_keys.values() if k == key)
    assert clean.records["custom_objects"] == {} and clean.records["custom_object_records"] == {}
    assert not list((clean.out / "export").glob("VP-Custom-*"))


def test_zip_holds_the_export(messy: Practice) -> None:
    with zipfile.ZipFile(messy.out / f"VP-Export-{EXPORT_DATE}.zip") as archive:
        names = set(archive.namelist())
        assert file_name("Clients", EXPORT_DATE) in names
        assert archive.read(file_name("Staff", EXPORT_DATE)) == messy.csv_path("Staff").read_bytes()
        assert any(n.startswith("documents/") for n in names)


def test_same_options_give_the_same_practice_whatever_the_chunking(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    options = GeneratorOptions(clients=45, seed=5, plan="enterprise", mess=0.8, documents="metadata", zip_export=True)
    generate(tmp_path / "a", options)
    monkeypatch.setattr(run, "CHUNK_CLIENTS", 7)
    generate(tmp_path / "b", options)
    first, second = load(tmp_path / "a", options), load(tmp_path / "b", options)
    assert first.records == second.records and first.deleted == second.deleted and first.meta == second.meta
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    for path in files:
        if path.name != "store.duckdb":
            assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes(), path


def test_collections_restrict_what_is_written(tmp_path: Path) -> None:
    summary = generate(tmp_path, GeneratorOptions(clients=40, collections=frozenset({"clients"}), mess=0.5))
    assert set(summary.counts) == {"clients"} and summary.counts["clients"] >= 40
    console = Console(record=True, width=100)
    console.print(summary.table())
    assert re.search(r"clients\s+│\s+" + f"{summary.counts['clients']:,}", console.export_text())
    files = sorted(p.name for p in (tmp_path / "export").glob("*.csv"))
    assert files == [file_name("ClientContacts", EXPORT_DATE), file_name("Clients", EXPORT_DATE)]
    practice = load(tmp_path, GeneratorOptions(clients=40))
    assert len(practice.records["clients"]) == summary.counts["clients"]
    assert all(not records for name, records in practice.records.items() if name != "clients")
    assert {e["collection"] for quirk in practice.manifest["records"].values() for e in quirk} == {"clients"}
    clients = {r["Chart #"] for r in practice.table("Clients")}
    assert len(clients) >= 39


@pytest.mark.parametrize("changes, message", [
    ({"plan": "gold"}, "plan must be one of standard, enterprise"),
    ({"encoding": "latin-1"}, "encoding must be one of cp1252, utf-8-sig"),
    ({"collections": frozenset({"clients", "patients"})}, "unknown collections patients"),
    ({"mess": 1.5}, "mess must be between 0 and 1"),
    ({"record_end": "lf"}, "record_end must be one of cr, crlf"),
    ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path: Path, changes: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(OptionsError, match=re.escape(message)):
        generate(tmp_path / "out", GeneratorOptions(clients=5, **changes))
    assert not (tmp_path / "out").exists()


# -- scale ---------------------------------------------------------------------------------------

MEMORY_PROBE = """
import resource, sys, tracemalloc
from pathlib import Path
import psutil
from sandbox.visual_practice.generator import GeneratorOptions, generate
from sandbox.visual_practice.generator.export_writer import ExportWriter
from sandbox.visual_practice.generator.practice import build_practice
from sandbox.visual_practice.generator.sequences import Sequences
from sandbox.visual_practice.generator.timeline import Timeline

after_chunk = []
write_chunk = ExportWriter.write_chunk
def measured(self, bundles):
    write_chunk(self, bundles)
    after_chunk.append(psutil.Process().memory_info().rss)
ExportWriter.write_chunk = measured
options = GeneratorOptions(clients=int(sys.argv[2]), collections=frozenset({"clients"}))
generate(Path(sys.argv[1]), options)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def reference_bytes(clients):
    tracemalloc.start()
    build_practice(GeneratorOptions(clients=clients), Sequences(), Timeline(options.as_of, options.timezone))
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size

print(peak, reference_bytes(options.clients), reference_bytes(100_000), *after_chunk)
"""


def test_memory_stays_bounded_as_the_practice_grows(tmp_path: Path) -> None:
    """A million-client clients-only practice stays under 1 GiB, extrapolated from 60k clients.

    Per chunk, memory must not grow beyond what the store's buffer pool may still take; what does
    grow with the practice is its reference collections (organizations = clients / 8, staff), which
    are measured for 100k clients and scaled to a million.
    """
    clients = 60_000
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(tmp_path), str(clients)],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    peak, reference_here, reference_100k, *after_chunk = map(int, done.stdout.split())
    half = len(after_chunk) // 2
    store_pool = 64 * 2**20  # run.STORE_MEMORY_LIMIT
    assert max(after_chunk[half:]) <= max(after_chunk[:half]) + store_pool, "memory grows from chunk to chunk"
    projected = peak + reference_100k * 10 - reference_here + store_pool
    assert projected < 2**30, f"peak {peak / 2**20:.0f} MiB at {clients}, projected {projected / 2**20:.0f} MiB"

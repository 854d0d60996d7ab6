"""The CSV export extractor: encodings, record ends, header versions, value styles, every defect in
`_quarantine` with its line and reason, nested assembly, aliases, idempotence, zip, documents, and
a generated messy export whose defect manifest must be fully accounted for."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import duckdb
import pytest

from extractors.visual_practice import raw
from extractors.visual_practice.export.aliases import AliasError, load_aliases, normalise_label
from extractors.visual_practice.export.extract import ExportReport, extract_export
from extractors.visual_practice.export.files import ExportError
from extractors.visual_practice.export.read import LineNumbers
from vp2pd.config import CustomerConfig, DocumentSettings, VisualPracticeSettings
from vp2pd.vp_contract import collection
from vp2pd.warehouse import connect

# Notes of ~200 KB are a quirk the export carries; the checks here re-read files with `csv`.
csv.field_size_limit(2**24)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
DATE = "20261120"
CLIENTS = [
    "Chart #", "Title", "Last Name", "First Name", "Display Name", "Sex", "Date of Birth", "Health #", "Version",
    "E-mail", "E-mail 2", "Home Phone", "Cell Phone", "Work Phone", "Address", "Address 2", "City", "Province",
    "Postal Code", "Country", "Status", "Status Changed", "Location", "Referral Source", "Practitioner",
    "Organization", "UTM Source", "UTM Medium", "UTM Campaign", "Archived", "Merged Into", "Created", "Modified",
]
CLIENTS_OLD = [label for label in CLIENTS if label != "Version"]  # before release 2001.2
CONTACTS = ["Chart #", "Contact Name", "Relationship", "E-mail", "Phone"]
INVOICES = ["Bill #", "Chart #", "Contract ID", "Bill Type", "Issue Date", "Due Date", "Status", "Currency", "Total",
            "Balance", "$ Paid", "% Payable", "$ Disallow", "Paid By", "Reference #", "Created", "Modified"]
LINES = ["Bill #", "Line ID", "Service Record ID", "Service Code", "Description", "Qty", "Unit Price", "Amount",
         "Status", "Error Code"]
PAYMENTS = ["Bill #", "Payment ID", "Received", "Amount", "Paid By", "Method", "Reference #"]
APPOINTMENTS_OLD = ["ID", "Chart #", "Patient", "Practitioner", "Location", "Service", "Start", "End", "Status",
                    "Cancellation Reason", "Notes", "Created", "Modified"]
STAFF = ["ID", "Last Name", "First Name", "E-mail", "Role", "Billing #", "Specialty", "Locations", "Active",
         "Created", "Modified"]
ORGANIZATIONS = ["ID", "Name", "Parent Organization", "Phone", "Website", "Address", "Address 2", "City", "Province",
                 "Postal Code", "Country", "Location", "Created", "Modified"]
CLAIMS = ["ID", "Bill #", "Chart #", "Payer", "Health #", "Version", "Diagnostic Code", "Submitted", "Status",
          "Created", "Modified"]
DOCUMENTS = ["ID", "Chart #", "Appointment ID", "File Name", "Content Type", "Size", "Category", "Uploaded",
             "Modified", "File"]
CUSTOM_OBJECTS = ["Object Key", "Object Label", "Field Key", "Field Label", "Field Type", "Relations"]

Row = dict[str, str] | bytes


def record(fields: list[str]) -> str:
    """One record as VP writes it: every field quoted, embedded quotes doubled."""
    return ",".join('"' + f.replace('"', '""') + '"' for f in fields)


class ExportBuilder:
    """Writes `VP-{Stem}-{date}.csv` files byte for byte as the admin panel does.

    A row is a {label: value} dict (absent labels are empty) or the exact bytes of a record, for
    defects no well-formed writer produces.
    """

    def __init__(self, folder: Path, encoding: str = "cp1252", end: str = "\r", date: str = DATE) -> None:
        self.folder, self.encoding, self.end, self.date = folder, encoding, end, date
        folder.mkdir(parents=True, exist_ok=True)

    def encode(self, text: str) -> bytes:
        return text.encode("utf-8" if self.encoding.startswith("utf-8") else "cp1252")

    def file(self, stem: str, header: list[str], rows: list[Row]) -> Path:
        end = self.encode(self.end)
        data = b"\xef\xbb\xbf" if self.encoding == "utf-8-sig" else b""
        data += self.encode(record(header)) + end
        for row in rows:
            data += (row if isinstance(row, bytes) else self.encode(record([row.get(h, "") for h in header]))) + end
        path = self.folder / f"VP-{stem}-{self.date}.csv"
        path.write_bytes(data)
        return path


@pytest.fixture
def config(tmp_path: Path) -> Callable[..., CustomerConfig]:
    def make(**settings: Any) -> CustomerConfig:
        return CustomerConfig(slug="csvtest", name="CSV test", build_dir=tmp_path / "build", home=tmp_path, **settings)

    return make


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = connect(":memory:")
    yield connection
    connection.close()


def by_name(reports: list[raw.CollectionReport]) -> dict[str, ExportReport]:
    return {r.collection: r for r in reports}  # type: ignore[misc]


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def quarantine(con: duckdb.DuckDBPyConnection, where: str = "TRUE") -> list[dict[str, Any]]:
    return rows(con, f"SELECT * FROM raw_visual_practice._quarantine WHERE {where} ORDER BY location, quarantined_at, "
                     "TRY_CAST(regexp_extract(line_or_id, 'line (\\d+)', 1) AS INT)")


def client(chart: str, **fields: str) -> dict[str, str]:
    values = {"Chart #": chart, "Last Name": "Tremblay", "First Name": "Anne", "Display Name": "TREMBLAY, ANNE",
              "Date of Birth": "19800102", "Status": "active", "Created": "20250105 09:30",
              "Modified": "20250106 10:00"}
    return {**values, **{k.replace("_", " "): v for k, v in fields.items()}}


# -- encodings, record ends, header versions, value styles ----------------------------------------

def test_cp1252_cr_old_headers_utf8_bom_crlf_and_utf8_lf_new_headers_land_the_same_values(tmp_path, con, config) -> None:
    people = [
        client("000123", **{"Last Name": "Côté", "First Name": "Zoë", "Display Name": "CÔTÉ, ZOË",
                            "Address": "12 rue de l’Église", "City": "Montréal", "Version": "AB",
                            "Organization": "“Acme” Ltée – Est", "Custom: Note": "œuvre €5"}),
        client("000124", **{"Last Name": "O’Brien", "Address 2": "Unit 4\nrear door"}),
    ]
    variants = {"old": ("cp1252", "\r", "CR"), "new": ("utf-8-sig", "\r\n", "CRLF"), "no-bom": ("utf-8", "\n", "LF")}
    for name, (encoding, end, _) in variants.items():
        ExportBuilder(tmp_path / name, encoding, end).file(
            "Clients", (CLIENTS_OLD if name == "old" else CLIENTS) + ["Custom: Note"], people)
    assert b"\x92" in (tmp_path / "old" / f"VP-Clients-{DATE}.csv").read_bytes()  # cp1252 right single quote

    landed = {}
    for name, (_, _, record_end) in variants.items():
        db = connect(":memory:")
        reports = by_name(extract_export(db, config(), tmp_path / name, f"run-{name}"))
        clients = reports["clients"]
        assert (clients.reported, clients.extracted, clients.quarantined) == (2, 2, 0)
        account = clients.files[0]
        expected_encoding = {"old": "cp1252", "new": "utf-8-bom", "no-bom": "utf-8"}[name]
        assert (account.encoding, account.record_end) == (expected_encoding, record_end)
        landed[name] = rows(db, "SELECT id, chart_number, last_name, first_name, display_name, version_code, address, "
                                "organization_id_display, custom_properties, created_at FROM raw_visual_practice.clients "
                                "ORDER BY id")
        if name == "old":
            assert "Version" in account.missing_columns  # absent in the old header: NULL, not an error
    assert landed["no-bom"] == landed["new"]
    old_rows, new_rows = landed["old"], landed["new"]
    assert old_rows[0]["last_name"] == new_rows[0]["last_name"] == "Côté"
    assert old_rows[0]["address"]["line1"] == "12 rue de l’Église"
    assert old_rows[0]["organization_id_display"] == "“Acme” Ltée – Est"
    assert json.loads(old_rows[0]["custom_properties"]) == {"Note": "œuvre €5"}
    assert old_rows[1]["last_name"] == "O’Brien" and old_rows[1]["address"]["line2"] == "Unit 4\nrear door"
    assert old_rows[0]["version_code"] is None and new_rows[0]["version_code"] == "AB"
    assert old_rows[0]["id"] == old_rows[0]["chart_number"] == "000123"  # leading zeros kept
    assert old_rows[0]["created_at"] == datetime(2025, 1, 5, 9, 30)  # local wall-clock time, naive
    for old_row, new_row in zip(old_rows, new_rows):
        assert {k: v for k, v in old_row.items() if k != "version_code"} == \
               {k: v for k, v in new_row.items() if k != "version_code"}


def test_committed_fixture_file_reads_as_vp_wrote_it(tmp_path, con, config) -> None:
    """tests/fixtures/csv/cp1252-cr holds bytes as VP writes them (cp1252, CR, a quoted LF)."""
    reports = by_name(extract_export(con, config(), FIXTURES / "cp1252-cr", "run"))
    assert (reports["clients"].extracted, reports["clients"].quarantined) == (2, 0)
    got = rows(con, "SELECT id, last_name, first_name, address FROM raw_visual_practice.clients ORDER BY id")
    assert [(r["id"], r["last_name"], r["first_name"]) for r in got] == [("000007", "Lévesque", "Hélène"),
                                                                          ("000042", "D’Amours", "François")]
    assert got[0]["address"]["line1"] == "5 “Le Château”\nporte 2"


def test_date_and_money_styles_parse_to_the_same_values(tmp_path, con, config) -> None:
    styles = {
        "ymd-plain": ("20261001", "20261031", "1234.50", "-12.00", "20261002"),
        "mdy-dollar": ("10/01/2026", "10/31/2026", "$1,234.50", "($12.00)", "10/02/2026"),
    }
    for name, (issued, due, total, balance, received) in styles.items():
        export = ExportBuilder(tmp_path / name)
        export.file("Clients", CLIENTS, [client("000001")])
        export.file("Invoices", INVOICES, [{"Bill #": "B-1", "Chart #": "000001", "Issue Date": issued, "Due Date": due,
                                            "Total": total, "Balance": balance, "Status": "issued"}])
        export.file("InvoicePayments", PAYMENTS, [{"Bill #": "B-1", "Payment ID": "P-1", "Received": received,
                                                   "Amount": "-$3.25"}])
        db = connect(":memory:")
        extract_export(db, config(), tmp_path / name, "run")
        invoice = rows(db, "SELECT * FROM raw_visual_practice.invoices")[0]
        assert (invoice["issue_date"], invoice["due_date"]) == (date(2026, 10, 1), date(2026, 10, 31)), name
        assert (invoice["total"], invoice["balance"]) == (Decimal("1234.50"), Decimal("-12.00")), name
        assert invoice["payments"] == [{"id": "P-1", "received_on": date(2026, 10, 2), "amount": Decimal("-3.25"),
                                        "payer_type": None, "method": None, "reference": None}], name
        assert invoice["id"] == invoice["invoice_number"] == "B-1"


# -- bad input: every defect kind, with line and reason, and the accounting -----------------------

def defective_clients(export: ExportBuilder, undecodable: bytes) -> None:
    good = lambda chart, **f: export.encode(record([client(chart, **f).get(h, "") for h in CLIENTS]))  # noqa: E731
    fields = [client("000005").get(h, "") for h in CLIENTS]
    export.file("Clients", CLIENTS, [
        client("000001", **{"Address 2": "Apt 4\nback door"}),  # 2: a quoted LF does not start a record
        client("000002", **{"Date of Birth": "20261345"}),  # 3: impossible date
        good("000003", Address="12 Main").replace(b"12 Main", b"12 M" + undecodable + b"ain"),  # 4
        good("000004") + b',""',  # 5: one field too many (empty)
        export.encode(record(fields[:-1])),  # 6: one field too few
        client("000006"),  # 7
        client("000006", **{"First Name": "Again"}),  # 8: the key again
        b"",  # 9: a blank record
        good("000007") + b',"x","y"',  # 10: two fields too many
        client(""),  # 11: no key
        client("000009", Modified="13/45/2026 10:00"),  # 12: impossible date-time
        good("000010").replace(b'"Tremblay"', b'"Trem"blay"'),  # 13: a stray quote
        client("000011"),  # 14
    ])


@pytest.mark.parametrize("encoding, end, undecodable, decode_reason", [
    ("cp1252", "\r", b"\x81", "Windows-1252 does not define"),
    ("utf-8-sig", "\r\n", b"\xff", "INVALID ENCODING"),
])
def test_every_defect_is_quarantined_with_its_line_key_and_reason(tmp_path, con, config, encoding, end,
                                                                   undecodable, decode_reason) -> None:
    export = ExportBuilder(tmp_path / "export", encoding, end)
    defective_clients(export, undecodable)
    reports = by_name(extract_export(con, config(), tmp_path / "export", "run"))
    clients = reports["clients"]

    assert clients.rows_read == 12  # 13 records after the header, one of them blank
    assert clients.extracted == 3 and clients.quarantined == 9
    assert clients.rows_read == clients.extracted + clients.quarantined
    assert raw.live_count(con, collection("clients")) == 3
    assert sorted(r[0] for r in con.execute("SELECT id FROM raw_visual_practice.clients").fetchall()) == \
           ["000001", "000006", "000011"]
    assert con.execute("SELECT first_name FROM raw_visual_practice.clients WHERE id = '000006'").fetchone()[0] == "Anne"

    got = {q["line_or_id"]: q for q in quarantine(con)}
    assert all(q["location"] == f"VP-Clients-{DATE}.csv" and q["collection"] == "clients" for q in got.values())
    expected = {
        "line 3, Chart # 000002": 'Date of Birth: "20261345" is not a date',
        "line 4, Chart # 000003": decode_reason,
        "line 5, Chart # 000004": "TOO MANY COLUMNS",
        "line 6, Chart # 000005": "MISSING COLUMNS",
        "line 8, Chart # 000006": "duplicate Chart # 000006, first at line 7",
        "line 10, Chart # 000007": "TOO MANY COLUMNS",
        "line 11": "no Chart # (the record key)",
        "line 12, Chart # 000009": 'Modified: "13/45/2026 10:00" is not a date-time',
        "line 13, Chart # 000010": "malformed row",
    }
    assert set(got) == set(expected)
    for where, reason in expected.items():
        assert reason in got[where]["reason"], (where, got[where]["reason"])
    # Nothing lost: each quarantined row keeps its text.
    assert got["line 3, Chart # 000002"]["raw_text"].startswith('"000002","","Tremblay","Anne"')
    assert got["line 5, Chart # 000004"]["raw_text"].endswith('"20250106 10:00",""')
    assert got["line 8, Chart # 000006"]["raw_text"].startswith('"000006","","Tremblay","Again"')
    assert got["line 10, Chart # 000007"]["raw_text"].endswith('"x","y"')
    decoded = got["line 4, Chart # 000003"]["raw_text"]
    assert f"12 M\\x{undecodable.hex()}ain" in decoded  # the byte itself, shown escaped


def test_line_numbers_skip_rejected_and_blank_records() -> None:
    lines = LineNumbers([5, 6, 9])  # records 5, 6 rejected, 9 blank: accepted rows sit at 2, 3, 4, 7, 8, 10
    assert [lines.line(n) for n in range(1, 7)] == [2, 3, 4, 7, 8, 10]


# -- nested assembly, references, custom properties, unknown columns ------------------------------

def nested_export(folder: Path) -> ExportBuilder:
    export = ExportBuilder(folder)
    export.file("Clients", CLIENTS + ["Custom: Allergies", "Custom: Pronouns", "Favourite Colour"], [
        client("000001", **{"E-mail": "anne@x.ca", "E-mail 2": "anne@work.ca", "Cell Phone": "514-555-0101",
                            "Work Phone": "(514) 555 0199", "Practitioner": "SMITH, JOHN", "Location": "Main",
                            "Referral Source": "Google", "Organization": "Acme", "UTM Source": "google",
                            "UTM Campaign": "spring", "Custom: Allergies": "Peanuts, \"shellfish\"",
                            "Favourite Colour": "teal"}),
        client("000002", **{"E-mail 2": "only@second.ca", "Home Phone": "450-555-0000", "Merged Into": "000001"}),
        client("000003", **{"Date of Birth": "19991399"}),
    ])
    export.file("ClientContacts", CONTACTS, [
        {"Chart #": "000001", "Contact Name": "Marie Tremblay", "Relationship": "mother", "E-mail": "marie@x.ca"},
        {"Chart #": "000001", "Contact Name": "Luc Tremblay", "Relationship": "father", "Phone": "514-555-0102"},
        {"Chart #": "000404", "Contact Name": "Nobody", "Relationship": "friend"},
        {"Chart #": "000003", "Contact Name": "Of a bad row", "Relationship": "spouse"},
    ])
    export.file("Invoices", INVOICES, [
        {"Bill #": "B-1", "Chart #": "000001", "Bill Type": "ohip", "Issue Date": "20261001", "Total": "120.00",
         "Balance": "0.00", "$ Paid": "120.00", "% Payable": "100.00", "Status": "paid"},
        {"Bill #": "B-2", "Chart #": "000002", "Bill Type": "private", "Issue Date": "20261002", "Total": "50.00",
         "Balance": "50.00", "Status": "issued"},
    ])
    export.file("InvoiceLines", LINES, [
        {"Bill #": "B-1", "Line ID": "L-1", "Service Code": "A004", "Qty": "1", "Unit Price": "80.00",
         "Amount": "80.00", "Status": "rejected", "Error Code": "V07"},
        {"Bill #": "B-1", "Line ID": "L-2", "Service Code": "A004", "Qty": "1.5", "Unit Price": "$26.67",
         "Amount": "$40.00", "Status": "paid"},
        {"Bill #": "B-9", "Line ID": "L-3", "Service Code": "X", "Qty": "1", "Amount": "1.00"},
        {"Bill #": "B-1", "Line ID": "L-1", "Service Code": "dup", "Qty": "1", "Amount": "1.00"},
    ])
    export.file("InvoicePayments", PAYMENTS, [
        {"Bill #": "B-1", "Payment ID": "P-1", "Received": "20261010", "Amount": "120.00", "Paid By": "ohip",
         "Method": "RA deposit", "Reference #": "RA-1"},
    ])
    export.file("Staff", STAFF, [{"ID": "100001", "Last Name": "Smith", "First Name": "John",
                                  "Locations": "Main; East", "Active": "Yes"}])
    export.file("Organizations", ORGANIZATIONS, [{"ID": "200", "Name": "Acme"},
                                                 {"ID": "201", "Name": "Acme East", "Parent Organization": "Acme"}])
    export.file("Appointments", APPOINTMENTS_OLD, [
        {"ID": "300", "Chart #": "000001", "Patient": "TREMBLAY, ANNE", "Practitioner": "SMITH, JOHN",
         "Location": "Main", "Service": "PT-FU", "Start": "20261103 09:00", "End": "20261103 09:45",
         "Status": "booked", "Notes": "Line one\nline two"}])
    export.file("Claims", CLAIMS, [{"ID": "400", "Bill #": "B-1", "Chart #": "000001", "Submitted": "20261003"}])
    return export


def test_nested_lists_are_assembled_and_orphans_quarantined(tmp_path, con, config) -> None:
    nested_export(tmp_path / "export")
    reports = by_name(extract_export(con, config(), tmp_path / "export", "run"))
    anne, second = rows(con, "SELECT * FROM raw_visual_practice.clients ORDER BY id")
    assert anne["emails"] == [{"address": "anne@x.ca", "label": "email", "primary": True},
                              {"address": "anne@work.ca", "label": "email2", "primary": False}]
    assert anne["phones"] == [{"number": "514-555-0101", "label": "mobile", "primary": True},
                              {"number": "(514) 555 0199", "label": "work", "primary": False}]
    assert second["emails"] == [{"address": "only@second.ca", "label": "email2", "primary": True}]
    assert second["phones"] == [{"number": "450-555-0000", "label": "home", "primary": True}]
    assert anne["contacts"] == [
        {"name": "Marie Tremblay", "relationship": "mother", "email": "marie@x.ca", "phone": None},
        {"name": "Luc Tremblay", "relationship": "father", "email": None, "phone": "514-555-0102"},
    ]
    assert second["contacts"] == []
    assert anne["utm"] == {"source": "google", "medium": None, "campaign": "spring"}
    assert second["utm"] is None and second["merged_into_id"] == "000001"

    b1, b2 = rows(con, "SELECT * FROM raw_visual_practice.invoices ORDER BY id")
    assert [(x["id"], x["status"], x["error_code"], x["quantity"], x["amount"]) for x in b1["lines"]] == [
        ("L-1", "rejected", "V07", Decimal("1.000"), Decimal("80.00")),
        ("L-2", "paid", None, Decimal("1.500"), Decimal("40.00")),
    ]
    assert [(p["id"], p["amount"], p["payer_type"]) for p in b1["payments"]] == [("P-1", Decimal("120.00"), "ohip")]
    assert b2["lines"] == [] and b2["payments"] == []
    assert b1["client_id"] == "000001"

    orphans = {(q["location"], q["line_or_id"]): q["reason"] for q in quarantine(con)}
    assert orphans == {
        (f"VP-Clients-{DATE}.csv", "line 4, Chart # 000003"): 'Date of Birth: "19991399" is not a date (%Y%m%d or %m/%d/%Y)',
        (f"VP-ClientContacts-{DATE}.csv", "line 4, Chart # 000404"): f"Chart # 000404 is not in VP-Clients-{DATE}.csv",
        (f"VP-ClientContacts-{DATE}.csv", "line 5, Chart # 000003"):
            f"Chart # 000003: its clients record was quarantined in VP-Clients-{DATE}.csv",
        (f"VP-InvoiceLines-{DATE}.csv", "line 4, Bill # B-9"): f"Bill # B-9 is not in VP-Invoices-{DATE}.csv",
        (f"VP-InvoiceLines-{DATE}.csv", "line 5, Bill # B-1"): "duplicate Line ID L-1, first at line 2",
    }
    # Per file, rows read = landed + quarantined.
    for report in reports.values():
        for account in report.files:
            assert account.rows_read == account.landed + account.quarantined, account
    contacts = next(f for f in reports["clients"].files if f.file.startswith("VP-ClientContacts"))
    assert (contacts.rows_read, contacts.landed, contacts.quarantined) == (4, 2, 2)


def test_a_contact_of_a_malformed_client_row_is_quarantined_as_of_a_quarantined_client(tmp_path, con, config) -> None:
    # DuckDB rejects the malformed row itself: its key is read from its text, and its contacts
    # are said to belong to a quarantined record, not to one missing from the file.
    export = ExportBuilder(tmp_path / "export")
    malformed = export.encode(record([client("000002").get(h, "") for h in CLIENTS])) + b',"extra"'
    export.file("Clients", CLIENTS, [client("000001"), malformed])
    export.file("ClientContacts", CONTACTS, [{"Chart #": "000002", "Contact Name": "Marie", "Relationship": "mother"},
                                             {"Chart #": "000001", "Contact Name": "Luc", "Relationship": "father"}])
    extract_export(con, config(), tmp_path / "export", "run")
    got = {(q["location"], q["line_or_id"]): q["reason"] for q in quarantine(con)}
    assert got == {
        (f"VP-Clients-{DATE}.csv", "line 3, Chart # 000002"):
            f"malformed row: TOO MANY COLUMNS (more fields than the header's {len(CLIENTS)})",
        (f"VP-ClientContacts-{DATE}.csv", "line 2, Chart # 000002"):
            f"Chart # 000002: its clients record was quarantined in VP-Clients-{DATE}.csv",
    }
    assert rows(con, "SELECT id, contacts FROM raw_visual_practice.clients") == [
        {"id": "000001", "contacts": [{"name": "Luc", "relationship": "father", "email": None, "phone": None}]}]


def test_display_references_ids_custom_properties_and_extra_columns(tmp_path, con, config) -> None:
    nested_export(tmp_path / "export")
    reports = by_name(extract_export(con, config(), tmp_path / "export", "run"))
    anne = rows(con, "SELECT * FROM raw_visual_practice.clients WHERE id = '000001'")[0]
    assert (anne["default_practitioner_id_display"], anne["location_id_display"], anne["referral_source_id_display"],
            anne["organization_id_display"]) == ("SMITH, JOHN", "Main", "Google", "Acme")
    assert (anne["default_practitioner_id"], anne["location_id"], anne["organization_id"]) == (None, None, None)
    assert json.loads(anne["custom_properties"]) == {"Allergies": 'Peanuts, "shellfish"'}  # empty Pronouns left out
    assert json.loads(anne["_extra"]) == {"Favourite Colour": "teal"}
    assert "unknown columns kept in _extra: Favourite Colour" in reports["clients"].detail

    staff = rows(con, "SELECT * FROM raw_visual_practice.staff")[0]
    assert staff["location_ids_display"] == ["Main", "East"] and staff["location_ids"] is None
    assert staff["is_active"] is True
    org = rows(con, "SELECT * FROM raw_visual_practice.organizations WHERE id = '201'")[0]
    assert org["parent_id_display"] == "Acme" and org["parent_id"] is None
    appointment = rows(con, "SELECT * FROM raw_visual_practice.appointments")[0]
    assert (appointment["client_id"], appointment["practitioner_id_display"], appointment["service_id_display"]) == \
           ("000001", "SMITH, JOHN", "PT-FU")
    assert appointment["channel"] is None  # old header: no Channel column
    assert appointment["starts_at"] == datetime(2026, 11, 3, 9, 0) and appointment["notes"] == "Line one\nline two"
    assert json.loads(appointment["_extra"]) == {"Patient": "TREMBLAY, ANNE"}
    assert rows(con, "SELECT invoice_id, client_id FROM raw_visual_practice.claims")[0] == \
           {"invoice_id": "B-1", "client_id": "000001"}
    b1 = rows(con, "SELECT _extra FROM raw_visual_practice.invoices WHERE id = 'B-1'")[0]
    assert json.loads(b1["_extra"]) == {"$ Paid": "120.00", "% Payable": "100.00"}
    assert "unknown" not in reports["invoices"].detail  # derived columns are known, not unknown
    for name in ("automations", "templates", "reports"):
        assert reports[name].status == "not_in_export"
    assert reports["documents"].status == "not_in_export" and reports["custom_objects"].status == "not_in_export"
    assert all(r.source == "csv" for r in reports.values())


# -- aliases ---------------------------------------------------------------------------------------

def test_shipped_alias_table_knows_every_column_of_the_export_layout() -> None:
    """The generator writes exports per export_layout; the extractor reads them per its alias table."""
    from sandbox.visual_practice.export_layout import CUSTOM_RECORD_COLUMNS, FILES

    table = load_aliases()
    for layout in FILES:
        spec = table.spec_for(layout.stem)
        assert spec is not None and spec.collection.name == layout.collection, layout.stem
        for column in layout.columns:
            targets = spec.columns.get(normalise_label(column.label))
            assert targets, f"{layout.stem}: {column.label!r} is not in csv_aliases.yml"
            how, _, what = column.source.partition(":")
            columns = {t.column if not t.member or t.kind == "entry" else f"{t.column}.{t.member}" for t in targets}
            if how == "field":
                assert what.removeprefix("field.") in columns or f"{what}" in columns or spec.nest, (layout.stem, column)
            elif how in ("display", "displays"):
                assert f"{what}_display" in columns, (layout.stem, column)
            elif how in ("chart", "bill") and what not in ("client", "invoice"):
                assert what in columns, (layout.stem, column)
            elif how in ("chart", "bill"):
                assert [t.kind for t in targets] == ["parent"], (layout.stem, column)
    custom = table.spec_for("Custom-anything")
    assert custom is not None and all(custom.columns.get(normalise_label(c.label)) for c in CUSTOM_RECORD_COLUMNS)


def test_customer_alias_file_renames_a_header_and_changes_a_date_format(tmp_path, con, config) -> None:
    export = ExportBuilder(tmp_path / "export")
    header = ["Chart No", "Last Name", "First Name", "DOB", "Created"]
    export.file("Clients", header, [{"Chart No": "0042", "Last Name": "Roy", "First Name": "Léa", "DOB": "31.12.1990",
                                     "Created": "20250101 08:00"}])
    aliases = tmp_path / "aliases.yml"
    shutil.copy(FIXTURES / "customer_aliases.yml", aliases)
    cfg = config(visual_practice=VisualPracticeSettings(csv_aliases=Path("aliases.yml")))
    reports = by_name(extract_export(con, cfg, tmp_path / "export", "run"))
    got = rows(con, "SELECT id, chart_number, date_of_birth FROM raw_visual_practice.clients")
    assert got == [{"id": "0042", "chart_number": "0042", "date_of_birth": date(1990, 12, 31)}]
    clients = reports["clients"]
    assert clients.files[0].unknown_columns == []
    assert "Chart #" not in clients.files[0].missing_columns  # renamed, not missing


def test_a_broken_alias_file_fails_before_any_row_is_read(tmp_path, con, config) -> None:
    (tmp_path / "bad.yml").write_text('files:\n  Clients:\n    columns:\n      "Birthday": date_of_brith\n')
    ExportBuilder(tmp_path / "export").file("Clients", CLIENTS, [client("000001")])
    cfg = config(visual_practice=VisualPracticeSettings(csv_aliases=Path("bad.yml")))
    with pytest.raises(AliasError, match="Birthday.*date_of_brith"):
        extract_export(con, cfg, tmp_path / "export", "run")
    assert con.execute("SELECT count(*) FROM raw_visual_practice.clients").fetchone()[0] == 0


def test_an_export_that_leaves_empty_fields_unquoted_is_configuration(tmp_path, con, config) -> None:
    (tmp_path / "aliases.yml").write_text("formats:\n  every_field_quoted: false\n")
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / f"VP-Clients-{DATE}.csv").write_bytes(
        b'"Chart #","Last Name","First Name","Date of Birth"\r"01",Roy,,19800101\r"02","Roy","Al",,"extra"\r"03",,,\r')
    cfg = config(visual_practice=VisualPracticeSettings(csv_aliases=Path("aliases.yml")))
    report = by_name(extract_export(con, cfg, tmp_path / "export", "run"))["clients"]
    assert (report.rows_read, report.extracted, report.quarantined) == (3, 2, 1)
    assert rows(con, "SELECT id, last_name, first_name, date_of_birth FROM raw_visual_practice.clients ORDER BY id") == [
        {"id": "01", "last_name": "Roy", "first_name": None, "date_of_birth": date(1980, 1, 1)},
        {"id": "03", "last_name": None, "first_name": None, "date_of_birth": None}]
    assert "TOO MANY COLUMNS" in quarantine(con)[0]["reason"]


# -- re-runs, zip, snapshots -------------------------------------------------------------------------

def test_rerun_changes_nothing(tmp_path, con, config) -> None:
    nested_export(tmp_path / "export")
    first = by_name(extract_export(con, config(), tmp_path / "export", "run-1"))
    snapshot = {name: rows(con, f"SELECT id, _record_hash, _run_id FROM raw_visual_practice.{name} ORDER BY id")
                for name in ("clients", "invoices", "staff", "appointments")}
    second = by_name(extract_export(con, config(), tmp_path / "export", "run-2"))
    for name, report in second.items():
        assert (report.counts.inserted, report.counts.updated, report.deleted) == (0, 0, 0), name
        assert report.extracted == first[name].extracted, name
    for name, before in snapshot.items():
        after = rows(con, f"SELECT id, _record_hash, _run_id FROM raw_visual_practice.{name} ORDER BY id")
        assert after == before, name  # same rows, same hashes, still the first run's


def test_zip_of_the_export_folder_lands_the_same(tmp_path, con, config) -> None:
    nested_export(tmp_path / "export")
    archive = tmp_path / "VP-Export-20261120.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in (tmp_path / "export").iterdir():
            out.write(path, f"VP-Export/{path.name}")  # zipped with its folder
    reports = by_name(extract_export(con, config(), archive, "run"))
    assert (reports["clients"].extracted, reports["invoices"].extracted) == (2, 2)
    assert not any((tmp_path / "build" / "csvtest" / "tmp").glob("export-*"))  # unzipped copy removed


def test_an_older_export_date_is_ignored_and_a_vanished_record_is_marked_deleted(tmp_path, con, config) -> None:
    first = ExportBuilder(tmp_path / "first")
    first.file("Clients", CLIENTS, [client("000001"), client("000002")])
    extract_export(con, config(), tmp_path / "first", "run-1")
    later = ExportBuilder(tmp_path / "later", date="20261121")
    later.file("Clients", CLIENTS, [client("000001"), client("000003", **{"Date of Birth": "bad"})])
    ExportBuilder(tmp_path / "later", date="20261101").file("Clients", CLIENTS, [client("000009")])  # older: not read
    report = by_name(extract_export(con, config(), tmp_path / "later", "run-2"))["clients"]
    assert report.files[0].file == "VP-Clients-20261121.csv"
    assert "older VP-Clients-20261101.csv not read" in report.detail
    assert report.deleted == 1
    assert rows(con, "SELECT id, _deleted_at FROM raw_visual_practice.clients ORDER BY id") == [
        {"id": "000001", "_deleted_at": None}, {"id": "000002", "_deleted_at": datetime(2026, 11, 21)}]


def test_nested_rows_without_their_main_file_are_quarantined(tmp_path, con, config) -> None:
    export = ExportBuilder(tmp_path / "export")
    export.file("Clients", CLIENTS, [client("000001")])
    export.file("InvoiceLines", LINES, [{"Bill #": "B-1", "Line ID": "L-1", "Amount": "1.00"}])
    report = by_name(extract_export(con, config(), tmp_path / "export", "run"))["invoices"]
    assert report.status == "not_in_export" and report.files[0].quarantined == 1
    assert [(q["line_or_id"], q["reason"]) for q in quarantine(con)] == [
        ("line 2, Bill # B-1", "Bill # B-1 is not in the invoices file (absent from this export)")]
    assert con.execute("SELECT count(*) FROM raw_visual_practice.invoices").fetchone()[0] == 0


def test_a_missing_clients_file_is_a_clear_error(tmp_path, con, config) -> None:
    ExportBuilder(tmp_path / "export").file("Staff", STAFF, [{"ID": "1", "Last Name": "Smith"}])
    with pytest.raises(ExportError, match="no VP-Clients-YYYYMMDD.csv"):
        extract_export(con, config(), tmp_path / "export", "run")


# -- documents ---------------------------------------------------------------------------------------

def document_export(folder: Path) -> dict[str, bytes]:
    export = ExportBuilder(folder)
    export.file("Clients", CLIENTS, [client("000001")])
    contents = {"D1": b"%PDF-1.4 small", "D2": bytes(range(256)) * 6000, "D5": b""}  # D2 is 1.5 MB
    (folder / "documents" / "000001").mkdir(parents=True)
    (folder / "documents" / "000001" / "consent.pdf").write_bytes(contents["D1"])
    (folder / "documents" / "000001" / "mri.dcm").write_bytes(contents["D2"])
    (folder / "documents" / "000001" / "empty.txt").write_bytes(contents["D5"])
    (folder.parent / "outside.txt").write_bytes(b"secret")
    export.file("Documents", DOCUMENTS, [
        {"ID": "D1", "Chart #": "000001", "File Name": "scan:1?.pdf", "Content Type": "application/pdf", "Size": "14",
         "File": "documents/000001/consent.pdf", "Uploaded": "20261001 10:00"},
        {"ID": "D2", "Chart #": "000001", "File Name": "mri.dcm", "Size": str(len(contents["D2"])),
         "File": "documents/000001/mri.dcm"},
        {"ID": "D3", "Chart #": "000001", "File Name": "lost.pdf", "Size": "10", "File": "documents/000001/lost.pdf"},
        {"ID": "D4", "Chart #": "000001", "File Name": "x.txt", "Size": "6", "File": "../outside.txt"},
        {"ID": "D5", "Chart #": "000001", "File Name": "empty.txt", "Size": "0", "File": "documents/000001/empty.txt"},
    ])
    return contents


@pytest.mark.parametrize("mode, statuses", [
    ("within_limit", {"D1": "copied", "D2": "skipped_size", "D3": "missing", "D4": "missing", "D5": "copied"}),
    ("all", {"D1": "copied", "D2": "copied", "D3": "missing", "D4": "missing", "D5": "copied"}),
    ("none", {"D1": "not_requested", "D2": "not_requested", "D3": "missing", "D4": "missing", "D5": "not_requested"}),
])
def test_documents_are_hashed_copied_per_the_setting_and_every_outcome_recorded(tmp_path, con, config, mode,
                                                                                 statuses) -> None:
    contents = document_export(tmp_path / "export")
    cfg = config(documents=DocumentSettings(download=mode, size_limit_mb=1))
    report = by_name(extract_export(con, cfg, tmp_path / "export", "run"))["documents"]
    assert report.extracted == 5  # a manifest row whose file is missing is still a record
    outcomes = {r["document_id"]: r for r in rows(con, "SELECT * FROM raw_visual_practice._document_files")}
    assert {k: v["status"] for k, v in outcomes.items()} == statuses
    hashes = dict(con.execute("SELECT id, sha256 FROM raw_visual_practice.documents").fetchall())
    for doc_id, data in contents.items():
        assert hashes[doc_id] == outcomes[doc_id]["sha256"] == hashlib.sha256(data).hexdigest()
        assert outcomes[doc_id]["size_bytes"] == len(data)
        copy = cfg.documents_dir / doc_id
        if statuses[doc_id] == "copied":
            assert Path(outcomes[doc_id]["path"]).read_bytes() == data
        else:
            assert outcomes[doc_id]["path"] is None and not copy.exists()
    assert hashes["D3"] is None and hashes["D4"] is None
    assert "points outside the export folder" in outcomes["D4"]["detail"]
    if mode != "none":
        assert Path(outcomes["D1"]["path"]) == cfg.documents_dir / "D1" / "scan_1_.pdf"
    again = by_name(extract_export(con, cfg, tmp_path / "export", "run-2"))["documents"]
    assert (again.counts.inserted, again.counts.updated) == (0, 0)


# -- custom objects --------------------------------------------------------------------------------

def test_custom_object_definitions_and_records(tmp_path, con, config) -> None:
    export = ExportBuilder(tmp_path / "export")
    export.file("Clients", CLIENTS, [client("000001"), client("000002")])
    relations = "clients:many_to_many; organizations:many_to_one"
    export.file("CustomObjects", CUSTOM_OBJECTS, [
        {"Object Key": "equipment", "Object Label": "Equipment Loan", "Field Key": "item", "Field Label": "Item",
         "Field Type": "text", "Relations": relations},
        {"Object Key": "equipment", "Object Label": "Equipment Loan", "Field Key": "serial", "Field Label": "Serial #",
         "Field Type": "text", "Relations": relations},
        {"Object Key": "equipment", "Object Label": "Equipment Loan", "Field Key": "serial", "Field Label": "Again",
         "Field Type": "text", "Relations": relations},
    ])
    export.file("Custom-equipment", ["ID", "Item", "Serial #", "Colour", "Linked Clients", "Linked Organization IDs",
                                     "Created", "Modified"], [
        {"ID": "900", "Item": "Crutches", "Serial #": "S-1", "Colour": "blue", "Linked Clients": "000001; 000002",
         "Linked Organization IDs": "200", "Created": "20260101 10:00"},
        {"ID": "901", "Item": "Brace", "Linked Clients": ""},
    ])
    reports = by_name(extract_export(con, config(), tmp_path / "export", "run"))
    definition = rows(con, "SELECT * FROM raw_visual_practice.custom_objects")[0]
    assert definition["key"] == "equipment" and definition["label"] == "Equipment Loan"
    assert definition["fields"] == [{"key": "item", "label": "Item", "type": "text"},
                                    {"key": "serial", "label": "Serial #", "type": "text"}]
    assert definition["relations"] == [{"to": "clients", "kind": "many_to_many"},
                                       {"to": "organizations", "kind": "many_to_one"}]
    assert reports["custom_objects"].files[0].quarantined == 1  # the repeated field
    first, second = rows(con, "SELECT * FROM raw_visual_practice.custom_object_records ORDER BY id")
    assert first["object_key"] == "equipment"
    assert json.loads(first["fields"]) == {"item": "Crutches", "serial": "S-1"}
    assert first["links"] == {"client_ids": ["000001", "000002"], "organization_ids": ["200"]}
    assert json.loads(first["_extra"]) == {"Colour": "blue"}
    assert second["links"] == {"client_ids": [], "organization_ids": []} or second["links"] is None
    assert json.loads(second["fields"]) == {"item": "Brace"}


# -- a generated messy export --------------------------------------------------------------------------

GENERATED = [
    dict(clients=40, seed=11, plan="enterprise", mess=1.0, encoding="cp1252", record_end="cr",
         header_release="2000.1", date_style="mdy", money_style="dollar", documents="full"),
    dict(clients=40, seed=12, plan="standard", mess=1.0, encoding="utf-8-sig", record_end="crlf",
         header_release="2024.1", date_style="ymd", money_style="plain", documents="full"),
]


@pytest.mark.parametrize("options", GENERATED, ids=["cp1252-cr-old-mdy-dollar", "utf8bom-crlf-new-ymd-plain"])
def test_generated_messy_export_accounts_for_every_defect(practice_factory, tmp_path, con, config, options) -> None:
    practice = practice_factory(**options)
    manifest = json.loads((practice / "quirks.json").read_text(encoding="utf-8"))
    assert manifest["csv_defects"], "the generator put no defect in this export"
    reports = by_name(extract_export(con, config(), practice / "export", "run"))

    landed = {(q["location"], int(q["line_or_id"].split(",")[0].removeprefix("line "))): q for q in quarantine(con)}
    for defect in manifest["csv_defects"]:
        found = landed.get((defect["file"], defect["line"]))
        assert found is not None, f"defect not quarantined: {defect}"
        assert defect["key"] in found["line_or_id"] or defect["kind"] == "undecodable_bytes" and \
            "INVALID ENCODING" in found["reason"], (defect, found)
    for report in reports.values():
        for account in report.files:
            assert account.rows_read == account.landed + account.quarantined, account
            path = practice / "export" / account.file
            encoding = "utf-8-sig" if options["encoding"] == "utf-8-sig" else "cp1252"
            text = path.read_bytes().decode(encoding, errors="replace")
            records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
            assert account.rows_read == len(records) - 1, account.file
        if report.status == "ok" and not report.collection.startswith("custom_objects"):
            assert report.rows_read == report.extracted + report.quarantined, report.collection
    clients_quarantined = con.execute(
        "SELECT count(*) FROM raw_visual_practice._quarantine WHERE location LIKE 'VP-Clients-%'").fetchone()[0]
    assert reports["clients"].quarantined == clients_quarantined


def test_a_clean_generated_export_agrees_with_the_practice(practice_factory, con, config) -> None:
    """What the CSV extractor lands equals the practice's records (the API's truth), field by field."""
    from sandbox.visual_practice.store import Store

    practice = practice_factory(clients=25, seed=5, plan="enterprise", mess=0.0, encoding="utf-8-sig",
                                record_end="crlf", documents="full", date_style="mdy", money_style="dollar")
    store = Store(practice)
    truth = {name: {r["id"]: r for r in map(json.loads, store.list(name, per_page=10**6)[0])}
             for name in ("clients", "invoices", "documents", "appointments")}
    reports = by_name(extract_export(con, config(), practice / "export", "run"))
    assert all(r.quarantined == 0 for r in reports.values())
    toronto = ZoneInfo("America/Toronto")

    def local(ts: str | None) -> datetime | None:
        if ts is None:
            return None
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(toronto)
        return moment.replace(tzinfo=None, second=0, microsecond=0)

    landed = {r["chart_number"]: r for r in rows(con, "SELECT * FROM raw_visual_practice.clients")}
    assert len(landed) == len(truth["clients"])
    for record_ in truth["clients"].values():
        got = landed[record_["chart_number"]]
        for name in ("title", "first_name", "last_name", "display_name", "sex", "health_number", "version_code",
                     "status"):
            assert got[name] == (record_[name] or None), (name, record_[name], got[name])
        assert got["date_of_birth"] == (date.fromisoformat(record_["date_of_birth"]) if record_["date_of_birth"] else None)
        assert [e["address"] for e in got["emails"]] == \
               [e["address"] for e in sorted(record_["emails"], key=lambda e: not e["primary"])][:2]
        assert {p["label"]: p["number"] for p in got["phones"]} == \
               {p["label"]: p["number"] for p in reversed(record_["phones"])}
        assert got["created_at"] == local(record_["created_at"])
        assert got["updated_at"] == local(record_["updated_at"])
        assert len(got["contacts"]) == len(record_["contacts"])
        assert {k: v for k, v in (got["address"] or {}).items() if v} == \
               {k: v for k, v in (record_["address"] or {}).items() if v}
    invoices = {r["invoice_number"]: r for r in rows(con, "SELECT * FROM raw_visual_practice.invoices")}
    for record_ in truth["invoices"].values():
        got = invoices[record_["invoice_number"]]
        assert got["total"] == Decimal(record_["total"]) and got["balance"] == Decimal(record_["balance"])
        assert [(x["id"], x["amount"], x["status"]) for x in got["lines"]] == \
               [(x["id"], Decimal(x["amount"]), x["status"]) for x in record_["lines"]]
        assert [(p["id"], p["amount"]) for p in got["payments"]] == \
               [(p["id"], Decimal(p["amount"])) for p in record_["payments"]]
    documents = dict(con.execute("SELECT id, sha256 FROM raw_visual_practice.documents").fetchall())
    assert documents == {i: r["sha256"] for i, r in truth["documents"].items()}
    appointments = {r["id"]: r for r in rows(con, "SELECT * FROM raw_visual_practice.appointments")}
    for record_ in truth["appointments"].values():
        assert appointments[record_["id"]]["starts_at"] == local(record_["starts_at"])
        assert appointments[record_["id"]]["channel"] == record_["channel"]


def test_a_metadata_only_export_lands_its_manifest_and_records_every_file_missing(practice_factory, con,
                                                                                  config) -> None:
    """Documents generated as metadata have no bytes beside the manifest: the rows land, no file is invented."""
    practice = practice_factory(clients=12, seed=4, documents="metadata", mess=0.0)
    reports = by_name(extract_export(con, config(), practice / "export", "run"))
    manifest_rows = reports["documents"].rows_read
    assert manifest_rows > 0 and reports["documents"].extracted == manifest_rows
    outcomes = con.execute("SELECT status, count(*) FROM raw_visual_practice._document_files GROUP BY status").fetchall()
    assert outcomes == [("missing", manifest_rows)]
    # The sha256 is the bytes' own: with no bytes there is none to claim.
    assert con.execute("SELECT count(*), count(sha256) FROM raw_visual_practice.documents").fetchone() == (manifest_rows, 0)

"""The admin-panel CSV export (contract section 2) as Visual Practice writes it: files and headers.

This is the *outside world's* layout, used by the data generator to write exports. The toolkit
does not import it: the CSV extractor reads exports through its own header alias table
(`extractors/visual_practice/csv_aliases.yml`, per customer overridable), exactly as it would a
real customer's export. Tests prove the two agree.

Each column has a screen label and a `source` saying what it holds:
- `field:<name>` / `field:<name>.<member>`: the record's contract field (or nested member);
- `email:<n>`: the n-th e-mail address (0 = primary); `phone:<label>`: the first phone with
  that label (home, mobile, work);
- `display:<ref field>`: the display value of the referenced record (staff `LAST, FIRST`,
  location / organization / referral source name, service code);
- `displays:<ref field>`: several display values joined by `; `;
- `chart:<ref field>`: the referenced client's chart number; `bill:<ref field>`: the referenced
  invoice's number; `charts:links.client_ids` (chart numbers) / `ids:links.organization_ids`,
  joined by `; `;
- `derived:<what>`: computed from the record (documented where used).

Value formats (`kind`): text; date `YYYYMMDD` (or `MM/DD/YYYY` in some builds); datetime
`YYYYMMDD HH:MM` in the practice's local time (or `MM/DD/YYYY HH:MM`); money `1234.50` (or
`$1,234.50`); bool `Yes`/`No`; int and qty as plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

NEW_HEADER_RELEASE = "2001.2"  # before this release Clients lack `Version`, Appointments `Channel`


@dataclass(frozen=True)
class Column:
    label: str
    source: str
    kind: str = "text"
    since: str | None = None  # release that added the column


@dataclass(frozen=True)
class ExportFile:
    stem: str  # file name is f"VP-{stem}-{YYYYMMDD}.csv"
    collection: str  # contract collection the rows belong to (lines/payments/contacts nest in theirs)
    columns: tuple[Column, ...]

    def labels(self, release: str = NEW_HEADER_RELEASE) -> list[str]:
        return [c.label for c in self.columns_for(release)]

    def columns_for(self, release: str = NEW_HEADER_RELEASE) -> list[Column]:
        old = release < NEW_HEADER_RELEASE
        return [c for c in self.columns if not (old and c.since)]


def _c(label: str, source: str, kind: str = "text", since: str | None = None) -> Column:
    return Column(label, source, kind, since)


ADDRESS_COLUMNS = (
    _c("Address", "field:address.line1"),
    _c("Address 2", "field:address.line2"),
    _c("City", "field:address.city"),
    _c("Province", "field:address.province"),
    _c("Postal Code", "field:address.postal_code"),
    _c("Country", "field:address.country"),
)
STAMPS = (_c("Created", "field:created_at", "datetime"), _c("Modified", "field:updated_at", "datetime"))

FILES: tuple[ExportFile, ...] = (
    ExportFile("Locations", "locations", (
        _c("ID", "field:id"), _c("Name", "field:name"), _c("Code", "field:code"),
        *ADDRESS_COLUMNS, _c("Phone", "field:phone"), _c("Active", "field:is_active", "bool"),
    )),
    ExportFile("Staff", "staff", (
        _c("ID", "field:id"), _c("Last Name", "field:last_name"), _c("First Name", "field:first_name"),
        _c("E-mail", "field:email"), _c("Role", "field:role"), _c("Billing #", "field:billing_number"),
        _c("Specialty", "field:specialty"), _c("Locations", "displays:location_ids"),
        _c("Active", "field:is_active", "bool"), *STAMPS,
    )),
    ExportFile("Organizations", "organizations", (
        _c("ID", "field:id"), _c("Name", "field:name"), _c("Parent Organization", "display:parent_id"),
        _c("Phone", "field:phone"), _c("Website", "field:website"), *ADDRESS_COLUMNS,
        _c("Location", "display:location_id"), *STAMPS,
    )),
    ExportFile("ReferralSources", "referral_sources", (
        _c("ID", "field:id"), _c("Name", "field:name"), _c("Type", "field:type"),
        _c("Active", "field:is_active", "bool"),
    )),
    ExportFile("Services", "services", (
        _c("ID", "field:id"), _c("Code", "field:code"), _c("Name", "field:name"),
        _c("Category", "field:category"), _c("Duration (min)", "field:duration_minutes", "int"),
        _c("Fee", "field:default_fee", "money"), _c("Billable", "field:is_billable", "bool"),
        _c("Active", "field:is_active", "bool"),
    )),
    # Clients carry no internal id: the chart number is the key every other file refers to.
    # After the fixed columns come `Custom: <label>` columns, one per custom property label in use.
    ExportFile("Clients", "clients", (
        _c("Chart #", "field:chart_number"), _c("Title", "field:title"),
        _c("Last Name", "field:last_name"), _c("First Name", "field:first_name"),
        _c("Display Name", "field:display_name"), _c("Sex", "field:sex"),
        _c("Date of Birth", "field:date_of_birth", "date"), _c("Health #", "field:health_number"),
        _c("Version", "field:version_code", since=NEW_HEADER_RELEASE),
        _c("E-mail", "email:0"), _c("E-mail 2", "email:1"),
        _c("Home Phone", "phone:home"), _c("Cell Phone", "phone:mobile"), _c("Work Phone", "phone:work"),
        *ADDRESS_COLUMNS,
        _c("Status", "field:status"), _c("Status Changed", "field:status_changed_at", "datetime"),
        _c("Location", "display:location_id"), _c("Referral Source", "display:referral_source_id"),
        _c("Practitioner", "display:default_practitioner_id"), _c("Organization", "display:organization_id"),
        _c("UTM Source", "field:utm.source"), _c("UTM Medium", "field:utm.medium"),
        _c("UTM Campaign", "field:utm.campaign"),
        _c("Archived", "field:archived_at", "datetime"), _c("Merged Into", "chart:merged_into_id"),
        *STAMPS,
    )),
    # One row per contact of a client (contacts nest in their client in the API).
    ExportFile("ClientContacts", "clients", (
        _c("Chart #", "chart:client"), _c("Contact Name", "field:name"),
        _c("Relationship", "field:relationship"), _c("E-mail", "field:email"), _c("Phone", "field:phone"),
    )),
    ExportFile("ServiceContracts", "service_contracts", (
        _c("ID", "field:id"), _c("Chart #", "chart:client_id"), _c("Service", "display:service_id"),
        _c("Practitioner", "display:practitioner_id"), _c("Title", "field:title"),
        _c("Start Date", "field:start_date", "date"), _c("End Date", "field:end_date", "date"),
        _c("Frequency", "field:frequency"), _c("Value", "field:value", "money"),
        _c("Currency", "field:currency"), _c("Status", "field:status"), *STAMPS,
    )),
    ExportFile("ServiceRecords", "service_records", (
        _c("ID", "field:id"), _c("Chart #", "chart:client_id"), _c("Service", "display:service_id"),
        _c("Practitioner", "display:practitioner_id"), _c("Appointment ID", "field:appointment_id"),
        _c("Contract ID", "field:contract_id"), _c("Status", "field:status"),
        _c("Qty", "field:quantity", "qty"), _c("Unit Price", "field:unit_price", "money"),
        _c("Performed", "field:performed_on", "date"), *STAMPS,
    )),
    # `Patient` is the client's display name as the booking screen shows it (empty for template
    # slots, which have no client).
    ExportFile("Appointments", "appointments", (
        _c("ID", "field:id"), _c("Chart #", "chart:client_id"), _c("Patient", "derived:client_display_name"),
        _c("Practitioner", "display:practitioner_id"), _c("Location", "display:location_id"),
        _c("Service", "display:service_id"), _c("Start", "field:starts_at", "datetime"),
        _c("End", "field:ends_at", "datetime"), _c("Status", "field:status"),
        _c("Cancellation Reason", "field:cancellation_reason"),
        _c("Channel", "field:channel", since=NEW_HEADER_RELEASE), _c("Notes", "field:notes"), *STAMPS,
    )),
    ExportFile("AppointmentNotes", "appointment_notes", (
        _c("ID", "field:id"), _c("Appointment ID", "field:appointment_id"), _c("Chart #", "chart:client_id"),
        _c("Author", "display:author_id"), _c("Subjective", "field:subjective"),
        _c("Objective", "field:objective"), _c("Assessment", "field:assessment"), _c("Plan", "field:plan"),
        _c("Signed", "field:signed_at", "datetime"), *STAMPS,
    )),
    # Invoices carry no internal id in the export: the bill number is their key. `$ Paid` is the
    # sum of payments; `% Payable` and `$ Disallow` are the adjudication summary of OHIP bills
    # (paid / billed, billed - paid of paid or rejected lines); `Paid By` and `Reference #` are
    # the last payment's.
    ExportFile("Invoices", "invoices", (
        _c("Bill #", "field:invoice_number"), _c("Chart #", "chart:client_id"),
        _c("Contract ID", "field:contract_id"), _c("Bill Type", "field:bill_type"),
        _c("Issue Date", "field:issue_date", "date"), _c("Due Date", "field:due_date", "date"),
        _c("Status", "field:status"), _c("Currency", "field:currency"), _c("Total", "field:total", "money"),
        _c("Balance", "field:balance", "money"), _c("$ Paid", "derived:paid", "money"),
        _c("% Payable", "derived:percent_payable"), _c("$ Disallow", "derived:disallowed", "money"),
        _c("Paid By", "derived:last_payer"), _c("Reference #", "derived:last_reference"), *STAMPS,
    )),
    # One row per invoice line and per payment (both nest in their invoice in the API).
    ExportFile("InvoiceLines", "invoices", (
        _c("Bill #", "bill:invoice"), _c("Line ID", "field:id"),
        _c("Service Record ID", "field:service_record_id"), _c("Service Code", "field:service_code"),
        _c("Description", "field:description"), _c("Qty", "field:quantity", "qty"),
        _c("Unit Price", "field:unit_price", "money"), _c("Amount", "field:amount", "money"),
        _c("Status", "field:status"), _c("Error Code", "field:error_code"),
    )),
    ExportFile("InvoicePayments", "invoices", (
        _c("Bill #", "bill:invoice"), _c("Payment ID", "field:id"), _c("Received", "field:received_on", "date"),
        _c("Amount", "field:amount", "money"), _c("Paid By", "field:payer_type"),
        _c("Method", "field:method"), _c("Reference #", "field:reference"),
    )),
    ExportFile("Claims", "claims", (
        _c("ID", "field:id"), _c("Bill #", "bill:invoice_id"), _c("Chart #", "chart:client_id"),
        _c("Payer", "field:payer"), _c("Health #", "field:health_number"), _c("Version", "field:version_code"),
        _c("Diagnostic Code", "field:diagnostic_code"), _c("Submitted", "field:submitted_on", "date"),
        _c("Status", "field:status"), *STAMPS,
    )),
    # The manifest beside the `documents/{Chart #}/` folder. `File` is the path of the bytes
    # relative to the export folder (duplicate names get ` (2)` before the extension, characters
    # illegal on Windows become `_`); `File Name` is the name as uploaded.
    ExportFile("Documents", "documents", (
        _c("ID", "field:id"), _c("Chart #", "chart:client_id"), _c("Appointment ID", "field:appointment_id"),
        _c("File Name", "field:filename"), _c("Content Type", "field:content_type"),
        _c("Size", "field:size_bytes", "int"), _c("Category", "field:category"),
        _c("Uploaded", "field:uploaded_at", "datetime"), _c("Modified", "field:updated_at", "datetime"),
        _c("File", "derived:export_path"),
    )),
    # Enterprise plan: custom object definitions, one row per field, then one file per object
    # type `VP-Custom-{Key}-{date}.csv` with `ID`, one column per field label, `Linked Clients`
    # (chart numbers), `Linked Organization IDs`, `Created`, `Modified`.
    ExportFile("CustomObjects", "custom_objects", (
        _c("Object Key", "field:key"), _c("Object Label", "field:label"), _c("Field Key", "derived:field_key"),
        _c("Field Label", "derived:field_label"), _c("Field Type", "derived:field_type"),
        _c("Relations", "derived:relations"),
    )),
)

CUSTOM_RECORD_COLUMNS = (
    _c("ID", "field:id"), _c("Linked Clients", "charts:links.client_ids"),
    _c("Linked Organization IDs", "ids:links.organization_ids"), *STAMPS,
)

# Collections the export does not contain (configuration, not data).
NOT_EXPORTED = ("automations", "templates", "reports")


def file_name(stem: str, export_date: str) -> str:
    return f"VP-{stem}-{export_date}.csv"

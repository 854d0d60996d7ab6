"""The Visual Practice source contract (../shared/visual-practice/CONTRACT.md, section 1) in code.

One description of every collection, its fields and their types, read by the data generator, the
sandbox and both extractors, so that the outside world and the toolkit cannot drift apart silently.
Field names are the contract's; logical types map to DuckDB types for the raw layer.
"""

from __future__ import annotations

from dataclasses import dataclass

ADDRESS = (
    "STRUCT(line1 VARCHAR, line2 VARCHAR, city VARCHAR, province VARCHAR, "
    "postal_code VARCHAR, country VARCHAR)"
)

# Logical type -> DuckDB type of the raw column. Money is a decimal string in the API; dates are
# YYYY-MM-DD; timestamps ISO-8601 UTC (landed as naive UTC TIMESTAMP; CSV date-times are naive local
# time and the raw row's `_source` says which, the staging models convert).
DUCKDB_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "money": "DECIMAL(14,2)",
    "quantity": "DECIMAL(12,3)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "json": "JSON",
    "str[]": "VARCHAR[]",
    "address": ADDRESS,
    "emails": 'STRUCT(address VARCHAR, label VARCHAR, "primary" BOOLEAN)[]',
    "phones": 'STRUCT(number VARCHAR, label VARCHAR, "primary" BOOLEAN)[]',
    "contacts": "STRUCT(name VARCHAR, relationship VARCHAR, email VARCHAR, phone VARCHAR)[]",
    "utm": "STRUCT(source VARCHAR, medium VARCHAR, campaign VARCHAR)",
    "lines": (
        "STRUCT(id VARCHAR, service_record_id VARCHAR, service_code VARCHAR, description VARCHAR, "
        "quantity DECIMAL(12,3), unit_price DECIMAL(14,2), amount DECIMAL(14,2), status VARCHAR, "
        "error_code VARCHAR)[]"
    ),
    "payments": (
        "STRUCT(id VARCHAR, received_on DATE, amount DECIMAL(14,2), payer_type VARCHAR, "
        "method VARCHAR, reference VARCHAR)[]"
    ),
    "object_fields": "STRUCT(key VARCHAR, label VARCHAR, type VARCHAR)[]",
    "relations": 'STRUCT("to" VARCHAR, kind VARCHAR)[]',
    "links": "STRUCT(client_ids VARCHAR[], organization_ids VARCHAR[])",
}

# Nested object types: their members and the logical type of each member, for validation.
NESTED_MEMBERS: dict[str, dict[str, str]] = {
    "address": {k: "str" for k in ("line1", "line2", "city", "province", "postal_code", "country")},
    "emails": {"address": "str", "label": "str", "primary": "bool"},
    "phones": {"number": "str", "label": "str", "primary": "bool"},
    "contacts": {"name": "str", "relationship": "str", "email": "str", "phone": "str"},
    "utm": {"source": "str", "medium": "str", "campaign": "str"},
    "lines": {
        "id": "str", "service_record_id": "str", "service_code": "str", "description": "str",
        "quantity": "quantity", "unit_price": "money", "amount": "money", "status": "str",
        "error_code": "str",
    },
    "payments": {
        "id": "str", "received_on": "date", "amount": "money", "payer_type": "str",
        "method": "str", "reference": "str",
    },
    "object_fields": {"key": "str", "label": "str", "type": "str"},
    "relations": {"to": "str", "kind": "str"},
    "links": {"client_ids": "str[]", "organization_ids": "str[]"},
}
LIST_TYPES = frozenset({"emails", "phones", "contacts", "lines", "payments", "object_fields", "relations"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "str"
    ref: str | None = None  # the collection this field points at (foreign key)

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]

    @property
    def display_column(self) -> str | None:
        """Raw column holding the CSV export's display value for this reference ("SMITH, JOHN")."""
        return f"{self.name}_display" if self.ref else None


@dataclass(frozen=True)
class Collection:
    name: str  # raw table name, `/practice/stats` key and API list key
    path: str  # API path under /api/v1
    fields: tuple[Field, ...]
    key: str = "id"
    enterprise_only: bool = False

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def refs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.ref)

    @property
    def filterable(self) -> tuple[str, ...]:
        """Fields `q[]=` accepts: id, the timestamps and the foreign keys (contract section 1)."""
        names = [self.key] + [n for n in ("created_at", "updated_at") if n in self.field_names]
        names += [f.name for f in self.refs if f.type != "str[]"]
        return tuple(names)

    @property
    def incremental(self) -> bool:
        """Whether `q[]=updated_at:>TS` can pick up changes; reference lists without it are re-read."""
        return "updated_at" in self.field_names

    @property
    def order_by(self) -> tuple[str, ...]:
        """The API's default order: created_at ascending, then id."""
        return ("created_at", self.key) if "created_at" in self.field_names else (self.key,)


def _f(spec: str) -> tuple[Field, ...]:
    """Fields from a compact spec: `name`, `name:type`, `name>collection` (reference), comma separated."""
    out = []
    for item in (s.strip() for s in spec.split(",")):
        ref = None
        if ">" in item:
            item, ref = item.split(">")
        name, _, typ = item.partition(":")
        out.append(Field(name, typ or "str", ref))
    return tuple(out)


TIMESTAMPS = "created_at:timestamp, updated_at:timestamp"

PRACTICE = Collection(
    "practice",
    "/practice",
    _f("id, name, legal_name, phone, email, website, address:address, timezone, currency, plan"),
)

COLLECTIONS: tuple[Collection, ...] = (
    Collection("locations", "/locations", _f("id, name, code, address:address, phone, is_active:bool")),
    Collection(
        "staff",
        "/staff",
        _f(
            "id, first_name, last_name, email, role, billing_number, specialty, "
            f"location_ids:str[]>locations, is_active:bool, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "organizations",
        "/organizations",
        _f(
            "id, name, parent_id>organizations, phone, website, address:address, "
            f"location_id>locations, {TIMESTAMPS}"
        ),
    ),
    Collection("referral_sources", "/referral_sources", _f("id, name, type, is_active:bool")),
    Collection(
        "services",
        "/services",
        _f(
            "id, code, name, category, duration_minutes:int, default_fee:money, "
            "is_billable:bool, is_active:bool"
        ),
    ),
    Collection(
        "clients",
        "/clients",
        _f(
            "id, chart_number, title, first_name, last_name, display_name, sex, "
            "date_of_birth:date, health_number, version_code, emails:emails, phones:phones, "
            "address:address, organization_id>organizations, location_id>locations, status, "
            "status_changed_at:timestamp, referral_source_id>referral_sources, utm:utm, "
            "default_practitioner_id>staff, contacts:contacts, custom_properties:json, "
            f"archived_at:timestamp, merged_into_id>clients, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "service_contracts",
        "/service_contracts",
        _f(
            "id, client_id>clients, service_id>services, practitioner_id>staff, title, "
            "start_date:date, end_date:date, frequency, value:money, currency, status, "
            f"{TIMESTAMPS}"
        ),
    ),
    Collection(
        "service_records",
        "/service_records",
        _f(
            "id, client_id>clients, service_id>services, practitioner_id>staff, "
            "appointment_id>appointments, contract_id>service_contracts, status, "
            f"quantity:quantity, unit_price:money, performed_on:date, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "appointments",
        "/appointments",
        _f(
            "id, client_id>clients, practitioner_id>staff, location_id>locations, "
            "service_id>services, starts_at:timestamp, ends_at:timestamp, status, "
            f"cancellation_reason, channel, notes, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "appointment_notes",
        "/appointment_notes",
        _f(
            "id, appointment_id>appointments, client_id>clients, author_id>staff, subjective, "
            f"objective, assessment, plan, signed_at:timestamp, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "invoices",
        "/invoices",
        _f(
            "id, invoice_number, client_id>clients, contract_id>service_contracts, bill_type, "
            "issue_date:date, due_date:date, status, currency, total:money, balance:money, "
            f"lines:lines, payments:payments, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "claims",
        "/claims",
        _f(
            "id, invoice_id>invoices, client_id>clients, payer, health_number, version_code, "
            f"diagnostic_code, submitted_on:date, status, {TIMESTAMPS}"
        ),
    ),
    Collection(
        "documents",
        "/documents",
        _f(
            "id, client_id>clients, appointment_id>appointments, filename, content_type, "
            "size_bytes:int, sha256, category, uploaded_at:timestamp, updated_at:timestamp"
        ),
    ),
    Collection(
        "custom_objects",
        "/custom_objects",
        _f("key, label, fields:object_fields, relations:relations"),
        key="key",
        enterprise_only=True,
    ),
    # Records of every custom object type land in one table; `object_key` names their type
    # (the API serves them under /custom_objects/{key}/records).
    Collection(
        "custom_object_records",
        "/custom_objects/{key}/records",
        _f(f"id, object_key, fields:json, links:links, {TIMESTAMPS}"),
        enterprise_only=True,
    ),
    Collection("automations", "/automations", _f("id, name, kind, trigger:json, is_active:bool")),
    Collection("templates", "/templates", _f("id, name, kind, body:json, is_active:bool")),
    Collection("reports", "/reports", _f("id, name, kind, definition:json, is_active:bool")),
)

BY_NAME: dict[str, Collection] = {c.name: c for c in COLLECTIONS}


def collection(name: str) -> Collection:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown Visual Practice collection {name!r}; known: {', '.join(BY_NAME)}") from None

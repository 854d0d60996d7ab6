"""The raw suite (schema `raw_visual_practice`): keys unique and present, the fields the transform
cannot place a record without present, and each table's live rows equal to what the last
extraction reported it extracted (`_extract_report.extracted`)."""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.checks import Check, duplicates_check
from extractors.visual_practice.raw import SCHEMA, table
from vp2pd.vp_contract import COLLECTIONS, PRACTICE, Collection
from vp2pd.warehouse import quote

# Per collection: the required values, as SQL over the raw row. Only what the transform needs to
# place a record is required — the real data leaves many contract fields empty (section 3). A
# reference counts as present when the CSV export gave its display value instead of the id
# (the staging models resolve it), hence the coalesce.
REQUIRED: dict[str, dict[str, str]] = {
    "practice": {"name": "name", "timezone": "timezone"},
    "locations": {"name": "name"},
    "staff": {"name": "coalesce(last_name, first_name)"},
    "organizations": {"name": "name"},
    "referral_sources": {"name": "name"},
    "services": {"name": "name"},
    "clients": {"name": "coalesce(last_name, first_name, display_name)", "status": "status"},
    "service_contracts": {"client": "coalesce(client_id, client_id_display)", "status": "status"},
    "service_records": {"client": "coalesce(client_id, client_id_display)", "status": "status"},
    # Template slots have no client, so an appointment's client is not required.
    "appointments": {"starts_at": "starts_at", "status": "status"},
    "appointment_notes": {"client": "coalesce(client_id, client_id_display)"},
    "invoices": {"client": "coalesce(client_id, client_id_display)", "status": "status"},
    "claims": {"client": "coalesce(client_id, client_id_display)"},
    "documents": {"client": "coalesce(client_id, client_id_display)", "filename": "filename",
                  "size_bytes": "size_bytes"},
    "custom_objects": {"label": "label"},
    "custom_object_records": {"object_key": "object_key"},
    "automations": {"name": "name"},
    "templates": {"name": "name"},
    "reports": {"name": "name"},
}


def _record_check(coll: Collection) -> Check:
    required = REQUIRED.get(coll.name, {})
    key = quote(coll.key)
    values = "".join(f", {expr} AS {quote(name)}" for name, expr in required.items())
    check = Check(f"raw.{coll.name}", table(coll), f"SELECT {key}{values} FROM {table(coll)}", (coll.key,))
    check.expect(gxe.ExpectColumnValuesToNotBeNull(column=coll.key))
    for name in required:
        check.expect(gxe.ExpectColumnValuesToNotBeNull(column=name))
    return check


def _counts_check() -> Check:
    """One row per collection: the last extraction's `extracted` beside the live rows in the table."""
    live = " UNION ALL ".join(
        f"SELECT '{c.name}' AS collection, count(*) AS in_table FROM {table(c)} WHERE _deleted_at IS NULL"
        for c in (PRACTICE, *COLLECTIONS))
    sql = (f"WITH latest AS (SELECT collection, run_id, extracted, status, row_number() OVER "
           f"(PARTITION BY collection ORDER BY finished_at DESC, run_id DESC) AS rn FROM {SCHEMA}._extract_report) "
           f"SELECT l.collection, l.run_id, l.status, l.extracted, c.in_table FROM latest l "
           f"JOIN ({live}) c USING (collection) WHERE l.rn = 1 ORDER BY l.collection")
    check = Check("raw.extraction_counts", f"{SCHEMA}._extract_report", sql, ("collection", "run_id"))
    return check.expect(gxe.ExpectColumnPairValuesToBeEqual(column_A="in_table", column_B="extracted"))


def raw_checks() -> list[Check]:
    checks: list[Check] = []
    for coll in (PRACTICE, *COLLECTIONS):
        checks.append(_record_check(coll))
        checks.append(duplicates_check(f"raw.{coll.name}.duplicates", table(coll), coll.key))
    checks.append(_counts_check())
    return checks

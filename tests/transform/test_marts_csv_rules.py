"""The demo practice through its CSV export (naive local times, display-value references, chart
numbers as ids) with the customer options switched: invoice_notes per_person, soap_notes
person_note, cancelled appointments kept, claims retained with two fields."""

from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.xdist_group("dbt-csv"), pytest.mark.slow]

P = "pipedrive."


def test_build_passes_every_test_including_the_accounting(demo_csv) -> None:
    assert demo_csv.result.success and demo_csv.result.failures == []
    assert demo_csv.result.counts["pipedrive__persons"] > 60


def test_csv_local_times_are_converted_to_utc_with_the_practice_zone(demo_csv) -> None:
    rows = demo_csv.rows(f"SELECT a.due_date, a.due_time, r.starts_at FROM {P}pipedrive__activities a "
                         "JOIN raw_visual_practice.appointments r ON r.id = a.source_id ORDER BY r.id")
    assert rows and all(r is not None for r in rows)
    toronto = ZoneInfo("America/Toronto")
    months_seen = set()
    for r in rows:
        utc = r["starts_at"].replace(tzinfo=toronto).astimezone(timezone.utc)
        assert (r["due_date"], r["due_time"]) == (utc.strftime("%Y-%m-%d"), utc.strftime("%H:%M")), r
        months_seen.add(r["starts_at"].month)
    assert len(months_seen) > 6  # both EST and EDT dates were converted


def test_csv_display_references_resolve_to_owners_orgs_and_options(demo_csv) -> None:
    src = demo_csv.rows("SELECT c.id, c.default_practitioner_id_display AS prac, c.organization_id_display AS org, "
                        "c.location_id_display AS loc FROM raw_visual_practice.clients c WHERE c.merged_into_id IS NULL")
    staff = {f"{s['last_name']}, {s['first_name']}".upper(): s for s in demo_csv.rows("SELECT * FROM raw_visual_practice.staff")}
    orgs = {o["name"]: o["id"] for o in demo_csv.rows("SELECT id, name FROM raw_visual_practice.organizations")}
    checked = 0
    for c in src:
        p = demo_csv.one(f"SELECT * FROM {P}pipedrive__persons WHERE natural_key = ?", [f"clients:{c['id']}"])
        assert p["Source_System_ID"] == c["id"] and p["Chart_Number"] == c["id"]  # chart numbers keep their zeros
        assert p["Location"] == c["loc"]
        if c["org"]:
            assert p["org_key"] == f"organizations:{orgs[c['org']]}"
        prac = staff.get((c["prac"] or "").upper())
        if prac and prac["is_active"]:
            assert p["owner_email"] == prac["email"].lower()
            checked += 1
    assert checked > 10


def test_per_person_invoice_summaries_fold_every_invoice(demo_csv) -> None:
    assert demo_csv.rows(f"SELECT 1 FROM {P}pipedrive__notes WHERE source_collection = 'invoices'") == []
    notes = demo_csv.rows(f"SELECT * FROM {P}pipedrive__notes WHERE source_collection = 'clients.invoices'")
    folded = {f["source_id"] for n in notes for f in n["folded_sources"]}
    live = {r["id"] for r in demo_csv.rows("SELECT i.id FROM raw_visual_practice.invoices i JOIN intermediate.int_client_keys k "
                                           "ON k.client_id = i.client_id WHERE i._deleted_at IS NULL")}
    assert folded == live
    assert len({n["person_key"] for n in notes}) == len({n["source_id"] for n in notes})
    sample = demo_csv.one("SELECT invoice_number, i.client_id FROM raw_visual_practice.invoices i "
                          "JOIN intermediate.int_client_keys k ON k.client_id = i.client_id ORDER BY i.id LIMIT 1")
    text = "".join(n["content"] for n in notes if n["person_key"] == demo_csv.one(
        "SELECT person_key FROM intermediate.int_client_keys WHERE client_id = ?", [sample["client_id"]])["person_key"])
    assert f"Invoice {sample['invoice_number']}" in text


def test_soap_notes_as_person_notes_when_the_customer_says_so(demo_csv) -> None:
    assert demo_csv.rows(f"SELECT 1 FROM {P}pipedrive__activities WHERE note IS NOT NULL") == []
    notes = demo_csv.rows(f"SELECT DISTINCT source_id FROM {P}pipedrive__notes WHERE source_collection = 'appointment_notes'")
    live = demo_csv.rows("SELECT n.id FROM raw_visual_practice.appointment_notes n JOIN intermediate.int_client_keys k "
                         "ON k.client_id = n.client_id WHERE n._deleted_at IS NULL")
    assert {n["source_id"] for n in notes} == {n["id"] for n in live}
    first = demo_csv.rows(f"SELECT add_time, content FROM {P}pipedrive__notes WHERE source_collection = 'appointment_notes' LIMIT 1")[0]
    assert first["content"].startswith("<p><b>Session note — ") and first["add_time"]


def test_retention_rule_keeps_cancelled_but_not_no_show(demo_csv) -> None:
    kept = demo_csv.rows(f"SELECT subject, done FROM {P}pipedrive__activities WHERE source_status = 'cancelled'")
    assert kept and all(k["subject"].startswith("Cancelled: ") and k["done"] for k in kept)
    assert demo_csv.rows(f"SELECT 1 FROM {P}pipedrive__activities WHERE source_status = 'no_show'") == []
    assert demo_csv.rows(f"SELECT 1 FROM {P}migration__skipped WHERE reason = 'no_show'")


def test_retained_claims_carry_only_the_allowed_fields(demo_csv) -> None:
    claim = demo_csv.one("SELECT c.* FROM raw_visual_practice.claims c JOIN intermediate.int_client_keys k "
                         "ON k.client_id = c.client_id ORDER BY c.id LIMIT 1")
    note = demo_csv.one(f"SELECT content FROM {P}pipedrive__notes WHERE source_collection = 'claims' AND source_id = ?", [claim["id"]])
    assert f"payer: {claim['payer']}" in note["content"] and f"status: {claim['status']}" in note["content"]
    assert (claim["health_number"] or "health_number") not in note["content"] and "diagnostic" not in note["content"]

"""The 12 mapping rules and the contract's section-3 quirks, asserted on the marts of a messy
(mess 0.9) enterprise practice extracted through the API. Records are found by the generator's
quirk manifest (API ids)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

pytestmark = [pytest.mark.xdist_group("dbt-messy"), pytest.mark.slow]

P = "pipedrive."
E164 = re.compile(r"^\+1\d{10}( x\d+)?$")


def person(built, client_id: str) -> dict:
    return built.one(f"SELECT * FROM {P}pipedrive__persons WHERE natural_key = ?", [f"clients:{client_id}"])


def skipped(built, collection: str, source_id: str) -> list[str]:
    return [r["reason"] for r in built.rows(
        f"SELECT reason FROM {P}migration__skipped WHERE source_collection = ? AND source_id = ?", [collection, source_id])]


def raw(built, collection: str, source_id: str) -> dict:
    return built.one(f"SELECT * FROM raw_visual_practice.{collection} WHERE id = ?", [source_id])


# --- the accounting of every record ---------------------------------------------------------

def test_the_dbt_build_ran_every_test_including_the_accounting(messy) -> None:
    import json

    from vp2pd.transform import target_dir

    results = json.loads((target_dir(messy.cfg) / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    accounting = [k for k in statuses if "assert_every_raw_record_is_accounted_for" in k]
    assert accounting and statuses[accounting[0]] == "pass"
    assert sum(1 for k in statuses if k.startswith("unit_test.")) >= 10
    assert all(s in ("success", "pass") for s in statuses.values())


def test_accounting_catches_a_vanished_record(messy, tmp_path) -> None:
    """The compiled accounting query returns exactly the record removed from a mart."""
    import shutil

    import duckdb

    from vp2pd.transform import target_dir

    sql = next((target_dir(messy.cfg) / "compiled").rglob("assert_every_raw_record_is_accounted_for.sql")).read_text()
    copy = tmp_path / "w.duckdb"
    shutil.copy(messy.cfg.warehouse_path, copy)
    con = duckdb.connect(str(copy))
    try:
        sql = sql.replace(f'"{messy.cfg.warehouse_path.stem}".', "")
        assert con.execute(sql).fetchall() == []
        victim = con.execute(f"SELECT source_id FROM {P}pipedrive__products LIMIT 1").fetchone()[0]
        con.execute(f"DELETE FROM {P}pipedrive__products WHERE source_id = ?", [victim])
        assert con.execute(sql).fetchall() == [("services", victim)]
    finally:
        con.close()


def test_every_live_client_is_a_person_or_skipped_with_a_reason(messy) -> None:
    missing = messy.rows(
        "SELECT id FROM raw_visual_practice.clients c WHERE NOT EXISTS (SELECT 1 FROM pipedrive.pipedrive__persons p "
        "WHERE p.natural_key = 'clients:' || c.id) AND NOT EXISTS (SELECT 1 FROM pipedrive.migration__skipped s "
        "WHERE s.source_collection = 'clients' AND s.source_id = c.id AND s.kind = 'skipped')")
    assert missing == []


# --- rule 1: client -> person ---------------------------------------------------------------

def test_names_are_trimmed_and_recased(messy) -> None:
    for cid in messy.quirk_ids("name_case"):
        name = person(messy, cid)["name"]
        assert name != name.upper() and name != name.lower(), name
    for cid in messy.quirk_ids("name_spaces"):
        name = person(messy, cid)["name"]
        assert "  " not in name and name == name.strip(), name
    for q in messy.quirks["accented_name"][:10]:
        name = person(messy, q["id"])["name"]
        assert name.startswith(q["detail"].split()[0]) and {c for c in q["detail"] if ord(c) > 127} <= set(name), name
    for q in messy.quirks["one_word_name"]:
        assert person(messy, q["id"])["name"] == q["detail"].strip().title()


def test_display_name_disagreement_keeps_first_and_last(messy) -> None:
    for cid in messy.quirk_ids("display_name_mismatch"):
        src = raw(messy, "clients", cid)
        assert person(messy, cid)["name"].lower() == f"{src['first_name']} {src['last_name']}".lower().replace("  ", " ").strip()


def test_only_valid_emails_are_sent_primary_first_and_invalid_ones_reported(messy) -> None:
    for q in messy.quirks["email_malformed"]:
        p = person(messy, q["id"])
        assert q["detail"].strip().lower() not in [e["value"] for e in p["emails"]]
        assert q["detail"] in p["invalid_emails"]
        assert "invalid_contact_values" in skipped(messy, "clients", q["id"])
    for cid in messy.quirk_ids("email_missing"):
        assert [e for e in person(messy, cid)["emails"] if "@" not in e["value"]] == []
    for cid in messy.quirk_ids("email_shared_family"):
        assert person(messy, cid)["emails"], cid  # a shared address is still each person's
    everyone = messy.rows(f"SELECT emails, phones FROM {P}pipedrive__persons WHERE source_collection = 'clients'")
    for p in everyone:
        if p["emails"]:
            assert p["emails"][0]["primary"] and sum(e["primary"] for e in p["emails"]) == 1
        for ph in p["phones"]:
            assert E164.match(ph["value"]), ph


def test_phones_in_every_format_become_e164(messy) -> None:
    for q in messy.quirks["phone_formats"][:20]:
        values = [p["value"] for p in person(messy, q["id"])["phones"]]
        assert values and all(E164.match(v) for v in values), (q, values)
    ext = [q for q in messy.quirks["phone_formats"] if q["detail"].startswith("x_extension")]
    for q in ext:
        number = q["detail"].split(": ", 1)[1]
        digits = re.sub(r"\D", "", number.split("x")[0])
        assert f"+1{digits} x{number.split('x')[-1].strip()}" in [p["value"] for p in person(messy, q["id"])["phones"]]


def test_person_custom_fields_and_owner(messy) -> None:
    src = messy.one("SELECT c.*, s.email AS staff_email, s.is_active AS staff_active FROM raw_visual_practice.clients c "
                    "JOIN raw_visual_practice.staff s ON s.id = c.default_practitioner_id WHERE s.is_active "
                    "AND c.merged_into_id IS NULL AND c.status = 'active' ORDER BY c.id LIMIT 1")
    p = person(messy, src["id"])
    assert p["Client_Status"] == "Active"
    assert p["Source_System_ID"] == src["id"] and p["Chart_Number"] == src["chart_number"]
    assert p["Original_Create_Date"] == src["created_at"].date()
    assert p["add_time"] == src["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert p["owner_email"] == src["staff_email"].lower()
    statuses = {r["Client_Status"] for r in messy.rows(f'SELECT "Client_Status" FROM {P}pipedrive__persons WHERE source_collection = \'clients\'')}
    assert statuses <= {"Active", "Inactive", "Prospect", "Former"}


def test_merged_clients_follow_their_survivor(messy) -> None:
    for q in messy.quirks["merged_client"]:
        assert messy.rows(f"SELECT 1 FROM {P}pipedrive__persons WHERE natural_key = ?", [f"clients:{q['id']}"]) == []
        assert "merged_into_survivor" in skipped(messy, "clients", q["id"])
        survivor = person(messy, q["detail"])
        assert {"source_collection": "clients", "source_id": q["id"]} in survivor["folded_sources"]


def test_probable_duplicates_are_kept_and_flagged(messy) -> None:
    for q in messy.quirks["duplicate_client"]:
        dup = person(messy, q["id"])
        assert dup["is_probable_duplicate"] and dup["Possible_Duplicate_Of"] == q["detail"]
        assert not person(messy, q["detail"])["is_probable_duplicate"]
        assert "probable_duplicate" in skipped(messy, "clients", q["id"])


def test_each_other_contact_is_a_related_person(messy) -> None:
    for cid in messy.quirk_ids("multiple_contacts")[:5]:
        src = raw(messy, "clients", cid)
        primary = person(messy, cid)
        related = messy.rows(f"SELECT * FROM {P}pipedrive__persons WHERE source_collection = 'clients.contacts' "
                             "AND source_id LIKE ? ORDER BY source_id", [f"{cid}/%"])
        assert [r["name"].lower() for r in related] == [c["name"].strip().lower() for c in src["contacts"]]
        for r in related:
            if primary["org_key"]:
                assert r["org_key"] == primary["org_key"] and r["Primary_Client"] is None
            else:
                assert r["Primary_Client"] == cid


# --- rule 2: organizations ------------------------------------------------------------------

def test_practice_is_the_primary_organization_and_parents_become_relationships(messy) -> None:
    practice = messy.one(f"SELECT * FROM {P}pipedrive__organizations WHERE is_practice")
    assert practice["name"] == "Clinique Rivières Health"
    chain = messy.quirks["org_hierarchy_deep"][0]["detail"].removeprefix("chain ").split(" > ")
    for parent, child in zip(chain, chain[1:]):
        rel = messy.one(f"SELECT * FROM {P}pipedrive__organization_relationships WHERE source_id = ?", [child])
        assert (rel["type"], rel["rel_owner_org_key"], rel["rel_linked_org_key"]) == (
            "parent", f"organizations:{parent}", f"organizations:{child}")
    orphan = messy.quirks["org_orphan_parent"][0]["id"]
    assert messy.rows(f"SELECT 1 FROM {P}pipedrive__organization_relationships WHERE source_id = ?", [orphan]) == []
    assert "orphan_parent" in skipped(messy, "organizations", orphan)
    assert messy.rows(f"SELECT 1 FROM {P}pipedrive__organizations WHERE source_id = ?", [orphan])


# --- rule 3: appointments -> activities -----------------------------------------------------

def activity(built, appointment_id: str) -> list[dict]:
    return built.rows(f"SELECT * FROM {P}pipedrive__activities WHERE source_id = ?", [appointment_id])


def test_cancelled_no_show_and_template_slots_are_skipped(messy) -> None:
    for kind, reason in (("appt_cancelled", "cancelled"), ("appt_no_show", "no_show"), ("appt_template_slot", "template_slot")):
        for aid in messy.quirk_ids(kind)[:10]:
            if raw(messy, "appointments", aid)["_deleted_at"] is None:
                assert activity(messy, aid) == [] and reason in skipped(messy, "appointments", aid), (kind, aid)
    for aid in messy.quirk_ids("appt_deleted_client"):
        assert activity(messy, aid) == [] and skipped(messy, "appointments", aid) == ["client_missing"]


def test_activity_done_type_due_time_duration_owner(messy) -> None:
    rows = messy.rows("SELECT a.*, s.email AS staff_email, s.is_active AS staff_active FROM raw_visual_practice.appointments a "
                      "JOIN raw_visual_practice.staff s ON s.id = a.practitioner_id "
                      "WHERE a.status IN ('completed', 'booked') AND a._deleted_at IS NULL ORDER BY a.id LIMIT 40")
    assert rows
    for src in rows:
        (act,) = activity(messy, src["id"]) or [None]
        if act is None:
            continue
        assert act["done"] is (src["status"] == "completed")
        assert act["type"] == ("call" if src["channel"] == "phone" else "meeting")
        assert (act["due_date"], act["due_time"]) == (src["starts_at"].strftime("%Y-%m-%d"), src["starts_at"].strftime("%H:%M"))
        minutes = int((src["ends_at"] - src["starts_at"]).total_seconds() // 60)
        assert act["duration"] == f"{minutes // 60:02d}:{minutes % 60:02d}"
        assert act["person_key"] == "clients:" + messy.one(
            f"SELECT person_client_id FROM intermediate.int_clients_resolved WHERE client_id = ?", [src["client_id"]])["person_client_id"]
        assert act["owner_email"] == (src["staff_email"].lower() if src["staff_active"] else None)
        assert act["Original_Create_Date"] == src["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_dst_spanning_and_departed_practitioner_appointments(messy) -> None:
    for aid in messy.quirk_ids("appt_dst_span"):
        for act in activity(messy, aid):
            assert act["duration"] == "01:00"
    for aid in messy.quirk_ids("appt_departed_practitioner"):
        for act in activity(messy, aid):
            assert act["owner_email"] is None  # a former practitioner has no user: the loader's default owner


# --- rule 4: services, contracts, service records -------------------------------------------

def test_billable_services_are_products_and_contracts_are_deals(messy) -> None:
    services = messy.rows("SELECT id, is_billable FROM raw_visual_practice.services WHERE _deleted_at IS NULL")
    products = {r["source_id"] for r in messy.rows(f"SELECT source_id FROM {P}pipedrive__products")}
    assert products == {s["id"] for s in services if s["is_billable"]}
    deals = messy.rows(f"SELECT d.status, d.stage_name, d.pipeline_name, d.value, c.status AS src, c.value AS src_value "
                       f"FROM {P}pipedrive__deals d JOIN raw_visual_practice.service_contracts c ON c.id = d.source_id")
    assert deals
    expect = {"active": ("open", "Active contract"), "completed": ("won", "Completed"), "cancelled": ("lost", "Cancelled")}
    for d in deals:
        assert (d["status"], d["stage_name"]) == expect[d["src"]] and d["value"] == d["src_value"]
        assert d["pipeline_name"] == "Service Contracts"
    products_of_deals = messy.rows(f"SELECT count(*) AS n FROM {P}pipedrive__deal_products dp "
                                   f"JOIN {P}pipedrive__deals d ON d.natural_key = dp.deal_key")
    assert products_of_deals[0]["n"] > 0


def test_service_records_outside_contracts_set_the_person_service_type(messy) -> None:
    row = messy.one("SELECT sr.client_id, list_sort(list_distinct(list(s.category))) AS cats FROM raw_visual_practice.service_records sr "
                    "JOIN raw_visual_practice.services s ON s.id = sr.service_id JOIN raw_visual_practice.clients c ON c.id = sr.client_id "
                    "WHERE sr.contract_id IS NULL AND sr.status <> 'cancelled' AND c.merged_into_id IS NULL AND sr._deleted_at IS NULL "
                    "GROUP BY 1 ORDER BY 1 LIMIT 1")
    assert person(messy, row["client_id"])["Service_Type"] == row["cats"]


# --- rule 5: invoices -----------------------------------------------------------------------

def test_rejected_then_resubmitted_lines_count_once(messy) -> None:
    for iid in messy.quirk_ids("invoice_rejected_resubmitted")[:10]:
        inv = raw(messy, "invoices", iid)
        counted = sum(l["amount"] for l in inv["lines"] if l["status"] != "rejected")
        naive = sum(l["amount"] for l in inv["lines"])
        assert counted < naive
        billed = messy.one("SELECT billed_amount FROM intermediate.int_invoices_summarised WHERE invoice_id = ?", [iid])
        assert billed["billed_amount"] == counted
        note = messy.one(f"SELECT content FROM {P}pipedrive__notes WHERE source_collection = 'invoices' AND source_id = ?", [iid])
        assert "(not counted)" in note["content"] and inv["invoice_number"] in note["content"]


def test_void_invoices_are_noted_not_totalled_and_last_invoice_fields(messy) -> None:
    for iid in messy.quirk_ids("invoice_void"):
        note = messy.rows(f"SELECT content FROM {P}pipedrive__notes WHERE source_collection = 'invoices' AND source_id = ?", [iid])
        if note:
            assert "VOID, not totalled" in note[0]["content"] and "Billed" not in note[0]["content"]
    inv = messy.one("SELECT i.client_id FROM raw_visual_practice.invoices i JOIN raw_visual_practice.clients c ON c.id = i.client_id "
                    "WHERE i.status <> 'void' AND c.merged_into_id IS NULL ORDER BY i.id LIMIT 1")
    latest = messy.rows("SELECT lines, payments FROM raw_visual_practice.invoices WHERE client_id = ? AND status <> 'void' "
                        "ORDER BY issue_date DESC, id DESC", [inv["client_id"]])
    p = person(messy, inv["client_id"])
    assert p["Last_Invoice_Amount"] == sum(l["amount"] for l in latest[0]["lines"] if l["status"] != "rejected")
    pays = [x["received_on"] for r in latest for x in r["payments"]]
    assert p["Last_Payment_Date"] == (max(pays) if pays else None)


def test_partial_multi_payer_payments_are_listed(messy) -> None:
    for iid in messy.quirk_ids("invoice_partial_multi_payer")[:5]:
        inv = raw(messy, "invoices", iid)
        note = messy.one(f"SELECT content FROM {P}pipedrive__notes WHERE source_collection = 'invoices' AND source_id = ?", [iid])
        for pay in inv["payments"]:
            assert f"{pay['payer_type']} {pay['method']}: {pay['amount']}" in note["content"]


# --- rule 6: documents -> files -------------------------------------------------------------

def test_files_within_limit_with_safe_unique_names(messy) -> None:
    for kind, reason in (("doc_large", "file_too_large"), ("doc_zero_byte", "empty_file")):
        for did in messy.quirk_ids(kind):
            assert messy.rows(f"SELECT 1 FROM {P}pipedrive__files WHERE source_id = ?", [did]) == []
            assert reason in skipped(messy, "documents", did)
    names = messy.rows(f"SELECT person_key, file_name, size_bytes FROM {P}pipedrive__files")
    assert all(not re.search(r'[<>:"/\\|?*]', n["file_name"]) for n in names)
    assert len({(n["person_key"], n["file_name"].lower()) for n in names}) == len(names)
    assert all(0 < n["size_bytes"] <= 50 * 1024 * 1024 for n in names)
    for q in messy.quirks["doc_wrong_content_type"]:
        f = messy.rows(f"SELECT content_type, file_name FROM {P}pipedrive__files WHERE source_id = ?", [q["id"]])
        if f and f[0]["file_name"].endswith(".jpg"):
            assert f[0]["content_type"] == "image/jpeg"


# --- rule 7: staff --------------------------------------------------------------------------

def test_active_staff_are_owner_candidates_inactive_are_former_practitioners(messy) -> None:
    staff = messy.rows("SELECT * FROM raw_visual_practice.staff WHERE _deleted_at IS NULL")
    candidates = {r["source_id"]: r["email"] for r in messy.rows(f"SELECT * FROM {P}pipedrive__owner_candidates")}
    assert candidates == {s["id"]: s["email"].lower() for s in staff if s["is_active"] and s["email"]}
    former = messy.rows(f"SELECT * FROM {P}pipedrive__persons WHERE source_collection = 'staff'")
    assert {f["source_id"] for f in former} == {s["id"] for s in staff if not s["is_active"]}
    practice_key = messy.one(f"SELECT natural_key FROM {P}pipedrive__organizations WHERE is_practice")["natural_key"]
    assert all(f["Practitioner_Former"] == "Yes" and f["org_key"] == practice_key for f in former)


# --- rules 8-10: status, location, referral source, UTM --------------------------------------

def test_location_referral_source_and_utm_fields(messy) -> None:
    src = messy.one("SELECT c.id, l.name AS loc, r.name AS ref, c.utm FROM raw_visual_practice.clients c "
                    "JOIN raw_visual_practice.locations l ON l.id = c.location_id "
                    "JOIN raw_visual_practice.referral_sources r ON r.id = c.referral_source_id "
                    "WHERE c.utm IS NOT NULL AND c.merged_into_id IS NULL ORDER BY c.id LIMIT 1")
    p = person(messy, src["id"])
    assert (p["Location"], p["Referral_Source"]) == (src["loc"], src["ref"])
    assert (p["UTM_Source"], p["UTM_Medium"], p["UTM_Campaign"]) == (src["utm"]["source"], src["utm"]["medium"], src["utm"]["campaign"])
    fields = {(r["object"], r["field_name"]): r for r in messy.rows(f"SELECT * FROM {P}pipedrive__custom_fields")}
    assert fields[("person", "Client_Status")]["options"] == ["Active", "Inactive", "Prospect", "Former"]
    assert src["loc"] in fields[("person", "Location")]["options"]
    assert src["ref"] in fields[("person", "Referral_Source")]["options"]
    assert fields[("activity", "Original_Create_Date")]["field_type"] == "date"


# --- rule 11: SOAP notes --------------------------------------------------------------------

def soap_text(built, note_id: str) -> str:
    on_activity = built.rows(f"SELECT note FROM {P}pipedrive__activities a, unnest(a.folded_sources) f(s) "
                             "WHERE s.source_collection = 'appointment_notes' AND s.source_id = ?", [note_id])
    notes = built.rows(f"SELECT content FROM {P}pipedrive__notes WHERE source_collection = 'appointment_notes' "
                       "AND source_id = ? ORDER BY part", [note_id])
    assert len(on_activity) + (1 if notes else 0) == 1, note_id
    return on_activity[0]["note"] if on_activity else "".join(n["content"] for n in notes)


def test_unsafe_and_word_markup_is_sanitised(messy) -> None:
    for nid in messy.quirk_ids("note_unsafe_html") + messy.quirk_ids("note_word_markup"):
        text = soap_text(messy, nid).lower()
        assert "<script" not in text and "onclick" not in text and "style=" not in text and "<o:p" not in text, nid
        assert text.startswith("<p><b>session note — ")


def test_huge_notes_are_split_into_parts_under_the_limit(messy) -> None:
    for nid in messy.quirk_ids("note_huge"):
        parts = messy.rows(f"SELECT part, parts, content FROM {P}pipedrive__notes WHERE source_collection = 'appointment_notes' "
                           "AND source_id = ? ORDER BY part", [nid])
        assert len(parts) >= 2 and all(p["parts"] == len(parts) for p in parts)
        assert all(len(p["content"].encode()) <= 100_000 for p in parts)
        assert all(p["content"].startswith(f"<p><i>Part {p['part']} of {len(parts)}</i></p>") for p in parts)


def test_soap_notes_go_on_their_activity_by_default(messy) -> None:
    row = messy.one(f"SELECT count(*) AS n FROM {P}pipedrive__activities WHERE note LIKE '<p><b>Session note%'")
    assert row["n"] > 0


# --- rule 12: custom objects -> projects; claims ---------------------------------------------

def test_custom_object_records_are_projects_with_nn_links(messy) -> None:
    rec = messy.one("SELECT * FROM raw_visual_practice.custom_object_records WHERE len(links.client_ids) > 1 ORDER BY id LIMIT 1")
    proj = messy.one(f"SELECT * FROM {P}pipedrive__projects WHERE source_id = ?", [rec["id"]])
    survivors = {messy.one("SELECT person_client_id FROM intermediate.int_clients_resolved WHERE client_id = ?", [c])["person_client_id"]
                 for c in rec["links"]["client_ids"]}
    assert set(proj["person_keys"]) == {f"clients:{s}" for s in survivors}
    label = messy.one("SELECT label FROM raw_visual_practice.custom_objects WHERE key = ?", [rec["object_key"]])["label"]
    assert proj["board_name"] == label
    fields = {r["field_name"] for r in messy.rows(f"SELECT field_name FROM {P}pipedrive__custom_fields WHERE object = 'project'")}
    assert {f["label"] for f in messy.one("SELECT fields FROM raw_visual_practice.custom_objects WHERE key = ?", [rec["object_key"]])["fields"]} <= fields


def test_claims_are_phi_and_skipped_without_a_retention_rule(messy) -> None:
    claims = messy.rows("SELECT id FROM raw_visual_practice.claims WHERE _deleted_at IS NULL")
    assert claims
    assert messy.rows(f"SELECT 1 FROM {P}pipedrive__notes WHERE source_collection = 'claims'") == []
    assert all(skipped(messy, "claims", c["id"]) == ["phi_not_retained"] for c in claims[:20])


# --- custom properties of mixed types, sparse ------------------------------------------------

def test_custom_properties_of_mixed_types_become_one_typed_value(messy) -> None:
    mixed = [q for q in messy.quirks["custom_props_mixed_types"] if q["detail"].startswith("Consent Signed")]
    assert mixed
    for q in mixed:
        written = q["detail"].split("'")[1]  # '25/07/2024'
        day, month, year = written.split("/")
        p = messy.rows(f"SELECT \"Consent_Signed\" FROM {P}pipedrive__persons WHERE natural_key = ?", [f"clients:{q['id']}"])
        if p:
            assert p[0]["Consent_Signed"].isoformat() == f"{year}-{month}-{day}"
    # Pipedrive has no boolean field: Newsletter is an enum whose options are Yes / No.
    newsletter = {r["Newsletter"] for r in messy.rows(f'SELECT "Newsletter" FROM {P}pipedrive__persons WHERE source_collection = \'clients\'')}
    assert newsletter <= {"Yes", "No", None} and {"Yes", "No"} <= newsletter
    field = messy.one(f"SELECT field_type, options FROM {P}pipedrive__custom_fields WHERE natural_key = 'person:Newsletter'")
    assert field == {"field_type": "enum", "options": ["Yes", "No"]}
    # '12 visits', 'oui', 'Y': the value the generator meant, not NULL.
    for q in messy.quirks["custom_props_mixed_types"]:
        label, meant = q["detail"].split(": ", 1)[0], q["detail"].rsplit(" instead of ", 1)[1]
        column = {"Visits Prepaid": "Visits_Prepaid", "Newsletter": "Newsletter"}.get(label)
        p = messy.rows(f'SELECT "{column}" AS v FROM {P}pipedrive__persons WHERE natural_key = ?', [f"clients:{q['id']}"]) if column else []
        if p:
            assert p[0]["v"] == ({"True": "Yes", "False": "No"}[meant] if column == "Newsletter" else float(meant)), q


def test_sparse_custom_properties_are_empty_not_invented(messy) -> None:
    for q in messy.quirks["custom_props_sparse"][:10]:
        if "Preferred Language" in q["detail"]:
            p = messy.rows(f'SELECT "Preferred_Language" FROM {P}pipedrive__persons WHERE natural_key = ?', [f"clients:{q['id']}"])
            if p:
                assert p[0]["Preferred_Language"] is None

"""propose-map and confirm-map end to end on an export with renamed headers: the proposal finds the
fields, masks PHI samples, the headless confirmation records who and how, and the confirmed header
aliases make the next extraction land the renamed columns in their contract fields."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from extractors.visual_practice import raw
from tests.mapping.conftest import EXPECTED, MappingCustomer
from vp2pd.cli import app
from vp2pd.mapping.gate import fields_hash
from vp2pd.warehouse import connect

runner = CliRunner()


def _proposed(m: MappingCustomer) -> dict:
    return yaml.safe_load((m.home / "demo" / "mapping" / "proposed.yml").read_text(encoding="utf-8"))


def test_propose_map_finds_renamed_columns_and_masks_phi(mapping_customer: MappingCustomer) -> None:
    out = runner.invoke(app, ["propose-map", "--customer", "demo"])
    assert out.exit_code == 0, out.output
    data = _proposed(mapping_customer)
    columns = {c["column"]: c for c in data["columns"] if c["collection"] == "clients"}
    assert {k: columns[k]["target"] for k in EXPECTED} == EXPECTED
    for entry in columns.values():
        assert 0.0 <= entry["confidence"] <= 1.0 and entry["reason"] and entry["alternatives"]
    assert "DOB" in columns["DOB"]["reason"] and "%Y%m%d" in columns["DOB"]["reason"]
    # PHI: health numbers and birth dates show only their shape
    assert columns["HC#"]["phi"] and columns["DOB"]["phi"]
    assert all(set(s) <= {"•", "-", " "} for s in columns["HC#"]["samples"] + columns["DOB"]["samples"])
    assert not columns["Cell #"]["phi"] and any(ch.isdigit() for s in columns["Cell #"]["samples"] for ch in s)
    # layer 2: the map's entries, each checked against the data, and the custom properties
    fields = {(f["entry"]["collection"], f["entry"]["field"], f["entry"].get("custom_field")): f for f in data["fields"]}
    status = fields[("clients", "status", "Client_Status")]
    assert status["entry"]["type"] == "enum" and status["confidence"] >= 0.9
    assert ("clients", "custom_properties.Allergies", "Allergies") in fields
    assert {"collection": "clients", "field": "version_code",
            "reason": "PHI: not sent unless the customer's retention rule allows it (rules.claims)"} in data["not_migrated"]


def test_custom_properties_become_typed_custom_fields_without_a_map(mapping_customer: MappingCustomer) -> None:
    (mapping_customer.home / "demo" / "mapping" / "confirmed.yml").unlink()
    assert runner.invoke(app, ["propose-map", "--customer", "demo"]).exit_code == 0
    data = _proposed(mapping_customer)
    assert "default map" in data["template"]
    custom = {f["entry"]["field"]: f["entry"] for f in data["fields"] if f["origin"] == "custom_property"}
    assert custom["custom_properties.Consent Signed"]["type"] == "date"
    assert custom["custom_properties.Newsletter"]["type"] == "boolean"
    assert custom["custom_properties.Visits Prepaid"]["type"] == "double"
    assert custom["custom_properties.Policy #"]["custom_field"] == "Policy_Number"
    language = custom["custom_properties.Preferred Language"]
    assert language["type"] == "enum" and "Français" in language["options"]


def test_confirm_above_threshold_lists_what_needs_a_person_and_writes_nothing(mapping_customer: MappingCustomer) -> None:
    confirmed = mapping_customer.home / "demo" / "mapping" / "confirmed.yml"
    before = confirmed.read_text(encoding="utf-8")
    assert runner.invoke(app, ["propose-map", "--customer", "demo"]).exit_code == 0
    out = runner.invoke(app, ["confirm-map", "--customer", "demo", "--accept-above", "0.99", "--reviewer", "ana"])
    assert out.exit_code == 1
    assert "needs review" in out.output and "still need a person" in out.output
    assert confirmed.read_text(encoding="utf-8") == before
    decided = [c for c in _proposed(mapping_customer)["columns"] + _proposed(mapping_customer)["fields"]
               if c.get("decision")]
    assert decided and all(c["confidence"] >= 0.99 and c["decision"]["how"] == "--accept-above 0.99" for c in decided)


def test_accept_all_records_reviewer_and_hash_and_aliases_feed_the_next_extraction(
        mapping_customer: MappingCustomer) -> None:
    from extractors.visual_practice.run import run_extraction

    confirmed = mapping_customer.home / "demo" / "mapping" / "confirmed.yml"
    comments_before = [ln for ln in confirmed.read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
    assert runner.invoke(app, ["propose-map", "--customer", "demo"]).exit_code == 0
    out = runner.invoke(app, ["confirm-map", "--customer", "demo", "--accept-all", "--reviewer", "demo-runbook"])
    assert out.exit_code == 0, out.output
    data = yaml.safe_load(confirmed.read_text(encoding="utf-8"))
    assert data["status"] == "confirmed" and data["reviewer"] == "demo-runbook"
    assert data["confirmed_with"] == "--accept-all" and data["content_hash"] == fields_hash(data["fields"])
    # the entries did not change, so the file kept its comments; only the metadata was added
    assert [ln for ln in confirmed.read_text(encoding="utf-8").splitlines() if ln.startswith("#")] == comments_before
    aliases = yaml.safe_load((mapping_customer.home / "demo" / "mapping" / "csv_aliases.yml").read_text("utf-8"))
    assert aliases["files"]["Clients"]["columns"]["Cell #"] == "phones[mobile]"

    cfg = mapping_customer.cfg()
    cfg = cfg.model_copy(update={"visual_practice": cfg.visual_practice.model_copy(
        update={"csv_aliases": cfg.mapping_dir / "csv_aliases.yml"})})
    run_extraction(cfg, source="csv", csv_path=mapping_customer.export)
    con = connect(cfg.warehouse_path, read_only=True)
    try:
        run_id = con.execute(f"SELECT run_id FROM {raw.SCHEMA}._runs ORDER BY started_at DESC LIMIT 1").fetchone()[0]
        filled, extra, births = con.execute(
            f"SELECT count(*) FILTER (WHERE len(list_filter(phones, lambda p: p.label = 'mobile')) > 0), "
            f"count(*) FILTER (WHERE json_exists(_extra, '$.\"Cell #\"')), count(date_of_birth) "
            f"FROM {raw.table('clients')} WHERE _run_id = ?", [run_id]).fetchone()
        # a record whose birth date is now parsed and invalid (a generator quirk) is quarantined, not lost
        quarantined = con.execute(f"SELECT count(*) FROM {raw.SCHEMA}._quarantine WHERE run_id = ? "
                                  "AND collection = 'clients' AND reason LIKE 'DOB: %is not a date%'", [run_id]).fetchone()[0]
    finally:
        con.close()
    assert filled > 0 and births > 0 and extra == 0
    assert quarantined >= 1

"""What `vp2pd transform` hands dbt: the confirmed map and pipeline worksheet checked, the
customer's rules as vars."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vp2pd.config import ConfigError, load_customer
from vp2pd.transform import dbt_args, dbt_vars, load_field_map, load_pipeline


def test_demo_map_and_rules_become_vars() -> None:
    cfg = load_customer("demo")
    v = dbt_vars(cfg)
    assert v["timezone"] == "America/Toronto" and v["file_size_limit_bytes"] == 50 * 1024 * 1024
    assert v["status_map"]["active"] == "Active" and v["invoice_notes"] == "per_invoice"
    names = {(e["object"], e.get("custom_field")) for e in v["field_map"]}
    for field in ("Client_Status", "Status_Changed", "Location", "Referral_Source", "Source_System_ID",
                  "Original_Create_Date", "Chart_Number", "UTM_Source", "UTM_Medium", "UTM_Campaign",
                  "Service_Type", "Last_Invoice_Amount", "Last_Payment_Date", "Practitioner_Former", "Primary_Client"):
        assert ("person", field) in names, field
    assert ("activity", "Original_Create_Date") in names and ("deal", "Service_Type") in names
    assert v["pipeline"]["contract_statuses"]["completed"] == {"status": "won", "stage": "Completed"}
    args = dbt_args("build", cfg)
    assert yaml.safe_load(args[args.index("--vars") + 1]) == v
    assert str(cfg.customer_build_dir) in args[args.index("--target-path") + 1]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "confirmed.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("entry, message", [
    ("{collection: clients, field: status, object: human, custom_field: X, type: varchar}", "object must be"),
    ("{collection: clients, field: status, object: person}", "either target"),
    ("{collection: clients, field: status, object: person, target: name, custom_field: X, type: varchar}", "either target"),
    ("{collection: clients, field: status, object: person, custom_field: X}", "needs a type"),
    ("{collection: clients, field: status, object: person, target: name, colour: red}", "unknown keys colour"),
])
def test_a_bad_map_entry_is_refused_with_its_place(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as exc:
        load_field_map(_write(tmp_path, f"fields:\n  - {entry}\n"))
    assert "entry 1 (clients.status)" in str(exc.value)


def test_a_pipeline_worksheet_needs_a_stage_per_contract_status(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yml"
    path.write_text("pipeline: P\nstages: [A]\ncontract_statuses:\n  active: {status: open, stage: A}\n"
                    "  completed: {status: won, stage: B}\n  cancelled: {status: lost, stage: A}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="stage 'B' of completed is not among stages"):
        load_pipeline(path)
    with pytest.raises(ConfigError, match="no confirmed field map"):
        load_field_map(tmp_path / "absent.yml")

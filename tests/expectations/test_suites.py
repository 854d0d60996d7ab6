"""The raw and marts suites pass on a good warehouse and, on a corrupted copy, stop the run with
the failing rows named; the validation is chunked and still sees duplicates across chunks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from expectations.run import ValidationFailed, validate
from vp2pd.config import CustomerConfig
from vp2pd.warehouse import connect

pytestmark = pytest.mark.slow


def _copy(built: CustomerConfig, tmp: Path) -> CustomerConfig:
    cfg = built.model_copy(update={"build_dir": tmp / "build"})
    cfg.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(built.warehouse_path, cfg.warehouse_path)
    return cfg


def _report(cfg: CustomerConfig, suite: str) -> dict[str, Any]:
    return json.loads((cfg.reports_dir / f"validation_{suite}.json").read_text(encoding="utf-8"))


def _outcome(report: dict[str, Any], check: str, expectation: str, column: str) -> dict[str, Any]:
    found = [o for o in report["expectations"]
             if (o["check"], o["expectation"], o["column"]) == (check, expectation, column)]
    assert len(found) == 1, (check, expectation, column)
    return found[0]


@pytest.fixture(scope="module")
def good(gx_messy: CustomerConfig, tmp_path_factory: pytest.TempPathFactory) -> CustomerConfig:
    cfg = _copy(gx_messy, tmp_path_factory.mktemp("gx_good"))
    validate(cfg)
    return cfg


def test_both_suites_pass_on_the_messy_practice_and_write_results_and_data_docs(good: CustomerConfig) -> None:
    raw, marts = _report(good, "raw"), _report(good, "marts")
    assert raw["success"] and marts["success"]
    assert raw["critical_failures"] == marts["critical_failures"] == 0
    con = connect(good.warehouse_path, read_only=True)
    persons, clients = con.execute("SELECT (SELECT count(*) FROM pipedrive.pipedrive__persons), "
                                   "(SELECT count(*) FROM raw_visual_practice.clients)").fetchone()
    con.close()
    # Every row was seen: the counts are the tables', not a sample's.
    assert _outcome(marts, "marts.persons", "expect_column_values_to_not_be_null", "natural_key")["rows"] == persons
    assert _outcome(raw, "raw.clients", "expect_column_values_to_not_be_null", "id")["rows"] == clients
    counts = _outcome(raw, "raw.extraction_counts", "expect_column_pair_values_to_be_equal", "in_table")
    assert counts["rows"] >= 15 and counts["success"]
    # Pick-lists come from pipedrive__custom_fields, each with its severity.
    status = _outcome(marts, "marts.persons", "expect_column_values_to_be_in_set", "Client_Status")
    assert status["severity"] == "critical" and status["rows"] == persons
    owner = _outcome(marts, "marts.persons", "expect_column_values_to_be_null", "owner_email_unresolved")
    assert owner["severity"] == "warning"
    index = good.reports_dir / "data_docs" / "index.html"
    assert "marts.persons" in index.read_text(encoding="utf-8")
    assert list((good.reports_dir / "data_docs" / "validations" / "raw").iterdir())


P = "pipedrive."
FIRST = "SELECT natural_key, source_id FROM {t} {where} LIMIT 1"
BY_KEY = "ORDER BY natural_key"
NOT_THE_TWINS = "rowid > 0 AND source_id <> 'dup-of-first'"
CHUNK_ROWS = 40
# One break of each kind a load would trip on: (mart, which row, the break, what the failure line
# names besides the row's source id).
BREAKS = {
    "duplicate natural key": (
        "pipedrive__persons", "ORDER BY rowid",
        "INSERT INTO {t} SELECT * REPLACE ('dup-of-first' AS source_id) FROM {t} WHERE natural_key = ?",
        "[marts.persons.duplicates]", "dup-of-first'"),
    "bad e-mail": (
        "pipedrive__persons", f"WHERE len(emails) = 1 AND {NOT_THE_TWINS} {BY_KEY}",
        "UPDATE {t} SET emails = [{'value': 'jane@@x.com', 'primary': true, 'label': 'home'}] WHERE natural_key = ?",
        "[marts.persons.emails]", "email='jane@@x.com'"),
    "option not in the pick-list": (
        "pipedrive__persons", f"WHERE source_collection = 'clients' AND {NOT_THE_TWINS} {BY_KEY}",
        "UPDATE {t} SET Client_Status = 'Deceased' WHERE natural_key = ?",
        "expect_column_values_to_be_in_set(Client_Status)", "Client_Status='Deceased'"),
    "oversized file": (
        "pipedrive__files", BY_KEY, "UPDATE {t} SET size_bytes = 50 * 1024 * 1024 + 1 WHERE natural_key = ?",
        "expect_column_values_to_be_between(size_bytes)", "size_bytes=52428801"),
    "200 KB note": (
        "pipedrive__notes", BY_KEY, "UPDATE {t} SET content = repeat('<p>x</p>', 25000) WHERE natural_key = ?",
        "expect_column_values_to_be_between(content_bytes)", "content_bytes=200000"),
    "unresolvable reference": (
        "pipedrive__deals", BY_KEY, "UPDATE {t} SET org_key = 'organizations:gone' WHERE natural_key = ?",
        "expect_column_values_to_be_null(org_key_unresolved)", "org_key_unresolved='organizations:gone'"),
}


def test_each_break_stops_the_run_naming_row_and_value_and_chunks_cover_every_row(gx_messy: CustomerConfig,
                                                                                  tmp_path: Path) -> None:
    # One corrupted copy and one validation for all six breaks: the run names every critical failure.
    cfg = _copy(gx_messy, tmp_path)
    con = connect(cfg.warehouse_path)
    targets = {}
    for name, (table, where, statement, _, _) in BREAKS.items():
        key, targets[name] = con.execute(FIRST.format(t=P + table, where=where)).fetchone()
        con.execute(statement.replace("{t}", P + table), [key])
    # The duplicate copies the first stored row and is appended at the end: in 40-row chunks (read
    # in storage order) the twins fall in different chunks, which a per-chunk uniqueness test would
    # never see. The other breaks target other keys, so each names exactly one row.
    twin, dup = [r[0] for r in con.execute("SELECT rowid FROM pipedrive.pipedrive__persons WHERE natural_key = "
                                           "(SELECT natural_key FROM pipedrive.pipedrive__persons WHERE "
                                           "source_id = 'dup-of-first') ORDER BY rowid").fetchall()]
    assert twin // CHUNK_ROWS != dup // CHUNK_ROWS
    activities = con.execute("SELECT count(*) FROM pipedrive.pipedrive__activities").fetchone()[0]
    con.close()
    with pytest.raises(ValidationFailed) as failed:
        validate(cfg, ("marts",), chunk_rows=CHUNK_ROWS)
    lines = str(failed.value).splitlines()
    for name, (*_, where, value) in BREAKS.items():
        line = next((ln for ln in lines if where in ln), None)
        assert line is not None, (name, lines)
        assert line.startswith("- critical") and " 1 of " in line, (name, line)
        assert value in line and targets[name] in line, (name, line)
    marts = _report(cfg, "marts")
    assert not marts["success"] and marts["critical_failures"] == len(BREAKS)
    assert marts["chunks"] > 40 and activities > CHUNK_ROWS  # many chunks per mart
    not_null = _outcome(marts, "marts.activities", "expect_column_values_to_not_be_null", "natural_key")
    assert not_null["rows"] == activities
    notes = _outcome(marts, "marts.notes", "expect_column_values_to_be_between", "content_bytes")
    assert notes["failing"] == 1 and notes["failing_rows"][0]["content_bytes"] == 200_000


def test_a_warning_is_reported_but_does_not_stop_the_run(gx_messy: CustomerConfig, tmp_path: Path) -> None:
    cfg = _copy(gx_messy, tmp_path)
    con = connect(cfg.warehouse_path)
    con.execute("UPDATE pipedrive.pipedrive__persons SET owner_email = 'gone@clinic.example' WHERE natural_key = "
                "(SELECT min(natural_key) FROM pipedrive.pipedrive__persons)")
    con.close()
    (result,) = validate(cfg, ("marts",))
    assert not result.critical_failures
    assert [(w.check, w.column, w.failing) for w in result.warnings] == [
        ("marts.persons", "owner_email_unresolved", 1)]
    assert result.warnings[0].failing_rows[0]["owner_email_unresolved"] == "gone@clinic.example"


def test_raw_suite_names_a_duplicate_id_a_missing_field_and_a_count_off_the_report(gx_messy: CustomerConfig,
                                                                                  tmp_path: Path) -> None:
    cfg = _copy(gx_messy, tmp_path)
    con = connect(cfg.warehouse_path)
    clients = con.execute("SELECT count(*) FROM raw_visual_practice.clients WHERE _deleted_at IS NULL").fetchone()[0]
    first, second = [r[0] for r in con.execute(
        "SELECT id FROM raw_visual_practice.clients WHERE _deleted_at IS NULL ORDER BY id LIMIT 2").fetchall()]
    con.execute("INSERT INTO raw_visual_practice.clients SELECT * FROM raw_visual_practice.clients WHERE id = ?",
                [first])
    con.execute("UPDATE raw_visual_practice.clients SET status = NULL WHERE id = ?", [second])
    con.close()
    with pytest.raises(ValidationFailed) as failed:
        validate(cfg)  # raw first: the marts suite is not run
    message = str(failed.value)
    assert "suite raw" in message
    assert f"[raw.clients.duplicates]: 1 of 1 rows fail: id={first!r}, occurrences=2" in message
    assert (f'expect_column_values_to_not_be_null(status) on raw_visual_practice."clients" [raw.clients]: '
            f"1 of {clients + 1} rows fail: id={second!r}, status=None") in message
    # The live rows are one more than the extraction report's `extracted`.
    counts = next(ln for ln in message.splitlines() if "[raw.extraction_counts]" in ln)
    assert "1 of" in counts and "collection='clients'" in counts
    assert f"in_table={clients + 1}" in counts and f"extracted={clients}" in counts
    assert not (cfg.reports_dir / "validation_marts.json").exists()


def test_the_cli_validates_a_warehouse_under_a_relative_build_dir(gx_messy: CustomerConfig, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vp2pd.cli import app

    shutil.copytree(gx_messy.build_dir, tmp_path / "build", ignore=shutil.ignore_patterns("dbt", "reports"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VP2PD_BUILD_DIR", "build")  # as customer.yml's default: relative to the working folder
    outcome = CliRunner().invoke(app, ["validate", "--customer", "demo", "--suite", "marts"])
    assert outcome.exit_code == 0, outcome.output
    assert "marts: " in outcome.output and "expectations met" in outcome.output
    assert (tmp_path / "build" / "demo" / "reports" / "data_docs" / "index.html").is_file()
    assert json.loads((tmp_path / "build" / "demo" / "reports" / "validation_marts.json").read_text())["success"]

"""The migration report: values from the data escaped, CSV exports neutralised, the accounting
numbers equal to the warehouse's, and each section present once its step's JSON exists.

The warehouse is built by hand (raw tables, marts with their keys, a ledger) so every number the
report shows is known here: 5 clients extracted, 3 loaded, 1 skipped (merged), 1 refused by
Pipedrive (quarantined); 2 automations skipped as configuration; the practice loaded.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from extractors.visual_practice import raw
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.reports import preflight_report
from loaders.pipedrive.sequence import STEPS
from vp2pd.config import CustomerConfig, load_customer
from vp2pd.csv_safe import neutralise, to_csv_text, write_csv
from vp2pd.estimate import estimate, write_estimate
from vp2pd.handbook import build_handbook, write_handbook
from vp2pd.report import build_report, run_folder
from vp2pd.warehouse import connect

EVIL = "<script>alert('x')</script>"
RUN = "load-test-1"


@pytest.fixture
def cfg(tmp_path: Path) -> CustomerConfig:
    return load_customer("demo").model_copy(update={"build_dir": tmp_path / "build"})


def _warehouse(cfg: CustomerConfig) -> None:
    con = connect(cfg.warehouse_path)
    raw.ensure_schema(con)
    con.execute("insert into raw_visual_practice.practice (id, name) values ('p1', 'Practice')")
    con.execute("insert into raw_visual_practice.clients (id, first_name) select i::varchar, 'C' || i "
                "from range(1, 6) t(i)")
    con.execute("insert into raw_visual_practice.automations (id, name, kind) values ('a1', 'A', 'reminder'), "
                "('a2', 'B', 'recall')")
    con.execute("insert into raw_visual_practice._extract_report (run_id, collection, source, reported, extracted, "
                "healed, quarantined, status, finished_at) values ('x1', 'clients', 'api', 6, 5, 0, 1, 'ok', now())")
    con.execute("insert into raw_visual_practice._quarantine values ('x1', 'clients', 'api', 'page 1', '6', '{}', ?, "
                "now())", [f"date_of_birth is not a date: {EVIL}"])
    con.execute("create schema pipedrive")
    for step in STEPS:
        con.execute(f"create table pipedrive.{step.mart} (natural_key varchar, source_collection varchar, "
                    "source_id varchar)")
    con.execute("create table pipedrive.pipedrive__custom_fields (object varchar, field_name varchar, "
                "source_collection varchar, source_id varchar, "
                "folded_sources struct(source_collection varchar, source_id varchar)[])")
    con.execute("create table pipedrive.pipedrive__owner_candidates (source_collection varchar, source_id varchar)")
    con.execute("insert into pipedrive.pipedrive__organizations values ('practice:p1', 'practice', 'p1')")
    con.execute("insert into pipedrive.pipedrive__persons select 'clients:' || i, 'clients', i::varchar "
                "from range(1, 5) t(i)")
    con.execute("create table pipedrive.migration__skipped (source_collection varchar, source_id varchar, "
                "reason varchar, detail varchar, kind varchar)")
    con.execute("insert into pipedrive.migration__skipped values "
                "('clients', '5', 'merged_into_survivor', ?, 'skipped'), "
                "('automations', 'a1', 'configuration_not_data', '=HYPERLINK(\"http://evil\")', 'skipped'), "
                "('automations', 'a2', 'configuration_not_data', '+cmd|calc', 'skipped'), "
                "('clients', '2', 'invalid_email', 'jane@@x.com dropped', 'reported')", [f"records follow {EVIL}"])
    ledger = Ledger(con)
    con.execute(f"insert into ledger.runs values ('{RUN}', 'load', now(), now(), 'completed', null, null, null, null)")
    for n, (obj, key, status) in enumerate([("organizations", "practice:p1", "done"), ("persons", "clients:1", "done"),
                                            ("persons", "clients:2", "done"), ("persons", "clients:3", "done"),
                                            ("persons", "clients:4", "rejected")]):
        con.execute("insert into ledger.intents values (?, ?, ?, ?, 'POST', '/api/v2/x', 'd', null, null, null, 5, "
                    "now())", [f"op{n}", RUN, obj, key])
        con.execute("insert into ledger.outcomes values (?, ?, ?, ?, ?, now())",
                    [f"op{n}", status, str(100 + n) if status == "done" else None, 201 if status == "done" else 400,
                     None if status == "done" else f"name is invalid: {EVIL}"])
        if status == "done":
            con.execute("insert into ledger.id_map values (?, ?, ?, null, ?, ?, now())",
                        [obj, key, str(100 + n), RUN, f"op{n}"])
    ledger.close()


def test_csv_writer_neutralises_formula_starts(tmp_path: Path) -> None:
    for bad in ("=1+2", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1"):
        assert neutralise(bad) == "'" + bad
    assert neutralise(-12.5) == -12.5 and neutralise("12-3") == "12-3" and neutralise(None) == ""
    assert neutralise({"a": "=x"}) == '{"a": "=x"}'  # JSON starts with {, safe as it is
    text = to_csv_text([{"name": "=HYPERLINK(\"http://x\")", "amount": -5}, {"name": "ok"}], ["name", "amount"])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "amount"], ["'=HYPERLINK(\"http://x\")", "-5"], ["ok", ""]]
    path = write_csv(tmp_path / "x.csv", [{"=h": "@x"}])
    assert path.read_bytes().startswith(b"\xef\xbb\xbf'=h")  # headers are data too


def test_report_accounting_equals_the_warehouse_and_values_are_escaped(cfg: CustomerConfig) -> None:
    _warehouse(cfg)
    path = build_report(cfg, RUN)
    assert path == run_folder(cfg, RUN) / "report.html" == cfg.build_dir.parent / "runs" / "demo" / RUN / "report.html"
    page = path.read_text(encoding="utf-8")
    assert EVIL not in page and "&lt;script&gt;" in page and "<script" not in page
    # The accounting row per collection, as the warehouse has it (see the module docstring).
    con = connect(cfg.warehouse_path, read_only=True)
    extracted = dict(con.execute("select 'clients', count(*) from raw_visual_practice.clients union all "
                                 "select 'automations', count(*) from raw_visual_practice.automations").fetchall())
    con.close()
    assert extracted == {"clients": 5, "automations": 2}
    for coll, e, m, s, q in (("clients", 5, 3, 1, 1), ("automations", 2, 0, 2, 0), ("practice", 1, 1, 0, 0)):
        assert (f"<tr><td>{coll}</td><td>{e}</td><td>{m}</td><td>{s}</td><td>{q}</td><td>0</td><td>True</td></tr>"
                in page), coll
    assert "4 migrated + 3 skipped + 1 quarantined = 8 extracted" in page
    assert "every record accounted for" in page
    # Quarantined: the extractor's row and the record Pipedrive refused, each with its reason.
    quarantined = list(csv.DictReader(io.StringIO((path.parent / "quarantined.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["stage"], r["source_id"]) for r in quarantined] == [("extraction", "6"), ("load", "clients:4")]
    assert quarantined[1]["detail"] == f"name is invalid: {EVIL}"
    skipped = list(csv.DictReader(io.StringIO((path.parent / "skipped.csv").read_text(encoding="utf-8-sig"))))
    details = {r["source_id"]: r["detail"] for r in skipped}
    assert details["a1"] == "'=HYPERLINK(\"http://evil\")" and details["a2"] == "'+cmd|calc"
    assert len(skipped) == 4  # 3 skipped + 1 reported, every one listed
    # Token spend from the ledger's intents: 5 writes x 5 tokens; persons 4 x 5.
    assert "<tr><td>persons</td><td>4</td><td>20 <span" in page
    assert page.count("<svg") >= 3  # extraction, accounting, skipped reasons, tokens


def test_sections_appear_when_their_json_exists(cfg: CustomerConfig) -> None:
    _warehouse(cfg)
    page = build_report(cfg, RUN).read_text(encoding="utf-8")
    for hint in ("vp2pd preflight -c demo", "vp2pd validate -c demo", "vp2pd load -c demo",
                 "vp2pd reconcile -c demo", "vp2pd estimate -c demo", "vp2pd handbook -c demo"):
        assert f"Not run yet: {hint}" in page
    budget = {"plan": "growth", "seats": 1, "daily_budget": 60000, "usable_per_day": 57000, "total_tokens": 25,
              "days": 1, "requests": 5, "wall_time_s": 0.2, "choices": [],
              "objects": [{"object": "persons", "rows": 4, "token_cost": 5, "create_tokens": 20, "reconcile_reads": 1,
                           "reconcile_tokens": 10}]}
    preflight_report(cfg.reports_dir, {"ok": True, "problem": None, "budget": budget,
                                       "owners": {"users_read": 1, "matched": {f"{EVIL}@x.ca": 7}, "unmatched": [],
                                                  "fallback_owner": None, "fallback_owner_id": None}})
    (cfg.reports_dir / "validation_raw.json").write_text(json.dumps({
        "suite": "raw", "success": False, "critical_failures": 1, "warnings": 0, "chunks": 1, "run_time": "t",
        "expectations": [{"check": "c", "table": "raw.clients", "expectation": "expect_column_values_to_be_unique",
                          "column": "id", "severity": "critical", "success": False, "rows": 5, "failing": 1,
                          "failing_rows": [{"id": EVIL}]}]}), encoding="utf-8")
    (cfg.reports_dir / "data_docs").mkdir()
    (cfg.reports_dir / "data_docs" / "index.html").write_text("docs", encoding="utf-8")
    (cfg.reports_dir / f"load_{RUN}.json").write_text(json.dumps({
        "run_id": RUN, "status": "completed", "notes": [], "rejections": [],
        "counts": {"persons": {"rows": 4, "created": 3, "resolved": 0, "rejected": 1}}}), encoding="utf-8")
    (cfg.reports_dir / "reconcile.json").write_text(json.dumps({
        "ok": True, "mismatches": [], "accounting": [],
        "objects": [{"object": "persons", "mart_rows": 4, "migrated": 3, "in_pipedrive": 3}]}), encoding="utf-8")
    write_estimate(cfg, estimate({"clients": 5, "appointment_notes": 3}, plan="growth", seats=1))
    run = run_folder(cfg, RUN)
    run.mkdir(parents=True, exist_ok=True)
    (run / "sample.json").write_text(json.dumps({"step": "sample", "data": {"sample": {
        "run_id": "s-1", "mismatches": 1, "summary": [{"object": "persons", "fields_compared": 2}],
        "selection": {"strata": [{"stratum": "location:A", "covered_by": "clients:1"}]},
        "diff": [{"object": "persons", "field": "name", "expected": EVIL, "actual": "x", "match": False},
                 {"object": "persons", "field": "email", "expected": "a@b.c", "actual": "a@b.c", "match": True}]}}}),
        encoding="utf-8")
    (cfg.reports_dir / "delta_d-1.json").write_text(json.dumps({
        "run_id": "d-1", "status": "completed", "writes": 2, "objects": [{"object": "persons", "updated": 2}],
        "deletions": [], "rejections": [], "notes": []}), encoding="utf-8")
    (run / "extract.json").write_text(json.dumps({"step": "extract", "ok": True, "summary": f"5 records {EVIL}"}),
                                      encoding="utf-8")
    page = build_report(cfg, RUN).read_text(encoding="utf-8")
    assert "<h2>Runbook steps</h2>" in page and "1 steps ok" in page and "5 records &lt;script&gt;" in page
    for hint in ("vp2pd preflight", "vp2pd validate", "vp2pd load -c", "vp2pd reconcile", "the runbook's sample"):
        assert f"Not run yet: {hint}" not in page, hint
    assert "Not run yet: vp2pd handbook -c demo" in page  # still not run
    write_handbook(build_handbook({"automations": [{"id": "1", "name": EVIL, "kind": "reminder", "trigger": {},
                                                    "is_active": True}], "templates": [], "reports": []}, "Demo"),
                   cfg.reports_dir)
    page = build_report(cfg, RUN).read_text(encoding="utf-8")
    assert "Not run yet: vp2pd handbook" not in page and "definitions (1)" in page and '<a href="' in page
    assert "1 automations, 0 templates, 0 reports" in page
    assert "<h2>Estimate (before extraction)</h2>" in page and "Grade: Standard" in page
    # 3 SOAP notes as Notes: 3 x 10 tokens.
    assert ("appointment_notes</td><td>rules.soap_notes</td><td>activity_note</td><td>activity_note: 0, "
            "person_note: 30") in page
    assert '<a href="../../../build/demo/reports/data_docs/index.html">' in page
    assert "expect_column_values_to_be_unique" in page and "FAILED" in page
    assert "Owners (1 matched, 0 without a user)" in page
    assert "<h2>Sample migration and field diff</h2>" in page and "<td>name</td>" in page
    assert "Mismatching fields (1)" in page and "fields compared (2)" in page and "location:A" in page
    assert "Delta pickup (run d-1)" in page and "completed, 2 writes" in page
    assert "zero mismatches" in page and "Load summary (run load-test-1)" in page
    assert EVIL not in page and "<script" not in page


def test_secrets_never_reach_the_page(cfg: CustomerConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    _warehouse(cfg)
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "sentinel-token-77aa")
    (cfg.reports_dir).mkdir(parents=True, exist_ok=True)
    (cfg.reports_dir / "reconcile.json").write_text(json.dumps({
        "ok": False, "accounting": [], "objects": [],
        "mismatches": [{"object": "persons", "field": "name", "mismatches": 1,
                        "examples": "api_token=sentinel-token-77aa"}]}), encoding="utf-8")
    ledger = Ledger.open(cfg.warehouse_path)  # the process holds the warehouse open for writing (a runbook kernel)
    try:
        page = build_report(cfg, RUN).read_text(encoding="utf-8")
    finally:
        ledger.close()
    assert "every record accounted for" in page  # the report read the warehouse through that instance
    assert "sentinel-token-77aa" not in page and "api_token=&lt;PIPEDRIVE_API_TOKEN&gt;" in page


def test_long_lists_are_paged_and_capped_with_every_row_in_the_csv(cfg: CustomerConfig,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from vp2pd.report import build as page_builder

    _warehouse(cfg)
    con = connect(cfg.warehouse_path)
    con.execute("insert into pipedrive.migration__skipped select 'appointments', i::varchar, 'cancelled', 'c', "
                "'skipped' from range(10) t(i)")
    con.close()
    monkeypatch.setattr(page_builder, "PAGE_ROWS", 2)
    monkeypatch.setattr(page_builder, "INLINE_MAX", 6)
    path = build_report(cfg, RUN)
    page = path.read_text(encoding="utf-8")
    # 10 cancelled: 6 shown in 3 pages of 2, the 10 in the CSV.
    assert "skipped: cancelled (10; the first 6 here, every one in skipped.csv)" in page
    assert "<summary>rows 5–6</summary>" in page and "<summary>rows 7–8</summary>" not in page
    rows = list(csv.DictReader(io.StringIO((path.parent / "skipped.csv").read_text(encoding="utf-8-sig"))))
    assert sum(r["reason"] == "cancelled" for r in rows) == 10


def test_a_run_that_stopped_before_extraction_still_gets_its_report(cfg: CustomerConfig) -> None:
    path = build_report(cfg, "r-0")  # no warehouse, no reports: every section says what to run
    page = path.read_text(encoding="utf-8")
    for hint in ("vp2pd extract -c demo", "vp2pd transform -c demo", "a load (the ledger)", "vp2pd load -c demo"):
        assert f"Not run yet: {hint}" in page, hint
    assert not (path.parent / "skipped.csv").exists()  # no list was made, none pretended


def test_charts_escape_labels_and_survive_odd_values() -> None:
    from vp2pd.report import svg

    chart = svg.bars([{"name": EVIL, "n": "n/a"}, {"name": "b", "n": 3}], "name", ["n"], title="<t>")
    assert "<script" not in chart and "&lt;script&gt;" in chart and "&lt;t&gt;" in chart
    assert 'width="0.0"' not in chart and chart.count("<rect") == 1  # the non-number draws no bar
    assert svg.line([("a", 1.0)]) == "" and "polyline" in svg.line([("a", 1.0), ("b", 5.0)])

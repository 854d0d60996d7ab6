"""The whole demo (`vp2pd demo` = the runbook under papermill) on a messy practice: every step ran,
the accounting balances, reconciliation found nothing; the notebooks under nbval against what it
left; the rollback refuses without the typed slug and undoes everything with it; no secret and no
health number in any output. Tests run in file order on one worker (they share the session run)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.runbook.conftest import CLIENTS, PD_SENTINEL, VP_SENTINEL, DemoRun, Live
from vp2pd.config import REPO_ROOT
from vp2pd.runbook.execute import DEFAULT_STEPS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("runbook_demo")]
LOADED = ("organizations", "persons", "products", "deals", "activities", "notes", "files")


def test_demo_runs_every_step_and_writes_the_record(demo_run: DemoRun) -> None:
    log = demo_run.log.read_text(encoding="utf-8")
    assert demo_run.returncode == 0, log[-4000:]
    record = demo_run.record
    assert [s["step"] for s in record["steps"]] == list(DEFAULT_STEPS)
    assert all(s["status"] == "ok" for s in record["steps"]), record["steps"]
    for s in record["steps"]:  # the executed notebook and its HTML are the record of the step
        assert Path(s["notebook"]).is_file() and Path(s["html"]).stat().st_size > 10_000
    assert Path(record["report"]).is_file() and f"report: {record['report']}" in log.replace("\n", "")
    assert "vp2pd demo --rollback" in log
    # The map was accepted explicitly, in the demo's own copy of the customer, never in the repository's.
    confirmed = yaml.safe_load((demo_run.build / "customers" / "demo" / "mapping" / "confirmed.yml").read_text("utf-8"))
    assert confirmed["reviewer"] == "make demo (--accept-all)" and "--accept-all" in confirmed["confirmed_with"]
    assert confirmed["content_hash"].startswith("sha256:")
    shipped = yaml.safe_load((REPO_ROOT / "customers" / "demo" / "mapping" / "confirmed.yml").read_text("utf-8"))
    assert "reviewer" not in shipped


def test_accounting_balances_and_reconciliation_finds_no_mismatch(demo_run: DemoRun) -> None:
    reconcile = demo_run.step("reconcile")["data"]
    assert reconcile["ok"] and reconcile["mismatches"] == 0
    accounting = {a["source_collection"]: a for a in reconcile["accounting"]}
    for row in accounting.values():
        assert row["migrated"] + row["skipped"] + row["quarantined"] == row["extracted"], row
    con = duckdb.connect(str(demo_run.build / "demo.duckdb"), read_only=True)
    try:
        extracted = dict(con.execute("select collection, extracted from raw_visual_practice._extract_report "
                                     "where extracted > 0").fetchall())
        skipped = con.execute("select count(*) from pipedrive.migration__skipped").fetchone()[0]
    finally:
        con.close()
    assert {c: accounting[c]["extracted"] for c in extracted} == extracted
    assert accounting["clients"]["extracted"] >= CLIENTS
    assert skipped > 0 and sum(a["skipped"] for a in accounting.values()) > 0  # a messy practice skips some
    # Claims are PHI and the demo's config does not retain them: none migrated, all accounted as skipped.
    assert accounting["claims"]["migrated"] == 0 and accounting["claims"]["skipped"] == accounting["claims"]["extracted"]


def test_pipedrive_holds_what_the_reconciliation_counted(demo_run: DemoRun, live: Live) -> None:
    objects = {o["object"]: o for o in demo_run.step("reconcile")["data"]["objects"]}
    account = live.account()
    for name in LOADED:
        assert len(account[name]) == objects[name]["in_pipedrive"], name
    assert len(account["persons"]) > CLIENTS  # clients and contacts became persons


def test_every_notebook_runs_under_nbval_against_the_demo(live: Live) -> None:
    notebooks = sorted((REPO_ROOT / "notebooks").glob("0*.ipynb"))
    assert len(notebooks) == 9
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", *map(str, notebooks), "-q",
                           "-p", "no:cacheprovider", "-p", "no:xdist"], cwd=REPO_ROOT, env=live.env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " failed" not in proc.stdout and "passed" in proc.stdout
    before = live.account()
    assert before["persons"], "the dry runs left the account as the demo loaded it"


def test_rollback_refuses_without_the_typed_slug(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    from vp2pd.runbook import steps

    for name, value in live.env.items():
        monkeypatch.setenv(name, value)
    before = live.account()
    planned = steps.rollback("demo", dry_run=True)
    assert planned.ok and sum(r["operations"] for r in planned.tables[0].rows) > len(before["persons"])
    refused = steps.rollback("demo", dry_run=False, confirm="not-the-slug")  # and no stdin to ask on
    assert not refused.ok and "type the customer slug 'demo'" in (refused.problem or "")
    with pytest.raises(steps.StepFailed, match="rollback: type the customer slug"):
        steps.finish(refused)
    assert live.account() == before


def test_rollback_with_the_slug_empties_the_account(live: Live) -> None:
    proc = subprocess.run([sys.executable, "-m", "vp2pd.cli", "run", "--customer", "demo", "--steps", "rollback",
                           "--confirm", "demo"], cwd=REPO_ROOT, env=live.env, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    after = live.account()
    assert all(not after[name] for name in LOADED), {n: len(after[n]) for n in LOADED}


def _text_dump(warehouse: Path) -> str:
    """Every table of every schema of a DuckDB file, as text (the ledger and everything else)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        parts = []
        for schema, name in con.execute("select table_schema, table_name from information_schema.tables").fetchall():
            rows = con.execute(f'select * from "{schema}"."{name}"').fetchall()
            parts.append(f"{schema}.{name}\n" + "\n".join(map(repr, rows)))
        return "\n".join(parts)
    finally:
        con.close()


def _outputs(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_secret_in_any_output(demo_run: DemoRun) -> None:
    needles = [s.encode() for s in (VP_SENTINEL, PD_SENTINEL)]
    needles.append(base64.b64encode(f"{VP_SENTINEL}:".encode()))  # the VP API's Basic auth header
    files = _outputs(demo_run.root)
    assert len(files) > 50 and any(p.suffix == ".ipynb" for p in files) and demo_run.log in files
    leaks = [f"{p}: {n[:12]!r}" for p in files for n in needles if n in p.read_bytes()]
    dump = _text_dump(demo_run.build / "demo.duckdb")
    assert "ledger.operations" in dump and "ledger.runs" in dump
    leaks += [f"warehouse dump: {n[:12]!r}" for n in needles if n.decode() in dump]
    assert not leaks, leaks


def test_no_health_number_in_any_output(demo_run: DemoRun) -> None:
    store = duckdb.connect(str(demo_run.build / "demo" / "practice" / "store.duckdb"), read_only=True)
    try:
        numbers = {r[0] for r in store.execute(
            "select json_extract_string(doc, '$.health_number') from clients union "
            "select json_extract_string(doc, '$.health_number') from claims").fetchall() if r[0]}
    finally:
        store.close()
    assert len(numbers) >= 5
    # The outputs: the run's record, reports, logs, the Pipedrive account; not the source data (the
    # generated practice) nor the raw layer, which hold them by nature.
    outputs = [p for p in _outputs(demo_run.root) if "practice" not in p.parts and p.suffix != ".duckdb"]
    assert any(p.name == "pipedrive-sandbox.json" for p in outputs)
    leaks = [f"{p}: {n}" for p in outputs for n in numbers if n.encode() in p.read_bytes()]
    con = duckdb.connect(str(demo_run.build / "demo.duckdb"), read_only=True)
    try:
        for schema in ("pipedrive", "ledger"):
            for (name,) in con.execute("select table_name from information_schema.tables where table_schema = ?",
                                       [schema]).fetchall():
                text = repr(con.execute(f'select * from "{schema}"."{name}"').fetchall())
                leaks += [f"{schema}.{name}: {n}" for n in numbers if n in text]
    finally:
        con.close()
    assert not leaks, leaks[:10]

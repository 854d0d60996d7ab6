"""`vp2pd run` without a demo behind it: step names checked, and a run stops at the first failed
step, says which and why, and leaves the executed notebook, its HTML and the run's page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vp2pd.config import REPO_ROOT
from vp2pd.runbook.execute import DEFAULT_STEPS, STEPS, parse_steps


def test_steps_are_parsed_in_runbook_order_and_unknown_ones_named() -> None:
    assert [s.name for s in parse_steps(None)] == list(DEFAULT_STEPS)
    assert [s.name for s in parse_steps("reconcile, extract,extract")] == ["extract", "reconcile"]
    assert [s.notebook[:2] for s in STEPS] == [f"0{i}" for i in range(1, 10)]
    assert all((REPO_ROOT / "notebooks" / s.notebook).is_file() for s in STEPS)
    with pytest.raises(ValueError, match="unknown step.*lode"):
        parse_steps("extract,lode")


@pytest.mark.slow
def test_run_stops_at_the_first_failed_step_and_says_why(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VP2PD_BUILD_DIR": str(tmp_path / "build"),
           "VP2PD_RUNS_DIR": str(tmp_path / "runs"), "VP_API_KEY": "k-not-used"}  # no PIPEDRIVE_API_TOKEN
    proc = subprocess.run([sys.executable, "-m", "vp2pd.cli", "run", "--steps", "preflight,reconcile",
                           "--run-id", "r1"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "step preflight failed" in out and "PIPEDRIVE_API_TOKEN is not set" in out
    folder = tmp_path / "runs" / "demo" / "r1"
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert [(s["step"], s["status"]) for s in record["steps"]] == [("preflight", "failed")]  # reconcile never ran
    assert (folder / "01_preflight.ipynb").is_file() and (folder / "01_preflight.html").is_file()
    assert not (folder / "08_reconcile.ipynb").exists()
    assert "PIPEDRIVE_API_TOKEN is not set" in (folder / "runbook.html").read_text(encoding="utf-8")


def test_run_page_escapes_values_from_the_data_and_draws_the_bars(tmp_path: Path) -> None:
    from vp2pd.config import load_customer
    from vp2pd.runbook.display import Outcome, Table
    from vp2pd.runbook.execute import RunRecord, StepRecord
    from vp2pd.runbook.record import write_run_report
    from vp2pd.runbook.steps import StepFailed, finish

    cfg = load_customer("demo").model_copy(update={"build_dir": tmp_path / "build"})
    evil = '<script>alert("x")</script>'
    outcome = Outcome("reconcile", f"1 mismatch in {evil}", ok=False, problem=evil,
                      tables=[Table("Skipped", [{"reason": evil, "records": 3}, {"reason": "cancelled", "records": 9}],
                                    bar="records")], lines={"tokens": [("10:00:00", 10.0), ("10:00:01", 35.0)]})
    with pytest.raises(StepFailed, match="reconcile: <script>"):
        finish(outcome, tmp_path)
    record = RunRecord("demo", "r1", str(tmp_path), "2026-12-01T00:00:00+00:00",
                       [StepRecord("reconcile", str(tmp_path / "08_reconcile.ipynb"), status="failed", error=evil)])
    page = write_run_report(cfg, record).read_text(encoding="utf-8")
    assert evil not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("<rect") == 2 and "<polyline" in page and ">35<" in page

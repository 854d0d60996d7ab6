"""`vp2pd run`: execute the runbook notebooks with papermill into `runs/<customer>/<run_id>/`,
render each to HTML, stop at the first failed step (saying which and why), then build the report.

The executed notebooks are the record of the run. Notebooks run in kernels that inherit this
process's environment (secrets, VP2PD_* overrides); parameters never carry a secret.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from vp2pd.config import REPO_ROOT, CustomerConfig
from vp2pd.mapping.gate import confirmed_path, fields_hash, read_confirmed
from vp2pd.secrets import redact

NOTEBOOKS = REPO_ROOT / "notebooks"


@dataclass(frozen=True)
class Step:
    name: str
    notebook: str


STEPS = (
    Step("preflight", "01_preflight.ipynb"), Step("extract", "02_extract.ipynb"),
    Step("review", "03_review_mapping.ipynb"), Step("transform", "04_transform_validate.ipynb"),
    Step("sample", "05_sample_migration.ipynb"), Step("load", "06_full_load.ipynb"),
    Step("delta", "07_delta_pickup.ipynb"), Step("reconcile", "08_reconcile.ipynb"),
    Step("rollback", "09_rollback.ipynb"),
)
BY_NAME = {s.name: s for s in STEPS}
# The initial migration. Delta pickup comes after cutover; rollback only when asked for by name.
DEFAULT_STEPS = ("preflight", "extract", "review", "transform", "sample", "load", "reconcile")


class RunFailed(RuntimeError):
    """A step failed; `.step` names it and the message says why."""

    def __init__(self, step: str, reason: str, record: "RunRecord") -> None:
        super().__init__(f"step {step} failed: {reason}")
        self.step, self.reason, self.record = step, reason, record


@dataclass
class StepRecord:
    step: str
    notebook: str
    html: str | None = None
    status: str = "pending"  # ok | failed
    seconds: float = 0.0
    error: str | None = None


@dataclass
class RunRecord:
    customer: str
    run_id: str
    folder: str
    started: str
    steps: list[StepRecord] = field(default_factory=list)
    status: str = "running"
    report: str | None = None

    def write(self) -> Path:
        path = Path(self.folder) / "run.json"
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path


def runs_dir() -> Path:
    return Path(os.environ.get("VP2PD_RUNS_DIR", REPO_ROOT / "runs"))


def new_run_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{pysecrets.token_hex(3)}"


def parse_steps(text: str | None) -> list[Step]:
    names = [s.strip() for s in (text or ",".join(DEFAULT_STEPS)).split(",") if s.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(BY_NAME)}")
    order = {s.name: i for i, s in enumerate(STEPS)}
    return [BY_NAME[n] for n in sorted(dict.fromkeys(names), key=order.__getitem__)]


def parameters(step: Step, cfg: CustomerConfig, run_id: str, folder: Path, *, dry_run: bool, accept_all: bool,
               reviewer: str, sample_size: int, confirm: str) -> dict[str, Any]:
    if step.name == "review":  # the review notebook's own parameters (notebooks/03_review_mapping.ipynb)
        if accept_all:  # explicit: the map is accepted as proposed, and confirmed.yml says so
            return {"customer": cfg.slug, "refresh": True, "accept_all": True, "reviewer": reviewer, "save": True}
        return {"customer": cfg.slug, "refresh": False, "save": False}
    params: dict[str, Any] = {"customer": cfg.slug, "run_id": run_id, "run_dir": str(folder)}
    if step.name not in ("preflight", "reconcile"):
        params["dry_run"] = dry_run
    if step.name == "sample":
        params["sample_size"] = sample_size
    if step.name == "rollback":
        params["confirm"] = confirm
    return params


def map_confirmed(cfg: CustomerConfig) -> str | None:
    """None when confirmed.yml was confirmed by a review and not edited since; else what to do."""
    try:
        data = read_confirmed(cfg)
    except Exception as exc:  # MapNotConfirmed names the step to run
        return str(exc)
    if not (data.get("reviewer") and data.get("content_hash")):
        return (f"{confirmed_path(cfg)} is not confirmed yet: review it in notebooks/03_review_mapping.ipynb and "
                f"save, or pass --accept-all to accept every proposal (recorded in the map)")
    if data["content_hash"] != fields_hash(data["fields"]):
        return f"{confirmed_path(cfg)} was edited after it was confirmed: confirm it again"
    return None


def render_html(notebook: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    out = notebook.with_suffix(".html")
    out.write_text(redact(body), encoding="utf-8")
    return out


def _error(exc: Exception) -> str:
    """The failed cell's exception, one line (papermill's own message has the whole traceback)."""
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    text = f"{ename}: {evalue}" if ename else f"{type(exc).__name__}: {exc}"
    return redact(text.strip().splitlines()[0] if text.strip() else type(exc).__name__)


def run(cfg: CustomerConfig, steps: list[Step], *, run_id: str | None = None, dry_run: bool = False,
        accept_all: bool = False, reviewer: str = "runbook", sample_size: int = 100, confirm: str = "",
        on_step: Callable[[StepRecord], None] | None = None) -> RunRecord:
    """Execute `steps` in order; raises RunFailed at the first failed one (after rendering it)."""
    import papermill as pm

    run_id = run_id or new_run_id()
    folder = (runs_dir() / cfg.slug / run_id).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    record = RunRecord(cfg.slug, run_id, str(folder), datetime.now(timezone.utc).isoformat(timespec="seconds"))
    for step in steps:
        out = folder / step.notebook
        rec = StepRecord(step.name, str(out))
        record.steps.append(rec)
        started = time.perf_counter()
        failure: str | None = None
        try:
            pm.execute_notebook(str(NOTEBOOKS / step.notebook), str(out), kernel_name="python3", cwd=str(REPO_ROOT),
                                progress_bar=False, log_output=False,
                                # the kernel's start-up warnings (TCP on 127.0.0.1) are noise in a run's log
                                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                                parameters=parameters(step, cfg, run_id, folder, dry_run=dry_run,
                                                      accept_all=accept_all, reviewer=reviewer,
                                                      sample_size=sample_size, confirm=confirm))
        except Exception as exc:  # papermill's PapermillExecutionError, or a kernel that died
            failure = _error(exc)
        if failure is None and step.name == "review" and not dry_run:
            failure = map_confirmed(cfg)
        rec.seconds = round(time.perf_counter() - started, 1)
        if out.is_file():
            _scrub_notebook(out)
            rec.html = str(render_html(out))
        rec.status, rec.error = ("failed", failure) if failure else ("ok", None)
        if on_step:
            on_step(rec)
        if failure:
            record.status = "failed"
            record.report = str(build_report(cfg, record))
            record.write()
            raise RunFailed(step.name, failure, record)
    record.status = "completed"
    record.report = str(build_report(cfg, record))
    record.write()
    return record


def _scrub_notebook(path: Path) -> None:
    """A secret that reached an output (an error message quoting a URL, say) is redacted in the record."""
    text = path.read_text(encoding="utf-8")
    clean = redact(text)
    if clean != text:
        path.write_text(clean, encoding="utf-8")


def build_report(cfg: CustomerConfig, record: RunRecord) -> Path:
    """The analysts' migration report (report.html), then the runbook page linking it; the path of the
    migration report, or of the runbook page when the report builder is not in the tree."""
    from vp2pd.runbook.record import write_run_report
    from vp2pd.runbook.wiring import migration_report

    migration = migration_report(cfg, record.run_id, Path(record.folder))
    page = write_run_report(cfg, record)
    return migration or page

"""Where the runbook meets packages added alongside it (the sample load with its field diff, the
delta pickup, the analysts' migration report): each is used when its module is in the tree, and
the step says so when it is not."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from vp2pd.aio import run_sync
from vp2pd.config import CustomerConfig
from vp2pd.runbook.display import Outcome, Table


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def sample_available() -> bool:
    return _present("loaders.pipedrive.sample")


def delta_available() -> bool:
    return _present("loaders.pipedrive.delta")


def sample_outcome(cfg: CustomerConfig, sample_size: int, decision: str) -> Outcome:
    """The sample load (`vp2pd load --sample`), read back and diffed field by field. A clean diff gets
    `decision` (keep: the full load skips these records; rollback); a diff with mismatches stops the
    run with the sample awaiting a person's decision (`vp2pd sample-decision`)."""
    from loaders.pipedrive import commands

    data, page, csv_path = run_sync(commands.sample(cfg, sample_size))
    mismatches = int(data.get("mismatches") or 0)
    ok = data["status"] == "completed" and not mismatches
    if ok and decision:
        made = run_sync(commands.sample_decision(cfg, decision, data["run_id"]))
        data["decision"] = made["decision"]
    rows = sum(c.get("rows", 0) for c in (data.get("load") or {}).get("counts", {}).values())
    mismatching = [r for r in data.get("diff", []) if not r.get("match", True)]
    data.update(report=str(page), csv=str(csv_path))
    return Outcome("sample", f"sample run {data['run_id']}: {rows} records, {mismatches} field mismatches, "
                             f"decision {data.get('decision') or 'pending'}; diff {page}",
                   ok=ok, problem=None if ok else f"sample {data['status']}, {mismatches} field mismatches: review "
                                                  f"{page}, then `vp2pd sample-decision --keep` or `--rollback`",
                   tables=[Table("Sample diff per object and field", data.get("summary") or []),
                           Table("Mismatching fields (first 50)", mismatching[:50])],
                   data=data)


def delta_outcome(cfg: CustomerConfig, dry_run: bool) -> Outcome:
    """`vp2pd delta`: incremental extraction, marts rebuilt, then creates, updates and deletions sent."""
    from loaders.pipedrive import commands

    if dry_run:  # an incremental extraction writes the warehouse: a dry run shows where it would start
        from vp2pd.runbook.steps import _rows

        marks = _rows(cfg, "select * from raw_visual_practice._watermarks order by 1") \
            if cfg.warehouse_path.is_file() else []
        return Outcome("delta", f"dry run: the next pickup starts at the watermarks of {len(marks)} stream(s)",
                       tables=[Table("Watermarks (the next delta starts here)", marks)])
    data, page = run_sync(commands.delta(cfg))
    ok = data["status"] == "completed" and not data["rejections"]
    changes = [{"collection": k, **v} for k, v in (data.get("extraction") or {}).get("changes", {}).items()]
    return Outcome("delta", f"delta run {data['run_id']}: {data['status']}, {data['writes']} writes; {page}",
                   ok=ok, problem=None if ok else f"delta {data['status']}, {len(data['rejections'])} rejected "
                                                  f"(see {page})",
                   tables=[Table("Changed in Visual Practice", changes),
                           Table("Sent to Pipedrive per object", data["objects"]),
                           Table("Deleted at the source (decision)", data["deletions"]),
                           Table("Rejected", data["rejections"])], data={**data, "report": str(page)})


def migration_report(cfg: CustomerConfig, run_id: str, folder: Path) -> Path | None:
    """The analysts' migration report (vp2pd.report.build_report) when it is in the tree."""
    if not _present("vp2pd.report"):
        return None
    from vp2pd.report import build_report  # type: ignore[attr-defined]

    return build_report(cfg, run_id, run_dir=folder)

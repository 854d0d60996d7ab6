"""Where the runbook meets packages added alongside it (the sample load with its field diff, the
delta pickup, the analysts' migration report): each is used when its module is in the tree, and
the step says so when it is not."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

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
    """The sample load (a `sample` run of the exactly-once loader), read back and diffed field by
    field. A clean diff gets `decision` (keep: the full load skips these records; rollback); a diff
    with mismatches stops the run for a person to look at."""
    from loaders.pipedrive import commands
    from loaders.pipedrive.sample import decide, run_sample

    map_hash = commands.map_gate(cfg)

    async def go() -> tuple[dict[str, Any], dict[str, Any] | None]:
        async with commands.session(cfg) as (client, ledger):
            result = await run_sample(client, ledger, cfg.home, sample_size, currency=cfg.currency, map_hash=map_hash)
            data = result.as_json()
            decided = None
            if decision and result.status == "completed" and not data["mismatches"]:
                decided = await decide(client, ledger, result.run_id, decision)
            return data, decided

    data, decided = run_sync(go())
    data["decision"] = decided["decision"] if decided else None
    mismatching = [r for r in data["diff"] if not r.get("match", True)]
    ok = data["status"] == "completed" and not mismatching
    rows = sum(c.get("rows", 0) for c in data["load"].get("counts", {}).values())
    return Outcome("sample", f"sample run {data['run_id']}: {rows} records, {len(mismatching)} field mismatches, "
                             f"decision {data['decision'] or 'pending'}",
                   ok=ok, problem=None if ok else f"sample {data['status']}, {len(mismatching)} field mismatches: "
                                                  f"review the diff, then decide keep or rollback",
                   tables=[Table("Sample diff per object and field", summary_rows(data)),
                           Table("Mismatching fields (first 50)", mismatching[:50])],
                   data=data)


def summary_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = data.get("summary")
    return rows if isinstance(rows, list) else []


def delta_outcome(cfg: CustomerConfig, dry_run: bool) -> Outcome:
    """Incremental extraction, marts rebuilt, then creates, updates and deletions sent (a `delta` run)."""
    from loaders.pipedrive import commands
    from loaders.pipedrive.delta import extract_and_transform, run_delta

    if dry_run:  # an incremental extraction writes the warehouse: a dry run shows where it would start
        from vp2pd.runbook.steps import _rows

        marks = _rows(cfg, "select * from raw_visual_practice._watermarks order by 1") \
            if cfg.warehouse_path.is_file() else []
        return Outcome("delta", f"dry run: the next pickup starts at the watermarks of {len(marks)} stream(s)",
                       tables=[Table("Watermarks (the next delta starts here)", marks)])
    extracted = extract_and_transform(cfg)
    map_hash = commands.map_gate(cfg)

    async def go() -> dict[str, Any]:
        async with commands.session(cfg) as (client, ledger):
            return (await run_delta(client, ledger, cfg.home, currency=cfg.currency, map_hash=map_hash)).as_json()

    data = run_sync(go())
    data["extraction"] = data.get("extraction") or extracted
    ok = data["status"] == "completed" and not data["rejections"]
    changes = [{"collection": k, **v} for k, v in extracted.get("changes", {}).items()]
    return Outcome("delta", f"delta run {data['run_id']}: {data['status']}, {data['writes']} writes",
                   ok=ok, problem=None if ok else f"delta {data['status']}, {len(data['rejections'])} rejected",
                   tables=[Table("Changed in Visual Practice", changes),
                           Table("Sent to Pipedrive per object", data["objects"]),
                           Table("Deleted at the source (decision)", data["deletions"]),
                           Table("Rejected", data["rejections"])], data=data)


def migration_report(cfg: CustomerConfig, run_id: str, folder: Path) -> Path | None:
    """The analysts' migration report (vp2pd.report.build_report) when it is in the tree."""
    if not _present("vp2pd.report"):
        return None
    from vp2pd.report import build_report  # type: ignore[attr-defined]

    return build_report(cfg, run_id, run_dir=folder)

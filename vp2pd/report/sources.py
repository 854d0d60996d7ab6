"""What the migration report reads: the JSON the steps wrote and the customer's warehouse.

Every reader returns None when its step has not run (no file, no table), so the page says "not run"
for that section instead of failing: a report is wanted most when a run stopped halfway.
The warehouse is opened read-only; nothing here writes anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import duckdb

from vp2pd.config import CustomerConfig


def read_json(path: Path) -> Any | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # a half-written file: say so in the report, do not fail the page
        return {"unreadable": f"{path.name}: {exc}"}


def load_json(cfg: CustomerConfig, run_id: str | None) -> Any | None:
    """The load report of `run_id` (load_<run_id>.json), else the newest load report."""
    if run_id and (found := read_json(cfg.reports_dir / f"load_{run_id}.json")) is not None:
        return found
    candidates = sorted(cfg.reports_dir.glob("load_*.json"), key=lambda p: p.stat().st_mtime)
    return read_json(candidates[-1]) if candidates else None


def sample_json(cfg: CustomerConfig, run_dir: Path) -> Any | None:
    """The sample load's diff: the runbook's sample step record (its `data.sample`), else a
    `sample*.json` the sample load wrote under reports/ (newest)."""
    step = read_json(run_dir / "sample.json")
    if isinstance(step, dict) and isinstance(step.get("data"), dict) and step["data"].get("sample"):
        return step["data"]["sample"]
    candidates = sorted(cfg.reports_dir.glob("sample*.json"), key=lambda p: p.stat().st_mtime)
    return read_json(candidates[-1]) if candidates else None


class Warehouse:
    """A view of the customer's DuckDB file (read-only unless this process already holds it open for
    writing: DuckDB refuses a second, differently configured connection to one file in a process,
    so then it joins that database instance the way every other module opens it)."""

    def __init__(self, path: Path) -> None:
        try:
            self.con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error:
            from vp2pd.warehouse import connect

            self.con = connect(path)
        found = self.con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
        self.tables = {r[0] for r in found}

    def close(self) -> None:
        self.con.close()

    def has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        rel = self.con.execute(sql, list(params))
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r)) for r in rel.fetchall()]


def open_warehouse(cfg: CustomerConfig) -> Warehouse | None:
    if not cfg.warehouse_path.is_file():
        return None
    return Warehouse(cfg.warehouse_path)


def extraction(wh: Warehouse) -> list[dict[str, Any]] | None:
    """The latest extraction's report per collection (raw_visual_practice._extract_report)."""
    if not wh.has("raw_visual_practice._extract_report"):
        return None
    return wh.rows("select collection, source, reported, extracted, healed, quarantined, status, detail "
                   "from raw_visual_practice._extract_report where run_id = (select run_id from "
                   "raw_visual_practice._extract_report order by finished_at desc limit 1) order by collection")


def skipped(wh: Warehouse) -> list[dict[str, Any]] | None:
    """Every record the transform skipped or reported (pipedrive.migration__skipped), with its reason."""
    if not wh.has("pipedrive.migration__skipped"):
        return None
    return wh.rows("select kind, source_collection, source_id, reason, detail from pipedrive.migration__skipped "
                   "order by kind, reason, source_collection, try_cast(source_id as bigint), source_id")


def quarantined(wh: Warehouse) -> list[dict[str, Any]]:
    """Rows the extractors could not land (with the line or id and the reason) and rows Pipedrive
    refused during a load (the ledger's rejected operations, last message per record)."""
    out: list[dict[str, Any]] = []
    if wh.has("raw_visual_practice._quarantine"):
        out += wh.rows("select 'extraction' as stage, collection as source_collection, line_or_id as source_id, "
                       "reason, location as detail from raw_visual_practice._quarantine "
                       "order by collection, line_or_id")
    if wh.has("ledger.intents", "ledger.outcomes"):
        out += wh.rows("select 'load' as stage, object as source_collection, source_key as source_id, "
                       "'rejected by Pipedrive' as reason, message as detail from ("
                       "select object, source_key, arg_max(message, updated) as message, bool_or(status in "
                       "('done', 'resolved')) as landed, bool_or(status = 'rejected') as rejected "
                       "from ledger.operations group by object, source_key) where rejected and not landed "
                       "order by object, source_key")
    return out


def accounting(wh: Warehouse) -> list[dict[str, Any]] | None:
    """Per raw collection: migrated + skipped + quarantined (+ unaccounted) = extracted, computed
    by the reconciliation's own query over the warehouse (one definition of the accounting)."""
    from loaders.pipedrive.reconcile import _accounting
    from loaders.pipedrive.sequence import STEPS

    needed = ["ledger.id_map", "pipedrive.migration__skipped", "pipedrive.pipedrive__custom_fields",
              "pipedrive.pipedrive__owner_candidates", *(f"pipedrive.{s.mart}" for s in STEPS)]
    if not wh.has(*needed):
        return None
    return _accounting(wh)  # type: ignore[arg-type] - it needs only `.con` and `.rows`


MAX_POINTS = 300


def token_spend(wh: Warehouse, run_id: str | None) -> dict[str, Any] | None:
    """Tokens of the writes the ledger recorded (every intent carries its x-token-cost): per run and
    object, and cumulative over time (per second, at most MAX_POINTS points) for the chart."""
    if not wh.has("ledger.intents", "ledger.runs"):
        return None
    per_run = wh.rows("select r.run_id, r.kind, r.status, count(i.op_id) as calls, "
                      "coalesce(sum(i.tokens), 0) as tokens from ledger.runs r left join ledger.intents i "
                      "using (run_id) group by all order by min(r.started)")
    known = bool(run_id) and any(r["run_id"] == run_id for r in per_run)
    scope, params = ("where run_id = ?", [run_id]) if known else ("", [])
    per_object = wh.rows(f"select object, count(*) as calls, coalesce(sum(tokens), 0) as tokens from ledger.intents "
                         f"{scope} group by object order by tokens desc, object", params)
    timeline = wh.rows(f"select strftime(date_trunc('second', created), '%Y-%m-%d %H:%M:%S') as at, "
                       f"sum(coalesce(sum(tokens), 0)) over (order by date_trunc('second', created)) as cumulative "
                       f"from ledger.intents {scope} group by date_trunc('second', created) order by 1", params)
    if len(timeline) > MAX_POINTS:  # every k-th second and the last: the line's shape, not every point
        step = -(-len(timeline) // MAX_POINTS)
        timeline = timeline[::step] + ([timeline[-1]] if (len(timeline) - 1) % step else [])
    return {"scope": run_id if scope else "all runs", "per_run": per_run, "per_object": per_object,
            "timeline": timeline}

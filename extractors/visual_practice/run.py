"""Run one extraction (API or CSV export) for a customer: the bookkeeping around both extractors.

Opens the customer's warehouse, records the run, lands the data, writes
`raw_visual_practice._extract_report`, and fails with a clear message when a count gap could
not be healed (after the report is written, so the analyst sees which collection and by how much).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from extractors.visual_practice import raw
from vp2pd.aio import run_sync
from vp2pd.clock import SYSTEM_CLOCK, Clock
from vp2pd.config import CustomerConfig
from vp2pd.secrets import vp_api_key
from vp2pd.warehouse import connect


class ExtractionFailed(RuntimeError):
    pass


@dataclass
class ExtractionResult:
    run_id: str
    source: str
    mode: str
    warehouse: Path
    reports: list[raw.CollectionReport]

    @property
    def ok(self) -> bool:
        return all(r.status in ("ok", "not_available", "not_in_export") for r in self.reports)


def run_extraction(
    cfg: CustomerConfig,
    *,
    source: str | None = None,
    incremental: bool = False,
    csv_path: Path | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ExtractionResult:
    source = source or cfg.visual_practice.source
    if source not in ("api", "csv"):
        raise ExtractionFailed(f"unknown source {source!r}: use api or csv")
    mode = "incremental" if incremental else "full"
    con = connect(cfg.warehouse_path)
    try:
        raw.ensure_schema(con)
        run_id = raw.new_run_id()
        raw.start_run(con, run_id, source, mode)
        try:
            if source == "api":
                reports = run_sync(_extract_api(con, cfg, run_id, incremental, transport, clock))
            else:
                reports = _extract_csv(con, cfg, run_id, csv_path)
        except Exception as exc:
            raw.finish_run(con, run_id, "failed", str(exc)[:2000])
            raise
        raw.write_report(con, run_id, reports)
        result = ExtractionResult(run_id, source, mode, cfg.warehouse_path, reports)
        gaps = [r for r in reports if r.status == "gap"]
        raw.finish_run(con, run_id, "ok" if not gaps else "gap", "; ".join(f"{r.collection}: {r.detail}" for r in gaps) or None)
    finally:
        con.close()
    if gaps:
        raise ExtractionFailed(
            "counts still differ after healing — " + "; ".join(f"{r.collection}: {r.detail}" for r in gaps)
            + f" (run {run_id}; see raw_visual_practice._extract_report)"
        )
    return result


async def _extract_api(con, cfg: CustomerConfig, run_id: str, incremental: bool,
                       transport: httpx.AsyncBaseTransport | None, clock: Clock) -> list[raw.CollectionReport]:
    from extractors.visual_practice.api.client import VPClient
    from extractors.visual_practice.api.extract import extract_api

    vp = cfg.visual_practice
    async with VPClient(vp.base_url, vp_api_key(), user_agent=vp.user_agent, requests_per_minute=vp.requests_per_minute,
                        timeout_s=vp.timeout_s, max_retries=vp.max_retries, clock=clock, transport=transport) as client:
        return await extract_api(con, cfg, run_id, client, incremental=incremental)


def _extract_csv(con, cfg: CustomerConfig, run_id: str, csv_path: Path | None) -> list[raw.CollectionReport]:
    from extractors.visual_practice.export.extract import extract_export

    path = csv_path or (cfg.resolve(cfg.visual_practice.csv_path) if cfg.visual_practice.csv_path else None)
    if path is None:
        raise ExtractionFailed("no CSV export given: pass --csv-path or set visual_practice.csv_path in customer.yml")
    if not path.exists():
        raise ExtractionFailed(f"CSV export {path} does not exist")
    return extract_export(con, cfg, path, run_id)

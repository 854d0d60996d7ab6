"""What the CLI's preflight / setup / load / sample-decision / delta / reconcile / rollback do for a
customer: open the warehouse's ledger, a client from the environment's token, run, write the reports."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from vp2pd.config import CustomerConfig

from loaders.pipedrive import reports
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.ledger import Ledger


def map_gate(cfg: CustomerConfig) -> str:
    """The load refuses to start without a confirmed map whose hash the marts were built from
    (vp2pd.mapping.gate raises MapNotConfirmed naming the step to run); its hash goes in the run."""
    from vp2pd.mapping.gate import require_confirmed

    return require_confirmed(cfg)


@asynccontextmanager
async def session(cfg: CustomerConfig, client_factory: Callable[[], PipedriveClient] | None = None
                  ) -> AsyncIterator[tuple[PipedriveClient, Ledger]]:
    ledger = Ledger.open(cfg.warehouse_path)
    try:
        factory = client_factory or (lambda: PipedriveClient.from_env(**cfg.pipedrive.client_options()))
        async with factory() as client:
            yield client, ledger
    finally:
        ledger.close()


async def preflight(cfg: CustomerConfig, **kw: Any) -> tuple[dict[str, Any], Path]:
    from loaders.pipedrive.preflight import run_preflight
    from loaders.pipedrive.setup import plan_setup, read_account

    p = cfg.pipedrive
    async with session(cfg, **kw) as (client, ledger):
        found = await run_preflight(client, ledger.con, cfg.home, plan=p.plan, seats=p.seats,
                                    daily_budget=p.daily_budget, reserve=p.reserve_tokens)
        schema = plan_setup(await read_account(client, ledger, cfg.pipeline_path))
    data = found.as_json()
    data["schema"] = schema.as_json()
    if schema.conflicts:  # setup would stop at the first: say so before anything is written
        problems = [data["problem"]] if data["problem"] else []
        data["problem"] = "; ".join(problems + [f"field type conflict: {c}" for c in schema.conflicts])
        data["ok"] = False
    return data, reports.preflight_report(cfg.reports_dir, data)


async def setup(cfg: CustomerConfig, **kw: Any) -> dict[str, Any]:
    from loaders.pipedrive.setup import run_setup

    async with session(cfg, **kw) as (client, ledger):
        return vars(await run_setup(client, ledger, cfg.pipeline_path))


class SampleUndecided(ValueError):
    """A full load (or delta) while a sample's records wait for the reviewer's keep / rollback."""


def require_sample_decided(ledger: Ledger) -> None:
    pending = ledger.undecided_sample()
    if pending:
        raise SampleUndecided(f"sample run {pending} awaits the reviewer's decision: run `vp2pd sample-decision "
                              f"--keep` (the full load then skips its records) or `--rollback` first")


async def load(cfg: CustomerConfig, *, stop_at_budget: bool = False, progress: bool | None = None,
               **kw: Any) -> tuple[dict[str, Any], Path]:
    from loaders.pipedrive.delta import record_field_baselines
    from loaders.pipedrive.load import Loader
    from loaders.pipedrive.progress import for_terminal

    map_hash = map_gate(cfg)
    async with session(cfg, **kw) as (client, ledger):
        require_sample_decided(ledger)
        loader = Loader(client, ledger, cfg.home, currency=cfg.currency, stop_at_budget=stop_at_budget,
                        progress=for_terminal(progress))
        result = await loader.run(map_hash=map_hash)
        if result.status == "completed":  # the delta's field baselines, from the bodies just sent (no API call)
            result.notes.append(f"field baselines recorded for {record_field_baselines(loader, result.run_id):,} "
                                f"records (a delta keeps Pipedrive users' edits of fields the source did not change)")
    data = result.as_json()
    return data, reports.load_report(cfg.reports_dir, data)


async def reconcile(cfg: CustomerConfig, **kw: Any) -> tuple[dict[str, Any], Path]:
    from loaders.pipedrive.reconcile import run_reconcile

    async with session(cfg, **kw) as (client, ledger):
        data = (await run_reconcile(client, ledger, cfg.home, currency=cfg.currency)).as_json()
    return data, reports.reconcile_report(cfg.reports_dir, data)


async def rollback(cfg: CustomerConfig, run_ids: list[str] | None, dry_run: bool, **kw: Any) -> dict[str, Any]:
    from loaders.pipedrive.rollback import run_rollback

    async with session(cfg, **kw) as (client, ledger):
        return vars(await run_rollback(client, ledger, run_ids, dry_run=dry_run))


async def sample(cfg: CustomerConfig, size: int, *, quirks: Path | None = None, decision: str | None = None,
                 **kw: Any) -> tuple[dict[str, Any], Path, Path]:
    """Load a stratified sample, diff it field by field; with `decision`, keep or roll it back at once."""
    from loaders.pipedrive.sample import decide, run_sample

    map_hash = map_gate(cfg)
    async with session(cfg, **kw) as (client, ledger):
        pending = ledger.undecided_sample()
        if pending:
            raise SampleUndecided(f"sample run {pending} awaits a decision: `vp2pd sample-decision --keep` or "
                                  f"`--rollback` before another sample")
        result = await run_sample(client, ledger, cfg.home, size, currency=cfg.currency, quirks=quirks,
                                  map_hash=map_hash)
        if decision and result.status == "completed":
            made = await decide(client, ledger, result.run_id, decision)
            result.decision, result.rollback = made["decision"], made["rollback"]
    data = result.as_json()
    page, csv_path = reports.sample_report(cfg.reports_dir, data)
    return data, page, csv_path


async def sample_decision(cfg: CustomerConfig, decision: str, run_id: str | None = None, **kw: Any) -> dict[str, Any]:
    from loaders.pipedrive.sample import decide

    async with session(cfg, **kw) as (client, ledger):
        return await decide(client, ledger, run_id, decision)


async def delta(cfg: CustomerConfig, *, extract: dict[str, Any] | None = None, exclude: str | None = None,
                **kw: Any) -> tuple[dict[str, Any], Path]:
    """Incremental extraction and rebuilt marts (before the ledger opens the warehouse: dbt runs in a
    child process and needs the file), then the delta run."""
    from loaders.pipedrive.delta import extract_and_transform, run_delta

    extraction = extract_and_transform(cfg, exclude=exclude, **(extract or {}))
    map_hash = map_gate(cfg)
    async with session(cfg, **kw) as (client, ledger):
        require_sample_decided(ledger)
        result = await run_delta(client, ledger, cfg.home, currency=cfg.currency, map_hash=map_hash)
    result.extraction = extraction
    data = result.as_json()
    return data, reports.delta_report(cfg.reports_dir, data)

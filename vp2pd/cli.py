"""The `vp2pd` command line. Commands are thin: they parse options and call into the packages.

Heavy imports happen inside the commands so that `vp2pd --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from vp2pd.config import DEFAULT_CUSTOMER, ConfigError, load_customer
from vp2pd.secrets import MissingSecret, redact

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Migrate a Visual Practice practice into Pipedrive CRM.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Run an emulated outside-world system as a server.")
app.add_typer(sandbox_app, name="sandbox")
# Piped output (make, CI logs) gets 120 columns, not rich's 80: the tables stay unwrapped.
console = Console(width=None if sys.stdout.isatty() else 120)

CustomerOpt = typer.Option(DEFAULT_CUSTOMER, "--customer", "-c", help="Customer slug (customers/<slug>/).")


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {redact(message)}")
    raise typer.Exit(1)


@app.command()
def generate(
    out: Path = typer.Option(Path("build/demo/practice"), help="Folder for the practice (store, export, documents)."),
    clients: int = typer.Option(200, min=1, help="Number of clients."),
    seed: int = typer.Option(7, help="Random seed: the same seed gives the same practice."),
    plan: str = typer.Option("standard", help="standard | enterprise (custom objects)."),
    mess: float = typer.Option(0.3, min=0.0, max=1.0, help="Rate of real-world quirks, 0 (clean) to 1."),
    encoding: str = typer.Option("cp1252", help="CSV export encoding: cp1252 | utf-8-sig."),
    record_end: str = typer.Option("cr", help="CSV record end: cr | crlf."),
    header_release: str = typer.Option("2024.1", help="Export release; before 2001.2 the old headers are written."),
    date_style: str = typer.Option("ymd", help="Export date format: ymd (YYYYMMDD) | mdy (MM/DD/YYYY)."),
    money_style: str = typer.Option("plain", help="Export money format: plain (1234.50) | dollar ($1,234.50)."),
    timezone: str = typer.Option("America/Toronto", help="The practice's IANA time zone (export local times)."),
    documents: str = typer.Option("full", help="full (bytes on disk) | metadata (sizes only, bytes on demand)."),
    collections: Optional[str] = typer.Option(None, help="Comma-separated collections to generate (default all)."),
    zip_export: bool = typer.Option(False, "--zip", help="Also write the export as a zip."),
) -> None:
    """Generate a synthetic Visual Practice practice: the sandbox's store and a CSV export."""
    from sandbox.visual_practice.generator import GeneratorOptions, OptionsError, generate as run_generate

    options = GeneratorOptions(
        clients=clients, seed=seed, plan=plan, mess=mess, encoding=encoding, record_end=record_end,
        header_release=header_release, date_style=date_style, money_style=money_style, documents=documents,
        collections=frozenset(c.strip() for c in collections.split(",")) if collections else None,
        zip_export=zip_export, timezone=timezone,
    )
    try:
        summary = run_generate(out, options)
    except OptionsError as exc:
        fail(str(exc))
    console.print(summary.table())


@sandbox_app.command("vp")
def sandbox_vp(
    practice: Path = typer.Option(Path("build/demo/practice"), help="Practice folder made by `vp2pd generate`."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8765),
    requests_per_minute: int = typer.Option(200, help="Rate limit per API key."),
    fault_rate: float = typer.Option(0.0, help="Share of requests answered 502/503."),
    latency_ms: float = typer.Option(0.0, help="Mean added latency per request."),
    churn: float = typer.Option(0.0, help="Records deleted and inserted per list page served (mean)."),
) -> None:
    """Serve a generated practice as the Visual Practice REST API (key from VP_API_KEY)."""
    from sandbox.visual_practice.server import serve
    from sandbox.visual_practice.settings import SandboxSettings
    from vp2pd.secrets import vp_api_key

    try:
        key = vp_api_key()
    except MissingSecret as exc:
        fail(str(exc))
    settings = SandboxSettings(api_key=key, requests_per_minute=requests_per_minute, fault_rate=fault_rate,
                               latency_ms=latency_ms, churn=churn)
    serve(practice, host=host, port=port, settings=settings)


@sandbox_app.command("pipedrive")
def sandbox_pipedrive(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8766),
    token: Optional[str] = typer.Option(None, help="API token it accepts (default: PIPEDRIVE_API_TOKEN)."),
    plan: str = typer.Option("growth", help="lite | growth | premium | ultimate (burst and daily limits)."),
    seats: int = typer.Option(1, min=1, help="Seats: the daily token budget is 30,000 x plan multiplier x seats."),
    latency_ms: float = typer.Option(0.0, help="Mean added latency per request."),
    seed: int = typer.Option(0, help="Account seed: custom-field keys and option ids differ per seed."),
    state_file: Optional[Path] = typer.Option(None, help="JSON snapshot of the account, kept across restarts "
                                                         "(default: in memory only)."),
) -> None:
    """Serve an emulated Pipedrive company (API v2 at /api/v2, v1 at /v1, admin at /_admin)."""
    from pydantic import ValidationError

    from sandbox.pipedrive.server import serve
    from sandbox.pipedrive.settings import PipedriveSandboxSettings
    from vp2pd.secrets import pipedrive_api_token

    try:
        api_token = token or pipedrive_api_token()
        settings = PipedriveSandboxSettings(api_token=api_token, plan=plan, seats=seats, latency_ms=latency_ms,
                                            account_seed=seed, seed=seed, state_file=state_file)
    except MissingSecret as exc:
        fail(f"{exc} (or pass --token)")
    except ValidationError as exc:
        fail(str(exc))
    serve(settings, host=host, port=port)


@app.command()
def extract(
    customer: str = CustomerOpt,
    source: Optional[str] = typer.Option(None, help="api | csv (default: the customer's setting)."),
    incremental: bool = typer.Option(False, help="Only what changed since the last extraction's watermark."),
    csv_path: Optional[Path] = typer.Option(None, help="Export folder or zip (for --source csv)."),
) -> None:
    """Extract Visual Practice into the warehouse (schema raw_visual_practice) and check the counts."""
    from extractors.visual_practice.report import print_report
    from extractors.visual_practice.run import ExtractionFailed, run_extraction

    try:
        cfg = load_customer(customer)
        result = run_extraction(cfg, source=source, incremental=incremental, csv_path=csv_path)
    except (ConfigError, MissingSecret, ExtractionFailed) as exc:
        fail(str(exc))
    print_report(console, result)


@app.command()
def transform(customer: str = CustomerOpt) -> None:
    """Build the Pipedrive-shaped marts (schema pipedrive) with dbt: models, data and unit tests."""
    from rich.table import Table

    from vp2pd.transform import TransformFailed, run_transform

    try:
        cfg = load_customer(customer)
        result = run_transform(cfg)
    except (ConfigError, TransformFailed) as exc:
        fail(str(exc))
    table = Table("mart", "rows", title=f"pipedrive marts — {result.warehouse}")
    for mart, rows in result.counts.items():
        table.add_row(mart, f"{rows:,}")
    console.print(table)
    console.print("skipped / reported: " + ", ".join(f"{r} {n}" for r, n in result.skipped_by_reason.items()))
    if not result.success:
        fail("dbt build failed:\n" + "\n".join(result.failures))


@app.command()
def validate(
    customer: str = CustomerOpt,
    suite: str = typer.Option("all", help="raw | marts | all (raw first; a critical failure stops the run)."),
) -> None:
    """Validate the warehouse with the Great Expectations suites; results and Data Docs under build/<customer>/reports."""
    from expectations.run import SUITES, ValidationFailed, validate as run_validate

    if suite not in (*SUITES, "all"):
        fail(f"--suite must be raw, marts or all, not {suite!r}")
    try:
        cfg = load_customer(customer)
        results = run_validate(cfg, SUITES if suite == "all" else (suite,))
    except (ConfigError, ValidationFailed) as exc:
        fail(str(exc))
    for result in results:
        passed = sum(o.success for o in result.outcomes)
        console.print(f"{result.suite}: {passed}/{len(result.outcomes)} expectations met over {result.chunks} "
                      f"chunks, {len(result.warnings)} warning(s) — {result.path}")
        for outcome in result.warnings:
            console.print(f"  [yellow]warning:[/] {outcome.describe()}")
    console.print(f"Data Docs: {cfg.reports_dir / 'data_docs' / 'index.html'}")


@app.command("propose-map")
def propose_map(customer: str = CustomerOpt) -> None:
    """Profile the raw layer and propose the field map (mapping/proposed.yml) for review."""
    from vp2pd.mapping.propose import propose, write_proposed

    try:
        cfg = load_customer(customer)
        proposal = propose(cfg)
    except (ConfigError, FileNotFoundError) as exc:
        fail(str(exc))
    path = write_proposed(cfg, proposal)
    low = [c for c in proposal.columns + proposal.fields if c["confidence"] < 0.9]
    console.print(f"{len(proposal.profiles)} raw columns profiled; {len(proposal.columns)} unknown source columns "
                  f"and {len(proposal.fields)} field entries proposed, {len(low)} below 0.9 -> {path}")
    console.print("signals: " + ", ".join(f"{k} {v}" for k, v in proposal.signals.items()), highlight=False)
    for warning in proposal.warnings:
        console.print(f"[yellow]warning:[/] {redact(warning)}", highlight=False)


@app.command("confirm-map")
def confirm_map(
    customer: str = CustomerOpt,
    accept_above: Optional[float] = typer.Option(None, min=0.0, max=1.0, help="Accept proposals at or above this "
                                                 "confidence; the rest still need a person."),
    accept_all: bool = typer.Option(False, "--accept-all", help="Accept every proposal (recorded in the map)."),
    reviewer: Optional[str] = typer.Option(None, help="Who confirms (default: the login name)."),
) -> None:
    """Confirm the proposed map headless: write mapping/confirmed.yml once nothing is left to decide."""
    import getpass

    from vp2pd.mapping.confirm import confirm

    try:
        cfg = load_customer(customer)
        result = confirm(cfg, accept_above=accept_above, accept_all=accept_all, reviewer=reviewer or getpass.getuser())
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    console.print(f"accepted {len(result.accepted)}, dropped {len(result.dropped)}")
    for line in result.accepted:
        console.print(f"  [green]accepted[/] {line}", highlight=False)
    for line in result.needs_review:
        console.print(f"  [yellow]needs review[/] {line}", highlight=False)
    if result.needs_review:
        fail(f"{len(result.needs_review)} proposals still need a person: review them in "
             f"notebooks/03_review_mapping.ipynb (or lower --accept-above); confirmed.yml not written")
    console.print(f"confirmed -> {result.confirmed} ({result.content_hash})"
                  + (f"; header aliases -> {result.aliases}" if result.aliases else ""))


@app.command("run")
def run_runbook(
    customer: str = CustomerOpt,
    steps: Optional[str] = typer.Option(None, help="Comma-separated steps (default: preflight, extract, review, "
                                                    "transform, sample, load, reconcile; also delta, rollback)."),
    run_id: Optional[str] = typer.Option(None, help="Run id (default: UTC time + random suffix)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Every step as a dry run: nothing changes anywhere."),
    accept_all: bool = typer.Option(False, "--accept-all", help="Review step: accept every proposal (recorded)."),
    reviewer: str = typer.Option("runbook", help="Who confirms the map with --accept-all."),
    sample_size: int = typer.Option(100, min=1, help="Records in the sample migration."),
    confirm: str = typer.Option("", help="Rollback step: the customer slug, typed, to allow the deletes."),
) -> None:
    """Execute the runbook notebooks with papermill into runs/<customer>/<run_id>/, HTML beside each."""
    from vp2pd.runbook.execute import RunFailed, parse_steps, run

    try:
        cfg = load_customer(customer)
        chosen = parse_steps(steps)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))

    def progress(rec: "Any") -> None:
        mark = "[green]ok[/]" if rec.status == "ok" else "[bold red]FAILED[/]"
        console.print(f"{rec.step:10} {mark} {rec.seconds:6.1f} s  {rec.html or rec.notebook}", highlight=False)

    try:
        record = run(cfg, chosen, run_id=run_id, dry_run=dry_run, accept_all=accept_all, reviewer=reviewer,
                     sample_size=sample_size, confirm=confirm, on_step=progress)
    except RunFailed as exc:
        console.print(f"report: {exc.record.report}", highlight=False)
        fail(str(exc))
    console.print(f"run {record.run_id} completed; report: {record.report}", highlight=False)


@app.command()
def demo(
    clients: int = typer.Option(150, help="Size of the demo practice."),
    seed: int = typer.Option(7),
    mess: float = typer.Option(0.3, min=0.0, max=1.0, help="Rate of real-world quirks in the practice."),
    rollback: bool = typer.Option(False, "--rollback", help="Undo the last demo's load instead."),
) -> None:
    """The whole migration on the sandboxes: generate, serve, run the runbook, report (or --rollback it)."""
    from vp2pd.demo import rollback_demo, run_demo

    try:
        code = rollback_demo(console) if rollback else run_demo(console, clients=clients, seed=seed, mess=mess)
    except (ConfigError, MissingSecret) as exc:
        fail(str(exc))
    raise typer.Exit(code)


def _pipedrive(run: "Any") -> "Any":
    """Run a Pipedrive lifecycle step; configuration, secret and API errors end as one red line."""
    from loaders.pipedrive.errors import PipedriveError
    from loaders.pipedrive.owners import OwnerError
    from vp2pd.mapping.gate import MapNotConfirmed
    from vp2pd.aio import run_sync

    try:
        return run_sync(run)
    except (ConfigError, MissingSecret, PipedriveError, OwnerError, MapNotConfirmed, ValueError) as exc:
        run.close()
        fail(str(exc))


@app.command()
def preflight(customer: str = CustomerOpt) -> None:
    """Owners by e-mail (one user list read) and the token budget plan; JSON + HTML report."""
    from loaders.pipedrive import commands

    data, page = _pipedrive(commands.preflight(load_customer(customer)))
    b = data["budget"]
    console.print(f"owners: {len(data['owners']['matched'])} matched, {len(data['owners']['unmatched'])} without a "
                  f"user; budget: {b['total_tokens']:,} tokens = {b['days']} day(s), ~{b['wall_time_s']:,} s; {page}")
    plan = data["schema"]
    console.print(f"schema plan: {len(plan['create_fields'])} fields to create, {len(plan['reuse_fields'])} to reuse, "
                  f"{len(plan['add_options'])} options to add, {len(plan['create'])} pipeline/stage/board/phase "
                  f"creates, {len(plan['conflicts'])} conflict(s)")
    if data["problem"]:
        fail(data["problem"])


@app.command()
def setup(customer: str = CustomerOpt) -> None:
    """Custom fields, pick-list options, pipeline and stages in Pipedrive, idempotently."""
    from loaders.pipedrive import commands

    data = _pipedrive(commands.setup(load_customer(customer)))
    console.print(f"fields created {len(data['created_fields'])}, reused {len(data['reused_fields'])}, options added "
                  f"{len(data['added_options'])}; pipeline {data['pipeline']}")
    for label in data["not_writable"] + data["unsupported"]:
        console.print(f"[yellow]not set up:[/] {label}")


@app.command()
def load(
    customer: str = CustomerOpt,
    stop_at_budget: bool = typer.Option(False, "--stop-at-budget", help="Stop cleanly at the budget's reserve "
                                                                       "(default: wait for the reset)."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Bars with rate and ETA per "
                                            "object (default: only when stderr is a terminal)."),
    sample: Optional[int] = typer.Option(None, "--sample", min=100, max=500, help="Load only a stratified sample of "
                                         "N records (every location, the last 12 months, every status and quirk, "
                                         "with what they depend on), then diff it field by field (HTML + CSV)."),
    quirks: Optional[Path] = typer.Option(None, "--quirks", help="With --sample: a generator quirk manifest "
                                          "(quirks.json) whose every quirk the sample must cover."),
    decide: Optional[str] = typer.Option(None, "--decide", help="With --sample: keep | rollback at once (default: "
                                         "decide later with `vp2pd sample-decision`)."),
) -> None:
    """The sequenced full load, exactly once; resumes an unfinished run. With --sample N: a sample run for
    review, whose records are then kept (the full load skips them) or rolled back: `vp2pd sample-decision`."""
    from loaders.pipedrive import commands

    if sample is not None:
        _sample(commands, customer, sample, quirks, decide)
        return
    data, page = _pipedrive(commands.load(load_customer(customer), stop_at_budget=stop_at_budget, progress=progress))
    for obj, c in data["counts"].items():
        console.print(f"{obj:28} rows {c['rows']:>7,}  created {c['created']:>7,}  resolved {c['resolved']:>5,}  "
                      f"rejected {c['rejected']:>5,}")
    for note in data["notes"]:
        console.print(f"note: {note}")
    console.print(f"run {data['run_id']}: {data['status']}; {page}")
    if data["status"] != "completed" or data["rejections"]:
        raise typer.Exit(2 if data["status"] == "stopped_budget" else 1)


def _sample(commands: Any, customer: str, size: int, quirks: Optional[Path], decide: Optional[str]) -> None:
    if decide not in (None, "keep", "rollback"):
        fail(f"--decide is keep or rollback, not {decide!r}")
    data, page, csv_path = _pipedrive(commands.sample(load_customer(customer), size, quirks=quirks, decision=decide))
    for s in data["summary"]:
        console.print(f"{s['object']:28} records {s['records']:>5,}  fields {s['fields_compared']:>6,}  "
                      f"mismatches {s['mismatches']:>5,}")
    uncovered = [s["stratum"] for s in data["selection"]["strata"] if not s.get("covered_by")]
    if uncovered:
        console.print(f"strata with no migrating record: {', '.join(uncovered)}")
    console.print(f"sample run {data['run_id']}: {data['status']}, {data['selection']['size']} records, "
                  f"{data['mismatches']} mismatching field(s); {page}; {csv_path}")
    console.print(f"decision: {data['decision'] or 'pending — vp2pd sample-decision --keep | --rollback'}")
    if data["status"] != "completed" or data["mismatches"]:
        raise typer.Exit(1)


@app.command("sample-decision")
def sample_decision(
    customer: str = CustomerOpt,
    keep: bool = typer.Option(False, "--keep", help="Keep the sample's records: the full load skips them."),
    rollback_: bool = typer.Option(False, "--rollback", help="Delete the sample's records (reverse order)."),
    run: Optional[str] = typer.Option(None, "--run", help="The sample run (default: the latest undecided)."),
) -> None:
    """The reviewer's decision on a `load --sample` run: keep its records or roll them back."""
    from loaders.pipedrive import commands

    if keep == rollback_:
        fail("give --keep or --rollback")
    data = _pipedrive(commands.sample_decision(load_customer(customer), "keep" if keep else "rollback", run))
    undone = data["rollback"]
    console.print(f"sample {data['run_id']}: {data['decision']}"
                  + (f" (rollback {undone['run_id']}: deleted {undone['deleted']}, already gone "
                     f"{undone['already_gone']})" if undone else ""))


@app.command()
def delta(customer: str = CustomerOpt) -> None:
    """Pick up Visual Practice changes after the load: incremental extract, marts rebuilt, creates and
    PATCHes of only the changed fields (before-images in the ledger; `rollback --run` restores them);
    deletions listed for a decision, not applied. Exit 1 when anything needs a decision."""
    from extractors.visual_practice.run import ExtractionFailed
    from loaders.pipedrive import commands
    from vp2pd.transform import TransformFailed

    try:
        data, page = _pipedrive(commands.delta(load_customer(customer)))
    except (ExtractionFailed, TransformFailed) as exc:  # the pickup's own steps: one red line, not a traceback
        fail(str(exc))
    for o in data["objects"]:
        console.print(f"{o['object']:28} created {o['created']:>6,}  updated {o['updated']:>6,}  unchanged "
                      f"{o['unchanged']:>7,}  deleted in source {o['deleted_in_source']:>5,}")
    console.print(f"delta {data['run_id']}: {data['status']}, {data['writes']} write(s); {page}")
    if data["status"] != "completed" or data["deletions"] or data["unpatchable"] or data["rejections"]:
        raise typer.Exit(1)


@app.command()
def reconcile(customer: str = CustomerOpt) -> None:
    """Read everything back (list reads) and compare with the marts; exit 1 on any mismatch."""
    from loaders.pipedrive import commands

    data, page = _pipedrive(commands.reconcile(load_customer(customer)))
    mismatches = sum(m["mismatches"] for m in data["mismatches"])
    console.print(f"{'zero mismatches' if data['ok'] else 'MISMATCHES'}: {mismatches} field mismatches; {page}")
    if not data["ok"]:
        raise typer.Exit(1)


@app.command()
def rollback(
    customer: str = CustomerOpt,
    run: Optional[list[str]] = typer.Option(None, "--run", help="Run id(s) to undo."),
    all_runs: bool = typer.Option(False, "--all", help="Undo every run the ledger recorded."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be undone."),
) -> None:
    """Delete what the run(s) created (reverse order), restore before-images; resumable."""
    from loaders.pipedrive import commands

    if bool(run) == all_runs:
        fail("give --run ID (repeatable) or --all")
    data = _pipedrive(commands.rollback(load_customer(customer), None if all_runs else list(run or []), dry_run))
    if dry_run:
        for item in data["planned"]:
            console.print(f"would {item['method']} {item['object']} {item['pipedrive_id']} ({item['source_key']})")
        console.print(f"{len(data['planned'])} operation(s) would be undone")
    else:
        console.print(f"rollback {data['run_id']}: deleted {data['deleted']}, already gone {data['already_gone']}, "
                      f"restored {data['restored']}")


@app.command()
def estimate(
    customer: str = CustomerOpt,
    csv_path: Optional[Path] = typer.Option(None, "--csv-path", help="Count the rows of this CSV export (folder or "
                                            "zip) instead of asking /practice/stats."),
    plan: Optional[str] = typer.Option(None, help="Pipedrive plan (default: the customer's)."),
    seats: Optional[int] = typer.Option(None, min=1, help="Seats (default: the customer's)."),
    as_json: bool = typer.Option(False, "--json", help="Print the estimate as JSON."),
) -> None:
    """Objects, calls, tokens, days of budget, wall time and complexity grade, before extracting."""
    import json

    from extractors.visual_practice.api.client import VPError
    from extractors.visual_practice.export.files import ExportError
    from vp2pd.aio import run_sync
    from vp2pd import estimate as est

    try:
        cfg = load_customer(customer)
        if plan or seats:
            cfg = cfg.model_copy(update={"pipedrive": cfg.pipedrive.model_copy(
                update={k: v for k, v in (("plan", plan), ("seats", seats)) if v})})
        if csv_path is not None:
            aliases = cfg.resolve(cfg.visual_practice.csv_aliases) if cfg.visual_practice.csv_aliases else None
            probe, source = est.probe_export(csv_path, aliases, scratch=cfg.customer_build_dir), str(csv_path)
        else:
            probe, source = run_sync(est.probe_stats(cfg)), "practice/stats"
        found = est.for_customer(cfg, probe.counts, source=source, as_of=probe.as_of, probe=probe)
    except (ConfigError, MissingSecret, VPError, ExportError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    path = est.write_estimate(cfg, found)
    if as_json:
        print(json.dumps(found.as_json(), indent=2, default=str))
        return
    for t in est.tables(found):
        console.print(t)
    console.print(f"-> {path}")


@app.command()
def handbook(
    customer: str = CustomerOpt,
    from_api: bool = typer.Option(False, "--from-api", help="Read the definitions from the Visual Practice API "
                                  "(before any extraction) instead of the warehouse."),
) -> None:
    """The rebuild handbook: VP automations, templates and reports with their Pipedrive equivalents."""
    from extractors.visual_practice.api.client import VPError
    from vp2pd.handbook import handbook_for_customer

    try:
        book, md, js = handbook_for_customer(load_customer(customer), from_api=from_api)
    except (ConfigError, FileNotFoundError, MissingSecret, VPError) as exc:
        fail(str(exc))
    counts = book.counts()
    console.print(", ".join(f"{n} {c}" for c, n in counts.items()) + f" -> {md} and {js.name}")


@app.command()
def report(
    customer: str = CustomerOpt,
    run_id: Optional[str] = typer.Option(None, "--run", help="The run (default: the latest load in the ledger)."),
) -> None:
    """The run's HTML migration report for analysts (runs/<customer>/<run_id>/report.html)."""
    from vp2pd.report import build_report

    try:
        path = build_report(load_customer(customer), run_id)
    except ConfigError as exc:
        fail(str(exc))
    console.print(f"report: {path}")


def main() -> None:  # pragma: no cover - console entry for `python -m vp2pd`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The runbook steps: what each notebook of `notebooks/` calls, so the cells stay a few lines.

Every step returns an `Outcome` (summary, tables, data) that `finish` shows, records beside the
executed notebook (`<run_dir>/<step>.json`, read by the run's report) and raises on when the step
failed, so papermill marks the notebook failed and `vp2pd run` stops there, naming the step.

`dry_run` (the notebooks' default) changes nothing anywhere: not Pipedrive, not the warehouse.
A dry step shows what the real one would do from what is already there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from vp2pd.aio import run_sync
from vp2pd.config import REPO_ROOT, CustomerConfig, load_customer
from vp2pd.runbook.display import Outcome, Table, show
from vp2pd.secrets import MissingSecret, PIPEDRIVE_API_TOKEN, VP_API_KEY, redact


class StepFailed(RuntimeError):
    """A runbook step that did not succeed; the message says which and why."""


def config(customer: str) -> CustomerConfig:
    """The customer's config; a relative build folder is the repository's (a notebook runs in notebooks/)."""
    cfg = load_customer(customer)
    if not cfg.build_dir.is_absolute():
        cfg = cfg.model_copy(update={"build_dir": REPO_ROOT / cfg.build_dir})
    return cfg


def finish(outcome: Outcome, run_dir: str | Path = "") -> None:
    """Show the outcome, record it in the run folder, and raise StepFailed if the step failed.
    (Returns nothing: a notebook's last cell would print the whole outcome again.)"""
    show(outcome)
    if run_dir:
        folder = Path(run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(outcome.as_json(), indent=2, default=str, ensure_ascii=False)
        (folder / f"{outcome.step}.json").write_text(redact(text), encoding="utf-8")
    if not outcome.ok:
        raise StepFailed(f"{outcome.step}: {redact(outcome.problem or outcome.summary)}")


def _guard(step: str, body: Callable[[], Outcome]) -> Outcome:
    """Known failures (config, secrets, API, gate) become a failed outcome with the reason."""
    from extractors.visual_practice.run import ExtractionFailed
    from loaders.pipedrive.errors import PipedriveError
    from loaders.pipedrive.owners import OwnerError
    from vp2pd.config import ConfigError
    from vp2pd.mapping.gate import MapNotConfirmed

    try:
        return body()
    except (ConfigError, MissingSecret, ExtractionFailed, PipedriveError, OwnerError, MapNotConfirmed,
            FileNotFoundError, ValueError) as exc:
        return Outcome(step, f"failed: {type(exc).__name__}", ok=False, problem=redact(str(exc)))


def _has_marts(cfg: CustomerConfig) -> bool:
    from vp2pd.warehouse import connect

    if not cfg.warehouse_path.is_file():
        return False
    con = connect(cfg.warehouse_path, read_only=True)
    try:
        return bool(con.execute("select count(*) from information_schema.tables where table_schema = 'pipedrive' "
                                "and table_name = 'pipedrive__persons'").fetchone()[0])
    finally:
        con.close()


def _rows(cfg: CustomerConfig, sql: str) -> list[dict[str, Any]]:
    from vp2pd.warehouse import connect

    con = connect(cfg.warehouse_path, read_only=True)
    try:
        rel = con.execute(sql)
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r)) for r in rel.fetchall()]
    finally:
        con.close()


# -- 01 pre-flight -----------------------------------------------------------------------------

def preflight(customer: str) -> Outcome:
    """Can the migration start: config, secrets present (never shown), both systems answer, and the
    estimate (objects, calls, tokens, days, grade) from the practice's own counts."""
    cfg = config(customer)

    def body() -> Outcome:
        from vp2pd import estimate as est

        checks: list[dict[str, Any]] = [{"check": "customer.yml", "result": f"{cfg.name} ({cfg.slug})"}]
        problems: list[str] = []
        vp = cfg.visual_practice
        needed = [PIPEDRIVE_API_TOKEN] + ([VP_API_KEY] if vp.source == "api" else [])
        for name in needed:
            present = bool(os.environ.get(name))
            checks.append({"check": f"secret {name}", "result": "set" if present else "MISSING"})
            if not present:
                problems.append(f"{name} is not set; export it in the environment (secrets are never read from files)")
        if problems:  # nothing is contacted without its credentials
            return Outcome("preflight", "not ready", ok=False, problem="; ".join(problems),
                           tables=[Table("Checks", checks)])
        counts: dict[str, int] = {}
        as_of, source = None, "practice/stats"
        # One attempt, not the extractor's patient retries: pre-flight should say "unreachable" at once.
        quick = cfg.model_copy(update={"visual_practice": vp.model_copy(update={"max_retries": 1})})
        try:
            if vp.source == "api":
                counts, as_of = run_sync(est.stats_counts(quick))
                checks.append({"check": "Visual Practice API", "result": f"{vp.base_url}: {sum(counts.values()):,} "
                                                                          f"records in {len(counts)} collections"})
            else:
                path = cfg.resolve(vp.csv_path) if vp.csv_path else None
                if path is None or not path.exists():
                    raise FileNotFoundError(f"CSV export {path} not found (visual_practice.csv_path)")
                counts = est.export_counts(path, cfg.resolve(vp.csv_aliases) if vp.csv_aliases else None)
                source = str(path)
                checks.append({"check": "CSV export", "result": f"{path}: {sum(counts.values()):,} records"})
        except Exception as exc:  # unreachable, refused key, unreadable export: named, not a traceback
            problems.append(f"Visual Practice ({vp.base_url if vp.source == 'api' else 'CSV export'}): "
                            f"{redact(str(exc))}")
        try:
            checks.append({"check": "Pipedrive API", "result": _pipedrive_users(cfg)})
        except Exception as exc:
            problems.append(f"Pipedrive: {redact(str(exc))}")
        if problems or not counts:
            return Outcome("preflight", "not ready", ok=False, problem="; ".join(problems) or "no source counts",
                           tables=[Table("Checks", checks)])
        estimate = est.for_customer(cfg, counts, source=source, as_of=as_of)
        est.write_estimate(cfg, estimate)
        data = estimate.as_json()
        b = data["budget"]
        return Outcome("preflight", f"ready: {data['total_records']:,} source records, {b['total_tokens']:,} tokens "
                       f"= {b['days']} day(s) of budget, ~{b['wall_time_s']:,} s at the burst limit; grade "
                       f"{data['grade']}", tables=[
                           Table("Checks", checks),
                           Table("Source records per collection",
                                 [{"collection": k, "records": v} for k, v in sorted(counts.items())], bar="records"),
                           Table("Pipedrive objects: calls and tokens", [
                               {"object": o["object"], "rows": o["rows"], "read_calls": o["reconcile_reads"],
                                "tokens": o["create_tokens"] + o["reconcile_tokens"]} for o in b["objects"]],
                                 bar="tokens"),
                           Table("Mapping decisions", [{"collection": d["collection"], "setting": d["setting"],
                                                        "chosen": d["chosen"], "options (tokens)": d["options"]}
                                                       for d in data["decisions"]]),
                           Table("Complexity", [{"grade": data["grade"], "why": "; ".join(data["grade_reasons"])}])],
                       data={"estimate": data})

    return _guard("preflight", body)


def _pipedrive_users(cfg: CustomerConfig) -> str:
    from loaders.pipedrive.client import PipedriveClient

    async def users() -> int:
        async with PipedriveClient.from_env(**cfg.pipedrive.client_options()) as client:
            return len([u async for u in client.list("users")])

    target = cfg.pipedrive.base_url or f"https://{cfg.pipedrive.company}.pipedrive.com"
    return f"{target}: {run_sync(users())} user(s); plan {cfg.pipedrive.plan}, {cfg.pipedrive.seats} seat(s)"


# -- 02 extract --------------------------------------------------------------------------------

def _extract_tables(reports: list[dict[str, Any]]) -> list[Table]:
    return [Table("Reported vs extracted per collection", reports, bar="extracted")]


def extract(customer: str, *, dry_run: bool = True, source: str | None = None, csv_path: str | None = None,
            incremental: bool = False) -> Outcome:
    """Extract into the warehouse (dry run: the last extraction's report, nothing fetched)."""
    cfg = config(customer)

    def body() -> Outcome:
        if dry_run:
            if not cfg.warehouse_path.is_file():
                return Outcome("extract", "dry run: nothing extracted yet (run with dry_run=False)")
            rows = _rows(cfg, "select collection, source, reported, extracted, healed, quarantined, status "
                              "from raw_visual_practice._extract_report where run_id = (select run_id from "
                              "raw_visual_practice._runs order by started_at desc limit 1) order by collection")
            return Outcome("extract", f"dry run: the last extraction, {sum(r['extracted'] for r in rows):,} "
                                      f"records", tables=_extract_tables(rows))
        from extractors.visual_practice.run import run_extraction

        result = run_extraction(cfg, source=source, incremental=incremental,
                                csv_path=Path(csv_path) if csv_path else None)
        from vp2pd.handbook import handbook_for_customer

        rows = [{"collection": r.collection, "reported": r.reported, "extracted": r.extracted, "healed": r.healed,
                 "quarantined": r.quarantined, "status": r.status} for r in result.reports]
        # Automations, templates and reports do not migrate: the handbook says what to rebuild, and how.
        book, md, _ = handbook_for_customer(cfg)
        rebuild = [{"kind": kind, "definitions": n} for kind, n in book.counts().items()]
        return Outcome("extract", f"run {result.run_id} ({result.source}, {result.mode}): "
                                  f"{sum(r.extracted for r in result.reports):,} records, "
                                  f"{sum(r.quarantined for r in result.reports)} quarantined; handbook {md}",
                       ok=result.ok, problem=None if result.ok else "some collections did not extract cleanly",
                       tables=[*_extract_tables(rows), Table("To rebuild in Pipedrive (handbook)", rebuild)],
                       data={"run_id": result.run_id, "reports": rows, "handbook": str(md)})

    return _guard("extract", body)


# -- 04 transform and validate -----------------------------------------------------------------

def transform_and_validate(customer: str, *, dry_run: bool = True) -> Outcome:
    """dbt build of the marts, then the GX suites (dry run: the marts and the last validation as they are)."""
    cfg = config(customer)

    def body() -> Outcome:
        if not dry_run:
            return _transform_and_validate(cfg)
        if not _has_marts(cfg):
            return Outcome("transform", "dry run: no marts yet (run with dry_run=False)")
        from vp2pd.transform import MARTS

        counts = [{"mart": m, "rows": _rows(cfg, f"select count(*) as n from pipedrive.{m}")[0]["n"]} for m in MARTS]
        skipped = _rows(cfg, "select reason, count(*) as records from pipedrive.migration__skipped group by 1 "
                             "order by 2 desc")
        suites = []
        for suite in ("raw", "marts"):
            path = cfg.reports_dir / f"validation_{suite}.json"
            if path.is_file():
                v = json.loads(path.read_text(encoding="utf-8"))
                suites.append({"suite": suite, "run_time": v.get("run_time"), "success": v.get("success"),
                               "critical_failures": v.get("critical_failures"), "warnings": v.get("warnings"),
                               "expectations": len(v.get("expectations") or [])})
        ok = all(s["success"] for s in suites)
        return Outcome("transform", f"dry run: {len(counts)} marts, last validation "
                       + (", ".join(f"{s['suite']} {'passed' if s['success'] else 'FAILED'}" for s in suites)
                          or "not run yet"), ok=ok, problem=None if ok else "the last validation failed",
                       tables=[Table("Rows per mart", counts, bar="rows"),
                               Table("Skipped records by reason", skipped, bar="records"),
                               Table("Last validation (Great Expectations)", suites), mapping_coverage(cfg)])

    return _guard("transform", body)


def mapping_coverage(cfg: CustomerConfig) -> Table:
    """Per source collection: the fields the confirmed map sends to Pipedrive, beside the raw columns."""
    from vp2pd.mapping.gate import read_confirmed

    try:
        entries = read_confirmed(cfg)["fields"]
    except Exception:  # no confirmed map yet: nothing is covered
        entries = []
    mapped: dict[str, int] = {}
    for e in entries:
        mapped[e["collection"]] = mapped.get(e["collection"], 0) + 1
    # Raw columns without the extractor's own bookkeeping (tables and columns named _...).
    found = _rows(cfg, "select table_name as t, count(*) as n from information_schema.columns where table_schema = "
                       "'raw_visual_practice' and table_name not like '\\_%' escape '\\' and column_name not like "
                       "'\\_%' escape '\\' group by 1")
    columns = {r["t"]: r["n"] for r in found}
    rows = [{"collection": c, "raw_columns": columns.get(c, 0), "mapped_fields": mapped.get(c, 0)}
            for c in sorted(set(columns) | set(mapped)) if columns.get(c) or mapped.get(c)]
    return Table("Mapping coverage: fields sent per source collection", rows, bar="mapped_fields")


def _transform_and_validate(cfg: CustomerConfig) -> Outcome:
    from expectations.run import SUITES, ValidationFailed, validate
    from vp2pd.transform import run_transform

    result = run_transform(cfg)
    counts = [{"mart": k, "rows": v} for k, v in result.counts.items()]
    skipped = [{"reason": k, "records": v} for k, v in result.skipped_by_reason.items()]
    tables = [Table("Rows per mart", counts, bar="rows"), Table("Skipped records by reason", skipped, bar="records")]
    data: dict[str, Any] = {"counts": result.counts, "skipped_by_reason": result.skipped_by_reason}
    if not result.success:
        return Outcome("transform", "dbt build failed", ok=False, problem="; ".join(result.failures[:5]),
                       tables=tables, data=data)
    try:
        results = validate(cfg, SUITES)
    except ValidationFailed as exc:
        return Outcome("transform", "validation failed", ok=False, problem=str(exc), tables=tables, data=data)
    suites = [{"suite": r.suite, "met": sum(o.success for o in r.outcomes), "expectations": len(r.outcomes),
               "chunks": r.chunks, "warnings": len(r.warnings)} for r in results]
    docs = cfg.reports_dir / "data_docs" / "index.html"
    tables += [Table("Validation (Great Expectations)", suites), mapping_coverage(cfg)]
    data.update(validation=suites, data_docs=str(docs))
    return Outcome("transform", "; ".join(f"{s['suite']} {s['met']}/{s['expectations']}" for s in suites)
                   + f" expectations met; Data Docs {docs}", tables=tables, data=data)


# -- 05 sample migration -----------------------------------------------------------------------

def sample(customer: str, *, dry_run: bool = True, sample_size: int = 100, decision: str = "keep") -> Outcome:
    """Pre-flight from the marts (owners, exact budget), then setup and the sample load with its
    field-level diff (dry run: the pre-flight only; it reads Pipedrive and writes nothing there)."""
    cfg = config(customer)

    def body() -> Outcome:
        from loaders.pipedrive import commands

        found, page = run_sync(commands.preflight(cfg))
        b = found["budget"]
        tables = [Table("Owners: staff matched to Pipedrive users",
                        [{"staff": e, "user_id": i} for e, i in found["owners"]["matched"].items()]),
                  Table("Staff without a user (owned by the fallback owner)", found["owners"]["unmatched"]),
                  Table("Tokens per object", b["objects"], bar="create_tokens"),
                  Table("Schema plan: what setup will do", [{"action": k, "count": len(v), "first": ", ".join(v[:5])}
                                                            for k, v in found["schema"].items() if v])]
        data: dict[str, Any] = {"preflight": found, "preflight_report": str(page)}
        if found["problem"]:
            return Outcome("sample", "pre-flight found a problem", ok=False, problem=found["problem"], tables=tables,
                           data=data)
        summary = (f"pre-flight: {len(found['owners']['matched'])} owners matched, {b['total_tokens']:,} tokens = "
                   f"{b['days']} day(s)")
        if dry_run:
            return Outcome("sample", "dry run: " + summary, tables=tables, data=data)
        made = run_sync(commands.setup(cfg))
        tables.append(Table("Setup", [{"created fields": len(made["created_fields"]),
                                       "reused fields": len(made["reused_fields"]),
                                       "options added": len(made["added_options"]), "pipeline": made["pipeline"]}]))
        data["setup"] = {k: made[k] for k in ("created_fields", "reused_fields", "added_options", "not_writable",
                                              "unsupported")}
        diff = _sample_load(cfg, sample_size, decision)
        if diff is None:  # loaders/pipedrive/sample.py not in this tree yet: setup only
            return Outcome("sample", summary + "; setup done; sample load not available in this build",
                           tables=tables, data=data)
        tables += diff.tables
        data["sample"] = diff.data
        return Outcome("sample", summary + "; " + diff.summary, ok=diff.ok, problem=diff.problem, tables=tables,
                       data=data)

    return _guard("sample", body)


def _sample_load(cfg: CustomerConfig, sample_size: int, decision: str) -> Outcome | None:
    """Wiring point for the sample load with its field diff (loaders/pipedrive/sample.py)."""
    from vp2pd.runbook import wiring

    return wiring.sample_outcome(cfg, sample_size, decision) if wiring.sample_available() else None


# -- 06 full load ------------------------------------------------------------------------------

def full_load(customer: str, *, dry_run: bool = True, stop_at_budget: bool = False) -> Outcome:
    """The sequenced load, exactly once (dry run: per object the rows still to send, from the ledger)."""
    cfg = config(customer)

    def body() -> Outcome:
        from loaders.pipedrive import commands

        if dry_run:
            if not _has_marts(cfg):
                return Outcome("load", "dry run: no marts yet")
            return _load_plan(cfg)
        found, page = run_sync(commands.load(cfg, stop_at_budget=stop_at_budget))
        counts = [{"object": k, **v} for k, v in found["counts"].items()]
        ok = found["status"] == "completed" and not found["rejections"]
        rejected = f", {len(found['rejections'])} row(s) rejected by Pipedrive (see {page})" \
            if found["rejections"] else ""
        problem = None if ok else f"load {found['status']}{rejected}"
        return Outcome("load", f"run {found['run_id']}: {found['status']}, "
                               f"{sum(c['created'] for c in counts):,} created", ok=ok, problem=problem,
                       lines={"Tokens spent, cumulative (load run)": token_spend(cfg, found["run_id"])}, tables=[
            Table("Rows per object", counts, bar="created"), Table("Notes", [{"note": n} for n in found["notes"]]),
            Table("Rejected rows (Pipedrive's message)", found["rejections"])],
            data={"run_id": found["run_id"], "status": found["status"], "report": str(page)})

    return _guard("load", body)


def token_spend(cfg: CustomerConfig, run_id: str) -> list[tuple[str, float]]:
    """Cumulative tokens of a ledger run per second (HH:MM:SS, tokens so far): the report's timeline."""
    from vp2pd.report import sources

    wh = sources.open_warehouse(cfg)
    if wh is None:
        return []
    try:
        spend = sources.token_spend(wh, run_id)
    finally:
        wh.close()
    return [(str(p["at"])[-8:], float(p["cumulative"])) for p in (spend or {}).get("timeline", [])]


def _load_plan(cfg: CustomerConfig) -> Outcome:
    from loaders.pipedrive.sequence import STEPS

    rows = []
    has_ledger = bool(_rows(cfg, "select count(*) as n from information_schema.tables where table_schema = 'ledger' "
                                 "and table_name = 'id_map'")[0]["n"])
    for step in STEPS:
        total = _rows(cfg, f"select count(*) as n from pipedrive.{step.mart}")[0]["n"]
        done = _rows(cfg, f"select count(*) as n from ledger.id_map where object = '{step.name}'")[0]["n"] \
            if has_ledger else 0
        rows.append({"object": step.name, "mart_rows": total, "in_ledger": done, "to_send": max(total - done, 0)})
    return Outcome("load", f"dry run: {sum(r['to_send'] for r in rows):,} rows to send, "
                           f"{sum(r['in_ledger'] for r in rows):,} already loaded",
                   tables=[Table("Rows still to send per object", rows, bar="to_send")])


# -- 07 delta pickup ---------------------------------------------------------------------------

def delta(customer: str, *, dry_run: bool = True) -> Outcome:
    """After cutover: what changed in Visual Practice since the last extraction, sent to Pipedrive."""
    cfg = config(customer)

    def body() -> Outcome:
        from vp2pd.runbook import wiring

        if wiring.delta_available():
            return wiring.delta_outcome(cfg, dry_run)
        if not cfg.warehouse_path.is_file():
            return Outcome("delta", "nothing extracted yet: no watermark to pick up from")
        marks = _rows(cfg, "select * from raw_visual_practice._watermarks order by 1")
        return Outcome("delta", "delta pickup not available in this build; watermarks shown",
                       ok=dry_run, problem=None if dry_run else "delta pickup not available in this build",
                       tables=[Table("Watermarks (the next delta starts here)", marks)])

    return _guard("delta", body)


# -- 08 reconcile ------------------------------------------------------------------------------

def reconcile(customer: str) -> Outcome:
    """Read everything back and compare with the marts; the accounting per source collection."""
    cfg = config(customer)

    def body() -> Outcome:
        from loaders.pipedrive import commands

        found, page = run_sync(commands.reconcile(cfg))
        mismatches = sum(m["mismatches"] for m in found["mismatches"])
        unaccounted = sum(a.get("unaccounted", 0) for a in found["accounting"])
        ok = found["ok"] and not unaccounted
        return Outcome("reconcile", f"{mismatches} field mismatches, {unaccounted} records unaccounted for",
                       ok=ok, problem=None if ok else f"{mismatches} field mismatches, {unaccounted} unaccounted "
                                                      f"(see {page})",
                       tables=[Table("Counts per object", found["objects"], bar="in_pipedrive"),
                               Table("Per-field mismatches", found["mismatches"], bar="mismatches"),
                               Table("Accounting: migrated + skipped + quarantined = extracted", found["accounting"],
                                     bar="extracted", label="source_collection")],
                       data={"ok": found["ok"], "mismatches": mismatches, "objects": found["objects"],
                             "accounting": found["accounting"],
                             "report": str(page)})

    return _guard("reconcile", body)


# -- 09 rollback -------------------------------------------------------------------------------

def _ask(prompt: str) -> str | None:
    """A typed answer, or None where nobody can answer (papermill, nbval: the kernel has no stdin)."""
    try:
        return input(prompt)
    except Exception:  # StdinNotImplementedError under papermill/nbval, EOFError without a terminal
        return None


def rollback(customer: str, *, dry_run: bool = True, confirm: str = "", runs: str = "") -> Outcome:
    """Undo the loads (reverse order). Deletes only after the customer's slug is typed: `confirm`,
    or at the prompt in JupyterLab; a dry run lists what would be undone."""
    cfg = config(customer)
    run_ids = [r.strip() for r in runs.split(",") if r.strip()] or None

    def body() -> Outcome:
        from loaders.pipedrive import commands

        if not cfg.warehouse_path.is_file():
            return Outcome("rollback", "nothing was loaded: no warehouse")
        planned = run_sync(commands.rollback(cfg, run_ids, True))["planned"]
        by_object: dict[str, int] = {}
        for item in planned:
            by_object[item["object"]] = by_object.get(item["object"], 0) + 1
        tables = [Table("Would be undone, per object", [{"object": k, "operations": v} for k, v in by_object.items()],
                        bar="operations")]
        if dry_run or not planned:
            return Outcome("rollback", f"dry run: {len(planned)} operation(s) would be undone", tables=tables)
        typed = confirm or _ask(f"Type the customer slug ({cfg.slug}) to delete {len(planned)} record(s) from "
                                f"Pipedrive: ")
        if (typed or "").strip() != cfg.slug:
            return Outcome("rollback", "not confirmed: nothing deleted", ok=False, tables=tables,
                           problem=f"type the customer slug {cfg.slug!r} to confirm (parameter confirm=\"{cfg.slug}\")")
        done = run_sync(commands.rollback(cfg, run_ids, False))
        return Outcome("rollback", f"rollback {done['run_id']}: deleted {done['deleted']}, already gone "
                                   f"{done['already_gone']}, restored {done['restored']}", tables=tables,
                       data={k: done[k] for k in ("run_id", "deleted", "already_gone", "restored")})

    return _guard("rollback", body)

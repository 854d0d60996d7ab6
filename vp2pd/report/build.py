"""The migration report: one self-contained HTML page per run, for analysts, without Jupyter.

`build_report(cfg, run_id)` writes `runs/<customer>/<run_id>/report.html` (beside the executed
notebooks of `vp2pd run`) with `skipped.csv` and `quarantined.csv` next to it. It reads what the
steps already wrote (build/<customer>/reports/*.json, the run folder's step records) and the
warehouse (extraction report, migration__skipped, quarantine, ledger); a step that has not run is
a section saying so. No scripts, no external files: styles inline, charts inline SVG, long lists in
collapsible pages. Every value from the data is HTML-escaped (the tables of
loaders.pipedrive.reports escape each cell) and scrubbed of secrets; the CSVs go through the one
formula-safe writer (vp2pd.csv_safe).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from loaders.pipedrive.reports import STYLE, table
from vp2pd.config import CustomerConfig
from vp2pd.csv_safe import write_csv
from vp2pd.report import sources, svg
from vp2pd.secrets import redact

PAGE_ROWS = 200  # rows per collapsible page of a long list
# Rows of one list shown in the page; the CSV beside it holds every one. 200,000 skipped rows made a
# 28-MB page that took 17 s to build; analysts filter the CSV at that size anyway.
INLINE_MAX = 5_000
EXTRA_STYLE = ("details{margin:.3em 0 .6em 0}summary{cursor:pointer}.muted{color:#777}.pill{padding:1px 8px;"
               "border-radius:8px;color:#fff}.ok{background:#2a7}.ko{background:#c33}.na{background:#999}"
               "nav a{margin-right:1em}section{margin-bottom:2em}")


def run_folder(cfg: CustomerConfig, run_id: str) -> Path:
    """`runs/<customer>/<run_id>/`, beside the build folder (build/ and runs/ share a parent)."""
    return cfg.build_dir.parent / "runs" / cfg.slug / run_id


def scrub(value: Any) -> Any:
    """`value` with every secret the environment holds replaced by its name (before escaping)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _t(rows: list[dict[str, Any]] | None, bar: str | None = None) -> str:
    return table(scrub(rows or []), bar=bar)


def _p(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{escape(redact(text))}</p>' if cls else f"<p>{escape(redact(text))}</p>"


def _pill(state: bool | None, good: str, bad: str, missing: str = "not run") -> str:
    cls, text = ("na", missing) if state is None else (("ok", good) if state else ("ko", bad))
    return f'<span class="pill {cls}">{escape(text)}</span>'


def relative_link(target: Path, here: Path, text: str) -> str:
    """A link to `target` relative to the folder `here` (a run folder can be copied with build/ beside
    it); nothing when `target` does not exist."""
    if not target.exists():
        return ""
    try:
        href = os.path.relpath(target, here)
    except ValueError:  # another drive on Windows
        href = target.resolve().as_uri()
    return f'<a href="{escape(Path(href).as_posix(), quote=True)}">{escape(text)}</a>'


def _paged(rows: list[dict[str, Any]], title: str, csv_name: str = "") -> str:
    """A long list as collapsible pages of PAGE_ROWS rows (the first INLINE_MAX; every row is in the CSV)."""
    shown = rows[:INLINE_MAX]
    head = f"{title} ({len(rows):,}"
    if len(rows) > len(shown):
        head += f"; the first {len(shown):,} here, every one in {csv_name or 'the CSV export'}"
    summary = f"<summary>{escape(redact(head))})</summary>"
    if len(shown) <= PAGE_ROWS:
        return f"<details>{summary}{_t(shown)}</details>"
    pages = [f"<details><summary>rows {i + 1:,}–{min(i + PAGE_ROWS, len(shown)):,}</summary>"
             f"{_t(shown[i:i + PAGE_ROWS])}</details>" for i in range(0, len(shown), PAGE_ROWS)]
    return f"<details>{summary}{''.join(pages)}</details>"


def _by_reason(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (str(r.get("reason")), str(r.get("source_collection")))
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return [{"reason": k[0], "collection": k[1], "records": n, "label": f"{k[0]} ({k[1]})"} for k, n in ranked]


class Report:
    """Collects the sections of one run's page; `render` returns the HTML."""

    def __init__(self, cfg: CustomerConfig, run_id: str, folder: Path) -> None:
        self.cfg, self.run_id, self.folder = cfg, run_id, folder
        self.sections: list[tuple[str, str, str]] = []  # (anchor, title, html)
        self.status: list[tuple[str, str]] = []  # (label, pill)
        self.data: dict[str, Any] = {}

    def add(self, anchor: str, title: str, body: str) -> None:
        self.sections.append((anchor, title, body))

    def not_run(self, anchor: str, title: str, how: str) -> None:
        self.add(anchor, title, _p(f"Not run yet: {how}", "muted"))

    def render(self) -> str:
        title = f"Migration report — {self.cfg.name} — {self.run_id}"
        nav = "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t, _ in self.sections)
        status = " ".join(f"{escape(label)} {pill}" for label, pill in self.status)
        body = "".join(f'<section id="{a}"><h2>{escape(t)}</h2>{html}</section>' for a, t, html in self.sections)
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(redact(title))}</title>"
                f"<style>{STYLE}{EXTRA_STYLE}</style></head><body><h1>{escape(redact(title))}</h1>"
                f"<p class='muted'>customer {escape(self.cfg.slug)} · generated {stamp}</p><p>{status}</p>"
                f"<nav>{nav}</nav>{body}</body></html>")


def _runbook(r: Report) -> None:
    """The runbook's steps, from the record each executed notebook leaves (`<step>.json`)."""
    steps = []
    for path in sorted(r.folder.glob("*.json")):
        data = sources.read_json(path)
        if isinstance(data, dict) and "step" in data and "summary" in data:
            steps.append({"step": data["step"], "ok": data.get("ok"), "summary": data["summary"],
                          "problem": data.get("problem")})
    if not steps:
        return
    ok = all(s["ok"] for s in steps)
    r.status.append(("runbook", _pill(ok, f"{len(steps)} steps ok", "a step failed")))
    page = '<p><a href="runbook.html">runbook.html</a> (each step and its executed notebook)</p>'
    r.add("runbook", "Runbook steps", page + _t(steps))


def _estimate(r: Report) -> None:
    est = sources.read_json(r.cfg.reports_dir / "estimate.json")
    if est is None:
        return r.not_run("estimate", "Estimate", f"vp2pd estimate -c {r.cfg.slug}")
    b = est.get("budget", {})
    summary = {"source": est.get("source"), "source records": est.get("total_records"),
               "tokens": b.get("total_tokens"), "days": b.get("days"), "calls": b.get("requests"),
               "wall time (s)": b.get("wall_time_s")}
    decisions = [{"collection": d["collection"], "setting": d["setting"], "chosen": d["chosen"],
                  "options (tokens)": ", ".join(f"{k}: {v}" for k, v in d["options"].items())}
                 for d in est.get("decisions", [])]
    r.add("estimate", "Estimate (before extraction)",
          _p(f"Grade: {est.get('grade')} — " + "; ".join(est.get("grade_reasons", []))) + _t([summary])
          + svg.bars(b.get("objects", []), "object", ["create_tokens", "reconcile_tokens"],
                     title="estimated tokens per object")
          + "<h3>Mapping decisions</h3>" + _t(decisions))


def _extraction(r: Report, wh: sources.Warehouse | None) -> None:
    rows = sources.extraction(wh) if wh else None
    if not rows:
        r.status.append(("extraction", _pill(None, "", "")))
        return r.not_run("extraction", "Extraction", f"vp2pd extract -c {r.cfg.slug}")
    ok = all(x["status"] in ("ok", "not_available", "not_in_export") for x in rows)
    r.status.append(("extraction", _pill(ok, "counts match", "count gaps")))
    r.data["extraction"] = rows
    r.add("extraction", "Extraction: reported vs extracted",
          svg.bars(rows, "collection", ["extracted"], title="records extracted per collection") + _t(rows))


def _preflight(r: Report, wh: sources.Warehouse | None) -> None:
    data = sources.read_json(r.cfg.reports_dir / "preflight.json")
    if data is None:
        return r.not_run("preflight", "Pre-flight", f"vp2pd preflight -c {r.cfg.slug}")
    b, o = data.get("budget", {}), data.get("owners", {})
    summary = [{k: b.get(k) for k in ("plan", "seats", "daily_budget", "usable_per_day", "total_tokens", "days",
                                      "requests", "wall_time_s")}]
    owners = [{"staff": e, "user_id": i} for e, i in (o.get("matched") or {}).items()]
    r.status.append(("pre-flight", _pill(bool(data.get("ok")), "owners resolved", "problem")))
    r.add("preflight", "Pre-flight: owners, fields, budget",
          (_p(data["problem"], "bad") if data.get("problem") else "")
          + f"<h3>Owners ({len(owners)} matched, {len(o.get('unmatched') or [])} without a user)</h3>"
          + _t(owners) + _t(o.get("unmatched")) + _p(f"fallback owner: {o.get('fallback_owner')}")
          + "<h3>Budget</h3>" + _t(summary)
          + svg.bars(b.get("objects", []), "object", ["create_tokens", "reconcile_tokens"], title="tokens per object")
          + _t(b.get("objects"), bar="create_tokens") + "<h3>Choices and their cost (tokens)</h3>"
          + _t([{"choice": c.get("choice"), "options": ", ".join(f"{k}: {v}" for k, v in c.items() if k != "choice")}
                for c in b.get("choices", [])])
          + _fields(wh))


def _fields(wh: sources.Warehouse | None) -> str:
    if not wh or not wh.has("pipedrive.pipedrive__custom_fields"):
        return ""
    rows = wh.rows("select object, count(*) as fields from pipedrive.pipedrive__custom_fields group by 1 order by 1")
    return "<h3>Custom fields to set up</h3>" + _t(rows, bar="fields")


def _validation(r: Report) -> None:
    found = {s: sources.read_json(r.cfg.reports_dir / f"validation_{s}.json") for s in ("raw", "marts")}
    if not any(found.values()):
        r.status.append(("validation", _pill(None, "", "")))
        return r.not_run("validation", "Validation", f"vp2pd validate -c {r.cfg.slug}")
    rows, problems = [], []
    for suite, data in found.items():
        if not data:
            rows.append({"suite": suite, "result": "not run"})
            continue
        exps = data.get("expectations", [])
        rows.append({"suite": suite, "result": "passed" if data.get("success") else "FAILED",
                     "expectations": len(exps), "met": sum(1 for e in exps if e.get("success")),
                     "critical failures": data.get("critical_failures"), "warnings": data.get("warnings"),
                     "chunks": data.get("chunks"), "run time": data.get("run_time")})
        problems += [{"suite": suite, "severity": e.get("severity"), "table": e.get("table"),
                      "expectation": e.get("expectation"), "column": e.get("column"),
                      "failing": e.get("failing"), "of rows": e.get("rows"), "examples": e.get("failing_rows")}
                     for e in exps if not e.get("success")]
    ok = all(d.get("success") for d in found.values() if d)
    r.status.append(("validation", _pill(ok, "passed", "failed")))
    docs = relative_link(r.cfg.reports_dir / "data_docs" / "index.html", r.folder, "Great Expectations Data Docs")
    r.add("validation", "Validation", (f"<p>{docs}</p>" if docs else "") + _t(rows)
          + ("<h3>Expectations not met</h3>" + _t(problems, bar="failing") if problems
             else _p("Every expectation met.")))


def _sample(r: Report) -> None:
    data = sources.sample_json(r.cfg, r.folder)
    if data is None:
        return r.not_run("sample", "Sample migration and field diff", "the runbook's sample step (05)")
    if not isinstance(data, dict):
        rows = data if isinstance(data, list) else [{"sample": data}]
        return r.add("sample", "Sample migration and field diff", _t(rows))
    run = data.get("run_id")
    links = [relative_link(r.cfg.reports_dir / name, r.folder, name)
             for name in (f"sample_{run}.html", f"sample_{run}_diff.csv")]
    parts = [f"<p>{' '.join(x for x in links if x)}</p>"] if any(links) else []
    scalars = {k: v for k, v in data.items() if not isinstance(v, (dict, list))}
    parts.append(_t([scalars]) if scalars else "")
    summary = data.get("summary")
    if isinstance(summary, list) and summary:
        value = next((k for k in ("fields_compared", "fields", "records") if k in summary[0]), None)
        label = next(iter(summary[0]))
        parts.append("<h3>Per object</h3>" + (svg.bars(summary, label, [value], title=value) if value else "")
                     + _t(summary, bar=value))
    diff = data.get("diff")
    if isinstance(diff, list):
        bad = [d for d in diff if isinstance(d, dict) and not d.get("match", True)]
        parts.append(f"<h3>Mismatching fields ({len(bad):,})</h3>" + (_paged(bad, "mismatches") if bad else _p("none")))
        parts.append("<h3>Every field compared</h3>" + _paged(diff, "fields compared", f"sample_{run}_diff.csv"))
    selection = data.get("selection")
    if isinstance(selection, dict) and isinstance(selection.get("strata"), list):
        parts.append("<h3>Strata</h3>" + _paged(selection["strata"], "strata"))
    load = data.get("load")
    if isinstance(load, dict) and isinstance(load.get("counts"), dict):
        parts.append("<h3>Sample load</h3>" + _t([{"object": k, **v} for k, v in load["counts"].items()]))
    known = {"summary", "diff", "selection", "load"}
    for key, value in data.items():
        if key in known:
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts.append(f"<h3>{escape(key)}</h3>" + _paged(value, key))
        elif isinstance(value, dict) and value:
            parts.append(f"<h3>{escape(key)}</h3>" + _t([{"key": k, "value": v} for k, v in value.items()]))
    r.add("sample", "Sample migration and field diff", "".join(parts))


def _delta(r: Report) -> None:
    """The newest delta pickup after cutover (delta_<run>.json); absent before cutover, so no section."""
    found = sorted(r.cfg.reports_dir.glob("delta_*.json"), key=lambda p: p.stat().st_mtime) \
        if r.cfg.reports_dir.is_dir() else []
    data = sources.read_json(found[-1]) if found else None
    if not isinstance(data, dict):
        return
    r.add("delta", f"Delta pickup (run {data.get('run_id')})",
          _p(f"status: {data.get('status')}, {data.get('writes')} writes")
          + _t(data.get("objects")) + "<h3>Deleted at the source</h3>" + _t(data.get("deletions"))
          + "<h3>Rejected</h3>" + _t(data.get("rejections")) + _t([{"note": n} for n in data.get("notes") or []]))


def _load(r: Report) -> None:
    data = sources.load_json(r.cfg, r.run_id)
    if data is None:
        r.status.append(("load", _pill(None, "", "")))
        return r.not_run("load", "Load", f"vp2pd load -c {r.cfg.slug}")
    counts = [{"object": k, **v} for k, v in (data.get("counts") or {}).items()]
    r.status.append(("load", _pill(data.get("status") == "completed" and not data.get("rejections"),
                                   str(data.get("status")), f"{data.get('status')}")))
    r.data["load"] = data
    r.add("load", f"Load summary (run {data.get('run_id')})",
          _p(f"status: {data.get('status')}")
          + svg.bars(counts, "object", ["created", "resolved", "rejected"], title="records per object")
          + _t(counts, bar="created") + _t([{"note": n} for n in data.get("notes", [])])
          + ("<h3>Rejected by Pipedrive</h3>" + _t(data.get("rejections")) if data.get("rejections") else ""))


def _reconcile(r: Report) -> None:
    data = sources.read_json(r.cfg.reports_dir / "reconcile.json")
    if data is None:
        r.status.append(("reconciliation", _pill(None, "", "")))
        return r.not_run("reconciliation", "Reconciliation", f"vp2pd reconcile -c {r.cfg.slug}")
    r.data["reconcile"] = data
    mismatches = sum(int(m.get("mismatches") or 0) for m in data.get("mismatches", []))
    r.status.append(("reconciliation", _pill(bool(data.get("ok")), "zero mismatches", f"{mismatches} mismatches")))
    r.add("reconciliation", "Reconciliation: counts and field values",
          svg.bars(data.get("objects", []), "object", ["in_pipedrive"], title="records read back from Pipedrive")
          + _t(data.get("objects")) + "<h3>Per-field mismatches (first examples)</h3>"
          + _t(data.get("mismatches"), bar="mismatches"))


def _accounting(r: Report, wh: sources.Warehouse | None) -> None:
    rows = sources.accounting(wh) if wh else None
    source = "the warehouse"
    if rows is None and isinstance(r.data.get("reconcile"), dict):
        rows, source = r.data["reconcile"].get("accounting"), "reconcile.json"
    if not rows:
        r.status.append(("accounting", _pill(None, "", "")))
        return r.not_run("accounting", "Accounting", "a load (the ledger) over transformed marts")
    for row in rows:
        row["balanced"] = row["migrated"] + row["skipped"] + row["quarantined"] == row["extracted"]
    ok = all(row["balanced"] and row.get("unaccounted", 0) == 0 for row in rows)
    r.data["accounting"] = rows
    r.status.append(("accounting", _pill(ok, "every record accounted for", "unaccounted records")))
    total = {k: sum(int(row[k]) for row in rows)
             for k in ("extracted", "migrated", "skipped", "quarantined", "unaccounted")}
    r.add("accounting", "Accounting: migrated + skipped + quarantined = extracted",
          _p(f"from {source}: {total['migrated']:,} migrated + {total['skipped']:,} skipped + "
             f"{total['quarantined']:,} quarantined = {total['extracted']:,} extracted"
             + (f" ({total['unaccounted']:,} unaccounted)" if total["unaccounted"] else ""))
          + svg.bars(rows, "source_collection", ["migrated", "skipped", "quarantined", "unaccounted"],
                     title="records per collection") + _t(rows))


def _skipped(r: Report, wh: sources.Warehouse | None) -> None:
    skipped = sources.skipped(wh) if wh else None
    quarantined = sources.quarantined(wh) if wh else []
    if skipped is None and not quarantined:
        return r.not_run("skipped", "Skipped and quarantined records", f"vp2pd transform -c {r.cfg.slug}")
    skipped = skipped or []
    sent_skipped = [s for s in skipped if s["kind"] == "skipped"]
    reported = [s for s in skipped if s["kind"] != "skipped"]
    write_csv(r.folder / "skipped.csv", skipped, ["kind", "source_collection", "source_id", "reason", "detail"])
    write_csv(r.folder / "quarantined.csv", quarantined,
              ["stage", "source_collection", "source_id", "reason", "detail"])
    reasons = _by_reason(sent_skipped)
    parts = [_p(f"{len(sent_skipped):,} records skipped with a reason, {len(quarantined):,} quarantined, "
                f"{len(reported):,} sent but reported for attention. Full lists: "),
             f"<p>{relative_link(r.folder / 'skipped.csv', r.folder, 'skipped.csv')} "
             f"{relative_link(r.folder / 'quarantined.csv', r.folder, 'quarantined.csv')}</p>",
             svg.bars(reasons, "label", ["records"], title="skipped records per reason (collection)"),
             _t([{k: v for k, v in x.items() if k != "label"} for x in reasons], bar="records")]
    for reason in dict.fromkeys(s["reason"] for s in sent_skipped):
        parts.append(_paged([s for s in sent_skipped if s["reason"] == reason], f"skipped: {reason}", "skipped.csv"))
    parts.append("<h3>Quarantined (could not land or Pipedrive refused)</h3>")
    parts.append(_paged(quarantined, "quarantined", "quarantined.csv") if quarantined else _p("none"))
    parts.append("<h3>Sent, reported for attention</h3>")
    parts.append(_t([{k: v for k, v in x.items() if k != "label"} for x in _by_reason(reported)], bar="records"))
    for reason in dict.fromkeys(s["reason"] for s in reported):
        parts.append(_paged([s for s in reported if s["reason"] == reason], f"reported: {reason}", "skipped.csv"))
    r.data["skipped"], r.data["quarantined"] = len(sent_skipped), len(quarantined)
    r.add("skipped", "Skipped and quarantined records, with reasons", "".join(parts))


def _tokens(r: Report, wh: sources.Warehouse | None) -> None:
    spend = sources.token_spend(wh, r.run_id) if wh else None
    if not spend or not spend["per_run"]:
        return r.not_run("tokens", "Token spend", "a setup or load (the ledger records each write's tokens)")
    points = [(t["at"], float(t["cumulative"])) for t in spend["timeline"]]
    r.add("tokens", "Token spend",
          _p(f"Write tokens the ledger recorded ({spend['scope']}); list reads are in the pre-flight budget.")
          + svg.line(points, title="cumulative tokens") + svg.bars(spend["per_object"], "object", ["tokens"],
                                                                  title="tokens per object")
          + _t(spend["per_object"], bar="tokens") + "<h3>Per run</h3>" + _t(spend["per_run"], bar="tokens"))


def _handbook(r: Report) -> None:
    data = sources.read_json(r.cfg.reports_dir / "handbook.json")
    if data is None:
        return r.not_run("handbook", "Rebuild handbook", f"vp2pd handbook -c {r.cfg.slug}")
    link = relative_link(r.cfg.reports_dir / "handbook.md", r.folder, "handbook.md")
    r.add("handbook", "Automations, templates and reports to rebuild",
          _p(", ".join(f"{n} {c}" for c, n in (data.get("counts") or {}).items()) + " — the handbook says what to "
             "build in Pipedrive for each.") + (f"<p>{link}</p>" if link else "")
          + _paged([{"collection": i["collection"], "id": i["id"], "name": i["name"], "rebuild as": i["rebuild_as"],
                     "suggestion": i["suggestion"]} for i in data.get("items", [])], "definitions", "handbook.json"))


def build_report(cfg: CustomerConfig, run_id: str | None = None, *, run_dir: Path | None = None) -> Path:
    """Write the run's report.html (and skipped.csv, quarantined.csv) and return its path.

    `run_id`: the runbook's run (default: the newest load run in the ledger, else a new id);
    `run_dir`: where to write (default `run_folder(cfg, run_id)`).
    """
    wh = sources.open_warehouse(cfg)
    try:
        run_id = run_id or _latest_run(wh) or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        folder = run_dir or run_folder(cfg, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        r = Report(cfg, run_id, folder)
        _runbook(r)
        _estimate(r)
        _extraction(r, wh)
        _preflight(r, wh)
        _validation(r)
        _sample(r)
        _load(r)
        _delta(r)
        _reconcile(r)
        _accounting(r, wh)
        _skipped(r, wh)
        _tokens(r, wh)
        _handbook(r)
    finally:
        if wh:
            wh.close()
    path = folder / "report.html"
    path.write_text(r.render(), encoding="utf-8")
    return path


def _latest_run(wh: sources.Warehouse | None) -> str | None:
    if not wh or not wh.has("ledger.runs"):
        return None
    found = wh.rows("select run_id from ledger.runs where kind = 'load' order by started desc limit 1")
    return found[0]["run_id"] if found else None

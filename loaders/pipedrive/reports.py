"""JSON + HTML reports under `build/<customer>/reports/`: the JSON for machines and runbooks, the
HTML (tables and bar charts in plain HTML/CSS, no scripts, opens offline) for the analyst."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from vp2pd.csv_safe import write_csv  # the one formula-safe CSV writer of every export


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return html.escape("" if value is None else str(value))


def table(rows: list[dict[str, Any]], bar: str | None = None) -> str:
    """An HTML table of `rows`; with `bar`, that numeric column is drawn as a bar as well."""
    if not rows:
        return "<p><i>none</i></p>"
    cols = list(rows[0])
    top = max((float(r.get(bar) or 0) for r in rows), default=0) if bar else 0
    out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>"]
    for r in rows:
        cells = []
        for c in cols:
            text = _cell(r.get(c))
            if c == bar and top:
                width = round(200 * float(r.get(c) or 0) / top)
                text += f' <span class="bar" style="width:{width}px"></span>'
            cells.append(f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(out + ["</table>"])


STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
         ".bar{display:inline-block;height:10px;background:#4a7}.bad{color:#b00}.good{color:#070}")


def write(reports_dir: Path, name: str, title: str, data: dict[str, Any], sections: list[tuple[str, str]]) -> Path:
    """Write `<name>.json` and `<name>.html`; returns the HTML path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / f"{name}.json").write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False),
                                              encoding="utf-8")
    body = "".join(f"<h2>{html.escape(h)}</h2>\n{content}\n" for h, content in sections)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{body}</body></html>")
    path = reports_dir / f"{name}.html"
    path.write_text(page, encoding="utf-8")
    return path


def status(ok: bool, good: str, bad: str) -> str:
    return f'<p class="{"good" if ok else "bad"}"><b>{html.escape(good if ok else bad)}</b></p>'


def preflight_report(reports_dir: Path, data: dict[str, Any]) -> Path:
    budget = data["budget"]
    summary = [{k: budget[k] for k in ("plan", "seats", "daily_budget", "usable_per_day", "total_tokens", "days",
                                       "requests", "wall_time_s")}]
    return write(reports_dir, "preflight", "Pre-flight", data, [
        ("Owners", status(data["ok"], "every owner resolved", data["problem"] or "")
         + table([{"staff": e, "user_id": i} for e, i in data["owners"]["matched"].items()])),
        ("Staff without a Pipedrive user", table(data["owners"]["unmatched"])),
        ("Schema plan (what `vp2pd setup` will do)", _schema(data.get("schema"))),
        ("Budget", table(summary)), ("Tokens per object", table(budget["objects"], bar="create_tokens")),
        ("Choices and their cost (tokens)", table(budget["choices"]))])


def _schema(plan: dict[str, Any] | None) -> str:
    if not plan:
        return "<p>not read</p>"
    rows = [{"action": action, "item": item} for action, key in (
        ("conflict (setup stops)", "conflicts"), ("create field", "create_fields"), ("reuse field", "reuse_fields"),
        ("add option", "add_options"), ("create", "create"), ("not writable through the API", "not_writable"),
        ("unsupported type", "unsupported")) for item in plan[key]]
    return table(rows)


def load_report(reports_dir: Path, data: dict[str, Any]) -> Path:
    counts = [{"object": k, **v} for k, v in data["counts"].items()]
    return write(reports_dir, f"load_{data['run_id']}", f"Load {data['run_id']} — {data['status']}", data, [
        ("Objects", table(counts, bar="created")), ("Notes", table([{"note": n} for n in data["notes"]])),
        ("Rejected rows (Pipedrive's message)", table(data["rejections"]))])


def reconcile_report(reports_dir: Path, data: dict[str, Any]) -> Path:
    return write(reports_dir, "reconcile", "Reconciliation", data, [
        ("Result", status(data["ok"], "zero mismatches", "mismatches found")),
        ("Counts per object", table(data["objects"], bar="in_pipedrive")),
        ("Per-field mismatches (first examples)", table(data["mismatches"], bar="mismatches")),
        ("Accounting: migrated + skipped + quarantined = extracted", table(data["accounting"], bar="extracted"))])


DIFF_COLUMNS = ["object", "source_id", "field", "source_value", "expected", "actual", "match"]
DIFF_HEADINGS = {"source_value": "source value (mart)", "expected": "expected Pipedrive value",
                 "actual": "actual Pipedrive value"}


def sample_report(reports_dir: Path, data: dict[str, Any]) -> tuple[Path, Path]:
    """The reviewer's sample report: HTML (mismatches first, then every field) + the CSV diff."""
    name = f"sample_{data['run_id']}"
    diff = data["diff"]
    csv_path = write_csv(reports_dir / f"{name}_diff.csv",
                         [{**r, "match": "yes" if r["match"] else "NO"} for r in diff], DIFF_COLUMNS)
    shown = [{DIFF_HEADINGS.get(c, c): ("yes" if r[c] else "NO") if c == "match" else r[c] for c in DIFF_COLUMNS}
             for r in diff]
    bad = [s for s, r in zip(shown, diff) if not r["match"]]
    strata = data["selection"]["strata"]
    decision = data.get("decision") or "pending: `vp2pd sample-decision --keep` or `--rollback`"
    page = write(reports_dir, name, f"Sample {data['run_id']} — {data['mismatches']} mismatching field(s)", data, [
        ("Result", status(data["mismatches"] == 0, "every sampled field matches", "mismatches found")
         + f"<p>decision: {_cell(decision)}; CSV: {_cell(csv_path.name)}</p>"),
        ("Per object", table(data["summary"], bar="fields_compared")),
        ("Strata", table([s for s in strata if not s.get("covered_by")] + [s for s in strata if s.get("covered_by")])),
        ("Mismatching fields", table(bad)), ("Every field compared", table(shown))])
    return page, csv_path


def delta_report(reports_dir: Path, data: dict[str, Any]) -> Path:
    return write(reports_dir, f"delta_{data['run_id']}", f"Delta {data['run_id']} — {data['status']}", data, [
        ("Per object", table(data["objects"], bar="updated")),
        ("Updates (fields patched)", table(data["updates"])),
        ("Deleted in Visual Practice: for a decision, not applied", table(data["deletions"])),
        ("Changes that cannot be patched: for a decision", table(data["unpatchable"])),
        ("Notes", table([{"note": n} for n in data["notes"]]))])

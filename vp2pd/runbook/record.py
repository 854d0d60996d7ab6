"""The run's own page (`runs/<customer>/<run_id>/runbook.html`): each step's status, summary and
tables, links to the executed notebooks, the step reports and the migration report (report.html,
vp2pd.report). Plain HTML, no scripts: opens without Jupyter."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loaders.pipedrive.reports import STYLE, table
from vp2pd.report import svg
from vp2pd.report.build import relative_link
from vp2pd.runbook.display import bar_svg
from vp2pd.config import CustomerConfig
from vp2pd.secrets import redact

if TYPE_CHECKING:
    from vp2pd.runbook.execute import RunRecord


def _step_section(folder: Path, step: str) -> str:
    path = folder / f"{step}.json"
    if not path.is_file():
        return ""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    parts = [f"<h2>{html.escape(step)}</h2>", f"<p>{html.escape(data['summary'])}</p>"]
    if data.get("problem"):
        parts.append(f'<p class="bad"><b>{html.escape(data["problem"])}</b></p>')
    for t in data.get("tables", []):
        chart = bar_svg(t["rows"], t["bar"], t.get("label")) if t.get("bar") and len(t["rows"]) > 1 else ""
        parts.append(f"<h3>{html.escape(t['title'])}</h3>" + chart + table(t["rows"]))
    for title, points in (data.get("lines") or {}).items():
        parts.append(svg.line([(str(x), float(y)) for x, y in points], title=title))
    return "\n".join(parts)


def write_run_report(cfg: CustomerConfig, record: "RunRecord") -> Path:
    folder = Path(record.folder)
    migration = folder / "report.html" if (folder / "report.html").is_file() else None
    rows = []
    for s in record.steps:
        link = relative_link(Path(s.html), folder, Path(s.html).name) if s.html else ""
        rows.append(f"<tr><td>{html.escape(s.step)}</td><td class=\"{'good' if s.status == 'ok' else 'bad'}\">"
                    f"{html.escape(s.status)}</td><td>{s.seconds:.1f} s</td><td>{link}</td>"
                    f"<td>{html.escape(s.error or '')}</td></tr>")
    reports = sorted(cfg.reports_dir.glob("*.html")) if cfg.reports_dir.is_dir() else []
    links = [relative_link(p, folder, p.name) for p in reports]
    docs = cfg.reports_dir / "data_docs" / "index.html"
    if docs.is_file():
        links.append(relative_link(docs, folder, "Data Docs (validation)"))
    if migration:
        links.insert(0, relative_link(migration, folder, "Migration report"))
    body = [f"<h1>Runbook {html.escape(record.customer)} · {html.escape(record.run_id)} — "
            f"{html.escape(record.status)}</h1>",
            f"<p>Started {html.escape(record.started)}. The executed notebooks are the record of the run.</p>",
            "<table><tr><th>step</th><th>status</th><th>time</th><th>executed notebook</th><th>why</th></tr>"
            + "".join(rows) + "</table>",
            "<h2>Reports</h2><ul>" + "".join(f"<li>{link}</li>" for link in links) + "</ul>"]
    body += [_step_section(folder, s.step) for s in record.steps]
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Runbook {html.escape(record.run_id)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>")
    path = folder / "runbook.html"
    path.write_text(redact(page), encoding="utf-8")
    return path

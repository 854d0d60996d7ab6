"""What a runbook step shows: tables (pandas) and bar charts as inline SVG.

matplotlib is not a dependency; a bar chart in SVG needs none and renders the same in JupyterLab,
in the nbconvert HTML of an executed notebook and in a browser without Jupyter.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    title: str
    rows: list[dict[str, Any]]
    bar: str | None = None  # a numeric column to draw as well
    label: str | None = None  # the column naming each bar (default: the first)


@dataclass
class Outcome:
    """One step's result: a one-line summary, its tables, whether it succeeded, and its data (JSON)."""

    step: str
    summary: str
    ok: bool = True
    problem: str | None = None
    tables: list[Table] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # title -> (label, value) points

    def as_json(self) -> dict[str, Any]:
        return {"step": self.step, "summary": self.summary, "ok": self.ok, "problem": self.problem,
                "tables": [vars(t) for t in self.tables], "lines": self.lines, "data": self.data}


def bar_svg(rows: list[dict[str, Any]], value: str, label: str | None = None, width: int = 360) -> str:
    """A horizontal bar chart of `rows[value]`, one bar per row, labelled by `rows[label]`."""
    if not rows:
        return ""
    label = label or next(iter(rows[0]))
    values = [float(r.get(value) or 0) for r in rows]
    top = max(values) or 1.0
    line, left = 18, 190
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{line * len(rows) + 24}" '
             f'font-family="sans-serif" font-size="12"><text x="0" y="12" font-weight="bold">'
             f'{html.escape(value)}</text>']
    for i, (row, v) in enumerate(zip(rows, values)):
        y = 20 + i * line
        w = round(width * v / top)
        name = html.escape(str(row.get(label))[:28])
        parts.append(f'<text x="{left - 6}" y="{y + 11}" text-anchor="end">{name}</text>'
                     f'<rect x="{left}" y="{y}" width="{w}" height="{line - 5}" fill="#4a7"/>'
                     f'<text x="{left + w + 4}" y="{y + 11}">{v:,.0f}</text>')
    return "".join(parts) + "</svg>"


def line_svg(points: list[tuple[str, float]], title: str, width: int = 480, height: int = 160) -> str:
    """A cumulative line (e.g. tokens spent over time): x is the order of `points`, labels at the ends."""
    if len(points) < 2:
        return ""
    top = max(v for _, v in points) or 1.0
    step = width / (len(points) - 1)
    xy = " ".join(f"{40 + i * step:.1f},{20 + height - height * v / top:.1f}" for i, (_, v) in enumerate(points))
    first, last = points[0], points[-1]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 120}" height="{height + 50}" '
            f'font-family="sans-serif" font-size="12"><text x="0" y="12" font-weight="bold">{html.escape(title)}</text>'
            f'<polyline fill="none" stroke="#47a" stroke-width="2" points="{xy}"/>'
            f'<text x="40" y="{height + 40}">{html.escape(first[0])}</text>'
            f'<text x="{width + 40}" y="{height + 40}" text-anchor="end">{html.escape(last[0])}</text>'
            f'<text x="{width + 44}" y="24">{last[1]:,.0f}</text></svg>')


def show(outcome: Outcome) -> None:
    """Display an outcome in a notebook (outside one, print it)."""
    try:
        from IPython.display import HTML, Markdown, display
        import pandas as pd
    except ImportError:  # pragma: no cover - the notebooks always have both
        print(outcome.summary)
        return
    colour = "green" if outcome.ok else "#b00"
    display(HTML(f'<p style="color:{colour}"><b>{html.escape(outcome.step)}:</b> {html.escape(outcome.summary)}</p>'))
    if outcome.problem:
        display(Markdown(f"**Problem:** {outcome.problem}"))
    for t in outcome.tables:
        display(Markdown(f"**{t.title}**"))
        if not t.rows:
            display(Markdown("_none_"))
            continue
        display(pd.DataFrame(t.rows))
        if t.bar:
            display(HTML(bar_svg(t.rows, t.bar, t.label)))
    for title, points in outcome.lines.items():
        display(HTML(line_svg(points, title)))

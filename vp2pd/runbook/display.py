"""What a runbook step shows: tables (pandas) and bar charts as inline SVG (vp2pd.report.svg).

matplotlib is not a dependency; a bar chart in SVG needs none and renders the same in JupyterLab,
in the nbconvert HTML of an executed notebook and in a browser without Jupyter.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from vp2pd.report import svg


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


def bar_svg(rows: list[dict[str, Any]], value: str, label: str | None = None) -> str:
    """A horizontal bar chart of `rows[value]`, one bar per row, labelled by `rows[label]` (default:
    the first column): the report's chart, so a run page and the report draw alike."""
    if not rows:
        return ""
    return svg.bars(rows, label or next(iter(rows[0])), [value], title=value)


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
        display(HTML(svg.line(points, title=title)))

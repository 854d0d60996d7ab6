"""Inline SVG charts for the report: horizontal bars (one or several series) and a cumulative line.

No charting dependency: a few rectangles and text elements render the same in every browser,
offline, and in an HTML page mailed to an analyst. Every label is HTML-escaped (it comes from data).
"""

from __future__ import annotations

from html import escape as _escape
from typing import Any, Sequence

from vp2pd.secrets import redact

PALETTE = ("#4a7", "#d84", "#c44", "#888", "#47a", "#a6c")


def escape(value: Any) -> str:
    return _escape(redact(str(value)))


def _num(value: Any) -> float:
    """A bar's length: numbers as they are, anything else (None, a note) as 0 rather than a crash."""
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def bars(rows: Sequence[dict[str, Any]], label: str, series: Sequence[str], *, title: str = "",
         width: int = 420, max_rows: int = 40) -> str:
    """Horizontal bars of `rows`, one group per row labelled by `row[label]`; several `series` are
    stacked (e.g. migrated / skipped / quarantined), with a legend."""
    rows = [r for r in rows][:max_rows]
    if not rows:
        return ""
    totals = [sum(_num(r.get(s)) for s in series) for r in rows]
    top = max(totals) or 1.0
    line, left, head = 20, 270, 22 + (18 if len(series) > 1 else 0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{left + width + 90}" '
           f'height="{head + line * len(rows) + 6}" font-family="sans-serif" font-size="12">']
    if title:
        out.append(f'<text x="0" y="13" font-weight="bold">{escape(title)}</text>')
    if len(series) > 1:
        x = 0
        for i, s in enumerate(series):
            out.append(f'<rect x="{x}" y="22" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                       f'<text x="{x + 14}" y="31">{escape(s)}</text>')
            x += 24 + 7 * len(s)
    for n, (row, total) in enumerate(zip(rows, totals)):
        y = head + n * line
        out.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(str(row.get(label))[:42])}</text>')
        x = float(left)
        for i, s in enumerate(series):
            w = width * _num(row.get(s)) / top
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{line - 6}" '
                           f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(s)}: {_num(row.get(s)):,.0f}'
                           f'</title></rect>')
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 12}">{total:,.0f}</text>')
    return "".join(out) + "</svg>"


def line(points: Sequence[tuple[str, float]], *, title: str = "", width: int = 520, height: int = 150) -> str:
    """A line through `points` (x in order, labels at both ends), e.g. cumulative tokens over time."""
    if len(points) < 2:
        return ""
    top = max(v for _, v in points) or 1.0
    step = width / (len(points) - 1)
    xy = " ".join(f"{50 + i * step:.1f},{24 + height - height * v / top:.1f}" for i, (_, v) in enumerate(points))
    first, last = points[0], points[-1]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width + 140}" height="{height + 56}" '
            f'font-family="sans-serif" font-size="12"><text x="0" y="13" font-weight="bold">{escape(title)}</text>'
            f'<line x1="50" y1="{24 + height}" x2="{50 + width}" y2="{24 + height}" stroke="#999"/>'
            f'<polyline fill="none" stroke="#47a" stroke-width="2" points="{xy}"/>'
            f'<text x="50" y="{height + 44}">{escape(first[0])}</text>'
            f'<text x="{width + 50}" y="{height + 44}" text-anchor="end">{escape(last[0])}</text>'
            f'<text x="{width + 56}" y="28">{last[1]:,.0f}</text></svg>')

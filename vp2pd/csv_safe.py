"""The one CSV writer for every export an analyst opens (reports, skipped lists, sample diffs).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula, and a leading tab or
carriage return can hide such a character from a naive check (OWASP "CSV injection"). Source data
is untrusted (a client named `=HYPERLINK(...)`), so every text value starting with one of those
characters (or a line feed) is written with a leading apostrophe, which spreadsheets show as text and never run.
Numbers are written as they are: a negative amount (`-12.50`) stays a number.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: Any) -> Any:
    """A cell value safe for a spreadsheet: text that could start a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rows(out: io.TextIOBase | Any, rows: Iterable[Mapping[str, Any]],
               columns: Sequence[str] | None = None) -> int:
    """Write `rows` (dicts) with a header to the open text file `out`; returns the rows written.

    Columns are `columns` or the first row's keys; a key missing from a row is an empty cell.
    """
    rows = iter(rows)
    first = next(rows, None)
    if columns is None:
        columns = list(first) if first is not None else []
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns])
    count = 0
    for row in ([first] if first is not None else []):
        writer.writerow([neutralise(row.get(c)) for c in columns])
        count += 1
    for row in rows:
        writer.writerow([neutralise(row.get(c)) for c in columns])
        count += 1
    return count


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> Path:
    """Write `rows` to `path` (UTF-8 with BOM, so Excel reads accents right); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        write_rows(fh, rows, columns)
    return path


def to_csv_text(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    buffer = io.StringIO()
    write_rows(buffer, rows, columns)
    return buffer.getvalue()

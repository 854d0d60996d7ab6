"""The per-collection extraction table people read: reported / extracted / healed / quarantined.

Details (skipped files, gaps, plans without custom objects) are long sentences: they are printed
under the table, one line per collection, so the table stays readable on an 80-column console.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from extractors.visual_practice.run import ExtractionResult

COUNTS = ("reported", "extracted", "healed", "quarantined")


def report_table(result: ExtractionResult) -> Table:
    table = Table(title=f"Extraction {result.run_id} ({result.source}, {result.mode}) → {result.warehouse}")
    table.add_column("collection", no_wrap=True)
    for column in COUNTS:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for r in result.reports:
        mark = "[green]" if r.status == "ok" and r.balanced else "[yellow]" if r.status != "gap" else "[red]"
        table.add_row(r.collection, "—" if r.reported is None else str(r.reported), str(r.extracted), str(r.healed),
                      str(r.quarantined), f"{mark}{r.status}")
    return table


def print_report(console: Console, result: ExtractionResult) -> None:
    console.print(report_table(result))
    for r in result.reports:
        if r.detail:
            console.print(f"  [bold]{r.collection}[/]: {escape(r.detail)}")

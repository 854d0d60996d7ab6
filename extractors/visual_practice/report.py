"""The per-collection extraction table people read: reported / extracted / healed / quarantined."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from extractors.visual_practice.run import ExtractionResult


def report_table(result: ExtractionResult) -> Table:
    table = Table(title=f"Extraction {result.run_id} ({result.source}, {result.mode}) → {result.warehouse}")
    for column in ("collection", "reported", "extracted", "healed", "quarantined", "status", "detail"):
        table.add_column(column, justify="right" if column in ("reported", "extracted", "healed", "quarantined") else "left")
    for r in result.reports:
        mark = "[green]" if r.status == "ok" and r.balanced else "[yellow]" if r.status != "gap" else "[red]"
        table.add_row(r.collection, "—" if r.reported is None else str(r.reported), str(r.extracted), str(r.healed),
                      str(r.quarantined), f"{mark}{r.status}", r.detail or "")
    return table


def print_report(console: Console, result: ExtractionResult) -> None:
    console.print(report_table(result))

"""What a suite is made of: checks, each a SQL query over the warehouse and the GX expectations
its rows must meet, with a severity per expectation.

A check's query is streamed to GX in chunks (pandas batches), so every expectation must hold row
by row within a chunk. What needs the whole table — uniqueness, resolvable references, row counts
— is computed by the query itself (a GROUP BY, an anti-join, a count) into a column whose values
the expectation then judges; the failing rows are still named by the check's id columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from vp2pd.warehouse import quote

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"


@dataclass
class Check:
    name: str  # e.g. "marts.persons": GX suite and asset name
    table: str  # the warehouse table the rows come from (for people reading a failure)
    sql: str
    id_columns: tuple[str, ...]  # name a failing row: source_id / id / natural_key
    expectations: list[Expectation] = field(default_factory=list)

    def expect(self, expectation: Expectation, severity: Severity = CRITICAL) -> "Check":
        expectation.severity = severity  # type: ignore[assignment]  # GX coerces to FailureSeverity
        self.expectations.append(expectation)
        return self


def not_blank(check: Check, column: str, severity: Severity = CRITICAL) -> None:
    """Pipedrive refuses an empty name or title; whitespace alone is empty too."""
    check.expect(gxe.ExpectColumnValuesToNotBeNull(column=column), severity)
    check.expect(gxe.ExpectColumnValuesToNotMatchRegex(column=column, regex=r"^\s*$"), severity)


def duplicates_check(name: str, table: str, key: str, named_by: str | None = None) -> Check:
    """Keys that occur more than once in the whole table, whatever chunk their rows fall in.

    A per-chunk uniqueness expectation cannot see a duplicate whose two rows land in different
    chunks, so the GROUP BY runs over the whole table and GX judges each key's occurrence count;
    `named_by` lists the rows sharing the key (e.g. their source ids).
    """
    named = quote(named_by) if named_by else ""
    rows = f", string_agg(CAST({named} AS VARCHAR), ', ' ORDER BY {named}) AS rows" if named_by else ""
    sql = (f"SELECT {quote(key)}, count(*) AS occurrences{rows} FROM {table} "
           f"WHERE {quote(key)} IS NOT NULL GROUP BY {quote(key)} HAVING count(*) > 1 ORDER BY {quote(key)}")
    check = Check(name, table, sql, (key, "rows") if named_by else (key,))
    return check.expect(gxe.ExpectColumnValuesToBeBetween(column="occurrences", max_value=1))


def unresolved(column: str, target: str, target_key: str = "natural_key", alias: str = "m") -> str:
    """SQL for `<column>_unresolved`: the reference when it names no row of `target`, else NULL."""
    col = f"{alias}.{quote(column)}"
    return (f"CASE WHEN {col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} t "
            f"WHERE t.{quote(target_key)} = {col}) THEN {col} END AS {quote(column + '_unresolved')}")


def resolves(check: Check, column: str, severity: Severity = CRITICAL) -> None:
    """Every reference in `column` names an existing row (the query computed `<column>_unresolved`)."""
    check.expect(gxe.ExpectColumnValuesToBeNull(column=f"{column}_unresolved"), severity)

"""SQL turning export text into typed values, vectorised: one expression per value kind.

Each parser maps a VARCHAR expression (NULL when the field was empty) to the typed value, NULL when
the text does not parse; the caller flags "text present, value NULL" as a bad value, so nothing
becomes NULL silently. Date-times are the practice's local wall-clock time, landed as naive
TIMESTAMP (the staging models localise rows whose `_source` is csv).
"""

from __future__ import annotations

import re
from datetime import datetime

from extractors.visual_practice.export.aliases import Formats
from vp2pd.vp_contract import DUCKDB_TYPES


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Directives written back to back (`%Y%m%d`) make strptime accept short text ("2026112" as
# 2026-11-02): such formats only apply to text of their exact length.
_RUN_TOGETHER = re.compile(r"%[A-Za-z]%[A-Za-z]")


def _try_format(expr: str, fmt: str) -> str:
    attempt = f"try_strptime({expr}, {literal(fmt)})"
    if _RUN_TOGETHER.search(fmt):
        return f"CASE WHEN length({expr}) = {len(datetime(2000, 1, 1).strftime(fmt))} THEN {attempt} END"
    return attempt


def _first_format(expr: str, formats: tuple[str, ...]) -> str:
    tries = [_try_format(expr, f) for f in formats]
    return tries[0] if len(tries) == 1 else f"coalesce({', '.join(tries)})"


def _number_text(expr: str, formats: Formats) -> str:
    """The text with currency symbols, thousands separators and spaces removed."""
    out = f"trim({expr})"
    for symbol in (*formats.currency_symbols, formats.thousands_separator):
        out = f"replace({out}, {literal(symbol)}, '')"
    return out


def value_sql(kind: str, expr: str, formats: Formats) -> str:
    """The typed value of `expr` (VARCHAR) read as `kind`."""
    if kind == "text":
        return expr
    if kind == "date":
        return f"CAST({_first_format(f'trim({expr})', formats.date)} AS DATE)"
    if kind == "datetime":
        return _first_format(f"trim({expr})", formats.datetime)
    if kind == "money":
        # `(12.00)` is accounting notation for -12.00; `$-12.00`, `-$12.00` and `-12.00` cast directly.
        text = _number_text(expr, formats)
        amount = f"TRY_CAST(regexp_replace({text}, '^\\((.*)\\)$', '-\\1') AS {DUCKDB_TYPES['money']})"
        return amount
    if kind == "qty":
        return f"TRY_CAST({_number_text(expr, formats)} AS {DUCKDB_TYPES['quantity']})"
    if kind == "int":
        text = _number_text(expr, formats)
        return f"CASE WHEN regexp_full_match({text}, '[-+]?[0-9]+') THEN TRY_CAST({text} AS BIGINT) END"
    if kind == "bool":
        truthy = ", ".join(literal(v) for v in formats.true_values)
        falsy = ", ".join(literal(v) for v in formats.false_values)
        return f"CASE WHEN lower(trim({expr})) IN ({truthy}) THEN true WHEN lower(trim({expr})) IN ({falsy}) THEN false END"
    if kind == "list":
        sep = literal(formats.list_separator)
        return f"list_filter(list_transform(string_split({expr}, {sep}), lambda v: trim(v)), lambda v: v <> '')"
    raise ValueError(f"unknown value kind {kind!r}")


def expectation(kind: str, formats: Formats) -> str:
    """How a bad value of `kind` is described in a quarantine reason."""
    return {
        "date": "a date (" + " or ".join(formats.date) + ")",
        "datetime": "a date-time (" + " or ".join(formats.datetime) + ")",
        "money": "an amount (1234.50, $1,234.50, -12.00 or ($12.00))",
        "qty": "a quantity",
        "int": "a whole number",
        "bool": "yes/no (" + "/".join(formats.true_values + formats.false_values) + ")",
    }[kind]

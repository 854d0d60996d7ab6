"""The raw layer's columns, as the proposal sees them: every contract field (struct members and
list entries unpacked), every custom property, and every unknown source column kept in `_extra`.

Values are read from a sample of live rows (`SAMPLE_ROWS` per collection), enough for the detectors
and cheap on a million-row table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from extractors.visual_practice import raw
from extractors.visual_practice.export.aliases import AliasTable, normalise_label
from vp2pd.vp_contract import COLLECTIONS, LIST_TYPES, NESTED_MEMBERS, Collection

SAMPLE_ROWS = 2000
# Reserved `_extra` keys the extractors write themselves (not source columns).
OWN_EXTRA_KEYS = frozenset({"_file"})


@dataclass
class RawColumn:
    collection: str
    name: str  # contract path (`address.city`, `custom_properties.Allergies`) or the source header
    origin: str  # field | custom_property | extra
    values: list[Any] = field(default_factory=list)


def _flatten(coll: Collection, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Contract columns with struct members and list entries unpacked into their own columns.

    Phones and e-mails become one column per label (`phones[mobile]`), as the alias table writes
    them; other lists (invoice lines, payments, contacts) one column per member (`payments.amount`).
    """
    out: dict[str, list[Any]] = {}
    for f in coll.fields:
        if f.type == "json":
            continue
        members = NESTED_MEMBERS.get(f.type)
        values = [row.get(f.name) for row in rows]
        if f.type in ("emails", "phones"):
            member = "address" if f.type == "emails" else "number"
            for item in (i for v in values for i in v or []):
                out.setdefault(f"{f.name}[{item.get('label') or 'other'}]", []).append(item.get(member))
        elif members and f.type in LIST_TYPES:
            items = [i or {} for v in values for i in v or []]
            for m in members:
                out[f"{f.name}.{m}"] = [i.get(m) for i in items]
        elif members:
            for m in members:
                out[f"{f.name}.{m}"] = [(v or {}).get(m) for v in values]
        else:
            out[f.name] = values
        if f.ref:
            out[f"{f.name}_display"] = [row.get(f"{f.name}_display") for row in rows]
    return out


def _json_keys(rows: list[dict[str, Any]], column: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for i, row in enumerate(rows):
        text = row.get(column)
        data = json.loads(text) if isinstance(text, str) and text else (text or {})
        for key, value in (data.items() if isinstance(data, dict) else ()):
            out.setdefault(str(key), [None] * i)
        for key, values in out.items():
            values.append(data.get(key) if isinstance(data, dict) else None)
    return out


def known_extra_labels(aliases: AliasTable, collection: str) -> set[str]:
    """Headers the alias table already keeps in `_extra` on purpose: decided, not proposed."""
    return {label for spec in aliases.files.values() if spec.collection.name == collection
            for label, targets in spec.columns.items() if all(t.kind in ("extra", "file") for t in targets)}


def raw_columns(con: duckdb.DuckDBPyConnection, aliases: AliasTable) -> list[RawColumn]:
    """Every column of every raw collection that has live rows."""
    out: list[RawColumn] = []
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [raw.SCHEMA]).fetchall()}
    for coll in COLLECTIONS:
        if coll.name not in present:
            continue
        rel = con.execute(f"SELECT * FROM {raw.table(coll)} WHERE _deleted_at IS NULL LIMIT {SAMPLE_ROWS}")
        names = [d[0] for d in rel.description]
        rows = [dict(zip(names, r)) for r in rel.fetchall()]
        if not rows:
            continue
        out += [RawColumn(coll.name, n, "field", v) for n, v in _flatten(coll, rows).items()]
        if "custom_properties" in coll.field_names:
            out += [RawColumn(coll.name, f"custom_properties.{k}", "custom_property", v)
                    for k, v in _json_keys(rows, "custom_properties").items()]
        known = known_extra_labels(aliases, coll.name)
        out += [RawColumn(coll.name, k, "extra", v) for k, v in _json_keys(rows, "_extra").items()
                if k not in OWN_EXTRA_KEYS and normalise_label(k) not in known]
    return out

"""Mart rows -> request bodies. The marts are already in API v2 terms, so a row is sent as it is:
the columns the operation's request schema names (read from the OpenAPI, not typed here), custom
fields by name through the field catalogue, `<x>_key` references through `id_map`, owner e-mails
through the owner map, pipeline and stage names through the account's ids.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Mapping

import duckdb

from vp2pd import pipedrive_contract as contract

from loaders.pipedrive.fields import FieldCatalogue
from loaders.pipedrive.sequence import LIST_REFERENCES, REFERENCES, Step


class MissingReference(ValueError):
    """A row names a record that did not load (rejected or skipped): it cannot be sent whole."""


def _collect(schema: Any, out: set[str]) -> set[str]:
    if isinstance(schema, dict):
        out.update((schema.get("properties") or {}).keys())
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                _collect(sub, out)
    return out


def _types(schema: Any, out: dict[str, str]) -> dict[str, str]:
    if isinstance(schema, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and isinstance(sub.get("type"), str):
                out.setdefault(name, sub["type"])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(key, []):
                _types(sub, out)
    return out


def _content(method: str, path: str) -> dict[str, Any]:
    op = contract.operation_for(method, path)
    if op is None:
        raise LookupError(f"{method} {path} is not in Pipedrive's OpenAPI")
    return contract.operation_spec(op).get("requestBody", {}).get("content", {})


@functools.cache
def request_properties(method: str, path: str) -> frozenset[str]:
    """The top-level body properties the spec documents for this operation (JSON or multipart)."""
    found: set[str] = set()
    for media in _content(method, path).values():
        _collect(media.get("schema", {}), found)
    return frozenset(found)


@functools.cache
def numeric_properties(method: str, path: str) -> frozenset[str]:
    """Body properties the spec types as numbers: a label there is an option id to look up."""
    types: dict[str, str] = {}
    for media in _content(method, path).values():
        _types(media.get("schema", {}), types)
    return frozenset(n for n, t in types.items() if t in ("number", "integer"))


@functools.cache
def object_properties(method: str, path: str) -> frozenset[str]:
    """Body properties the spec types as objects ({value, ...}, e.g. an activity's location)."""
    types: dict[str, str] = {}
    for media in _content(method, path).values():
        _types(media.get("schema", {}), types)
    return frozenset(n for n, t in types.items() if t == "object")


def plain(value: Any) -> Any:
    """DuckDB values as JSON: decimals as numbers, dates ISO, structs without their null members."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def read_mart(con: duckdb.DuckDBPyConnection, mart: str) -> list[dict[str, Any]]:
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'pipedrive' "
                         "and table_name = ?", [mart]).fetchone()[0]
    if not exists:
        return []
    rel = con.execute(f"select * from pipedrive.{mart} order by natural_key")
    cols = [d[0] for d in rel.description]
    return [dict(zip(cols, r)) for r in rel.fetchall()]


def custom_field_names(con: duckdb.DuckDBPyConnection, entity: str | None) -> list[str]:
    if entity is None:
        return []
    return [r[0] for r in con.execute("select field_name from pipedrive.pipedrive__custom_fields where object = ? "
                                      "order by field_name", [entity]).fetchall()]


@dataclass
class Shaper:
    """Everything a body needs besides the row: catalogues, id maps, owners, pipelines."""

    catalogues: dict[str, FieldCatalogue]  # by step name
    custom_fields: dict[str, list[str]]  # step name -> custom field names in the mart
    id_maps: dict[str, dict[str, str]]  # ledger object -> source key -> Pipedrive id
    owners: dict[str, int]  # lower-case e-mail -> user id
    fallback_owner: int | None
    pipelines: dict[str, int] = field(default_factory=dict)  # pipeline name -> id
    stages: dict[tuple[str, str], int] = field(default_factory=dict)  # (pipeline, stage) -> id
    boards: dict[str, tuple[int, int]] = field(default_factory=dict)  # board name -> (board id, first phase id)

    def ref(self, obj: str, key: str) -> int:
        pid = self.id_maps.get(obj, {}).get(key)
        if pid is None:
            raise MissingReference(f"refers to {obj} {key}, which is not in Pipedrive (rejected or skipped)")
        return int(pid)

    def _native_option(self, step: Step, key: str, label: str) -> Any:
        catalogue = self.catalogues.get(step.name)
        for f in (catalogue.fields.values() if catalogue is not None else ()):
            if f.key == key and f.options:
                return f.options.get(" ".join(label.split()).casefold())
        return None

    def owner(self, email: str | None) -> int | None:
        if email is None:
            return None
        found = self.owners.get(email.strip().lower())
        return found if found is not None else self.fallback_owner

    def body(self, step: Step, row: Mapping[str, Any], allowed: frozenset[str],
             numeric: frozenset[str] = frozenset(), dropped: set[str] | None = None,
             wrapped: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The request body of `row`; `dropped` collects columns that cannot be sent as they are (a
        label where Pipedrive wants an option id the account does not have), named in the report."""
        body: dict[str, Any] = {}
        for column, value in row.items():
            if value is None or value == []:
                continue
            if column in REFERENCES:
                name, obj = REFERENCES[column]
                if name in allowed or step.name in ("deal_products", "files"):
                    body[name] = self.ref(obj, value)
            elif column in allowed and column not in ("custom_fields", "owner_id"):
                if column in numeric and isinstance(value, str):
                    option = self._native_option(step, column, value)
                    if option is None:
                        if dropped is not None:
                            dropped.add(column)
                        continue
                    value = option
                if column in wrapped and isinstance(value, str):
                    value = {"value": value}  # a plain address where v2 takes {value, ...}
                body[column] = plain(value)
        if "participants" in body:
            body["participants"] = [{"person_id": self.ref("persons", p["person_key"]), "primary": bool(p.get("primary"))}
                                    for p in row["participants"]]
        if "owner_id" in allowed and row.get("owner_email"):
            owner = self.owner(row["owner_email"])
            if owner is not None:
                body["owner_id"] = owner
        if row.get("pipeline_name") and "pipeline_id" in allowed:
            body["pipeline_id"] = self.pipelines[row["pipeline_name"]]
            if row.get("stage_name"):
                body["stage_id"] = self.stages[(row["pipeline_name"], row["stage_name"])]
        if step.name == "projects":
            self._project(row, body)
            values = row.get("project_fields") or {}
            values = json.loads(values) if isinstance(values, str) else values
        else:
            values = row
        named = {n: plain(values[n]) for n in self.custom_fields.get(step.name, []) if values.get(n) not in (None, [], "")}
        if named and "custom_fields" in allowed:
            body["custom_fields"] = self.catalogues[step.name].custom_fields(named)
        return body

    def _project(self, row: Mapping[str, Any], body: dict[str, Any]) -> None:
        """A custom-object record as a project: its type's board (first phase), its N:N links as id
        lists, and a description naming the source record (the identity read-back matches on; the
        record's properties travel as project fields, by label, through `project_fields`)."""
        board = self.boards.get(row["board_name"])
        if board is None:
            raise MissingReference(f"project board {row['board_name']!r} is not in Pipedrive (run `vp2pd setup`)")
        body["board_id"], body["phase_id"] = board
        for column, (name, obj) in LIST_REFERENCES.items():
            keys = row.get(column) or []
            if keys:
                body[name] = sorted(self.ref(obj, k) for k in keys)
        body["description"] = (f"Migrated from Visual Practice: {row['source_collection']} {row['source_id']} "
                               f"({row['board_name']}, object {row['object_key']})")

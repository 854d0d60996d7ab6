"""The field-level diff of loaded records: the mart row, the body the load sends, what Pipedrive holds.

One row per (object, source id, field): the mart's value (`source_value`), the value the load sends
(`expected`: `Loader.body`, so the diff and the load cannot disagree about shapes), the value read
back (`actual`: list reads only, projected onto the shape sent as reconcile does) and `match`.
A record that did not land is one row with field `(record)` saying why.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from loaders.pipedrive import readback
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.load import Loader
from loaders.pipedrive.reconcile import WRITE_ONLY, canonical, flatten, project, record_value
from loaders.pipedrive.rows import plain, read_mart
from loaders.pipedrive.sequence import REFERENCES, STEPS, Step

# Body fields whose mart column has another name.
SOURCE_COLUMN = {"owner_id": "owner_email", "pipeline_id": "pipeline_name", "stage_id": "stage_name",
                 **{body: column for column, (body, _) in REFERENCES.items()}}
RECORD = "(record)"


@dataclass
class DiffRow:
    object: str
    source_id: str
    field: str
    source_value: str | None
    expected: str | None
    actual: str | None
    match: bool


def shown(value: Any) -> str | None:
    """A value as the reviewer reads it: text as text, everything else as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return canonical(plain(value))


def _field_names(loader: Loader, step: Step) -> dict[str, str]:
    """cf:<40-hex key> -> the field's name (the mart column); plain fields keep their name."""
    catalogue = loader.catalogues.get(step.name)
    return {f"cf:{f.key}": f.name for f in (catalogue.fields.values() if catalogue else ())}


def _source_value(row: dict[str, Any], step: Step, name: str, names: dict[str, str]) -> Any:
    if name in names:
        column = next((c for c in row if c.casefold() == names[name].casefold()), names[name])
    elif step.name == "files" and name == "name":
        column = "file_name"
    else:
        column = SOURCE_COLUMN.get(name, name)
    value = row.get(column)
    return [p.get("person_key") for p in value] if column == "participants" and value else value


async def diff(client: PipedriveClient, loader: Loader, keys: dict[str, set[str]]) -> list[DiffRow]:
    """Compare the records of `keys` (object -> natural keys) that the ledger maps with Pipedrive."""
    assert loader.shaper is not None
    ledger = loader.ledger
    for step in STEPS:
        loader.shaper.id_maps[step.name] = ledger.id_map(step.name)
    out: list[DiffRow] = []
    for step in STEPS:
        wanted = keys.get(step.name) or set()
        if not wanted or step.name == "projects":
            continue
        out += await _diff_step(client, loader, step, [r for r in read_mart(loader.con, step.mart)
                                                         if r["natural_key"] in wanted])
    return out


async def _diff_step(client: PipedriveClient, loader: Loader, step: Step, rows: list[dict[str, Any]]) -> list[DiffRow]:
    assert loader.shaper is not None
    mapped = loader.shaper.id_maps[step.name]
    names = _field_names(loader, step)
    out: list[DiffRow] = []
    bodies: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}  # pipedrive id -> (row, flat body)
    for row in rows:
        key = row["natural_key"]
        pid = mapped.get(key)
        if pid is None:
            why = loader.ledger.rows("select message from ledger.operations where object = ? and source_key = ? "
                                     "and status = 'rejected' order by created desc limit 1", [step.name, key])
            actual = f"not loaded: {why[0]['message']}" if why else "not loaded"
            out.append(DiffRow(step.name, key, RECORD, None, "present", actual, False))
            continue
        flat = {k: v for k, v in flatten(loader.body(step, row)).items() if k not in WRITE_ONLY.get(step.name, ())}
        bodies[pid] = (row, flat)
    seen: set[str] = set()
    if bodies:
        lookup = [{**b, "rel_owner_org_id": b.get("rel_owner_org_id"), "deal_id": b.get("deal_id")}
                  for _, b in bodies.values()]
        async for record in readback.records(client, step, lookup):
            pid = str(record["id"])
            if pid not in bodies or record.get("is_deleted") or record.get("active_flag") in (False, "false"):
                continue
            seen.add(pid)
            row, flat = bodies[pid]
            for name, value in sorted(flat.items()):
                expected = canonical(value)
                actual = canonical(project(value, record_value(record, name)))
                out.append(DiffRow(step.name, row["natural_key"], names.get(name, name),
                                   shown(_source_value(row, step, name, names)), _display(expected),
                                   _display(actual), expected == actual))
    for pid in sorted(set(bodies) - seen):
        out.append(DiffRow(step.name, bodies[pid][0]["natural_key"], RECORD, None, "present",
                           f"missing in Pipedrive (id {pid})", False))
    return out


def _display(text: str | None) -> str | None:
    """Canonical JSON shown plainly: a JSON string without its quotes."""
    if text is not None and text.startswith('"'):
        return json.loads(text)
    return text


def summary(rows: list[DiffRow]) -> list[dict[str, Any]]:
    per: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = per.setdefault(r.object, {"object": r.object, "records": set(), "fields_compared": 0, "mismatches": 0})
        s["records"].add(r.source_id)
        s["fields_compared"] += 1
        s["mismatches"] += not r.match
    return [{**s, "records": len(s["records"])} for s in per.values()]


def as_dicts(rows: list[DiffRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]

"""`vp2pd reconcile`: read every migrated object back and compare it with the marts, in SQL.

Pipedrive's side comes from list reads only (500 a page; v1 files 100), into `reconcile.present`
(every live record) and `reconcile.records`: one row per migrated record with the body the load
sends for its mart row (`Loader.body`, so the comparison and the load cannot disagree about shapes)
and Pipedrive's record projected onto that body's shape (the keys of an object we sent, an option
id, a link's id; nothing else is compared): the field names once, and the two sides' values in that
order as canonical JSON arrays. The projection needs the expected body anyway, so read-back pairs
the two as it reads, and the comparison (`field_mismatches`) is one scan of the two value columns:
records whose arrays are equal match in every field; only the others are then compared field by
field in SQL, to count and show the mismatches per field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loaders.pipedrive import readback
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.load import Loader
from loaders.pipedrive.rows import read_mart
from loaders.pipedrive.sequence import STEPS, Step
from vp2pd.warehouse import insert_rows

MACROS = Path(__file__).resolve().parents[2] / "macros" / "raw_collections.sql"
# Body fields that steer a write but are not stored on the record (a relationship's viewing org).
WRITE_ONLY = {"organization_relationships": frozenset({"org_id"})}
SCHEMA_MARTS = ("pipedrive__custom_fields", "pipedrive__owner_candidates")  # migrated by setup / pre-flight


def raw_collections() -> list[tuple[str, str]]:
    """(collection, key column) of the raw records, from the dbt macro the accounting test uses."""
    text = MACROS.read_text(encoding="utf-8").split("macro record_marts")[0]
    return re.findall(r"\('([a-z_]+)', '([a-z_]+)'\)", text)


def _tidy(value: Any) -> Any:
    """One spelling per value: 300.0 is 300, a time HH:MM:00 is HH:MM."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d\d:\d\d:00", value):
        return value[:5]
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


def canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_tidy(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def project(expected: Any, actual: Any) -> Any:
    """`actual` reduced to the shape of `expected`."""
    if isinstance(expected, dict):
        return {k: project(v, actual.get(k)) for k, v in expected.items()} if isinstance(actual, dict) else actual
    if isinstance(expected, list):
        if isinstance(actual, list) and len(actual) == len(expected):
            return [project(e, a) for e, a in zip(expected, actual)]
        return actual
    if isinstance(actual, dict) and "value" in actual and not isinstance(expected, dict):
        actual = actual["value"]  # a v1 link {value: id, name: ...}, a v2 {value} wrapper
    if isinstance(expected, int) and not isinstance(expected, bool) and isinstance(actual, str) and actual.isdigit():
        actual = int(actual)  # a v1 id spelled as a string
    return actual


def flatten(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k != "custom_fields"}
    out.update({f"cf:{k}": v for k, v in (body.get("custom_fields") or {}).items()})
    return out


def record_value(record: dict[str, Any], name: str) -> Any:
    if name.startswith("cf:"):
        custom = record.get("custom_fields")
        return custom.get(name[3:]) if isinstance(custom, dict) else record.get(name[3:])
    return record.get(name)


@dataclass
class ReconcileResult:
    objects: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    accounting: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.mismatches and all(o["missing_in_pipedrive"] == 0 and o["not_loaded_unexplained"] == 0
                                            for o in self.objects)
                and all(a["unaccounted"] == 0 for a in self.accounting))

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "objects": self.objects, "mismatches": self.mismatches, "accounting": self.accounting}


async def run_reconcile(client: PipedriveClient, ledger: Ledger, home: Path, *, currency: str | None) -> ReconcileResult:
    loader = Loader(client, ledger, home, currency=currency)
    await loader.prepare()
    assert loader.shaper is not None
    con = ledger.con
    con.execute(SCHEMA)
    for step in STEPS:
        loader.shaper.id_maps[step.name] = ledger.id_map(step.name)
    for step in STEPS:
        await _read_step(client, loader, step)
    return _compare(ledger)


async def _read_step(client: PipedriveClient, loader: Loader, step: Step) -> None:
    con = loader.con
    mapped = loader.shaper.id_maps[step.name] if loader.shaper else {}
    by_id: dict[str, tuple[str, dict[str, Any]]] = {}
    for row in read_mart(con, step.mart):
        pid = mapped.get(row["natural_key"])
        if pid is None:
            continue
        body = {k: v for k, v in flatten(loader.body(step, row)).items() if k not in WRITE_ONLY.get(step.name, ())}
        by_id[pid] = (row["natural_key"], body)
    if not by_id:
        return
    bodies = [{**b, "rel_owner_org_id": b.get("rel_owner_org_id"), "deal_id": b.get("deal_id")}
              for _, b in by_id.values()]
    present, actual = [], {}
    async for record in readback.records(client, step, bodies):
        if record.get("is_deleted") or record.get("active_flag") in (False, "false"):
            continue
        pid = str(record["id"])
        present.append((step.name, pid))
        if pid in by_id:
            sent = by_id[pid][1]
            actual[pid] = canonical([project(sent[name], record_value(record, name)) for name in sorted(sent)])
    insert_rows(con, "reconcile.present", ["object", "pipedrive_id"], present, as_text=True)
    insert_rows(con, "reconcile.records", ["object", "source_key", "pipedrive_id", "fields", "expected", "actual"],
                [(step.name, key, pid, canonical(sorted(body)), canonical([body[k] for k in sorted(body)]),
                  actual.get(pid)) for pid, (key, body) in by_id.items()], as_text=True)


SCHEMA = """
create schema if not exists reconcile;
create or replace table reconcile.records (object varchar, source_key varchar, pipedrive_id varchar,
    fields varchar, expected varchar, actual varchar);
create or replace table reconcile.present (object varchar, pipedrive_id varchar);
"""
# Two steps, so the scan over every record reads only the two value columns: the records whose
# values differ (by rowid), then their fields side by side.
DIFFERING = "select rowid from reconcile.records where actual is not null and actual <> expected"
FIELD_MISMATCHES = """
with differ as (
    select object, source_key, fields::json as f, expected::json as e, actual::json as a
    from reconcile.records where rowid = any(?::bigint[])),
side_by_side as (
    select object, source_key, json_extract_string(f, '$[' || i || ']') as field,
           json_extract(e, '$[' || i || ']')::varchar as expected, json_extract(a, '$[' || i || ']')::varchar as actual
    from differ, unnest(range(json_array_length(f)::bigint)) as t(i))
select object, field, count(*) as mismatches,
       list({'source_key': source_key, 'expected': expected, 'actual': actual} order by source_key)[1:3] as examples
from side_by_side where expected is distinct from actual group by all order by 1, 2
"""


def field_mismatches(ledger: Ledger) -> list[dict[str, Any]]:
    """Per object and field: how many migrated records differ from what was sent, with examples.
    Records not read back (missing in Pipedrive) are counted by `_compare`, not here."""
    differing = [r[0] for r in ledger.con.execute(DIFFERING).fetchall()]
    return ledger.rows(FIELD_MISMATCHES, [differing]) if differing else []


def _compare(ledger: Ledger) -> ReconcileResult:
    result = ReconcileResult()
    for step in STEPS:
        rows = ledger.con.execute(f"select count(*) from pipedrive.{step.mart}").fetchone()[0]
        [counts] = ledger.rows(
            "with mart as (select natural_key from pipedrive." + step.mart + "), "
            "m as (select * from ledger.id_map where object = ?), "
            "p as (select * from reconcile.present where object = ?), "
            "rej as (select distinct source_key, last(message order by created) as message from ledger.operations "
            "        where object = ? and status = 'rejected' group by source_key) "
            "select (select count(*) from m join mart on mart.natural_key = m.source_key) as migrated, "
            "(select count(*) from p) as in_pipedrive, "
            "(select count(*) from m join mart on mart.natural_key = m.source_key anti join p using (pipedrive_id)) as missing_in_pipedrive, "
            "(select count(*) from p anti join m using (pipedrive_id)) as unmapped_in_pipedrive, "
            "(select count(*) from mart anti join m on m.source_key = mart.natural_key semi join rej on rej.source_key = mart.natural_key) as quarantined, "
            "(select count(*) from mart anti join m on m.source_key = mart.natural_key anti join rej on rej.source_key = mart.natural_key) as not_loaded_unexplained",
            [step.name, step.name, step.name])
        result.objects.append({"object": step.name, "mart_rows": rows, **counts})
    result.mismatches = field_mismatches(ledger)
    result.accounting = _accounting(ledger)
    return result


def _accounting(ledger: Ledger) -> list[dict[str, Any]]:
    """Per raw collection: migrated + skipped-with-reason + quarantined = extracted."""
    raw = " union all ".join(f"select '{c}' as source_collection, cast(\"{k}\" as varchar) as source_id "
                             f"from raw_visual_practice.{c}" for c, k in raw_collections())
    step_of = {s.mart: s.name for s in STEPS}
    parts = []
    for mart, obj in step_of.items():
        folded = ledger.con.execute("select count(*) from information_schema.columns where table_schema = 'pipedrive' "
                                    "and table_name = ? and column_name = 'folded_sources' and data_type like 'STRUCT%'",
                                    [mart]).fetchone()[0]
        loaded = f"(natural_key in (select source_key from ledger.id_map where object = '{obj}'))"
        parts.append(f"select source_collection, source_id, {loaded} as loaded from pipedrive.{mart}")
        if folded:
            parts.append(f"select f.source_collection, f.source_id, loaded from (select unnest(folded_sources) as f, "
                         f"{loaded} as loaded from pipedrive.{mart})")
    for m in SCHEMA_MARTS:  # pick-list options (locations, referral sources) and staff: schema, not records
        parts.append(f"select source_collection, source_id, true from pipedrive.{m}")
        if m == "pipedrive__custom_fields":
            parts.append(f"select f.source_collection, f.source_id, true from (select unnest(folded_sources) as f "
                         f"from pipedrive.{m})")
    return ledger.rows(
        f"with raw as ({raw}), rep as ({' union all '.join(parts)}), "
        "skip as (select distinct source_collection, source_id from pipedrive.migration__skipped where kind = 'skipped'), "
        "status as (select r.source_collection, case when bool_or(rep.loaded) then 'migrated' "
        "  when max(s.source_id) is not null then 'skipped' when count(rep.source_id) > 0 then 'quarantined' "
        "  else 'unaccounted' end as state from raw r "
        "  left join rep using (source_collection, source_id) left join skip s using (source_collection, source_id) "
        "  group by r.source_collection, r.source_id) "
        "select source_collection, count(*) as extracted, count(*) filter (state = 'migrated') as migrated, "
        "count(*) filter (state = 'skipped') as skipped, count(*) filter (state = 'quarantined') as quarantined, "
        "count(*) filter (state = 'unaccounted') as unaccounted from status group by 1 order by 1")

"""`vp2pd load --sample N`: a stratified slice of the marts for a reviewer, with what it depends on.

Strata (each must have at least one sampled record when any of its records migrates):
- every location (`location:<name>`): records whose Visual Practice row names the location;
- appointments in each of the last 12 calendar months before the latest extraction (`month:YYYY-MM`);
- every status of every collection with one (`service_records.status:<s>`, `invoices.status:<s>`,
  clients, contracts, appointments);
- every quirk present: the generator's quirk manifest when one is given (`quirk:<kind>`), and
  what the product itself can see in the raw layer and marts (`seen:<kind>`: rows reported by the
  transform, folded sources, split notes, non-ASCII names, several e-mails or phones, unknown
  source attributes).
A stratum maps to mart rows through each row's `source_collection`/`source_id` and its
`folded_sources`, so a service record folded into a person or a deal product counts for it. A
stratum none of whose records migrates (a cancelled service record is skipped) is reported as such.

Every object the load writes has at least one record (`object:<name>`). Every chosen row brings its
dependencies (a deal's person and organization, an activity's participants, ...), then the slice is
filled up to N in proportion to each object's size. Choices are deterministic (md5 of the natural
key), so a resumed sample picks the same rows.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from loaders.pipedrive.sequence import REFERENCES, STEPS

SAMPLE_MIN, SAMPLE_MAX = 100, 500
RAW = "raw_visual_practice"
# Projects are left out of the sample: its closure follows single references, and a project's links are
# lists (sequence.LIST_REFERENCES). The full load and reconcile cover them.
LOADED_STEPS = tuple(s for s in STEPS if s.name != "projects")
STEP_OF_MART = {s.mart: s.name for s in LOADED_STEPS}
CANDIDATES_TRIED = 20  # per stratum: the one adding the fewest dependencies wins

Row = tuple[str, str]  # (ledger object, natural key)


@dataclass
class Selection:
    keys: dict[str, set[str]]
    strata: list[dict[str, Any]] = field(default_factory=list)  # name, candidates, covered_by / reason
    size: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"size": self.size, "per_object": {k: len(v) for k, v in self.keys.items()}, "strata": self.strata}


def _order(key: str) -> str:
    return hashlib.md5(key.encode()).hexdigest()


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    return dict(con.execute("select column_name, data_type from information_schema.columns where table_schema = ? "
                            "and table_name = ?", [schema, table]).fetchall())


def _source_index(con: duckdb.DuckDBPyConnection) -> str:
    """SQL of (object, natural_key, source_collection, source_id) for every loadable mart row."""
    parts = []
    for step in LOADED_STEPS:
        if not _has_table(con, "pipedrive", step.mart):
            continue
        parts.append(f"select '{step.name}' as object, natural_key, source_collection, source_id "
                     f"from pipedrive.{step.mart}")
        if _columns(con, "pipedrive", step.mart).get("folded_sources", "").startswith("STRUCT"):
            parts.append(f"select '{step.name}', natural_key, f.source_collection, f.source_id from "
                         f"(select natural_key, unnest(folded_sources) as f from pipedrive.{step.mart})")
    return " union all ".join(parts)


def _tables_with(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    """Raw collections (not the `_` bookkeeping tables) with `column` and an `id`."""
    found = con.execute("select table_name from information_schema.columns where table_schema = ? and column_name = ? "
                        "and table_name not like '\\_%' escape '\\' and table_name in (select table_name from "
                        "information_schema.columns where table_schema = ? and column_name = 'id') order by 1",
                        [RAW, column, RAW]).fetchall()
    return [t for (t,) in found]


def _raw_strata(con: duckdb.DuckDBPyConnection) -> list[str]:
    """SQL selects of (stratum, source_collection, source_id) over the live raw layer."""
    out = []
    if _has_table(con, RAW, "locations"):
        for table in con.execute("select table_name from information_schema.columns where table_schema = ? and "
                                 "column_name = 'location_id'", [RAW]).fetchall():
            out.append(f"select 'location:' || l.name, '{table[0]}', cast(x.id as varchar) from {RAW}.{table[0]} x "
                       f"join {RAW}.locations l on l.id = x.location_id where x._deleted_at is null")
    if _has_table(con, RAW, "appointments"):
        out.append(f"select 'month:' || strftime(starts_at, '%Y-%m'), 'appointments', cast(id as varchar) "
                   f"from {RAW}.appointments, (select max(started_at) as ref from {RAW}._runs) r "
                   f"where _deleted_at is null and starts_at <= r.ref and starts_at >= date_trunc('month', r.ref) "
                   f"- interval 11 month")
    # Every status of every collection that has one (service records and invoices, but also clients,
    # contracts, appointments): a status the transform skips is reported as not migrating.
    for coll in _tables_with(con, "status"):
        out.append(f"select '{coll}.status:' || coalesce(status, '(none)'), '{coll}', cast(id as varchar) "
                   f"from {RAW}.{coll} where _deleted_at is null")
    for coll in _tables_with(con, "_extra"):
        out.append(f"select 'seen:unknown_source_attributes', '{coll}', cast(id as varchar) from {RAW}.{coll} "
                   f"where _deleted_at is null and _extra is not null "
                   f"and cast(_extra as varchar) not in ('{{}}', 'null')")
    if _has_table(con, "pipedrive", "migration__skipped"):
        out.append("select 'seen:' || reason, source_collection, source_id from pipedrive.migration__skipped "
                   "where kind = 'reported'")
    return [s for s in out if s]


def _mart_strata(con: duckdb.DuckDBPyConnection) -> list[str]:
    """SQL selects of (stratum, object, natural_key) the marts show directly."""
    out = []
    persons = _columns(con, "pipedrive", "pipedrive__persons")
    if persons:
        out.append("select 'seen:non_ascii_name', 'persons', natural_key from pipedrive.pipedrive__persons "
                   "where regexp_matches(name, '[^\\x00-\\x7F]')")
        for col in ("emails", "phones"):
            if col in persons:
                out.append(f"select 'seen:several_{col}', 'persons', natural_key from pipedrive.pipedrive__persons "
                           f"where len({col}) > 1")
        if "is_probable_duplicate" in persons:
            out.append("select 'seen:probable_duplicate', 'persons', natural_key from pipedrive.pipedrive__persons "
                       "where is_probable_duplicate")
    for step in LOADED_STEPS:
        if _columns(con, "pipedrive", step.mart).get("folded_sources", "").startswith("STRUCT"):
            out.append(f"select 'seen:folded_sources.{step.name}', '{step.name}', natural_key from "
                       f"pipedrive.{step.mart} where len(folded_sources) > 0")
    if "parts" in _columns(con, "pipedrive", "pipedrive__notes"):
        out.append("select 'seen:note_split_in_parts', 'notes', natural_key from pipedrive.pipedrive__notes "
                   "where parts > 1")
    return out


def _manifest(con: duckdb.DuckDBPyConnection, quirks: Path | None) -> None:
    """The generator's quirks.json ({records: {kind: [{collection, id}]}}) as a temp table."""
    con.execute("create or replace temp table _sample_quirks (stratum varchar, source_collection varchar, "
                "source_id varchar)")
    if quirks is None:
        return
    records = json.loads(quirks.read_text(encoding="utf-8")).get("records", {})
    rows = [(f"quirk:{kind}", r["collection"], str(r["id"])) for kind, items in records.items() for r in items]
    if rows:
        con.executemany("insert into _sample_quirks values (?, ?, ?)", rows)


def strata(con: duckdb.DuckDBPyConnection, quirks: Path | None = None) -> tuple[dict[str, list[Row]], set[str]]:
    """Stratum -> its migrating rows (md5 order; [] when none migrates), and the strata expected but
    with no record at all in the source (a month without appointments)."""
    _manifest(con, quirks)
    raw = " union all ".join(_raw_strata(con) + ["select stratum, source_collection, source_id from _sample_quirks"])
    found: dict[str, list[Row]] = defaultdict(list)
    sql = (f"with idx as ({_source_index(con)}), raw(stratum, source_collection, source_id) as ({raw}) "
           "select distinct raw.stratum, idx.object, idx.natural_key from raw left join idx "
           "using (source_collection, source_id)")
    marts = _mart_strata(con)
    if marts:
        sql += " union all " + " union all ".join(marts)
    for stratum, obj, key in con.execute(sql).fetchall():
        found.setdefault(stratum, [])
        if key is not None and (obj, key) not in found[stratum]:
            found[stratum].append((obj, key))
    absent = {name for name in _expected(con) if name not in found}  # said in the report, not hidden
    for name in absent:
        found[name] = []
    for rows in found.values():
        rows.sort(key=lambda r: _order(r[1]))
    return dict(found), absent


def _expected(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = []
    if _has_table(con, RAW, "locations"):
        names += [f"location:{n}" for (n,) in con.execute(f"select name from {RAW}.locations "
                                                           "where _deleted_at is null").fetchall()]
    if _has_table(con, RAW, "appointments"):
        names += [f"month:{m}" for (m,) in con.execute(
            f"select strftime(date_trunc('month', max(started_at)) - interval (i) month, '%Y-%m') "
            f"from {RAW}._runs, range(12) t(i) group by i order by i").fetchall() if m]
    return names


class Dependencies:
    """A row's references (`<x>_key` columns, activity participants) read once per object."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.refs: dict[Row, list[Row]] = {}
        self.sizes: dict[str, int] = {}
        self.keys: dict[str, list[str]] = {}
        for step in LOADED_STEPS:
            cols = _columns(con, "pipedrive", step.mart)
            if not cols:
                continue
            ref_cols = [c for c in cols if c in REFERENCES]
            select = ", ".join(["natural_key", *ref_cols] + (["participants"] if "participants" in cols else []))
            rows = con.execute(f"select {select} from pipedrive.{step.mart}").fetchall()
            self.sizes[step.name] = len(rows)
            self.keys[step.name] = sorted((r[0] for r in rows), key=_order)
            for r in rows:
                deps = [(REFERENCES[c][1], v) for c, v in zip(ref_cols, r[1:]) if v is not None]
                if "participants" in cols and r[-1]:
                    deps += [("persons", p["person_key"]) for p in r[-1] if p.get("person_key")]
                self.refs[(step.name, r[0])] = deps

    def closure(self, row: Row) -> set[Row]:
        out, todo = set(), [row]
        while todo:
            item = todo.pop()
            if item in out or item not in self.refs:  # a reference outside the marts cannot be loaded anyway
                continue
            out.add(item)
            todo += self.refs[item]
        return out


def _fill(deps: Dependencies, chosen: set[Row], obj: str, keys: list[str], size: int, target: int) -> None:
    """Add `obj` rows (with their dependencies) in md5 order while the object is under `target` and
    the sample under `size`; a row whose dependencies would overflow the sample is passed over."""
    have = sum(1 for c in chosen if c[0] == obj)
    for key in keys:
        if len(chosen) >= size or have >= target:
            return
        extra = deps.closure((obj, key)) - chosen
        if extra and len(chosen) + len(extra) <= size:
            chosen |= extra
            have += sum(1 for c in extra if c[0] == obj)


def select(con: duckdb.DuckDBPyConnection, size: int, *, quirks: Path | None = None) -> Selection:
    if not SAMPLE_MIN <= size <= SAMPLE_MAX:
        raise ValueError(f"--sample must be between {SAMPLE_MIN} and {SAMPLE_MAX} records, not {size}")
    deps = Dependencies(con)
    chosen: set[Row] = set()
    report = []
    found, absent = strata(con, quirks)
    for obj, keys in deps.keys.items():  # every object the load writes, even one no stratum reaches (files)
        if keys:
            found[f"object:{obj}"] = [(obj, k) for k in keys[:CANDIDATES_TRIED]]
    for name, rows in sorted(found.items(), key=lambda kv: (len(kv[1]), kv[0])):
        entry: dict[str, Any] = {"stratum": name, "candidates": len(rows)}
        rows = [r for r in rows if r in deps.refs]
        hit = next((r for r in rows if r in chosen), None)
        if not rows:
            entry["covered_by"] = None
            entry["note"] = ("no record in the source" if name in absent
                             else "no record of this stratum migrates (skipped or quarantined)")
        elif hit is not None:
            entry["covered_by"] = f"{hit[0]} {hit[1]}"
        else:
            best = min(rows[:CANDIDATES_TRIED], key=lambda r: len(deps.closure(r) - chosen))
            chosen |= deps.closure(best)
            entry["covered_by"] = f"{best[0]} {best[1]}"
        report.append(entry)
    required = len(chosen)
    total = sum(deps.sizes.values()) or 1
    for obj, keys in deps.keys.items():  # fill each object towards its share of N
        _fill(deps, chosen, obj, keys, size, round(size * deps.sizes[obj] / total))
    for obj, keys in deps.keys.items():  # rounding left room: any object, same order
        _fill(deps, chosen, obj, keys, size, size)
    by_obj: dict[str, set[str]] = {s.name: set() for s in LOADED_STEPS}
    for obj, key in chosen:
        by_obj[obj].add(key)
    result = Selection(by_obj, report, len(chosen))
    if required > size:  # said, not hidden: the strata need more than N
        result.strata.append({"stratum": "(size)", "candidates": required,
                              "note": f"the strata and their dependencies need {required} records, more than {size}"})
    return result


# -- the sample run ----------------------------------------------------------------------------

@dataclass
class SampleResult:
    run_id: str
    status: str
    selection: Selection
    load: dict[str, Any]
    diff: list[Any]  # diff.DiffRow
    decision: str | None = None
    rollback: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        from loaders.pipedrive.diff import as_dicts, summary

        return {"run_id": self.run_id, "status": self.status, "selection": self.selection.as_json(),
                "load": self.load, "summary": summary(self.diff),
                "mismatches": sum(not r.match for r in self.diff), "decision": self.decision,
                "rollback": self.rollback, "diff": as_dicts(self.diff)}


async def run_sample(client: Any, ledger: Any, home: Path, size: int, *, currency: str | None,
                     quirks: Path | None = None, map_hash: str | None = None) -> SampleResult:
    """Select, load (a `sample` run of the exactly-once loader), read back and diff field by field.
    The decision (keep / rollback) is the reviewer's: `decide`."""
    from loaders.pipedrive.diff import diff
    from loaders.pipedrive.load import Loader

    selection = select(ledger.con, size, quirks=quirks)
    loader = Loader(client, ledger, home, currency=currency, sample_keys=selection.keys, kind="sample")
    loaded = await loader.run(map_hash=map_hash)
    rows = await diff(client, loader, selection.keys)
    return SampleResult(loaded.run_id, loaded.status, selection, loaded.as_json(), rows)


async def decide(client: Any, ledger: Any, run_id: str | None, decision: str) -> dict[str, Any]:
    """Keep the sample's records (a later full load finds them in id_map and skips them) or roll
    them back (deleted, reverse order, through the rollback machinery). Recorded in the ledger."""
    from loaders.pipedrive.rollback import run_rollback

    if decision not in ("keep", "rollback"):
        raise ValueError(f"a sample decision is keep or rollback, not {decision!r}")
    run_id = run_id or ledger.undecided_sample()
    if run_id is None:
        raise ValueError("no sample run awaits a decision (run `vp2pd load --sample N` first)")
    kind = ledger.rows("select kind from ledger.runs where run_id = ?", [run_id])
    if not kind or kind[0]["kind"] != "sample":
        raise ValueError(f"{run_id} is not a sample run")
    undone = None
    if decision == "rollback":
        undone = vars(await run_rollback(client, ledger, [run_id]))
    ledger.decide_sample(run_id, decision, undone["run_id"] if undone else None)
    return {"run_id": run_id, "decision": decision, "rollback": undone}

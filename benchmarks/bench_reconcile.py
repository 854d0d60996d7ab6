"""Reconciliation of 1,000,000 records field by field: reconcile's SQL comparison vs datacompy.

The same data for both: 1M migrated persons with 8 fields (text, numbers, option ids, custom-field
keys, nulls), as sent and as read back, with mismatches planted in 0.1% of the records (two fields
each). datacompy (PandasCompare, joined on the Pipedrive id) gets the two sides as wide DataFrames,
its own input; reconcile gets them as it stores them after read-back — one row per record with
the field names and the values sent and read back, as JSON arrays (reconcile.records; read-back
pairs them because projecting Pipedrive's answer onto the sent shape needs the sent body). Building
either input is not timed. Both must find exactly the planted mismatches per field.

Target: reconcile's comparison ≤ 0.1× datacompy's time (best of 3 each, same run). Also reported:
the comparison when the two sides are separate tables that must be joined first (no pairing at read).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Callable

import duckdb
import numpy as np
import pyarrow as pa

from benchmarks.harness import Result, check
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.reconcile import SCHEMA, field_mismatches

N = int(os.environ.get("VP2PD_BENCH_RECONCILE_ROWS", "1000000"))
PLANT_EVERY = 1000  # one record in a thousand differs, in two fields
PLANTED = ("email", "cf:5f1e0c2a9b")
REPEATS = 3


def sides(n: int) -> tuple[pa.Table, pa.Table]:
    """(sent, read back) as wide Arrow tables keyed by pipedrive_id; keys sorted as canonical JSON is."""
    rng = np.random.default_rng(7)
    i = np.arange(n)
    sent = {
        "pipedrive_id": pa.array(1_000_000 + i),
        "cf:5f1e0c2a9b": pa.array([f"vp-client-{k}" for k in i]),  # Source_System_ID
        "cf:9a7d33e100": pa.array(rng.integers(1, 12, n)),  # an option id
        "email": pa.array([f"client{k}@example.org" for k in i]),
        "label_ids": pa.array(np.where(i % 7 == 0, None, "VIP")),
        "name": pa.array([f"Client {k} Tremblay" for k in i]),
        "org_id": pa.array(rng.integers(1, 50_000, n)),
        "owner_id": pa.array(rng.integers(1, 20, n)),
        "phone": pa.array([f"+1 514 555 {k % 10_000:04d}" for k in i]),
    }
    back = dict(sent)
    planted = i % PLANT_EVERY == 0
    back["email"] = pa.array(np.where(planted, "changed@example.org", np.array(sent["email"].to_pylist(), dtype=object)))
    back["cf:5f1e0c2a9b"] = pa.array(np.where(planted, None, np.array(sent["cf:5f1e0c2a9b"].to_pylist(), dtype=object)))
    return pa.table(sent), pa.table(back)


def _values(alias: str, columns: list[str]) -> str:
    return "to_json([" + ", ".join(f'to_json({alias}."{c}")' for c in columns) + "])::varchar"


def reconcile_store(sent: pa.Table, back: pa.Table) -> Ledger:
    """reconcile.records as read-back leaves it: per record the field names, and both sides' values in
    that order as JSON arrays (what `canonical` writes)."""
    ledger = Ledger(duckdb.connect())
    con = ledger.con
    con.execute(SCHEMA)
    fields = [c for c in sent.column_names if c != "pipedrive_id"]
    names = "'" + json.dumps(sorted(fields), separators=(",", ":")) + "'"
    con.register("sent", sent)
    con.register("back", back)
    con.execute(f"create table values_sent as select pipedrive_id, {_values('s', sorted(fields))} as v from sent s")
    con.execute(f"create table values_back as select pipedrive_id, {_values('b', sorted(fields))} as v from back b")
    con.execute(f"insert into reconcile.records select 'persons', 'vp-client-' || (s.pipedrive_id - 1000000), "
                f"s.pipedrive_id::varchar, {names}, s.v, b.v from values_sent s positional join values_back b")
    con.execute(f"create table field_names as select {names} as fields")
    return ledger


def best(work: Callable[[], Any]) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - start)
    return min(times), out


def unpaired(ledger: Ledger) -> list[dict[str, Any]]:
    """The same comparison when read-back did not pair: join the two sides by Pipedrive id first."""
    con = ledger.con
    con.execute("create or replace table reconcile.records as select 'persons' as object, "
                "'vp-client-' || (s.pipedrive_id - 1000000) as source_key, s.pipedrive_id::varchar as pipedrive_id, "
                "(select fields from field_names) as fields, s.v as expected, b.v as actual "
                "from values_sent s left join values_back b using (pipedrive_id)")
    return field_mismatches(ledger)


def run() -> list[Result]:
    import datacompy

    load = os.getloadavg()[0]
    sent, back = sides(N)
    expected_mismatches = {f: len(range(0, N, PLANT_EVERY)) for f in PLANTED}
    built = time.perf_counter()
    ledger = reconcile_store(sent, back)
    build_s = time.perf_counter() - built
    ours_s, ours = best(lambda: field_mismatches(ledger))
    found = {m["field"]: m["mismatches"] for m in ours}
    sent_df, back_df = sent.to_pandas(), back.to_pandas()
    theirs_s, compare = best(lambda: datacompy.PandasCompare(sent_df, back_df, join_columns="pipedrive_id"))
    theirs = {s["column"]: int(s["unequal_cnt"]) for s in compare.column_stats if s["unequal_cnt"]}
    start = time.perf_counter()
    joined = {m["field"]: m["mismatches"] for m in unpaired(ledger)}
    joined_s = time.perf_counter() - start
    ledger.close()
    agree = found == expected_mismatches == theirs == joined
    ratio = ours_s / theirs_s
    details = {"records": N, "fields": len(sent.column_names) - 1, "planted": expected_mismatches,
               "found_reconcile": found, "found_datacompy": theirs, "agree": agree,
               "reconcile_s": round(ours_s, 4), "datacompy_s": round(theirs_s, 4),
               "reconcile_store_build_s": round(build_s, 2), "unpaired_join_then_compare_s": round(joined_s, 3),
               "unpaired_ratio": round(joined_s / theirs_s, 3), "load_avg_1m": round(load, 2),
               "datacompy": datacompy.__version__, "duckdb": duckdb.__version__}
    print(f"   reconcile {ours_s:.3f} s, datacompy {theirs_s:.3f} s on {N:,} records x {details['fields']} fields "
          f"(load {load:.1f}); found {found}; unpaired (join first) {joined_s:.3f} s", flush=True)
    return [Result("reconcile 1M records field by field vs datacompy", ours_s, theirs_s, "s", ratio, "<= 0.1",
                   check(ratio, "<= 0.1") and agree, details)]

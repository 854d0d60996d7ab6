"""`dbt build` of a 100,000-client practice, against DuckDB running the same compiled SQL itself.

The practice is generated once (all collections, documents as metadata, the default mess) and
landed through the CSV extractor, cached under build/bench. The measured figure is
`vp2pd transform` (`dbt build`: every model and data test; the fixture-based unit tests are
left out, they do not scale with the data) as a user runs it, process start to finish. The
reference is the very SQL dbt compiled in that run, executed directly in DuckDB in the same
order on the same warehouse: each model as `CREATE OR REPLACE TABLE/VIEW ... AS <compiled SQL>`
(with the note-sanitiser functions registered, as the dbt plugin does) and each data test as a
count of its failing rows. Targets: dbt build < 120 s; dbt / direct <= 1.5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.harness import BUILD_DIR, Result, check

CLIENTS = int(os.environ.get("VP2PD_BENCH_DBT_CLIENTS", "100000"))

GENERATE = """
import sys
from pathlib import Path
from sandbox.visual_practice.generator import GeneratorOptions, generate
generate(Path(sys.argv[1]), GeneratorOptions(clients=int(sys.argv[2]), seed=11, encoding="utf-8-sig",
         documents="metadata"))
"""


def _config(build: Path):
    from vp2pd.config import load_customer

    return load_customer("demo").model_copy(update={"build_dir": build})


def _warehouse(build: Path) -> Path:
    """The practice extracted once (CSV export) into the benchmark warehouse."""
    practice = BUILD_DIR / f"dbt-practice-{CLIENTS}"
    if not (practice / "export").is_dir():
        subprocess.run([sys.executable, "-c", GENERATE, str(practice), str(CLIENTS)], check=True)
    cfg = _config(build)
    if not cfg.warehouse_path.is_file():
        from extractors.visual_practice.run import run_extraction

        run_extraction(cfg, source="csv", csv_path=practice / "export")
    return cfg.warehouse_path


def _direct_seconds(warehouse: Path, run_results: Path, manifest: Path) -> tuple[float, int]:
    """The compiled SQL of the dbt run, executed by DuckDB in the order dbt finished the nodes."""
    from vp2pd.html_notes import register

    nodes = json.loads(manifest.read_text())["nodes"]
    results = json.loads(run_results.read_text())["results"]
    con = duckdb.connect(str(warehouse), config={"memory_limit": os.environ.get("VP2PD_DUCKDB_MEMORY_LIMIT", "2GB"),
                                                 "preserve_insertion_order": False})
    register(con)
    statements = 0
    start = time.perf_counter()
    for r in results:
        node = nodes.get(r["unique_id"])
        if node is None or not r.get("compiled_code"):
            continue
        sql = r["compiled_code"]
        if node["resource_type"] == "model":
            kind = "VIEW" if node["config"]["materialized"] == "view" else "TABLE"
            con.execute(f'CREATE OR REPLACE {kind} "{node["schema"]}"."{node["alias"]}" AS {sql}')
        elif node["resource_type"] == "test":
            con.execute(f"SELECT count(*) FROM ({sql}) AS t").fetchall()
        else:
            continue
        statements += 1
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed, statements


def run() -> list[Result]:
    from vp2pd.transform import run_transform, target_dir

    build = BUILD_DIR / "dbt-build"
    warehouse = _warehouse(build)
    cfg = _config(build)
    start = time.perf_counter()
    result = run_transform(cfg, exclude="resource_type:unit_test")
    dbt_s = time.perf_counter() - start
    if not result.success:
        raise RuntimeError("dbt build failed: " + "; ".join(result.failures))
    target = target_dir(cfg)
    direct_s, statements = _direct_seconds(warehouse, target / "run_results.json", target / "manifest.json")
    ratio = dbt_s / direct_s
    details = {"clients": CLIENTS, "statements": statements, "rows": result.counts,
               "skipped_by_reason": result.skipped_by_reason}
    return [
        Result("dbt_build_100k_clients_wall", dbt_s, 120.0, "s", dbt_s / 120.0, "< 1.0", check(dbt_s / 120.0, "< 1.0"),
               details),
        Result("dbt_build_vs_direct_duckdb", dbt_s, direct_s, "s", ratio, "<= 1.5", check(ratio, "<= 1.5"),
               {"statements": statements}),
    ]

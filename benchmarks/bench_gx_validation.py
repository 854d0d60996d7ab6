"""Great Expectations validation of the marts of a 100,000-client practice: < 60 s.

The practice and its CSV extraction are the dbt benchmark's (generated once, cached under
build/bench), landed in a warehouse of this benchmark's own and transformed once with
`vp2pd transform` (models only: the data tests are the dbt benchmark's business). The measured
figure is `validate(cfg, ("marts",))` — every marts check streamed to GX in 25,000-row pandas
batches, results JSON and Data Docs written — in a child process, so its peak memory is its own.
Target: wall / 60 s <= 1.0; the peak is reported beside it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.bench_dbt_build import CLIENTS, _config, _warehouse
from benchmarks.harness import BUILD_DIR, Result, check
from vp2pd.warehouse import connect

TARGET_S = 60.0

# Runs in a child process: validates the marts and prints its wall time, chunks and peak memory.
VALIDATE = """
import json, resource, sys, time
from pathlib import Path
from expectations.run import validate
from vp2pd.config import load_customer

cfg = load_customer("demo").model_copy(update={"build_dir": Path(sys.argv[1])})
start = time.perf_counter()
(result,) = validate(cfg, ("marts",))
elapsed = time.perf_counter() - start
print(json.dumps({"elapsed_s": elapsed, "chunks": result.chunks, "expectations": len(result.outcomes),
                  "rows_validated": sum(o.rows for o in result.outcomes if o.expectation ==
                                        "expect_column_values_to_not_be_null" and o.column == "natural_key"),
                  "warnings": [o.describe()[:300] for o in result.warnings],
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _reuse_dbt_bench_extraction(build: Path) -> None:
    """A copy of the dbt benchmark's warehouse when this one has none: the same practice through
    the same CSV extraction, without another half hour of extracting it on a busy machine."""
    mine, theirs = _config(build).warehouse_path, _config(BUILD_DIR / "dbt-build").warehouse_path
    if not mine.is_file() and theirs.is_file():
        mine.parent.mkdir(parents=True, exist_ok=True)
        con = connect(theirs)
        con.execute("CHECKPOINT")  # everything in the file itself, no WAL left behind to copy
        con.close()
        shutil.copy(theirs, mine)


def run() -> list[Result]:
    from vp2pd.transform import run_transform

    build = BUILD_DIR / "gx-validation"
    _reuse_dbt_bench_extraction(build)
    warehouse = _warehouse(build)
    cfg = _config(build)
    # The extraction's own verdict goes beside the figure: a failed run leaves only the collections
    # it landed before failing, and the marts (and this measurement) are then of those alone.
    con = connect(warehouse, read_only=True)
    extraction = con.execute("SELECT status, message FROM raw_visual_practice._runs ORDER BY started_at DESC "
                             "LIMIT 1").fetchone()
    con.close()
    start = time.perf_counter()
    transformed = run_transform(cfg, select="resource_type:model")
    transform_s = time.perf_counter() - start
    if not transformed.success:
        raise RuntimeError("dbt build of the marts failed: " + "; ".join(transformed.failures))
    child = subprocess.run([sys.executable, "-c", VALIDATE, str(build)], check=True, capture_output=True, text=True)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    wall = figures.pop("elapsed_s")
    details = {"clients": CLIENTS, "extraction": {"status": extraction[0], "message": extraction[1]},
               "marts_rows": transformed.counts, "transform_models_s": round(transform_s, 1),
               **figures}
    return [Result("gx_validation_marts_100k_clients", wall, TARGET_S, "s", wall / TARGET_S, "<= 1.0",
                   check(wall / TARGET_S, "<= 1.0"), details)]

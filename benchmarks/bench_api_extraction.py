"""API extraction under the 200 requests/minute limit: how close to the limit's record ceiling?

The sandbox runs as a real server in its own process (127.0.0.1, the contract's 200/min over a
rolling minute); the extractor runs here, time-boxed to a few whole windows plus a margin.
Ceiling = per_page × limit × (windows started during the run): the most records any client could
have received in that time. Target: ≥ 95% of it. Peak memory of the extractor: < 1 GiB.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import BUILD_DIR, Result, check, peak_rss_mib, serve_cli, stop
from extractors.visual_practice import raw
from extractors.visual_practice.api.client import VPClient
from extractors.visual_practice.api.extract import ApiExtraction
from vp2pd.config import load_customer
from vp2pd.warehouse import connect

CLIENTS = 8000
LIMIT, WINDOW_S, PER_PAGE = 200, 60.0, 100
WINDOWS = int(os.environ.get("VP2PD_BENCH_WINDOWS", "3"))
MARGIN_S = 5.0
KEY = "bench-key-0a9f"


def _practice() -> Path:
    folder = BUILD_DIR / f"api-practice-{CLIENTS}"
    if not (folder / "store.duckdb").is_file():
        subprocess.run([sys.executable, "-m", "vp2pd.cli", "generate", "--out", str(folder), "--clients", str(CLIENTS),
                        "--seed", "1", "--mess", "0.1", "--documents", "metadata"], check=True)
    return folder


async def _extract_for(url: str, duration_s: float) -> tuple[int, float]:
    cfg = load_customer("demo")
    cfg = cfg.model_copy(update={"build_dir": BUILD_DIR / "api-extract"})
    cfg.warehouse_path.unlink(missing_ok=True)
    con = connect(cfg.warehouse_path)
    raw.ensure_schema(con)
    async with VPClient(f"{url}/api/v1", KEY, user_agent="vp2pd-bench", requests_per_minute=LIMIT,
                        window_s=WINDOW_S) as client:
        extraction = ApiExtraction(con, cfg, raw.new_run_id(), client)
        start = time.perf_counter()
        task = asyncio.create_task(extraction.run())
        done, _ = await asyncio.wait({task}, timeout=duration_s)
        elapsed = time.perf_counter() - start
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        received = extraction.records_received
    con.close()
    return received, elapsed


def run() -> list[Result]:
    practice = _practice()
    server, url = serve_cli(["sandbox", "vp", "--practice", str(practice), "--requests-per-minute", str(LIMIT)],
                            {"VP_API_KEY": KEY})
    try:
        duration = WINDOWS * WINDOW_S + MARGIN_S
        received, elapsed = asyncio.run(_extract_for(url, duration))
    finally:
        stop(server)
    windows_started = int(elapsed // WINDOW_S) + 1
    ceiling = PER_PAGE * LIMIT * windows_started
    ratio = received / ceiling
    rss = peak_rss_mib()
    return [
        Result("api_extraction_vs_rate_limit_ceiling", received, ceiling, "records", ratio, ">= 0.95",
               check(ratio, ">= 0.95"),
               {"elapsed_s": round(elapsed, 1), "windows_started": windows_started, "limit_per_window": LIMIT,
                "per_page": PER_PAGE, "practice_clients": CLIENTS}),
        Result("api_extraction_peak_memory", rss, 1024, "MiB", rss / 1024, "< 1.0", check(rss / 1024, "< 1.0")),
    ]

"""The sequenced load: tokens vs the minimum, request rate vs the burst limit, peak memory.

One practice (VP2PD_BENCH_LOAD_CLIENTS clients, generated, CSV-extracted and built by dbt once,
cached under build/bench) is loaded three ways:

1. tokens: setup, load and reconcile against the in-process sandbox (FakeClock, Ultimate plan).
   Spent (the sandbox's own count, load + reconcile) ÷ the minimum the run needs: each landed
   record's create at its `x-token-cost`, plus the list pages reconciliation must read (each
   object's live records at the largest page size; relationships one list per owning
   organization; deal products one call per 100 deals). Target ≤ 1.05, and no search call at all.
2. rate: the same load against the sandbox served in its own process (Growth plan: 40 requests per
   2 s; 100 ms mean latency), real clock. Requests sent per second from the first create to the
   last ÷ the burst limit's 20/s. Target ≥ 0.9.
3. memory: a persons mart inflated to N rows (25k, then 1M), loaded against a fake Pipedrive that
   keeps nothing, in a child process reporting its own RSS (load_memory_probe.py). 1M is measured,
   not extrapolated (~13 min here): extending the end-of-load growth from 25k linearly said
   448 MiB where the measured peak was 950 MiB (the peak is mid-load, DuckDB's buffers under its
   512 MB cap, not the id map). Target < 1 GiB. VP2PD_BENCH_LOAD_MEMORY_ROWS=5000,25000 for a
   quick extrapolated figure.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.harness import BUILD_DIR, Result, check, serve_cli, stop
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.load import Loader
from loaders.pipedrive.reconcile import run_reconcile
from loaders.pipedrive.retry import Hooks
from loaders.pipedrive.sequence import STEPS
from loaders.pipedrive.settings import V1_PAGE_LIMITS, V2_PAGE_LIMIT
from loaders.pipedrive.setup import run_setup
from vp2pd import pipedrive_contract as contract
from vp2pd.clock import FakeClock

CLIENTS = int(os.environ.get("VP2PD_BENCH_LOAD_CLIENTS", "120"))
TOKEN = "bench-load-token-41d9"
REPO = Path(__file__).resolve().parents[1]
RATE_PLAN = "growth"
LATENCY_MS = 100.0
MEMORY_ROWS = [int(n) for n in os.environ.get("VP2PD_BENCH_LOAD_MEMORY_ROWS", "25000,1000000").split(",")]
DEAL_IDS_PER_LIST = 100


def _config(build: Path) -> Any:
    from vp2pd.config import load_customer

    return load_customer("demo").model_copy(update={"build_dir": build})


def built_warehouse() -> Path:
    """The practice's marts, built once: generate -> CSV extraction -> dbt build."""
    from extractors.visual_practice.run import run_extraction
    from sandbox.visual_practice.generator import GeneratorOptions, generate
    from vp2pd.transform import run_transform

    build = BUILD_DIR / f"load-{CLIENTS}"
    cfg = _config(build)
    done = build / "built.ok"
    if not done.is_file():
        practice = BUILD_DIR / f"load-practice-{CLIENTS}"
        if not (practice / "export").is_dir():
            generate(practice, GeneratorOptions(clients=CLIENTS, seed=11))
        if cfg.warehouse_path.exists():
            cfg.warehouse_path.unlink()
        run_extraction(cfg, source="csv", csv_path=practice / "export")
        result = run_transform(cfg, exclude="resource_type:unit_test")
        if not result.success:
            raise RuntimeError("dbt build failed: " + "; ".join(result.failures))
        done.write_text("ok\n")
    return cfg.warehouse_path


def fresh_copy(warehouse: Path, name: str) -> tuple[Path, Path]:
    """A private warehouse copy (no ledger yet) and a customer home with owners and the pipeline."""
    work = BUILD_DIR / f"load-{CLIENTS}-{name}"
    shutil.rmtree(work, ignore_errors=True)
    home = work / "customer"
    home.mkdir(parents=True)
    copy = work / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    (home / "owners.yml").write_text("fallback_owner: admin@sandbox.example\n", encoding="utf-8")
    shutil.copy(REPO / "customers" / "demo" / "pipeline.yml", home / "pipeline.yml")
    return copy, home


def _create_path(step_name: str) -> str:
    step = next(s for s in STEPS if s.name == step_name)
    return "/api/v2/deals/1/products" if step.name == "deal_products" else PipedriveClient.path(step.obj)


def minimum_tokens(ledger: Ledger) -> tuple[int, dict[str, Any]]:
    """Creates of what landed + the list pages reconciliation cannot do without."""
    con = ledger.con
    landed = dict(con.execute("select object, count(*) from ledger.id_map where object in "
                              f"({', '.join(repr(s.name) for s in STEPS)}) group by 1").fetchall())
    creates = sum(n * contract.operation_for("POST", _create_path(obj)).token_cost for obj, n in landed.items())
    reads = 0
    for step in STEPS:
        n = landed.get(step.name, 0)
        if not n:
            continue
        if step.name == "organization_relationships":
            owners = con.execute("select count(distinct rel_owner_org_key) from pipedrive.pipedrive__organization_relationships "
                                 "m join ledger.id_map i on i.object = 'organization_relationships' and i.source_key = m.natural_key"
                                 ).fetchone()[0]
            reads += owners * contract.operation_for("GET", "/v1/organizationRelationships").token_cost
        elif step.name == "deal_products":
            deals = con.execute("select count(distinct parent_id) from ledger.id_map where object = 'deal_products'").fetchone()[0]
            reads += math.ceil(deals / DEAL_IDS_PER_LIST) * contract.operation_for("GET", "/api/v2/deals/products").token_cost
        else:
            path = PipedriveClient.path(step.obj)
            limit = V1_PAGE_LIMITS.get(path.removeprefix("/v1"), V2_PAGE_LIMIT)
            reads += math.ceil(n / limit) * contract.operation_for("GET", path).token_cost
    return creates + reads, {"landed": landed, "create_tokens": creates, "reconcile_read_tokens": reads}


async def tokens_run(warehouse: Path) -> dict[str, Any]:
    from sandbox.pipedrive.app import create_app
    from sandbox.pipedrive.settings import PipedriveSandboxSettings

    copy, home = fresh_copy(warehouse, "tokens")
    clock = FakeClock()
    app = create_app(PipedriveSandboxSettings(api_token=TOKEN, plan="ultimate", seats=10), clock)
    state = app.state.sandbox
    ledger = Ledger.open(copy)
    try:
        async with PipedriveClient("https://sandbox.pipedrive.com", TOKEN, plan="ultimate", seats=10, clock=clock,
                                   transport=httpx.ASGITransport(app=app)) as client:
            await run_setup(client, ledger, home / "pipeline.yml")
            before = state.tokens_json()
            load = await Loader(client, ledger, home, currency="CAD").run()
            after_load = state.tokens_json()
            rec = await run_reconcile(client, ledger, home, currency="CAD")
            after = state.tokens_json()
        minimum, parts = minimum_tokens(ledger)
    finally:
        ledger.close()
    ops: Counter[str] = Counter()
    for op, v in after["by_operation"].items():
        ops[op] += v["calls"] - before["by_operation"].get(op, {"calls": 0})["calls"]
    searches = sum(n for op, n in ops.items() if "search" in op.lower())
    return {"status": load.status, "rejections": len(load.rejections), "reconcile_ok": rec.ok,
            "spent_load": after_load["total"] - before["total"], "spent_reconcile": after["total"] - after_load["total"],
            "spent": after["total"] - before["total"], "minimum": minimum, "search_calls": searches,
            "calls_by_operation": {k: v for k, v in sorted(ops.items()) if v}, **parts}


async def rate_run(warehouse: Path, url: str) -> dict[str, Any]:
    copy, home = fresh_copy(warehouse, "rate")
    stamps: list[float] = []

    def before_send(info: Any) -> None:
        if info.method == "POST":
            stamps.append(time.perf_counter())

    ledger = Ledger.open(copy)
    try:
        async with PipedriveClient(url, TOKEN, plan=RATE_PLAN) as client:
            await run_setup(client, ledger, home / "pipeline.yml")
            sent_before, throttled_before = client.requests_sent, client.responses_429
        async with PipedriveClient(url, TOKEN, plan=RATE_PLAN, hooks=Hooks(before_send=before_send)) as client:
            started = time.perf_counter()
            result = await Loader(client, ledger, home, currency="CAD").run()
            elapsed = time.perf_counter() - started
            sent, throttled = client.requests_sent, client.responses_429
    finally:
        ledger.close()
    window = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    # Where the window idled: pauses between two creates far longer than the limiter's 50 ms spacing
    # (step changes, a 429's hold, a batch waiting for its commit).
    gaps = [b - a for a, b in zip(stamps, stamps[1:]) if b - a > 0.25]
    return {"status": result.status, "creates_sent": len(stamps), "create_window_s": round(window, 2),
            "idle_gaps": len(gaps), "idle_gaps_s": round(sum(gaps), 2),
            "load_wall_s": round(elapsed, 2), "requests_sent": sent, "answered_429": throttled,
            "rate": (len(stamps) - 1) / window, "setup_requests": sent_before, "setup_429": throttled_before}


def memory_run(warehouse: Path, rows: int) -> dict[str, Any]:
    """The memory probe in a child process (its own peak RSS, not this process's)."""
    copy, home = fresh_copy(warehouse, f"memory-{rows}")
    out = subprocess.run([sys.executable, "-m", "benchmarks.load_memory_probe", str(copy), str(home), str(rows)],
                         cwd=REPO, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> list[Result]:
    load_avg = os.getloadavg()[0]
    warehouse = built_warehouse()
    t = asyncio.run(tokens_run(warehouse))
    token_ratio = t["spent"] / t["minimum"]
    print(f"   tokens: spent {t['spent']:,} (load {t['spent_load']:,}, reconcile {t['spent_reconcile']:,}) vs minimum "
          f"{t['minimum']:,}; search calls {t['search_calls']}; load {t['status']}, reconcile ok {t['reconcile_ok']}",
          flush=True)
    server, url = serve_cli(["sandbox", "pipedrive", "--token", TOKEN, "--plan", RATE_PLAN, "--seats", "3",
                             "--latency-ms", str(LATENCY_MS)], {"PIPEDRIVE_API_TOKEN": TOKEN})
    try:
        r = asyncio.run(rate_run(warehouse, url))
    finally:
        stop(server)
    allowed = contract.BURST_PER_2S[RATE_PLAN] / contract.BURST_WINDOW_S
    rate_ratio = r["rate"] / allowed
    print(f"   rate: {r['rate']:.2f} creates/s over {r['create_window_s']} s vs {allowed:.0f}/s allowed; "
          f"429s {r['answered_429']}; {r['idle_gaps']} pauses > 0.25 s totalling {r['idle_gaps_s']} s", flush=True)
    memory = [memory_run(warehouse, n) for n in MEMORY_ROWS]
    for m in memory:
        print(f"   memory: {m['rows']:,} persons loaded in {m['load_s']:.1f} s, peak RSS {m['peak_rss_mib']:.0f} MiB, "
              f"RSS {m['rss_before_load_mib']:.0f} -> {m['rss_after_load_mib']:.0f} MiB over the load", flush=True)
    (small, large) = (memory[0], memory[-1])
    # What grows with N is what the load holds at its end; the peak of a small run is set earlier
    # (imports, spec tables). 1M = the larger of that early peak and the end-of-load RSS, extended linearly.
    per_row = max(0.0, (large["rss_after_load_mib"] - small["rss_after_load_mib"]) / max(1, large["rows"] - small["rows"]))
    at_1m = max(large["peak_rss_mib"], large["rss_after_load_mib"] + per_row * (1_000_000 - large["rows"]))
    measured_1m = next((m for m in memory if m["rows"] >= 1_000_000), None)
    peak = measured_1m["peak_rss_mib"] if measured_1m else at_1m
    common = {"clients": CLIENTS, "load_avg_1m": round(load_avg, 2)}
    return [
        Result("load tokens spent vs the minimum (creates + reconcile list reads)", t["spent"], t["minimum"], "tokens",
               token_ratio, "<= 1.05", check(token_ratio, "<= 1.05") and t["status"] == "completed", {**common, **t}),
        Result("load per-record search calls", t["search_calls"], 0, "calls", float(t["search_calls"]), "<= 0",
               t["search_calls"] == 0, {"calls_by_operation": t["calls_by_operation"]}),
        Result("load request rate vs burst limit (Growth, 100 ms latency)", r["rate"], allowed, "req/s", rate_ratio,
               ">= 0.9", check(rate_ratio, ">= 0.9") and r["status"] == "completed",
               {**common, **r, "plan": RATE_PLAN, "latency_ms": LATENCY_MS}),
        Result("load peak memory at 1,000,000 records" + ("" if measured_1m else " (extrapolated, linear)"), peak,
               1024.0, "MiB", peak / 1024.0, "< 1.0", check(peak / 1024.0, "< 1.0"),
               {**common, "probes": memory, "mib_per_1k_rows": round(per_row * 1000, 3),
                "measured_at_1m": bool(measured_1m)}),
    ]

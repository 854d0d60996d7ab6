"""The Pipedrive client under Growth burst limits: how close to the allowed request rate?

The Pipedrive sandbox runs as a real server in its own process (127.0.0.1, plan Growth: 40 requests
per token per rolling 2 s, so 20 req/s; 100 ms mean latency), so it does not share the client's core.
The client runs here a create workload (persons and organizations, alternating) for
VP2PD_BENCH_PD_SECONDS (default 60) seconds with more work queued than the limit allows, and lets
its limiter and adaptive concurrency decide the pace.

Targets: accepted creates per second ≥ 95% of 20/s; 429 answers ≤ 1% of requests sent; the
client's token ledger equals the sandbox's own count (its admin endpoint).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time

import httpx

from benchmarks.harness import Result, check, serve_cli, stop
from loaders.pipedrive.client import PipedriveClient
from vp2pd import pipedrive_contract as pc

PLAN = "growth"
LATENCY_MS = 100.0
DURATION_S = float(os.environ.get("VP2PD_BENCH_PD_SECONDS", "60"))
WORKERS = 32  # more senders than the limit can serve: the client, not the workload, sets the pace
TOKEN = "bench-pd-token-7c2e91"
ALLOWED_RATE = pc.BURST_PER_2S[PLAN] / pc.BURST_WINDOW_S


async def _workload(url: str, duration_s: float) -> dict[str, float]:
    created = itertools.count()
    async with PipedriveClient(url, TOKEN, plan=PLAN, seats=1) as client:
        start = time.perf_counter()
        stop_at = start + duration_s

        async def worker(n: int) -> None:
            while time.perf_counter() < stop_at:
                i = next(created)
                if i % 2:
                    await client.create("organizations", {"name": f"Bench clinic {n}-{i}"})
                else:
                    await client.create("persons", {"name": f"Bench person {n}-{i}",
                                                    "emails": [{"value": f"p{i}@bench.test", "label": "work",
                                                                "primary": True}]})

        await asyncio.gather(*(worker(n) for n in range(WORKERS)))
        elapsed = time.perf_counter() - start
        async with httpx.AsyncClient(base_url=url, timeout=30) as admin:
            tokens = (await admin.get("/_admin/tokens")).json()
        return {"elapsed": elapsed, "sent": client.requests_sent, "throttled": client.responses_429,
                "accepted": client.requests_sent - client.responses_429, "client_tokens": client.ledger.spent,
                "sandbox_tokens": tokens["total"], "concurrency": client.concurrency.limit,
                "retries": client.retries}


def run() -> list[Result]:
    server, url = serve_cli(["sandbox", "pipedrive", "--token", TOKEN, "--plan", PLAN,
                             "--latency-ms", str(LATENCY_MS)], {"PIPEDRIVE_API_TOKEN": TOKEN})
    try:
        m = asyncio.run(_workload(url, DURATION_S))
    finally:
        stop(server)
    rate = m["accepted"] / m["elapsed"]
    rate_ratio = rate / ALLOWED_RATE
    share_429 = m["throttled"] / max(1, m["sent"])
    tokens_ratio = m["client_tokens"] / max(1, m["sandbox_tokens"])
    details = {"elapsed_s": round(m["elapsed"], 1), "requests_sent": m["sent"], "answered_429": m["throttled"],
               "retries": m["retries"], "plan": PLAN, "latency_ms": LATENCY_MS, "workers": WORKERS,
               "final_concurrency": round(m["concurrency"], 2)}
    return [
        Result("pipedrive_create_rate_vs_growth_burst_limit", rate, ALLOWED_RATE, "req/s", rate_ratio, ">= 0.95",
               check(rate_ratio, ">= 0.95"), details),
        Result("pipedrive_share_of_requests_answered_429", share_429, 0.01, "share", share_429 / 0.01, "<= 1.0",
               check(share_429 / 0.01, "<= 1.0"), {"answered_429": m["throttled"], "requests_sent": m["sent"]}),
        Result("pipedrive_client_tokens_vs_sandbox_tokens", m["client_tokens"], m["sandbox_tokens"], "tokens",
               tokens_ratio, ">= 1.0", tokens_ratio == 1.0, {}),
    ]

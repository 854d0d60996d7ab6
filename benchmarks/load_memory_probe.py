"""Peak memory of a load of N persons, in this process alone: `python -m benchmarks.load_memory_probe
WAREHOUSE HOME N` prints one JSON line {rows, load_s, peak_rss_mib, status}.

The persons mart is inflated to N rows (copies of the practice's persons under new keys); the other
record marts but organizations are emptied, so the figure is about N records. Setup and the loader's
reads go to the in-process sandbox; creates go to a fake Pipedrive that answers with a fresh id and
keeps nothing (the sandbox would hold N records in this same process and measure itself). FakeClock:
no pacing, the load runs as fast as the loader can shape, send and record.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time
from pathlib import Path

import httpx

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.load import Loader
from loaders.pipedrive.setup import run_setup
from vp2pd.clock import FakeClock

TOKEN = "bench-memory-token-5e0a"
CREATES = {"/api/v2/persons", "/api/v2/organizations"}
EMPTIED = ("pipedrive__organization_relationships", "pipedrive__products", "pipedrive__deals",
           "pipedrive__deal_products", "pipedrive__activities", "pipedrive__notes", "pipedrive__files")


class ForgetfulCreates(httpx.AsyncBaseTransport):
    """Creates answered with a new id and forgotten; every other request goes to the sandbox."""

    def __init__(self, sandbox: httpx.AsyncBaseTransport) -> None:
        self.sandbox, self.ids = sandbox, itertools.count(10_000_000)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path in CREATES:
            await request.aread()
            return httpx.Response(201, json={"success": True, "data": {"id": next(self.ids)}})
        return await self.sandbox.handle_async_request(request)


def inflate(warehouse: Path, rows: int) -> None:
    ledger = Ledger.open(warehouse)
    try:
        con = ledger.con
        base = con.execute("select count(*) from pipedrive.pipedrive__persons").fetchone()[0]
        copies = -(-rows // base)
        con.execute("create or replace table pipedrive.pipedrive__persons as "
                    "select * replace (natural_key || '#' || c as natural_key, "
                    "Source_System_ID || '#' || c as Source_System_ID) "
                    f"from pipedrive.pipedrive__persons, range({copies}) t(c) limit {rows}")
        for mart in EMPTIED:
            con.execute(f"delete from pipedrive.{mart}")
    finally:
        ledger.close()


async def load(warehouse: Path, home: Path) -> str:
    from sandbox.pipedrive.app import create_app
    from sandbox.pipedrive.settings import PipedriveSandboxSettings

    clock = FakeClock()
    app = create_app(PipedriveSandboxSettings(api_token=TOKEN, plan="ultimate", seats=100, rate_limits=False), clock)
    transport = ForgetfulCreates(httpx.ASGITransport(app=app))
    ledger = Ledger.open(warehouse)
    try:
        async with PipedriveClient("https://sandbox.pipedrive.com", TOKEN, plan="ultimate", seats=100, clock=clock,
                                   transport=transport) as client:
            await run_setup(client, ledger, home / "pipeline.yml")
            return (await Loader(client, ledger, home, currency="CAD").run()).status
    finally:
        ledger.close()


def main(warehouse: str, home: str, rows: str) -> None:
    import psutil

    me = psutil.Process()
    inflate(Path(warehouse), int(rows))
    before = me.memory_info().rss / 2**20
    start = time.perf_counter()
    status = asyncio.run(load(Path(warehouse), Path(home)))
    elapsed = time.perf_counter() - start
    # The peak may be set before the load (imports, the OpenAPI tables); what the load itself holds
    # at its end (id maps, DuckDB's pages) is what grows with N.
    after = me.memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": int(rows), "load_s": round(elapsed, 2), "peak_rss_mib": round(peak, 1),
                      "rss_before_load_mib": round(before, 1), "rss_after_load_mib": round(after, 1),
                      "status": status}))


if __name__ == "__main__":
    main(*sys.argv[1:4])

"""Drill: a load SIGKILLed at several points between Pipedrive's answer and the ledger write (a real
process death: nothing flushed, DuckDB replays its WAL on reopen), resumed each time -> every row once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.setup import run_setup
from sandbox.pipedrive.server import start
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from tests.contract.pipedrive_sandbox import TOKEN
from tests.load.conftest import Env, live_account

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
# Creates answered before each kill, counted from that run's start (the small test practice has a few
# hundred creates, so the points must fit in what is left). Three in `make
# test`; VP2PD_DRILL_POINTS="3,25,60,..." for the long drill (each point is a process start + load).
KILL_POINTS = tuple(int(p) for p in os.environ.get("VP2PD_DRILL_POINTS", "3,20,40").split(","))


def test_sigkill_after_the_answer_at_several_points_then_resume(env: Env) -> None:
    server = start(PipedriveSandboxSettings(api_token=TOKEN, plan="ultimate", seats=10, rate_limits=False))
    try:
        async def prepare() -> None:
            ledger = env.ledger()
            async with PipedriveClient(server.url, TOKEN) as client:
                await run_setup(client, ledger, env.home / "pipeline.yml")
            ledger.close()
        asyncio.run(prepare())

        def child(kill_after: int) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "tests.load.drill_child", str(env.warehouse), str(env.home),
                                   server.url, str(kill_after)], cwd=REPO, capture_output=True, text=True, timeout=120)

        killed = 0
        for point in KILL_POINTS:
            done = child(point)
            assert done.returncode in (-9, 0), done.stderr[-2000:]
            killed += done.returncode == -9
        assert killed == len(KILL_POINTS)
        final = child(0)
        assert final.returncode == 0 and final.stdout.strip() == "completed", final.stderr[-2000:]
        account = live_account(httpx.get(f"{server.url}/_admin/export", timeout=30).json())
    finally:
        server.stop()
    for obj, table, mart in (("persons", "persons", "pipedrive__persons"), ("activities", "activities", "pipedrive__activities"),
                             ("notes", "notes", "pipedrive__notes"), ("organizations", "organizations", "pipedrive__organizations"),
                             ("deals", "deals", "pipedrive__deals"), ("files", "files", "pipedrive__files")):
        rows = env.rows(f"select count(*) from pipedrive.{mart}")[0][0]
        mapped = sorted(r[0] for r in env.rows("select pipedrive_id from ledger.id_map where object = ?", [obj]))
        assert len(account[table]) == rows, obj
        assert mapped == sorted(str(r["id"]) for r in account[table]), obj
    resolved = env.rows("select count(*) from ledger.operations where status = 'resolved'")[0][0]
    assert resolved >= killed  # each kill left at least the answered create in doubt, found by read-back

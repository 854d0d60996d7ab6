"""Drill: every kind of trouble at once during a load — 5% 502/503 (never reached the API), 3%
dropped connections, 429 storms, and 5% of writes applied then answered 504 (landed, unseen) —
the load completes and every row is in Pipedrive exactly once: the 504s are left in doubt and
resolved by the read-back, never retried blindly."""

from __future__ import annotations

import httpx
import pytest

from tests.contract.pipedrive_sandbox import BASE, TOKEN, data, run_async
from tests.load.conftest import Env
from tests.load.helpers import load, setup
from tests.load.test_load import assert_exactly_once
from tests.loaders.sandbox_client import ProxyPagesUnchecked, admin

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]
TROUBLE = {"fault_rate": 0.05, "drop_rate": 0.03, "storm_rate": 0.005, "storm_s": 1.0, "applied_fault_rate": 0.05}


@run_async
async def test_a_write_applied_then_answered_504_is_in_the_account(env: Env) -> None:
    state = env.app.state.sandbox
    state.update(state.settings.patched({"applied_fault_rate": 1.0}))
    transport = ProxyPagesUnchecked(httpx.ASGITransport(app=env.app))  # the 504 is the edge's HTML page
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers={"x-api-token": TOKEN}) as client:
        answer = await client.post("/api/v2/persons", json={"name": "Applied Then Lost"})
        assert answer.status_code == 504 and "html" in answer.headers["content-type"]
        state.update(state.settings.patched({"applied_fault_rate": 0.0}))
        people = data(await client.get("/api/v2/persons"))
    assert [p["name"] for p in people] == ["Applied Then Lost"]
    assert (await admin(env.app, "stats"))["faults"] == {"504": 1}


@run_async
async def test_faults_drops_storms_and_applied_504s_land_everything_once(env: Env) -> None:
    await setup(env)
    state = env.app.state.sandbox
    state.update(state.settings.patched(TROUBLE))
    result = await load(env, proxy_pages=True)
    assert result.status == "completed" and not result.rejections, result.rejections
    stats = await admin(env.app, "stats")
    assert stats["faults"].get("504", 0) > 0 and stats["dropped"] > 0 and stats["rate_limited"] > 0, stats
    resolved = sum(c.resolved for c in result.counts.values())
    assert resolved >= stats["faults"]["504"]  # each applied-then-504 create found by read-back, not re-sent
    await assert_exactly_once(env)

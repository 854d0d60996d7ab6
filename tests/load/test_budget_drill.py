"""Drill: the daily token budget runs out mid-load. With `--stop-at-budget` the run stops cleanly
(`stopped_budget`, nothing in doubt, what landed is recorded), and after the reset (FakeClock past
midnight) `load` resumes that run to completion with no duplicate. Without it the load waits for the
reset itself. Both ways the budget can end: the client's own reserve (it knows the plan's budget),
and Pipedrive's 429 for the company's budget (someone else spent it: the client did not know).
The same-day rerun of a client-side stop is not drilled: a new process knows only the plan's budget."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.sequence import STEPS
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env
from tests.load.helpers import load, setup
from tests.load.test_load import assert_exactly_once, mart_counts
from tests.loaders.sandbox_client import admin
from vp2pd import pipedrive_contract as contract

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]


def tokens_needed(env: Env) -> int:
    """Tokens the creates of this practice cost, from the spec's cost table (deal products by deal)."""
    counts = mart_counts(env)
    total = 0
    for step in STEPS:
        if step.name in counts:
            path = "/api/v2/deals/1/products" if step.name == "deal_products" else PipedriveClient.path(step.obj)
            total += counts[step.name] * contract.operation_for("POST", path).token_cost
    return total


def seconds_to_midnight(env: Env) -> float:
    now = datetime.fromtimestamp(env.clock.now(), timezone.utc)
    return 86_400 - (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()


async def limit(env: Env, where: str) -> dict[str, int]:
    """Client options (and sandbox settings) so that about 2/3 of the creates fit in a day's budget:
    the load needs two days."""
    spent = (await admin(env.app, "tokens"))["spent_today"]  # setup's calls, today
    part = tokens_needed(env) * 2 // 3
    if where == "client":  # the plan's budget, as customer.yml gives it: the client stops at its reserve
        return {"daily_budget": part + 1_000, "reserve_tokens": 1_000}
    state = env.app.state.sandbox  # the company's budget, mostly spent by someone else: Pipedrive says 429
    state.update(state.settings.patched({"daily_budget": spent + part}))
    return {}


@run_async
async def test_budget_runs_out_mid_load_stop_then_resume_after_the_reset(env: Env) -> None:
    """Pipedrive's 429 ends the day (the client's own count did not see it coming)."""
    await setup(env)
    options = await limit(env, "server")
    stopped = await load(env, stop_at_budget=True, **options)
    assert stopped.status == "stopped_budget", stopped.as_json()
    created = sum(c.created for c in stopped.counts.values())
    assert 0 < created < sum(mart_counts(env).values())
    assert any("stopped at the daily budget" in n for n in stopped.notes)
    assert env.rows("select status from ledger.runs where run_id = ?", [stopped.run_id]) == [("stopped_budget",)]
    # A clean stop: nothing in doubt, and every create Pipedrive made is in id_map.
    assert env.rows("select count(*) from ledger.operations where status = 'intent'")[0][0] == 0
    mapped = env.rows("select count(*) from ledger.id_map where run_id = ?", [stopped.run_id])[0][0]
    assert mapped == created
    assert (await admin(env.app, "stats"))["daily_limited"] > 0

    before = await load(env, stop_at_budget=True, **options)  # same day, a new process: still refused
    assert before.status == "stopped_budget" and before.run_id == stopped.run_id
    assert sum(c.created for c in before.counts.values()) == 0

    env.clock.advance(seconds_to_midnight(env) + 1)
    resumed = await load(env, stop_at_budget=True, **options)
    assert resumed.status == "completed" and resumed.run_id == stopped.run_id, resumed.as_json()
    assert created + sum(c.created for c in resumed.counts.values()) == sum(mart_counts(env).values())
    await assert_exactly_once(env)


@run_async
async def test_without_stop_at_budget_the_load_waits_for_the_reset_and_completes(env: Env) -> None:
    """The client's own reserve ends the day: it sends nothing past it, sleeps to midnight, goes on."""
    await setup(env)
    started, midnight = env.clock.now(), seconds_to_midnight(env)
    result = await load(env, **await limit(env, "client"))
    assert result.status == "completed", result.as_json()
    assert env.clock.now() - started >= midnight  # it slept past midnight (virtual time), then went on
    assert env.rows("select count(*) from ledger.operations where status = 'not_sent'")[0][0] > 0
    assert (await admin(env.app, "stats"))["daily_limited"] == 0  # the reserve held: Pipedrive never refused
    await assert_exactly_once(env)

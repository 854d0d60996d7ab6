"""Rollback leaves the account as it was before the migration: after a full load, and after a load
stopped part-way by the daily budget (which then resumes and completes)."""

from __future__ import annotations

import pytest

from loaders.pipedrive.rollback import run_rollback
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env, live_account
from tests.load.helpers import client_for, export, load, setup
from tests.load.test_load import assert_exactly_once

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]


async def rollback(env: Env, run_ids: list[str] | None, dry_run: bool = False):
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            return await run_rollback(client, ledger, run_ids, dry_run=dry_run)
    finally:
        ledger.close()


@run_async
async def test_rollback_all_after_a_full_load_restores_the_pre_migration_account(env: Env) -> None:
    pristine = live_account(await export(env))
    await setup(env)
    result = await load(env)
    made = env.rows("select count(*) from ledger.id_map")[0][0]
    plan = await rollback(env, None, dry_run=True)
    assert len(plan.planned) == made and plan.planned[0]["object"] == "files"  # reverse order: files first
    assert live_account(await export(env)) != pristine  # dry run deleted nothing
    done = await rollback(env, None)
    assert done.deleted + done.already_gone == made
    assert live_account(await export(env)) == pristine
    assert env.rows("select count(*) from ledger.id_map")[0][0] == 0
    again = await rollback(env, None)  # resumable / idempotent: nothing left to undo
    assert again.deleted == 0 and result.status == "completed"


@run_async
async def test_budget_stop_then_resume_then_rollback_of_the_partial_run(env: Env) -> None:
    await setup(env)
    # A budget that runs out part-way through the persons (5 tokens a create, reserve 0).
    spent_before = (await _tokens(env))["spent_today"]
    budget = spent_before + 400
    stopped = await load(env, stop_at_budget=True, daily_budget=budget, reserve_tokens=0, spent_today=spent_before)
    assert stopped.status == "stopped_budget"
    assert any("stopped at the daily budget" in n for n in stopped.notes)
    assert env.rows("select status from ledger.runs where run_id = ?", [stopped.run_id])[0][0] == "stopped_budget"
    partial = env.rows("select count(*) from ledger.id_map where object not in ('custom_fields','pipelines','stages')")[0][0]
    assert partial > 0
    # Roll back only the stopped load run: setup's fields and pipeline stay.
    before_load = live_account(await export(env))
    await rollback(env, [stopped.run_id])
    after = live_account(await export(env))
    for table in ("persons", "organizations", "deals", "activities", "products", "notes", "files"):
        assert after[table] == [], table
    assert after["fields"] == before_load["fields"] and after["pipelines"] == before_load["pipelines"]
    # The next day: a load resumes (a new run: the stopped one was rolled back? no, it continues it).
    env.clock.advance(86_400)
    resumed = await load(env)
    assert resumed.status == "completed" and resumed.run_id == stopped.run_id
    await assert_exactly_once(env)


async def _tokens(env: Env):
    from tests.loaders.sandbox_client import admin
    return await admin(env.app, "tokens")

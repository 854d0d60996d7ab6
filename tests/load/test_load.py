"""The sequenced load against the in-process sandbox: every row once, a rerun writes nothing, a
lost answer or a crash between Pipedrive's answer and the ledger is resolved by read-back."""

from __future__ import annotations

from collections import Counter

import pytest

from loaders.pipedrive.ledger import RESOLVED
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env, live_account
from tests.load.helpers import create_calls, export, load, setup

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]

# ledger object -> (sandbox export table, mart)
TABLES = {"organizations": ("organizations", "pipedrive__organizations"),
          "persons": ("persons", "pipedrive__persons"),
          "products": ("products", "pipedrive__products"),
          "deals": ("deals", "pipedrive__deals"),
          "deal_products": ("deal_products", "pipedrive__deal_products"),
          "activities": ("activities", "pipedrive__activities"),
          "notes": ("notes", "pipedrive__notes"),
          "files": ("files", "pipedrive__files"),
          "organization_relationships": ("organization_relationships", "pipedrive__organization_relationships")}


def mart_counts(env: Env) -> dict[str, int]:
    return {obj: env.rows(f"select count(*) from pipedrive.{mart}")[0][0] for obj, (_, mart) in TABLES.items()}


async def assert_exactly_once(env: Env) -> None:
    """Each mart row is in Pipedrive once: live counts equal the marts, id_map is 1:1 with live ids."""
    account = live_account(await export(env))
    marts = mart_counts(env)
    for obj, (table, _) in TABLES.items():
        live_ids = {str(r["id"]) for r in account[table]}
        mapped = [r[0] for r in env.rows("select pipedrive_id from ledger.id_map where object = ?", [obj])]
        assert len(live_ids) == marts[obj], (obj, len(live_ids), marts[obj])
        assert sorted(mapped) == sorted(live_ids), obj
        assert max(Counter(mapped).values(), default=1) == 1, obj


@run_async
async def test_full_load_lands_every_row_once_and_a_rerun_writes_nothing(env: Env) -> None:
    await setup(env)
    first = await load(env)
    assert first.status == "completed" and not first.rejections, first.rejections
    marts = mart_counts(env)
    assert marts["persons"] > 10 and marts["activities"] > 20 and marts["notes"] > 5 and marts["files"] > 0
    for obj, n in marts.items():
        assert first.counts[obj].created == n, obj
    await assert_exactly_once(env)
    # Custom fields by name arrived under the account's keys; references went through id_map.
    persons = live_account(await export(env))["persons"]
    key = env.rows("select field_key from ledger.fields where object = 'person' and field_name = 'Source_System_ID'")[0][0]
    sources = {r[0] for r in env.rows("select Source_System_ID from pipedrive.pipedrive__persons")}
    assert {p["_custom"].get(key) for p in persons} == sources  # the export keeps values by key
    before, tokens = live_account(await export(env)), await create_calls(env)
    second = await load(env)
    assert second.status == "completed" and second.run_id != first.run_id
    assert sum(c.created for c in second.counts.values()) == 0
    assert live_account(await export(env)) == before and await create_calls(env) == tokens
    ops = env.rows("select count(*) from ledger.operations where run_id = ?", [second.run_id])[0][0]
    assert ops == 0


@run_async
async def test_lost_answers_are_resolved_by_read_back_not_retried(env: Env) -> None:
    await setup(env)
    result = await load(env, lose_every=9)  # every 9th create applied, its answer lost
    assert result.status == "completed"
    resolved = sum(c.resolved for c in result.counts.values())
    assert resolved >= 10, result.counts
    assert resolved == env.rows("select count(*) from ledger.operations where status = ?", [RESOLVED])[0][0]
    await assert_exactly_once(env)


class Crash(Exception):
    pass


@run_async
async def test_crash_between_the_answer_and_the_ledger_then_resume(env: Env) -> None:
    from loaders.pipedrive.retry import Hooks

    await setup(env)
    seen = {"n": 0}

    def after_response(info, response, error) -> None:  # the process dies as Pipedrive's answer arrives
        if info.method == "POST" and info.path == "/api/v2/persons" and response is not None:
            seen["n"] += 1
            if seen["n"] == 7:
                raise Crash("killed after the answer, before the ledger write")

    with pytest.raises(Crash):
        await load(env, hooks=Hooks(after_response=after_response))
    crashed = env.rows("select run_id, status from ledger.runs where kind = 'load'")
    assert [s for _, s in crashed] == ["failed"]
    in_doubt = env.rows("select count(*) from ledger.operations where object = 'persons' and status = 'intent'")[0][0]
    assert in_doubt >= 1
    resumed = await load(env)
    assert resumed.status == "completed" and resumed.run_id == crashed[0][0]
    assert resumed.counts["persons"].resolved >= 1
    await assert_exactly_once(env)


@run_async
async def test_every_object_is_recognised_by_read_back(env: Env) -> None:
    """All creates put back in doubt (id_map lost): resume resolves every one by list reads and
    creates nothing — the identities round-trip for every object."""
    await setup(env)
    await load(env)
    tokens = await create_calls(env)
    ledger = env.ledger()
    ledger.con.execute("delete from ledger.outcomes where op_id in (select op_id from ledger.intents where object "
                       "not in ('custom_fields', 'pipelines', 'stages'))")  # the answers never recorded
    ledger.con.execute("delete from ledger.id_map where object not in ('custom_fields', 'pipelines', 'stages')")
    ledger.con.execute("update ledger.runs set status = 'failed' where kind = 'load'")
    ledger.close()
    resumed = await load(env)
    assert resumed.status == "completed"
    assert sum(c.created for c in resumed.counts.values()) == 0
    for obj, n in mart_counts(env).items():
        assert resumed.counts[obj].resolved == n, obj
    assert await create_calls(env) == tokens
    await assert_exactly_once(env)


@run_async
async def test_drill_faults_drops_and_429_storms_land_everything_once(env: Env) -> None:
    """5% 502/503, 3% dropped connections, 429 storms: the load completes and every row is once."""
    from tests.loaders.sandbox_client import admin

    await setup(env)
    state = env.app.state.sandbox
    state.update(state.settings.patched({"fault_rate": 0.05, "drop_rate": 0.03, "storm_rate": 0.005, "storm_s": 1.0}))
    result = await load(env, proxy_pages=True)
    assert result.status == "completed" and not result.rejections
    stats = await admin(env.app, "stats")
    assert stats["dropped"] > 0 and stats["rate_limited"] > 0, stats
    await assert_exactly_once(env)

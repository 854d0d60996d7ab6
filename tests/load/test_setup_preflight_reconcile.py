"""Setup is idempotent and refuses a same-name field of another type; pre-flight matches owners with
one user read and plans the budget; reconciliation finds zero mismatches after a load and names a
mismatch planted in Pipedrive (non-zero result), with JSON + HTML reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from loaders.pipedrive import commands
from loaders.pipedrive.fields import FieldError
from loaders.pipedrive.preflight import run_preflight
from loaders.pipedrive.setup import SchemaPlan, plan_setup, read_account, run_setup
from tests.contract.pipedrive_sandbox import BASE, run_async
from tests.load.conftest import Env, live_account
from tests.load.helpers import client_for, export, load, setup
from tests.loaders.sandbox_client import admin
from vp2pd.config import load_customer

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]


async def _admin_post(env: Env, what: str, body: object) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url=BASE) as http:
        (await http.post(f"/_admin/{what}", json=body)).raise_for_status()


@run_async
async def test_setup_twice_creates_nothing_the_second_time(env: Env) -> None:
    await setup(env)
    first = live_account(await export(env))
    wanted = env.rows("select count(*) from pipedrive.pipedrive__custom_fields where object <> 'activity'")[0][0]
    assert env.rows("select count(*) from ledger.fields")[0][0] == wanted
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            again = await run_setup(client, ledger, env.home / "pipeline.yml")
    finally:
        ledger.close()
    assert again.created_fields == [] and len(again.reused_fields) == wanted
    assert live_account(await export(env)) == first
    assert again.unsupported == []  # every mart field type is Pipedrive's (a yes/no field is an enum)
    assert set(again.not_writable) >= {"activity.Source_System_ID"}


async def _plan(env: Env) -> SchemaPlan:
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            return plan_setup(await read_account(client, ledger, env.home / "pipeline.yml"))
    finally:
        ledger.close()


@run_async
async def test_a_same_name_field_of_another_type_is_a_clear_error(env: Env) -> None:
    await _admin_post(env, "fields", [{"entity": "person", "field_name": "Chart_Number", "field_type": "date"}])
    before = live_account(await export(env))
    plan = await _plan(env)  # pre-flight names the conflict before anything is written
    assert len(plan.conflicts) == 1 and plan.conflicts[0].startswith("person.Chart_Number: exists as date")
    assert live_account(await export(env)) == before
    with pytest.raises(FieldError, match="Chart_Number.*exists as date"):
        await setup(env)


@run_async
async def test_the_schema_plan_lists_what_setup_creates_and_nothing_once_it_ran(env: Env) -> None:
    wanted = env.rows("select object, field_name from pipedrive.pipedrive__custom_fields order by 1, 2")
    writable = sorted(f"{o}.{n}" for o, n in wanted if o != "activity")
    before = live_account(await export(env))
    plan = await _plan(env)
    assert sorted(c.split(" (")[0] for c in plan.create_fields) == writable and plan.conflicts == []
    assert plan.create == ["pipeline Service Contracts", "stage Active contract", "stage Completed", "stage Cancelled"]
    assert live_account(await export(env)) == before  # reading the plan wrote nothing
    made = await setup(env)
    assert sorted(made.created_fields) == writable and sorted(made.not_writable) == sorted(plan.not_writable)
    again = await _plan(env)
    assert again.create_fields == [] and again.create == [] and again.add_options == []
    assert sorted(again.reuse_fields) == writable


@run_async
async def test_preflight_matches_owners_with_one_user_read_and_plans_the_budget(env: Env) -> None:
    staff = [r[0] for r in env.rows("select distinct owner_email from pipedrive.pipedrive__persons "
                                    "where owner_email is not null order by 1")]
    assert len(staff) >= 2
    await _admin_post(env, "users", [{"name": "Known", "email": staff[0].upper()}])  # case differs
    (env.home / "owners.yml").write_text("# no fallback\n", encoding="utf-8")
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            found = await run_preflight(client, ledger.con, env.home, plan="growth", seats=2)
    finally:
        ledger.close()
    calls = (await admin(env.app, "tokens"))["by_operation"]["v1 getUsers"]["calls"]
    assert calls == 1
    data = found.as_json()
    assert staff[0].lower() in data["owners"]["matched"]
    unmatched = {u["email"]: u for u in data["owners"]["unmatched"]}
    assert staff[1].lower() in unmatched and unmatched[staff[1].lower()]["owns"]["persons"] >= 1
    assert "fallback_owner" in data["problem"]
    budget = data["budget"]
    persons = env.rows("select count(*) from pipedrive.pipedrive__persons")[0][0]
    row = next(o for o in budget["objects"] if o["object"] == "persons")
    assert row["create_tokens"] == persons * 5 and budget["daily_budget"] == 120_000
    assert budget["days"] == 1 and budget["wall_time_s"] == pytest.approx(budget["requests"] / 20, abs=0.1)


@run_async
async def test_reconcile_zero_mismatches_then_a_planted_mismatch_is_found(env: Env, tmp_path: Path) -> None:
    await setup(env)
    assert (await load(env)).status == "completed"
    cfg = load_customer("demo").model_copy(update={"build_dir": tmp_path / "build", "home": env.home})
    cfg.warehouse_path.parent.mkdir(parents=True)
    shutil.copy(env.warehouse, cfg.warehouse_path)
    env.warehouse = cfg.warehouse_path  # the command and the test share the copy

    async def reconcile() -> dict:
        async with client_for(env) as client:
            data, page = await commands.reconcile(cfg, client_factory=lambda: _Borrowed(client))
        assert page.is_file() and json.loads((cfg.reports_dir / "reconcile.json").read_text())["ok"] == data["ok"]
        return data

    clean = await reconcile()
    assert clean["ok"], (clean["mismatches"], clean["objects"])
    assert all(a["unaccounted"] == 0 for a in clean["accounting"])
    assert all(a["migrated"] + a["skipped"] + a["quarantined"] == a["extracted"] for a in clean["accounting"])
    # Someone edits a migrated person in Pipedrive: reconciliation names the field and the record.
    key, pid = env.rows("select source_key, pipedrive_id from ledger.id_map where object = 'persons' "
                        "and source_key like 'clients:%' order by 1 limit 1", [])[0]
    ledger_pid = int(pid)
    async with client_for(env) as client:
        await client.update("persons", ledger_pid, {"name": "Changed In Pipedrive"})
    planted = await reconcile()
    assert not planted["ok"]
    [mismatch] = planted["mismatches"]
    assert (mismatch["object"], mismatch["field"], mismatch["mismatches"]) == ("persons", "name", 1)
    assert mismatch["examples"][0]["source_key"] == key
    assert json.loads(mismatch["examples"][0]["actual"]) == "Changed In Pipedrive"


class _Borrowed:
    """A client the test owns, lent to a command (which must not close it)."""

    def __init__(self, client) -> None:
        self.client = client

    async def __aenter__(self):
        return self.client

    async def __aexit__(self, *exc) -> None:
        return None

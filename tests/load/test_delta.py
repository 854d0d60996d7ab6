"""Delta pickup: after a full load, records changed, added and deleted in Visual Practice are
re-extracted incrementally, the marts rebuilt, and exactly the changed records written (only their
changed fields, before-images in the ledger); a second delta writes nothing; rolling the delta back
restores the previous values, and the next delta applies the changes again."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from loaders.pipedrive import commands
from loaders.pipedrive.delta import DeltaRefused, extract_and_transform
from loaders.pipedrive.reports import delta_report
from loaders.pipedrive.retry import Hooks
from loaders.pipedrive.rollback import run_rollback
from sandbox.visual_practice.app import create_app
from sandbox.visual_practice.settings import SandboxSettings
from sandbox.visual_practice.store import Store
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env, live_account
from tests.load.helpers import client_for, delta, export, load, setup, write_calls
from tests.load.test_setup_preflight_reconcile import _Borrowed
from vp2pd.config import load_customer
from tests.transform.conftest import KEY, _config
from vp2pd.clock import FakeClock

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]
# dbt's data and unit tests ran when the session's warehouse was built; the delta's rebuilds skip them.
MODELS_ONLY = "resource_type:test resource_type:unit_test"
STAMP = "%Y-%m-%dT%H:%M:%SZ"


class VisualPractice:
    """The practice the load fixtures built, served again (its store in memory) so a test can change it."""

    def __init__(self, folder: Path, env: Env) -> None:
        self.store = Store(folder)
        self.clock = FakeClock(1_795_000_000.0 + 86_400)  # a day after the session's extraction
        self.app = create_app(self.store, SandboxSettings(api_key=KEY), self.clock)
        # The customer's config pointed at the test's warehouse copy (build_dir/<slug>.duckdb).
        self.cfg = _config(env.warehouse.parent).model_copy(update={"build_dir": env.warehouse.parent})
        assert self.cfg.warehouse_path == env.warehouse

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), timezone.utc)

    def doc(self, name: str, record_id: str) -> dict[str, Any]:
        return json.loads(self.store.get(name, record_id) or "{}")

    def pick_up(self) -> dict[str, Any]:
        return extract_and_transform(self.cfg, exclude=MODELS_ONLY, transport=httpx.ASGITransport(app=self.app),
                                     clock=self.clock)


@pytest.fixture
def vp(practice_factory: Callable[..., Path], env: Env) -> VisualPractice:
    return VisualPractice(practice_factory(clients=14, seed=11, mess=0.3), env)


def person_in_pipedrive(account: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(p for p in account["persons"] if str(p["id"]) == pid)


def without_update_times(account: dict[str, Any]) -> dict[str, Any]:
    """An update and its restore leave the values as they were but move `update_time`."""
    return {t: [{k: v for k, v in r.items() if k != "update_time"} for r in rows] if isinstance(rows, list) else rows
            for t, rows in account.items()}


@run_async
async def test_delta_writes_exactly_the_changes_once_and_its_rollback_restores_them(env: Env,
                                                                                     vp: VisualPractice) -> None:
    await setup(env)
    assert (await load(env)).status == "completed"
    loaded = live_account(await export(env))
    mapped = dict(env.rows("select source_key, pipedrive_id from ledger.id_map where object = 'persons'"))
    # In Visual Practice: a custom property changed, a phone changed, a client added, an appointment deleted.
    now = vp.now()
    pronouns = vp.doc("clients", "100111")
    vp.store.update("clients", "100111", {"custom_properties": {**pronouns["custom_properties"], "Pronouns": "he/him"}},
                    now)
    vp.store.update("clients", "100153", {"phones": [{"number": "613-555-0199", "label": "mobile", "primary": True}]},
                    now)
    template = vp.doc("clients", "100153")
    assert template["contacts"] == []
    vp.store.insert("clients", {**template, "id": "990001", "first_name": "Nadia", "last_name": "NOUVELLE",
                                "display_name": "NOUVELLE, Nadia", "chart_number": "009901",
                                "health_number": "NOUX00000001", "emails": [], "phones": [
                                    {"number": "613-555-0123", "label": "home", "primary": True}],
                                "created_at": now.strftime(STAMP), "updated_at": now.strftime(STAMP)})
    gone = env.rows("select source_id from pipedrive.pipedrive__activities order by natural_key limit 1")[0][0]
    vp.store.delete("appointments", gone, now)
    picked = vp.pick_up()
    assert picked["changes"]["clients"] == {"inserted": 1, "updated": 2, "deleted": 0}
    writes = await write_calls(env)

    first = await delta(env)
    assert first.status == "completed", first.notes
    assert env.rows("select kind, status from ledger.runs where run_id = ?", [first.run_id]) == [("delta", "completed")]
    created = {o["object"]: o["created"] for o in first.objects}
    persons = env.rows("select count(*) from pipedrive.pipedrive__persons")[0][0]
    assert next(o["unchanged"] for o in first.objects if o["object"] == "persons") == persons - 3
    assert created["persons"] == 1 and sum(created.values()) == 1
    assert sorted((u["source_key"], tuple(u["fields"])) for u in first.updates) == [
        ("clients:100111", ("Pronouns",)), ("clients:100153", ("phones",))]
    assert await write_calls(env) - writes == first.writes == 3  # one create + two PATCHes, nothing else
    patches = env.rows("select source_key, method, before_image from ledger.operations where run_id = ? and "
                       "method <> 'POST' order by source_key", [first.run_id])
    assert [(k, m) for k, m, _ in patches] == [("clients:100111", "PATCH"), ("clients:100153", "PATCH")]
    assert json.loads(patches[1][2]) == {"phones": [{"value": "+18738619351", "label": "mobile", "primary": True}]}
    assert [(d["object"], d["source_key"]) for d in first.deletions] == [("activities", f"appointments:{gone}")]
    assert first.deletions[0]["reason"].startswith("deleted in Visual Practice")
    after = live_account(await export(env))
    assert len(after["activities"]) == len(loaded["activities"])  # the deletion is listed, not applied
    assert person_in_pipedrive(after, mapped["clients:100153"])["phones"][0]["value"] == "+16135550199"
    new_key = env.rows("select source_key from ledger.id_map where object = 'persons' and run_id = ?",
                       [first.run_id])[0][0]
    assert new_key == "clients:990001"
    # Only the changed persons differ from the loaded account (and the new one is there).
    changed = {mapped["clients:100111"], mapped["clients:100153"]}
    old = {str(p["id"]): p for p in loaded["persons"]}
    assert {str(p["id"]) for p in after["persons"] if old.get(str(p["id"])) != p} == changed | {
        next(str(p["id"]) for p in after["persons"] if str(p["id"]) not in old)}

    # A second delta with no source change: nothing read back, nothing written.
    vp.clock.advance(3600)
    again = vp.pick_up()
    assert again["changes"] == {} and again["rebuilt"] is False  # the marts are current: no dbt build
    writes = await write_calls(env)
    second = await delta(env)
    assert second.status == "completed" and second.writes == 0 and second.updates == []
    assert await write_calls(env) == writes
    assert env.rows("select count(*) from ledger.operations where run_id = ?", [second.run_id])[0][0] == 0
    assert len(second.deletions) == 1  # still waiting for a decision

    # Rolling the first delta back restores the before-images and deletes what it created.
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            undone = await run_rollback(client, ledger, [first.run_id])
    finally:
        ledger.close()
    assert (undone.deleted, undone.restored) == (1, 2)
    assert without_update_times(live_account(await export(env))) == without_update_times(loaded)
    # The source still holds the changes: the next delta applies them again, from the restored baseline —
    # and dies as the first PATCH's answer arrives, before the ledger hears of it.
    writes = await write_calls(env)
    with pytest.raises(Crash):
        await delta(env, hooks=Hooks(after_response=crash_on_first_patch()))
    crashed = env.rows("select run_id, status from ledger.runs where kind = 'delta' order by started desc limit 1")[0]
    assert crashed[1] == "failed"
    in_doubt = env.rows("select source_key from ledger.operations where run_id = ? and method = 'PATCH' and "
                        "status = 'intent'", [crashed[0]])
    assert len(in_doubt) == 1
    resumed = await delta(env)  # resumes that run: the landed PATCH is recognised by read-back, not re-sent
    assert resumed.run_id == crashed[0] and resumed.status == "completed"
    assert await write_calls(env) - writes == 3  # the create and the two PATCHes, each once
    assert env.rows("select status from ledger.operations where op_id in (select op_id from ledger.intents "
                    "where run_id = ? and source_key = ? and method = 'PATCH')", [crashed[0], in_doubt[0][0]]) == [
        ("resolved",)]
    changed_now = live_account(await export(env))
    assert person_in_pipedrive(changed_now, mapped["clients:100153"])["phones"][0]["value"] == "+16135550199"
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            undone = await run_rollback(client, ledger, [crashed[0]])
    finally:
        ledger.close()
    assert (undone.deleted, undone.restored) == (1, 2)  # the resolved PATCH's before-image restored too
    assert without_update_times(live_account(await export(env))) == without_update_times(loaded)


class Crash(Exception):
    pass


def crash_on_first_patch() -> Callable[..., None]:
    seen = {"patches": 0}

    def after_response(info: Any, response: Any, error: Any) -> None:
        if info.method == "PATCH" and response is not None:
            seen["patches"] += 1
            if seen["patches"] == 1:
                raise Crash("killed after Pipedrive answered the update, before the ledger write")
    return after_response


@run_async
async def test_a_delta_keeps_a_pipedrive_edit_and_clears_what_the_source_emptied(
        env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`vp2pd load` records every record's field digests as it completes (no API call), so even the
    first delta knows its fields one by one: a field Visual Practice did not change keeps a Pipedrive
    user's edit, and a value Visual Practice emptied is cleared. (The source change is made in the
    mart: what the rebuild would write, without a dbt run.)"""
    await setup(env)
    with pytest.raises(DeltaRefused, match="no full load"):
        await delta(env)
    cfg = load_customer("demo").model_copy(update={"build_dir": env.warehouse.parent, "home": env.home})
    monkeypatch.setattr(commands, "map_gate", lambda cfg: "map-under-test")  # the gate has its own tests
    async with client_for(env) as client:
        data, _ = await commands.load(cfg, client_factory=lambda: _Borrowed(client))
    assert data["status"] == "completed" and any("field baselines recorded for" in n for n in data["notes"])
    mapped = env.rows("select count(*) from ledger.id_map where object not in ('custom_fields', 'pipelines', "
                      "'stages')")[0][0]
    assert env.rows("select count(*) from ledger.sent where fields is not null")[0][0] == mapped
    key = "clients:100090"
    pid = env.rows("select pipedrive_id from ledger.id_map where object = 'persons' and source_key = ?", [key])[0][0]
    async with client_for(env) as client:
        await client.update("persons", pid, {"name": "Edited in Pipedrive"})
    ledger = env.ledger()
    ledger.con.execute("update pipedrive.pipedrive__persons set Pronouns = null, Chart_Number = '000777' "
                       "where natural_key = ?", [key])
    ledger.close()
    changed = await delta(env)
    assert [(u["source_key"], u["fields"]) for u in changed.updates] == [(key, ["Chart_Number", "Pronouns"])]
    assert changed.writes == 1
    fields = dict(env.rows("select field_name, field_key from ledger.fields where object = 'person'"))
    person = person_in_pipedrive(live_account(await export(env)), pid)
    assert person["name"] == "Edited in Pipedrive"  # the user's edit stays
    assert person["_custom"].get(fields["Chart_Number"]) == "000777"
    assert person["_custom"].get(fields["Pronouns"]) in (None, "")  # cleared
    [before] = env.rows("select before_image from ledger.operations where run_id = ? and method = 'PATCH'",
                        [changed.run_id])
    assert json.loads(before[0])["custom_fields"] == {fields["Chart_Number"]: "000001", fields["Pronouns"]: "she/her"}
    page = delta_report(tmp_path / "reports", changed.as_json())  # what `vp2pd delta` writes
    assert key in page.read_text(encoding="utf-8") and (tmp_path / "reports" / f"{page.stem}.json").is_file()


"""The sample migration: a stratified slice loaded as a `sample` run, diffed field by field with
Pipedrive, then kept (the full load does not duplicate it) or rolled back (the account as before)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any, Callable

import pytest

from loaders.pipedrive import commands
from loaders.pipedrive.commands import SampleUndecided, require_sample_decided
from loaders.pipedrive.diff import diff
from loaders.pipedrive.load import Loader
from loaders.pipedrive.reports import sample_report
from loaders.pipedrive.sample import LOADED_STEPS
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env, live_account
from tests.load.helpers import client_for, decide, export, load, sample, setup
from tests.load.test_load import assert_exactly_once, mart_counts
from tests.load.test_setup_preflight_reconcile import _Borrowed
from vp2pd.config import load_customer

pytestmark = [pytest.mark.xdist_group("load"), pytest.mark.slow]


@pytest.fixture
def quirks(practice_factory: Callable[..., Path]) -> Path:
    """The quirk manifest of the practice the load fixtures build (the same cached folder)."""
    return practice_factory(clients=14, seed=11, mess=0.3) / "quirks.json"


def sampled(env: Env, keys: dict[str, set[str]], sql: str) -> set[Any]:
    """Values of `sql` (over the marts, a `key` column) for the sampled rows."""
    wanted = {k for ks in keys.values() for k in ks}
    return {v for key, v in env.rows(sql) if key in wanted}


async def rediff(env: Env, keys: dict[str, set[str]]) -> list[Any]:
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            loader = Loader(client, ledger, env.home, currency="CAD")
            await loader.prepare()
            return await diff(client, loader, keys)
    finally:
        ledger.close()


@run_async
async def test_sample_covers_every_stratum_and_its_diff_finds_planted_mismatches(env: Env, quirks: Path,
                                                                                 tmp_path: Path) -> None:
    import json

    await setup(env)
    result = await sample(env, 100, quirks)
    keys, run_id = result.selection.keys, result.run_id
    assert result.status == "completed" and result.selection.size == 100
    assert env.rows("select kind from ledger.runs where run_id = ?", [run_id]) == [("sample",)]
    landed = env.rows("select count(*) from ledger.id_map where run_id = ?", [run_id])[0][0]
    rejected = env.rows("select count(*) from ledger.operations where run_id = ? and status = 'rejected'",
                        [run_id])[0][0]
    assert landed + rejected == 100 and landed > 90
    # Every object the load writes, every location, invoice status, service-record status and month.
    assert [o for o, n in mart_counts(env).items() if n and not keys[o]] == []
    locations = "select natural_key, Location from pipedrive.pipedrive__persons where Location is not null " \
                "union all select natural_key, coalesce(json_extract_string(to_json(location), '$.value'), " \
                "cast(location as varchar)) from pipedrive.pipedrive__activities"  # text, or v2's {value}
    assert sampled(env, keys, locations) == {v for _, v in env.rows(locations)}
    invoices = ("select n.natural_key, i.status from pipedrive.pipedrive__notes n join raw_visual_practice.invoices i "
                "on n.source_collection = 'invoices' and i.id = n.source_id")
    statuses = {v for _, v in env.rows(invoices)}
    assert sampled(env, keys, invoices) == statuses and len(statuses) >= 3
    services = ("select m.natural_key, s.status from (select natural_key, unnest(folded_sources) as f from "
                "pipedrive.pipedrive__persons union all select natural_key, unnest(folded_sources) from "
                "pipedrive.pipedrive__deal_products) m join raw_visual_practice.service_records s "
                "on m.f.source_collection = 'service_records' and s.id = m.f.source_id")
    assert sampled(env, keys, services) == {v for _, v in env.rows(services)} and len(sampled(env, keys, services)) >= 2
    # The appointment's own start (the practice's calendar), up to the extraction's moment: a future
    # booking later on the extraction's day is not "in the last 12 months" (nor a UTC due date).
    extracted = env.rows("select max(started_at) from raw_visual_practice._runs")[0][0]
    first = date(extracted.year - (extracted.month <= 11), (extracted.month - 12) % 12 + 1, 1)
    months = ("select a.natural_key, strftime(r.starts_at, '%Y-%m') from pipedrive.pipedrive__activities a "
              "join raw_visual_practice.appointments r on a.source_collection = 'appointments' and r.id = a.source_id "
              f"where r.starts_at >= '{first}' and r.starts_at <= '{extracted}'")
    assert sampled(env, keys, months) == {v for _, v in env.rows(months)} and len(sampled(env, keys, months)) >= 10
    # Every quirk of the manifest whose record migrates has a sampled record.
    manifest = json.loads(quirks.read_text(encoding="utf-8"))["records"]
    index: dict[tuple[str, str], set[str]] = {}  # a split note is several rows of one source record
    for k, c, i in env.rows(
        "select natural_key, source_collection, source_id from pipedrive.pipedrive__persons union all "
        "select natural_key, source_collection, source_id from pipedrive.pipedrive__activities union all "
        "select natural_key, source_collection, source_id from pipedrive.pipedrive__notes union all "
        "select natural_key, source_collection, source_id from pipedrive.pipedrive__files"):
        index.setdefault((c, i), set()).add(k)
    everything = {k for ks in keys.values() for k in ks}
    migrating = {kind: set().union(*(index.get((r["collection"], r["id"]), set()) for r in recs))
                 for kind, recs in manifest.items()}
    assert sum(1 for m in migrating.values() if m) >= 15
    assert [kind for kind, m in migrating.items() if m and not m & everything] == []
    # The sample is closed under references: a sampled deal's person and organization are sampled too.
    for step in LOADED_STEPS:
        cols = {c for (c,) in env.rows("select column_name from information_schema.columns where table_schema = "
                                       "'pipedrive' and table_name = ?", [step.mart])}
        for column, obj in (("person_key", "persons"), ("org_key", "organizations"), ("deal_key", "deals")):
            if column in cols:
                refs = sampled(env, {step.name: keys[step.name]},
                               f"select natural_key, {column} from pipedrive.{step.mart} where {column} is not null")
                assert refs <= keys[obj], (step.name, column)
    # The diff: every sampled field compared, all equal after the load.
    assert result.diff and all(r.match for r in result.diff), [r for r in result.diff if not r.match][:3]
    assert {r.object for r in result.diff} >= {"persons", "organizations", "deals", "activities", "notes", "files"}
    # Plant two mismatches: a person renamed in Pipedrive, a note's content altered in the mart.
    person = sorted(keys["persons"])[0]
    person_id = env.rows("select pipedrive_id from ledger.id_map where object = 'persons' and source_key = ?",
                         [person])[0][0]
    planted = '=HYPERLINK("http://x.example","y")<b>bold</b>'
    async with client_for(env) as client:
        await client.update("persons", person_id, {"name": planted})
    note = sorted(keys["notes"])[0]
    ledger = env.ledger()
    ledger.con.execute("update pipedrive.pipedrive__notes set content = 'altered in the mart' where natural_key = ?",
                       [note])
    ledger.close()
    rows = await rediff(env, keys)
    bad = [(r.object, r.source_id, r.field, r.expected, r.actual) for r in rows if not r.match]
    assert len(bad) == 2, bad
    assert ("persons", person, "name", env.rows("select name from pipedrive.pipedrive__persons where natural_key = ?",
                                                [person])[0][0], planted) in bad
    assert [b[:4] for b in bad if b[0] == "notes"] == [("notes", note, "content", "altered in the mart")]
    # The reviewer's report: CSV neutralised against formula injection, HTML escaped.
    data = {**result.as_json(), "diff": [vars(r) for r in rows], "mismatches": 2}
    page, csv_path = sample_report(tmp_path / "reports", data)
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows)
    renamed = [r for r in table if r["source_id"] == person and r["field"] == "name"]
    assert renamed[0]["actual"] == "'" + planted and renamed[0]["match"] == "NO"
    assert not any(v.startswith(("=", "+", "@")) for r in table for v in r.values())
    html = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html


@run_async
async def test_a_kept_sample_is_not_duplicated_by_the_full_load(env: Env, quirks: Path) -> None:
    await setup(env)
    result = await sample(env, 120, quirks)
    landed = env.rows("select count(*) from ledger.id_map where run_id = ?", [result.run_id])[0][0]
    ledger = env.ledger()
    with pytest.raises(SampleUndecided, match=result.run_id):
        require_sample_decided(ledger)  # what `vp2pd load` checks before a full load
    ledger.close()
    made = await decide(env, "keep")
    assert made == {"run_id": result.run_id, "decision": "keep", "rollback": None}
    full = await load(env)
    assert full.status == "completed"
    assert sum(c.created for c in full.counts.values()) == sum(mart_counts(env).values()) - landed
    assert sum(c.already for c in full.counts.values()) == landed
    await assert_exactly_once(env)


@run_async
async def test_a_rolled_back_sample_leaves_the_account_as_before(env: Env, quirks: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the commands the CLI calls: the sample's reports, the gate on a second sample and on
    the full load while the decision is pending, then the rollback decision."""
    await setup(env)
    before = live_account(await export(env))
    cfg = load_customer("demo").model_copy(update={"build_dir": env.warehouse.parent, "home": env.home})
    assert cfg.warehouse_path == env.warehouse
    monkeypatch.setattr(commands, "map_gate", lambda cfg: "map-under-test")  # the gate has its own tests
    async with client_for(env) as client:
        lend = lambda: _Borrowed(client)  # noqa: E731
        data, page, csv_path = await commands.sample(cfg, 100, quirks=quirks, client_factory=lend)
        assert data["decision"] is None and data["mismatches"] == 0 and data["selection"]["size"] == 100
        with csv_path.open(encoding="utf-8-sig", newline="") as f:
            assert page.parent == cfg.reports_dir and len(list(csv.DictReader(f))) == len(data["diff"])
        assert live_account(await export(env)) != before
        with pytest.raises(SampleUndecided, match=data["run_id"]):
            await commands.load(cfg, client_factory=lend)
        with pytest.raises(SampleUndecided):
            await commands.sample(cfg, 100, client_factory=lend)
        made = await commands.sample_decision(cfg, "rollback", client_factory=lend)
    not_loaded = sum(1 for r in data["diff"] if r["field"] == "(record)")
    assert made["rollback"]["deleted"] + made["rollback"]["already_gone"] == 100 - not_loaded
    assert live_account(await export(env)) == before
    assert env.rows("select count(*) from ledger.id_map where run_id = ?", [data["run_id"]])[0][0] == 0
    assert env.rows("select decision from ledger.sample_decisions") == [("rollback",)]
    ledger = env.ledger()
    require_sample_decided(ledger)  # decided: a full load may go
    ledger.close()

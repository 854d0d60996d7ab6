"""Projects end to end: an enterprise practice's custom objects through setup (one board per object
type, its phases), the load (each record a project exactly once, linked to its migrated persons and
organizations, its properties as project fields), reconciliation and rollback, on the in-process
sandbox through the contract validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from loaders.pipedrive.setup import run_setup
from tests.contract.pipedrive_sandbox import run_async
from tests.load.conftest import Env, make_env
from tests.load.helpers import client_for, export, load
from tests.loaders.sandbox_client import admin
from tests.transform.conftest import KEY, _build

from loaders.pipedrive.reconcile import run_reconcile
from loaders.pipedrive.rollback import run_rollback


@pytest.fixture(scope="module")
def enterprise_warehouse(practice_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    os.environ.setdefault("VP_API_KEY", KEY)
    practice = practice_factory(clients=16, seed=23, plan="enterprise", mess=0.3)
    return _build(tmp_path_factory.mktemp("projects"), practice, "api").cfg.warehouse_path


@pytest.fixture
def penv(enterprise_warehouse: Path, tmp_path: Path) -> Env:
    return make_env(enterprise_warehouse, tmp_path, "project_phases: [Migrated, Reviewed]\n")


async def _setup(env: Env) -> Any:
    ledger = env.ledger()
    try:
        async with client_for(env) as client:
            return await run_setup(client, ledger, env.home / "pipeline.yml")
    finally:
        ledger.close()


def _live(export_: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [r for r in export_[table] if not r.get("is_deleted")]


@run_async
async def test_projects_load_once_with_boards_links_and_fields_reconcile_and_roll_back(penv: Env) -> None:
    marts = penv.rows("select natural_key, board_name, title, person_keys, org_keys, project_fields, source_id "
                      "from pipedrive.pipedrive__projects order by natural_key")
    assert len(marts) >= 3, "the enterprise practice should carry custom-object records"
    boards_wanted = sorted({m[1] for m in marts})

    first = await _setup(penv)
    assert sorted(first.boards) == boards_wanted
    again = await _setup(penv)  # idempotent: same boards and phases, nothing created twice
    assert again.boards == first.boards
    state = await export(penv)
    assert sorted(b["name"] for b in _live(state, "boards")) == boards_wanted
    assert len(_live(state, "phases")) == 2 * len(boards_wanted)
    assert penv.rows("select count(*) from ledger.operations where object in ('boards', 'phases') "
                     "and status = 'done'")[0][0] == 3 * len(boards_wanted)

    result = await load(penv)
    assert result.status == "completed", result.notes
    assert not any(n.startswith("projects:") for n in result.notes), result.notes
    assert result.counts["projects"].created == len(marts) and result.counts["projects"].rejected == 0

    state = await export(penv)
    projects = {p["id"]: p for p in _live(state, "projects")}
    assert len(projects) == len(marts)  # exactly once
    id_map = dict(penv.rows("select source_key, pipedrive_id from ledger.id_map where object = 'projects'"))
    persons = dict(penv.rows("select source_key, pipedrive_id from ledger.id_map where object = 'persons'"))
    orgs = dict(penv.rows("select source_key, pipedrive_id from ledger.id_map where object = 'organizations'"))
    fields = {f["field_name"]: f["field_code"] for f in state["fields"]["project"] if f.get("is_custom_field")}
    linked = 0
    for key, board, title, person_keys, org_keys, values, source_id in marts:
        project = projects[int(id_map[key])]
        assert project["title"] == title and project["status"] == "open"
        assert project["board_id"] == first.boards[board]["id"]
        assert project["phase_id"] == first.boards[board]["phases"]["Migrated"]  # the first phase
        assert project["person_ids"] == sorted(int(persons[k]) for k in person_keys)
        assert project["org_ids"] == sorted(int(orgs[k]) for k in org_keys)
        assert f" {source_id} " in project["description"]
        linked += bool(person_keys)
        for name, value in json.loads(values).items():
            if value not in (None, "") and name in fields:
                assert project["_custom"].get(fields[name]) is not None, (key, name)
    assert linked, "some projects must link persons"

    ledger = penv.ledger()
    try:
        async with client_for(penv) as client:
            report = await run_reconcile(client, ledger, penv.home, currency="CAD")
    finally:
        ledger.close()
    row = next(o for o in report.objects if o["object"] == "projects")
    assert (row["migrated"], row["in_pipedrive"], row["missing_in_pipedrive"]) == (len(marts), len(marts), 0)
    assert report.mismatches == [] and report.ok, report.as_json()

    ledger = penv.ledger()
    try:
        async with client_for(penv) as client:
            undone = await run_rollback(client, ledger, None)
    finally:
        ledger.close()
    assert undone.deleted >= len(marts) + 3 * len(boards_wanted)
    state = await export(penv)
    assert _live(state, "projects") == [] and _live(state, "boards") == [] and _live(state, "phases") == []
    assert all(p["status"] == "deleted" for p in state["projects"])
    tokens = await admin(penv.app, "tokens")
    assert tokens["by_operation"]["v2 addProject"]["calls"] == len(marts)  # no retry made a second one


@run_async
async def test_a_project_whose_answer_was_lost_is_found_by_read_back_not_created_twice(
        penv: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.load.helpers as helpers

    marts = penv.rows("select count(*) from pipedrive.pipedrive__projects")[0][0]
    await _setup(penv)
    # Pipedrive applies every second project create, and its answer is lost on the way back.
    monkeypatch.setattr(helpers, "CREATE_PATHS", ("/api/v2/projects",))
    result = await load(penv, lose_every=2)
    assert result.status == "completed", result.notes
    count = result.counts["projects"]
    assert count.resolved == marts // 2 and count.created == marts - marts // 2 and count.abandoned == 0
    assert len(_live(await export(penv), "projects")) == marts
    assert (await admin(penv.app, "tokens"))["by_operation"]["v2 addProject"]["calls"] == marts  # none re-sent
    assert penv.rows("select count(*) from ledger.id_map where object = 'projects'")[0][0] == marts

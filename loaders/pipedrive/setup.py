"""`vp2pd setup`: the account's schema for the load, idempotently.

Custom fields from `pipedrive.pipedrive__custom_fields` are reused by name and type or created
(a same-name field of another type is a `FieldError`); missing pick-list options are added in one
bulk call per field; the pipeline and stages of `customers/<slug>/pipeline.yml` are reused by name
or created; one project board per custom-object type (the mart's `board_name`, which is what a
user browsing Projects expects: care plans and equipment loans on separate boards) with the phases
of the worksheet's `project_phases:` (default: one phase, "Migrated"), reused by name or created.
Every creation is an intent first (ledger), so rollback can remove exactly what setup
made and a crash mid-setup is resolved on rerun by name. Field keys and option ids are recorded in
`ledger.fields`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vp2pd import pipedrive_contract as contract

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.fields import FieldCatalogue, normalise_name
from loaders.pipedrive.ledger import ABANDONED, RESOLVED, Intent, Ledger
from loaders.pipedrive.settings import FIELDS_PATHS, WRITABLE_FIELDS
from loaders.pipedrive.sequence import DEFAULT_PROJECT_PHASES, STEPS

ENTITY_OBJECT = {s.entity: s.obj for s in STEPS if s.entity} | {"activity": "activities"}


@dataclass
class SetupResult:
    run_id: str
    created_fields: list[str] = field(default_factory=list)
    reused_fields: list[str] = field(default_factory=list)
    added_options: list[str] = field(default_factory=list)
    not_writable: list[str] = field(default_factory=list)  # activity fields: API v2 cannot set them
    unsupported: list[str] = field(default_factory=list)  # a type Pipedrive has not (the mart's to fix)
    pipeline: dict[str, Any] = field(default_factory=dict)
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {id, phases: {name: id}}


@functools.cache
def field_types() -> frozenset[str]:
    """The custom-field types Pipedrive accepts (the spec's `field_type` enum of addPersonField)."""
    op = contract.operation_for("POST", "/api/v2/personFields")
    assert op is not None
    schema = contract.operation_spec(op)["requestBody"]["content"]["application/json"]["schema"]
    return frozenset(schema["properties"]["field_type"]["enum"])


def read_pipeline(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not data or not data.get("pipeline") or not data.get("stages"):
        raise ValueError(f"{path}: a pipeline worksheet needs `pipeline:` and `stages:`")
    return data


async def _created(ledger: Ledger, run_id: str, obj: str, key: str, method: str, endpoint: str,
                   make: Any) -> Any:
    """Create through `make()` with an intent recorded first; returns what it returned."""
    intent = ledger.intent(run_id, obj, key, method, endpoint, {"key": key})
    made = await make()
    ledger.landed(intent, run_id, made["id"] if isinstance(made, dict) else made)
    return made


def _resolve_setup_doubts(ledger: Ledger, existing: dict[tuple[str, str], str]) -> None:
    """Setup intents of a crashed run: the thing exists by name now -> it was ours."""
    for obj in ("custom_fields", "pipelines", "stages", "boards", "phases"):
        for op in ledger.in_doubt(obj):
            pid = existing.get((obj, op["source_key"]))
            intent = Intent(op["op_id"], obj, op["source_key"], None)
            if pid is not None:
                ledger.landed(intent, op["run_id"], pid, status=RESOLVED, http_status=None)
            else:
                ledger.settle(op["op_id"], ABANDONED)


def _has_projects(ledger: Ledger) -> bool:
    return bool(ledger.rows("select count(*) as n from information_schema.tables where table_schema = 'pipedrive' "
                            "and table_name = 'pipedrive__projects'")[0]["n"])


@dataclass
class Account:
    """What setup needs to know of the account and the marts, read once (list reads only)."""

    wanted: list[dict[str, Any]]  # rows of pipedrive__custom_fields
    catalogues: dict[str, FieldCatalogue]
    worksheet: dict[str, Any]
    pipelines: dict[str, int]
    stages: dict[tuple[int, str], int]
    board_names: list[str]
    boards: dict[str, int]
    phases: dict[tuple[int, str], int]

    def existing(self) -> dict[tuple[str, str], str]:
        """(ledger object, setup key) -> Pipedrive id of everything setup could have made."""
        found = {("custom_fields", f"{e}:{f.name}"): f.key for e, c in self.catalogues.items() for f in c.fields.values()}
        found |= {("pipelines", n): str(i) for n, i in self.pipelines.items()}
        found |= {("stages", f"{p}:{n}"): str(i) for (p, n), i in self.stages.items()}
        found |= {("boards", n): str(i) for n, i in self.boards.items()}
        return found | {("phases", f"{b}:{n}"): str(i) for (b, n), i in self.phases.items()}

    def field_action(self, entity: str, name: str, kind: str) -> str:
        """What setup does with a wanted custom field: `unsupported` (a type Pipedrive has not),
        `not_writable` (the API cannot create it), `create`, `conflict` (same name, another type:
        setup stops there) or `reuse`. One rule for the plan and for setup itself."""
        f = self.catalogues[entity].fields.get(normalise_name(name))
        if f is None and kind not in field_types():
            return "unsupported"
        if f is None:
            return "not_writable" if ENTITY_OBJECT[entity] not in WRITABLE_FIELDS else "create"
        return "conflict" if f.field_type != kind else "reuse"

    @property
    def phase_names(self) -> list[str]:
        return list(self.worksheet.get("project_phases") or DEFAULT_PROJECT_PHASES)


async def read_account(client: PipedriveClient, ledger: Ledger, pipeline_path: Path) -> Account:
    wanted = ledger.rows("select object, field_name, field_type, options from pipedrive.pipedrive__custom_fields "
                         "order by object, field_name")
    catalogues: dict[str, FieldCatalogue] = {}
    for entity in sorted({w["object"] for w in wanted}):
        catalogues[entity] = await FieldCatalogue(client, ENTITY_OBJECT[entity]).load()
    worksheet = read_pipeline(pipeline_path)
    pipelines = {p["name"]: int(p["id"]) async for p in client.list("pipelines")}
    stages = {(s["pipeline_id"], s["name"]): int(s["id"]) async for s in client.list("stages")}
    board_names = [r["board_name"] for r in ledger.rows(
        "select distinct board_name from pipedrive.pipedrive__projects order by 1")] if _has_projects(ledger) else []
    boards: dict[str, int] = {}
    phases: dict[tuple[int, str], int] = {}
    if board_names:  # no custom objects, no board read (10 tokens a list)
        boards = {b["name"]: int(b["id"]) async for b in client.list("boards")}
        for bid in boards.values():
            phases |= {(bid, p["name"]): int(p["id"]) async for p in client.list("phases", board_id=bid)}
    return Account(wanted, catalogues, worksheet, pipelines, stages, board_names, boards, phases)


@dataclass
class SchemaPlan:
    """What `vp2pd setup` would do to the account, read-only (pre-flight shows it before any write)."""

    create_fields: list[str] = field(default_factory=list)
    reuse_fields: list[str] = field(default_factory=list)
    add_options: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # same name, another type: setup would stop
    not_writable: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    create: list[str] = field(default_factory=list)  # pipeline, stages, boards, phases ("stage Completed")

    def as_json(self) -> dict[str, Any]:
        return vars(self).copy()


def plan_setup(account: Account) -> SchemaPlan:
    """The schema plan: each custom field created, reused (with the options it lacks) or in conflict;
    the pipeline, stages, project boards and phases to create."""
    plan = SchemaPlan()
    for w in account.wanted:
        entity, name, kind, labels = w["object"], w["field_name"], w["field_type"], list(w["options"] or [])
        label, action = f"{entity}.{name}", account.field_action(entity, name, kind)
        f = account.catalogues[entity].fields.get(normalise_name(name))
        if action == "unsupported":
            plan.unsupported.append(f"{label} ({kind})")
        elif action == "not_writable":
            plan.not_writable.append(label)
        elif action == "create":
            plan.create_fields.append(f"{label} ({kind}{', ' + str(len(labels)) + ' options' if labels else ''})")
        elif action == "conflict" and f is not None:
            plan.conflicts.append(f"{label}: exists as {f.field_type}, the map wants {kind}; rename one of them")
        elif f is not None:
            plan.reuse_fields.append(label)
            plan.add_options += [f"{label}={o}" for o in dict.fromkeys(labels) if normalise_name(o) not in f.options]
    name = account.worksheet["pipeline"]
    pid = account.pipelines.get(name)
    if pid is None:
        plan.create.append(f"pipeline {name}")
    plan.create += [f"stage {s}" for s in account.worksheet["stages"] if pid is None or (pid, s) not in account.stages]
    for board in account.board_names:
        bid = account.boards.get(board)
        if bid is None:
            plan.create.append(f"project board {board}")
        plan.create += [f"phase {board}/{p}" for p in account.phase_names
                        if bid is None or (bid, p) not in account.phases]
    return plan


async def run_setup(client: PipedriveClient, ledger: Ledger, pipeline_path: Path) -> SetupResult:
    run_id = ledger.start_run("setup")
    result = SetupResult(run_id)
    account = await read_account(client, ledger, pipeline_path)
    wanted, catalogues, worksheet = account.wanted, account.catalogues, account.worksheet
    pipelines, stages, board_names = account.pipelines, account.stages, account.board_names
    boards, phases = account.boards, account.phases
    _resolve_setup_doubts(ledger, account.existing())

    for w in wanted:
        entity, name, kind, labels = w["object"], w["field_name"], w["field_type"], list(w["options"] or [])
        catalogue, label = catalogues[entity], f"{entity}.{name}"
        action = account.field_action(entity, name, kind)
        if action == "unsupported":
            result.unsupported.append(f"{label} ({kind}: Pipedrive's types are {', '.join(sorted(field_types()))})")
            continue
        if action == "not_writable":
            result.not_writable.append(label)
            continue
        if action == "create":
            endpoint = f"/api/v2{FIELDS_PATHS[catalogue.obj]}"

            async def make() -> dict[str, Any]:
                made = await catalogue.ensure_field(name, kind, labels)
                return {"id": made.key}
            await _created(ledger, run_id, "custom_fields", f"{entity}:{name}", "POST", endpoint, make)
            result.created_fields.append(label)
        else:
            before = len(catalogue.created_options)
            await catalogue.ensure_field(name, kind, labels)  # a conflict raises FieldError; else bulk options
            result.reused_fields.append(label)
            result.added_options += [f"{label}={o}" for _, o in catalogue.created_options[before:]]
        made = catalogue.field(name)
        ledger.record_field(entity, name, made.key, made.field_type, {made.labels[i]: i for i in made.labels})

    name = worksheet["pipeline"]
    if name not in pipelines:
        made = await _created(ledger, run_id, "pipelines", name, "POST", client.path("pipelines"),
                              lambda: client.create("pipelines", {"name": name}))
        pipelines[name] = int(made["id"])
    pid = pipelines[name]
    for stage in worksheet["stages"]:
        if (pid, stage) not in stages:
            made = await _created(ledger, run_id, "stages", f"{pid}:{stage}", "POST", client.path("stages"),
                                  lambda s=stage: client.create("stages", {"name": s, "pipeline_id": pid}))
            stages[(pid, stage)] = int(made["id"])
    result.pipeline = {"name": name, "id": pid, "stages": {s: stages[(pid, s)] for s in worksheet["stages"]}}
    phase_names = account.phase_names
    for board in board_names:
        if board not in boards:
            made = await _created(ledger, run_id, "boards", board, "POST", client.path("boards"),
                                  lambda b=board: client.create("boards", {"name": b}))
            boards[board] = int(made["id"])
        bid = boards[board]
        for phase in phase_names:
            if (bid, phase) not in phases:
                made = await _created(ledger, run_id, "phases", f"{bid}:{phase}", "POST", client.path("phases"),
                                      lambda p=phase: client.create("phases", {"name": p, "board_id": bid}))
                phases[(bid, phase)] = int(made["id"])
        result.boards[board] = {"id": bid, "phases": {p: phases[(bid, p)] for p in phase_names}}
    ledger.finish_run(run_id, "completed", {"created_fields": len(result.created_fields),
                                            "reused_fields": len(result.reused_fields),
                                            "added_options": len(result.added_options),
                                            "boards": len(result.boards),
                                            "not_writable": result.not_writable,
                                            "unsupported": result.unsupported})
    return result

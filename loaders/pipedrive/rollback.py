"""`vp2pd rollback --run ID | --all [--dry-run]`: undo what the ledger says a run created.

Only operations the ledger recorded as landed creates (`done`, `resolved`) are undone, in reverse
dependency order (projects first, notes before persons, persons before organizations; setup's
project phases and boards, stages, pipelines and custom fields last), newest first. Each delete is itself an intent in a `rollback` run; the undone
create is marked `rolled_back` and leaves id_map. Resumable: a rerun only sees what is not yet
rolled back, and a delete answered 404/410 (already gone, e.g. deleted before a crash) counts as done.
Updates (a delta's PATCH of the changed fields) carry a before-image, the same fields as Pipedrive
held them; restoring it (the same method and path) is the rollback of an update, and the delta's
baseline (ledger.baselines) falls back to what was restored, so the next delta re-applies the change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.errors import PipedriveError
from loaders.pipedrive.ledger import LANDED, ROLLED_BACK, Intent, Ledger, Outcome
from loaders.pipedrive.sequence import STEPS
from loaders.pipedrive.settings import FIELDS_PATHS

# Setup's objects after every record: a board goes after its phases, a phase after its projects
# (Pipedrive refuses to delete a board or phase that still holds them).
ORDER = [s.name for s in reversed(STEPS)] + ["phases", "boards", "stages", "pipelines", "custom_fields"]
ENTITY_OBJECT = {"person": "persons", "organization": "organizations", "deal": "deals", "product": "products",
                 "project": "projects"}
GONE = (404, 410)
DELETED = "deleted"  # a rollback op that landed (not LANDED: it must never enter id_map)


@dataclass
class RollbackResult:
    run_id: str | None
    planned: list[dict[str, Any]] = field(default_factory=list)
    deleted: int = 0
    already_gone: int = 0
    restored: int = 0


def targets(ledger: Ledger, run_ids: list[str] | None) -> list[dict[str, Any]]:
    where = "" if run_ids is None else f"and o.run_id in ({', '.join('?' for _ in run_ids)})"
    ops = ledger.rows("select o.*, r.kind from ledger.operations o join ledger.runs r using (run_id) "
                      f"where r.kind in ('load', 'sample', 'setup', 'delta') "
                      f"and o.status in ({', '.join('?' for _ in LANDED)}) "
                      f"and o.method in ('POST', 'PATCH', 'PUT') {where} order by o.created desc",
                      [*LANDED, *(run_ids or [])])
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(ops, key=lambda o: rank.get(o["object"], -1))  # stable: newest first within an object


def delete_path(client: PipedriveClient, op: dict[str, Any]) -> str:
    obj, pid = op["object"], op["pipedrive_id"]
    if obj == "deal_products":
        return f"/api/v2/deals/{op['parent_id']}/products/{pid}"
    if obj == "custom_fields":
        entity = str(op["source_key"]).split(":", 1)[0]
        return f"/api/v2{FIELDS_PATHS[ENTITY_OBJECT[entity]]}/{pid}"
    routed = {"organization_relationships": "organizationRelationships"}.get(obj, obj)
    return client.path(routed, f"/{pid}")


async def run_rollback(client: PipedriveClient, ledger: Ledger, run_ids: list[str] | None, *,
                       dry_run: bool = False) -> RollbackResult:
    ops = targets(ledger, run_ids)
    if dry_run:
        return RollbackResult(None, [{"object": o["object"], "source_key": o["source_key"], "method": "DELETE"
                                      if o["method"] == "POST" else "RESTORE", "pipedrive_id": o["pipedrive_id"],
                                      "run_id": o["run_id"]} for o in ops])
    result = RollbackResult(ledger.start_run("rollback", options={"runs": run_ids or "all"}))
    for op in ops:
        if op["method"] == "POST":
            path = delete_path(client, op)
            intent = ledger.intent(result.run_id, op["object"], op["source_key"], "DELETE", path, None,
                                   pipedrive_id=op["pipedrive_id"])
            try:
                await client.request("DELETE", path)
                result.deleted += 1
            except PipedriveError as exc:
                if exc.status not in GONE:
                    ledger.finish_run(result.run_id, "failed", vars_of(result), str(exc))
                    raise
                result.already_gone += 1
        else:  # an update: put the before-image back
            before = json.loads(op["before_image"] or "{}")
            intent = ledger.intent(result.run_id, op["object"], op["source_key"], op["method"], op["endpoint"], before,
                                   pipedrive_id=op["pipedrive_id"])
            # The update's own method and path (a deal product's, a v1 note's PUT) with the fields it changed.
            await client.request(op["method"], op["endpoint"], json=before)
            result.restored += 1
        undo(ledger, intent, op)
    ledger.finish_run(result.run_id, "completed", vars_of(result))
    return result


def undo(ledger: Ledger, intent: Intent, op: dict[str, Any]) -> None:
    """The delete landed: the rollback op done, the create rolled back, id_map forgets it (one transaction)."""
    original = Intent(op["op_id"], op["object"], op["source_key"], op["parent_id"], op["method"])
    forget = [(op["object"], op["source_key"], op["pipedrive_id"])] if op["method"] == "POST" else []
    ledger.outcomes(intent.op_id, [Outcome(intent, DELETED, op["pipedrive_id"]), Outcome(original, ROLLED_BACK)],
                    forget=forget)


def vars_of(result: RollbackResult) -> dict[str, Any]:
    return {"deleted": result.deleted, "already_gone": result.already_gone, "restored": result.restored}

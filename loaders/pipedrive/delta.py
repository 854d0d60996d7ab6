"""`vp2pd delta`: pick up what changed in Visual Practice after the load, as a ledger run of kind `delta`.

1. Re-extract incrementally (the extractors' watermarks) and rebuild the marts (`extract_and_transform`,
   with the warehouse closed: dbt runs in a child process).
2. Creates: the sequenced, exactly-once loader (`Loader(kind="delta")`) creates every mart row with
   no id_map row — the new records — and resolves in-doubt creates first, as a full load does.
3. Updates: a mapped row whose body digest differs from the baseline (`Ledger.baselines`: the
   digest of the last body Pipedrive was given, by the create or an earlier delta) changed in the
   source. Only those records are read back (list reads), and only the fields that changed and
   differ from what Pipedrive holds are PATCHed (PUT for v1 objects), with the values Pipedrive held
   as the before-image in the ledger — so `vp2pd rollback --run <delta>` restores them. A row whose
   body is unchanged is never read nor written: a second delta with no source change writes nothing,
   and a Pipedrive user's edit of a record that did not change in Visual Practice is left alone.
   Per-field digests (`ledger.sent`) are kept from a record's first delta on, so from then a field
   Visual Practice did not change keeps a user's edit even on a changed record, and a value emptied
   in Visual Practice is cleared (null). A create records only its whole-body digest (load.py),
   so the first delta to see a changed record compares every field with Pipedrive instead.
4. Deletions in Visual Practice (mapped rows gone from the marts) are listed for a decision, not
   applied; so are changes Pipedrive cannot take as a PATCH (a file's content or links).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loaders.pipedrive import readback
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.errors import PipedriveError
from loaders.pipedrive.ledger import ABANDONED, DONE, REJECTED, RESOLVED, Intent, Ledger, Outcome, digest
from loaders.pipedrive.load import Loader
from loaders.pipedrive.reconcile import WRITE_ONLY, canonical, flatten, project, record_value
from loaders.pipedrive.rows import MissingReference, read_mart, request_properties
from loaders.pipedrive.sequence import STEPS, Step
from loaders.pipedrive.settings import OBJECTS, V2_PAGE_LIMIT

BATCH = 100  # updates per group commit, as the loader's creates
IDS_PER_LIST = 100  # a v2 list takes up to 100 `ids`
PATH_FIELDS = {"deal_products": frozenset({"deal_id"})}  # in the path, not the body
EMPTY = (None, "", [], {})


class DeltaRefused(ValueError):
    """A delta asked for before the full load completed."""


@dataclass
class DeltaResult:
    run_id: str
    status: str = "running"
    objects: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    deletions: list[dict[str, Any]] = field(default_factory=list)
    unpatchable: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extraction: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> int:
        return sum(o["created"] + o["updated"] for o in self.objects)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "writes": self.writes, "objects": self.objects,
                "updates": self.updates, "deletions": self.deletions, "unpatchable": self.unpatchable,
                "rejections": self.rejections, "notes": self.notes, "extraction": self.extraction}


def extract_and_transform(cfg: Any, *, exclude: str | None = None, **extract: Any) -> dict[str, Any]:
    """Incremental extraction, then the marts rebuilt; what the extraction saw change per collection."""
    from extractors.visual_practice.run import run_extraction
    from vp2pd.transform import TransformFailed, run_transform

    extracted = run_extraction(cfg, incremental=True, **extract)
    changes = {r.collection: {"inserted": r.counts.inserted, "updated": r.counts.updated, "deleted": r.deleted}
               for r in extracted.reports if r.counts.inserted or r.counts.updated or r.deleted}
    if not changes and marts_current(cfg):  # nothing new since the marts were built: dbt would rebuild the same
        return {"extraction_run": extracted.run_id, "changes": changes, "rebuilt": False}
    built = run_transform(cfg, exclude=exclude)
    if not built.success:
        raise TransformFailed("dbt build failed after the incremental extraction:\n" + "\n".join(built.failures))
    return {"extraction_run": extracted.run_id, "changes": changes, "rebuilt": True}


def marts_current(cfg: Any) -> bool:
    """The marts were built (from the map now confirmed) after the last extraction that changed a row."""
    import json
    from datetime import datetime

    from vp2pd.mapping.gate import built_path
    from vp2pd.warehouse import connect

    path = built_path(cfg)
    if not path.is_file():
        return False
    built_at = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["built_at"])
    con = connect(cfg.warehouse_path, read_only=True)
    try:
        last = con.execute("select max(r.finished_at) from raw_visual_practice._runs r join "
                           "raw_visual_practice._extract_report e using (run_id) where coalesce(e.inserted, 0) "
                           "+ coalesce(e.updated, 0) + coalesce(e.deleted, 0) > 0").fetchone()[0]
    finally:
        con.close()
    return last is None or built_at.replace(tzinfo=None) > last  # both UTC (the raw layer's are naive)


def update_route(client: PipedriveClient, step: Step, pid: str, body: dict[str, Any]) -> tuple[str, str]:
    """(method, path) of the update of one record: v2 PATCHes, v1 PUTs."""
    if step.name == "deal_products":
        return "PATCH", f"/api/v2/deals/{body['deal_id']}/products/{pid}"
    return ("PATCH" if OBJECTS[step.obj][0] == "v2" else "PUT"), client.path(step.obj, f"/{pid}")


def flat_body(step: Step, body: dict[str, Any]) -> dict[str, Any]:
    """The body as compared and patched: custom fields as `cf:<key>`, without write-only and path fields."""
    return {k: v for k, v in flatten(body).items()
            if k not in WRITE_ONLY.get(step.name, ()) and k not in PATH_FIELDS.get(step.name, ())}


def field_digests(step: Step, body: dict[str, Any]) -> dict[str, str]:
    return {k: digest(v) for k, v in flat_body(step, body).items()}


def record_field_baselines(loader: Loader, run_id: str) -> int:
    """After a completed load: the per-field digests of every mapped row whose body is still the one its
    create sent (the same whole-body digest) and that has none yet. CPU only, no API call; with them
    even the first delta keeps a Pipedrive user's edit of a field Visual Practice did not change."""
    assert loader.shaper is not None
    ledger = loader.ledger
    for step in STEPS:  # references resolve through every object's id_map
        loader.shaper.id_maps[step.name] = ledger.id_map(step.name)
    made = 0
    for step in STEPS:
        if step.name == "projects":
            continue
        mapped, baseline, rows = loader.shaper.id_maps[step.name], ledger.baselines(step.name), []
        for row in read_mart(loader.con, step.mart):
            known, fields = baseline.get(row["natural_key"], (None, None))
            if row["natural_key"] not in mapped or known is None or fields is not None:
                continue
            try:
                body = loader.body(step, row)
            except (MissingReference, PipedriveError, KeyError):
                continue  # a row that cannot be shaped was not sent either: the delta names it
            if digest(body) == known:
                rows.append((step.name, row["natural_key"], known, field_digests(step, body), None))
        ledger.record_sent(run_id, rows)
        made += len(rows)
    return made


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in flat.items() if not k.startswith("cf:")}
    custom = {k[3:]: v for k, v in flat.items() if k.startswith("cf:")}
    if custom:
        body["custom_fields"] = custom
    return body


class Delta:
    def __init__(self, client: PipedriveClient, ledger: Ledger, home: Path, *, currency: str | None = None) -> None:
        self.client, self.ledger = client, ledger
        self.loader = Loader(client, ledger, home, currency=currency, kind="delta")

    async def run(self, *, map_hash: str | None = None) -> DeltaResult:
        self.require_full_load()
        created = await self.loader.run(map_hash=map_hash)  # new records, exactly once
        result = DeltaResult(created.run_id, created.status, notes=list(created.notes),
                             rejections=list(created.rejections))
        counts = {name: {"object": name, "created": c.created, "updated": 0, "unchanged": 0, "deleted_in_source": 0}
                  for name, c in created.counts.items()}
        if created.status != "completed":  # stopped at the budget: the creates resume first next time
            result.objects = list(counts.values())
            return result
        self.ledger.reopen_run(result.run_id)
        try:
            for step in STEPS:
                if step.name != "projects":
                    counts.setdefault(step.name, {"object": step.name, "created": 0, "updated": 0, "unchanged": 0,
                                                  "deleted_in_source": 0})
                    await self.update_step(step, result, counts[step.name])
            result.objects = list(counts.values())
            result.status = "completed"
        except BaseException as exc:
            result.status = "failed"
            self.ledger.finish_run(result.run_id, "failed", counts, f"{type(exc).__name__}: {exc}")
            raise
        self.ledger.finish_run(result.run_id, result.status, {"objects": result.objects, "writes": result.writes},
                               "; ".join(result.notes) or None)
        return result

    def require_full_load(self) -> None:
        """A delta picks up after the cutover: an unfinished full load resumes with `vp2pd load`, not here
        (its creates would land in a delta run and its budget stop would be lost)."""
        unfinished = self.ledger.unfinished_run("load")
        if unfinished:
            raise DeltaRefused(f"load run {unfinished} did not complete: finish it with `vp2pd load` first")
        if not any(r["status"] == "completed" for r in self.ledger.runs("load")):
            raise DeltaRefused("no full load has completed: a delta picks up after `vp2pd load`")

    # -- updates -------------------------------------------------------------------------------

    async def update_step(self, step: Step, result: DeltaResult, count: dict[str, Any]) -> None:
        loader, ledger = self.loader, self.ledger
        assert loader.shaper is not None
        rows = read_mart(loader.con, step.mart)
        mapped = ledger.id_map(step.name)
        loader.shaper.id_maps[step.name] = mapped
        keys = {r["natural_key"] for r in rows}
        for key in sorted(set(mapped) - keys):
            result.deletions.append(self._deletion(step, key, mapped[key]))
            count["deleted_in_source"] += 1
        baseline = ledger.baselines(step.name)
        created_now = {k for (k,) in loader.con.execute("select source_key from ledger.id_map where object = ? and "
                                                        "run_id = ?", [step.name, result.run_id]).fetchall()}
        changed: list[tuple[dict[str, Any], str, dict[str, Any], str, dict[str, str] | None]] = []
        snapshots = []  # unchanged rows known by their create's whole-body digest only: their fields now
        for row in rows:
            pid = mapped.get(row["natural_key"])
            if pid is None or row["natural_key"] in created_now:  # not mapped, or just created by this run
                continue
            try:
                body = loader.body(step, row)
            except (MissingReference, PipedriveError, KeyError) as exc:
                result.notes.append(f"{step.name} {row['natural_key']}: not compared ({type(exc).__name__}: {exc})")
                continue
            body_digest = digest(body)
            known, fields = baseline.get(row["natural_key"], (None, None))
            if known == body_digest:
                count["unchanged"] += 1
                if fields is None:
                    snapshots.append((step.name, row["natural_key"], body_digest, field_digests(step, body), None))
            else:
                changed.append((row, pid, body, body_digest, fields))
        ledger.record_sent(result.run_id, snapshots)  # no call: the body is the one the create sent
        doubts = {op["source_key"]: op for op in ledger.rows(
            "select * from ledger.operations where object = ? and method in ('PATCH', 'PUT') and status = 'intent' "
            "and run_id in (select run_id from ledger.runs where kind = 'delta')", [step.name])}
        if not changed:
            for op in doubts.values():  # its row is no longer different from the baseline: nothing to resolve
                ledger.settle(op["op_id"], ABANDONED, message="row unchanged since: not needed")
            return
        records = await self._read_back(step, changed, len(mapped))
        plans, settled, verified = [], [], []
        for row, pid, body, body_digest, fields in changed:
            key = row["natural_key"]
            record = records.get(pid)
            if record is None:
                result.unpatchable.append({"object": step.name, "source_key": key, "pipedrive_id": pid,
                                           "fields": None, "why": "changed in Visual Practice, but the record is "
                                                                  "no longer in Pipedrive (deleted there?)"})
                continue
            patch, before = self._changes(step, body, record, fields)
            sent = (step.name, key, body_digest, field_digests(step, body))
            method, path = update_route(self.client, step, pid, body)
            allowed = request_properties(method, path)
            blocked = sorted(k for k in _nest(patch) if k not in allowed)
            if blocked:
                result.unpatchable.append({"object": step.name, "source_key": key, "pipedrive_id": pid,
                                           "fields": blocked, "why": f"{method} {path} cannot change them"})
                patch = {k: v for k, v in patch.items() if (k if not k.startswith("cf:") else "custom_fields")
                         not in blocked}
                before = {k: v for k, v in before.items() if k in patch}
            doubt = doubts.pop(key, None)
            if doubt is not None:  # a crashed run's update: landed if Pipedrive now holds what it sent
                intent = Intent(doubt["op_id"], step.name, key, doubt["parent_id"], doubt["method"])
                settled.append(Outcome(intent, ABANDONED if patch else RESOLVED, pid))
                if not patch:
                    verified.append((*sent, doubt["op_id"]))
                    count["updated"] += 1
                    continue
            if not patch:
                verified.append((*sent, None))  # Pipedrive holds it already (or a user's edit is kept)
                count["unchanged"] += 1
                continue
            plans.append((row, pid, method, path, patch, before, sent))
        for op in doubts.values():
            settled.append(Outcome(Intent(op["op_id"], step.name, op["source_key"], op["parent_id"], op["method"]),
                                   ABANDONED, message="row no longer changed"))
        ledger.outcomes(result.run_id, settled)
        ledger.record_sent(result.run_id, verified)
        for start in range(0, len(plans), BATCH):
            await self._send(step, plans[start:start + BATCH], result, count)

    async def _read_back(self, step: Step, changed: list[tuple[Any, ...]], mapped: int) -> dict[str, dict[str, Any]]:
        """The changed records as Pipedrive holds them, by list reads only: a v2 list by `ids` (100 a call)
        when that takes fewer calls than paging through the whole object (500 a page), else the pages."""
        records: dict[str, dict[str, Any]] = {}
        ids = [c[1] for c in changed]
        by_ids = step.obj in OBJECTS and OBJECTS[step.obj][0] == "v2"
        if by_ids and -(-len(ids) // IDS_PER_LIST) <= -(-mapped // V2_PAGE_LIMIT):  # as many calls: less to read
            found = [r for i in range(0, len(ids), IDS_PER_LIST)
                     async for r in self.client.list(step.obj, ids=",".join(ids[i:i + IDS_PER_LIST]))]
        else:
            found = [r async for r in readback.records(self.client, step, [c[2] for c in changed])]
        for record in found:
            if not (record.get("is_deleted") or record.get("active_flag") in (False, "false")):
                records[str(record["id"])] = record
        return records

    def _changes(self, step: Step, body: dict[str, Any], record: dict[str, Any],
                 before_fields: dict[str, str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(fields to send, the values Pipedrive holds for them). With the field digests of the body
        Visual Practice gave last time: the fields that changed since and differ in Pipedrive (a
        field Visual Practice did not change keeps a Pipedrive user's edit), and the fields it has
        emptied (sent as null, v2's clear). Without them (a record not seen by a delta since its
        create): every field of the body that differs in Pipedrive."""
        flat = flat_body(step, body)
        patch, before = {}, {}
        for name, value in flat.items():
            if before_fields is not None and before_fields.get(name) == digest(value):
                continue
            actual = project(value, record_value(record, name))
            if canonical(value) != canonical(actual):
                patch[name], before[name] = value, actual
        for name in sorted(set(before_fields or ()) - set(flat)):
            actual = record_value(record, name)
            if actual not in EMPTY:
                patch[name], before[name] = None, actual
        return patch, before

    async def _send(self, step: Step, plans: list[tuple[Any, ...]], result: DeltaResult,
                    count: dict[str, Any]) -> None:
        """One batch: intents (with before-images) in one commit, the calls concurrently, outcomes in
        one commit, then the new baselines."""
        items = [{"object": step.name, "source_key": row["natural_key"], "method": method, "endpoint": path,
                  "body": _nest(patch), "pipedrive_id": pid, "before_image": _nest(before),
                  "tokens": self.client.operation(method, path).token_cost}
                 for row, pid, method, path, patch, before, _ in plans]
        intents = self.ledger.intents(result.run_id, items)
        answers = await asyncio.gather(*(self.client.request(method, path, json=_nest(patch))
                                         for _, _, method, path, patch, _, _ in plans), return_exceptions=True)
        outcomes, sent, fatal = [], [], None
        for intent, plan, answer in zip(intents, plans, answers):
            row, pid, method, path, patch, before, snapshot = plan
            if isinstance(answer, PipedriveError) and answer.status is not None and 400 <= answer.status < 500 \
                    and answer.status not in (401, 403, 429):
                outcomes.append(Outcome(intent, REJECTED, pid, answer.status, str(answer)))
                result.rejections.append({"object": step.name, "source_key": row["natural_key"],
                                          "status": answer.status, "message": str(answer)})
            elif isinstance(answer, BaseException):
                fatal = fatal or answer  # left as an intent: the next delta reads back and decides
            else:
                outcomes.append(Outcome(intent, DONE, pid, 200))
                sent.append((*snapshot, intent.op_id))
                count["updated"] += 1
                result.updates.append({"object": step.name, "source_key": row["natural_key"], "pipedrive_id": pid,
                                       "fields": sorted(self._label(step, k) for k in patch)})
        self.ledger.outcomes(result.run_id, outcomes)
        self.ledger.record_sent(result.run_id, sent)
        if fatal is not None:
            raise fatal

    def _label(self, step: Step, name: str) -> str:
        catalogue = self.loader.catalogues.get(step.name)
        if name.startswith("cf:") and catalogue is not None:
            return next((f.name for f in catalogue.fields.values() if f.key == name[3:]), name)
        return name

    # -- deletions -----------------------------------------------------------------------------

    def _deletion(self, step: Step, key: str, pid: str) -> dict[str, Any]:
        """A mapped record whose row left the marts, with the source's reason where it says one."""
        collection, _, rest = key.partition(":")
        source_id = rest.split("/", 1)[0]
        reason = "no longer in the marts"
        try:
            gone = self.ledger.con.execute(f'select _deleted_at from raw_visual_practice."{collection}" '
                                           "where cast(id as varchar) = ? and _deleted_at is not null",
                                           [source_id]).fetchone()
        except Exception:  # noqa: BLE001 - a key that is not collection:id (no raw table): the generic reason
            gone = None
        if gone:
            reason = f"deleted in Visual Practice at {gone[0]}"
        else:
            skipped = self.ledger.con.execute("select reason || coalesce(': ' || detail, '') from "
                                              "pipedrive.migration__skipped where source_collection = ? and "
                                              "source_id = ? limit 1", [collection, source_id]).fetchone()
            if skipped:
                reason = f"now skipped by the transform ({skipped[0]})"
        return {"object": step.name, "source_key": key, "pipedrive_id": pid, "reason": reason,
                "decision": "not applied: delete in Pipedrive, or keep"}


async def run_delta(client: PipedriveClient, ledger: Ledger, home: Path, *, currency: str | None,
                    map_hash: str | None = None) -> DeltaResult:
    return await Delta(client, ledger, home, currency=currency).run(map_hash=map_hash)

"""The sequenced full load, exactly once (issue 6).

Per step (sequence.STEPS), in passes until nothing is pending:
1. resolve in-doubt creates: intents without an id_map row (a crash, or an answer lost on the way
   back) are matched against ONE list read of the object; found -> id_map (`resolved`), not found ->
   `abandoned` and created again below. Nothing is retried before this read.
2. create what has no id_map row: intent committed -> POST -> id_map + `done` in one transaction.
   A retry that could duplicate (the request may have reached Pipedrive: a timeout, a lost answer,
   a 500/504) is not sent: the client's `on_retry` raises `InDoubt` and step 1 decides next pass.
   A 400 (or other refusal) is `rejected` with Pipedrive's message; the rest go on.
The daily budget: `BudgetExhausted` (raised by the client before anything is sent) stops the step;
with `stop_at_budget` the run ends `stopped_budget` and a later `load` resumes that run, otherwise
it sleeps until the budget resets and goes on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

from loaders.pipedrive import readback
from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.errors import AbuseProtection, BudgetExhausted, PipedriveError, RateLimited
from loaders.pipedrive.fields import FieldCatalogue
from loaders.pipedrive.ledger import ABANDONED, DONE, NOT_SENT, REJECTED, RESOLVED, Intent, Ledger, Outcome
from loaders.pipedrive.owners import OwnerError, match_owners
from loaders.pipedrive.progress import LoadProgress, NoProgress
from loaders.pipedrive.retry import Hooks, RequestInfo, call_hook
from loaders.pipedrive.rows import (MissingReference, Shaper, custom_field_names, numeric_properties,
                                   object_properties, request_properties)
from loaders.pipedrive.sequence import STEPS, Step

log = logging.getLogger(__name__)

# Failures after which the request certainly did not take effect: a 429, a proxy's 502/503 (the API
# never ran it: the client refunds those too), a connection never made. Anything else may have landed.
SAFE_RETRY_REASONS = frozenset({"429", "502", "503", "ConnectError", "ConnectTimeout", "PoolTimeout"})
MAX_PASSES = 6
# Rows per group commit: intents of a batch in one commit, its outcomes in another. The batch's calls
# run concurrently, paced by the client's adaptive concurrency and burst limiter.
BATCH = 100
IN_FLIGHT_BATCHES = 2


class InDoubt(Exception):
    """A create failed in a way that may have landed: left as an intent for read-back."""


class LoadIncomplete(RuntimeError):
    pass


@dataclass
class StepCount:
    rows: int = 0
    created: int = 0
    resolved: int = 0
    abandoned: int = 0
    rejected: int = 0
    already: int = 0
    pending: int = 0


@dataclass
class LoadResult:
    run_id: str
    status: str = "running"
    counts: dict[str, StepCount] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "notes": self.notes, "rejections": self.rejections,
                "counts": {k: vars(v) for k, v in self.counts.items()}}


def _in_doubt_on_retry(previous: Any) -> Any:
    async def on_retry(info: RequestInfo, reason: str, delay: float) -> Any:
        if info.method == "POST" and reason not in SAFE_RETRY_REASONS:
            raise InDoubt(f"{info.method} {info.path}: {reason}")
        return await call_hook(previous, info, reason, delay)
    return on_retry


class Loader:
    def __init__(self, client: PipedriveClient, ledger: Ledger, home: Path, *, currency: str | None = None,
                 stop_at_budget: bool = False, sample_keys: dict[str, set[str]] | None = None,
                 kind: str = "load", progress: LoadProgress | None = None) -> None:
        self.client, self.ledger, self.home = client, ledger, home
        self.progress = progress or NoProgress()  # bars per object (progress.py), or nothing
        self.kind = kind  # the ledger run's kind: load, sample (a slice for review) or delta (pickup)
        self.con = ledger.con
        self.currency = currency
        self.stop_at_budget = stop_at_budget
        self.sample_keys = sample_keys  # step -> natural keys to load (a sample), or None for all
        h = client.hooks
        client.hooks = Hooks(h.before_send, h.after_response, _in_doubt_on_retry(h.on_retry))
        self.catalogues: dict[str, FieldCatalogue] = {}
        self.shaper: Shaper | None = None
        self.run_id = ""
        self.notes: list[str] = []
        self.dropped: dict[str, set[str]] = {}

    # -- preparation ---------------------------------------------------------------------------

    async def prepare(self) -> None:
        owners = await match_owners(self.client, self.con, self.home)
        problem = owners.problem()
        if problem:
            raise OwnerError(problem)
        custom: dict[str, list[str]] = {}
        for step in STEPS:
            names = custom_field_names(self.con, step.entity)
            if step.entity:
                catalogue = await FieldCatalogue(self.client, step.obj, default_currency=self.currency).load()
                self.catalogues[step.name] = catalogue
                custom[step.name] = [n for n in names if " ".join(n.split()).casefold() in catalogue.fields]
                missing = sorted(set(names) - set(custom[step.name]))
                if missing:  # said in the report, never dropped silently: setup lists why
                    self.notes.append(f"{step.name}: custom fields not in the account, values not sent: "
                                      f"{', '.join(missing)} (see `vp2pd setup`)")
        pipelines = {p["name"]: int(p["id"]) async for p in self.client.list("pipelines")}
        by_id = {v: k for k, v in pipelines.items()}
        stages = {(by_id[s["pipeline_id"]], s["name"]): int(s["id"]) async for s in self.client.list("stages")
                  if s["pipeline_id"] in by_id}
        self.shaper = Shaper(self.catalogues, custom, {}, owners.users, owners.fallback_id, pipelines, stages,
                             await self._project_boards())

    async def _project_boards(self) -> dict[str, tuple[int, int]]:
        """Board name -> (board id, its first phase's id), read only when there are projects to load
        (a board list and a phase list per board cost 10 tokens each)."""
        projects = next(s for s in STEPS if s.name == "projects")
        if not self._counts(projects)[0]:
            return {}
        boards: dict[str, tuple[int, int]] = {}
        async for board in self.client.list("boards"):
            phases = sorted([(p["order_nr"], int(p["id"])) async for p in self.client.list("phases", board_id=board["id"])])
            if phases:
                boards.setdefault(board["name"], (int(board["id"]), phases[0][1]))
        return boards

    # -- the run -------------------------------------------------------------------------------

    async def run(self, *, map_hash: str | None = None) -> LoadResult:
        resumed = self.ledger.unfinished_run(self.kind)
        if resumed:
            self.run_id = resumed
            self.ledger.reopen_run(resumed)
        else:
            self.run_id = self.ledger.start_run(self.kind, map_hash=map_hash, options={"sample": bool(self.sample_keys)})
        result = LoadResult(self.run_id)
        if resumed:
            result.notes.append(f"resumed run {resumed}")
        try:
            if not await self._within_budget(self.prepare, result, "preparing"):
                result.status = "stopped_budget"
            else:
                for step in STEPS:
                    if not await self._within_budget(lambda: self.run_step(step, result), result, step.name):
                        result.status = "stopped_budget"
                        break
                else:
                    result.status = "completed"
        except BaseException as exc:
            result.status = "failed"
            self.ledger.finish_run(self.run_id, "failed", result.as_json()["counts"], f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.progress.close()
        result.notes += self.notes
        self.ledger.finish_run(self.run_id, result.status, result.as_json()["counts"], "; ".join(result.notes) or None)
        return result

    async def _within_budget(self, work: Callable[[], Awaitable[Any]], result: LoadResult, where: str) -> bool:
        """Run `work`; a read the budget refuses (the owners' or fields' read, the resume's read-back)
        stops the run like a refused create does, or waits for the reset. False: stopped."""
        while True:
            try:
                return await work() is not False
            except BudgetExhausted:
                if self.stop_at_budget:
                    result.notes.append(self._budget_note(where))
                    return False
                await self.client.clock.sleep(self.client.ledger.seconds_to_reset() + 1)

    def _budget_note(self, where: str) -> str:
        return (f"stopped at the daily budget during {where}; run `vp2pd load` after "
                f"{self.client.ledger.resets_at().isoformat()} to resume")

    # -- the step's rows, streamed: a mart of millions never sits in memory ----------------------

    def _scope(self, step: Step) -> tuple[str, list[Any]]:
        """SQL narrowing the mart `m` to the sample's keys (none for a full load)."""
        if self.sample_keys is None:
            return "", []
        return " and m.natural_key = any(?::varchar[])", [sorted(self.sample_keys.get(step.name, set()))]

    def _has_mart(self, step: Step) -> bool:
        # fetchall, not fetchone: a result left unfinished blocks the next register() on this connection
        return bool(self.con.execute("select count(*) from information_schema.tables where table_schema = 'pipedrive' "
                                     "and table_name = ?", [step.mart]).fetchall()[0][0])

    def _counts(self, step: Step) -> tuple[int, int, int]:
        """(rows, already in id_map, rejected in this run) of the step's mart."""
        if not self._has_mart(step):
            return 0, 0, 0
        where, params = self._scope(step)
        return self.con.execute(
            f"select count(*), count(*) filter (natural_key in (select source_key from ledger.id_map where object = ?)), "
            f"count(*) filter (natural_key in (select source_key from ledger.operations where run_id = ? and object = ? "
            f"and status = 'rejected' and source_key is not null)) from pipedrive.{step.mart} m where true{where}",
            [step.name, self.run_id, step.name, *params]).fetchall()[0]

    def _pending(self, step: Step) -> Iterator[list[dict[str, Any]]]:
        """Rows with no id_map row and not rejected in this run, BATCH at a time, from a cursor of its
        own: its snapshot is the pass's start, unmoved by the commits the batches make meanwhile."""
        if not self._has_mart(step):
            return
        where, params = self._scope(step)
        cur = self.con.cursor()
        try:
            cur.execute(f"select m.* from pipedrive.{step.mart} m "
                        f"where m.natural_key not in (select source_key from ledger.id_map where object = ?) "
                        f"and m.natural_key not in (select source_key from ledger.operations where run_id = ? "
                        f"and object = ? and status = 'rejected' and source_key is not null){where}",
                        [step.name, self.run_id, step.name, *params])
            cols = [d[0] for d in cur.description]
            while batch := cur.fetchmany(BATCH):
                yield [dict(zip(cols, r)) for r in batch]
        finally:
            cur.close()

    def _rows_by_key(self, step: Step, keys: list[str]) -> dict[str, dict[str, Any]]:
        if not keys or not self._has_mart(step):
            return {}
        where, params = self._scope(step)
        rel = self.con.execute(f"select m.* from pipedrive.{step.mart} m where m.natural_key = any(?::varchar[]){where}",
                               [keys, *params])
        cols = [d[0] for d in rel.description]
        return {r["natural_key"]: r for r in (dict(zip(cols, row)) for row in rel.fetchall())}

    async def run_step(self, step: Step, result: LoadResult) -> bool:
        """False when the budget stopped the step (and `stop_at_budget`)."""
        rows, already, _ = self._counts(step)
        count = result.counts.setdefault(step.name, StepCount(rows=rows))
        assert self.shaper is not None
        count.already = already
        self.progress.start(step.name, rows, already)
        for _ in range(MAX_PASSES):
            await self.resolve(step, count)
            self.shaper.id_maps[step.name] = self.ledger.id_map(step.name)
            sent, budget_stop, doubts = await self._create_pending(step, count, result)
            if not sent or not (doubts or budget_stop):
                break  # every row sent has its outcome: no pass left to make (nothing to read back)
            if budget_stop:
                if self.stop_at_budget:
                    count.pending = sum(1 for _ in self._pending_keys(step))
                    result.notes.append(self._budget_note(step.name))
                    return False
                await self.client.clock.sleep(self.client.ledger.seconds_to_reset() + 1)
        else:
            await self.resolve(step, count)
        self.shaper.id_maps[step.name] = self.ledger.id_map(step.name)
        rows, mapped, rejected = self._counts(step)
        count.pending = rows - mapped - rejected
        if count.pending:
            raise LoadIncomplete(f"{step.name}: {count.pending} rows still pending after {MAX_PASSES} passes")
        return True

    async def _create_pending(self, step: Step, count: StepCount, result: LoadResult) -> tuple[bool, bool, int]:
        """Create every pending row, IN_FLIGHT_BATCHES batches at a time: the next batch's intents are
        committed and its calls start while the last answers of the one before are still coming, so
        the burst window never idles at a batch boundary. Returns (anything pending, budget hit,
        creates left in doubt)."""
        sent = budget = False
        doubts = 0
        inflight: list[asyncio.Task[tuple[int, bool]]] = []
        try:
            for chunk in self._pending(step):
                sent = True
                inflight.append(asyncio.create_task(self.create_all(step, chunk, count, result)))
                if len(inflight) == IN_FLIGHT_BATCHES:
                    doubted, budget = await inflight.pop(0)
                    doubts += doubted
                    if budget:
                        break
        finally:  # a batch in flight is always seen to its outcomes, even when another one failed
            finished = await asyncio.gather(*inflight, return_exceptions=True)
        for outcome in finished:
            if isinstance(outcome, BaseException):
                raise outcome
            doubts += outcome[0]
            budget = budget or outcome[1]
        return sent, budget, doubts

    def _pending_keys(self, step: Step) -> Iterator[str]:
        for chunk in self._pending(step):
            yield from (r["natural_key"] for r in chunk)

    # -- creating ------------------------------------------------------------------------------

    def endpoint(self, step: Step, body: dict[str, Any]) -> str:
        if step.name == "deal_products":
            return f"/api/v2/deals/{body['deal_id']}/products"
        return self.client.path(step.obj)

    def body(self, step: Step, row: dict[str, Any]) -> dict[str, Any]:
        assert self.shaper is not None
        if step.name == "files":
            body = {"name": row["file_name"]}
            for column, name in (("person_key", "person_id"), ("activity_key", "activity_id")):
                if row.get(column):
                    obj = "persons" if column == "person_key" else "activities"
                    body[name] = self.shaper.ref(obj, row[column])
            return body
        endpoint = self.endpoint(step, {"deal_id": 1})
        dropped: set[str] = set()
        body = self.shaper.body(step, row, request_properties("POST", endpoint), numeric_properties("POST", endpoint),
                                dropped, object_properties("POST", endpoint))
        for column in dropped - self.dropped.setdefault(step.name, set()):
            self.dropped[step.name].add(column)
            self.notes.append(f"{step.name}.{column}: the mart's labels are not options of the account's field "
                              f"(Pipedrive wants an option id); not sent")
        if step.name == "deal_products":
            body = {k: v for k, v in body.items() if k in request_properties("POST", endpoint) or k == "deal_id"}
        return body

    async def create_all(self, step: Step, pending: list[dict[str, Any]], count: StepCount,
                         result: LoadResult) -> tuple[int, bool]:
        """Create `pending` in batches: the batch's intents in one commit, its calls concurrently (the
        client paces them), its outcomes and id_map rows in one commit. Returns (in doubt, budget hit)."""
        doubts = 0
        for start in range(0, len(pending), BATCH):
            chunk = pending[start:start + BATCH]
            sends, rejects = [], []
            for row in chunk:
                prepared = self._prepare(step, row)
                (rejects if isinstance(prepared[3], str) else sends).append(prepared)
            intents = self.ledger.intents(self.run_id, [self._item(step, key, endpoint, body)
                                                        for key, endpoint, body, _ in sends + rejects])
            outcomes = [Outcome(i, REJECTED, message=msg) for i, (_, _, _, msg) in zip(intents[len(sends):], rejects)]
            for key, endpoint, _, msg in rejects:
                result.rejections.append({"object": step.name, "source_key": key, "status": None, "message": msg})
            answers = await asyncio.gather(*(self.send(step, endpoint, body, row)
                                             for (_, endpoint, body, row) in sends), return_exceptions=True)
            budget, fatal = False, None
            for intent, (key, endpoint, _, _), answer in zip(intents, sends, answers):
                if isinstance(answer, InDoubt):
                    doubts += 1  # no outcome: resolved by read-back next pass
                elif isinstance(answer, BudgetExhausted):
                    budget = True
                    outcomes.append(Outcome(intent, NOT_SENT, message="daily budget reserve reached before sending"))
                elif isinstance(answer, (AbuseProtection, RateLimited)):
                    fatal = answer
                    outcomes.append(Outcome(intent, NOT_SENT, message=str(answer)))
                elif isinstance(answer, PipedriveError) and answer.status is not None and 400 <= answer.status < 500 \
                        and answer.status not in (401, 403, 429):
                    outcomes.append(Outcome(intent, REJECTED, http_status=answer.status, message=str(answer)))
                    result.rejections.append({"object": step.name, "source_key": key, "status": answer.status,
                                              "message": str(answer)})
                    count.rejected += 1
                elif isinstance(answer, BaseException):
                    fatal = fatal or answer  # not the row's fault: its intent stays in doubt for the resume
                else:
                    outcomes.append(Outcome(intent, DONE, answer["id"], 200))
                    count.created += 1
            count.rejected += len(rejects)
            self.ledger.outcomes(self.run_id, outcomes)
            self.progress.advance(step.name, sum(o.status in (DONE, REJECTED) for o in outcomes))
            if fatal is not None:
                raise fatal
            if budget:
                return doubts, True
        return doubts, False

    def _prepare(self, step: Step, row: dict[str, Any]) -> tuple[str, str, dict[str, Any], Any]:
        """(key, endpoint, body, row) to send, or (key, endpoint, body, reason) for a row refused before sending."""
        key = row["natural_key"]
        try:
            body = self.body(step, row)
        except (MissingReference, PipedriveError, KeyError) as exc:  # FieldError is a PipedriveError
            return key, step.mart, {}, f"{type(exc).__name__}: {exc}"
        endpoint = self.endpoint(step, body)
        if step.name == "files" and not (row.get("local_path") and Path(row["local_path"]).is_file()):
            return key, endpoint, body, f"document not on disk (download_status {row.get('download_status')!r})"
        return key, endpoint, body, row

    def _item(self, step: Step, key: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        parent = str(body["deal_id"]) if step.name == "deal_products" and "deal_id" in body else None
        tokens = self.client.operation("POST", endpoint).token_cost if endpoint.startswith("/") else 0
        return {"object": step.name, "source_key": key, "method": "POST", "endpoint": endpoint, "body": body,
                "tokens": tokens, "parent_id": parent}

    async def send(self, step: Step, endpoint: str, body: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        if step.name == "files":
            content = Path(row["local_path"]).read_bytes()
            links = {k: v for k, v in body.items() if k != "name"}
            return await self.client.upload_file(content, row["file_name"], **links)
        if step.name == "deal_products":
            payload = {k: v for k, v in body.items() if k != "deal_id"}
            return (await self.client.request("POST", endpoint, json=payload))["data"]
        return await self.client.create(step.obj, body)

    # -- in-doubt resolution -------------------------------------------------------------------

    async def resolve(self, step: Step, count: StepCount) -> None:
        doubts = self.ledger.in_doubt(step.name)
        if not doubts:
            return
        by_key = self._rows_by_key(step, sorted({op["source_key"] for op in doubts if op["source_key"]}))
        assert self.shaper is not None
        catalogue = self.catalogues.get(step.name)
        wanted: dict[str, tuple[str | None, ...]] = {}
        bodies = []
        for op in doubts:
            row = by_key.get(op["source_key"])
            if row is None:  # a row no longer in the marts: nothing to match it against
                self.ledger.settle(op["op_id"], ABANDONED, message="row no longer in the mart")
                continue
            body = self.body(step, row)
            bodies.append(body)
            wanted[op["op_id"]] = readback.identity_of_body(step, body, catalogue)
        taken = set(self.ledger.id_map(step.name).values())
        candidates: dict[tuple[str | None, ...], list[int]] = {}
        if bodies:
            async for record in readback.records(self.client, step, bodies):
                if record.get("is_deleted") or record.get("active_flag") in (False, "false") or str(record["id"]) in taken:
                    continue
                ident = readback.identity_of_record(step, record, catalogue)
                candidates.setdefault(ident, []).append(int(record["id"]))
        for ids in candidates.values():
            ids.sort()
        outcomes = []
        for op in doubts:
            if op["op_id"] not in wanted:
                continue
            found = candidates.get(wanted[op["op_id"]])
            intent = Intent(op["op_id"], step.name, op["source_key"], op["parent_id"])
            if found:
                outcomes.append(Outcome(intent, RESOLVED, found.pop(0), run_id=op["run_id"]))
                count.resolved += 1
            else:
                outcomes.append(Outcome(intent, ABANDONED, message="not found by read-back: never landed"))
                count.abandoned += 1
        self.ledger.outcomes(self.run_id, outcomes)
        self.progress.advance(step.name, sum(o.status == RESOLVED for o in outcomes))

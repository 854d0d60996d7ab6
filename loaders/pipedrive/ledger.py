"""The load ledger: schema `ledger` in the customer's DuckDB warehouse.

`runs` (one row per setup / load / sample / delta / rollback), `operations` (every API write,
written as an intent BEFORE the call, its outcome appended after it; a view over `intents` +
`outcomes`; an update carries its before-image), `id_map` (object, source key -> Pipedrive id), `fields`
(the account's custom-field keys and option ids as setup found or made them), `sent` (digests of the
body Visual Practice last gave a record, whole and per field, so a delta knows what changed),
`sample_decisions` (the reviewer's keep / rollback of a sample run).

The exactly-once protocol (see `load.py`): a create is first recorded as `intent`; once Pipedrive
answers, the id_map row and the operation's `done` are written in ONE transaction. A crash leaves
either no intent (nothing sent), or an intent without id_map (in doubt: sent or not, answered or
not). In-doubt intents are resolved on resume by one list read of the object, matched on the
record's identity (`Source_System_ID` where the object carries it), before anything is retried.
Secrets never enter the ledger: bodies are stored as a digest, never as text.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import duckdb

from vp2pd.warehouse import connect, insert_rows

SCHEMA = """
create schema if not exists ledger;
create table if not exists ledger.runs (
    run_id varchar primary key, kind varchar not null, started timestamptz not null, finished timestamptz,
    status varchar not null, map_hash varchar, counts json, options json, message varchar);
create table if not exists ledger.intents (
    op_id varchar not null, run_id varchar not null, object varchar not null, source_key varchar,
    method varchar not null, endpoint varchar not null, request_digest varchar, pipedrive_id varchar,
    parent_id varchar, before_image json, tokens integer, created timestamptz not null);
create table if not exists ledger.outcomes (
    op_id varchar not null, status varchar not null, pipedrive_id varchar, http_status integer, message varchar,
    recorded timestamptz not null);
create table if not exists ledger.id_map (
    object varchar not null, source_key varchar not null, pipedrive_id varchar not null,
    parent_id varchar, run_id varchar not null, op_id varchar not null, created timestamptz not null);
create table if not exists ledger.fields (
    object varchar not null, field_name varchar not null, field_key varchar not null, field_type varchar not null,
    options json, recorded timestamptz not null, primary key (object, field_name));
create table if not exists ledger.sent (
    object varchar not null, source_key varchar not null, body_digest varchar not null, op_id varchar,
    run_id varchar not null, recorded timestamptz not null, fields json);
create table if not exists ledger.sample_decisions (
    run_id varchar primary key, decision varchar not null, rollback_run varchar, decided timestamptz not null);
create or replace view ledger.operations as
    select i.op_id, i.run_id, i.object, i.source_key, i.method, i.endpoint, i.request_digest,
           coalesce(o.status, 'intent') as status, coalesce(o.pipedrive_id, i.pipedrive_id) as pipedrive_id,
           i.parent_id, o.http_status, o.message, i.before_image, i.tokens, i.created,
           coalesce(o.recorded, i.created) as updated
    from ledger.intents i
    left join (select op_id, arg_max(status, recorded) as status, arg_max(pipedrive_id, recorded) as pipedrive_id,
                      arg_max(http_status, recorded) as http_status, arg_max(message, recorded) as message,
                      max(recorded) as recorded
               from ledger.outcomes group by op_id) o using (op_id);
"""
# Why append-only tables under an `operations` view: DuckDB commits are durable (a WAL sync each)
# and row-by-row updates are slow, so the load writes a batch of intents in one transaction and a
# batch of outcomes (+ id_map rows) in another — group commit, with nothing ever updated in place.

# Operation statuses. `intent`: recorded, the call may or may not have reached Pipedrive.
INTENT, DONE, REJECTED, NOT_SENT, RESOLVED, ABANDONED, ROLLED_BACK = (
    "intent", "done", "rejected", "not_sent", "resolved", "abandoned", "rolled_back")
LANDED = (DONE, RESOLVED)  # the record exists in Pipedrive because of this operation


def now() -> datetime:
    return datetime.now(timezone.utc)


def digest(body: Any) -> str:
    """A stable digest of a request body: proves what was sent without storing PHI or secrets."""
    text = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Intent:
    op_id: str
    object: str
    source_key: str | None
    parent_id: str | None
    method: str = "POST"  # only a landed create enters id_map; an update's record is mapped already


@dataclass(frozen=True)
class Outcome:
    intent: Intent
    status: str
    pipedrive_id: Any = None
    http_status: int | None = None
    message: str | None = None
    run_id: str | None = None  # the id_map row's run (a resolved intent keeps the run that sent it)


class Ledger:
    """One open warehouse connection; every write commits before the method returns."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        con.execute(SCHEMA)
        con.execute("alter table ledger.sent add column if not exists fields json")  # ledgers from before it

    @classmethod
    def open(cls, warehouse: Path | str) -> "Ledger":
        return cls(connect(warehouse))

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        rel = self.con.execute(sql, list(params))
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r)) for r in rel.fetchall()]

    # -- runs ----------------------------------------------------------------------------------

    def start_run(self, kind: str, *, map_hash: str | None = None, options: dict[str, Any] | None = None) -> str:
        run_id = f"{kind}-{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.con.execute("insert into ledger.runs (run_id, kind, started, status, map_hash, options) "
                         "values (?, ?, ?, 'running', ?, ?)", [run_id, kind, now(), map_hash, json.dumps(options or {})])
        return run_id

    def reopen_run(self, run_id: str) -> None:
        self.con.execute("update ledger.runs set status = 'running', finished = null, message = null "
                         "where run_id = ?", [run_id])

    def finish_run(self, run_id: str, status: str, counts: dict[str, Any], message: str | None = None) -> None:
        self.con.execute("update ledger.runs set finished = ?, status = ?, counts = ?, message = ? where run_id = ?",
                         [now(), status, json.dumps(counts, default=str), message, run_id])

    def unfinished_run(self, kind: str) -> str | None:
        """The latest run of `kind` that did not complete (crashed, or stopped at the budget)."""
        found = self.con.execute("select run_id from ledger.runs where kind = ? and status <> 'completed' "
                                 "order by started desc limit 1", [kind]).fetchone()
        return found[0] if found else None

    def runs(self, kind: str | None = None) -> list[dict[str, Any]]:
        where, params = ("where kind = ?", [kind]) if kind else ("", [])
        return self.rows(f"select * from ledger.runs {where} order by started", params)

    # -- operations ----------------------------------------------------------------------------

    def _insert(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        insert_rows(self.con, table, columns, rows)

    def intents(self, run_id: str, items: list[dict[str, Any]]) -> list[Intent]:
        """Record writes about to be sent, all in one transaction (committed before any call).
        Each item: object, source_key, method, endpoint, body, and optionally tokens, parent_id,
        before_image, pipedrive_id."""
        if not items:
            return []
        t, made, rows = now(), [], []
        for item in items:
            op_id = uuid.uuid4().hex
            made.append(Intent(op_id, item["object"], item.get("source_key"), item.get("parent_id"), item["method"]))
            before = item.get("before_image")
            rows.append((op_id, run_id, item["object"], item.get("source_key"), item["method"], item["endpoint"],
                         digest(item.get("body")), item.get("pipedrive_id"), item.get("parent_id"),
                         json.dumps(before, default=str) if before is not None else None, item.get("tokens", 0), t))
        self._insert("ledger.intents", ["op_id", "run_id", "object", "source_key", "method", "endpoint",
                                        "request_digest", "pipedrive_id", "parent_id", "before_image", "tokens",
                                        "created"], rows)
        return made

    def intent(self, run_id: str, obj: str, source_key: str | None, method: str, endpoint: str, body: Any,
               **extra: Any) -> Intent:
        return self.intents(run_id, [{"object": obj, "source_key": source_key, "method": method,
                                      "endpoint": endpoint, "body": body, **extra}])[0]

    def outcomes(self, run_id: str, items: list[Outcome], *, forget: list[tuple[str, str, str]] = ()) -> None:
        """Outcomes of sent writes, and the id_map rows of those that landed, in ONE transaction.
        `forget`: (object, source_key, pipedrive_id) rows leaving id_map (rolled back)."""
        if not items and not forget:
            return
        t = now()
        self.con.execute("begin transaction")
        try:
            if items:
                self._insert("ledger.outcomes", ["op_id", "status", "pipedrive_id", "http_status", "message",
                                                 "recorded"],
                             [(o.intent.op_id, o.status, None if o.pipedrive_id is None else str(o.pipedrive_id),
                               o.http_status, o.message, t) for o in items])
                mapped = [(o.intent.object, o.intent.source_key, str(o.pipedrive_id), o.intent.parent_id,
                           o.run_id or run_id, o.intent.op_id, t)
                          for o in items if o.status in LANDED and o.intent.source_key is not None
                          and o.intent.method == "POST"]
                if mapped:
                    self._insert("ledger.id_map", ["object", "source_key", "pipedrive_id", "parent_id", "run_id",
                                                   "op_id", "created"], mapped)
            for obj, key, pid in forget:
                self.con.execute("delete from ledger.id_map where object = ? and source_key = ? and pipedrive_id = ?",
                                 [obj, key, pid])
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def landed(self, intent: Intent, run_id: str, pipedrive_id: Any, *, status: str = DONE,
               http_status: int | None = 200) -> None:
        self.outcomes(run_id, [Outcome(intent, status, pipedrive_id, http_status)])

    def settle(self, op_id: str, status: str, *, http_status: int | None = None, message: str | None = None) -> None:
        self.outcomes("", [Outcome(Intent(op_id, "", None, None), status, None, http_status, message)])

    def in_doubt(self, obj: str) -> list[dict[str, Any]]:
        """Intents of creates with no outcome and no id_map row: the call may have landed."""
        return self.rows("select o.* from ledger.operations o where o.object = ? and o.status = 'intent' "
                         "and o.method = 'POST' and not exists (select 1 from ledger.id_map m "
                         "where m.object = o.object and m.source_key = o.source_key) order by o.created", [obj])

    def rejected_in_run(self, run_id: str, obj: str) -> set[str]:
        return {r[0] for r in self.con.execute(
            "select source_key from ledger.operations where run_id = ? and object = ? and status = 'rejected'",
            [run_id, obj]).fetchall()}

    # -- id map --------------------------------------------------------------------------------

    def id_map(self, obj: str) -> dict[str, str]:
        return dict(self.con.execute("select source_key, pipedrive_id from ledger.id_map where object = ?",
                                     [obj]).fetchall())

    def forget(self, obj: str, source_key: str) -> None:
        self.con.execute("delete from ledger.id_map where object = ? and source_key = ?", [obj, source_key])

    # -- fields --------------------------------------------------------------------------------

    def record_field(self, obj: str, name: str, key: str, field_type: str, options: dict[str, Any]) -> None:
        self.con.execute("insert or replace into ledger.fields values (?, ?, ?, ?, ?, ?)",
                         [obj, name, key, field_type, json.dumps(options, default=str), now()])

    # -- what Pipedrive holds (delta) ---------------------------------------------------------

    def record_sent(self, run_id: str, rows: list[tuple[str, str, str, dict[str, str], str | None]]) -> None:
        """(object, source_key, digest of the whole body, {field: digest}, op_id of the update that sent it,
        or None when Pipedrive held it already) -- written after the update's outcome."""
        if rows:
            t = now()
            self._insert("ledger.sent", ["object", "source_key", "body_digest", "fields", "op_id", "run_id",
                                         "recorded"],
                         [(o, k, d, json.dumps(f, sort_keys=True), op, run_id, t) for o, k, d, f, op in rows])

    def baselines(self, obj: str) -> dict[str, tuple[str, dict[str, str] | None]]:
        """source key -> (digest of the body Pipedrive was last given, its per-field digests or None):
        the latest landed create (whole body only) or delta snapshot that is not rolled back (a
        rolled-back update falls back to what it restored)."""
        landed = ", ".join(f"'{s}'" for s in LANDED)
        found = self.con.execute(
            "select source_key, d, f from ("
            f"  select s.source_key, s.body_digest as d, cast(s.fields as varchar) as f, s.recorded as t"
            f"  from ledger.sent s left join ledger.operations o using (op_id)"
            f"  where s.object = ? and (s.op_id is null or o.status in ({landed}))"
            f"  union all select source_key, request_digest, null, created from ledger.operations"
            f"  where object = ? and method = 'POST' and status in ({landed})) "
            "qualify row_number() over (partition by source_key order by t desc) = 1",
            [obj, obj]).fetchall()
        return {k: (d, json.loads(f) if f else None) for k, d, f in found}

    # -- sample decisions ----------------------------------------------------------------------

    def undecided_sample(self) -> str | None:
        found = self.con.execute("select run_id from ledger.runs r where kind = 'sample' and not exists "
                                 "(select 1 from ledger.sample_decisions d where d.run_id = r.run_id) "
                                 "order by started desc limit 1").fetchone()
        return found[0] if found else None

    def decide_sample(self, run_id: str, decision: str, rollback_run: str | None = None) -> None:
        self.con.execute("insert or replace into ledger.sample_decisions values (?, ?, ?, ?)",
                         [run_id, decision, rollback_run, now()])

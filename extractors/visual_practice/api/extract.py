"""Extract Visual Practice through its REST API into the raw layer, and prove the counts.

1. `/practice` and `/practice/stats` (its `as_of` is the run's server-time mark T0).
2. Main pass: every collection's list (concurrently, within the rate limit), following
   `links.next` — everything on a full run, `q[]=updated_at:>=watermark` on an incremental one.
3. Verification, repeated until the counts agree (at most `heal_passes` heals):
   catch up on what changed since T0 (`updated_at:>=T0`) and on deletions (`/deleted`), read
   `/practice/stats` once, compare with the live ids held per collection; collections that
   differ are healed (`heal.py`) and checked again. A gap that cannot be healed is reported.
4. Document bytes for the live documents (`documents.py`).
Watermarks advance to T0 only for collections whose counts agreed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import duckdb

from extractors.visual_practice import raw
from extractors.visual_practice.api.client import VPClient
from extractors.visual_practice.api.documents import DocumentOutcome, download_documents
from extractors.visual_practice.api.heal import heal_stream
from extractors.visual_practice.api.records import InvalidRecord, to_raw_row
from extractors.visual_practice.api.landing import RawLander
from extractors.visual_practice.api.streams import Stream, ts_param
from vp2pd.config import CustomerConfig
from vp2pd.vp_contract import BY_NAME, COLLECTIONS, PRACTICE, Collection

log = logging.getLogger(__name__)
RECORDS = BY_NAME["custom_object_records"]
CATCH_UP_READS = 4  # reads of a catch-up list that skipped records, before healing takes over


class ApiExtraction:
    def __init__(self, con: duckdb.DuckDBPyConnection, cfg: CustomerConfig, run_id: str, client: VPClient,
                 *, incremental: bool = False) -> None:
        self.con, self.cfg, self.run_id, self.client = con, cfg, run_id, client
        self.incremental = incremental
        self.tmp_dir = cfg.customer_build_dir / "tmp"
        self.streams: dict[str, list[Stream]] = {}
        self.t0: str = ""  # server time at the start of the run, as the API writes it
        self.documents: list[DocumentOutcome] = []
        self._deletions_pulled: set[str] = set()

    @property
    def records_received(self) -> int:
        """Distinct records received so far (benchmarks read it while the run goes on)."""
        return sum(len(s.received) for streams in self.streams.values() for s in streams)

    def _stream(self, coll: Collection, object_key: str | None = None) -> Stream:
        if object_key is None:
            stream = Stream(coll, coll.path.lstrip("/"), coll.name, self.con, self.client, self.run_id,
                            self.tmp_dir, self.cfg.visual_practice.per_page)
        else:
            stream = Stream(coll, f"custom_objects/{object_key}/records", "records", self.con, self.client,
                            self.run_id, self.tmp_dir, self.cfg.visual_practice.per_page, object_key)
        self.streams.setdefault(coll.name, []).append(stream)
        return stream

    # -- the run -------------------------------------------------------------------------------
    async def run(self) -> list[raw.CollectionReport]:
        await self._land_practice()
        stats = await self.client.get_json("practice/stats")
        self.t0 = stats["as_of"]
        counts: dict[str, Any] = stats["counts"]
        present = [c for c in COLLECTIONS if c.name in counts and c is not RECORDS]
        gate = asyncio.Semaphore(self.cfg.visual_practice.concurrency)

        async def main_pass(stream: Stream) -> None:
            async with gate:
                await stream.read_all(self._main_filters(stream))
            log.info("%s: %d records read", stream.name, len(stream.received))

        await asyncio.gather(*(main_pass(self._stream(c)) for c in present))
        if "custom_object_records" in counts:
            keys = [r[0] for r in self.con.execute(
                f"SELECT key FROM {raw.table('custom_objects')} WHERE _deleted_at IS NULL ORDER BY key").fetchall()]
            await asyncio.gather(*(main_pass(self._stream(RECORDS, key)) for key in keys))
            if not keys:
                self.streams["custom_object_records"] = []
        reports = await self._verify()
        reports += [raw.CollectionReport(c.name, "api", status="not_available",
                                         detail="not offered by this practice's plan")
                    for c in COLLECTIONS if c.name not in counts]
        unknown = sorted(set(counts) - set(BY_NAME))
        if unknown:
            log.warning("/practice/stats reports collections the contract does not know: %s", ", ".join(unknown))
        if "documents" in self.streams:
            self.documents = await download_documents(self.con, self.cfg, self.client, self.run_id)
            self._summarise_documents(reports)
        return reports

    async def _land_practice(self) -> None:
        record = await self.client.get_json("practice")
        lander = RawLander(self.con, PRACTICE, self.run_id, self.tmp_dir)
        try:
            lander.add(to_raw_row(PRACTICE, record))
        except InvalidRecord as exc:
            raise InvalidRecord(f"/practice answered an object the contract does not allow: {exc}") from exc
        lander.flush()

    def _main_filters(self, stream: Stream) -> list[str]:
        if self.incremental and stream.coll.incremental:
            since, _ = raw.get_watermark(self.con, stream.name)
            if since is not None:
                return [f"updated_at:>={ts_param(since)}"]
        return []

    @property
    def _t0_datetime(self) -> datetime:
        return datetime.fromisoformat(self.t0.replace("Z", "+00:00")).replace(tzinfo=None)

    # -- verification --------------------------------------------------------------------------
    async def _catch_up(self, stream: Stream, since: str) -> None:
        """Bring a stream up to now: what changed since `since`, and deletions.

        The catch-up list is offset-paged too, so a deletion while it pages makes it skip a record
        (often one just inserted). Every record of the list's last page's `total_entries` is one
        we read or one deleted since: fewer, and the (small) list is read again at once, instead
        of leaving the gap to a heal pass whose own requests give the source more time to move.
        """
        for _ in range(CATCH_UP_READS):
            seen, total = await stream.read_all([f"updated_at:>={since}"]) if stream.coll.incremental else (set(), 0)
            if stream.name in self._deletions_pulled:
                deleted = await stream.pull_deleted(since)
            else:
                # First pull: the whole history on a first extraction, else since the last one.
                self._deletions_pulled.add(stream.name)
                deleted = await stream.pull_deleted(raw.get_watermark(self.con, stream.name)[1])
            if len(seen - {rid for rid, _ in deleted}) >= total:
                return
            log.info("%s: the catch-up list skipped records while paging; reading it again", stream.name)

    async def _verify(self) -> list[raw.CollectionReport]:
        pending = list(self.streams)
        heal_passes = self.cfg.visual_practice.heal_passes
        agreed: dict[str, int] = {}
        remote: dict[str, Any] = {}
        # Each pass catches up on what changed since the previous pass *began* (server time), so
        # nothing slips between passes and a pass re-reads only recent changes, not all since T0.
        since = self.t0
        for attempt in range(heal_passes + 1):
            mark = (await self.client.get_json("practice/stats"))["as_of"]
            await asyncio.gather(*(self._catch_up(s, since) for name in pending for s in self.streams[name]))
            since = mark
            remote = (await self.client.get_json("practice/stats"))["counts"]
            mismatched = []
            for name in pending:
                local = sum(s.local_count() for s in self.streams[name])
                if remote.get(name) == local:
                    agreed[name] = local
                else:
                    mismatched.append(name)
                    log.info("%s: the API lists %s, we hold %d; healing (pass %d)", name, remote.get(name),
                             local, attempt + 1)
            pending = mismatched
            if not pending or attempt == heal_passes:
                break
            await asyncio.gather(*(heal_stream(s) for name in pending for s in self.streams[name]))
        reports = [self._report(name, remote.get(name), name in agreed) for name in self.streams]
        for name in agreed:
            for stream in self.streams[name]:
                raw.set_watermark(self.con, stream.name, self._t0_datetime, self._t0_datetime, self.run_id)
        raw.quarantine(self.con, self.run_id, "api",
                       [q for streams in self.streams.values() for s in streams for q in s.quarantined.values()])
        return reports

    def _report(self, name: str, reported: int | None, ok: bool) -> raw.CollectionReport:
        streams = self.streams[name]
        report = raw.CollectionReport(name, "api", reported=reported)
        report.extracted = raw.live_count(self.con, BY_NAME[name])
        report.healed = sum(s.healed for s in streams)
        report.quarantined = sum(len(s.quarantined) for s in streams)
        report.rows_read = sum(len(s.received) for s in streams)
        report.deleted = sum(s.deleted_flagged for s in streams)
        for s in streams:
            report.counts.add(s.lander.counts)
        if not ok:
            report.status = "gap"
            report.detail = (f"the API lists {reported} but {report.extracted + report.quarantined} were extracted "
                             f"after {self.cfg.visual_practice.heal_passes} healing passes")
        return report

    def _summarise_documents(self, reports: list[raw.CollectionReport]) -> None:
        by_status: dict[str, int] = {}
        for outcome in self.documents:
            by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
        for report in reports:
            if report.collection == "documents" and by_status:
                report.detail = "files: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))


async def extract_api(con: duckdb.DuckDBPyConnection, cfg: CustomerConfig, run_id: str, client: VPClient,
                      *, incremental: bool = False) -> list[raw.CollectionReport]:
    return await ApiExtraction(con, cfg, run_id, client, incremental=incremental).run()


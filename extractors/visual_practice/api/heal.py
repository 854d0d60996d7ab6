"""Find and fetch the records that offset paging skipped, by bisecting id ranges.

Offset paging is not a snapshot: a record deleted while we page moves every later record one
place up, so one is skipped. Once deletions are applied, what we hold is a subset of what the API
lists, so comparing counts per id range locates the gaps: a range whose `total_entries` (one
request with `q[]=id:>=lo&q[]=id:<hi`) exceeds our count is split in two until it fits in one
page, which is then landed. A range where we hold more than the API lists holds records deleted
without a trace in `/deleted`; those are confirmed one by one (404) and flagged.

Cost: about 2·log2(N / per_page) requests per gap, instead of re-reading the collection.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from extractors.visual_practice import raw
from extractors.visual_practice.api.client import VPError
from extractors.visual_practice.api.streams import Stream

log = logging.getLogger(__name__)


async def heal_stream(stream: Stream) -> int:
    """Land what the API lists but we lack; returns how many new ids were healed."""
    before = stream.lander.counts.inserted
    if stream.coll.key != "id":
        await _reread(stream)  # keyed by name (custom object types): small, read it again
    else:
        await _visit(stream, 0, None)
    stream.lander.flush()
    healed = stream.lander.counts.inserted - before
    stream.healed += healed
    return healed


def _range_filters(lo: int, hi: int | None) -> list[str]:
    return [f"id:>={lo}"] + ([f"id:<{hi}"] if hi is not None else [])


async def _visit(stream: Stream, lo: int, hi: int | None) -> None:
    params = [("per_page", stream.per_page), *(("q[]", f) for f in _range_filters(lo, hi))]
    page = await stream.page(stream.path, params)
    local = stream.local_count(lo, hi)
    if page.total == local:
        return
    if page.total <= stream.per_page or (hi is not None and hi - lo <= 1):
        stream.land(page.records)
        listed = {str(r.get("id")) for r in page.records if isinstance(r, dict)}
        if local > page.total:
            await _confirm_vanished(stream, stream.local_ids(lo, hi) - listed)
        return
    # The page is paid for: land it (a skipped record may be on it), then look closer.
    stream.land(page.records)
    top = stream.max_local_id()
    if hi is None:
        if top is None or top < lo:
            # Nothing of ours up there: every record in the range is new; page through it.
            async for more in stream.pages(_range_filters(lo, None)):
                stream.land(more.records)
            return
        await _visit(stream, lo, top + 1)
        await _visit(stream, top + 1, None)
        return
    mid = _split(stream, lo, hi)
    await _visit(stream, lo, mid)
    await _visit(stream, mid, hi)


def _split(stream: Stream, lo: int, hi: int) -> int:
    """Where to cut [lo, hi): at the median id we hold, so both halves hold about as many records.

    Ids are sparse (they start high, churn adds them at the top): cutting at the numeric middle
    spent a dozen requests descending from 0 to the first id. Every request also gives a churning
    source another chance to move records, so fewer requests per pass converge sooner.
    """
    median = stream.median_local_id(lo, hi)
    return median if median is not None and lo < median < hi else (lo + hi) // 2


async def _confirm_vanished(stream: Stream, candidates: set[str]) -> None:
    gone: list[tuple[str, datetime]] = []
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for record_id in sorted(candidates):
        try:
            record = await stream.client.get_json(f"{stream.path}/{record_id}")
        except VPError as exc:
            if exc.status == 404:
                gone.append((record_id, now))
                continue
            raise
        stream.land([record])
    if gone:
        log.warning("%s: %d records vanished without a /deleted entry: %s", stream.name, len(gone),
                    ", ".join(r for r, _ in gone[:10]))
        stream.lander.flush()
        stream.deleted_flagged += raw.mark_deleted(stream.con, stream.coll, gone, stream.run_id)


async def _reread(stream: Stream) -> None:
    listed: set[str] = set()
    async for page in stream.pages():
        stream.land(page.records)
        listed.update(str(r.get(stream.coll.key)) for r in page.records if isinstance(r, dict))
    stream.lander.flush()
    key = stream.coll.key
    held = {r[0] for r in stream.con.execute(
        f'SELECT "{key}" FROM {raw.table(stream.coll)} WHERE _deleted_at IS NULL').fetchall()}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    stream.deleted_flagged += raw.mark_deleted(stream.con, stream.coll, [(k, now) for k in held - listed],
                                               stream.run_id)

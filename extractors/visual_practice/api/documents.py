"""Download document bytes: streamed to disk, resumed with `Range`, verified by sha256.

Which documents: every live one whose verified file is not already on disk. What: per the
customer's `documents.download` (all, within the size limit the load can send, or none); a file
above the limit is recorded as `skipped_size` rather than silently ignored. Each outcome lands in
`raw_visual_practice._document_files`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extractors.visual_practice import raw
from extractors.visual_practice.api.client import TRANSIENT_ERRORS, VPClient, VPError
from extractors.visual_practice.files import document_path, sha256_file
from vp2pd.config import CustomerConfig

log = logging.getLogger(__name__)
RESUME_ATTEMPTS = 5
RECORD_EVERY = 100  # outcomes are recorded as they come, so a crash loses little


@dataclass
class DocumentOutcome:
    document_id: str
    path: Path | None
    status: str  # downloaded | skipped_size | not_requested | missing | sha_mismatch | failed
    size_bytes: int | None
    sha256: str | None
    detail: str | None = None


def _pending(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int | None, str | None]]:
    """Live documents without a verified file on disk for their current content."""
    rows = con.execute(
        f"""SELECT d.id, d.filename, d.size_bytes, d.sha256, f.path, f.status, f.sha256
            FROM {raw.table('documents')} d LEFT JOIN {raw.SCHEMA}._document_files f ON f.document_id = d.id
            WHERE d._deleted_at IS NULL ORDER BY d.id"""
    ).fetchall()
    pending = []
    for doc_id, filename, size, sha, path, status, done_sha in rows:
        if status == "downloaded" and done_sha == sha and path and Path(path).is_file():
            continue
        pending.append((doc_id, filename, size, sha))
    return pending


async def _fetch(client: VPClient, doc_id: str, target: Path) -> None:
    """Stream the content into `<target>.part`, resuming after a dropped connection."""
    part = target.with_name(target.name + ".part")
    for attempt in range(RESUME_ATTEMPTS):
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else None
        try:
            async with client.stream(f"documents/{doc_id}/content", headers=headers) as resp:
                mode = "ab" if resp.status_code == 206 else "wb"  # a 200 ignores the range: start over
                with part.open(mode) as handle:
                    async for chunk in resp.aiter_bytes():  # unbuffered: a drop keeps what arrived
                        handle.write(chunk)
            part.replace(target)
            return
        except TRANSIENT_ERRORS as exc:
            log.debug("document %s: connection lost after %s bytes (%r); resuming", doc_id, have, exc)
            await client.clock.sleep(min(10.0, 0.5 * 2**attempt))
    raise VPError(f"document {doc_id}: download kept failing after {RESUME_ATTEMPTS} resumes")


async def _download(client: VPClient, cfg: CustomerConfig, doc: tuple[str, str, int | None, str | None]) -> DocumentOutcome:
    doc_id, filename, size, sha = doc
    target = document_path(cfg.documents_dir, doc_id, filename)
    limit = cfg.documents.size_limit_mb * 1024 * 1024
    if cfg.documents.download == "none":
        return DocumentOutcome(doc_id, None, "not_requested", size, sha)
    if cfg.documents.download == "within_limit" and size is not None and size > limit:
        return DocumentOutcome(doc_id, None, "skipped_size", size, sha,
                               f"{size} bytes is over the {cfg.documents.size_limit_mb} MB limit: transfer by hand")
    target.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        if size == 0:
            target.write_bytes(b"")  # nothing to fetch; the empty file is the document
        else:
            try:
                await _fetch(client, doc_id, target)
            except VPError as exc:
                status = "missing" if exc.status == 404 else "failed"
                return DocumentOutcome(doc_id, None, status, size, sha, str(exc))
        got = sha256_file(target)
        if sha is None or got == sha:
            return DocumentOutcome(doc_id, target, "downloaded", target.stat().st_size, got)
        log.warning("document %s: sha256 %s does not match the record's %s (attempt %d)", doc_id, got, sha, attempt)
        target.unlink()
    return DocumentOutcome(doc_id, None, "sha_mismatch", size, sha, f"content sha256 {got} differs from the record's")


def _record(con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[DocumentOutcome]) -> None:
    raw.record_document_files(con, [(o.document_id, str(o.path) if o.path else None, o.status, o.size_bytes,
                                     o.sha256, o.detail, run_id) for o in outcomes])


async def download_documents(con: duckdb.DuckDBPyConnection, cfg: CustomerConfig, client: VPClient,
                             run_id: str) -> list[DocumentOutcome]:
    """Download what is pending with `concurrency` workers; returns every outcome."""
    queue = iter(_pending(con))
    outcomes: list[DocumentOutcome] = []
    unrecorded: list[DocumentOutcome] = []

    async def worker() -> None:
        for doc in queue:  # a shared iterator: each document is taken by exactly one worker
            outcome = await _download(client, cfg, doc)
            outcomes.append(outcome)
            unrecorded.append(outcome)
            if len(unrecorded) >= RECORD_EVERY:
                _record(con, run_id, unrecorded)
                unrecorded.clear()

    await asyncio.gather(*(worker() for _ in range(cfg.visual_practice.concurrency)))
    _record(con, run_id, unrecorded)
    return outcomes

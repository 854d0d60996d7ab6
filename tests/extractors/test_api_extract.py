"""API extraction against the in-process Visual Practice sandbox: every id exactly once.

The sandbox runs with a FakeClock, so the real 200 requests/minute limit costs no wall time.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import httpx
import pytest

from extractors.visual_practice import raw
from extractors.visual_practice.run import ExtractionFailed, ExtractionResult, run_extraction
from sandbox.visual_practice.app import create_app
from sandbox.visual_practice.settings import SandboxSettings
from sandbox.visual_practice.store import Store
from vp2pd.clock import FakeClock
from vp2pd.config import CustomerConfig
from vp2pd.vp_contract import COLLECTIONS
from vp2pd.warehouse import connect

KEY = "test-key-9c1e"
START = 1_795_000_000.0  # 2026-11-18, after the generated practice's as_of


class Sandbox:
    def __init__(self, practice: Path, **settings: object) -> None:
        self.store = Store(practice)
        self.clock = FakeClock(START)
        self.app = create_app(self.store, SandboxSettings(api_key=KEY, **settings), self.clock)

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app)

    def extract(self, cfg: CustomerConfig, **kwargs: object) -> ExtractionResult:
        return run_extraction(cfg, source="api", transport=self.transport(), clock=self.clock, **kwargs)

    def live_ids(self, name: str) -> set[str]:
        return set(self.store.ids(name))


def raw_live_ids(cfg: CustomerConfig, name: str) -> list[str]:
    con = connect(cfg.warehouse_path, read_only=True)
    try:
        key = "key" if name == "custom_objects" else "id"
        return [r[0] for r in con.execute(
            f'SELECT "{key}" FROM {raw.table(name)} WHERE _deleted_at IS NULL').fetchall()]
    finally:
        con.close()


def assert_mirrors_store(cfg: CustomerConfig, sandbox: Sandbox, result: ExtractionResult) -> None:
    for report in result.reports:
        if report.status == "not_available":
            continue
        assert report.status == "ok", report
        held = raw_live_ids(cfg, report.collection)
        assert len(held) == len(set(held)), f"{report.collection}: an id landed twice"
        assert set(held) == sandbox.live_ids(report.collection), report.collection
        assert report.reported == report.extracted == len(held)


@pytest.fixture(scope="module")
def messy_enterprise(practice_factory: Callable[..., Path]) -> Path:
    return practice_factory(clients=60, seed=21, plan="enterprise", mess=0.5, documents="metadata")


def test_full_extraction_lands_every_record_once(messy_enterprise: Path, customer) -> None:
    cfg = customer(per_page=25)
    sandbox = Sandbox(messy_enterprise)
    result = sandbox.extract(cfg)
    assert_mirrors_store(cfg, sandbox, result)
    assert {r.collection for r in result.reports} == {c.name for c in COLLECTIONS}
    con = connect(cfg.warehouse_path, read_only=True)
    # Nested values and sources survive: an invoice's lines, a client's e-mails, the practice row.
    lines = con.execute(f"SELECT sum(len(lines)) FROM {raw.table('invoices')}").fetchone()[0]
    stored_lines = sum(len(json.loads(d)["lines"]) for d in sandbox.store.list("invoices", per_page=10**6)[0])
    assert lines == stored_lines > 0
    assert con.execute(f"SELECT count(*), min(_source) FROM {raw.table('practice')}").fetchone() == (1, "api")
    # Deleted history landed (the generator deletes clients whose appointments remain).
    deleted = con.execute(f"SELECT count(*) FROM {raw.SCHEMA}._deleted WHERE collection = 'clients'").fetchone()[0]
    assert deleted == sandbox.store.list_deleted("clients", per_page=10**6)[1] > 0
    # Within the document size limit, bytes are on disk and verified; larger files are listed.
    files = dict(con.execute(f"SELECT status, count(*) FROM {raw.SCHEMA}._document_files GROUP BY 1").fetchall())
    sizes = con.execute(f"SELECT count(*) FILTER (WHERE size_bytes > 50 * 1024 * 1024), count(*) "
                        f"FROM {raw.table('documents')}").fetchone()
    assert files.get("skipped_size", 0) == sizes[0] and files["downloaded"] == sizes[1] - sizes[0]
    for path, sha in con.execute(f"SELECT path, sha256 FROM {raw.SCHEMA}._document_files WHERE status = 'downloaded'").fetchall():
        from extractors.visual_practice.files import sha256_file
        assert sha256_file(Path(path)) == sha
    con.close()


def test_faults_and_churn_still_land_every_live_id_exactly_once(messy_enterprise: Path, customer) -> None:
    cfg = customer(per_page=10)
    sandbox = Sandbox(messy_enterprise, fault_rate=0.08, churn=0.4, seed=5)
    result = sandbox.extract(cfg)
    stats = sandbox.app.state.stats
    assert sum(stats.faults.values()) > 0, "the drill injected no fault"
    churned = sum(len(v) for v in stats.churn_deleted.values())
    assert churned > 0, "the drill deleted nothing while paging"
    assert_mirrors_store(cfg, sandbox, result)
    assert sum(r.healed for r in result.reports) > 0  # naive paging skipped records; healing found them
    # Every record the churn deleted is flagged, none is live in raw.
    con = connect(cfg.warehouse_path, read_only=True)
    for name, ids in stats.churn_deleted.items():
        for record_id in ids:
            assert con.execute(f"SELECT _deleted_at IS NOT NULL FROM {raw.table(name)} WHERE id = ?",
                               [record_id]).fetchone() in (None, (True,))
    con.close()


def test_rate_limit_is_respected_without_meeting_429(messy_enterprise: Path, customer) -> None:
    cfg = customer(per_page=5, requests_per_minute=200)
    sandbox = Sandbox(messy_enterprise, requests_per_minute=200)
    result = sandbox.extract(cfg)
    stats = sandbox.app.state.stats
    assert stats.requests > 200  # enough pages to need more than one window
    assert stats.rate_limited == 0  # the client paced itself
    assert sandbox.clock.now() - START >= 60 * ((stats.requests - 1) // 200) - 1
    assert_mirrors_store(cfg, sandbox, result)


def test_server_429s_are_waited_out(messy_enterprise: Path, customer) -> None:
    # The client believes it may send 1000 a minute; the server allows 50: every 429 is honoured.
    cfg = customer(per_page=20, requests_per_minute=1000)
    sandbox = Sandbox(messy_enterprise, requests_per_minute=50)
    result = sandbox.extract(cfg)
    assert sandbox.app.state.stats.rate_limited > 0
    assert_mirrors_store(cfg, sandbox, result)


def test_incremental_run_picks_up_exactly_the_changes(messy_enterprise: Path, customer) -> None:
    cfg = customer(per_page=50)
    sandbox = Sandbox(messy_enterprise)
    sandbox.extract(cfg)
    again = {r.collection: r for r in sandbox.extract(cfg, incremental=True).reports}
    assert sum(r.counts.inserted + r.counts.updated for r in again.values()) == 0

    sandbox.clock.advance(3600)
    now = datetime.fromtimestamp(sandbox.clock.now(), timezone.utc)
    clients = sorted(sandbox.live_ids("clients"))
    for record_id in clients[:3]:
        sandbox.store.update("clients", record_id, {"last_name": "CHANGED"}, now)
    gone = sorted(sandbox.live_ids("appointments"))[:2]
    for record_id in gone:
        sandbox.store.delete("appointments", record_id, now)
    new = sandbox.store.insert("clients", {**json.loads(sandbox.store.get("clients", clients[5])),
                                           "id": None, "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                           "updated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")} | {"id": "999999"})
    result = sandbox.extract(cfg, incremental=True)
    by = {r.collection: r for r in result.reports}
    assert (by["clients"].counts.inserted, by["clients"].counts.updated) == (1, 3)
    assert by["appointments"].deleted == 2
    assert new["id"] in raw_live_ids(cfg, "clients")
    assert not set(gone) & set(raw_live_ids(cfg, "appointments"))
    assert_mirrors_store(cfg, sandbox, result)
    # Only the changed rows carry the new run; the rest keep the run that first landed them.
    con = connect(cfg.warehouse_path, read_only=True)
    assert con.execute(f"SELECT count(*) FROM {raw.table('clients')} WHERE _run_id = ?", [result.run_id]).fetchone()[0] == 4
    con.close()


def test_invalid_record_is_quarantined_with_its_reason(messy_enterprise: Path, customer) -> None:
    cfg = customer()
    sandbox = Sandbox(messy_enterprise)
    victim = sorted(sandbox.live_ids("appointments"))[0]
    sandbox.store.update("appointments", victim, {"starts_at": "next tuesday"},
                         datetime(2026, 11, 1, tzinfo=timezone.utc))
    by = {r.collection: r for r in sandbox.extract(cfg).reports}
    appointments = by["appointments"]
    assert appointments.status == "ok"
    assert appointments.quarantined == 1
    assert appointments.reported == appointments.extracted + appointments.quarantined
    con = connect(cfg.warehouse_path, read_only=True)
    row = con.execute(f"SELECT line_or_id, reason, raw_text FROM {raw.SCHEMA}._quarantine").fetchone()
    con.close()
    assert row[0] == victim and "starts_at" in row[1] and "next tuesday" in row[2]


class HidingTransport(httpx.AsyncBaseTransport):
    """Drops one record from every list answer: a gap no amount of paging can heal."""

    def __init__(self, inner: httpx.AsyncBaseTransport, collection: str, record_id: str) -> None:
        self.inner, self.collection, self.record_id = inner, collection, record_id

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith(f"/{self.collection}") and response.status_code == 200:
            body = json.loads(await response.aread())
            body[self.collection] = [r for r in body[self.collection] if r["id"] != self.record_id]
            return httpx.Response(200, json=body, headers={"content-type": "application/json"})
        return response


def test_unhealable_gap_fails_with_a_clear_message_and_a_report(messy_enterprise: Path, customer) -> None:
    cfg = customer(heal_passes=2)
    sandbox = Sandbox(messy_enterprise)
    hidden = sorted(sandbox.live_ids("staff"))[0]
    with pytest.raises(ExtractionFailed, match=r"staff: the API lists \d+ but \d+ were extracted"):
        run_extraction(cfg, source="api", transport=HidingTransport(sandbox.transport(), "staff", hidden),
                       clock=sandbox.clock)
    con = connect(cfg.warehouse_path, read_only=True)
    assert con.execute(f"SELECT status FROM {raw.SCHEMA}._extract_report WHERE collection = 'staff'").fetchone() == ("gap",)
    assert con.execute(f"SELECT status FROM {raw.SCHEMA}._runs").fetchone() == ("gap",)
    con.close()


def test_standard_plan_reports_custom_objects_as_not_available(practice_factory, customer) -> None:
    practice = practice_factory(clients=20, seed=3, plan="standard", mess=0.0, documents="metadata")
    cfg = customer()
    sandbox = Sandbox(practice)
    by = {r.collection: r for r in sandbox.extract(cfg).reports}
    assert by["custom_objects"].status == by["custom_object_records"].status == "not_available"
    assert all(r.reported == r.extracted for r in by.values() if r.status == "ok")


class CuttingTransport(httpx.AsyncBaseTransport):
    """Cuts the first download of each document in the middle, as a dropped connection would."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.cut: set[str] = set()
        self.sizes: list[int] = []
        self.ranges: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path
        if "range" in request.headers:
            self.ranges.append(request.headers["range"])
        if path.endswith("/content") and path not in self.cut and response.status_code == 200:
            body = await response.aread()
            if len(body) < 2:
                return httpx.Response(200, headers=response.headers, content=body)
            self.cut.add(path)
            self.sizes.append(len(body))

            class Broken(httpx.AsyncByteStream):
                async def __aiter__(self):
                    yield body[: len(body) // 2]
                    raise httpx.ReadError("connection dropped")

            return httpx.Response(200, headers=response.headers, stream=Broken())
        return response


def test_document_download_resumes_with_range_after_a_drop(practice_factory, customer) -> None:
    practice = practice_factory(clients=20, seed=3, plan="standard", mess=0.0, documents="metadata")
    cfg = customer()
    sandbox = Sandbox(practice)
    cutting = CuttingTransport(sandbox.transport())
    run_extraction(cfg, source="api", transport=cutting, clock=sandbox.clock)
    con = connect(cfg.warehouse_path, read_only=True)
    rows = con.execute(f"SELECT d.sha256, f.status, f.sha256, f.path FROM {raw.table('documents')} d "
                       f"JOIN {raw.SCHEMA}._document_files f ON f.document_id = d.id WHERE d.size_bytes > 1").fetchall()
    con.close()
    assert rows and len(cutting.cut) == len(rows)
    assert all(status == "downloaded" and want == got for want, status, got, _ in rows)
    # Each cut download resumed once, from the half that had arrived.
    assert sorted(cutting.ranges) == sorted(f"bytes={size // 2}-" for size in cutting.sizes)
    assert all(not Path(path + ".part").exists() for *_, path in rows)


def test_content_that_does_not_match_its_sha256_is_not_kept(practice_factory, customer) -> None:
    practice = practice_factory(clients=20, seed=3, plan="standard", mess=0.0, documents="metadata")
    cfg = customer()
    sandbox = Sandbox(practice)
    victim = sorted(sandbox.live_ids("documents"))[0]
    sandbox.store.update("documents", victim, {"sha256": "0" * 64}, datetime(2026, 11, 1, tzinfo=timezone.utc))
    sandbox.extract(cfg)
    con = connect(cfg.warehouse_path, read_only=True)
    status, path, detail = con.execute(f"SELECT status, path, detail FROM {raw.SCHEMA}._document_files "
                                       "WHERE document_id = ?", [victim]).fetchone()
    con.close()
    assert status == "sha_mismatch" and path is None and "differs" in detail
    assert not any((cfg.documents_dir / victim).iterdir())

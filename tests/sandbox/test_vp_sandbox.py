"""The Visual Practice sandbox against CONTRACT.md section 1, in-process (httpx ASGITransport) and over TCP.

The practices are written here with StoreWriter, small and exact, so every expectation is known.
pytest-asyncio is not a dependency: async test bodies run under `asyncio.run` via `run_async`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import math
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import pytest

from sandbox.serving import run_in_thread
from sandbox.visual_practice import documents
from sandbox.visual_practice.app import create_app
from sandbox.visual_practice.server import start
from sandbox.visual_practice.settings import SandboxSettings
from sandbox.visual_practice.store import Store, StoreWriter, iso
from vp2pd.clock import FakeClock

API_KEY = "test-key-3f9a"
AUTH = httpx.BasicAuth(API_KEY, "")
HEADERS = {"User-Agent": "vp2pd-tests/1.0"}
BASE = "http://vp.test/api/v1"
CLIENTS = 130
SEED = 11
T0 = datetime(2025, 1, 6, 9, 0, 0)  # naive UTC, as the store keeps timestamps
NOW = 1_795_000_000.0  # FakeClock start: 2026-11-18, after every generated timestamp


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


# -- a small practice, written exactly -------------------------------------------------------------
class PracticeWriter:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writer = StoreWriter(folder)
        self.last_id = 100_000

    def new_id(self) -> str:
        self.last_id += 1
        return str(self.last_id)

    def add(self, name: str, record: dict[str, Any], object_key: str | None = None) -> dict[str, Any]:
        self.writer.add(name, record, object_key)
        return record


def _address(city: str) -> dict[str, str | None]:
    return {"line1": "12 King St W", "line2": None, "city": city, "province": "ON",
            "postal_code": "M5H 1A1", "country": "CA"}


def stamps(i: int) -> dict[str, str]:
    created = T0 + timedelta(hours=i)
    return {"created_at": iso(created), "updated_at": iso(created + timedelta(days=i % 40))}


def write_practice(folder: Path, plan: str, documents_mode: str) -> None:
    p = PracticeWriter(folder)
    w = p.writer
    w.set_meta("practice", {
        "id": "1", "name": "Bayview Physio", "legal_name": "Bayview Physiotherapy Inc.", "phone": "416-555-0100",
        "email": "front@bayview.example", "website": "https://bayview.example", "address": _address("Toronto"),
        "timezone": "America/Toronto", "currency": "CAD", "plan": plan,
    })
    w.set_meta("documents_mode", documents_mode)
    w.set_meta("seed", SEED)
    locations = [p.add("locations", {"id": p.new_id(), "name": f"Branch {n}", "code": f"B{n}",
                                     "address": _address("Toronto"), "phone": "416-555-0101", "is_active": True})
                 for n in range(2)]
    staff = [p.add("staff", {"id": p.new_id(), "first_name": "Ann", "last_name": f"Lee{n}", "email": f"ann{n}@x.ca",
                             "role": "practitioner", "billing_number": f"0{n}4411", "specialty": "physio",
                             "location_ids": [locations[n % 2]["id"]], "is_active": True, **stamps(n)})
             for n in range(3)]
    parent = p.add("organizations", {"id": p.new_id(), "name": "Acme Holdings", "parent_id": None, "phone": None,
                                     "website": None, "address": _address("Ottawa"), "location_id": None, **stamps(0)})
    orgs = [parent] + [p.add("organizations", {"id": p.new_id(), "name": f"Acme {n}", "parent_id": parent["id"],
                                               "phone": None, "website": None, "address": _address("Ottawa"),
                                               "location_id": locations[0]["id"], **stamps(n + 1)})
                       for n in range(2)]
    referral = p.add("referral_sources", {"id": p.new_id(), "name": "Google", "type": "search", "is_active": True})
    service = p.add("services", {"id": p.new_id(), "code": "PT1", "name": "Assessment", "category": "physio",
                                 "duration_minutes": 45, "default_fee": "125.00", "is_billable": True,
                                 "is_active": True})
    clients = []
    for n in range(CLIENTS):
        # Pairs of clients share a created_at, so the id tie-break of the default order is exercised.
        clients.append(p.add("clients", {
            "id": p.new_id(), "chart_number": f"{n:06d}", "title": None, "first_name": f"Émile{n}",
            "last_name": "Tremblay", "display_name": f"TREMBLAY, ÉMILE{n}", "sex": "M", "date_of_birth": "1980-02-03",
            "health_number": "1234567890", "version_code": "AB",
            "emails": [{"address": f"e{n}@x.ca", "label": "home", "primary": True}], "phones": [],
            "address": _address("Toronto"), "organization_id": orgs[n % 3]["id"] if n % 4 else None,
            "location_id": locations[n % 2]["id"], "status": "active", "status_changed_at": None,
            "referral_source_id": referral["id"], "utm": None, "default_practitioner_id": staff[n % 3]["id"],
            "contacts": [], "custom_properties": {"Allergies": "none"}, "archived_at": None, "merged_into_id": None,
            **stamps(n // 2),
        }))
    for n, client in enumerate(clients[:5]):
        appointment = p.add("appointments", {
            "id": p.new_id(), "client_id": client["id"], "practitioner_id": staff[0]["id"],
            "location_id": locations[0]["id"], "service_id": service["id"], "starts_at": "2025-03-01T14:00:00Z",
            "ends_at": "2025-03-01T14:45:00Z", "status": "completed", "cancellation_reason": None,
            "channel": "in_person", "notes": "", **stamps(200 + n)})
        p.add("appointment_notes", {"id": p.new_id(), "appointment_id": appointment["id"], "client_id": client["id"],
                                    "author_id": staff[0]["id"], "subjective": "<p>sore</p>", "objective": "",
                                    "assessment": "", "plan": "<ul><li>rest</li></ul>", "signed_at": None,
                                    **stamps(201 + n)})
        contract = p.add("service_contracts", {
            "id": p.new_id(), "client_id": client["id"], "service_id": service["id"], "practitioner_id": None,
            "title": "Rehab", "start_date": "2025-03-01", "end_date": None, "frequency": "weekly", "value": "500.00",
            "currency": "CAD", "status": "active", **stamps(190 + n)})
        p.add("service_records", {"id": p.new_id(), "client_id": client["id"], "service_id": service["id"],
                                  "practitioner_id": staff[0]["id"], "appointment_id": appointment["id"],
                                  "contract_id": contract["id"], "status": "completed", "quantity": "1.000",
                                  "unit_price": "125.00", "performed_on": "2025-03-01", **stamps(202 + n)})
        invoice = p.add("invoices", {
            "id": p.new_id(), "invoice_number": f"INV-{n}", "client_id": client["id"], "contract_id": contract["id"],
            "bill_type": "private", "issue_date": "2025-03-02", "due_date": "2025-04-01", "status": "issued",
            "currency": "CAD", "total": "125.00", "balance": "125.00", "lines": [], "payments": [],
            **stamps(203 + n)})
        p.add("claims", {"id": p.new_id(), "invoice_id": invoice["id"], "client_id": client["id"], "payer": "OHIP",
                         "health_number": "1234567890", "version_code": "AB", "diagnostic_code": "847",
                         "submitted_on": "2025-03-03", "status": "submitted", **stamps(204 + n)})
    write_documents(p, clients[0]["id"], documents_mode)
    if plan == "enterprise":
        for key, count in (("vehicle", 3), ("policy", 2)):
            p.add("custom_objects", {"key": key, "label": key.title(), "fields": [{"key": "name", "label": "Name",
                                                                                  "type": "text"}],
                                     "relations": [{"to": "clients", "kind": "many_to_one"}]})
            for n in range(count):
                p.add("custom_object_records", {"id": p.new_id(), "object_key": key, "fields": {"name": f"{key} {n}"},
                                                "links": {"client_ids": [clients[n]["id"]], "organization_ids": []},
                                                **stamps(300 + n)}, object_key=key)
        w.add_deleted("custom_object_records", p.new_id(), T0 + timedelta(days=3), object_key="vehicle")
    for name, body in (("automations", "trigger"), ("templates", "body"), ("reports", "definition")):
        p.add(name, {"id": p.new_id(), "name": f"{name} one", "kind": "email", body: {"x": 1}, "is_active": True})
    # Three clients deleted before the practice was generated, on three different days.
    for day in (1, 2, 3):
        w.add_deleted("clients", p.new_id(), T0 + timedelta(days=day))
    w.close()


def write_documents(p: PracticeWriter, client_id: str, mode: str) -> None:
    sizes = {"application/pdf": 200_000, "text/plain": 0}  # several 64 KiB chunks; and an empty file
    for content_type, size in sizes.items():
        document_id = p.new_id()
        if mode == "full":
            data = random.Random(document_id).randbytes(size)
            (p.folder / "documents").mkdir(exist_ok=True)
            (p.folder / "documents" / document_id).write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
        else:
            digest = documents.sha256(SEED, document_id, size, content_type)
        p.add("documents", {"id": document_id, "client_id": client_id, "appointment_id": None,
                            "filename": f"plan {document_id}.pdf", "content_type": content_type,
                            "size_bytes": size, "sha256": digest, "category": "treatment_plan",
                            "uploaded_at": "2025-02-01T10:00:00Z", "updated_at": "2025-02-01T10:00:00Z"})


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("standard")
    write_practice(folder, "standard", "full")
    return folder


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("enterprise")
    write_practice(folder, "enterprise", "metadata")
    return folder


class Sandbox:
    """A fresh in-memory copy of a practice behind the app, with a FakeClock and a client for it."""

    def __init__(self, practice: Path, **settings: Any) -> None:
        self.store = Store(practice, in_memory=True)
        self.clock = FakeClock(NOW)
        self.app = create_app(self.store, SandboxSettings(api_key=API_KEY, **settings), self.clock)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE,
                                      auth=AUTH, headers=HEADERS)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        response = await self.get(path, **kwargs)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    async def page_all(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Follow links.next from the first page to the last, as a client should."""
        records: list[dict[str, Any]] = []
        body = await self.get_json(path, params=params)
        records += body[key]
        while "next" in body["links"]:
            body = await self.get_json(body["links"]["next"])
            records += body[key]
        return records


def order_key(record: dict[str, Any]) -> tuple[str, int]:
    return record.get("created_at") or "", int(record["id"])


# -- auth, headers, parameters ---------------------------------------------------------------------
@run_async
async def test_user_agent_is_checked_before_auth_and_bad_keys_get_401(standard: Path) -> None:
    sb = Sandbox(standard)
    no_agent = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app), base_url=BASE)
    del no_agent.headers["user-agent"]
    for auth in (None, AUTH, httpx.BasicAuth("wrong", "")):
        response = await no_agent.get("/clients", auth=auth)
        assert response.status_code == 400
        assert response.json()["error"] == "user_agent_required"
    for auth in (None, httpx.BasicAuth("wrong", ""), httpx.BasicAuth(API_KEY, "not-empty")):
        response = await sb.get("/clients", auth=auth)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized"}
        assert response.headers["www-authenticate"].startswith("Basic")
    response = await sb.get("/clients", auth=None, headers={"Authorization": "Bearer " + API_KEY})
    assert response.status_code == 401
    # Refused requests are not counted against the key's limit: the first good one has 199 left.
    response = await sb.get("/clients")
    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit"] == "200"
    assert response.headers["x-ratelimit-remaining"] == "199"
    assert sb.app.state.stats.by_status == {400: 3, 401: 4, 200: 1}


@run_async
async def test_page_parameters_are_bounded(standard: Path) -> None:
    sb = Sandbox(standard)
    for params, parameter in (({"per_page": 0}, "per_page"), ({"per_page": 101}, "per_page"),
                              ({"per_page": "ten"}, "per_page"), ({"page": 0}, "page"), ({"page": "-1"}, "page"),
                              ({"page": 10**10}, "page")):
        response = await sb.get("/clients", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"] == "invalid_parameter"
        assert response.json()["parameter"] == parameter
    assert len((await sb.get_json("/clients"))["clients"]) == 50
    assert len((await sb.get_json("/clients", params={"per_page": 100}))["clients"]) == 100
    beyond = await sb.get_json("/clients", params={"page": 9, "per_page": 100})
    assert beyond["clients"] == [] and beyond["total_entries"] == CLIENTS
    assert "next" not in beyond["links"] and beyond["links"]["previous"].endswith("page=8")


# -- lists and paging --------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", ["standard", "enterprise"])
@run_async
async def test_following_next_yields_every_record_once_in_contract_order(practice: str,
                                                                        request: pytest.FixtureRequest) -> None:
    sb = Sandbox(request.getfixturevalue(practice))
    paths = {name: (f"/{name}", name) for name in ("locations", "staff", "organizations", "referral_sources",
                                                   "services", "clients", "service_contracts", "service_records",
                                                   "appointments", "appointment_notes", "invoices", "claims",
                                                   "documents", "automations", "templates", "reports")}
    if practice == "enterprise":
        paths["custom_objects"] = ("/custom_objects", "custom_objects")
    for name, (path, key) in paths.items():
        records = await sb.page_all(path, key, per_page=7)
        ids = [r["key"] if name == "custom_objects" else r["id"] for r in records]
        assert len(ids) == len(set(ids)), name
        assert sorted(ids) == sb.store.ids(name), name
        if name != "custom_objects":
            assert records == sorted(records, key=order_key), name
        # Records come out exactly as stored.
        assert records[0] == json.loads(sb.store.get(name, ids[0])), name
    first = await sb.get_json("/clients", params={"per_page": 7})
    assert first["total_entries"] == CLIENTS and "previous" not in first["links"]
    assert first["links"]["self"] == f"{BASE}/clients?per_page=7"
    assert first["links"]["next"] == f"{BASE}/clients?per_page=7&page=2"
    last = await sb.get_json("/clients", params={"per_page": 7, "page": 19})
    assert len(last["clients"]) == CLIENTS - 18 * 7 and "next" not in last["links"]


@run_async
async def test_links_keep_every_query_parameter(standard: Path) -> None:
    sb = Sandbox(standard)
    query = "q[]=id:>100020&q[]=updated_at:>=2025-01-01T00:00:00Z&per_page=5&page=2"
    body = await sb.get_json(f"/clients?{query}")
    nxt = httpx.URL(body["links"]["next"])
    assert nxt.params.get_list("q[]") == ["id:>100020", "updated_at:>=2025-01-01T00:00:00Z"]
    assert nxt.params["per_page"] == "5" and nxt.params["page"] == "3"
    assert httpx.URL(body["links"]["previous"]).params["page"] == "1"
    assert body["links"]["self"] == f"{BASE}/clients?{query}".replace(">", "%3E")


# -- filters -----------------------------------------------------------------------------------------
def _all(store: Store, name: str) -> list[dict[str, Any]]:
    docs, _ = store.list(name, per_page=10_000)
    return [json.loads(d) for d in docs]


@run_async
async def test_filters_on_id_timestamps_and_foreign_keys_combine_with_and(standard: Path) -> None:
    sb = Sandbox(standard)
    clients = _all(sb.store, "clients")
    org = clients[1]["organization_id"]
    pivot = clients[60]
    cases: list[tuple[list[str], Callable[[dict[str, Any]], bool]]] = [
        ([f"id:>{pivot['id']}"], lambda c: int(c["id"]) > int(pivot["id"])),
        ([f"id:<={pivot['id']}"], lambda c: int(c["id"]) <= int(pivot["id"])),
        ([f"id:={pivot['id']}"], lambda c: c["id"] == pivot["id"]),
        ([f"id:!={pivot['id']}"], lambda c: c["id"] != pivot["id"]),
        ([f"created_at:>={pivot['created_at']}"], lambda c: c["created_at"] >= pivot["created_at"]),
        ([f"created_at:<{pivot['created_at']}"], lambda c: c["created_at"] < pivot["created_at"]),
        (["updated_at:>2025-02-01T00:00:00Z"], lambda c: c["updated_at"] > "2025-02-01T00:00:00Z"),
        ([f"organization_id:={org}"], lambda c: c["organization_id"] == org),
        ([f"organization_id:={org}", f"updated_at:>{pivot['updated_at']}", f"id:!={clients[-3]['id']}"],
         lambda c: c["organization_id"] == org and c["updated_at"] > pivot["updated_at"]
         and c["id"] != clients[-3]["id"]),
    ]
    for filters, keep in cases:
        expected = [c["id"] for c in clients if keep(c)]
        assert expected, filters  # every case selects something, and...
        assert len(expected) < len(clients) or filters[0].startswith("id:!="), filters  # ...most leave some out
        records = await sb.page_all("/clients", "clients", per_page=25, **{"q[]": filters})
        assert [r["id"] for r in records] == expected, filters
        first = await sb.get_json("/clients", params={"q[]": filters})
        assert first["total_entries"] == len(expected), filters
    appointments = await sb.get_json("/appointments", params={"q[]": f"client_id:={clients[2]['id']}"})
    assert [a["client_id"] for a in appointments["appointments"]] == [clients[2]["id"]]


@run_async
async def test_bad_filters_answer_400_naming_the_field(standard: Path) -> None:
    sb = Sandbox(standard)
    cases = {
        "first_name:=Ann": "first_name",  # not filterable
        "nosuch:=1": "nosuch",
        "updated_at:>yesterday": "updated_at",
        "id:>abc": "id",
        "client_id:1": "client_id",  # no operator
    }
    for text, field in cases.items():
        response = await sb.get("/appointments", params={"q[]": text})
        assert response.status_code == 400, text
        body = response.json()
        assert body["error"] == "invalid_parameter" and body["parameter"] == "q[]"
        assert body["field"] == field and field in body["message"], text
    response = await sb.get("/clients/deleted", params={"q[]": "updated_at:>2025-01-01T00:00:00Z"})
    assert response.status_code == 400 and response.json()["field"] == "updated_at"


# -- single records, 404 -----------------------------------------------------------------------------
@run_async
async def test_single_records_and_404s(standard: Path) -> None:
    sb = Sandbox(standard)
    client_id = sb.store.ids("clients")[5]
    assert await sb.get_json(f"/clients/{client_id}") == json.loads(sb.store.get("clients", client_id))
    for path in ("/clients/999999", f"/appointments/{client_id}", "/nosuch", "/nosuch/1", "/clients/1/x/y",
                 "/practice/deleted", "/documents/999999/content"):
        response = await sb.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "not_found"}, path
        assert "x-ratelimit-remaining" in response.headers
    outside = await sb.http.get("http://vp.test/elsewhere")
    assert outside.status_code == 404 and outside.json() == {"error": "not_found"}
    wrong_method = await sb.http.post("/clients")
    assert wrong_method.status_code == 405 and wrong_method.json() == {"error": "method_not_allowed"}


# -- deleted -----------------------------------------------------------------------------------------
@run_async
async def test_deleted_lists_deletions_and_filters_by_deleted_at(standard: Path) -> None:
    sb = Sandbox(standard)
    gone = sb.store.ids("clients")[10]
    assert sb.store.delete("clients", gone, at=datetime.fromtimestamp(NOW).astimezone())
    body = await sb.get_json("/clients/deleted", params={"per_page": 2})
    assert body["total_entries"] == 4 and len(body["deleted"]) == 2 and "next" in body["links"]
    rows = await sb.page_all("/clients/deleted", "deleted", per_page=2)
    assert [r["deleted_at"] for r in rows] == ["2025-01-07T09:00:00Z", "2025-01-08T09:00:00Z",
                                               "2025-01-09T09:00:00Z", "2026-11-18T11:06:40Z"]
    assert rows[-1] == {"id": gone, "deleted_at": "2026-11-18T11:06:40Z"}
    later = await sb.get_json("/clients/deleted", params={"q[]": "deleted_at:>2025-01-08T09:00:00Z"})
    assert [r["deleted_at"] for r in later["deleted"]] == ["2025-01-09T09:00:00Z", "2026-11-18T11:06:40Z"]
    by_id = await sb.get_json("/clients/deleted", params={"q[]": f"id:={gone}"})
    assert by_id["deleted"] == [rows[-1]]
    assert (await sb.get(f"/clients/{gone}")).status_code == 404
    assert (await sb.get_json("/appointments/deleted"))["deleted"] == []


# -- practice, stats, plans --------------------------------------------------------------------------
@run_async
async def test_practice_and_stats_match_the_store_and_standard_plan_hides_custom_objects(standard: Path) -> None:
    sb = Sandbox(standard)
    assert (await sb.get_json("/practice"))["plan"] == "standard"
    stats = await sb.get_json("/practice/stats")
    expected = sb.store.counts()
    del expected["custom_objects"], expected["custom_object_records"]
    assert stats == {"counts": expected, "as_of": "2026-11-18T11:06:40Z"}
    assert stats["counts"]["clients"] == CLIENTS
    for path in ("/custom_objects", "/custom_objects/deleted", "/custom_objects/vehicle",
                 "/custom_objects/vehicle/records", "/custom_objects/vehicle/records/deleted"):
        response = await sb.get(path)
        assert response.status_code == 404 and response.json() == {"error": "not_found"}, path


@run_async
async def test_enterprise_serves_custom_objects_and_their_records_per_key(enterprise: Path) -> None:
    sb = Sandbox(enterprise)
    stats = await sb.get_json("/practice/stats")
    assert stats["counts"] == sb.store.counts()
    assert stats["counts"]["custom_objects"] == 2 and stats["counts"]["custom_object_records"] == 5
    definitions = await sb.get_json("/custom_objects")
    assert [d["key"] for d in definitions["custom_objects"]] == ["policy", "vehicle"]
    assert (await sb.get_json("/custom_objects/vehicle"))["label"] == "Vehicle"
    vehicles = await sb.page_all("/custom_objects/vehicle/records", "records", per_page=2)
    policies = await sb.page_all("/custom_objects/policy/records", "records", per_page=2)
    assert [r["fields"]["name"] for r in vehicles] == ["vehicle 0", "vehicle 1", "vehicle 2"]
    assert [r["object_key"] for r in policies] == ["policy", "policy"]
    one = vehicles[1]
    assert await sb.get_json(f"/custom_objects/vehicle/records/{one['id']}") == one
    assert (await sb.get(f"/custom_objects/policy/records/{one['id']}")).status_code == 404
    assert (await sb.get("/custom_objects/boats/records")).status_code == 404
    filtered = await sb.get_json("/custom_objects/vehicle/records", params={"q[]": f"id:>{vehicles[0]['id']}"})
    assert [r["id"] for r in filtered["records"]] == [r["id"] for r in vehicles[1:]]
    assert len((await sb.get_json("/custom_objects/vehicle/records/deleted"))["deleted"]) == 1
    assert (await sb.get_json("/custom_objects/policy/records/deleted"))["deleted"] == []


# -- document content --------------------------------------------------------------------------------
@pytest.mark.parametrize("practice", ["standard", "enterprise"])  # documents_mode full / metadata
@run_async
async def test_document_content_matches_its_sha256_and_serves_ranges(practice: str,
                                                                   request: pytest.FixtureRequest) -> None:
    sb = Sandbox(request.getfixturevalue(practice))
    docs = {d["content_type"]: d for d in (await sb.get_json("/documents"))["documents"]}
    pdf, empty = docs["application/pdf"], docs["text/plain"]
    url = f"/documents/{pdf['id']}/content"
    whole = await sb.get(url)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == pdf["sha256"]
    assert whole.headers["content-type"] == "application/pdf"
    assert whole.headers["content-length"] == str(pdf["size_bytes"]) == str(len(whole.content))
    assert whole.headers["accept-ranges"] == "bytes"
    size, data = pdf["size_bytes"], whole.content
    ranges = {"bytes=65530-65545": (65530, 65546),  # across a 64 KiB chunk boundary
              "bytes=199990-": (199990, size), "bytes=-10": (size - 10, size),
              "bytes=0-0": (0, 1), "bytes=199000-500000": (199000, size), "bytes=-999999": (0, size)}
    for header, (start, stop) in ranges.items():
        part = await sb.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == data[start:stop], header
        assert part.headers["content-range"] == f"bytes {start}-{stop - 1}/{size}", header
        assert part.headers["content-length"] == str(stop - start), header
    for header in ("bytes=200000-", "bytes=999999-1000000", "bytes=-0"):
        refused = await sb.get(url, headers={"Range": header})
        assert refused.status_code == 416, header
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert refused.json()["error"] == "range_not_satisfiable"
    for header in ("bytes=5-2", "bytes=0-1,5-6", "lines=1-2"):  # not one valid byte range: ignored
        ignored = await sb.get(url, headers={"Range": header})
        assert ignored.status_code == 200 and len(ignored.content) == size, header
    zero = await sb.get(f"/documents/{empty['id']}/content")
    assert zero.status_code == 200 and zero.content == b"" and zero.headers["content-type"] == "text/plain"
    assert hashlib.sha256(b"").hexdigest() == empty["sha256"]
    assert (await sb.get(f"/documents/{empty['id']}/content", headers={"Range": "bytes=0-"})).status_code == 416


@pytest.mark.parametrize("practice", ["standard", "enterprise"])
@run_async
async def test_document_bytes_are_streamed_in_chunks_not_loaded_whole(practice: str,
                                                                     request: pytest.FixtureRequest) -> None:
    sb = Sandbox(request.getfixturevalue(practice))
    pdf = next(d for d in (await sb.get_json("/documents"))["documents"] if d["size_bytes"])
    auth = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": f"/api/v1/documents/{pdf['id']}/content", "raw_path": b"", "root_path": "", "query_string": b"",
             "headers": [(b"host", b"vp.test"), (b"user-agent", b"t"), (b"authorization", auth.encode())],
             "server": ("vp.test", 80), "client": ("127.0.0.1", 5000)}
    bodies: list[bytes] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the client never disconnects during the test
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message.get("body", b""))

    await sb.app(scope, receive, send)
    chunks = [b for b in bodies if b]
    assert len(chunks) == math.ceil(pdf["size_bytes"] / (64 * 1024)) and max(map(len, chunks)) == 64 * 1024
    assert hashlib.sha256(b"".join(chunks)).hexdigest() == pdf["sha256"]


# -- rate limit --------------------------------------------------------------------------------------
@run_async
async def test_rate_limit_refuses_the_201st_request_and_says_exactly_how_long_to_wait(standard: Path) -> None:
    sb = Sandbox(standard)
    doc_id = sb.store.ids("documents")[0]
    kinds = ["/clients", f"/clients/{sb.store.ids('clients')[0]}", "/clients/deleted", "/practice/stats",
             f"/documents/{doc_id}/content", "/nosuch"]  # every authenticated API request counts
    first = await sb.get("/practice")
    assert first.headers["x-ratelimit-remaining"] == "199"
    sb.clock.advance(10.5)
    for n in range(199):
        response = await sb.get(kinds[n % len(kinds)])
        assert response.status_code in (200, 404)
        assert response.headers["x-ratelimit-remaining"] == str(198 - n)
    refused = await sb.get("/clients")
    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited"}
    # The oldest request (at NOW) leaves the window at NOW + 60, 49.5 s from now.
    assert refused.headers["retry-after"] == "50"
    assert refused.headers["x-ratelimit-reset"] == str(int(NOW) + 60)
    assert refused.headers["x-ratelimit-remaining"] == "0" and refused.headers["x-ratelimit-limit"] == "200"
    assert (await sb.get("/clients")).status_code == 429  # refusals are not logged: the wait stays the same
    await sb.clock.sleep(int(refused.headers["retry-after"]))
    assert (await sb.get("/clients")).status_code == 200
    again = await sb.get("/clients")  # the other 199 were sent at NOW + 10.5: free at NOW + 70.5
    assert again.status_code == 429 and again.headers["retry-after"] == "10"
    assert again.headers["x-ratelimit-reset"] == str(math.ceil(NOW + 70.5))
    assert sb.app.state.stats.rate_limited == 3
    await sb.clock.sleep(float(again.headers["x-ratelimit-reset"]) - sb.clock.now())
    assert (await sb.get("/clients")).status_code == 200


# -- faults and latency ------------------------------------------------------------------------------
async def _statuses(practice: Path, n: int, **settings: Any) -> tuple[list[int], Sandbox]:
    sb = Sandbox(practice, requests_per_minute=100_000, **settings)
    statuses = []
    for _ in range(n):
        response = await sb.get("/practice")
        statuses.append(response.status_code)
        if response.status_code == 502:
            assert "Bad Gateway" in response.text and response.headers["content-type"].startswith("text/html")
            assert "x-ratelimit-remaining" not in response.headers  # a proxy's answer
        elif response.status_code == 503:
            assert response.json() == {"error": "unavailable"} and response.headers["retry-after"] == "1"
        else:
            assert response.status_code == 200
    return statuses, sb


@run_async
async def test_faults_come_at_the_configured_rate_and_repeat_for_a_seed(standard: Path) -> None:
    n, rate = 800, 0.25
    statuses, sb = await _statuses(standard, n, fault_rate=rate, seed=3)
    bad, unavailable = statuses.count(502), statuses.count(503)
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(bad + unavailable - n * rate) < 4 * sigma
    assert abs(bad - unavailable) < 4 * math.sqrt(n * rate * 0.5 * 0.5)  # half of each kind
    assert sb.app.state.stats.faults == {502: bad, 503: unavailable}
    again, _ = await _statuses(standard, n, fault_rate=rate, seed=3)
    other, _ = await _statuses(standard, n, fault_rate=rate, seed=4)
    assert again == statuses and other != statuses
    none, _ = await _statuses(standard, 200)
    assert set(none) == {200}


@run_async
async def test_latency_has_the_configured_mean_and_a_capped_tail(standard: Path) -> None:
    sb = Sandbox(standard, latency_ms=50, requests_per_minute=100_000)
    waits = []
    for _ in range(400):
        before = sb.clock.now()
        assert (await sb.get("/practice")).status_code == 200
        waits.append(sb.clock.now() - before)
    mean = sum(waits) / len(waits)
    assert 0.0425 < mean < 0.0575  # +-15% (3 standard errors of an exponential mean over 400)
    assert max(waits) <= 0.5 and max(waits) > 0.1 and min(waits) < 0.01


# -- churn -------------------------------------------------------------------------------------------
@run_async
async def test_churn_makes_naive_offset_paging_skip_live_records(standard: Path) -> None:
    sb = Sandbox(standard, churn=1.5, seed=5)
    before = set(sb.store.ids("clients"))
    seen: list[str] = []
    totals = []
    page = 1
    while True:  # the naive client: page numbers, no healing
        body = await sb.get_json("/clients", params={"page": page, "per_page": 10})
        seen += [c["id"] for c in body["clients"]]
        totals.append(body["total_entries"])
        if "next" not in body["links"]:
            break
        page += 1
    stats = sb.app.state.stats
    deleted, inserted = stats.churn_deleted["clients"], stats.churn_inserted["clients"]
    live = set(sb.store.ids("clients"))
    assert deleted and inserted
    assert live == (before - set(deleted)) | set(inserted)
    missed = live - set(seen)
    # Live records the naive client never saw: each deletion before its offset skips one record.
    assert 1 <= len(missed) <= len(deleted)
    assert len(seen) == len(set(seen))
    assert totals[0] != totals[-1] and totals[-1] == len(live)  # total_entries is per request
    reported = await sb.page_all("/clients/deleted", "deleted", per_page=100)
    assert set(deleted) <= {r["id"] for r in reported}
    assert {r["deleted_at"] for r in reported if r["id"] in deleted} == {"2026-11-18T11:06:40Z"}
    clone = json.loads(sb.store.get("clients", inserted[0]))
    assert clone["created_at"] == clone["updated_at"] == "2026-11-18T11:06:40Z"
    # Only the paged collection churns; others are untouched.
    assert sb.store.counts()["appointments"] == 5 and set(stats.churn_deleted) == {"clients"}


def vehicle_ids(store: Store) -> set[str]:
    docs, _ = store.list("custom_object_records", per_page=100, object_key="vehicle")
    return {json.loads(d)["id"] for d in docs}


@run_async
async def test_churn_repeats_for_a_seed_and_respects_its_collections(enterprise: Path) -> None:
    async def churned(seed: int) -> tuple[list[str], list[str]]:
        sb = Sandbox(enterprise, churn=2, seed=seed, churn_collections=frozenset({"custom_object_records"}))
        vehicles_before = vehicle_ids(sb.store)
        for page in (1, 2, 3, 2):
            await sb.get_json("/custom_objects/vehicle/records", params={"page": page, "per_page": 1})
            await sb.get_json("/clients", params={"page": page, "per_page": 20})
        stats = sb.app.state.stats
        assert set(stats.churn_deleted) | set(stats.churn_inserted) <= {"custom_object_records"}
        deleted, inserted = stats.churn_deleted["custom_object_records"], stats.churn_inserted["custom_object_records"]
        # Churn stays within the object type being paged (read from the store: listing would churn).
        assert sb.store.list("custom_object_records", per_page=0, object_key="policy")[1] == 2
        assert vehicle_ids(sb.store) == (vehicles_before | set(inserted)) - set(deleted)
        gone = await sb.get_json("/custom_objects/vehicle/records/deleted")
        assert set(deleted) <= {r["id"] for r in gone["deleted"]}
        return deleted, inserted

    first = await churned(seed=1)
    assert first[0] and first[1]
    assert await churned(seed=1) == first
    assert await churned(seed=2) != first


# -- admin -------------------------------------------------------------------------------------------
@run_async
async def test_admin_shows_counters_and_changes_settings_at_run_time(standard: Path) -> None:
    sb = Sandbox(standard)
    admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app), base_url="http://vp.test/_admin")
    settings = (await admin.get("/settings")).json()
    assert settings["requests_per_minute"] == 200 and "api_key" not in settings
    assert API_KEY not in (await admin.get("/settings")).text
    assert (await admin.patch("/settings", json={"api_key": "new"})).status_code == 400
    assert (await admin.patch("/settings", json={"churn_collections": ["locations"]})).status_code == 400
    assert (await admin.patch("/settings", json={"fault_rate": 2})).status_code == 400
    patched = await admin.patch("/settings", json={"requests_per_minute": 2, "fault_rate": 0.0})
    assert patched.status_code == 200 and patched.json()["requests_per_minute"] == 2
    assert [(await sb.get("/practice")).status_code for _ in range(3)] == [200, 200, 429]
    assert (await admin.post("/reset-limits")).json() == {"reset": True}
    assert (await sb.get("/practice")).status_code == 200
    await admin.patch("/settings", json={"fault_rate": 1.0, "requests_per_minute": 200})
    assert (await sb.get("/practice")).status_code in (502, 503)
    stats = (await admin.get("/stats")).json()
    assert stats["requests"] == 5 and stats["rate_limited"] == 1
    assert stats["by_status"]["200"] == 3 and sum(stats["faults"].values()) == 1


# -- a real server -----------------------------------------------------------------------------------
def test_real_server_answers_over_tcp_and_stops(standard: Path) -> None:
    settings = SandboxSettings(api_key=API_KEY)
    with run_in_thread(create_app(Store(standard), settings)) as server:
        response = httpx.get(f"{server.url}/api/v1/clients", params={"per_page": 3}, auth=AUTH, headers=HEADERS)
        assert response.status_code == 200 and len(response.json()["clients"]) == 3
        assert response.json()["links"]["next"] == f"{server.url}/api/v1/clients?per_page=3&page=2"
        assert server.port > 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/v1/practice", auth=AUTH, headers=HEADERS)
    running = start(standard, settings)
    try:
        assert httpx.get(f"{running.url}/api/v1/practice", auth=AUTH, headers=HEADERS).json()["plan"] == "standard"
    finally:
        running.stop()

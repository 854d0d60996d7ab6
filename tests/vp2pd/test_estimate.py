"""The estimator against hand-computed cases (the arithmetic is in the comments), and its two inputs:
`/practice/stats` from the Visual Practice sandbox and a CSV export's row counts.

Costs from the OpenAPI's x-token-cost: v2 creates (organizations, persons, products, deals, deal
products, activities, projects) 5 tokens; v1 creates (notes, files, organization relationships) 10;
v2 list reads 10, v1 list reads 20 (GET /v1/users too). Pages: 500 rows, v1 files 100.
Growth x 1 seat: 30,000 x 2 x 1 = 60,000 tokens a day, 5% reserve -> 57,000 usable; burst 40 per 2 s.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import httpx
import pytest

from vp2pd.config import MappingRules
from vp2pd.estimate import (estimate, export_counts, for_customer, probe_export, probe_stats, stats_counts,
                             write_estimate)

COUNTS = {"clients": 1000, "organizations": 10, "appointments": 5000, "invoices": 2000, "appointment_notes": 1500,
          "documents": 300, "services": 20, "service_contracts": 100, "service_records": 400, "staff": 8, "claims": 50}


def _objects(data: dict) -> dict[str, dict]:
    return {o["object"]: o for o in data["budget"]["objects"]}


def test_default_rules_on_growth_one_seat() -> None:
    data = estimate(COUNTS, plan="growth", seats=1).as_json()
    objects = _objects(data)
    # organizations: 10 + the practice = 11 rows x 5 = 55 tokens, ceil(11/500) = 1 read x 10.
    assert (objects["organizations"]["rows"], objects["organizations"]["create_tokens"]) == (11, 55)
    # relationships (upper bound one per org): 10 x 10 = 100, 1 read x 20.
    assert objects["organization_relationships"]["create_tokens"] == 100
    assert objects["organization_relationships"]["reconcile_tokens"] == 20
    # persons: 1000 clients + 8 staff (former practitioners, upper bound) = 1008 x 5 = 5040;
    # ceil(1008/500) = 3 reads x 10 = 30.
    assert (objects["persons"]["create_tokens"], objects["persons"]["reconcile_tokens"]) == (5040, 30)
    # activities: 5000 x 5 = 25000, 10 reads x 10 = 100.
    assert (objects["activities"]["create_tokens"], objects["activities"]["reconcile_reads"]) == (25000, 10)
    # notes: SOAP in the activity (0), claims not retained (0), 2000 invoices x 10 = 20000; 4 reads x 20 = 80.
    assert (objects["notes"]["rows"], objects["notes"]["create_tokens"], objects["notes"]["reconcile_tokens"]) == (
        2000, 20000, 80)
    # files: 300 x 10 = 3000; ceil(300/100) = 3 reads x 20 = 60.
    assert (objects["files"]["create_tokens"], objects["files"]["reconcile_tokens"]) == (3000, 60)
    b = data["budget"]
    # deal products (upper bound): 400 records + 100 contracts = 500 x 5 = 2500, 1 read.
    assert (objects["deal_products"]["rows"], objects["deal_products"]["create_tokens"]) == (500, 2500)
    # creates 55+100+5040+100 (products 20x5)+500 (deals 100x5)+2500+25000+20000+3000 = 56295
    # reads 10+20+30+10+10+10+100+80+60 + 20 (the owner match's user list) = 350 -> 56645
    assert b["total_tokens"] == 56_645
    assert (b["daily_budget"], b["usable_per_day"]) == (60_000, 57_000)
    assert b["days"] == 1  # ceil(56645 / 57000)
    # calls: creates 11+10+1008+20+100+500+5000+2000+300 = 8949, reads 1+1+3+1+1+1+10+4+3+1 = 26 -> 8975
    # wall time at 40 requests per 2 s = 20/s: 8975 / 20 = 448.75 -> 448.8 s
    assert (b["requests"], b["wall_time_s"]) == (8975, 448.8)
    assert data["total_records"] == 10_388  # the sum of COUNTS
    assert data["grade"] == "Standard"
    decisions = {d["collection"]: d for d in data["decisions"]}
    assert set(decisions) == {"appointment_notes", "invoices", "claims", "documents"}
    # SOAP as Notes: 1500 x 10; per person: min(2000 invoices, 1000 clients) x 10; claims 50 x 10.
    assert decisions["appointment_notes"]["options"] == {"activity_note": 0, "person_note": 15_000}
    assert decisions["invoices"]["options"] == {"per_invoice": 20_000, "per_person": 10_000}
    assert decisions["claims"]["options"]["true"] == 500


def test_choices_change_the_plan_and_lite_makes_it_complex() -> None:
    rules = MappingRules(soap_notes="person_note", invoice_notes="per_person")
    data = estimate(COUNTS, plan="lite", seats=1, rules=rules).as_json()
    notes = _objects(data)["notes"]
    # notes: 1500 SOAP + min(2000, 1000) = 2500 rows x 10 = 25000; ceil(2500/500) = 5 reads x 20 = 100.
    assert (notes["rows"], notes["create_tokens"], notes["reconcile_tokens"]) == (2500, 25_000, 100)
    b = data["budget"]
    # 56645 - 20000 - 80 (invoice notes before) + 25000 + 100 = 61665 tokens.
    assert b["total_tokens"] == 61_665
    # Lite x 1: 30,000 a day, 28,500 usable -> ceil(61665 / 28500) = 3 days: Complex.
    assert (b["usable_per_day"], b["days"]) == (28_500, 3)
    # calls 8975 - 2000 - 4 + 2500 + 5 = 9476; Lite bursts 20 per 2 s = 10/s -> 947.6 s.
    assert (b["requests"], b["wall_time_s"]) == (9476, 947.6)
    assert data["grade"] == "Complex"
    assert "3 days" in data["grade_reasons"][0]


def test_bought_budget_and_reserve_are_honoured() -> None:
    # 100,000 tokens bought, 0 reserve: 56645 fits in one day.
    b = estimate(COUNTS, plan="lite", seats=1, daily_budget=100_000, reserve=0).as_json()["budget"]
    assert (b["daily_budget"], b["usable_per_day"], b["days"]) == (100_000, 100_000, 1)


def test_custom_objects_and_unknown_collections_are_complex() -> None:
    data = estimate({"clients": 10, "custom_objects": 2, "custom_object_records": 30, "loyalty_cards": 4},
                    plan="premium", seats=2).as_json()
    # projects: 30 x 5 = 150 tokens (no list read for projects in the reconciliation).
    assert _objects(data)["projects"]["create_tokens"] == 150
    assert data["grade"] == "Complex"
    assert data["unknown_collections"] == ["loyalty_cards"]
    assert any("custom objects" in r for r in data["grade_reasons"])


def test_above_two_million_records_is_scoped_individually() -> None:
    assert estimate({"clients": 2_000_001}, plan="ultimate", seats=50).as_json()["grade"] == "Scoped individually"
    # Exactly 2,000,000 clients on a big account: 10M tokens at 30,000 x 7 x 50 = 10.5M a day (9.975M
    # usable) -> 2 days, so Complex, not Scoped (the 2M boundary is "above").
    data = estimate({"clients": 2_000_000}, plan="ultimate", seats=50).as_json()
    assert data["grade"] == "Complex"


def test_counts_from_stats_and_from_the_export_agree(practice_factory: Callable[..., Path],
                                                     customer: Callable, tmp_path: Path) -> None:
    from sandbox.visual_practice.app import create_app
    from sandbox.visual_practice.settings import SandboxSettings
    from sandbox.visual_practice.store import Store
    from vp2pd.aio import run_sync
    from vp2pd.clock import FakeClock

    practice = practice_factory(clients=25, seed=5, mess=0.3)  # 200-KB notes, CR ends, cp1252
    cfg = customer()
    app = create_app(Store(practice), SandboxSettings(api_key="test-key-9c1e"), FakeClock(1_795_000_000.0))
    stats, as_of = run_sync(stats_counts(cfg, transport=httpx.ASGITransport(app=app)))
    store = Store(practice)
    truth = {k: v for k, v in store.counts().items() if v}  # the standard plan has no custom objects
    contacts = stats.pop("client_contacts")
    assert {k: v for k, v in stats.items() if v} == truth and stats["clients"] >= 25 and as_of  # + duplicates
    # Fewer than 100 clients: the sample is every client, so the extrapolation is the exact count.
    named = sum(1 for doc in store.list("clients", per_page=1000)[0]
                for c in json.loads(doc).get("contacts") or [] if c.get("name"))
    assert contacts == named > 0
    from_export = export_counts(practice / "export")
    # The same export as a zip (unpacked to a scratch folder, removed after) counts the same.
    zipped = Path(shutil.make_archive(str(tmp_path / "export"), "zip", practice / "export"))
    assert export_counts(zipped, scratch=tmp_path / "scratch") == from_export
    assert list((tmp_path / "scratch").iterdir()) == []
    # The export holds every data collection; configuration (automations, templates, reports) is never in it.
    assert from_export.pop("client_contacts") == named  # the ClientContacts rows
    for name, n in from_export.items():
        assert n == stats[name], name
    assert {"automations", "templates", "reports"}.isdisjoint(from_export)
    assert {"clients", "appointments", "invoices", "documents"} <= set(from_export)
    # What the export and the API's first page of clients say beyond counts: custom properties
    # (Person custom fields to map) and statuses; a status outside rules.status_map is a decision.
    probe = probe_export(practice / "export")
    con_labels = sorted({k for doc in store.list("clients", per_page=1000)[0]
                         for k in (json.loads(doc).get("custom_properties") or {})})
    assert probe.custom_properties == con_labels and con_labels
    api_probe = run_sync(probe_stats(cfg, transport=httpx.ASGITransport(app=app)))
    statuses = {json.loads(doc)["status"].strip().lower() for doc in store.list("clients", per_page=1000)[0]}
    assert api_probe.custom_properties == con_labels and set(api_probe.statuses) == statuses  # < 100 clients
    assert set(probe.statuses) <= statuses and "active" in probe.statuses
    rules = cfg.rules.model_copy(update={"status_map": {"active": "Active"}})
    decisions = {d["collection"]: d for d in estimate(probe.counts, plan="growth", seats=1, rules=rules,
                                                     probe=probe).decisions}
    # Each label a Person custom field: POST /api/v2/personFields costs 5.
    assert decisions["clients.custom_properties"]["options"]["Person custom fields"] == 5 * len(con_labels)
    assert decisions["clients.status"]["chosen"] == "not in the map: " + ", ".join(
        s for s in sorted(probe.statuses) if s != "active")
    est = for_customer(cfg, stats, source="practice/stats", as_of=as_of)
    path = write_estimate(cfg, est)
    assert path == cfg.reports_dir / "estimate.json" and '"grade": "Standard"' in path.read_text()


def test_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Pipedrive plan"):
        estimate(COUNTS, plan="gold", seats=1)

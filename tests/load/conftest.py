"""Load fixtures: one small practice extracted and transformed once per session (dbt is the slow
part), then a private copy of its warehouse per test, a fresh in-process sandbox and the client
wired to it through the contract validator (every request checked against the spec)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from starlette.applications import Starlette

from loaders.pipedrive.ledger import Ledger
from tests.contract.pipedrive_sandbox import make_sandbox
from tests.transform.conftest import KEY, _build
from vp2pd.clock import FakeClock

FALLBACK = "admin@sandbox.example"  # the sandbox's own admin user


@pytest.fixture(scope="session")
def built_warehouse(practice_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    os.environ.setdefault("VP_API_KEY", KEY)
    practice = practice_factory(clients=14, seed=11, mess=0.3)
    return _build(tmp_path_factory.mktemp("load"), practice, "api").cfg.warehouse_path


@dataclass
class Env:
    warehouse: Path
    home: Path
    app: Starlette
    clock: FakeClock

    def ledger(self) -> Ledger:
        return Ledger.open(self.warehouse)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        ledger = self.ledger()
        try:
            return ledger.con.execute(sql, params or []).fetchall()
        finally:
            ledger.close()


def make_env(built: Path, tmp_path: Path, pipeline_extra: str = "") -> Env:
    """A private copy of a built warehouse, a customer home (fallback owner, the demo's pipeline
    worksheet plus `pipeline_extra`) and a fresh in-process sandbox."""
    warehouse = tmp_path / "demo.duckdb"
    shutil.copy(built, warehouse)
    home = tmp_path / "customer"
    home.mkdir()
    (home / "owners.yml").write_text(f"fallback_owner: {FALLBACK}\n", encoding="utf-8")
    worksheet = (Path(__file__).resolve().parents[2] / "customers" / "demo" / "pipeline.yml").read_text(encoding="utf-8")
    (home / "pipeline.yml").write_text(worksheet + pipeline_extra, encoding="utf-8")
    app, clock = make_sandbox(plan="ultimate", seats=10)
    return Env(warehouse, home, app, clock)


@pytest.fixture
def env(built_warehouse: Path, tmp_path: Path) -> Env:
    return make_env(built_warehouse, tmp_path)


MIGRATED_TABLES = ("persons", "organizations", "deals", "activities", "products", "pipelines", "stages",
                   "deal_products", "notes", "files", "organization_relationships")


def live_account(export: dict[str, Any]) -> dict[str, Any]:
    """The account's live state: records and custom fields that are not deleted."""
    out: dict[str, Any] = {}
    for table in MIGRATED_TABLES:
        out[table] = sorted((r for r in export[table] if not r.get("is_deleted") and r.get("active_flag") not in (False, "false")),
                            key=lambda r: r["id"])
    out["fields"] = {entity: sorted(f["field_code"] for f in fields if not f.get("is_deleted"))
                     for entity, fields in export["fields"].items()}
    return out



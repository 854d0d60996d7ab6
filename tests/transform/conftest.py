"""Transform fixtures: a practice extracted in-process, then `vp2pd transform` (dbt build) once
per practice per session. The messy practice goes through the API (its quirk manifest names the
records by API id); the demo practice through its CSV export (naive local times, display refs)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest

from vp2pd.config import CustomerConfig, load_customer
from vp2pd.transform import TransformResult, run_transform
from vp2pd.warehouse import connect

KEY = "test-key-9c1e"


@dataclass
class Built:
    cfg: CustomerConfig
    result: TransformResult
    quirks: dict[str, list[dict[str, str]]]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        con = connect(self.cfg.warehouse_path, read_only=True)
        try:
            rel = con.execute(sql, params or [])
            cols = [d[0] for d in rel.description]
            return [dict(zip(cols, r)) for r in rel.fetchall()]
        finally:
            con.close()

    def one(self, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
        found = self.rows(sql, params)
        assert len(found) == 1, (sql, params, found)
        return found[0]

    def quirk_ids(self, kind: str) -> list[str]:
        return [q["id"] for q in self.quirks.get(kind, [])]


def _config(tmp: Path, **rules: Any) -> CustomerConfig:
    cfg = load_customer("demo")
    return cfg.model_copy(update={"build_dir": tmp / "build",
                                  "rules": type(cfg.rules).model_validate({**cfg.rules.model_dump(), **rules}),
                                  "visual_practice": cfg.visual_practice.model_copy(
                                      update={"base_url": "http://vp.test/api/v1"})})


def _extract_api(practice: Path, cfg: CustomerConfig) -> None:
    import httpx

    from extractors.visual_practice.run import run_extraction
    from sandbox.visual_practice.app import create_app
    from sandbox.visual_practice.settings import SandboxSettings
    from sandbox.visual_practice.store import Store
    from vp2pd.clock import FakeClock

    clock = FakeClock(1_795_000_000.0)
    app = create_app(Store(practice), SandboxSettings(api_key=KEY), clock)
    run_extraction(cfg, source="api", transport=httpx.ASGITransport(app=app), clock=clock)


def _build(tmp: Path, practice: Path, source: str, **rules: Any) -> Built:
    from extractors.visual_practice.run import run_extraction

    cfg = _config(tmp, **rules)
    started = time.perf_counter()
    if source == "api":
        _extract_api(practice, cfg)
    else:
        run_extraction(cfg, source="csv", csv_path=practice / "export")
    extracted = time.perf_counter()
    result = run_transform(cfg)
    print(f"[{source}] extraction {extracted - started:.1f}s, dbt build {time.perf_counter() - extracted:.1f}s")
    assert result.success, result.failures
    quirks = json.loads((practice / "quirks.json").read_text(encoding="utf-8"))["records"]
    return Built(cfg, result, quirks)


@pytest.fixture(scope="session")
def messy(practice_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A messy enterprise practice (mess 0.9) through the API, default rules."""
    import os

    os.environ.setdefault("VP_API_KEY", KEY)
    practice = practice_factory(clients=120, seed=31, plan="enterprise", mess=0.9, documents="metadata")
    return _build(tmp_path_factory.mktemp("messy"), practice, "api")


@pytest.fixture(scope="session")
def demo_csv(practice_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The demo practice's CSV export, with the token-lean and retention rules switched on."""
    practice = practice_factory(clients=60, seed=7, mess=0.3)
    return _build(tmp_path_factory.mktemp("demo_csv"), practice, "csv", invoice_notes="per_person",
                  soap_notes="person_note", keep_appointments=["cancelled"],
                  claims={"migrate": True, "fields": ["payer", "status"]})

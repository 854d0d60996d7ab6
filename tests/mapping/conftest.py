"""Mapping fixtures: a demo customer copied to a private folder, with a warehouse extracted from a
CSV export whose Clients headers were renamed the way other builds and hand edits rename them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from vp2pd.config import REPO_ROOT, CustomerConfig, load_customer

# Screen label -> how this customer's export writes it (and what the proposal must find).
RENAMED = {"Cell Phone": "Cell #", "Date of Birth": "DOB", "Health #": "HC#", "Postal Code": "Code postal",
           "Referral Source": "Ref by"}
EXPECTED = {"Cell #": "phones[mobile]", "DOB": "date_of_birth", "HC#": "health_number",
            "Code postal": "address.postal_code", "Ref by": "referral_source_id_display"}


@dataclass
class MappingCustomer:
    home: Path  # customers dir holding demo/
    build: Path
    export: Path

    def cfg(self) -> CustomerConfig:
        cfg = load_customer("demo", directory=self.home)
        return cfg.model_copy(update={"build_dir": self.build})


def rename_headers(export: Path) -> None:
    clients = next(export.glob("VP-Clients-*.csv"))
    data = clients.read_bytes()
    end = data.index(b"\r")
    header = data[:end].decode("cp1252")
    for old, new in RENAMED.items():
        header = header.replace(f'"{old}"', f'"{new}"')
    clients.write_bytes(header.encode("cp1252") + data[end:])


@pytest.fixture(scope="session")
def extracted_template(tmp_path_factory: pytest.TempPathFactory, practice_factory: Callable[..., Path]) -> MappingCustomer:
    from extractors.visual_practice.run import run_extraction

    practice = practice_factory(clients=25, seed=3, documents="metadata",
                                collections=frozenset({"clients", "appointments"}))
    root = tmp_path_factory.mktemp("mapping")
    export = root / "export"
    shutil.copytree(practice / "export", export)
    rename_headers(export)
    made = MappingCustomer(root / "customers", root / "build", export)
    shutil.copytree(REPO_ROOT / "customers" / "demo", made.home / "demo",
                    ignore=shutil.ignore_patterns("proposed.yml", "csv_aliases.yml", "confirmed.meta.yml"))
    run_extraction(made.cfg(), source="csv", csv_path=export)
    from vp2pd.mapping.propose import propose, write_proposed

    write_proposed(made.cfg(), propose(made.cfg()))  # proposed once; tests that re-propose do it themselves
    return made


@pytest.fixture
def mapping_customer(extracted_template: MappingCustomer, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> MappingCustomer:
    """A private copy (customer folder and warehouse) per test; the CLI sees it through the environment."""
    made = MappingCustomer(tmp_path / "customers", tmp_path / "build", extracted_template.export)
    shutil.copytree(extracted_template.home, made.home)
    shutil.copytree(extracted_template.build, made.build)
    monkeypatch.setenv("VP2PD_CUSTOMERS_DIR", str(made.home))
    monkeypatch.setenv("VP2PD_BUILD_DIR", str(made.build))
    return made

"""The review runbook, executed headless: by nbval as it ships (demo customer), and by papermill
with the runbook's parameters confirming through --accept-all."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from tests.mapping.conftest import MappingCustomer
from vp2pd.config import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "03_review_mapping.ipynb"


def test_notebook_runs_under_nbval_and_proposes(mapping_customer: MappingCustomer) -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", str(NOTEBOOK), "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist"], cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "5 passed" in proc.stdout
    proposed = yaml.safe_load((mapping_customer.home / "demo" / "mapping" / "proposed.yml").read_text("utf-8"))
    assert any(c["column"] == "Cell #" and c["target"] == "phones[mobile]" for c in proposed["columns"])


def test_runbook_parameters_confirm_with_accept_all(mapping_customer: MappingCustomer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import papermill

    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "executed.ipynb"), kernel_name="python3",
                               parameters={"customer": "demo", "accept_all": True, "save": True,
                                           "reviewer": "demo-runbook"}, progress_bar=False, cwd=str(REPO_ROOT))
    confirmed = yaml.safe_load((mapping_customer.home / "demo" / "mapping" / "confirmed.yml").read_text("utf-8"))
    assert confirmed["reviewer"] == "demo-runbook"
    assert confirmed["confirmed_with"] == "review notebook, --accept-all"

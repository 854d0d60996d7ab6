"""The review runbook, executed headless by nbval as it ships (demo customer). (Its save path is
Review.save, tested in test_review.py; nbval's own process start costs ~10 s here, once is enough.)"""

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
    assert "6 passed" in proc.stdout
    proposed = yaml.safe_load((mapping_customer.home / "demo" / "mapping" / "proposed.yml").read_text("utf-8"))
    assert any(c["column"] == "Cell #" and c["target"] == "phones[mobile]" for c in proposed["columns"])
    assert proposed["signals"]["scorer"] == "lexicon + value profiles"

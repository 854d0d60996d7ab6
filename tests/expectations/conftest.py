"""One messy practice for the GX tests: generated, extracted through the in-process API sandbox
(the transform tests' helper, imported) and transformed (`vp2pd transform`, models only — the
dbt tests are the transform tests' business), built once per test run.

pytest-xdist's `--dist loadgroup` does not keep a group on one worker with this pytest (the
group suffix never reaches the node ids), so a session fixture would be built once per worker:
instead the first worker builds under an exclusive file lock and the others reuse its warehouse.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Callable

import pytest

from tests.transform.conftest import KEY, _config, _extract_api
from vp2pd.config import CustomerConfig
from vp2pd.transform import run_transform


@pytest.fixture(scope="session")
def gx_messy(practice_factory: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> CustomerConfig:
    """A messy enterprise practice (mess 0.9) through the API, its marts built; read it, copy it to break it."""
    os.environ.setdefault("VP_API_KEY", KEY)
    # Under xdist every worker's base temp sits in one shared folder; alone, the base temp itself.
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    root = shared / "gx_messy"
    root.mkdir(exist_ok=True)
    cfg = _config(root)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").is_file():
            practice = practice_factory(clients=120, seed=31, plan="enterprise", mess=0.9, documents="metadata")
            _extract_api(practice, cfg)
            result = run_transform(cfg, select="resource_type:model")
            assert result.success, result.failures
            (root / "built").write_text("ok", encoding="utf-8")
    return cfg

"""One whole demo run per session (`vp2pd demo` in a child process, the runbook executed by
papermill), on a small messy practice, with sentinel secrets in its environment; then both
sandboxes restarted from what the demo left (its practice, its kept Pipedrive account) for the
notebooks under nbval and the rollback. Every test of tests/runbook shares it (one xdist group)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from vp2pd.config import REPO_ROOT

# Sentinels: if any of these reaches an output file, the scan names the file.
VP_SENTINEL = "vpkey-SENTINEL-7f3a91c2e4"
PD_SENTINEL = "pdtok-SENTINEL-0b5d6e8f17"
CLIENTS, MESS, SEED = 30, 0.5, 5


@dataclass
class DemoRun:
    root: Path
    build: Path
    runs: Path
    log: Path
    returncode: int
    env: dict[str, str]

    @property
    def run_dir(self) -> Path:
        found = sorted((self.runs / "demo").iterdir())
        assert len(found) >= 1, f"no run folder under {self.runs}"
        return found[0]

    def step(self, name: str) -> dict[str, Any]:
        return json.loads((self.run_dir / f"{name}.json").read_text(encoding="utf-8"))

    @property
    def record(self) -> dict[str, Any]:
        return json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))


def demo_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VP2PD_")}
    env.update(VP_API_KEY=VP_SENTINEL, PIPEDRIVE_API_TOKEN=PD_SENTINEL, VP2PD_BUILD_DIR=str(root / "build"),
               VP2PD_RUNS_DIR=str(root / "runs"), PYTHONUNBUFFERED="1",
               # The demo's account on a bigger plan: the same migration, paced at a higher burst limit.
               VP2PD_PIPEDRIVE__PLAN="ultimate")
    return env


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    root = tmp_path_factory.mktemp("demo_run")
    env = demo_env(root)
    log = root / "demo.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run([sys.executable, "-m", "vp2pd.cli", "demo", "--clients", str(CLIENTS), "--mess",
                               str(MESS), "--seed", str(SEED)], cwd=REPO_ROOT, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=420)
    return DemoRun(root, root / "build", root / "runs", log, proc.returncode, env)


@dataclass
class Live:
    """Both sandboxes serving what the demo left, and the environment that points the steps at them."""

    env: dict[str, str]
    pipedrive: Any  # sandbox.serving.RunningServer

    def account(self) -> dict[str, Any]:
        from tests.load.conftest import live_account

        return live_account(self.pipedrive.app.state.sandbox.account.export())


@pytest.fixture(scope="session")
def live(demo_run: DemoRun) -> Iterator[Live]:
    from sandbox.pipedrive.server import start as start_pd
    from sandbox.pipedrive.settings import PipedriveSandboxSettings
    from sandbox.visual_practice.server import start as start_vp
    from sandbox.visual_practice.settings import SandboxSettings

    assert demo_run.returncode == 0, demo_run.log.read_text(encoding="utf-8")[-4000:]
    state = demo_run.build / "demo" / "pipedrive-sandbox.json"
    vp = start_vp(demo_run.build / "demo" / "practice", SandboxSettings(api_key=VP_SENTINEL,
                                                                         requests_per_minute=100_000))
    pd = start_pd(PipedriveSandboxSettings(api_token=PD_SENTINEL, plan="ultimate", state_file=state))
    sandbox = pd.app.state.sandbox  # restored from the file; from here in memory (a rewrite per write is slow)
    sandbox.settings = sandbox.settings.model_copy(update={"state_file": None})
    env = dict(demo_run.env, VP2PD_CUSTOMERS_DIR=str(demo_run.build / "customers"),
               VP2PD_VISUAL_PRACTICE__BASE_URL=f"{vp.url}/api/v1", VP2PD_PIPEDRIVE__BASE_URL=pd.url,
               VP2PD_VISUAL_PRACTICE__REQUESTS_PER_MINUTE="100000")
    try:
        yield Live(env, pd)
    finally:
        pd.stop()
        vp.stop()

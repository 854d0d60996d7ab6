"""`make demo`: the whole migration of the demo customer on the embedded sandboxes.

Generates the demo practice, serves it as the Visual Practice API and an emulated Pipedrive
company on 127.0.0.1, and runs the whole runbook with `vp2pd run` (pre-flight, extract, the map
proposed and, explicitly for the demo, accepted with --accept-all, transform, validate, pre-flight
from the marts, setup, sample with its diff, full load, reconcile). Prints the report's path and
how to roll back; stops its servers; exits non-zero when a step failed.

The demo never writes into the repository's `customers/demo/`: it works on a copy under
`build/customers/demo/` (the confirmed map it accepts lands there). The Pipedrive account is kept
in `build/demo/pipedrive-sandbox.json`, so `vp2pd demo --rollback` can undo the load afterwards.
Secrets are the caller's VP_API_KEY / PIPEDRIVE_API_TOKEN, or random ones made for this run.
"""

from __future__ import annotations

import os
import secrets as pysecrets
import shutil
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from vp2pd.config import REPO_ROOT, CustomerConfig, customers_dir, load_customer
from vp2pd.secrets import PIPEDRIVE_API_TOKEN, VP_API_KEY

SLUG = "demo"
STATE_FILE = "pipedrive-sandbox.json"


def _build_dir() -> Path:
    build = load_customer(SLUG).build_dir
    return build if build.is_absolute() else REPO_ROOT / build


def _workspace(build: Path, fresh: bool) -> Path:
    """build/customers/demo/: a copy of the shipped demo customer that the demo may write to."""
    home = build / "customers"
    if fresh:
        shutil.rmtree(home / SLUG, ignore_errors=True)
        shutil.copytree(customers_dir() / SLUG, home / SLUG,
                        ignore=shutil.ignore_patterns("proposed.yml", "csv_aliases.yml"))
    return home


def _environment(build: Path, home: Path, vp_url: str | None, pd_url: str) -> None:
    """The settings every step (and every notebook kernel, which inherits them) reads."""
    os.environ.setdefault(VP_API_KEY, pysecrets.token_urlsafe(24))
    os.environ.setdefault(PIPEDRIVE_API_TOKEN, pysecrets.token_urlsafe(24))
    os.environ["VP2PD_CUSTOMERS_DIR"] = str(home)
    os.environ["VP2PD_BUILD_DIR"] = str(build)
    os.environ["VP2PD_PIPEDRIVE__BASE_URL"] = pd_url
    if vp_url:
        os.environ["VP2PD_VISUAL_PRACTICE__BASE_URL"] = f"{vp_url}/api/v1"


def _start_pipedrive(cfg: CustomerConfig, state_file: Path | None):  # -> RunningServer
    from sandbox.pipedrive.server import start
    from sandbox.pipedrive.settings import PipedriveSandboxSettings

    settings = PipedriveSandboxSettings(api_token=os.environ[PIPEDRIVE_API_TOKEN], plan=cfg.pipedrive.plan,
                                        seats=cfg.pipedrive.seats, state_file=state_file)
    return start(settings, host="127.0.0.1")


def _keep_account(server, path: Path) -> None:  # noqa: ANN001 - a RunningServer
    """Snapshot the account once at the end (the sandbox's own state file rewrites it per write)."""
    state = server.app.state.sandbox
    state.settings = state.settings.model_copy(update={"state_file": path})
    state.persist()


def run_demo(console: Console, *, clients: int, seed: int, mess: float = 0.3) -> int:
    from sandbox.visual_practice.generator import GeneratorOptions, generate
    from sandbox.visual_practice.server import start as start_vp
    from sandbox.visual_practice.settings import SandboxSettings
    from vp2pd.runbook.execute import RunFailed, parse_steps, run

    started = time.perf_counter()
    build = _build_dir()
    for stale in (build / SLUG, build / f"{SLUG}.duckdb", build / f"{SLUG}.duckdb.wal"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    home = _workspace(build, fresh=True)
    os.environ.setdefault(VP_API_KEY, pysecrets.token_urlsafe(24))
    os.environ.setdefault(PIPEDRIVE_API_TOKEN, pysecrets.token_urlsafe(24))
    cfg = load_customer(SLUG, directory=home)

    console.rule("1. Generate the demo practice")
    practice = build / SLUG / "practice"
    console.print(generate(practice, GeneratorOptions(clients=clients, seed=seed, mess=mess)).table())

    console.rule("2. Start the sandboxes, run the runbook")
    with ExitStack() as servers:
        vp = servers.enter_context(start_vp(practice, SandboxSettings(
            api_key=os.environ[VP_API_KEY], requests_per_minute=cfg.visual_practice.requests_per_minute),
            host="127.0.0.1"))
        pd = servers.enter_context(_start_pipedrive(cfg, None))
        console.print(f"Visual Practice sandbox {vp.url}/api/v1 · Pipedrive sandbox {pd.url} "
                      f"({cfg.pipedrive.plan}, {cfg.pipedrive.seats} seat(s))", highlight=False)
        _environment(build, home, vp.url, pd.url)
        cfg = load_customer(SLUG)

        def progress(rec) -> None:  # noqa: ANN001 - a StepRecord
            mark = "[green]ok[/]" if rec.status == "ok" else "[bold red]FAILED[/]"
            console.print(f"  {rec.step:10} {mark} {rec.seconds:6.1f} s", highlight=False)

        try:
            record = run(cfg, parse_steps(None), accept_all=True, reviewer="make demo (--accept-all)",
                         on_step=progress)
            code = 0
        except RunFailed as exc:
            record, code = exc.record, 1
            console.print(f"[bold red]{exc}[/]", highlight=False)
        finally:
            _keep_account(pd, build / SLUG / STATE_FILE)
    console.rule("3. Done" if code == 0 else "3. Stopped")
    console.print(f"report: {record.report}", highlight=False)
    console.print(f"executed notebooks: {record.folder}", highlight=False)
    console.print(f"the Pipedrive account is kept in {build / SLUG / STATE_FILE}; roll the load back with "
                  f"`.venv/bin/vp2pd demo --rollback` (restarts the sandbox from it and runs notebooks/"
                  f"09_rollback.ipynb with confirm=demo)", highlight=False)
    console.print(f"{time.perf_counter() - started:.0f} s in all", highlight=False)
    return code


def rollback_demo(console: Console) -> int:
    """Undo the demo's load: the Pipedrive sandbox restarted from the kept account, then the rollback step."""
    from vp2pd.runbook.execute import RunFailed, parse_steps, run

    build = _build_dir()
    state = build / SLUG / STATE_FILE
    if not state.is_file():
        console.print(f"[bold red]no demo account at {state}: run `make demo` first[/]")
        return 1
    home = _workspace(build, fresh=False)
    os.environ.setdefault(PIPEDRIVE_API_TOKEN, pysecrets.token_urlsafe(24))
    cfg = load_customer(SLUG, directory=home)
    with _start_pipedrive(cfg, state) as pd:  # restored from the file, kept in memory, written back at the end
        sandbox = pd.app.state.sandbox
        sandbox.settings = sandbox.settings.model_copy(update={"state_file": None})
        _environment(build, home, None, pd.url)
        try:
            record = run(load_customer(SLUG), parse_steps("rollback"), confirm=SLUG)
            code = 0
        except RunFailed as exc:
            record, code = exc.record, 1
            console.print(f"[bold red]{exc}[/]", highlight=False)
        finally:
            _keep_account(pd, state)
    console.print(f"rollback report: {record.report}", highlight=False)
    return code

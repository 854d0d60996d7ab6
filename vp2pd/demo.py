"""`make demo`: the main job, end to end on the embedded sandboxes, for the demo customer.

At this stage: generate the demo practice, serve it as the Visual Practice API on 127.0.0.1,
extract it through the API into `build/demo.duckdb`, print the per-collection counts, stop the
server. The API key is the caller's `VP_API_KEY`, or a random one made for this run.
"""

from __future__ import annotations

import os
import secrets as pysecrets

from rich.console import Console

from vp2pd.config import load_customer
from vp2pd.secrets import VP_API_KEY


def run_demo(console: Console, *, clients: int, seed: int) -> int:
    from extractors.visual_practice.report import print_report
    from extractors.visual_practice.run import ExtractionFailed, run_extraction
    from sandbox.visual_practice.generator import GeneratorOptions, generate
    from sandbox.visual_practice.server import start
    from sandbox.visual_practice.settings import SandboxSettings

    cfg = load_customer("demo")
    os.environ.setdefault(VP_API_KEY, pysecrets.token_urlsafe(24))
    practice = cfg.customer_build_dir / "practice"
    console.rule("1. Generate the demo practice")
    summary = generate(practice, GeneratorOptions(clients=clients, seed=seed))
    console.print(summary.table())

    console.rule("2. Serve it as the Visual Practice API, extract it")
    settings = SandboxSettings(api_key=os.environ[VP_API_KEY], requests_per_minute=cfg.visual_practice.requests_per_minute)
    with start(practice, settings, host="127.0.0.1") as server:
        console.print(f"Visual Practice sandbox listening on {server.url}")
        cfg = cfg.model_copy(update={"visual_practice": cfg.visual_practice.model_copy(
            update={"base_url": f"{server.url}/api/v1"})})
        try:
            result = run_extraction(cfg, source="api")
        except ExtractionFailed as exc:
            console.print(f"[bold red]extraction failed:[/] {exc}")
            return 1
    print_report(console, result)
    balanced = all(r.balanced for r in result.reports)
    console.print(("[green]every collection: reported = extracted" if balanced
                   else "[red]some collections differ: see the table") + f" — warehouse {result.warehouse}")
    return 0 if balanced else 1

"""Loads in their own processes, each SIGKILLing itself at one named point of the exactly-once
protocol: `python -m tests.load.drill_child WAREHOUSE HOME URL` reads one POINT a line on stdin and
forks a child per line (imports and the OpenAPI tables are loaded once, before the forks: a point
costs its load, not a Python start), then answers `rc: <exit code>` (-9: killed). POINT `none`
runs to the end. The token comes from PIPEDRIVE_API_TOKEN, as in production.

POINT is `where:object[:n]` (n counts from this process's start, 1 by default):
- `send:persons:3`      the 3rd create of persons about to go out: its intent committed, no call made
- `answer:deals:4`      the 4th create of deals answered by Pipedrive (applied there), the ledger not told;
                        with calls in flight around it, this is also the middle of a batch
- `intents:notes:1`     just after a batch's intents commit, before any of its calls
- `outcomes:persons:1`  just after a batch's outcomes + id_map commit, before the next batch
- `boundary:deals`      the previous object done, nothing of deals recorded yet (its first intents)
- `readback:persons:1`  the resume's list read of persons (resolving in-doubt creates) answered, not used
The client runs on a FakeClock: the drill is about where the process dies, not about pacing (the
sandbox serves without rate limits), so the burst limiter's waits are skipped.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.load import Loader
from loaders.pipedrive.retry import Hooks, RequestInfo
from loaders.pipedrive.sequence import STEPS
from vp2pd import pipedrive_contract
from vp2pd.clock import FakeClock

WHERE = ("send", "answer", "intents", "outcomes", "boundary", "readback")
PATHS = {s.name: PipedriveClient.path(s.obj) for s in STEPS if s.obj}


def object_of(path: str) -> str | None:
    if re.fullmatch(r"/api/v2/deals/\d+/products", path):
        return "deal_products"
    return next((name for name, p in PATHS.items() if p == path), None)


def parse(point: str) -> tuple[str, str, int]:
    where, obj, *n = point.split(":")
    if where not in WHERE or (obj not in PATHS and obj != "deal_products"):
        raise SystemExit(f"bad kill point {point!r}")
    return where, obj, int(n[0]) if n else 1


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> Hooks:
    """Wire the kill: hooks on the client for calls, wrappers on the ledger for commits."""
    where, obj, n = parse(point)
    seen: Counter[str] = Counter()

    def hit(kind: str) -> None:
        seen[kind] += 1
        if seen[kind] == n:
            die()

    def before_send(info: RequestInfo) -> None:
        if where == "send" and info.method == "POST" and object_of(info.path) == obj:
            hit("send")

    def after_response(info: RequestInfo, response: Any, error: Any) -> None:
        if response is None or response.status_code >= 300 or object_of(info.path) != obj:
            return
        if (where, info.method) in (("answer", "POST"), ("readback", "GET")):
            hit(where)

    intents, outcomes = Ledger.intents, Ledger.outcomes

    def intents_then_die(self: Ledger, run_id: str, items: list[dict[str, Any]]) -> Any:
        if where == "boundary" and items and items[0]["object"] == obj:
            die()
        made = intents(self, run_id, items)
        if where == "intents" and items and items[0]["object"] == obj:
            hit("intents")
        return made

    def outcomes_then_die(self: Ledger, run_id: str, items: list[Any], **kw: Any) -> Any:
        outcomes(self, run_id, items, **kw)
        if where == "outcomes" and any(o.intent.object == obj for o in items):
            hit("outcomes")

    Ledger.intents = intents_then_die  # type: ignore[method-assign]
    Ledger.outcomes = outcomes_then_die  # type: ignore[method-assign]
    return Hooks(before_send=before_send, after_response=after_response)


async def main(warehouse: str, home: str, url: str, point: str) -> None:
    hooks = arm(point) if point != "none" else Hooks()
    ledger = Ledger.open(warehouse)
    async with PipedriveClient.from_env(url, plan="ultimate", hooks=hooks, clock=FakeClock()) as client:
        result = await Loader(client, ledger, Path(home), currency="CAD").run()
    ledger.close()
    print(f"status: {result.status}", flush=True)


def serve(warehouse: str, home: str, url: str) -> None:
    for step in STEPS:  # warm the spec tables before forking, so no child parses the YAML again
        if step.obj:
            pipedrive_contract.operation_for("POST", PATHS[step.name])
    for line in sys.stdin:
        point = line.strip()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                asyncio.run(main(warehouse, home, url, point))
            except BaseException as exc:  # a real failure, not a drill kill: say so and exit 1
                traceback.print_exc()
                print(f"error: {type(exc).__name__}: {exc}", flush=True)
                code = 1
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(f"rc: {-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)}", flush=True)


if __name__ == "__main__":
    serve(*sys.argv[1:4])

"""A load in its own process that SIGKILLs itself as the Nth create's answer arrives — after
Pipedrive applied it, before the ledger heard of it. `python -m tests.load.drill_child WAREHOUSE
HOME URL N` (N = 0: no kill)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.ledger import Ledger
from loaders.pipedrive.load import Loader
from loaders.pipedrive.retry import Hooks
from tests.contract.pipedrive_sandbox import TOKEN


async def main(warehouse: str, home: str, url: str, kill_after: int) -> None:
    seen = 0

    def after_response(info, response, error) -> None:
        nonlocal seen
        if info.method == "POST" and response is not None and response.status_code < 300:
            seen += 1
            if seen == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    ledger = Ledger.open(warehouse)
    async with PipedriveClient(url, TOKEN, hooks=Hooks(after_response=after_response)) as client:
        result = await Loader(client, ledger, Path(home), currency="CAD").run()
    ledger.close()
    print(result.status)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))

"""Run a coroutine from synchronous code, including inside Jupyter kernels (which own a loop)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # A loop is already running in this thread (papermill/Jupyter): run ours in a worker thread.
    result: dict[str, Any] = {}

    def worker() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=worker, name="vp2pd-async")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]

"""Serve a generated practice as the Visual Practice API: blocking (`vp2pd sandbox vp`) or in a thread.

The store is copied into memory first, so churn and drills never change the generated practice.
"""

from __future__ import annotations

from pathlib import Path

import uvicorn

from sandbox.serving import RunningServer, run_in_thread
from sandbox.visual_practice.app import create_app
from sandbox.visual_practice.settings import SandboxSettings
from sandbox.visual_practice.store import Store


def serve(practice: Path, host: str, port: int, settings: SandboxSettings) -> None:
    app = create_app(Store(practice, in_memory=True), settings)
    print(f"Visual Practice sandbox: http://{host}:{port}/api/v1 (practice {practice})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")


def start(practice: Path, settings: SandboxSettings, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    return run_in_thread(create_app(Store(practice, in_memory=True), settings), host=host, port=port)

"""Serve the Pipedrive sandbox: blocking (`vp2pd sandbox pipedrive`) or in a background thread."""

from __future__ import annotations

import uvicorn

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from sandbox.serving import RunningServer, run_in_thread


def serve(settings: PipedriveSandboxSettings, host: str = "127.0.0.1", port: int = 8766) -> None:
    app = create_app(settings)
    print(f"Pipedrive sandbox: http://{host}:{port} (API v2 at /api/v2, v1 at /v1; plan {settings.plan}, "
          f"{settings.seats} seat(s); admin at /_admin)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")


def start(settings: PipedriveSandboxSettings, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    return run_in_thread(create_app(settings), host=host, port=port)

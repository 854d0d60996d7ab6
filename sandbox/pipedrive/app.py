"""The Pipedrive sandbox as a Starlette app: `/_admin/...` for tests and drills, everything else
through the API gate, answered by the handler registered for the spec operation the path matches."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox.pipedrive import field_api, search, v1_company, v1_files, v1_notes, v2
from sandbox.pipedrive.admin import Admin
from sandbox.pipedrive.context import Handlers
from sandbox.pipedrive.gate import ApiGate
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from sandbox.pipedrive.state import SandboxState
from vp2pd.clock import SYSTEM_CLOCK, Clock


def handlers() -> Handlers:
    """(version, operationId) -> handler, for every operation the sandbox emulates."""
    made: Handlers = {}
    for module in (v2, field_api, search, v1_notes, v1_files, v1_company):
        module.register(made)
    return made


def create_app(settings: PipedriveSandboxSettings, clock: Clock = SYSTEM_CLOCK) -> Starlette:
    """A fresh in-memory account. `app.state.sandbox` holds the live state (settings, account,
    limiters, counters)."""
    state = SandboxState(settings, clock)
    app = Starlette(routes=[*Admin(state).routes(), Mount("", app=ApiGate(state, handlers()))])
    app.state.sandbox = state
    return app

"""What both sandboxes' admin surfaces share: reading and changing their settings at run time."""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class Settings(Protocol):
    def patched(self, changes: dict[str, Any]) -> "Settings": ...

    def public(self) -> dict[str, Any]: ...


class State(Protocol):
    settings: Settings

    def update(self, settings: Any) -> None: ...


async def settings_endpoint(request: Request, state: State, error_code: str) -> Response:
    """GET: the settings; PATCH: apply a JSON object of changes, 400 `error_code` when they are invalid."""
    if request.method == "PATCH":
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of the settings to change")
            state.update(state.settings.patched(changes))
        except ValueError as exc:  # pydantic's ValidationError and bad JSON are ValueErrors
            return JSONResponse({"error": error_code, "message": str(exc)}, 400)
    return JSONResponse(state.settings.public())

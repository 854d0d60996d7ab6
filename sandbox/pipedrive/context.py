"""What a handler gets (the request, its spec operation, path parameters, the account) and the
success answer of each API version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.pipedrive import strict
from sandbox.pipedrive.account import Account
from sandbox.pipedrive.errors import bad_request
from sandbox.pipedrive.state import SandboxState
from vp2pd import pipedrive_contract as pc


@dataclass
class Ctx:
    request: Request
    op: pc.Operation
    params: dict[str, str]
    state: SandboxState

    @property
    def account(self) -> Account:
        return self.state.account

    def path_id(self, name: str = "id") -> int:
        raw = self.params[name]
        try:
            return int(raw)
        except ValueError:
            raise bad_request(f"{name}: {raw!r} is not a valid integer") from None

    def query(self, name: str) -> Any:
        return strict.query_value(self.op, name, self.request.query_params.get(name))

    async def body(self) -> Any:
        body = strict.json_body(await self.request.body(), self.op)
        strict.check_body(self.op, body)
        return body

    def ok(self, data: Any, additional_data: Any = None, **extra: Any) -> Response:
        """`{"success": true, "data": ..., "additional_data": ...}` with the status the spec documents."""
        payload: dict[str, Any] = {"success": True, "data": data}
        if additional_data is not None:
            payload["additional_data"] = additional_data
        payload.update(extra)
        return JSONResponse(payload, pc.success_status(self.op))


Handler = Callable[[Ctx], Awaitable[Response]]
# (version, operationId) -> handler; filled by the v1/v2 modules' `register`.
Handlers = dict[tuple[str, str], Handler]

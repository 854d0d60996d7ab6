"""`/_admin`: the sandbox's own surface for tests and drills (no auth: it only listens on a test
machine, and it is outside the API paths, so it costs no tokens and no rate limit).

GET  /_admin/export         the whole account as JSON (every record incl. deleted, fields with keys and options)
GET  /_admin/tokens         tokens spent: total, per operation, today's budget and what is left
GET  /_admin/stats          request counters (by status, rate limited, blocked, dropped, faults)
GET|PATCH /_admin/settings  read or change plan, limits and faults at run time
POST /_admin/reset          a fresh account from the same seed, fresh limits and token ledger
POST /_admin/reset-limits   clear the burst window, the abuse block and today's spending
POST /_admin/users          seed users: [{"name", "email", "active"?: true, "admin"?: false}]
POST /_admin/fields         seed custom fields: [{"entity": "person", "field_name", "field_type", "options"?: [labels]}]
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.admin import settings_endpoint
from sandbox.pipedrive.errors import PipedriveError
from sandbox.pipedrive.fields import FIELD_ENTITIES
from sandbox.pipedrive.state import SandboxState


class SeedUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    email: str = Field(min_length=3)
    active: bool = True
    admin: bool = False


class SeedField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entity: str
    field_name: str = Field(min_length=1)
    field_type: str
    options: list[str] | None = None


def _invalid(exc: Exception) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "message": str(exc)}, 400)


class Admin:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_admin/export", self.export),
            Route("/_admin/tokens", self.tokens),
            Route("/_admin/stats", self.stats),
            Route("/_admin/settings", self.settings, methods=["GET", "PATCH"]),
            Route("/_admin/reset", self.reset, methods=["POST"]),
            Route("/_admin/reset-limits", self.reset_limits, methods=["POST"]),
            Route("/_admin/users", self.users, methods=["POST"]),
            Route("/_admin/fields", self.fields, methods=["POST"]),
        ]

    async def export(self, request: Request) -> Response:
        return JSONResponse(self.state.account.export())

    async def tokens(self, request: Request) -> Response:
        return JSONResponse(self.state.tokens_json())

    async def stats(self, request: Request) -> Response:
        return JSONResponse(self.state.stats.as_json())

    async def settings(self, request: Request) -> Response:
        return await settings_endpoint(request, self.state, "invalid_request")

    async def reset(self, request: Request) -> Response:
        self.state.reset(restore=False)
        self.state.persist()
        return JSONResponse({"reset": True})

    async def reset_limits(self, request: Request) -> Response:
        self.state.reset_limits()
        return JSONResponse({"reset": True})

    async def _list_body(self, request: Request, model: type[BaseModel]) -> list[Any]:
        body = await request.json()
        if not isinstance(body, list):
            raise ValueError("send a JSON array")
        return [model.model_validate(item) for item in body]

    async def users(self, request: Request) -> Response:
        try:
            users = await self._list_body(request, SeedUser)
        except ValueError as exc:
            return _invalid(exc)
        account = self.state.account
        made = [account.add_user(u.name, u.email, active=u.active, admin=u.admin) for u in users]
        self.state.persist()
        return JSONResponse(made, 201)

    async def fields(self, request: Request) -> Response:
        try:
            fields = await self._list_body(request, SeedField)
        except ValueError as exc:
            return _invalid(exc)
        made = []
        for f in fields:
            if f.entity not in FIELD_ENTITIES:
                return _invalid(ValueError(f"entity: one of {', '.join(FIELD_ENTITIES)}, not {f.entity!r}"))
            body: dict[str, Any] = {"field_name": f.field_name, "field_type": f.field_type}
            if f.options is not None:
                body["options"] = [{"label": label} for label in f.options]
            try:
                made.append({"entity": f.entity, **self.state.account.fields.add(f.entity, body).public()})
            except PipedriveError as exc:
                return JSONResponse(exc.body(), exc.status)
            finally:
                self.state.persist()
        return JSONResponse(made, 201)

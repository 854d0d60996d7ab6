"""The Visual Practice REST API v1 sandbox (CONTRACT.md section 1) as a Starlette app.

`/api/v1` serves the contract behind the gate (User-Agent, auth, rate limit, latency, faults);
`/_admin` lets tests and drills read counters and change the trouble at run time (no auth: the
sandbox only ever listens on a test machine). Records go out exactly as stored: the store holds
each record's JSON text and list bodies are assembled from those texts without re-encoding.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router

from sandbox.admin import settings_endpoint
from sandbox.visual_practice.content import document_response
from sandbox.visual_practice.gate import ApiGate, error_response
from sandbox.visual_practice.query import TIME_FIELDS, ApiError, links, not_found, parse_list_query
from sandbox.visual_practice.settings import SandboxSettings
from sandbox.visual_practice.state import SandboxState
from sandbox.visual_practice.store import Store, iso
from vp2pd.clock import SYSTEM_CLOCK, Clock
from vp2pd.vp_contract import COLLECTIONS, Collection, collection

# Collections served at a fixed path (`clients` at /clients); custom objects have their own routes.
BY_PATH: dict[str, Collection] = {c.path.strip("/"): c for c in COLLECTIONS if not c.enterprise_only}
CUSTOM_OBJECTS = collection("custom_objects")
CUSTOM_OBJECT_RECORDS = collection("custom_object_records")


def _filter_kinds(coll: Collection) -> dict[str, str]:
    """What each filterable field holds, which decides how a filter value is checked."""
    key_kind = "id" if coll.key == "id" else "key"
    return {name: key_kind if name == coll.key else "time" if name in TIME_FIELDS else "ref"
            for name in coll.filterable}


FILTERS = {c.name: _filter_kinds(c) for c in COLLECTIONS}
DELETED_FILTERS = {c.name: {"id": "id" if c.key == "id" else "key", "deleted_at": "time"} for c in COLLECTIONS}


def json_text(text: str) -> Response:
    return Response(text, media_type="application/json")


class VisualPracticeApi:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.store = state.store

    def routes(self) -> list[BaseRoute]:
        # Order matters: fixed segments (deleted, stats, content) before the {id} they would match.
        return [
            Route("/practice", self.practice),
            Route("/practice/stats", self.practice_stats),
            Route("/custom_objects", self.custom_objects),
            Route("/custom_objects/deleted", self.custom_objects_deleted),
            Route("/custom_objects/{key}", self.custom_object),
            Route("/custom_objects/{key}/records", self.custom_object_records),
            Route("/custom_objects/{key}/records/deleted", self.custom_object_records_deleted),
            Route("/custom_objects/{key}/records/{id}", self.custom_object_record),
            Route("/documents/{id}/content", self.document_content),
            Route("/{collection}", self.list_collection),
            Route("/{collection}/deleted", self.list_collection_deleted),
            Route("/{collection}/{id}", self.get_record),
        ]

    # -- shared ----------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.state.clock.now(), tz=timezone.utc)

    def _collection(self, request: Request) -> Collection:
        coll = BY_PATH.get(request.path_params["collection"])
        if coll is None:
            raise not_found()
        return coll

    def _require_enterprise(self) -> None:
        # On the standard plan custom objects do not exist: their paths are unknown paths.
        if not self.state.enterprise:
            raise not_found()

    def _object_key(self, request: Request) -> str:
        self._require_enterprise()
        key = request.path_params["key"]
        if self.store.get(CUSTOM_OBJECTS.name, key) is None:
            raise not_found()
        return key

    def _list(self, request: Request, coll: Collection, list_key: str, object_key: str | None = None) -> Response:
        query = parse_list_query(request, FILTERS[coll.name])
        settings = self.state.settings
        if settings.churns(coll.name):
            churned = self.state.churn.before_page(coll.name, settings.churn, query.offset, query.filters,
                                                   object_key, self.state.clock.now())
            self.state.stats.churn_deleted[coll.name].extend(churned.deleted)
            self.state.stats.churn_inserted[coll.name].extend(churned.inserted)
        docs, total = self.store.list(coll.name, query.filters, query.page, query.per_page, object_key)
        page_links = json.dumps(links(request, query, total), separators=(",", ":"))
        return json_text(f'{{"{list_key}":[{",".join(docs)}],"total_entries":{total},"links":{page_links}}}')

    def _list_deleted(self, request: Request, coll: Collection, object_key: str | None = None) -> Response:
        query = parse_list_query(request, DELETED_FILTERS[coll.name])
        rows, total = self.store.list_deleted(coll.name, query.filters, query.page, query.per_page, object_key)
        return JSONResponse({"deleted": rows, "total_entries": total, "links": links(request, query, total)})

    def _get(self, coll: Collection, record_id: str, object_key: str | None = None) -> Response:
        doc = self.store.get(coll.name, record_id, object_key)
        if doc is None:
            raise not_found()
        return json_text(doc)

    # -- endpoints ---------------------------------------------------------------------------------
    async def practice(self, request: Request) -> Response:
        return JSONResponse(self.store.practice)

    async def practice_stats(self, request: Request) -> Response:
        counts = self.store.counts()
        if not self.state.enterprise:
            for coll in COLLECTIONS:
                if coll.enterprise_only:
                    counts.pop(coll.name)
        return JSONResponse({"counts": counts, "as_of": iso(self._now())})

    async def list_collection(self, request: Request) -> Response:
        coll = self._collection(request)
        return self._list(request, coll, coll.name)

    async def list_collection_deleted(self, request: Request) -> Response:
        return self._list_deleted(request, self._collection(request))

    async def get_record(self, request: Request) -> Response:
        return self._get(self._collection(request), request.path_params["id"])

    async def custom_objects(self, request: Request) -> Response:
        self._require_enterprise()
        return self._list(request, CUSTOM_OBJECTS, CUSTOM_OBJECTS.name)

    async def custom_objects_deleted(self, request: Request) -> Response:
        self._require_enterprise()
        return self._list_deleted(request, CUSTOM_OBJECTS)

    async def custom_object(self, request: Request) -> Response:
        self._require_enterprise()
        return self._get(CUSTOM_OBJECTS, request.path_params["key"])

    async def custom_object_records(self, request: Request) -> Response:
        return self._list(request, CUSTOM_OBJECT_RECORDS, "records", self._object_key(request))

    async def custom_object_records_deleted(self, request: Request) -> Response:
        return self._list_deleted(request, CUSTOM_OBJECT_RECORDS, self._object_key(request))

    async def custom_object_record(self, request: Request) -> Response:
        return self._get(CUSTOM_OBJECT_RECORDS, request.path_params["id"], self._object_key(request))

    async def document_content(self, request: Request) -> Response:
        doc = self.store.get("documents", request.path_params["id"])
        if doc is None:
            raise not_found()
        return document_response(self.store, json.loads(doc), request.headers.get("range"))


class Admin:
    """`/_admin`: counters and run-time settings for tests and drills; never shows the API key."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_admin/stats", self.stats),
            Route("/_admin/settings", self.settings, methods=["GET", "PATCH"]),
            Route("/_admin/reset-limits", self.reset_limits, methods=["POST"]),
        ]

    async def stats(self, request: Request) -> Response:
        return JSONResponse(self.state.stats.as_json())

    async def settings(self, request: Request) -> Response:
        return await settings_endpoint(request, self.state, "invalid_settings")

    async def reset_limits(self, request: Request) -> Response:
        self.state.limiter.reset()
        return JSONResponse({"reset": True})


async def _render_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, (ApiError, HTTPException))  # registered for these two only
    return error_response(exc)


def create_app(store: Store, settings: SandboxSettings, clock: Clock = SYSTEM_CLOCK) -> Starlette:
    """The sandbox over `store` (mutated by churn: pass an in-memory copy). `app.state.sandbox` holds
    the live state (settings, limiter, store), `app.state.stats` the counters."""
    store.warm_lists()
    state = SandboxState(store, settings, clock)
    api = ApiGate(Router(VisualPracticeApi(state).routes()), state)
    app = Starlette(
        routes=[Mount("/api/v1", app=api), *Admin(state).routes()],
        exception_handlers={HTTPException: _render_error, ApiError: _render_error},
    )
    app.state.sandbox = state
    app.state.stats = state.stats
    return app

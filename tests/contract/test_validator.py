"""The contract validator itself: it must fail on what breaks the spec (or the tests proving the
sandbox would prove nothing), pass what meets it, and depart from the spec only as listed."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from sandbox.pipedrive.app import handlers
from tests.contract import validate
from tests.contract.validate import INVALID_REQUEST, LENIENCY_FILE, ValidatingTransport, validate_exchange
from vp2pd import pipedrive_contract as pc

BASE = "https://acme.pipedrive.com"
PERSON = {"id": 1, "name": "Ann", "owner_id": 1, "org_id": None, "emails": [], "is_deleted": False, "custom_fields": {}}


def exchange(method: str, path: str, status: int, body: object, *, request_json: object = None,
             content_type: str = "application/json", extensions: dict | None = None) -> tuple[httpx.Request, httpx.Response]:
    request = httpx.Request(method, BASE + path, json=request_json, extensions=extensions or {})
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request, httpx.Response(status, content=raw, headers={"content-type": content_type}, request=request)


def test_a_spec_conforming_exchange_passes() -> None:
    validate_exchange(*exchange("GET", "/api/v2/persons/1", 200, {"success": True, "data": PERSON}))
    validate_exchange(*exchange("POST", "/api/v2/persons", 200, {"success": True, "data": PERSON},
                                request_json={"name": "Ann", "emails": [{"value": "a@x.com", "primary": True}]}))


@pytest.mark.parametrize(("case", "message"), [
    (exchange("GET", "/api/v2/persons/1", 200, {"success": True, "data": {**PERSON, "owner_id": "1"}}),
     "data.owner_id"),
    (exchange("GET", "/api/v2/persons", 200, {"success": True, "data": [{**PERSON, "emails": [{"value": 5}]}]}),
     "data[0].emails[0].value"),
    (exchange("GET", "/api/v2/persons/1", 201, {"success": True, "data": PERSON}), "status 201 not documented"),
    (exchange("GET", "/api/v2/persons/1", 200, {"success": True, "data": PERSON}, content_type="text/plain"),
     "content type"),
    (exchange("GET", "/api/v2/persons/1?start=0", 200, {"success": True, "data": PERSON}),
     "query start: not a parameter"),
    (exchange("GET", "/api/v2/persons?limit=ten", 200, {"success": True, "data": []}), "query limit"),
    (exchange("POST", "/api/v2/persons", 200, {"success": True, "data": PERSON}, request_json={"name": 5}),
     "body name"),
    (exchange("POST", "/api/v2/persons", 200, {"success": True, "data": PERSON}, request_json={"name": "A", "email": "x"}),
     "body.email: not a member"),
    (exchange("POST", "/api/v2/organizations", 200, {"success": True, "data": {}}, request_json={"name": "A"},
              extensions={INVALID_REQUEST: True}), "marked invalid, but the request meets the spec"),
    (exchange("POST", "/api/v2/organizations", 200, {"success": True, "data": {}}, request_json={"name": 1},
              extensions={INVALID_REQUEST: True}), "an invalid request was answered 200"),
    (exchange("GET", "/v1/persons", 200, {"success": True, "data": []}), "answered 200"),
    (exchange("GET", "/api/v2/persons", 429, {"success": False}), "error envelope"),
    (exchange("GET", "/api/v2/persons", 500, b"<html>oops</html>", content_type="text/html"), "not Pipedrive's JSON error"),
    (exchange("GET", "/api/v2/persons/1", 403, b"plain", content_type="text/html"), "without an HTML page"),
])
def test_what_breaks_the_spec_fails_with_a_clear_message(case: tuple[httpx.Request, httpx.Response], message: str) -> None:
    with pytest.raises(AssertionError, match=message.replace("[", r"\[").replace("]", r"\]")) as failure:
        validate_exchange(*case)
    assert case[0].url.path in str(failure.value)  # the message names the call


def test_documented_departures_only() -> None:
    # Leniency: null for any response property (org_id above), an HTML 403 from the edge, an
    # undocumented error status in Pipedrive's envelope.
    validate_exchange(*exchange("GET", "/api/v2/persons", 403, b"<html><body>blocked</body></html>", content_type="text/html"))
    validate_exchange(*exchange("GET", "/api/v2/persons", 429, {"success": False, "error": "Request over limit",
                                                                 "error_info": "x", "data": None, "additional_data": None}))
    validate_exchange(*exchange("GET", "/api/v2/persons?api_token=abc", 200, {"success": True, "data": []}))
    doc = yaml.safe_load(LENIENCY_FILE.read_text())
    rules = {r["rule"] for r in doc["global"]}
    assert rules == validate.GLOBAL_RULES  # every rule the validator knows is listed, with a reason
    assert all(len(r["reason"]) > 80 for r in doc["global"])


def test_binary_download_is_checked_by_content_type() -> None:
    validate_exchange(*exchange("GET", "/v1/files/3/download", 200, b"\x00\x01", content_type="application/octet-stream"))
    with pytest.raises(AssertionError, match="content type"):
        validate_exchange(*exchange("GET", "/v1/files/3/download", 200, b"{}", content_type="application/json"))


def test_validating_transport_checks_every_exchange() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/1"):
            return httpx.Response(200, json={"success": True, "data": PERSON})
        return httpx.Response(200, json={"success": True, "data": {**PERSON, "is_deleted": "no"}})

    async def run() -> int:
        transport = ValidatingTransport(httpx.MockTransport(answer))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            assert (await client.get("/api/v2/persons/1")).json()["data"]["name"] == "Ann"
            with pytest.raises(AssertionError, match="data.is_deleted"):
                await client.get("/api/v2/persons/2")
            await client.get("/_admin/stats")  # the sandbox's own surface is not Pipedrive's: not checked
        return transport.exchanges

    import asyncio
    assert asyncio.run(run()) == 1


def test_every_sandbox_handler_is_a_spec_operation_and_the_issue_scope_is_served() -> None:
    served = set(handlers())
    in_spec = {(o.version, o.operation_id) for v in pc.VERSIONS for o in pc.operations(v)}
    assert served <= in_spec
    required = {("v2", f"{verb}{noun}") for noun in ("Person", "Organization", "Deal", "Activity", "Product",
                                                     "Pipeline", "Stage")
                for verb in ("get", "add", "update", "delete")}
    required |= {("v2", op) for op in ("getPersons", "getOrganizations", "getDeals", "getActivities", "getProducts",
                                       "getPipelines", "getStages", "searchItem", "searchPersons", "searchOrganization",
                                       "searchDeals", "searchProducts", "getDealProducts", "addDealProduct",
                                       "addManyDealProducts", "updateDealProduct", "deleteDealProduct",
                                       "getActivityFields", "getActivityField")}
    for noun in ("Person", "Organization", "Deal", "Product"):
        required |= {("v2", f"{verb}{noun}Field{suffix}") for verb in ("add", "update", "delete") for suffix in ("", "Options")}
        required |= {("v2", f"get{noun}Fields"), ("v2", f"get{noun}Field")}
    required |= {("v1", op) for op in ("getNotes", "addNote", "getNote", "updateNote", "deleteNote", "getFiles",
                                       "addFile", "getFile", "downloadFile", "deleteFile", "getUsers",
                                       "findUsersByName", "getCurrentUser", "getActivityTypes", "addActivityType",
                                       "getOrganizationRelationships", "addOrganizationRelationship")}
    assert required <= served, sorted(required - served)

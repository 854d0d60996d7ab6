"""Check HTTP exchanges against Pipedrive's official OpenAPI (v1.yaml, v2.yaml): the contract tests.

`validate_exchange(request, response)` raises AssertionError naming the operation, the status and
the exact place that breaks the spec. `ValidatingTransport` wraps any httpx async transport (the
sandbox's ASGITransport, a real network transport) so that every request a test sends and every
response it gets are checked as they pass; `ValidatingTransport.exchanges` counts them, so a suite
can prove that it checked what it meant to.

Schemas are OpenAPI 3.0 (nullable, no $ref in these files); they are converted once per operation
and status to JSON Schema draft 4 and checked with `jsonschema`. The only departures from the spec
are in `spec_leniency.yml`, each with its reason; the validator refuses a leniency file that names
a rule it does not implement or an operation the spec does not have.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema
import yaml

from vp2pd import pipedrive_contract as pc

LENIENCY_FILE = Path(__file__).with_name("spec_leniency.yml")
GLOBAL_RULES = frozenset({"null_for_any_response_property", "error_envelope_when_undocumented",
                          "edge_html_403", "edge_html_502", "auth_query_parameter"})
# Mark a request as deliberately breaking the spec (a strictness test): the validator then checks
# that it really does break it and that the answer is a 4xx in Pipedrive's error shape.
INVALID_REQUEST = "contract_invalid_request"
ADMIN_PREFIX = "/_admin/"  # the sandbox's own surface, not part of Pipedrive's API

# Pipedrive's error answer (the documented v1 401/403/404 schemas and the v2 answers seen in the
# docs share it); v2 documents no error responses at all, see spec_leniency.yml.
ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"enum": [False]},
        "error": {"type": "string"},
        "error_info": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"]},
        "errorCode": {"type": ["integer", "null"]},
        "data": {},
        "additional_data": {},
    },
}


@dataclass(frozen=True)
class Leniency:
    rules: frozenset[str]
    # (version, operationId, "request" | "response", property name) -> extra JSON types allowed
    extra_types: dict[tuple[str, str, str, str], tuple[str, ...]] = field(default_factory=dict)


@functools.cache
def leniency() -> Leniency:
    doc = yaml.safe_load(LENIENCY_FILE.read_text(encoding="utf-8"))
    rules = frozenset(r["rule"] for r in doc.get("global", []))
    unknown = rules - GLOBAL_RULES
    assert not unknown, f"{LENIENCY_FILE.name}: rules the validator does not implement: {sorted(unknown)}"
    ids = {(o.version, o.operation_id) for v in pc.VERSIONS for o in pc.operations(v)}
    extra: dict[tuple[str, str, str, str], tuple[str, ...]] = {}
    for entry in doc.get("properties", []):
        key = (entry["version"], entry["operation_id"])
        assert key in ids, f"{LENIENCY_FILE.name}: no operation {key} in the spec"
        assert entry["where"] in ("request", "response"), entry
        assert entry.get("reason"), f"{LENIENCY_FILE.name}: {key} {entry['property']} has no reason"
        extra[(*key, entry["where"], entry["property"])] = tuple(entry["allow"])
    for entry in doc.get("global", []):
        assert entry.get("reason"), f"{LENIENCY_FILE.name}: rule {entry['rule']} has no reason"
    return Leniency(rules, extra)


# -- schemas -------------------------------------------------------------------------------------------
@functools.cache
def _validator(version: str, operation_id: str, where: str, status: str, media: str) -> jsonschema.Draft4Validator | None:
    op = _operation_spec(version, operation_id)
    if where == "request":
        content = (op.get("requestBody") or {}).get("content", {})
    else:
        content = (op["responses"][status] or {}).get("content", {})
    schema = (content.get(media) or {}).get("schema")
    if schema is None:
        return None
    rules = leniency()
    extra = {prop: types for (v, oid, w, prop), types in rules.extra_types.items()
             if (v, oid, w) == (version, operation_id, where)}
    nullable_props = where == "response" and "null_for_any_response_property" in rules.rules
    converted = pc.to_json_schema(schema, nullable_props, extra)
    return jsonschema.Draft4Validator(converted)


@functools.cache
def _ops_by_id(version: str) -> dict[str, dict[str, Any]]:
    return {o.operation_id: pc.operation_spec(o) for o in pc.operations(version)}


def _operation_spec(version: str, operation_id: str) -> dict[str, Any]:
    return _ops_by_id(version)[operation_id]


def _errors(validator: jsonschema.Draft4Validator, instance: Any) -> list[str]:
    found = sorted((_leaf(e) for e in validator.iter_errors(instance)), key=lambda e: list(e.absolute_path))
    return [f"{_pointer(e.absolute_path)}: {e.message[:300]}" for e in found[:5]]


def _leaf(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """The most specific cause of an allOf/anyOf failure, so that the message names the property."""
    while error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is None or list(best.absolute_path) == list(error.absolute_path) and not best.context:
            return best or error
        error = best
    return error


def _pointer(path: Iterable[Any]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.lstrip(".") or "(root)"


# -- requests ------------------------------------------------------------------------------------------
def _query_value(raw: str, schema: dict[str, Any]) -> Any:
    """A query-string value as the type the parameter's schema declares, or the raw text if it is not one."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw) if "." in raw else int(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def request_problems(op: pc.Operation, request: httpx.Request) -> list[str]:
    """Where `request` breaks the spec of `op`: path and query parameters, then the body."""
    spec_op = _operation_spec(op.version, op.operation_id)
    problems: list[str] = []
    params = {p["name"]: p for p in spec_op.get("parameters", [])}
    for name, value in pc.path_params(op, request.url.path).items():
        schema = params.get(name, {}).get("schema", {"type": "string"})
        problems += [f"path {name}: {m}" for m in _errors(jsonschema.Draft4Validator(schema), _query_value(value, schema))]
    query = parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True)
    allowed_extra = {"api_token"} if "auth_query_parameter" in leniency().rules else set()
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name, []).append(value)
    for name, values in grouped.items():
        spec_param = params.get(name)
        if spec_param is None or spec_param.get("in") != "query":
            if name not in allowed_extra:
                problems.append(f"query {name}: not a parameter of {op.operation_id}")
            continue
        schema = spec_param.get("schema", {})
        if schema.get("type") == "array":  # style form, explode: one `name=` per item
            instance: Any = [_query_value(v, schema.get("items", {})) for v in values]
        elif len(values) > 1:
            problems.append(f"query {name}: sent {len(values)} times")
            continue
        else:
            instance = _query_value(values[0], schema)
        problems += [f"query {name}: {m}" for m in _errors(jsonschema.Draft4Validator(
            pc.to_json_schema(schema)), instance)]
    sent = {name for name, _ in query}
    problems += [f"query {p['name']}: required" for p in params.values()
                 if p.get("in") == "query" and p.get("required") and p["name"] not in sent]
    return problems + _body_problems(op, spec_op, request)


def _body_problems(op: pc.Operation, spec_op: dict[str, Any], request: httpx.Request) -> list[str]:
    body_spec = spec_op.get("requestBody")
    content = request.content
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if body_spec is None:
        return [f"body: {op.operation_id} takes no request body"] if content else []
    if not content:
        return ["body: required"] if body_spec.get("required") else []
    if media not in body_spec["content"]:
        return [f"body: content type {media!r} not one of {sorted(body_spec['content'])}"]
    if media == "application/json":
        try:
            instance = json.loads(content)
        except ValueError as exc:
            return [f"body: not JSON ({exc})"]
    elif media == "multipart/form-data":
        instance = _multipart_fields(request)
        schema = body_spec["content"][media].get("schema", {})
        for name, prop in schema.get("properties", {}).items():
            if name in instance and prop.get("format") != "binary":
                instance[name] = _query_value(instance[name], prop)
    else:
        return []
    validator = _validator(op.version, op.operation_id, "request", "", media)
    problems = [f"body {m}" for m in _errors(validator, instance)] if validator else []
    return problems + _unknown_members(body_spec["content"][media].get("schema", {}), instance)


def _unknown_members(schema: dict[str, Any], instance: Any) -> list[str]:
    """Top-level body members the schema does not name (unless it allows extra members): a v1-style
    key sent to v2 (`email` for `emails`) is a client bug even where the API would ignore it."""
    parts = schema.get("allOf", [schema])
    if not isinstance(instance, dict) or any(p.get("additionalProperties") for p in parts):
        return []
    known = {k for p in parts for k in p.get("properties", {})}
    return [f"body.{k}: not a member of the request schema" for k in sorted(set(instance) - known)]


def _multipart_fields(request: httpx.Request) -> dict[str, Any]:
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            fields[name] = "<binary>"
        else:
            fields[name] = part.get_content().strip() if isinstance(part.get_content(), str) else part.get_payload()
    return fields


# -- responses -----------------------------------------------------------------------------------------
ERROR_VALIDATOR = jsonschema.Draft4Validator(ERROR_ENVELOPE)


def response_problems(op: pc.Operation | None, response: httpx.Response) -> list[str]:
    status = str(response.status_code)
    media = response.headers.get("content-type", "").split(";")[0].strip()
    rules = leniency().rules
    edge_html = {403: "edge_html_403", 502: "edge_html_502"}.get(response.status_code)
    if media == "text/html" and edge_html in rules:
        return [] if b"<html" in response.content.lower() else [f"{status} text/html without an HTML page"]
    documented = _operation_spec(op.version, op.operation_id)["responses"] if op else {}
    if status not in documented:
        if response.status_code < 400:
            return [f"status {status} not documented (documented: {sorted(documented)})"]
        if "error_envelope_when_undocumented" not in rules:
            return [f"status {status} not documented"]
        return _error_envelope_problems(response, media)
    content = (documented[status] or {}).get("content") or {}
    if not content:
        return [] if not response.content else [f"status {status} documents no body"]
    if media not in content:
        return [f"content type {media!r} not one of {sorted(content)}"]
    if media != "application/json":
        return []
    try:
        body = response.json()
    except ValueError as exc:
        return [f"body is not JSON ({exc})"]
    assert op is not None
    validator = _validator(op.version, op.operation_id, "response", status, media)
    problems = _errors(validator, body) if validator else []
    if response.status_code >= 400:
        problems += _error_envelope_problems(response, media)
    return problems


def _error_envelope_problems(response: httpx.Response, media: str) -> list[str]:
    if media != "application/json":
        return [f"error {response.status_code} is {media!r}, not Pipedrive's JSON error"]
    try:
        body = response.json()
    except ValueError as exc:
        return [f"error body is not JSON ({exc})"]
    return [f"error envelope {m}" for m in _errors(ERROR_VALIDATOR, body)]


# -- the public checks ---------------------------------------------------------------------------------
def describe(op: pc.Operation | None, request: httpx.Request) -> str:
    name = f"{op.version} {op.method} {op.template} ({op.operation_id})" if op else "no spec operation"
    return f"{request.method} {request.url.path} → {name}"


def validate_exchange(request: httpx.Request, response: httpx.Response) -> None:
    """Raise AssertionError if `request` or `response` (read) breaks Pipedrive's spec."""
    op = pc.operation_for(request.method, request.url.path)
    deliberate = bool(request.extensions.get(INVALID_REQUEST))
    if op is None:
        # Removed v1 endpoints and unknown paths: only a JSON error answer is acceptable.
        assert response.status_code >= 400, f"{describe(op, request)}: answered {response.status_code}"
        problems = _error_envelope_problems(response, response.headers.get("content-type", "").split(";")[0])
        assert not problems, f"{describe(op, request)}: " + "; ".join(problems)
        return
    req_problems = request_problems(op, request)
    if deliberate:
        assert req_problems, f"{describe(op, request)}: marked invalid, but the request meets the spec"
        assert 400 <= response.status_code < 500, (
            f"{describe(op, request)}: an invalid request was answered {response.status_code}")
    else:
        assert not req_problems, f"{describe(op, request)}: request breaks the spec: " + "; ".join(req_problems)
    problems = response_problems(op, response)
    assert not problems, f"{describe(op, request)}: response {response.status_code} breaks the spec: " + "; ".join(problems)


class ValidatingTransport(httpx.AsyncBaseTransport):
    """Validates every request and response passing through `inner`; `exchanges` counts them."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges = 0  # API exchanges validated (the sandbox's /_admin surface is not Pipedrive's)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self.inner.handle_async_request(request)
        headers = response.headers
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        except httpx.StreamConsumed:  # an in-memory response (MockTransport) comes read, and decoded
            raw = response.content
            headers = httpx.Headers([(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"])
        await response.aclose()
        if not request.url.path.startswith(ADMIN_PREFIX):
            checked = httpx.Response(response.status_code, headers=headers, content=raw, request=request)
            validate_exchange(request, checked)
            self.exchanges += 1
        return httpx.Response(response.status_code, headers=headers, stream=httpx.ByteStream(raw),
                              request=request, extensions=response.extensions)

    async def aclose(self) -> None:
        await self.inner.aclose()

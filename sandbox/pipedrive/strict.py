"""Request checks generated from the spec: bodies against the operation's request schema, query
parameters against their declared types. This is v2's documented strictness (booleans only
true/false, numbers never coerced from strings) and it holds for v1 bodies too, as the spec types them.

Unknown top-level body members are refused (400) unless the schema allows extra members: a client
that sends a v1-style key to v2 (`email` for `emails`) must fail here, not lose the value silently.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema

from sandbox.pipedrive.errors import bad_request
from vp2pd import pipedrive_contract as pc


@functools.cache
def _body_schema(op: pc.Operation, media: str) -> tuple[jsonschema.Draft4Validator, frozenset[str] | None] | None:
    body = pc.operation_spec(op).get("requestBody")
    schema = ((body or {}).get("content", {}).get(media) or {}).get("schema")
    if schema is None:
        return None
    parts = schema.get("allOf", [schema])
    open_ended = any(p.get("additionalProperties") for p in parts) or schema.get("type") == "array"
    known = None if open_ended else frozenset(k for p in parts for k in p.get("properties", {}))
    return jsonschema.Draft4Validator(pc.to_json_schema(schema)), known


def _where(path: Any) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "body"


def check_body(op: pc.Operation, body: Any, media: str = "application/json") -> None:
    checked = _body_schema(op, media)
    if checked is None:
        return
    validator, known = checked
    if known is not None and isinstance(body, dict):
        unknown = sorted(set(body) - known)
        if unknown:
            raise bad_request(f"{unknown[0]}: unknown parameter for {op.operation_id}")
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is None:
        return
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = next(name for name in error.validator_value if name not in error.instance)
        prefix = _where(error.absolute_path) + "." if error.absolute_path else ""
        raise bad_request(f"{prefix}{missing}: required")
    raise bad_request(f"{_where(error.absolute_path)}: {error.message}")


def json_body(raw: bytes, op: pc.Operation) -> Any:
    if not raw:
        if (pc.operation_spec(op).get("requestBody") or {}).get("required"):
            raise bad_request("request body is required")
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"body is not valid JSON: {exc}") from None


@functools.cache
def _query_params(op: pc.Operation) -> dict[str, dict[str, Any]]:
    return {p["name"]: p.get("schema", {}) for p in pc.operation_spec(op).get("parameters", []) if p.get("in") == "query"}


def query_value(op: pc.Operation, name: str, raw: str | None) -> Any:
    """A query parameter as its declared type; 400 naming it if it is not one. None when absent."""
    if raw is None:
        return None
    schema = _query_params(op).get(name, {"type": "string"})
    kind = schema.get("type")
    try:
        if kind == "integer":
            value: Any = int(raw)
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "boolean":
            if raw not in ("true", "false"):
                raise ValueError
            value = raw == "true"
        else:
            value = raw
    except ValueError:
        raise bad_request(f"{name}: {raw!r} is not a valid {kind}") from None
    # include_fields-style parameters take a comma-separated list of their enum's values.
    parts = raw.split(",") if kind == "string" and "," in raw else [value]
    if "enum" in schema and kind != "array" and any(p not in schema["enum"] for p in parts):
        raise bad_request(f"{name}: {raw!r} is not one of {schema['enum']}")
    return value


def query_params(op: pc.Operation) -> frozenset[str]:
    return frozenset(_query_params(op))

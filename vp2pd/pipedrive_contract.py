"""Pipedrive's official OpenAPI documents (../shared/pipedrive-openapi/) as a lookup table in code.

The sandbox (to charge tokens and know which paths exist) and the client (to keep its token ledger
and route v1/v2) both read this one table, generated from the YAML at first use, never typed by
hand, so that the emulator, the client and the spec cannot drift apart.

Plan constants are Pipedrive's documented rate limits (token-based limits, 2024-12 onwards): a daily
budget of 30,000 tokens × plan multiplier × seats, and a burst limit per token per rolling 2 s.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

SPEC_DIR_ENV = "VP2PD_PIPEDRIVE_OPENAPI"
# The repo sits beside shared/ (DEVELOPERS.md: `../shared/pipedrive-openapi/`).
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[2] / "shared" / "pipedrive-openapi"
VERSIONS = ("v1", "v2")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Where each version lives under https://{company}.pipedrive.com (and api.pipedrive.com).
# `/api/v1` is accepted too: Pipedrive serves v1 under both.
PATH_PREFIXES: tuple[tuple[str, str], ...] = (("/api/v2", "v2"), ("/api/v1", "v1"), ("/v1", "v1"))

PLAN_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
BURST_PER_2S = {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120}
SEARCH_BURST_PER_2S = 10
BURST_WINDOW_S = 2.0
DAILY_BASE_TOKENS = 30_000

# Out of support since 2026-08-01: these resources' v1 endpoints; v2 serves them.
REMOVED_V1_RESOURCES = frozenset({"persons", "organizations", "deals", "activities", "products", "pipelines", "stages"})
# Exist only in v1 (no v2 equivalent).
V1_ONLY_RESOURCES = frozenset({"notes", "files", "users", "activityTypes", "organizationRelationships"})

# Every operation in the 2026-08-18 snapshot has `x-token-cost` (a unit test checks it). Should a
# newer spec leave one out, we charge this: the cost of a v1 list call, the most common expensive
# call, so that a client's ledger errs toward stopping early rather than overspending.
MISSING_TOKEN_COST = 20


@dataclass(frozen=True)
class Operation:
    version: str  # "v1" | "v2"
    method: str  # upper case
    template: str  # spec path, e.g. "/persons/{id}"
    operation_id: str
    token_cost: int

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))

    @property
    def is_search(self) -> bool:
        """Search endpoints have their own, lower burst limit (SEARCH_BURST_PER_2S)."""
        return "search" in self.segments or "itemSearch" in self.segments

    @property
    def resource(self) -> str:
        return self.segments[0]


def spec_dir() -> Path:
    return Path(os.environ.get(SPEC_DIR_ENV) or DEFAULT_SPEC_DIR)


@functools.cache
def spec(version: str) -> dict[str, Any]:
    """The parsed OpenAPI document of `version` ("v1" | "v2"), loaded once per process."""
    if version not in VERSIONS:
        raise ValueError(f"unknown Pipedrive API version {version!r}; known: {', '.join(VERSIONS)}")
    path = spec_dir() / f"{version}.yaml"
    with path.open("rb") as fh:
        # CSafeLoader: the two files are ~2.8 MB and the pure-Python loader takes seconds.
        return yaml.load(fh, Loader=yaml.CSafeLoader)


@functools.cache
def operations(version: str) -> tuple[Operation, ...]:
    ops: list[Operation] = []
    for template, item in spec(version)["paths"].items():
        for method, op in item.items():
            if method.upper() not in HTTP_METHODS:
                continue  # `parameters` and other path-level keys
            cost = op.get("x-token-cost")
            ops.append(Operation(version, method.upper(), template, op.get("operationId", ""),
                                 int(cost) if cost is not None else MISSING_TOKEN_COST))
    return tuple(ops)


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


@functools.cache
def _by_shape(version: str) -> dict[tuple[str, int], list[Operation]]:
    """Operations grouped by (method, segment count), most specific first: at each position from the
    left a literal segment sorts before a `{param}`, so `/deals/products` wins over `/deals/{id}`."""
    grouped: dict[tuple[str, int], list[Operation]] = {}
    for op in operations(version):
        grouped.setdefault((op.method, len(op.segments)), []).append(op)
    for ops in grouped.values():
        ops.sort(key=lambda o: tuple(_is_param(s) for s in o.segments))
    return grouped


def split_version(path: str) -> tuple[str, str] | None:
    """("v2", "/persons/12") for "/api/v2/persons/12" (a full URL or a query string is fine), else None."""
    path = urlsplit(path).path.rstrip("/") or "/"
    for prefix, version in PATH_PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return version, path[len(prefix):] or "/"
    return None


def operation_for(method: str, path: str) -> Operation | None:
    """The spec operation a real request path answers to, or None if the spec has no such operation."""
    split = split_version(path)
    if split is None:
        return None
    version, rest = split
    segments = tuple(rest.strip("/").split("/"))
    for op in _by_shape(version).get((method.upper(), len(segments)), ()):
        if all(_is_param(t) or t == s for t, s in zip(op.segments, segments)):
            return op
    return None


def path_params(op: Operation, path: str) -> dict[str, str]:
    """The `{param}` values of a real path that `operation_for` matched to `op`."""
    split = split_version(path)
    assert split is not None, path
    segments = split[1].strip("/").split("/")
    return {t[1:-1]: s for t, s in zip(op.segments, segments) if _is_param(t)}


def token_cost(method: str, path: str) -> int:
    """Tokens Pipedrive charges for this call (`x-token-cost`); LookupError if the spec has no such
    operation (a removed v1 endpoint, a typo): a ledger must not guess what an unknown call costs."""
    op = operation_for(method, path)
    if op is None:
        raise LookupError(f"{method.upper()} {path} is not an operation of Pipedrive's API v1 or v2")
    return op.token_cost


def is_removed_v1(method: str, path: str) -> bool:
    """A v1 call to a resource whose v1 endpoints are out of support (e.g. GET /v1/persons/5). The few
    v1 operations the spec still lists under those resources (e.g. /persons/{id}/changelog) are not."""
    split = split_version(path)
    if split is None or split[0] != "v1" or split[1].strip("/").split("/")[0] not in REMOVED_V1_RESOURCES:
        return False
    return operation_for(method, path) is None


def daily_budget(plan: str, seats: int) -> int:
    """Tokens per day for a company: 30,000 × the plan's multiplier × seats."""
    if plan not in PLAN_MULTIPLIER:
        raise ValueError(f"unknown Pipedrive plan {plan!r}; known: {', '.join(PLAN_MULTIPLIER)}")
    if seats < 1:
        raise ValueError(f"seats must be at least 1, got {seats}")
    return DAILY_BASE_TOKENS * PLAN_MULTIPLIER[plan] * seats


def burst_limit(plan: str, op: Operation | None = None) -> int:
    """Requests allowed per token in a rolling 2 s: the plan's, or the search limit for search calls."""
    if op is not None and op.is_search:
        return SEARCH_BURST_PER_2S
    return BURST_PER_2S[plan]


def operation_spec(op: Operation) -> dict[str, Any]:
    """The operation object of the spec (parameters, requestBody, responses)."""
    return spec(op.version)["paths"][op.template][op.method.lower()]


def success_status(op: Operation) -> int:
    """The 2xx status the spec documents for `op` (201 for some creates, else 200)."""
    codes = sorted(int(c) for c in operation_spec(op)["responses"] if str(c).startswith("2"))
    return codes[0] if codes else 200


def to_json_schema(node: Any, nullable_properties: bool = False,
                   extra_types: dict[str, tuple[str, ...]] | None = None) -> Any:
    """An OpenAPI 3.0 schema (these files have no $ref) as JSON Schema draft 4: `nullable: true`
    becomes a "null" alternative. `nullable_properties` lets every property be null as well, and
    `extra_types` adds JSON types to properties by name (the contract tests' leniencies)."""
    extra_types = extra_types or {}
    if isinstance(node, list):
        return [to_json_schema(n, nullable_properties, extra_types) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v, nullable_properties, extra_types) for k, v in node.items()
           if k not in ("properties", "example", "examples", "nullable")}
    if "properties" in node:
        props = {}
        for name, sub in node["properties"].items():
            allow = extra_types.get(name, ()) + (("null",) if nullable_properties else ())
            props[name] = _allow_types(to_json_schema(sub, nullable_properties, extra_types), allow)
        out["properties"] = props
    if node.get("nullable"):
        out = _allow_types(out, ("null",))
    return out


def _allow_types(schema: Any, types: tuple[str, ...]) -> Any:
    """`schema` that also accepts values of `types`: widened in place where it declares a `type`
    (so a validator's message still names the property), else as an anyOf alternative."""
    if not types or not isinstance(schema, dict):
        return schema
    declared = schema.get("type")
    if isinstance(declared, (str, list)) and not any(k in schema for k in ("allOf", "anyOf", "oneOf")):
        widened = dict(schema)
        current = [declared] if isinstance(declared, str) else list(declared)
        widened["type"] = current + [t for t in types if t not in current]
        if "enum" in widened and "null" in types and None not in widened["enum"]:
            widened["enum"] = [*widened["enum"], None]
        return widened
    return {"anyOf": [schema, {"type": list(types)}]}

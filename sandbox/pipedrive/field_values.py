"""Custom field values in API v2's shapes (Pipedrive's v2 migration guide): text types a string,
`double` a number (never a numeric string), `monetary` {value, currency}, `enum` an option id, `set`
a non-empty array of option ids (null clears it), `user`/`org`/`people` the id of a live record,
`date` YYYY-MM-DD, `daterange` {start, end}, `time` {value: HH:MM:SS, timezone_id?}, `timerange`
{start, end, timezone_id?}, `address` {value, ...subfields}.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from sandbox.pipedrive.fields import Field

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
ADDRESS_PARTS = ("value", "country", "admin_area_level_1", "admin_area_level_2", "locality", "sublocality",
                 "route", "street_number", "subpremise", "postal_code")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _object_problem(value: Any, required: tuple[str, ...], allowed: tuple[str, ...]) -> str | None:
    if not isinstance(value, dict):
        return f"must be an object with {', '.join(required)}"
    missing = [k for k in required if k not in value]
    if missing:
        return f"missing {', '.join(missing)}"
    extra = sorted(set(value) - set(allowed))
    return f"unknown member {extra[0]}" if extra else None


def value_problem(f: Field, value: Any, exists: Callable[[str, int], bool]) -> str | None:
    kind = f.field_type
    if kind in ("varchar", "varchar_auto", "text", "phone"):
        return None if isinstance(value, str) else "must be a string"
    if kind == "double":
        return None if _is_number(value) else "must be a number (strings are not coerced)"
    if kind == "monetary":
        problem = _object_problem(value, ("value", "currency"), ("value", "currency"))
        if problem:
            return problem
        if not _is_number(value["value"]):
            return "value must be a number"
        return None if isinstance(value["currency"], str) and CURRENCY.match(value["currency"]) else \
            "currency must be a 3-letter ISO code"
    if kind == "enum":
        ids = {o["id"] for o in f.options or []}
        return None if _is_int(value) and value in ids else f"must be one of the option ids {sorted(ids)}"
    if kind == "set":
        ids = {o["id"] for o in f.options or []}
        if not isinstance(value, list) or not value:
            return "must be a non-empty array of option ids (null clears it)"
        bad = [v for v in value if not (_is_int(v) and v in ids)]
        return f"{bad[0]!r} is not one of the option ids {sorted(ids)}" if bad else None
    if kind in ("user", "org", "people"):
        target = {"user": "user", "org": "organization", "people": "person"}[kind]
        if not _is_int(value):
            return "must be an integer id"
        return None if exists(target, value) else f"no {target} with id {value}"
    if kind == "date":
        return None if isinstance(value, str) and DATE.match(value) else "must be a date YYYY-MM-DD"
    if kind == "daterange":
        problem = _object_problem(value, ("start", "end"), ("start", "end"))
        if problem:
            return problem
        ok = all(isinstance(value[k], str) and DATE.match(value[k]) for k in ("start", "end"))
        return None if ok else "start and end must be dates YYYY-MM-DD"
    if kind == "time":
        problem = _object_problem(value, ("value",), ("value", "timezone_id"))
        if problem:
            return problem
        return None if isinstance(value["value"], str) and TIME.match(value["value"]) else "value must be HH:MM:SS"
    if kind == "timerange":
        problem = _object_problem(value, ("start", "end"), ("start", "end", "timezone_id"))
        if problem:
            return problem
        ok = all(isinstance(value[k], str) and TIME.match(value[k]) for k in ("start", "end"))
        return None if ok else "start and end must be times HH:MM:SS"
    if kind == "address":
        problem = _object_problem(value, ("value",), ADDRESS_PARTS)
        if problem:
            return problem
        bad = [k for k, v in value.items() if v is not None and not isinstance(v, str)]
        return f"{bad[0]} must be a string" if bad else None
    return None

"""Check an API record against the contract's types and shape it as a raw row.

A record whose values do not have their contract type (a date that is not a date, money that is
not a number) is not landed half-parsed: `InvalidRecord` names the field and value, and the
extractor quarantines the whole record. Attributes the contract does not name go to `_extra`.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from vp2pd.vp_contract import LIST_TYPES, NESTED_MEMBERS, Collection


class InvalidRecord(ValueError):
    pass


def _timestamp(value: Any) -> str:
    # Contract timestamps are ISO-8601 UTC; land them as naive UTC text DuckDB casts exactly.
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.isoformat(sep=" ")


def _date(value: Any) -> str:
    return date.fromisoformat(str(value)).isoformat()


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError("not a finite number")
    return str(number)


def _int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError("not an integer")
    return int(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not true/false")
    return value


def _str(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise ValueError("an object where text was expected")
    return value if isinstance(value, str) else str(value)


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("not a list")
    return [_str(v) for v in value]


SCALARS = {
    "str": _str, "int": _int, "bool": _bool, "money": _decimal, "quantity": _decimal,
    "date": _date, "timestamp": _timestamp, "str[]": _str_list,
}


def _convert(logical: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    try:
        if logical == "json":
            return value
        if logical in SCALARS:
            return SCALARS[logical](value)
        members = NESTED_MEMBERS[logical]
        if logical in LIST_TYPES:
            if not isinstance(value, list):
                raise ValueError("not a list")
            return [_convert_object(members, item, f"{where}[{i}]") for i, item in enumerate(value)]
        return _convert_object(members, value, where)
    except InvalidRecord:
        raise
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise InvalidRecord(f"{where} = {value!r:.80}: {exc or 'invalid'}") from None


def _convert_object(members: dict[str, str], value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRecord(f"{where} = {value!r:.80}: not an object")
    return {name: _convert(typ, value.get(name), f"{where}.{name}") for name, typ in members.items()}


def to_raw_row(coll: Collection, record: Any, object_key: str | None = None) -> dict[str, Any]:
    """The raw row of an API record: contract columns typed, unknown attributes in `_extra`."""
    if not isinstance(record, dict):
        raise InvalidRecord(f"not a JSON object: {record!r:.80}")
    key = record.get(coll.key)
    if key in (None, ""):
        raise InvalidRecord(f"missing {coll.key}")
    row = {f.name: _convert(f.type, record.get(f.name), f.name) for f in coll.fields}
    if object_key is not None:
        row["object_key"] = object_key
    extra = {k: v for k, v in record.items() if k not in row}
    row["_extra"] = extra or None
    return row

"""Plain Python values -> the shapes API v2 insists on (it coerces nothing: "12" is not a number).

Option-valued fields (enum, set) need the account's option ids and are resolved by the field
catalogue; everything else is converted here by the field's type.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

ADDRESS_PARTS = ("value", "country", "admin_area_level_1", "admin_area_level_2", "locality", "sublocality",
                 "route", "street_number", "subpremise", "postal_code")


class ValueConversionError(ValueError):
    """A value that cannot become the field's v2 shape, named by field."""


def number(value: Any, field: str) -> float:
    if isinstance(value, bool):  # bool is an int in Python, never a number in Pipedrive
        raise ValueConversionError(f"{field}: {value!r} is a boolean, not a number")
    try:
        return float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        raise ValueConversionError(f"{field}: {value!r} is not a number") from None


def integer(value: Any, field: str) -> int:
    as_float = number(value, field)
    if as_float != int(as_float):
        raise ValueConversionError(f"{field}: {value!r} is not a whole number")
    return int(as_float)


def iso_date(value: Any, field: str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise ValueConversionError(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


def iso_time(value: Any, field: str) -> str:
    if isinstance(value, datetime):
        value = value.time()
    try:
        parsed = value if isinstance(value, time) else time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueConversionError(f"{field}: {value!r} is not a time (HH:MM:SS)") from None
    return parsed.replace(microsecond=0).isoformat()


def monetary(value: Any, field: str, default_currency: str | None) -> dict[str, Any]:
    """{value, currency}: from a dict, an (amount, currency) pair, or an amount in the default currency."""
    if isinstance(value, Mapping):
        amount, currency = value.get("value"), value.get("currency") or default_currency
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        amount, currency = value
    else:
        amount, currency = value, default_currency
    if not currency:
        raise ValueConversionError(f"{field}: monetary value {value!r} has no currency")
    return {"value": number(amount, field), "currency": str(currency).upper()}


def address(value: Any, field: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"value": value}
    if isinstance(value, Mapping):
        unknown = set(value) - set(ADDRESS_PARTS)
        if unknown:
            raise ValueConversionError(f"{field}: address parts {sorted(unknown)} are not Pipedrive's")
        parts = {k: str(v) for k, v in value.items() if v is not None}
        if "value" not in parts:  # v2 requires the full address text beside its parts
            street = " ".join(parts[k] for k in ("street_number", "route") if k in parts)
            rest = ("subpremise", "locality", "admin_area_level_1", "postal_code", "country")
            parts["value"] = ", ".join([street] * bool(street) + [parts[k] for k in rest if k in parts])
        return parts
    raise ValueConversionError(f"{field}: {value!r} is not an address (text or parts)")


def date_range(value: Any, field: str) -> dict[str, str]:
    start, end = (value.get("start"), value.get("end")) if isinstance(value, Mapping) else value
    return {"start": iso_date(start, field), "end": iso_date(end, field)}


def time_range(value: Any, field: str) -> dict[str, str]:
    start, end = (value.get("start"), value.get("end")) if isinstance(value, Mapping) else value
    return {"start": iso_time(start, field), "end": iso_time(end, field)}


def contact_list(values: str | Iterable[Any] | None, label: str = "work") -> list[dict[str, Any]]:
    """Emails or phones as v2 wants them: [{value, label, primary}], the first one primary.
    Items may be plain strings or dicts that already carry a label."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    out: list[dict[str, Any]] = []
    for item in items:
        entry = dict(item) if isinstance(item, Mapping) else {"value": str(item)}
        if not str(entry.get("value") or "").strip():
            continue
        entry.setdefault("label", label)
        out.append({"value": str(entry["value"]).strip(), "label": entry["label"], "primary": not out})
    return out


def plain(field_type: str, value: Any, field: str, default_currency: str | None = None) -> Any:
    """The v2 shape of `value` for every field type except the option-valued ones."""
    if value is None:
        return None  # v2 clears a field with null
    match field_type:
        case "double":
            return number(value, field)
        case "int" | "user" | "org" | "people":
            return integer(value, field)
        case "monetary":
            return monetary(value, field, default_currency)
        case "date":
            return iso_date(value, field)
        case "time":  # v2 wraps a time: {value, timezone_id?}
            return {"value": iso_time(value, field)}
        case "daterange":
            return date_range(value, field)
        case "timerange":
            return time_range(value, field)
        case "address":
            return address(value, field)
        case "varchar" | "varchar_auto" | "text" | "phone":
            return str(value)
        case "boolean":
            if not isinstance(value, bool):
                raise ValueConversionError(f"{field}: {value!r} is not true/false")
            return value
    raise ValueConversionError(f"{field}: field type {field_type!r} is not converted by vp2pd")

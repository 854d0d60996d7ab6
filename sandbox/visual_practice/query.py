"""Reading list requests (`page`, `per_page`, `q[]=field:OPvalue`) and writing their `links`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request

from sandbox.visual_practice.store import Filter, parse_iso

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000_000  # beyond any practice; keeps the SQL offset within BIGINT
# Two-character operators first, so `>=` is not read as `>` followed by a value starting with `=`.
OPERATORS = ("!=", ">=", "<=", "=", ">", "<")
TIME_FIELDS = frozenset({"created_at", "updated_at", "deleted_at"})


class ApiError(Exception):
    """An answer other than success, with its JSON body; raised by handlers, rendered by the gate."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None, **detail: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **detail}
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "not_found")


def invalid(parameter: str, message: str, **detail: Any) -> ApiError:
    return ApiError(400, "invalid_parameter", parameter=parameter, message=message, **detail)


@dataclass(frozen=True)
class ListQuery:
    page: int
    per_page: int
    filters: tuple[Filter, ...]

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise invalid(name, f"{name} must be an integer from {low} to {high}, got {text!r}")
    return value


def parse_filter(text: str, filterable: dict[str, str]) -> Filter:
    """`field:OPvalue` on a filterable field; `filterable` maps each field to its kind (id, key, time, ref)."""
    field, sep, rest = text.partition(":")

    def bad(message: str) -> ApiError:
        return invalid("q[]", message, filter=text, field=field)

    if not sep or not field:
        raise bad(f"filter {text!r} is not field:OPvalue")
    if field not in filterable:
        raise bad(f"cannot filter on {field!r}; filterable: {', '.join(filterable)}")
    op = next((o for o in OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise bad(f"filter {text!r} has no operator (one of {' '.join(OPERATORS)})")
    value, kind = rest[len(op):], filterable[field]
    if kind == "time":
        try:
            parse_iso(value)
        except ValueError:
            raise bad(f"{field} needs an ISO-8601 timestamp, got {value!r}") from None
    elif kind in ("id", "ref") and not value.isdigit():
        raise bad(f"{field} needs an id (digits), got {value!r}")
    elif not value:
        raise bad(f"{field} needs a value")
    return Filter(field, op, value)


def parse_list_query(request: Request, filterable: dict[str, str]) -> ListQuery:
    page = _int_param(request, "page", 1, 1, MAX_PAGE)
    per_page = _int_param(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    filters = tuple(parse_filter(q, filterable) for q in request.query_params.getlist("q[]"))
    return ListQuery(page, per_page, filters)


def _page_url(request: Request, page: int) -> str:
    # Edit the raw query so every other parameter (repeated q[] included) comes back as the client sent it.
    kept = [p for p in request.url.query.split("&") if p and unquote_plus(p.partition("=")[0]) != "page"]
    return str(request.url.replace(query="&".join([*kept, f"page={page}"])))


def links(request: Request, query: ListQuery, total: int) -> dict[str, str]:
    out = {"self": str(request.url)}
    if query.page * query.per_page < total:
        out["next"] = _page_url(request, query.page + 1)
    if query.page > 1:
        out["previous"] = _page_url(request, query.page - 1)
    return out

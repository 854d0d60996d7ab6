"""What the generator is asked to produce, checked before anything is written."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vp2pd.vp_contract import BY_NAME

PLANS = ("standard", "enterprise")
ENCODINGS = ("cp1252", "utf-8-sig")
RECORD_ENDS = {"cr": "\r", "crlf": "\r\n"}
DATE_STYLES = ("ymd", "mdy")
MONEY_STYLES = ("plain", "dollar")
DOCUMENT_MODES = ("full", "metadata")


class OptionsError(ValueError):
    """An option the generator cannot honour; the message names the option and the accepted values."""


@dataclass(frozen=True)
class GeneratorOptions:
    clients: int = 200
    seed: int = 7
    plan: str = "standard"
    mess: float = 0.3  # 0 = clean (no quirks, no CSV defects) .. 1
    encoding: str = "cp1252"
    record_end: str = "cr"
    header_release: str = "2024.1"  # before export_layout.NEW_HEADER_RELEASE the old headers are written
    date_style: str = "ymd"
    money_style: str = "plain"
    documents: str = "full"
    # Restricts what is written (store and export); reference collections needed for display values
    # are still generated in memory.
    collections: frozenset[str] | None = None
    zip_export: bool = False
    as_of: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)  # "now" of the practice
    timezone: str = "America/Toronto"

    def validate(self) -> None:
        def choice(name: str, value: str, allowed: tuple[str, ...] | dict[str, str]) -> None:
            if value not in allowed:
                raise OptionsError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")

        if self.clients < 1:
            raise OptionsError(f"clients must be at least 1; got {self.clients}")
        if not 0.0 <= self.mess <= 1.0:
            raise OptionsError(f"mess must be between 0 and 1; got {self.mess}")
        choice("plan", self.plan, PLANS)
        choice("encoding", self.encoding, ENCODINGS)
        choice("record_end", self.record_end, RECORD_ENDS)
        choice("date_style", self.date_style, DATE_STYLES)
        choice("money_style", self.money_style, MONEY_STYLES)
        choice("documents", self.documents, DOCUMENT_MODES)
        if not _is_release(self.header_release):
            raise OptionsError(f"header_release must look like 2024.1; got {self.header_release!r}")
        if self.collections is not None:
            unknown = sorted(set(self.collections) - set(BY_NAME))
            if unknown:
                raise OptionsError(f"unknown collections {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
            if not self.collections:
                raise OptionsError("collections, when given, must name at least one collection")
        if self.as_of.tzinfo is None:
            raise OptionsError("as_of must be timezone-aware")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise OptionsError(f"timezone {self.timezone!r} is not an IANA time zone") from None

    def writes(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    @property
    def enterprise(self) -> bool:
        return self.plan == "enterprise"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["collections"] = sorted(self.collections) if self.collections is not None else None
        data["as_of"] = self.as_of.isoformat()
        return data


def _is_release(text: str) -> bool:
    year, dot, minor = text.partition(".")
    return bool(dot) and year.isdigit() and len(year) == 4 and minor.isdigit()

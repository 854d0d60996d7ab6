"""How the export writes values (contract section 2): dates, local date-times, money, booleans.

- date `YYYYMMDD` (or `MM/DD/YYYY`);
- date-time `YYYYMMDD HH:MM` (or `MM/DD/YYYY HH:MM`) in the practice's local time, no zone, so
  an appointment across a daylight-saving switch shows its wall-clock times;
- money `1234.50` (or `$1,234.50`), negative with a leading minus: `-15.00` / `-$15.00`;
- booleans `Yes` / `No`; an absent value is an empty field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sandbox.visual_practice.generator.options import GeneratorOptions


class ValueFormat:
    def __init__(self, options: GeneratorOptions) -> None:
        self.mdy = options.date_style == "mdy"
        self.dollar = options.money_style == "dollar"
        self.tz = ZoneInfo(options.timezone)

    def date(self, value: str | None) -> str:
        if not value:
            return ""
        year, month, day = value[:4], value[5:7], value[8:10]
        return f"{month}/{day}/{year}" if self.mdy else f"{year}{month}{day}"

    def datetime(self, value: str | None) -> str:
        if not value:
            return ""
        local = datetime.fromisoformat(value).astimezone(self.tz)
        if self.mdy:
            return f"{local.month:02d}/{local.day:02d}/{local.year} {local.hour:02d}:{local.minute:02d}"
        return f"{local.year}{local.month:02d}{local.day:02d} {local.hour:02d}:{local.minute:02d}"

    def money(self, value: str | None) -> str:
        if value is None or value == "":
            return ""
        if not self.dollar:
            return value
        sign = "-" if value.startswith("-") else ""
        whole, _, cents = value.lstrip("-").partition(".")
        return f"{sign}${int(whole):,}.{cents}"

    @staticmethod
    def boolean(value: bool | None) -> str:
        return "" if value is None else "Yes" if value else "No"

    @staticmethod
    def text(value: Any) -> str:
        return "" if value is None else value if isinstance(value, str) else str(value)

    def for_kind(self, kind: str) -> Callable[[Any], str]:
        """The formatter of an export_layout column kind (int and qty are written as they are)."""
        formats = {"date": self.date, "datetime": self.datetime, "money": self.money, "bool": self.boolean}
        return formats.get(kind, self.text)

    def loose(self, value: Any, kind: str) -> str:
        """A free-form value (custom property or custom object field) whose declared kind may not hold."""
        if isinstance(value, bool):
            return self.boolean(value)
        if kind == "date" and isinstance(value, str) and len(value) == 10 and value[4] == "-":
            return self.date(value)
        if kind == "money" and isinstance(value, str):
            return self.money(value)
        return self.text(value)

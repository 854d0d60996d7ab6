"""The practice's time: "now", the windows records fall in, and the local clock the export shows.

Instants are whole seconds since the epoch (ints) while generating: cheap to draw and compare;
they become contract text (`iso`, `day`) only when a record is built.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

DAY = 86_400
YEAR = 365 * DAY
EXPORT_RUNTIME = 20 * 60  # the export is taken during the last 20 minutes before as_of


def iso(instant: int) -> str:
    """Contract timestamp text: ISO-8601 UTC with a Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(instant))


def epoch(text: str) -> int:
    """The instant of a contract timestamp (`fromisoformat` is C code, unlike `strptime`)."""
    return int(datetime.fromisoformat(text).timestamp())


class Timeline:
    def __init__(self, as_of: datetime, tz_name: str) -> None:
        self.tz = ZoneInfo(tz_name)
        self.as_of = int(as_of.timestamp())
        self.export_started = self.as_of - EXPORT_RUNTIME
        # Ordinary records are last touched before the export starts; only the export_race quirk
        # creates or modifies records while it runs.
        self.settled = self.export_started - 600
        self.practice_opened = self.as_of - 9 * YEAR
        self.history_start = self.as_of - 2 * YEAR  # appointments: ~2 years back ...
        self.future_end = self.as_of + 92 * DAY  # ... and ~3 months ahead
        self.dst_changes = _offset_changes(self.tz, self.history_start, self.future_end)

    def local(self, instant: int) -> datetime:
        return datetime.fromtimestamp(instant, self.tz)

    def day(self, instant: int) -> str:
        """The practice-local calendar date of an instant, `YYYY-MM-DD`."""
        return self.local(instant).date().isoformat()

    def export_date(self) -> str:
        return self.local(self.as_of).strftime("%Y%m%d")



def _offset_changes(tz: ZoneInfo, start: int, stop: int) -> list[int]:
    """Instants in [start, stop) where the zone's UTC offset changes (daylight-saving switches)."""
    def offset(instant: int) -> object:
        return datetime.fromtimestamp(instant, timezone.utc).astimezone(tz).utcoffset()

    changes = []
    day = start
    while day + DAY < stop:
        if offset(day) != offset(day + DAY):
            low, high = day, day + DAY  # offset(low) is the old one, offset(high) the new one
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if offset(mid) == offset(day) else (low, mid)
            changes.append(high)
        day += DAY
    return changes

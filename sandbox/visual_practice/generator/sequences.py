"""Numbers the practice hands out in order: record ids, chart numbers, bill numbers.

These counters are the only state carried from one client to the next besides small indices; a
client's content comes from its own random stream, so chunking never changes the result.
"""

from __future__ import annotations

FIRST_ID = 100_000
FIRST_CHART = 1
FIRST_BILL = 10_001


class Sequences:
    def __init__(self) -> None:
        self.last_id = FIRST_ID - 1
        self._chart = FIRST_CHART - 1
        self._bill = FIRST_BILL - 1

    def next_id(self) -> str:
        """A new record id: digits, increasing, never reused (contract section 1)."""
        self.last_id += 1
        return str(self.last_id)

    def next_chart(self) -> str:
        """A chart number: six digits with leading zeros, which matter (contract section 1)."""
        self._chart += 1
        return f"{self._chart:06d}"

    def next_bill(self) -> str:
        self._bill += 1
        return str(self._bill)

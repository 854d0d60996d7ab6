"""Live counters of what the sandbox did, for tests, drills and `/_admin/stats`."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxStats:
    requests: int = 0  # every request that reached /api/v1, whatever its answer
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)
    rate_limited: int = 0
    faults: collections.Counter[int] = field(default_factory=collections.Counter)  # 502 / 503 injected
    churn_deleted: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))
    churn_inserted: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(code): n for code, n in sorted(self.by_status.items())},
            "rate_limited": self.rate_limited,
            "faults": {str(code): n for code, n in sorted(self.faults.items())},
            "churn_deleted": {name: list(ids) for name, ids in self.churn_deleted.items()},
            "churn_inserted": {name: list(ids) for name, ids in self.churn_inserted.items()},
        }

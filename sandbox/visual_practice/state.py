"""Everything one running sandbox holds: its store, settings (changeable at run time) and counters."""

from __future__ import annotations

from sandbox.visual_practice.churn import Churn
from sandbox.visual_practice.faults import Faults
from sandbox.visual_practice.ratelimit import SlidingLogLimiter
from sandbox.visual_practice.settings import SandboxSettings
from sandbox.visual_practice.stats import SandboxStats
from sandbox.visual_practice.store import Store
from vp2pd.clock import Clock


class SandboxState:
    def __init__(self, store: Store, settings: SandboxSettings, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.stats = SandboxStats()
        self.limiter = SlidingLogLimiter()
        self.settings = settings
        self._reseed(settings.seed)

    def _reseed(self, seed: int) -> None:
        self.faults = Faults(seed)
        self.churn = Churn(self.store, seed)

    def update(self, settings: SandboxSettings) -> None:
        """Apply new settings; a new seed restarts the random streams, as a fresh sandbox would."""
        if settings.seed != self.settings.seed:
            self._reseed(settings.seed)
        self.settings = settings

    @property
    def enterprise(self) -> bool:
        return self.store.practice.get("plan") == "enterprise"

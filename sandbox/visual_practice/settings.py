"""How the Visual Practice sandbox behaves: its key, rate limit and the trouble it makes on purpose."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vp2pd.vp_contract import COLLECTIONS

# Churn moves records in the default order (created_at, then id); collections without created_at
# sort by id alone, where a new record always lands last and a deletion is the only disturbance.
CHURNABLE = frozenset(c.name for c in COLLECTIONS if "created_at" in c.field_names)


class SandboxSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: str = Field(min_length=1, repr=False)
    requests_per_minute: int = Field(200, ge=1, description="Requests allowed per key in any window_s seconds.")
    window_s: float = Field(60.0, gt=0, description="Length of the rolling rate-limit window.")
    fault_rate: float = Field(0.0, ge=0, le=1, description="Share of API requests answered 502 or 503.")
    # Added latency is exponential with this mean, capped at ten times the mean: mostly quick, a few slow.
    latency_ms: float = Field(0.0, ge=0, description="Mean added latency per API request.")
    churn: float = Field(0.0, ge=0, le=100, description="Mean records deleted and inserted per list page served.")
    churn_collections: frozenset[str] | None = Field(None, description="None: every collection with created_at.")
    seed: int = Field(0, description="Faults, latency and churn repeat for a seed and request sequence.")

    @field_validator("churn_collections")
    @classmethod
    def _churnable(cls, names: frozenset[str] | None) -> frozenset[str] | None:
        unknown = sorted((names or frozenset()) - CHURNABLE)
        if unknown:
            raise ValueError(f"cannot churn {', '.join(unknown)}; churnable: {', '.join(sorted(CHURNABLE))}")
        return names

    def churns(self, collection: str) -> bool:
        if self.churn <= 0:
            return False
        return collection in (CHURNABLE if self.churn_collections is None else self.churn_collections)

    def public(self) -> dict[str, Any]:
        """The settings as the admin surface shows them: everything but the key."""
        shown = self.model_dump(exclude={"api_key"})
        shown["churn_collections"] = sorted(self.churn_collections) if self.churn_collections is not None else None
        return shown

    def patched(self, changes: dict[str, Any]) -> "SandboxSettings":
        """New settings with `changes` applied and validated; the key cannot be changed at run time."""
        if "api_key" in changes:
            raise ValueError("api_key cannot be changed at run time")
        return SandboxSettings.model_validate({**self.model_dump(), **changes})

"""Timestamps as each API version writes them: v2 RFC 3339 UTC (`2026-03-02T14:30:00Z`), v1
`YYYY-MM-DD HH:MM:SS` (UTC). Both sort as text in time order, which the stores rely on."""

from __future__ import annotations

from datetime import datetime, timezone


def v2_time(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_time(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def parse_rfc3339(text: str) -> str:
    """A v2 query timestamp normalised to v2_time's form, for text comparison; ValueError if not RFC 3339."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (RFC 3339 needs Z or an offset)")
    return v2_time(parsed.timestamp())

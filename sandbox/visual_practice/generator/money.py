"""Money as the API writes it: decimal strings from integer cents (no float rounding anywhere)."""

from __future__ import annotations


def text(cents: int) -> str:
    """`12550` -> `"125.50"`, `-1500` -> `"-15.00"`."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def cents(value: str) -> int:
    sign = -1 if value.startswith("-") else 1
    whole, _, part = value.lstrip("-").partition(".")
    return sign * (int(whole) * 100 + int((part + "00")[:2]))

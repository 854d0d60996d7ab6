"""Staff -> Pipedrive users, by e-mail (case-insensitive), from ONE read of the user list.

Staff without a user own their records through the customer's fallback owner, set in
`customers/<slug>/owners.yml` (`fallback_owner: someone@company.com`, an active Pipedrive user);
without one the load stops and says what to set rather than guessing an owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import yaml

if TYPE_CHECKING:
    from loaders.pipedrive.client import PipedriveClient

OWNED_BY = ("pipedrive__persons", "pipedrive__deals", "pipedrive__activities")


class OwnerError(RuntimeError):
    """Staff without a Pipedrive user and no usable fallback owner."""


@dataclass
class OwnerMatch:
    users: dict[str, int]  # lower-case e-mail -> active user id
    matched: dict[str, int]  # staff e-mail (lower) -> user id
    unmatched: list[dict[str, Any]] = field(default_factory=list)  # staff with the records they own
    fallback_email: str | None = None
    fallback_id: int | None = None

    def problem(self) -> str | None:
        if not self.unmatched or self.fallback_id is not None:
            return None
        who = ", ".join(u["email"] for u in self.unmatched)
        if self.fallback_email:
            return (f"fallback_owner {self.fallback_email!r} is not an active Pipedrive user; staff without a user: "
                    f"{who}")
        return (f"staff without a Pipedrive user: {who}; add them as users, or set fallback_owner: <e-mail of an "
                f"active Pipedrive user> in the customer's owners.yml")


def fallback_email(home: Path) -> str | None:
    path = home / "owners.yml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    value = data.get("fallback_owner")
    return str(value).strip() if value else None


def owned_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """e-mail (lower) -> {mart: records it owns}."""
    counts: dict[str, dict[str, int]] = {}
    for mart in OWNED_BY:
        for email, n in con.execute(f"select lower(trim(owner_email)), count(*) from pipedrive.{mart} "
                                    "where owner_email is not null group by 1").fetchall():
            counts.setdefault(email, {})[mart.removeprefix("pipedrive__")] = n
    return counts


async def match_owners(client: "PipedriveClient", con: duckdb.DuckDBPyConnection, home: Path) -> OwnerMatch:
    users = {str(u["email"]).strip().lower(): int(u["id"]) async for u in client.list("users")
             if u.get("active_flag", True) and u.get("email")}
    owned = owned_counts(con)
    staff = {str(e).strip().lower(): n for e, n in con.execute(
        "select email, name from pipedrive.pipedrive__owner_candidates where email is not null").fetchall()}
    # An owner e-mail on a record that is not in the staff list still needs a user.
    emails = sorted(set(staff) | set(owned))
    match = OwnerMatch(users, {e: users[e] for e in emails if e in users})
    match.unmatched = [{"email": e, "name": staff.get(e), "owns": owned.get(e, {})} for e in emails if e not in users]
    match.fallback_email = fallback_email(home)
    if match.fallback_email:
        match.fallback_id = users.get(match.fallback_email.lower())
    return match

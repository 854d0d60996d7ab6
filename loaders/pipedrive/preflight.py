"""`vp2pd preflight`: owners and the token budget, before anything is written.

Owners: staff matched to Pipedrive users by e-mail with one user list read (owners.py). Budget: the
tokens each object costs (rows × the create's `x-token-cost` from the OpenAPI), the list reads the
reconciliation needs, the days that takes at the account's plan and seats, the burst-limited wall
time, and what each token-relevant choice of the customer's rules costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from vp2pd import pipedrive_contract as contract

from loaders.pipedrive.client import PipedriveClient
from loaders.pipedrive.owners import OwnerMatch, match_owners
from loaders.pipedrive.sequence import STEPS
from loaders.pipedrive.settings import RESERVE_FRACTION, V1_FILES_PAGE_LIMIT, V2_PAGE_LIMIT

CREATE = {"organizations": ("POST", "/api/v2/organizations"), "persons": ("POST", "/api/v2/persons"),
          "organization_relationships": ("POST", "/v1/organizationRelationships"),
          "products": ("POST", "/api/v2/products"), "deals": ("POST", "/api/v2/deals"),
          "deal_products": ("POST", "/api/v2/deals/1/products"), "activities": ("POST", "/api/v2/activities"),
          "notes": ("POST", "/v1/notes"), "files": ("POST", "/v1/files"), "projects": ("POST", "/api/v2/projects")}
LIST = {"organizations": "/api/v2/organizations", "persons": "/api/v2/persons", "products": "/api/v2/products",
        "deals": "/api/v2/deals", "activities": "/api/v2/activities", "notes": "/v1/notes", "files": "/v1/files",
        "deal_products": "/api/v2/deals/products", "organization_relationships": "/v1/organizationRelationships"}


def cost(method: str, path: str) -> int:
    return contract.token_cost(method, path)


@dataclass
class BudgetPlan:
    plan: str
    seats: int
    daily_budget: int
    usable_per_day: int
    burst_per_2s: int
    objects: list[dict[str, Any]] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return sum(o["create_tokens"] + o["reconcile_tokens"] for o in self.objects)

    @property
    def requests(self) -> int:
        return sum(o["rows"] + o["reconcile_reads"] for o in self.objects)

    def as_json(self) -> dict[str, Any]:
        return {"plan": self.plan, "seats": self.seats, "daily_budget": self.daily_budget,
                "usable_per_day": self.usable_per_day, "objects": self.objects, "choices": self.choices,
                "total_tokens": self.total_tokens, "days": math.ceil(self.total_tokens / self.usable_per_day),
                "requests": self.requests, "wall_time_s": round(self.requests / (self.burst_per_2s / 2.0), 1)}


def budget_plan(con: duckdb.DuckDBPyConnection, plan: str, seats: int, daily_budget: int | None = None,
                reserve: int | None = None) -> BudgetPlan:
    budget = daily_budget or contract.daily_budget(plan, seats)
    usable = budget - (reserve if reserve is not None else round(budget * RESERVE_FRACTION))
    result = BudgetPlan(plan, seats, budget, usable, contract.burst_limit(plan))
    for step in STEPS:
        rows = con.execute(f"select count(*) from pipedrive.{step.mart}").fetchone()[0]
        page = V1_FILES_PAGE_LIMIT if step.name == "files" else V2_PAGE_LIMIT
        reads = math.ceil(rows / page) if step.name in LIST else 0
        list_cost = cost("GET", LIST[step.name]) if step.name in LIST else 0
        result.objects.append({"object": step.name, "rows": rows, "token_cost": cost(*CREATE[step.name]),
                               "create_tokens": rows * cost(*CREATE[step.name]), "reconcile_reads": reads,
                               "reconcile_tokens": reads * list_cost})
    note = cost(*CREATE["notes"])
    soap = con.execute("select count(*) from pipedrive.pipedrive__activities where note is not null").fetchone()[0]
    invoices, people = con.execute("select count(*), count(distinct person_key) from pipedrive.pipedrive__notes "
                                   "where source_collection = 'invoices'").fetchone()
    files = con.execute("select count(*) from pipedrive.pipedrive__files").fetchone()[0]
    result.choices = [
        {"choice": "SOAP notes inside activities (activity_note) vs as Notes (person_note)",
         "activity_note": 0, "person_note": soap * note},
        {"choice": "invoice notes per invoice vs per person (as built now: one per row in the notes mart)",
         "per_invoice": invoices * note, "per_person": people * note},
        {"choice": "documents as Files vs left out", "files": files * cost(*CREATE["files"]), "none": 0},
    ]
    return result


@dataclass
class Preflight:
    owners: OwnerMatch
    budget: BudgetPlan

    @property
    def problem(self) -> str | None:
        return self.owners.problem()

    def as_json(self) -> dict[str, Any]:
        o = self.owners
        return {"ok": self.problem is None, "problem": self.problem,
                "owners": {"users_read": len(o.users), "matched": o.matched, "unmatched": o.unmatched,
                           "fallback_owner": o.fallback_email, "fallback_owner_id": o.fallback_id},
                "budget": self.budget.as_json()}


async def run_preflight(client: PipedriveClient, con: duckdb.DuckDBPyConnection, home: Path, *, plan: str,
                        seats: int, daily_budget: int | None = None, reserve: int | None = None) -> Preflight:
    return Preflight(await match_owners(client, con, home), budget_plan(con, plan, seats, daily_budget, reserve))

"""One Pipedrive company in memory: its users, records, fields, files and activity types.

Ids are increasing integers per object type, as in Pipedrive. Deletes are soft (`is_deleted`, or
`active_flag` false for v1 objects): a deleted record leaves the lists but stays in the store and in
the admin export, which is what rollback and reconciliation checks read.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from sandbox.pipedrive.fields import FieldCatalogue
from sandbox.pipedrive.timefmt import v1_time, v2_time

# Object types with their own id sequence. v2 records keep `is_deleted`, v1 ones `active_flag`.
TABLES = ("persons", "organizations", "deals", "activities", "products", "pipelines", "stages",
          "deal_products", "notes", "files", "activity_types", "organization_relationships", "users",
          "boards", "phases", "projects")
SNAPSHOT_FORMAT = 1
DEFAULT_STAGES = ("Qualified", "Contact made", "Demo scheduled", "Proposal made", "Negotiations started")
DEFAULT_ACTIVITY_TYPES = (("Call", "call"), ("Meeting", "meeting"), ("Task", "task"), ("Deadline", "deadline"),
                          ("Email", "email"), ("Lunch", "lunch"))


@dataclass
class Table:
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    last_id: int = 0

    def insert(self, row: dict[str, Any]) -> dict[str, Any]:
        self.last_id += 1
        row["id"] = self.last_id
        self.rows[self.last_id] = row
        return row


class Account:
    def __init__(self, seed: int, company_domain: str, plan: Callable[[], str], clock_now: Callable[[], float]) -> None:
        self.seed = seed
        self.company_domain = company_domain
        self._clock_now = clock_now
        # One stream for everything that makes this account differ from another: field keys, option ids.
        self.rng = random.Random(f"pipedrive-account:{seed}")
        self.company_id = self.rng.randint(1_000_000, 9_999_999)
        self.tables: dict[str, Table] = {name: Table() for name in TABLES}
        self.fields = FieldCatalogue(self.rng, plan, self.now_v2)
        self.blobs: dict[int, bytes] = {}
        self.me_id = self.add_user("Sandbox Admin", f"admin@{company_domain}.example", active=True, admin=True)["id"]
        self._seed_pipeline()
        for name, key in DEFAULT_ACTIVITY_TYPES:
            self.add_activity_type(name, key, key, custom=False)

    # -- time --------------------------------------------------------------------------------------
    def now_v2(self) -> str:
        return v2_time(self._clock_now())

    def now_v1(self) -> str:
        return v1_time(self._clock_now())

    # -- access ------------------------------------------------------------------------------------
    def table(self, name: str) -> Table:
        return self.tables[name]

    def live(self, name: str, record_id: int) -> dict[str, Any] | None:
        row = self.tables[name].rows.get(record_id)
        if row is None or row.get("is_deleted") or row.get("active_flag") is False:
            return None
        return row

    def exists(self, kind: str, record_id: int) -> bool:
        """For custom fields of type user/org/people: `kind` is user | organization | person."""
        table = {"user": "users", "organization": "organizations", "person": "persons"}[kind]
        return self.live(table, record_id) is not None

    # -- seeding -----------------------------------------------------------------------------------
    def add_user(self, name: str, email: str, active: bool = True, admin: bool = False) -> dict[str, Any]:
        now = self.now_v1()
        return self.tables["users"].insert({
            "name": name, "email": email, "default_currency": "USD", "locale": "en_US", "lang": 1,
            "phone": None, "activated": active, "active_flag": active, "last_login": now, "created": now,
            "modified": now, "has_created_company": admin, "is_admin": 1 if admin else 0,
            "access": [{"app": "sales", "admin": admin, "permission_set_id": "sales-admin" if admin else "sales-user"}],
            "timezone_name": "UTC", "timezone_offset": "+00:00", "role_id": 1, "icon_url": None,
            "is_you": False, "is_deleted": False,
        })

    def _seed_pipeline(self) -> None:
        now = self.now_v2()
        pipeline = self.tables["pipelines"].insert({"name": "Sales pipeline", "order_nr": 1, "is_deleted": False,
                                                    "is_deal_probability_enabled": False, "add_time": now,
                                                    "update_time": now})
        for order, name in enumerate(DEFAULT_STAGES, start=1):
            self.tables["stages"].insert({"order_nr": order, "name": name, "is_deleted": False,
                                          "deal_probability": 100, "pipeline_id": pipeline["id"],
                                          "is_deal_rot_enabled": False, "days_to_rotten": None,
                                          "add_time": now, "update_time": now})

    def add_activity_type(self, name: str, icon_key: str, key_string: str, custom: bool = True,
                          color: str | None = None) -> dict[str, Any]:
        now = self.now_v1()
        order = len(self.tables["activity_types"].rows) + 1
        return self.tables["activity_types"].insert({
            "name": name, "icon_key": icon_key, "color": color or "FFFFFF", "order_nr": order,
            "key_string": key_string, "active_flag": True, "is_custom_flag": custom,
            "add_time": now, "update_time": now})

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart, including the random stream's state, so
        that keys made after a restart are as random and as repeatable as before it."""
        version, internal, gauss = self.rng.getstate()
        return {"format": SNAPSHOT_FORMAT, "seed": self.seed, "company_id": self.company_id, "me_id": self.me_id,
                "rng": [version, list(internal), gauss], "fields": self.fields.snapshot(),
                "tables": {name: {"last_id": t.last_id, "rows": [t.rows[i] for i in sorted(t.rows)]}
                           for name, t in self.tables.items()},
                "blobs": {str(i): base64.b64encode(b).decode() for i, b in self.blobs.items()}}

    def restore(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("format") != SNAPSHOT_FORMAT or snapshot.get("seed") != self.seed:
            raise ValueError(f"not a snapshot of this account (format {SNAPSHOT_FORMAT}, account seed {self.seed})")
        version, internal, gauss = snapshot["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.company_id, self.me_id = snapshot["company_id"], snapshot["me_id"]
        self.fields.restore(snapshot["fields"])
        # A snapshot from before a table existed (boards, phases, projects) starts that table empty.
        self.tables = {name: Table() for name in TABLES} | {
            name: Table({row["id"]: row for row in t["rows"]}, t["last_id"]) for name, t in snapshot["tables"].items()}
        self.blobs = {int(i): base64.b64decode(b) for i, b in snapshot["blobs"].items()}

    # -- export ------------------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """The whole account as JSON: every record including deleted ones, fields with keys and options,
        file metadata with the sha256 of the bytes."""
        out: dict[str, Any] = {"company": {"id": self.company_id, "domain": self.company_domain,
                                           "account_seed": self.seed, "me_user_id": self.me_id}}
        for name, table in self.tables.items():
            out[name] = [dict(row) for _, row in sorted(table.rows.items())]
        for meta in out["files"]:
            blob = self.blobs.get(meta["id"], b"")
            meta["sha256"] = hashlib.sha256(blob).hexdigest()
        out["fields"] = {entity: [f.export() for f in fs] for entity, fs in self.fields.fields.items()}
        return out

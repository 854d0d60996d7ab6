"""The load's order and what each step needs: mart, Pipedrive object, identity for read-back.

Order is dependency order (a Person names its Organization, a Deal its Person, ...); rollback walks
it backwards. `identity` names the fields that, read back from Pipedrive, identify the record a
create made: `Source_System_ID` where the object carries custom fields; elsewhere the fields that
the mart fixes and Pipedrive returns unchanged (a Note's content and links, a File's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Step:
    name: str  # the ledger's object name
    mart: str  # table in schema pipedrive
    obj: str  # the client's object (routing); "" when the step has its own path
    entity: str | None  # `object` in pipedrive__custom_fields (custom fields by name), if it has them
    identity: tuple[str, ...]  # body fields (or "cf:<name>") whose values identify a created record


SOURCE_ID_FIELD: Final = "Source_System_ID"

STEPS: Final[tuple[Step, ...]] = (
    Step("organizations", "pipedrive__organizations", "organizations", "organization", (f"cf:{SOURCE_ID_FIELD}",)),
    Step("organization_relationships", "pipedrive__organization_relationships", "organizationRelationships", None,
         ("type", "rel_owner_org_id", "rel_linked_org_id")),
    Step("persons", "pipedrive__persons", "persons", "person", (f"cf:{SOURCE_ID_FIELD}",)),
    Step("products", "pipedrive__products", "products", "product", ("code", "name")),
    Step("deals", "pipedrive__deals", "deals", "deal", (f"cf:{SOURCE_ID_FIELD}",)),
    Step("deal_products", "pipedrive__deal_products", "", None, ("deal_id", "product_id")),
    # Activity custom fields cannot be written through API v2 (its body has no custom_fields).
    Step("activities", "pipedrive__activities", "activities", None, ("subject", "due_date", "due_time", "person_id")),
    Step("notes", "pipedrive__notes", "notes", None, ("content", "person_id", "deal_id")),
    Step("files", "pipedrive__files", "files", None, ("name", "person_id")),
    # Projects (custom-object records): the mart has no Source_System_ID project field, so the
    # description the loader writes ("Migrated from Visual Practice: <collection> <id> ...") is the identity.
    Step("projects", "pipedrive__projects", "projects", "project", ("description",)),
)
BY_NAME: Final = {s.name: s for s in STEPS}

# Reference columns of the marts (`<x>_key` = another mart's natural_key) -> (body field, ledger object).
REFERENCES: Final[dict[str, tuple[str, str]]] = {
    "org_key": ("org_id", "organizations"),
    "person_key": ("person_id", "persons"),
    "deal_key": ("deal_id", "deals"),
    "product_key": ("product_id", "products"),
    "activity_key": ("activity_id", "activities"),
    "rel_owner_org_key": ("rel_owner_org_id", "organizations"),
    "rel_linked_org_key": ("rel_linked_org_id", "organizations"),
}
# List references (a project's N:N links): `<x>_keys` -> (body field of ids, ledger object).
LIST_REFERENCES: Final[dict[str, tuple[str, str]]] = {
    "person_keys": ("person_ids", "persons"),
    "org_keys": ("org_ids", "organizations"),
    "deal_keys": ("deal_ids", "deals"),
}
# Phases of each project board setup makes when the pipeline worksheet names none (`project_phases:`);
# migrated projects land in the first.
DEFAULT_PROJECT_PHASES: Final = ("Migrated",)

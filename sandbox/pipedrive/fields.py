"""Field catalogues like a real account's: built-in fields from the spec, custom fields with random
40-hex keys and option ids drawn from the account's seed (two accounts never agree), soft-deleted
fields whose keys are then ignored on write, and the plan's cap on custom fields. Values are checked
by `field_values`.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from sandbox.pipedrive.errors import PipedriveError, bad_request
from sandbox.pipedrive.field_values import ADDRESS_PARTS, value_problem
from vp2pd import pipedrive_contract as pc

# Entity kind -> (fields path, the v2 create operation whose body lists the built-in fields).
FIELD_ENTITIES: dict[str, tuple[str, str]] = {
    "person": ("personFields", "/persons"),
    "organization": ("organizationFields", "/organizations"),
    "deal": ("dealFields", "/deals"),
    "activity": ("activityFields", "/activities"),
    "product": ("productFields", "/products"),
    "project": ("projectFields", "/projects"),
}
# Custom fields per company by plan. Pipedrive caps them per plan (403 feature_capping_*, changelog
# 2022-03-30) without publishing the numbers in the API docs; these follow its pricing page tiers
# (Lite 30, Growth 100, Premium 500, Ultimate 1,000).
CUSTOM_FIELD_CAP = {"lite": 30, "growth": 100, "premium": 500, "ultimate": 1000}
CAPPING_CODE = "feature_capping_custom_fields_limit"
OPTION_TYPES = frozenset({"enum", "set"})
# Built-in field types by property name; otherwise by JSON type (BUILTIN_BY_JSON_TYPE).
BUILTIN_BY_NAME = {"owner_id": "user", "org_id": "org", "person_id": "people", "deal_id": "deal",
                   "stage_id": "stage", "visible_to": "visible_to", "phones": "phone", "emails": "varchar",
                   "label_ids": "set", "status": "status", "address": "address", "postal_address": "address",
                   "location": "address", "project_id": "project", "lead_id": "lead"}
BUILTIN_BY_JSON_TYPE = {"string": "varchar", "integer": "int", "number": "double", "boolean": "boolean"}


@dataclass
class Field:
    entity: str
    field_code: str
    field_name: str
    field_type: str
    is_custom_field: bool
    add_time: str
    update_time: str
    options: list[dict[str, Any]] | None = None
    is_deleted: bool = False
    ui_visibility: dict[str, Any] = field(default_factory=lambda: {"add_visible_flag": True, "details_visible_flag": True})
    required: bool = False

    def public(self) -> dict[str, Any]:
        subfields = ([{"field_code": f"{self.field_code}_{p}", "field_name": p, "field_type": "varchar"}
                      for p in ADDRESS_PARTS[1:]] if self.field_type == "address" else None)
        return {"field_name": self.field_name, "field_code": self.field_code, "field_type": self.field_type,
                "options": [dict(o) for o in self.options] if self.options is not None else None,
                "subfields": subfields, "is_custom_field": self.is_custom_field,
                "is_optional_response_field": False, "ui_visibility": dict(self.ui_visibility),
                "required_fields": {"enabled": self.required}}

    def export(self) -> dict[str, Any]:
        return {**self.public(), "entity": self.entity, "is_deleted": self.is_deleted,
                "add_time": self.add_time, "update_time": self.update_time}


def _builtin_fields(entity: str, now: str) -> list[Field]:
    path = FIELD_ENTITIES[entity][1]
    body = pc.spec("v2")["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    parts = body.get("allOf", [body])
    props: dict[str, Any] = {}
    for part in parts:
        props.update(part.get("properties", {}))
    out = []
    for name, schema in props.items():
        if name == "custom_fields":
            continue
        kind = BUILTIN_BY_NAME.get(name) or BUILTIN_BY_JSON_TYPE.get(schema.get("type", ""), "json")
        label = name.replace("_id", "").replace("_", " ").capitalize()
        out.append(Field(entity, name, label, kind, False, now, now, options=None))
    return out


class FieldCatalogue:
    """Every entity's fields in one account. `rng` is the account's: keys and option ids follow it."""

    def __init__(self, rng: random.Random, plan: Callable[[], str], now: Callable[[], str]) -> None:
        self._rng = rng
        self._plan = plan
        self._now = now
        self._next_option_id = rng.randint(10, 990)  # option ids are per account, not per field
        self.fields: dict[str, list[Field]] = {e: _builtin_fields(e, now()) for e in FIELD_ENTITIES}

    def snapshot(self) -> dict[str, Any]:
        return {"next_option_id": self._next_option_id,
                "fields": {e: [dataclasses.asdict(f) for f in fs] for e, fs in self.fields.items()}}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._next_option_id = snapshot["next_option_id"]
        self.fields = {e: _builtin_fields(e, self._now()) for e in FIELD_ENTITIES} | {
            e: [Field(**f) for f in fs] for e, fs in snapshot["fields"].items()}

    # -- lookups -----------------------------------------------------------------------------------
    def active(self, entity: str) -> list[Field]:
        return [f for f in self.fields[entity] if not f.is_deleted]

    def custom(self, entity: str, include_deleted: bool = False) -> list[Field]:
        return [f for f in self.fields[entity] if f.is_custom_field and (include_deleted or not f.is_deleted)]

    def get(self, entity: str, code: str) -> Field:
        for f in self.fields[entity]:
            if f.field_code == code and not f.is_deleted:
                return f
        raise PipedriveError(404, f"Field {code} not found")

    # -- changes -----------------------------------------------------------------------------------
    def _new_key(self) -> str:
        return f"{self._rng.getrandbits(160):040x}"

    def _options(self, labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
        made = []
        for item in labels:
            self._next_option_id += 1
            made.append({"id": self._next_option_id, "label": item["label"], "color": None,
                         "add_time": self._now(), "update_time": self._now()})
        return made

    def add(self, entity: str, body: dict[str, Any]) -> Field:
        total = sum(len(self.custom(e)) for e in FIELD_ENTITIES)
        cap = CUSTOM_FIELD_CAP[self._plan()]
        if total >= cap:
            raise PipedriveError(403, f"Couldn't add the field. You've reached the custom fields limit of {cap} "
                                      f"for the {self._plan()} plan.", code=CAPPING_CODE)
        kind = body["field_type"]
        if kind in OPTION_TYPES and not body.get("options"):
            raise bad_request(f"options: required for field_type {kind}")
        if kind not in OPTION_TYPES and body.get("options"):
            raise bad_request(f"options: only enum and set fields have options, not {kind}")
        now = self._now()
        made = Field(entity, self._new_key(), body["field_name"], kind, True, now, now,
                     options=self._options(body["options"]) if kind in OPTION_TYPES else None)
        if "ui_visibility" in body:
            made.ui_visibility.update(body["ui_visibility"])
        made.required = bool((body.get("required_fields") or {}).get("enabled", False))
        self.fields[entity].append(made)
        return made

    def update(self, entity: str, code: str, body: dict[str, Any]) -> Field:
        f = self.get(entity, code)
        if "field_name" in body:
            f.field_name = body["field_name"]
        if "ui_visibility" in body:
            f.ui_visibility.update(body["ui_visibility"])
        if "required_fields" in body:
            f.required = bool(body["required_fields"].get("enabled", False))
        f.update_time = self._now()
        return f

    def delete(self, entity: str, code: str) -> Field:
        f = self.get(entity, code)
        if not f.is_custom_field:
            raise bad_request(f"Field {code} is a system field and cannot be deleted")
        f.is_deleted = True
        f.update_time = self._now()
        return f

    def _option_field(self, entity: str, code: str) -> Field:
        f = self.get(entity, code)
        if f.options is None or f.field_type not in OPTION_TYPES:
            raise bad_request(f"Field {code} is of type {f.field_type} and has no options")
        return f

    def add_options(self, entity: str, code: str, labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
        f = self._option_field(entity, code)
        made = self._options(labels)
        assert f.options is not None
        f.options.extend(made)
        return made

    def update_options(self, entity: str, code: str, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        f = self._option_field(entity, code)
        assert f.options is not None
        by_id = {o["id"]: o for o in f.options}
        missing = [c["id"] for c in changes if c["id"] not in by_id]
        if missing:
            raise bad_request(f"options: no option with id {missing[0]} on field {code}")
        for change in changes:
            by_id[change["id"]].update(label=change["label"], update_time=self._now())
        return [by_id[c["id"]] for c in changes]

    def delete_options(self, entity: str, code: str, ids: list[dict[str, Any]]) -> list[dict[str, Any]]:
        f = self._option_field(entity, code)
        assert f.options is not None
        wanted = {i["id"] for i in ids}
        gone = [o for o in f.options if o["id"] in wanted]
        if len(gone) != len(wanted):
            missing = sorted(wanted - {o["id"] for o in gone})
            raise bad_request(f"options: no option with id {missing[0]} on field {code}")
        f.options[:] = [o for o in f.options if o["id"] not in wanted]
        return gone

    # -- values ------------------------------------------------------------------------------------
    def clean_values(self, entity: str, values: Any, exists: Callable[[str, int], bool]) -> dict[str, Any]:
        """The writable part of a `custom_fields` object, checked against the fields' types (400 naming
        the field); keys of deleted fields are dropped silently, as Pipedrive does; unknown keys are 400."""
        if not isinstance(values, dict):
            raise bad_request("custom_fields: must be an object")
        by_code = {f.field_code: f for f in self.custom(entity, include_deleted=True)}
        out: dict[str, Any] = {}
        for code, value in values.items():
            f = by_code.get(code)
            if f is None:
                raise bad_request(f"custom_fields.{code}: no such custom field")
            if f.is_deleted:
                continue
            if value is not None:
                problem = value_problem(f, value, exists)
                if problem:
                    raise bad_request(f"custom_fields.{code} ({f.field_name}, {f.field_type}): {problem}")
            out[code] = value
        return out

    def shown_values(self, entity: str, stored: dict[str, Any]) -> dict[str, Any]:
        """What a record shows: every active custom field, null where unset; deleted fields vanish."""
        return {f.field_code: stored.get(f.field_code) for f in self.custom(entity)}

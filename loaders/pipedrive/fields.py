"""The field catalogue of one Pipedrive object: names -> 40-hex keys, labels -> option ids.

Keys and option ids are random per Pipedrive account, so a mapping names fields and options by
what a person reads (the field's name, the option's label); the catalogue reads the fields endpoint
once and resolves them. `ensure_field` / `ensure_options` create what is missing, matched by name
(case-insensitive), so a re-run creates nothing; a field that exists with another type is an error
rather than a second field of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from loaders.pipedrive import values
from loaders.pipedrive.errors import PipedriveError
from loaders.pipedrive.settings import FIELDS_PATHS, WRITABLE_FIELDS

if TYPE_CHECKING:
    from loaders.pipedrive.client import PipedriveClient

OPTION_TYPES = frozenset({"enum", "set"})


class FieldError(PipedriveError):
    """An unknown field or option, or a field whose type differs from the one asked for."""


def normalise_name(text: str) -> str:
    """A field or option name as Pipedrive compares them: spaces collapsed, case folded."""
    return " ".join(text.split()).casefold()


@dataclass
class Field:
    name: str
    key: str
    field_type: str
    is_custom: bool
    options: dict[str, Any] = field(default_factory=dict)  # normalised label -> option id
    labels: dict[Any, str] = field(default_factory=dict)  # option id -> label as Pipedrive spells it

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> "Field":
        f = cls(row["field_name"], row["field_code"], row["field_type"], bool(row.get("is_custom_field")))
        f.add_options(row.get("options") or [])
        return f

    def add_options(self, options: Iterable[Mapping[str, Any]]) -> None:
        for option in options:
            self.options[normalise_name(str(option["label"]))] = option["id"]
            self.labels[option["id"]] = str(option["label"])


class FieldCatalogue:
    def __init__(self, client: "PipedriveClient", obj: str, *, default_currency: str | None = None) -> None:
        if obj not in FIELDS_PATHS:
            raise ValueError(f"{obj!r} has no fields endpoint; known: {', '.join(FIELDS_PATHS)}")
        self.client, self.obj, self.default_currency = client, obj, default_currency
        self.path = f"/api/v2{FIELDS_PATHS[obj]}"
        self._by_name: dict[str, Field] | None = None
        self.created_fields: list[str] = []
        self.created_options: list[tuple[str, str]] = []

    async def load(self, *, refresh: bool = False) -> "FieldCatalogue":
        """Read the fields endpoint (once; again only with `refresh`)."""
        if self._by_name is None or refresh:
            by_name: dict[str, Field] = {}
            async for row in self.client.list_path(self.path):
                f = Field.from_api(row)
                by_name.setdefault(normalise_name(f.name), f)  # a custom field never shadows a system one
            self._by_name = by_name
        return self

    @property
    def fields(self) -> dict[str, Field]:
        if self._by_name is None:
            raise RuntimeError(f"the {self.obj} field catalogue is not loaded; await .load() first")
        return self._by_name

    def field(self, name: str) -> Field:
        try:
            return self.fields[normalise_name(name)]
        except KeyError:
            raise FieldError(f"{self.obj}: no field named {name!r}") from None

    def key(self, name: str) -> str:
        return self.field(name).key

    def option_id(self, name: str, label: str) -> Any:
        f = self.field(name)
        if f.field_type not in OPTION_TYPES:
            raise FieldError(f"{self.obj}.{f.name} is a {f.field_type} field, it has no options")
        try:
            return f.options[normalise_name(label)]
        except KeyError:
            raise FieldError(f"{self.obj}.{f.name}: no option labelled {label!r}") from None

    async def ensure_field(self, name: str, field_type: str, options: Iterable[str] = ()) -> Field:
        """The field named `name`, created with `field_type` (and its options) if it is missing."""
        await self.load()
        labels = list(dict.fromkeys(options))
        existing = self.fields.get(normalise_name(name))
        if existing is not None:
            if existing.field_type != field_type:
                raise FieldError(f"{self.obj}: field {existing.name!r} exists as {existing.field_type}, "
                                 f"not {field_type}; rename one of them in the mapping")
            return await self.ensure_options(name, labels) if labels else existing
        if self.obj not in WRITABLE_FIELDS:
            raise FieldError(f"{self.obj}: fields cannot be created through the API; create {name!r} in Pipedrive")
        if field_type in OPTION_TYPES and not labels:
            raise FieldError(f"{self.obj}: {field_type} field {name!r} needs at least one option")
        body: dict[str, Any] = {"field_name": name, "field_type": field_type}
        if labels:
            body["options"] = [{"label": label} for label in labels]
        created = Field.from_api((await self.client.request("POST", self.path, json=body))["data"])
        self.fields[normalise_name(name)] = created
        self.created_fields.append(created.name)
        return created

    async def ensure_options(self, name: str, labels: Iterable[str]) -> Field:
        """Add the options of `labels` that the field lacks (matched by label), in one call."""
        await self.load()
        f = self.field(name)
        if f.field_type not in OPTION_TYPES:
            raise FieldError(f"{self.obj}.{f.name} is a {f.field_type} field, it has no options")
        missing = [label for label in dict.fromkeys(labels) if normalise_name(label) not in f.options]
        if missing:
            body = [{"label": label} for label in missing]
            added = (await self.client.request("POST", f"{self.path}/{f.key}/options", json=body))["data"]
            f.add_options(added)
            self.created_options.extend((f.name, label) for label in missing)
        return f

    def value(self, name: str, value: Any) -> Any:
        """`value` in the v2 shape of field `name`: option labels become ids, amounts {value, currency}."""
        f = self.field(name)
        if value is None:
            return None
        if f.field_type == "enum":
            return self._option(f, name, value)
        if f.field_type == "set":
            items = [value] if isinstance(value, str) else list(value)
            return [self._option(f, name, item) for item in items] or None  # v2 clears a set with null, not []
        return values.plain(f.field_type, value, f"{self.obj}.{f.name}", self.default_currency)

    def _option(self, f: Field, name: str, value: Any) -> Any:
        """An option id given as such stays; anything else is a label (True is not option 1)."""
        if not isinstance(value, bool) and value in f.labels:
            return value
        return self.option_id(name, str(value))

    def custom_fields(self, named: Mapping[str, Any]) -> dict[str, Any]:
        """{field name: plain value} -> the v2 `custom_fields` object {key: shaped value}."""
        return {self.key(name): self.value(name, value) for name, value in named.items()}

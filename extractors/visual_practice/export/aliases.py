"""The header alias table: which export column lands where, and how its values are written.

The shipped table is `extractors/visual_practice/csv_aliases.yml`; a customer's own file of the
same shape (`visual_practice.csv_aliases`) is merged over it. Everything is checked against the
contract when loaded, so a typo in a customer file fails before any row is read.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from extractors.visual_practice import raw
from vp2pd.vp_contract import NESTED_MEMBERS, Collection, collection

DEFAULT_ALIASES = Path(__file__).resolve().parent.parent / "csv_aliases.yml"
LIST_ENTRY = re.compile(r"^(?P<column>emails|phones)\[(?P<label>[a-z0-9_]+)\]$")
# The contract type of a value -> how its text is parsed (parse.py).
KIND_OF_TYPE = {
    "str": "text", "int": "int", "bool": "bool", "money": "money", "quantity": "qty",
    "date": "date", "timestamp": "datetime", "str[]": "list",
}


class AliasError(ValueError):
    """An alias table that cannot be used, naming the file, label and reason."""


def normalise_label(label: str) -> str:
    """Labels compare without case and with runs of spaces collapsed (`E-mail  2` = `e-mail 2`)."""
    return " ".join(label.split()).casefold()


@dataclass(frozen=True)
class Formats:
    date: tuple[str, ...]
    datetime: tuple[str, ...]
    true_values: tuple[str, ...]
    false_values: tuple[str, ...]
    currency_symbols: tuple[str, ...]
    thousands_separator: str
    list_separator: str
    every_field_quoted: bool


@dataclass(frozen=True)
class Target:
    """Where one column's value goes.

    kind `field`: the raw column `column`; `member`: member `member` of struct column `column`;
    `entry`: an entry labelled `member` of list column `column` (emails, phones); `element`:
    member `column` of the nested element (nested files, custom object fields); `parent`: the
    parent's key; `extra`: kept in `_extra`; `file`: a document's path in the export.
    """

    kind: str
    column: str = ""
    member: str = ""
    type: str = "str"

    @property
    def value_kind(self) -> str:
        return KIND_OF_TYPE[self.type]


@dataclass(frozen=True)
class FileSpec:
    stem: str  # as in the table: `Clients`, or a pattern such as `Custom-*`
    collection: Collection
    columns: dict[str, tuple[Target, ...]]  # normalised label -> targets
    labels: dict[str, str]  # normalised label -> label as the table spells it
    formats: Formats
    nest: str | None = None
    custom_prefix: str | None = None

    @property
    def key_field(self) -> str:
        """The field whose column is the record key (the parent's key for nested files)."""
        return "parent" if self.nest else self.collection.key

    def is_key(self, target: Target) -> bool:
        return target.kind == "parent" if self.nest else (target.kind == "field" and target.column == self.key_field)

    def key_labels(self) -> list[str]:
        return [self.labels[n] for n, targets in self.columns.items() if any(map(self.is_key, targets))]


@dataclass
class AliasTable:
    files: dict[str, FileSpec] = field(default_factory=dict)

    def spec_for(self, stem: str) -> FileSpec | None:
        """The spec of a file stem: an exact name first, then a pattern (`Custom-*`)."""
        for name, spec in self.files.items():
            if name.casefold() == stem.casefold():
                return spec
        for name, spec in self.files.items():
            if any(ch in name for ch in "*?[") and fnmatch.fnmatch(stem.casefold(), name.casefold()):
                return spec
        return None


def _as_list(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v) for v in values]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Override merged into base: mappings key by key (column labels compared normalised)."""
    out = dict(base)
    for key, value in override.items():
        if key == "columns" and isinstance(value, dict):
            columns = {normalise_label(k): (k, v) for k, v in (out.get("columns") or {}).items()}
            columns.update({normalise_label(k): (k, v) for k, v in value.items()})
            out["columns"] = dict(columns.values())
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _target(spec_name: str, coll: Collection, nest: str | None, label: str, text: str) -> Target:
    where = f"files.{spec_name}.columns[{label!r}]"
    if text == "_extra":
        return Target("extra")
    if text == "_file":
        if coll.name != "documents":
            raise AliasError(f"{where}: _file (the document's path) only exists in the documents manifest")
        return Target("file")
    if nest or (coll.name == "custom_objects" and text.startswith("fields.")):
        # A member of the element a row is: a nested list's element, or a custom object's field.
        if text == "parent" and nest:
            return Target("parent", type="str")
        member = text if nest else text.removeprefix("fields.")
        members = NESTED_MEMBERS[coll.field(nest or "fields").type]
        if member not in members:
            raise AliasError(f"{where}: {text!r} is not a member of {nest or 'fields'} ({', '.join(members)})")
        return Target("element", member, type=members[member])
    raw_types = dict(raw.data_columns(coll))
    if m := LIST_ENTRY.match(text):
        if m["column"] not in coll.field_names:
            raise AliasError(f"{where}: {coll.name} has no {m['column']} list")
        return Target("entry", m["column"], m["label"], "str")
    if "." in text:
        column, member = text.split(".", 1)
        if column not in coll.field_names:
            raise AliasError(f"{where}: {coll.name} has no field {column!r}")
        members = NESTED_MEMBERS.get(coll.field(column).type, {})
        if member not in members:
            raise AliasError(f"{where}: {column} has no member {member!r} ({', '.join(members) or 'not a struct'})")
        return Target("member", column, member, members[member])
    if coll.name == "custom_objects" and text == "relations":
        return Target("field", text, type="str")  # `to:kind` pairs, parsed when definitions are assembled
    if text in coll.field_names:
        typ = coll.field(text).type
        if typ not in KIND_OF_TYPE:
            raise AliasError(f"{where}: {text} is a {typ} field; map its parts ({text}.<member>) instead")
        return Target("field", text, type=typ)
    if text.endswith("_display") and text in raw_types:
        return Target("field", text, type="str[]" if raw_types[text] == "VARCHAR[]" else "str")
    raise AliasError(f"{where}: {text!r} is not a {coll.name} field, display column, member or list entry")


def _formats(data: dict[str, Any], where: str) -> Formats:
    try:
        return Formats(
            date=tuple(_as_list(data["date"])), datetime=tuple(_as_list(data["datetime"])),
            true_values=tuple(v.casefold() for v in _as_list(data["true_values"])),
            false_values=tuple(v.casefold() for v in _as_list(data["false_values"])),
            currency_symbols=tuple(_as_list(data["currency_symbols"])),
            thousands_separator=str(data["thousands_separator"]), list_separator=str(data["list_separator"]),
            every_field_quoted=bool(data["every_field_quoted"]),
        )
    except KeyError as exc:
        raise AliasError(f"{where}: formats lack {exc.args[0]!r}") from None


def _file_spec(name: str, data: dict[str, Any], formats: dict[str, Any]) -> FileSpec:
    if "collection" not in data:
        raise AliasError(f"files.{name}: no collection")
    try:
        coll = collection(str(data["collection"]))
    except KeyError as exc:
        raise AliasError(f"files.{name}: {exc.args[0]}") from None
    nest = data.get("nest")
    if nest is not None and (nest not in coll.field_names or coll.field(nest).type not in NESTED_MEMBERS):
        raise AliasError(f"files.{name}: {coll.name} has no nested list {nest!r}")
    columns: dict[str, tuple[Target, ...]] = {}
    labels: dict[str, str] = {}
    for label, value in (data.get("columns") or {}).items():
        norm = normalise_label(str(label))
        columns[norm] = tuple(_target(name, coll, nest, str(label), t) for t in _as_list(value))
        labels[norm] = str(label)
    spec = FileSpec(name, coll, columns, labels, _formats(_merge(formats, data.get("formats") or {}), f"files.{name}"),
                    nest, data.get("custom_prefix"))
    if not spec.key_labels():
        raise AliasError(f"files.{name}: no column maps to the key ({spec.key_field})")
    return spec


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise AliasError(f"cannot read alias table {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
        raise AliasError(f"{path}: expected a mapping with `formats` and `files`")
    return data


def load_aliases(override: Path | None = None) -> AliasTable:
    """The shipped alias table, with a customer's file (same shape) merged over it."""
    data = _read_yaml(DEFAULT_ALIASES)
    if override is not None:
        extra = _read_yaml(override)
        # A customer may spell a stem in any case; merge it into the shipped entry of that stem.
        stems = {name.casefold(): name for name in data["files"]}
        extra["files"] = {stems.get(str(k).casefold(), str(k)): v for k, v in (extra.get("files") or {}).items()}
        data = _merge(data, extra)
    formats = data.get("formats") or {}
    try:
        return AliasTable({name: _file_spec(name, spec or {}, formats) for name, spec in data["files"].items()})
    except AliasError as exc:
        where = f"{DEFAULT_ALIASES} merged with {override}" if override else str(DEFAULT_ALIASES)
        raise AliasError(f"{where}: {exc}") from exc

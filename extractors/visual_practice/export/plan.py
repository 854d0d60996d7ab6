"""From a file's header to the SQL that stages it: which column feeds which raw column, parsed how.

Values are parsed and assembled into the raw layer's types (structs, lists, JSON) in SQL, every
row keeps its order `_ord`, and a row with any bad value gets `_err` (the reason, naming column
and value) and `_raw` (its text) instead of being landed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from extractors.visual_practice import raw
from extractors.visual_practice.export.aliases import FileSpec, Target, normalise_label
from extractors.visual_practice.export.files import ExportError, ExportFile
from extractors.visual_practice.export.parse import expectation, literal, value_sql
from extractors.visual_practice.export.read import stored_rows
from vp2pd.vp_contract import DUCKDB_TYPES, NESTED_MEMBERS, Collection
from vp2pd.warehouse import quote

LIST_VALUE_MEMBER = {"emails": "address", "phones": "number"}  # the member an emails/phones column fills


@dataclass
class FilePlan:
    """How one file's columns land: mapped to targets, custom properties, object fields or `_extra`."""

    spec: FileSpec
    file: ExportFile
    header: list[str]
    targets: dict[int, tuple[Target, ...]] = field(default_factory=dict)
    custom: dict[int, str] = field(default_factory=dict)  # column -> custom property label
    object_fields: dict[int, str] = field(default_factory=dict)  # column -> custom object field key
    extra: dict[int, str] = field(default_factory=dict)  # column -> its key in `_extra`
    unknown: list[str] = field(default_factory=list)  # headers the alias table does not know
    missing: list[str] = field(default_factory=list)  # table labels absent from the header (NULL)
    notes: list[str] = field(default_factory=list)
    key_index: int = -1
    object_key: str | None = None  # custom object record files: the type their records are

    @property
    def key_label(self) -> str:
        return self.header[self.key_index]

    def column_of(self, kind: str, column: str = "") -> int | None:
        for index, targets in self.targets.items():
            if any(t.kind == kind and (not column or t.column == column) for t in targets):
                return index
        return None


def _filled(targets: tuple[Target, ...]) -> set[tuple[str, str, str]]:
    """What a column's targets fill (`_extra` is shared by every column that goes there)."""
    return {(t.kind, t.column, t.member) for t in targets if t.kind != "extra"}


def _custom_label(prefix: str, header: str) -> str | None:
    match = re.match(r"\s*" + re.escape(prefix.strip()) + r"\s*(.*)$", header, re.IGNORECASE)
    return match[1].strip() if match and match[1].strip() else None


def plan_file(spec: FileSpec, file: ExportFile, header: list[str], object_key: str | None = None,
              field_keys: dict[str, str] | None = None) -> FilePlan:
    """Map a header through the alias table.

    Custom object record files: `object_key` is their type, `field_keys` maps a normalised field
    label to its key from the type's definition; None when the export has no definition, then
    the columns are kept in `fields` under their label.
    """
    plan = FilePlan(spec, file, header, object_key=object_key)
    seen_labels: set[str] = set()
    seen_targets: set[tuple[str, str, str]] = set()
    for index, label in enumerate(header):
        norm = normalise_label(label)
        targets = spec.columns.get(norm)
        custom = _custom_label(spec.custom_prefix, label) if spec.custom_prefix else None
        if norm in seen_labels:
            plan.extra[index] = f"{label} (column {index + 1})"
            plan.unknown.append(plan.extra[index])
            plan.notes.append(f"header {label!r} appears twice: column {index + 1} kept in _extra")
        elif targets:
            filled = _filled(targets)
            if filled & seen_targets:
                plan.extra[index] = label
                plan.unknown.append(label)
                plan.notes.append(f"{label!r} fills what an earlier column filled: kept in _extra")
            else:
                seen_targets |= filled
                plan.targets[index] = targets
                if any(t.kind in ("extra", "file") for t in targets):
                    plan.extra[index] = label
        elif custom and custom.casefold() not in {c.casefold() for c in plan.custom.values()}:
            plan.custom[index] = custom
        elif field_keys is not None and norm in field_keys:
            plan.object_fields[index] = field_keys[norm]
        elif field_keys is None and spec.collection.name == "custom_object_records":
            plan.object_fields[index] = label.strip()
        else:
            plan.extra[index] = label
            plan.unknown.append(label)
        seen_labels.add(norm)
    # A table label is missing when its column is absent and no other label filled its targets
    # (a customer alias for a renamed header leaves the shipped label unused, not missing).
    present = {normalise_label(h) for h in header}
    plan.missing = [spec.labels[n] for n, ts in spec.columns.items()
                    if n not in present and not (_filled(ts) and _filled(ts) <= seen_targets)]
    keys = [i for i, ts in plan.targets.items() if any(map(spec.is_key, ts))]
    if not keys:
        raise ExportError(
            f"{file.name} has no key column (expected {' or '.join(repr(k) for k in spec.key_labels())}); "
            "if this export names it differently, map it in the customer's csv_aliases file"
        )
    plan.key_index = keys[0]
    if field_keys is None and plan.object_fields:
        plan.notes.append("no definition for this object in VP-CustomObjects: fields kept under their labels")
    return plan


def _map_json(pairs: list[tuple[str, str]], null_when_empty: bool) -> str:
    """A JSON object of the non-blank values, `{key: text}`; `{}` or NULL when there is none.

    Built as text with `concat_ws` (which skips the NULLs of blank values): measured ~25x cheaper
    than `to_json(map_from_entries(list_filter(...)))`, whose lambda made custom properties the
    costliest column of a clients file. Each value is `to_json`: in DuckDB 2.0 that was cheaper
    than testing it for characters to escape first (0.78 s against 1.04 s for a million clients'
    eight custom properties, the same text).
    """
    if not pairs:
        return "NULL" if null_when_empty else "'{}'"
    members = ", ".join(f"CASE WHEN trim({expr}) <> '' THEN {literal(json.dumps(k) + ':')} || "
                        f"to_json({expr})::VARCHAR END" for k, expr in pairs)
    obj = f"'{{' || concat_ws(',', {members}) || '}}'"
    return f"nullif({obj}, '{{}}')" if null_when_empty else obj


class StageQuery:
    """The SQL over one file's read rows (`source`: `_ord` and the text columns c0..cN).

    The file is read once, in parallel, into `source` with no other work (measured: reading it
    again for the landing rows cost more than keeping its text); everything else runs from there.
    `checks_sql` (a narrow table): each row's order, key, duplicate key, and for a bad row the
    reason and its text.
    `rows_sql`: the rows that may land, parsed and assembled into the raw layer's types, read by
    `raw.upsert` directly.
    """

    def __init__(self, plan: FilePlan, source: str) -> None:
        self.plan = plan
        self.source = source
        self.text_quoted = plan.spec.formats.every_field_quoted
        # (column, value kind) -> alias of its typed value, for every typed column the plan maps
        self.parsed = {(i, t.value_kind): f"v{i}_{t.value_kind}"
                       for i, ts in plan.targets.items() for t in ts if t.value_kind != "text"}

    def value(self, index: int, kind: str) -> str:
        """The typed value of column `index`; text is NULL when empty (a quoted empty field reads as '')."""
        return f"nullif(c{index}, '')" if kind == "text" else self.parsed[(index, kind)]

    def _struct(self, members: dict[str, str], filled: dict[str, str]) -> str:
        """A struct of all `members` (name -> logical type); NULL when none of `filled` has a value."""
        packed = ", ".join(f"{quote(m)} := {filled.get(m, 'NULL')}" for m in members)
        return f"CASE WHEN {' AND '.join(f'{v} IS NULL' for v in filled.values())} THEN NULL ELSE struct_pack({packed}) END"

    def _entries(self, column: str, entries: list[tuple[int, str]]) -> str:
        """emails/phones: one entry per non-blank column, in column order; the first one is primary."""
        member = LIST_VALUE_MEMBER[column]
        items = ", ".join(f"struct_pack({member} := c{i}, label := {literal(label)})" for i, label in entries)
        return (
            f"list_transform(list_filter([{items}], lambda e: trim(e.{member}) <> ''), "
            f"lambda e, i: struct_pack({member} := e.{member}, label := e.label, \"primary\" := i = 1))"
        )

    def outputs(self, columns: list[tuple[str, str]]) -> list[str]:
        """SELECT items for the data columns (name, DuckDB type), from the plan."""
        plan = self.plan
        direct: dict[str, str] = {}
        members: dict[str, dict[str, str]] = {}
        entries: dict[str, list[tuple[int, str]]] = {}
        for index, targets in plan.targets.items():
            for t in targets:
                if t.kind == "field":
                    direct[t.column] = self.value(index, t.value_kind)
                elif t.kind == "element":
                    direct[f"_el_{t.column}"] = self.value(index, t.value_kind)
                elif t.kind == "parent":
                    direct["_parent"] = self.value(index, "text")
                elif t.kind == "file":
                    direct["_file"] = self.value(index, "text")
                elif t.kind == "member":
                    members.setdefault(t.column, {})[t.member] = self.value(index, t.value_kind)
                elif t.kind == "entry":
                    entries.setdefault(t.column, []).append((index, t.member))
        raw_types = dict(raw.data_columns(plan.spec.collection))
        for name, filled in members.items():
            direct[name] = self._struct(NESTED_MEMBERS[plan.spec.collection.field(name).type], filled)
        for name, listed in entries.items():
            direct[name] = self._entries(name, listed)
        if "custom_properties" in raw_types:
            direct["custom_properties"] = _map_json([(k, f"c{i}") for i, k in plan.custom.items()], False)
        if plan.spec.collection.name == "custom_object_records":
            direct["fields"] = _map_json([(k, f"c{i}") for i, k in plan.object_fields.items()], False)
            direct["object_key"] = literal(plan.object_key or "")
        direct["_extra"] = _map_json([(k, f"c{i}") for i, k in plan.extra.items()], True)
        return [f"CAST({direct.get(name, 'NULL')} AS {typ}) AS {quote(name)}" for name, typ in columns]

    def _checks(self) -> list[tuple[str, str]]:
        """(condition, reason) pairs that make a row bad."""
        plan = self.plan
        key = f"c{plan.key_index}"
        checks = [(f"({key} IS NULL OR trim({key}) = '')", literal(f"no {plan.key_label} (the record key)"))]
        for (index, kind), alias in self.parsed.items():
            if kind == "list":  # any text splits into a list
                continue
            label = plan.header[index]
            checks.append((
                f"({alias} IS NULL AND trim(c{index}) <> '')",
                f"{literal(label + ': ')} || to_json(c{index})::VARCHAR || {literal(' is not ' + expectation(kind, plan.spec.formats))}",
            ))
        return checks

    def _parsed_rows(self) -> str:
        """The read rows with the typed value of every typed column."""
        formats = self.plan.spec.formats
        parsed = "".join(f", {value_sql(kind, self.value(i, 'text'), formats)} AS {alias}"
                         for (i, kind), alias in self.parsed.items())
        return f"(SELECT *{parsed} FROM {self.source})"

    def _raw_text(self) -> str:
        """A row's text as VP writes it: every field quoted, quotes doubled (a missing field is left out)."""
        names = [f"c{i}" for i in range(len(self.plan.header))]
        if self.text_quoted:
            fields = [f"'\"' || replace({n}, '\"', '\"\"') || '\"'" for n in names]
            return f"concat_ws(',', {', '.join(fields)})"
        return " || ',' || ".join(f"'\"' || replace(coalesce({n}, ''), '\"', '\"\"') || '\"'" for n in names)

    def checks_sql(self, duplicate_columns: list[int]) -> str:
        """`_ord`, `_key`, `_dup` (the values of `duplicate_columns` that must be unique, NULL if
        any is empty), and for a bad row `_err` (why) and `_raw` (its text)."""
        checks = self._checks()
        bad = " OR ".join(cond for cond, _ in checks)
        reasons = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for cond, reason in checks)
        dup = " || '/' || ".join(self.value(i, "text") for i in duplicate_columns) or "NULL"
        return (
            f"SELECT _ord, {self.value(self.plan.key_index, 'text')} AS _key, {dup} AS _dup, "
            f"CASE WHEN {bad} THEN concat_ws('; ', {reasons}) END AS _err, "
            f"CASE WHEN {bad} THEN {self._raw_text()} END AS _raw FROM {self._parsed_rows()}"
        )

    def rows_sql(self, columns: list[tuple[str, str]], skip_table: str) -> str:
        """The rows that may land (not in `skip_table`): `columns` (name, type) and `_ord`."""
        return (
            f"SELECT {', '.join(self.outputs(columns))}, _ord FROM {self._parsed_rows()} "
            f"WHERE _ord NOT IN (SELECT _ord FROM {skip_table})"
        )

    def raw_rows_sql(self, ordinals_table: str) -> str:
        """The text of the rows whose `_ord` is in `ordinals_table`.

        Selected by rowid from the stored rows, DuckDB fetches just those rows (measured on a
        million clients: 0.003 s); a filter on the view's computed `_ord` read them all (0.27 s).
        """
        return (f"SELECT rowid + 1 AS _ord, {self._raw_text()} FROM {stored_rows(self.source)} "
                f"WHERE rowid IN (SELECT _ord - 1 FROM {ordinals_table})")


def element_columns(coll: Collection, nest: str) -> list[tuple[str, str]]:
    """Columns of a nested file's rows: the parent key and the members of `coll`'s `nest` list."""
    members = NESTED_MEMBERS[coll.field(nest).type]
    return [("_parent", "VARCHAR"), *((f"_el_{m}", DUCKDB_TYPES[t]) for m, t in members.items()), ("_extra", "JSON")]

"""Layer 2: Visual Practice field -> Pipedrive field (a standard field, or a custom field to create).

The object mappings and their standard fields are the toolkit's rules (issue 4): they start from
the customer's confirmed map when there is one, else from the demo's map without its practice-
specific custom properties. The proposal checks each entry against the customer's own data (are
there values? do they fit the field type? do pick-list options cover them?) and proposes a custom
field, with type and options read from the data, for every custom property no entry moves yet.
Contract fields that carry values but that no entry moves are listed with the reason (PHI, derived
on screen, or no rule for them) so that a reviewer sees what stays behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vp2pd.config import REPO_ROOT
from vp2pd.mapping.profile import ColumnProfile

DEFAULT_TEMPLATE = REPO_ROOT / "customers" / "demo" / "mapping" / "confirmed.yml"
PICKLIST_MAX_OPTIONS = 12
# PHI: never proposed for migration; claims follow the customer's retention rule (rules.claims).
PHI_FIELDS = frozenset({"health_number", "version_code", "diagnostic_code", "date_of_birth"})
PHI_COLLECTIONS = frozenset({"claims", "appointment_notes"})
# Collections whose records become Pipedrive records; the rest are references or configuration
# (staff become users, matched by e-mail at load time).
MIGRATED = frozenset({"clients", "organizations", "appointments", "services", "service_contracts",
                      "service_records", "invoices", "appointment_notes", "documents", "custom_object_records"})
DERIVED = {"display_name": "derived from first and last name on screen",
           "updated_at": "bookkeeping (delta pickup), not a Pipedrive field",
           "archived_at": "archived clients are kept as they are; not a field",
           "merged_into_id": "merges are resolved by the transform (rule 1), not sent"}


@dataclass
class FieldProposal:
    entry: dict[str, Any]  # the confirmed-map entry it would become
    confidence: float
    reason: str
    origin: str  # rule | custom_property
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    column: str | None = None  # the profiled source column behind it


def mask(value: Any) -> str:
    """A PHI value reduced to its shape: `1234-567-890-AB` -> `••••-•••-•••-••`."""
    return re.sub(r"[A-Za-z0-9À-ÿ]", "•", str(value))


def is_phi(collection: str, column: str) -> bool:
    return collection in PHI_COLLECTIONS or column.split(".")[-1].split("[")[0] in PHI_FIELDS


def template(mapping_dir: Path) -> tuple[list[dict[str, Any]], str]:
    """The entries to start from, and where they came from."""
    own = mapping_dir / "confirmed.yml"
    if own.is_file():
        return list((yaml.safe_load(own.read_text(encoding="utf-8")) or {}).get("fields") or []), str(own)
    entries = (yaml.safe_load(DEFAULT_TEMPLATE.read_text(encoding="utf-8")) or {}).get("fields") or []
    return [e for e in entries if not str(e.get("field", "")).startswith("custom_properties.")], \
        "the toolkit's default map (demo, without its custom properties)"


def _source_columns(entry: dict[str, Any]) -> list[str]:
    """The raw columns an entry reads (`first_name+last_name` reads two; `emails` all e-mail entries)."""
    return [part for part in str(entry["field"]).split("+")]


def _profiles_for(collection: str, part: str, profiles: dict[tuple[str, str], ColumnProfile]) -> list[ColumnProfile]:
    exact = profiles.get((collection, part))
    if exact:
        return [exact]
    # a struct or list field as a whole: its members (`address` -> address.city, ...)
    return [p for (c, name), p in profiles.items() if c == collection and re.match(rf"^{re.escape(part)}[.\[]", name)]


TYPE_DETECTORS = {"date": ("date", "datetime"), "monetary": ("money", "decimal"), "double": ("decimal",),
                  "boolean": ("bool",), "phone": ("phone",)}


def _type_fit(field_type: str, prof: ColumnProfile) -> float:
    detectors = TYPE_DETECTORS.get(field_type)
    if not detectors or not prof.filled:
        return 1.0
    return max(prof.share(d) for d in detectors)


def check_rule(entry: dict[str, Any], profiles: dict[tuple[str, str], ColumnProfile],
               collections_present: set[str]) -> FieldProposal:
    """A template entry, with a confidence from the customer's data."""
    coll = str(entry["collection"])
    rule = f"rule {entry.get('rule')}" if entry.get("rule") else "the toolkit's map"
    target = entry.get("target") or f"custom field {entry.get('custom_field')} ({entry.get('type')})"
    where = f"{coll}.{entry['field']} -> {entry['object']}.{target}"
    if coll not in collections_present:
        return FieldProposal(entry, 0.6, f"{where} ({rule}); the source has no {coll} records: nothing to move",
                             "rule")
    found = [p for part in _source_columns(entry) for p in _profiles_for(coll, part, profiles)]
    if not found:
        return FieldProposal(entry, 0.9, f"{where} ({rule}); computed by the transform, not read from one column",
                             "rule")
    filled = [p for p in found if p.filled]
    if not filled:
        return FieldProposal(entry, 0.7, f"{where} ({rule}); the source column is empty in every record", "rule",
                             column=found[0].name)
    best = max(filled, key=lambda p: p.filled)
    fit = _type_fit(str(entry.get("type") or ""), best) if entry.get("custom_field") else 1.0
    reason = f"{where} ({rule}); {1 - best.null_rate:.0%} of records have a value"
    confidence = 0.97
    if fit < 0.8:
        confidence = 0.55 + 0.4 * fit
        reason += f"; only {fit:.0%} of values fit type {entry.get('type')}"
    missing = sorted(set(best.enum_values) - set(map(str, entry.get("options") or [])),
                     key=str.casefold) if entry.get("options") else []
    if missing and str(entry.get("field")) not in ("status",):  # status goes through rules.status_map
        confidence = min(confidence, 0.7)
        reason += f"; values not among the options: {', '.join(missing[:5])}"
    return FieldProposal(entry, round(confidence, 3), reason, "rule", column=best.name)


def field_name(label: str) -> str:
    """A Pipedrive custom field name in the map's style: `Policy #` -> Policy_Number."""
    text = label.replace("#", " Number").replace("%", " Percent").replace("&", " and ")
    return "_".join(w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-zÀ-ÿ0-9]+", text)) or "Field"


def infer_field_type(prof: ColumnProfile) -> list[tuple[str, float]]:
    """Pipedrive field types for a custom property, with how well each fits, best first."""
    if not prof.filled:
        return [("varchar", 0.5)]
    d = prof.share
    scores = {
        "boolean": d("bool"),
        "date": max(d("date"), d("datetime")),
        "monetary": d("money") if any("$" in v for v in prof.samples) else 0.0,
        "double": d("decimal") * (1 - d("identifier") * (prof.distinct_ratio > 0.9)),
        "phone": d("phone"),
        "enum": (1 - max(d("bool"), d("date"), d("decimal"))) * (
            1.0 if prof.distinct <= PICKLIST_MAX_OPTIONS and prof.distinct_ratio <= 0.5 else 0.0),
        "text": d("long_text"),
    }
    scores["varchar"] = max(0.5, 1 - max(scores.values())) if max(scores.values()) < 0.9 else 0.4
    return sorted(((t, round(s, 3)) for t, s in scores.items() if s > 0), key=lambda t: -t[1])


def propose_custom_property(collection: str, column: str, prof: ColumnProfile, obj: str) -> FieldProposal:
    label = column.removeprefix("custom_properties.")
    ranked = infer_field_type(prof)
    ftype, fit = ranked[0]
    entry: dict[str, Any] = {"collection": collection, "field": column, "object": obj,
                             "custom_field": field_name(label), "type": ftype}
    if ftype == "enum":
        entry["options"] = list(prof.enum_values)
    reason = (f"custom property {label!r} has no field in the map: new {obj} custom field {entry['custom_field']} "
              f"({ftype}: {fit:.0%} of {prof.filled} values fit; {prof.distinct} distinct)")
    confidence = round(min(0.9, 0.5 + 0.4 * fit) * (1 - 0.3 * prof.null_rate), 3)
    return FieldProposal(entry, confidence, reason, "custom_property",
                         [{"type": t, "score": s} for t, s in ranked[1:4]], column)


def not_migrated(profiles: dict[tuple[str, str], ColumnProfile], entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Contract fields with values that no entry moves, and why they stay behind."""
    used = {(str(e["collection"]), part.split(".")[0].split("[")[0]) for e in entries for part in _source_columns(e)}
    out = []
    seen: set[tuple[str, str]] = set()
    for (coll, name), prof in sorted(profiles.items()):
        base = name.split(".")[0].split("[")[0].removesuffix("_display")
        if coll not in MIGRATED or not prof.filled or (coll, base) in used or (coll, base) in seen:
            continue
        if name.startswith("custom_properties."):
            continue
        seen.add((coll, base))
        if coll == "appointment_notes":
            why = "clinical note (PHI): moves only as the sanitised SOAP note of rule 11"
        elif is_phi(coll, name):
            why = "PHI: not sent unless the customer's retention rule allows it (rules.claims)"
        else:
            why = DERIVED.get(base, "no mapping rule moves it; add an entry to the map to send it")
        out.append({"collection": coll, "field": base, "reason": why})
    return out

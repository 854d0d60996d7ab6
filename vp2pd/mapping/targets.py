"""Layer-1 targets: every place a source column can land in a contract collection, with its labels.

A target is written as the alias table writes it (`date_of_birth`, `address.city`,
`phones[mobile]`, `location_id_display`, or a list such as `[id, chart_number]`), so a confirmed
layer-1 map is an alias file of the same shape. Each target carries the header labels that mean
it (the shipped alias table's screen labels plus its own field-name words) and the kind of value
it expects, which the scorer compares with the column's profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from extractors.visual_practice.export.aliases import Target, load_aliases
from vp2pd.vp_contract import NESTED_MEMBERS, collection

# Phone and e-mail entries the export writes (alias table labels); other systems say the same.
PHONE_LABELS = ("home", "mobile", "work")
EMAIL_LABELS = ("email", "email2")
# Reference fields whose display value is a person ("SMITH, JOHN") rather than a name of a thing.
PERSON_REFS = frozenset({"practitioner_id", "default_practitioner_id", "author_id"})
ENUM_FIELDS = frozenset({"status", "sex", "title", "channel", "bill_type", "frequency", "category", "role",
                         "type", "currency", "payer", "plan", "kind", "content_type"})
TEXT_FIELDS = frozenset({"notes", "description", "cancellation_reason", "subjective", "objective", "assessment",
                         "plan", "title"})
VOCABULARY = {"sex": "sex", "title": "title", "currency": "currency"}


@dataclass(frozen=True)
class Candidate:
    collection: str
    target: tuple[str, ...]  # alias-table targets; several when one column fills two fields
    labels: tuple[str, ...]
    kind: str  # what its values look like: email, phone, date, datetime, money, enum, person, ...
    vocabulary: str | None = None  # lexicon `values` key of its options

    @property
    def name(self) -> str:
        return " + ".join(self.target)

    def as_yaml(self) -> str | list[str]:
        return self.target[0] if len(self.target) == 1 else list(self.target)


def target_text(t: Target) -> str:
    """An alias Target written back as its alias-table text."""
    return {"field": t.column, "member": f"{t.column}.{t.member}", "entry": f"{t.column}[{t.member}]",
            "element": t.column, "parent": "parent", "extra": "_extra", "file": "_file"}[t.kind]


def field_words(text: str) -> str:
    """A target's own words: `default_practitioner_id_display` -> "default practitioner"."""
    if "[" in text:
        column, label = text.rstrip("]").split("[")
        label = label.replace("email2", "email 2")
        return f"{label} phone" if column == "phones" else label
    if text.startswith("address."):
        return {"line1": "address", "line2": "address 2"}.get(text[8:], text[8:].replace("_", " "))
    if text.endswith("_display"):
        text = text.removesuffix("_display").removesuffix("_id")
    return text.replace(".", " ").replace("_", " ")


def expected_kind(coll: str, text: str) -> tuple[str, str | None]:
    """The value kind a target expects and the vocabulary of its options, from the contract."""
    if text.startswith("phones[") or text == "phone":
        return "phone", None
    if text.startswith("emails[") or text == "email":
        return "email", None
    if text.startswith("address."):
        member = text.split(".", 1)[1]
        return {"postal_code": "postal_code", "province": "province", "city": "city", "country": "country",
                "line1": "street", "line2": "unit"}[member], None
    if text.startswith("utm."):
        return "label", None
    if text.endswith("_display"):
        return ("person" if text.removesuffix("_display") in PERSON_REFS else "label"), None
    if text in ("health_number", "version_code"):
        return text, None
    if text in ("first_name", "last_name"):
        return "name_word", None
    if text == "display_name":
        return "display_name", None
    if text == "website":
        return "url", None
    ctype = collection(coll).field(text).type
    if ctype in ("date", "timestamp", "money", "bool"):
        return {"date": "date", "timestamp": "datetime", "money": "money", "bool": "bool"}[ctype], None
    if ctype in ("int", "quantity"):
        return "number", None
    if text == "id" or text.endswith(("_id", "_number")) or text == "chart_number":
        return "identifier", None
    if text in ENUM_FIELDS:
        key = f"{coll}.{text}"
        return "enum", key if key in _vocabularies() else VOCABULARY.get(text)
    if text in TEXT_FIELDS:
        return "text", None
    if text == "code":
        return "code", None
    return "label", None


@lru_cache(maxsize=1)
def _vocabularies() -> frozenset[str]:
    from vp2pd.mapping.lexicon import load_lexicon

    return frozenset(load_lexicon().values)


def _contract_targets(coll: str) -> list[str]:
    """Every target of a collection a CSV column could fill, written as alias text."""
    c = collection(coll)
    out: list[str] = []
    for f in c.fields:
        if f.type in ("str", "int", "bool", "money", "quantity", "date", "timestamp"):
            out.append(f.name)
        elif f.type == "address" or f.type == "utm":
            out += [f"{f.name}.{m}" for m in NESTED_MEMBERS[f.type]]
        elif f.type == "phones":
            out += [f"phones[{label}]" for label in PHONE_LABELS]
        elif f.type == "emails":
            out += [f"emails[{label}]" for label in EMAIL_LABELS]
        if f.ref:
            out.append(f"{f.name}_display")
    return out


@lru_cache(maxsize=32)
def candidates(coll: str) -> tuple[tuple[Candidate, ...], tuple[str, ...]]:
    """A collection's targets, and the labels the alias table keeps in `_extra` (known, not migrated)."""
    labels: dict[tuple[str, ...], list[str]] = {}
    extra: list[str] = []
    for spec in load_aliases().files.values():
        if spec.collection.name != coll or spec.nest or "*" in spec.stem:
            continue
        for norm, targets in spec.columns.items():
            texts = tuple(target_text(t) for t in targets)
            if texts == ("_extra",):
                extra.append(spec.labels[norm])
            elif all(t not in ("_file", "parent") for t in texts):
                labels.setdefault(texts, []).append(spec.labels[norm])
    covered = {t for texts in labels for t in texts}
    for text in _contract_targets(coll):
        # The export writes some references as numbers (`Chart #`): no display column for those.
        if text not in covered and text.removesuffix("_display") not in covered:
            labels.setdefault((text,), [])
    out = []
    for texts, found in labels.items():
        kind, vocab = expected_kind(coll, texts[-1] if texts[0] == "id" else texts[0])
        own = [field_words(t) for t in texts]
        out.append(Candidate(coll, texts, tuple(dict.fromkeys([*found, *own])), kind, vocab))
    return tuple(out), tuple(extra)

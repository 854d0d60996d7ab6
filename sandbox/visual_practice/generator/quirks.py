"""Which real-world quirks (contract section 3) a practice gets, where, and the manifest of them.

Each quirk has a rate per eligible unit (a client, an appointment, an invoice, a document, a note)
at mess 1, scaled by `mess`. So that tests can rely on every quirk, each one (and each variant of
it) is also *forced* on one client chosen from the client count alone; that client makes sure it
has an eligible unit. Nothing is drawn or forced at mess 0.

The manifest (`quirks.json`) is the ground truth for tests: it lists every record a quirk was put
on. It is streamed to one temporary file per quirk so a million-client practice keeps no list of
them in memory.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sandbox.visual_practice.generator.names import PHONE_FORMATS


@dataclass(frozen=True)
class QuirkSpec:
    name: str
    rate: float  # chance per eligible unit at mess 1
    variants: tuple[str, ...] = ("",)  # each variant is forced once


# Client-bundle quirks, in forcing order. The e-mail quirks are exclusive on one client (a client
# has one primary address), so they sit next to each other: forced slots go to distinct clients
# whenever there are at least as many clients as slots between them.
BUNDLE_QUIRKS: tuple[QuirkSpec, ...] = (
    QuirkSpec("email_missing", 0.05),
    QuirkSpec("email_malformed", 0.04, ("double_at", "none", "no_at", "no_dot")),
    QuirkSpec("email_shared_family", 0.03),
    QuirkSpec("email_duplicate_across_clients", 0.03, ("first", "second")),
    QuirkSpec("name_case", 0.10, ("upper", "lower")),
    QuirkSpec("name_spaces", 0.08, ("doubled", "trailing")),
    QuirkSpec("display_name_mismatch", 0.05),
    QuirkSpec("accented_name", 0.60),
    QuirkSpec("one_word_name", 0.02),
    QuirkSpec("phone_formats", 0.35, tuple(PHONE_FORMATS)),
    QuirkSpec("duplicate_client", 0.02),
    QuirkSpec("merged_client", 0.02),
    QuirkSpec("multiple_contacts", 0.10),
    QuirkSpec("custom_props_sparse", 0.40),
    QuirkSpec("custom_props_mixed_types", 0.05),
    QuirkSpec("export_race", 0.002),
    QuirkSpec("appt_template_slot", 0.05),
    QuirkSpec("appt_dst_span", 0.02),
    QuirkSpec("appt_departed_practitioner", 0.03),
    QuirkSpec("appt_deleted_client", 0.01),
    QuirkSpec("appt_cancelled", 0.10),  # per appointment
    QuirkSpec("appt_no_show", 0.05),  # per appointment
    QuirkSpec("invoice_rejected_resubmitted", 0.12),  # per invoice
    QuirkSpec("invoice_partial_multi_payer", 0.06),
    QuirkSpec("invoice_void", 0.04),
    QuirkSpec("invoice_negative_adjustment", 0.05),
    QuirkSpec("doc_large", 0.003),  # per document
    QuirkSpec("doc_zero_byte", 0.02),
    QuirkSpec("doc_duplicate_name", 0.05),
    QuirkSpec("doc_illegal_chars", 0.05),
    QuirkSpec("doc_wrong_content_type", 0.03),
    QuirkSpec("note_unsafe_html", 0.03),  # per note
    QuirkSpec("note_word_markup", 0.06),
    QuirkSpec("note_huge", 0.004),
)
PRACTICE_QUIRKS = ("org_hierarchy_deep", "org_orphan_parent")
QUIRK_NAMES = tuple(q.name for q in BUNDLE_QUIRKS) + PRACTICE_QUIRKS
EMAIL_QUIRKS = ("email_missing", "email_malformed", "email_shared_family", "email_duplicate_across_clients")
CSV_DEFECTS = ("wrong_column_count", "undecodable_bytes", "bad_date", "duplicate_key")


@dataclass(frozen=True)
class QuirkEntry:
    quirk: str
    collection: str
    id: str
    detail: str


class QuirkPlan:
    """Rates scaled by mess, and which client each forced (quirk, variant) slot goes to."""

    def __init__(self, mess: float, clients: int) -> None:
        self.mess = mess
        self.rates = {q.name: q.rate * mess for q in BUNDLE_QUIRKS}
        slots = [(q.name, v) for q in BUNDLE_QUIRKS for v in q.variants] if mess > 0 else []
        if clients < 2:  # a lone client cannot share its address with another
            slots = [s for s in slots if s[0] != "email_duplicate_across_clients"]
        self.forced: dict[int, list[tuple[str, str]]] = {}
        for slot, item in enumerate(slots):
            index = slot % clients if clients <= len(slots) else slot * clients // len(slots)
            self.forced.setdefault(index, []).append(item)

    def for_client(self, index: int, rng: random.Random) -> "ClientQuirks":
        return ClientQuirks(self.rates, list(self.forced.get(index, ())), rng)


class ClientQuirks:
    """One client's quirk draws. Every `take` consumes one draw, so streams stay aligned."""

    def __init__(self, rates: dict[str, float], forced: list[tuple[str, str]], rng: random.Random) -> None:
        self._rates = rates
        self._forced = forced
        self._rng = rng
        self.entries: list[QuirkEntry] = []

    def forced(self, quirk: str) -> bool:
        """Whether this client still owes a forced instance of `quirk` (it then makes an eligible unit)."""
        return any(name == quirk for name, _ in self._forced)

    def take(self, quirk: str) -> str | None:
        """The variant to apply ('' when the quirk has none), or None: a forced slot first, else a draw."""
        drawn = self._rng.random() < self._rates[quirk]
        for i, (name, variant) in enumerate(self._forced):
            if name == quirk:
                del self._forced[i]
                return variant
        return "" if drawn else None

    def note(self, quirk: str, collection: str, record_id: str, detail: str = "") -> None:
        self.entries.append(QuirkEntry(quirk, collection, record_id, detail))


class Manifest:
    """Streams manifest entries to one temporary JSON-lines file per quirk; `finish` writes quirks.json."""

    def __init__(self, out: Path, seed: int, mess: float) -> None:
        self.path = out / "quirks.json"
        self._parts = out / ".quirks.parts"
        shutil.rmtree(self._parts, ignore_errors=True)
        self._parts.mkdir(parents=True)
        self._files: dict[str, IO[str]] = {}
        self.counts: dict[str, int] = {}
        self.csv_defects: list[dict[str, Any]] = []
        self._head = {"seed": seed, "mess": mess}

    def add(self, entry: QuirkEntry) -> None:
        handle = self._files.get(entry.quirk)
        if handle is None:
            handle = self._files[entry.quirk] = (self._parts / f"{entry.quirk}.jsonl").open("w", encoding="utf-8")
        handle.write(json.dumps({"collection": entry.collection, "id": entry.id, "detail": entry.detail},
                                ensure_ascii=False) + "\n")
        self.counts[entry.quirk] = self.counts.get(entry.quirk, 0) + 1

    def add_defect(self, file: str, line: int, kind: str, key: str, detail: str) -> None:
        self.csv_defects.append({"file": file, "line": line, "kind": kind, "key": key, "detail": detail})

    def finish(self) -> Path:
        for handle in self._files.values():
            handle.close()
        with self.path.open("w", encoding="utf-8") as out:
            out.write(json.dumps(self._head)[:-1] + ', "records": {')
            for n, quirk in enumerate(sorted(self._files)):
                out.write(f'{", " if n else ""}\n  {json.dumps(quirk)}: [')
                with (self._parts / f"{quirk}.jsonl").open(encoding="utf-8") as part:
                    for i, line in enumerate(part):
                        out.write(("," if i else "") + "\n    " + line.rstrip("\n"))
                out.write("\n  ]")
            out.write('},\n "csv_defects": ')
            json.dump(self.csv_defects, out, ensure_ascii=False, indent=1)
            out.write("}\n")
        shutil.rmtree(self._parts)
        return self.path

"""`vp2pd estimate`: what a migration will cost before anything is extracted.

Input: the practice's record counts, from `/practice/stats` (`stats_counts`) or from a CSV export's
row counts (`export_counts`), and the Pipedrive account's plan and seats (customer.yml). Output
(`Estimate.as_json`): per source collection the Pipedrive object it becomes and the creates it
needs; per Pipedrive object the calls and tokens (create + the reconciliation's list reads, the
arithmetic of `loaders.pipedrive.preflight.BudgetPlan`, which reads the costs from the OpenAPI's
`x-token-cost`); days of budget; wall time at the burst limit; the collections that need a mapping
decision with the cost of each option; and a complexity grade.

Counts are of source records, before the transform, so the planned Pipedrive rows are upper
bounds where a rule drops records (template slots, non-billable services, oversized files, staff
with a user). Two things the counts cannot see go the other way: under `soap_notes: activity_note`
a SOAP note whose appointment is not migrated becomes a Note, and a note over 100 KB is split into
parts. Measured on a messy 14-client practice: 1,865 tokens estimated from its export vs 1,570
exact from its marts (+19%; notes 33 vs 36). After the transform, `vp2pd preflight` is exact.

Grades (the boundary is the team's, documented here and in the README):
- Scoped individually: more than 2,000,000 source records (issue 7): a load that size spans weeks of
  budget on most plans and needs its own plan (extra tokens bought, staged cutover).
- Complex: the load does not fit in one day's usable budget (it spans budget resets, so the cutover
  needs a freeze or a delta pickup between days), or the burst-limited wall time exceeds one
  working day (8 h), or the practice has custom objects (Enterprise: each type needs a Projects
  board designed with the customer), or the stats name a collection we have no route for.
- Standard: everything else — one day, one session, the shipped mapping with its default choices.
The boundary is about operations, not size alone: the same practice can be Standard on Premium with
five seats and Complex on Lite with one, because that is what changes the day-of-cutover plan.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from loaders.pipedrive.preflight import CREATE, LIST, BudgetPlan, cost
from loaders.pipedrive.sequence import STEPS
from loaders.pipedrive.settings import RESERVE_FRACTION, V1_FILES_PAGE_LIMIT, V2_PAGE_LIMIT
from vp2pd import pipedrive_contract as contract
from vp2pd.config import CustomerConfig, DocumentSettings, MappingRules

SCOPED_ABOVE_RECORDS = 2_000_000
WORKING_DAY_S = 8 * 3600
OWNER_READ = ("GET", "/v1/users")  # pre-flight matches staff to users with one list read

# Collections that become no Pipedrive record: what happens to them instead.
NOT_RECORDS: dict[str, str] = {
    "locations": "pick-list options of a custom field (set up once)",
    "referral_sources": "pick-list options of a custom field (set up once)",
    "custom_objects": "one Projects board per custom object type (set up once)",
    "automations": "configuration: rebuilt by hand from the handbook (vp2pd handbook)",
    "templates": "configuration: rebuilt by hand from the handbook (vp2pd handbook)",
    "reports": "configuration: rebuilt by hand from the handbook (vp2pd handbook)",
}


@dataclass
class CollectionLine:
    collection: str
    records: int
    target: str | None  # a load step's name (loaders.pipedrive.sequence), or None
    rows: int  # Pipedrive records planned (upper bound)
    how: str

    def as_json(self) -> dict[str, Any]:
        creates = self.rows
        tokens = creates * cost(*CREATE[self.target]) if self.target else 0
        return {"collection": self.collection, "records": self.records, "pipedrive_object": self.target or "—",
                "rows": self.rows, "create_calls": creates, "create_tokens": tokens, "how": self.how}


def _routes(counts: Mapping[str, int], rules: MappingRules, documents: DocumentSettings) -> list[CollectionLine]:
    """Each source collection's Pipedrive object and planned rows under the customer's rules."""
    n = lambda name: int(counts.get(name, 0))  # noqa: E731 - a short reader for the table below
    out: list[CollectionLine] = [
        # The practice itself is one Organization (the primary), whether or not stats list it.
        CollectionLine("practice", 1, "organizations", 1, "the practice as the primary Organization"),
        CollectionLine("organizations", n("organizations"), "organizations", n("organizations"),
                       "one Organization each"),
        CollectionLine("organizations", n("organizations"), "organization_relationships", n("organizations"),
                       "a parent relationship per organisation with a parent (upper bound: every one)"),
        CollectionLine("clients", n("clients"), "persons", n("clients"), "one Person each (merged duplicates fold)"),
        # Contacts are nested in their client: the export's ClientContacts rows, or extrapolated from
        # the first page of /clients (stats count clients only).
        CollectionLine("client_contacts", n("client_contacts"), "persons", n("client_contacts"),
                       "a Person per named contact of a client"),
        CollectionLine("staff", n("staff"), "persons", n("staff"), "matched to users by e-mail (one user list "
                       "read); former practitioners become Persons (upper bound: every staff member)"),
        CollectionLine("services", n("services"), "products", n("services"), "billable services as Products "
                       "(upper bound: every service)"),
        CollectionLine("service_contracts", n("service_contracts"), "deals", n("service_contracts"), "one Deal each"),
        # One per (contract, service) of the delivered records; a contract without records carries its
        # own service once: at most one per record plus one per contract.
        CollectionLine("service_records", n("service_records"), "deal_products",
                       n("service_records") + n("service_contracts"), "deal products per contract and service "
                       "(upper bound: one per record + one per contract)"),
        CollectionLine("appointments", n("appointments"), "activities", n("appointments"),
                       "one Activity each (upper bound: template slots, cancelled and no-shows are skipped "
                       "unless rules.keep_appointments)"),
    ]
    soap = n("appointment_notes")
    if rules.soap_notes == "person_note":
        out.append(CollectionLine("appointment_notes", soap, "notes", soap,
                                  "a Note each (rules.soap_notes: person_note)"))
    else:
        out.append(CollectionLine("appointment_notes", soap, None, 0, "in its Activity's note, no call "
                                  "(rules.soap_notes: activity_note); one whose appointment is not migrated "
                                  "becomes a Note (exact in pre-flight)"))
    invoices = n("invoices")
    per_invoice = rules.invoice_notes == "per_invoice"
    notes = invoices if per_invoice else min(invoices, n("clients"))
    out.append(CollectionLine("invoices", invoices, "notes", notes,
                              f"a Note {'per invoice' if per_invoice else 'per person'} "
                              f"(rules.invoice_notes: {rules.invoice_notes})"))
    claims = n("claims")
    if rules.claims.migrate:
        out.append(CollectionLine("claims", claims, "notes", claims,
                                  "a Note each (rules.claims.migrate: PHI retained)"))
    else:
        out.append(CollectionLine("claims", claims, None, 0, "PHI, not migrated (rules.claims.migrate: false)"))
    docs = n("documents")
    if documents.download == "none":
        out.append(CollectionLine("documents", docs, None, 0, "left out (documents.download: none)"))
    else:
        out.append(CollectionLine("documents", docs, "files", docs, f"a File each (upper bound: empty files and "
                                  f"files over {documents.size_limit_mb} MB are transferred by hand)"))
    records = n("custom_object_records")
    out.append(CollectionLine("custom_object_records", records, "projects", records,
                              "a Project each on its type's board"))
    for name, how in NOT_RECORDS.items():
        out.append(CollectionLine(name, n(name), None, 0, how))
    return out


def _object_line(name: str, rows: int) -> dict[str, Any]:
    """A Pipedrive object's calls and tokens, in the shape `BudgetPlan.objects` holds (preflight)."""
    page = V1_FILES_PAGE_LIMIT if name == "files" else V2_PAGE_LIMIT
    reads = math.ceil(rows / page) if name in LIST else 0
    create = cost(*CREATE[name])
    return {"object": name, "rows": rows, "token_cost": create, "create_tokens": rows * create,
            "reconcile_reads": reads, "reconcile_tokens": reads * (cost("GET", LIST[name]) if name in LIST else 0)}


@dataclass
class Estimate:
    source: str  # "practice/stats" or the export's path
    counts: dict[str, int]
    lines: list[CollectionLine]
    budget: BudgetPlan
    decisions: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # collections with no route
    as_of: str | None = None
    custom_properties: list[str] = field(default_factory=list)  # client custom-property labels seen

    @property
    def total_records(self) -> int:
        return sum(self.counts.values())

    def grade(self) -> tuple[str, list[str]]:
        """(grade, the reasons): see the module docstring for the boundary and why."""
        budget = self.budget.as_json()
        if self.total_records > SCOPED_ABOVE_RECORDS:
            return "Scoped individually", [f"{self.total_records:,} source records, over {SCOPED_ABOVE_RECORDS:,}"]
        reasons = []
        if budget["days"] > 1:
            reasons.append(f"{budget['total_tokens']:,} tokens take {budget['days']} days of the "
                           f"{budget['usable_per_day']:,} usable per day: the load spans budget resets")
        if budget["wall_time_s"] > WORKING_DAY_S:
            reasons.append(f"{budget['wall_time_s'] / 3600:.1f} h at the burst limit, over an 8-h working day")
        if self.counts.get("custom_objects", 0) or self.counts.get("custom_object_records", 0):
            reasons.append("custom objects: each type needs a Projects board designed with the customer")
        if self.unknown:
            reasons.append("collections without a route: " + ", ".join(self.unknown))
        return ("Complex", reasons) if reasons else ("Standard", ["fits one day's budget and one working session"])

    def as_json(self) -> dict[str, Any]:
        grade, reasons = self.grade()
        return {"source": self.source, "as_of": self.as_of, "counts": self.counts, "total_records": self.total_records,
                "collections": [line.as_json() for line in self.lines], "budget": self.budget.as_json(),
                "decisions": self.decisions, "unknown_collections": self.unknown,
                "custom_properties": self.custom_properties, "grade": grade,
                "grade_reasons": reasons}


def _decisions(counts: Mapping[str, int], rules: MappingRules, documents: DocumentSettings,
               probe: Probe | None = None) -> list[dict[str, Any]]:
    """The collections present whose mapping is the customer's choice, with each option's tokens."""
    note, file_cost = cost(*CREATE["notes"]), cost(*CREATE["files"])
    n = lambda name: int(counts.get(name, 0))  # noqa: E731
    found = []
    if n("appointment_notes"):
        found.append({"collection": "appointment_notes", "setting": "rules.soap_notes", "chosen": rules.soap_notes,
                      "options": {"activity_note": 0, "person_note": n("appointment_notes") * note}})
    if n("invoices"):
        found.append({"collection": "invoices", "setting": "rules.invoice_notes", "chosen": rules.invoice_notes,
                      "options": {"per_invoice": n("invoices") * note,
                                  "per_person": min(n("invoices"), n("clients")) * note}})
    if n("claims"):
        found.append({"collection": "claims", "setting": "rules.claims.migrate (PHI)", "chosen": rules.claims.migrate,
                      "options": {"false": 0, "true": n("claims") * note}})
    if n("documents"):
        found.append({"collection": "documents", "setting": "documents.download", "chosen": documents.download,
                      "options": {"within_limit": n("documents") * file_cost, "none": 0}})
    if probe and probe.custom_properties:
        field_cost = cost("POST", "/api/v2/personFields")
        found.append({"collection": "clients.custom_properties", "setting": "mapping/confirmed.yml (propose-map, "
                      "confirm-map)", "chosen": f"{len(probe.custom_properties)} labels to map: "
                      + ", ".join(probe.custom_properties[:12]) + (" ..." if len(probe.custom_properties) > 12 else ""),
                      "options": {"Person custom fields": len(probe.custom_properties) * field_cost, "left out": 0}})
    unmapped = sorted(s for s in (probe.statuses if probe else []) if s not in rules.status_map)
    if unmapped:
        found.append({"collection": "clients.status", "setting": "rules.status_map",
                      "chosen": "not in the map: " + ", ".join(unmapped), "options": {"add them to the map": 0}})
    if n("custom_objects") or n("custom_object_records"):
        found.append({"collection": "custom_objects", "setting": "mapping/confirmed.yml (rule 12)",
                      "chosen": "Projects boards",
                      "options": {"projects": n("custom_object_records") * cost(*CREATE["projects"]), "left out": 0}})
    return found


def estimate(counts: Mapping[str, int], *, plan: str, seats: int, rules: MappingRules | None = None,
             documents: DocumentSettings | None = None, daily_budget: int | None = None,
             reserve: int | None = None, source: str = "counts", as_of: str | None = None,
             probe: Probe | None = None) -> Estimate:
    """The estimate for these source counts on this account (the importable API; see the module doc).
    `probe` (from `probe_stats` / `probe_export`) adds the client custom properties and statuses seen."""
    rules, documents = rules or MappingRules(), documents or DocumentSettings()
    counts = {str(k): int(v) for k, v in counts.items() if k != "practice"}
    lines = _routes(counts, rules, documents)
    known = {line.collection for line in lines}
    unknown = sorted(c for c, v in counts.items() if c not in known and v)
    budget = daily_budget or contract.daily_budget(plan, seats)
    usable = budget - (reserve if reserve is not None else round(budget * RESERVE_FRACTION))
    plan_ = BudgetPlan(plan, seats, budget, usable, contract.burst_limit(plan))
    rows: dict[str, int] = {s.name: 0 for s in STEPS}
    for line in lines:
        if line.target:
            rows[line.target] += line.rows
    plan_.objects = [_object_line(name, n) for name, n in rows.items()]
    # The owner match's user list read (pre-flight), counted as one read of 0 rows.
    plan_.objects.append({"object": "users (owner match)", "rows": 0, "token_cost": 0, "create_tokens": 0,
                          "reconcile_reads": 1, "reconcile_tokens": cost(*OWNER_READ)})
    return Estimate(source, counts, lines, plan_, _decisions(counts, rules, documents, probe), unknown, as_of,
                    list(probe.custom_properties) if probe else [])


def for_customer(cfg: CustomerConfig, counts: Mapping[str, int], *, source: str, as_of: str | None = None,
                 probe: Probe | None = None) -> Estimate:
    """`estimate` with the customer's plan, seats, budget, rules and document settings."""
    p = cfg.pipedrive
    return estimate(counts, plan=p.plan, seats=p.seats, rules=cfg.rules, documents=cfg.documents,
                    daily_budget=p.daily_budget, reserve=p.reserve_tokens, source=source, as_of=as_of, probe=probe)


@dataclass
class Probe:
    """What the source says beyond its counts: client custom-property labels and statuses seen (the
    whole Clients file of an export; the first CONTACTS_SAMPLE clients of the API)."""

    counts: dict[str, int]
    as_of: str | None = None
    custom_properties: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


CONTACTS_SAMPLE = 100  # clients read to extrapolate contacts per client (one API call)


async def stats_counts(cfg: CustomerConfig, transport: Any = None) -> tuple[dict[str, int], str | None]:
    """(counts, as_of) from the practice's `/practice/stats` (see `probe_stats`)."""
    found = await probe_stats(cfg, transport)
    return found.counts, found.as_of


async def probe_stats(cfg: CustomerConfig, transport: Any = None) -> Probe:
    """Counts from `/practice/stats`, with the extractor's API client, plus `client_contacts`
    extrapolated from the contacts of the first CONTACTS_SAMPLE clients (contacts become Persons but
    the stats do not count them), and those clients' custom-property labels and statuses."""
    from extractors.visual_practice.api.client import VPClient
    from vp2pd.secrets import vp_api_key

    vp = cfg.visual_practice
    async with VPClient(vp.base_url, vp_api_key(), user_agent=vp.user_agent, requests_per_minute=vp.requests_per_minute,
                        timeout_s=vp.timeout_s, max_retries=vp.max_retries, transport=transport) as client:
        stats = await client.get_json("practice/stats")
        counts = {str(k): int(v) for k, v in stats["counts"].items()}
        page: list[dict[str, Any]] = []
        if counts.get("clients"):
            page = (await client.get_json("clients", params={"per_page": CONTACTS_SAMPLE})).get("clients", [])
            named = sum(1 for c in page for contact in (c.get("contacts") or []) if contact.get("name"))
            counts["client_contacts"] = math.ceil(named * counts["clients"] / len(page)) if page else 0
    labels = sorted({str(k) for c in page for k in (c.get("custom_properties") or {})})
    statuses = sorted({str(c["status"]).strip().lower() for c in page if c.get("status")})
    return Probe(counts, stats.get("as_of"), labels, statuses)


def _count_records(data: bytes, distinct_first: bool = False) -> int:
    """Records of one export file (header excluded). The csv module takes CR, LF or CRLF record
    ends and LF inside quoted notes; latin-1 decodes any byte, and delimiters are ASCII in every
    encoding the export uses, so the count does not depend on the file's encoding."""
    # Notes reach 200 KB (contract section 3), over the csv module's 128 KB field default.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    reader = csv.reader(io.StringIO(data.decode("latin-1"), newline=""))
    next(reader, None)
    if distinct_first:
        return len({row[0] for row in reader if row})
    return sum(1 for row in reader if any(cell.strip() for cell in row))


def export_counts(export_path: Path, aliases: Path | None = None, scratch: Path | None = None) -> dict[str, int]:
    """Source counts from a CSV export (see `probe_export`)."""
    return probe_export(export_path, aliases, scratch).counts


def _clients_profile(data: bytes, encoding: str, spec: Any) -> tuple[list[str], list[str]]:
    """(custom-property labels, distinct statuses) of an export's Clients file."""
    from extractors.visual_practice.export.aliases import normalise_label

    text = data.decode("utf-8-sig" if encoding.startswith("utf-8") else "cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    prefix = (spec.custom_prefix or "").casefold()
    labels = sorted(h[len(prefix):].strip() for h in header if prefix and h.casefold().startswith(prefix))
    status = [i for i, h in enumerate(header)
              if any(t.kind == "field" and t.column == "status" for t in spec.columns.get(normalise_label(h), ()))]
    statuses = {row[i].strip().lower() for row in reader for i in status if i < len(row) and row[i].strip()}
    return labels, sorted(statuses)


def probe_export(export_path: Path, aliases: Path | None = None, scratch: Path | None = None) -> Probe:
    """Source counts from a CSV export (folder or zip): the data rows of each collection's main
    file. Nested invoice lines and payments are parts of their invoice, not records; contacts
    become Persons, so their rows are counted as `client_contacts`; the CustomObjects file has a row
    per field, so its distinct object keys are counted."""
    import tempfile

    from extractors.visual_practice.export.aliases import load_aliases
    from extractors.visual_practice.export.encoding import detect_encoding
    from extractors.visual_practice.export.files import open_export

    table = load_aliases(aliases)
    counts: dict[str, int] = {}
    labels: list[str] = []
    statuses: list[str] = []
    with open_export(export_path, scratch or Path(tempfile.gettempdir())) as export:
        for stem, file in sorted(export.files.items()):
            spec = table.spec_for(file.stem)
            if spec is None or (spec.nest and spec.nest != "contacts"):
                continue
            name = "client_contacts" if spec.nest == "contacts" else spec.collection.name
            data = file.path.read_bytes()
            rows = _count_records(data, distinct_first=name == "custom_objects")
            counts[name] = counts.get(name, 0) + rows
            if name == "clients" and not spec.nest:
                labels, statuses = _clients_profile(data, detect_encoding(file.path), spec)
    return Probe(counts, None, labels, statuses)


def tables(est: Estimate) -> list[Any]:
    """The estimate as rich tables (the CLI prints them; a notebook can display them)."""
    from rich.table import Table

    data = est.as_json()
    b = data["budget"]
    per_collection = Table("collection", "records", "pipedrive object", "rows", "creates", "tokens", "how",
                           title=f"Estimate from {est.source}" + (f" (as of {est.as_of})" if est.as_of else ""))
    for line in data["collections"]:
        if line["records"] or line["rows"]:
            per_collection.add_row(line["collection"], f"{line['records']:,}", line["pipedrive_object"],
                                   f"{line['rows']:,}", f"{line['create_calls']:,}", f"{line['create_tokens']:,}",
                                   line["how"])
    per_object = Table("pipedrive object", "rows", "create calls", "read calls", "tokens",
                       title=f"{b['plan']} x {b['seats']} seat(s): {b['usable_per_day']:,} usable tokens a day")
    for o in b["objects"]:
        per_object.add_row(o["object"], f"{o['rows']:,}", f"{o['rows']:,}", f"{o['reconcile_reads']:,}",
                           f"{o['create_tokens'] + o['reconcile_tokens']:,}")
    per_object.add_row("total", "", "", f"{b['requests']:,} calls", f"{b['total_tokens']:,}")
    decisions = Table("collection", "setting", "chosen", "options (tokens)", title="Mapping decisions")
    for d in data["decisions"]:
        decisions.add_row(d["collection"], d["setting"], str(d["chosen"]),
                          ", ".join(f"{k}: {v:,}" for k, v in d["options"].items()))
    summary = Table("grade", "source records", "tokens", "days of budget", "wall time at the burst limit", "why",
                    title="Complexity")
    summary.add_row(data["grade"], f"{data['total_records']:,}", f"{b['total_tokens']:,}", str(b["days"]),
                    f"{b['wall_time_s']:,} s", "; ".join(data["grade_reasons"]))
    return [per_collection, per_object, decisions, summary]


def write_estimate(cfg: CustomerConfig, est: Estimate) -> Path:
    """`build/<customer>/reports/estimate.json` (the migration report reads it)."""
    import json

    cfg.reports_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.reports_dir / "estimate.json"
    path.write_text(json.dumps(est.as_json(), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return path

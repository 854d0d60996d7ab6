"""The practice and its reference collections: locations, staff, organizations, referral sources,
services, configuration definitions and (enterprise plan) custom object types.

All of it is small enough to keep in memory for the whole run, which the client bundles need for
their references and the export for its display values (`SMITH, JOHN`, location names).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sandbox.visual_practice.generator import catalogue, names
from sandbox.visual_practice.generator.options import GeneratorOptions
from sandbox.visual_practice.generator.quirks import QuirkEntry
from sandbox.visual_practice.generator.sequences import Sequences
from sandbox.visual_practice.generator.timeline import DAY, YEAR, Timeline, iso

PRACTICE_DOMAIN = "cliniquerivieres.ca"
CLEAN_MAX_ORG_DEPTH = 3  # hierarchies 4 deep are the org_hierarchy_deep quirk
LOCATION_NAMES = (("Centre-ville", "CV"), ("Midtown", "MT"), ("Ottawa Ouest", "OW"), ("Laval", "LV"),
                  ("Mississauga", "MS"), ("Gatineau", "GT"), ("Kingston", "KG"), ("Québec", "QC"))


@dataclass
class Practice:
    practice: dict[str, Any]
    locations: list[dict[str, Any]]
    staff: list[dict[str, Any]]
    organizations: list[dict[str, Any]]
    referral_sources: list[dict[str, Any]]
    services: list[dict[str, Any]]
    automations: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    custom_objects: list[dict[str, Any]]
    quirks: list[QuirkEntry] = field(default_factory=list)
    # Derived lookups the client bundles use.
    practitioners: list[dict[str, Any]] = field(default_factory=list)  # active ones
    departed_practitioners: list[dict[str, Any]] = field(default_factory=list)
    ohip_services: list[dict[str, Any]] = field(default_factory=list)
    private_services: list[dict[str, Any]] = field(default_factory=list)
    fees_cents: dict[str, int] = field(default_factory=dict)  # service id -> default fee in cents
    programme_services: list[dict[str, Any]] = field(default_factory=list)  # what a service contract sells
    bookable_services: list[dict[str, Any]] = field(default_factory=list)  # active, with a duration
    staff_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    ohip_service_ids: frozenset[str] = frozenset()

    def reference_collections(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "locations": self.locations, "staff": self.staff, "organizations": self.organizations,
            "referral_sources": self.referral_sources, "services": self.services,
            "automations": self.automations, "templates": self.templates, "reports": self.reports,
            "custom_objects": self.custom_objects,
        }

    def displays(self) -> dict[str, dict[str, str]]:
        """Display value of each referenced record, by collection, as the export writes references."""
        return {
            "locations": {r["id"]: r["name"] for r in self.locations},
            "staff": {r["id"]: staff_display(r) for r in self.staff},
            "organizations": {r["id"]: r["name"] for r in self.organizations},
            "referral_sources": {r["id"]: r["name"] for r in self.referral_sources},
            "services": {r["id"]: r["code"] for r in self.services},
        }


def staff_display(staff: dict[str, Any]) -> str:
    return f"{staff['last_name'].upper()}, {staff['first_name'].upper()}"


def build_practice(options: GeneratorOptions, seq: Sequences, timeline: Timeline) -> Practice:
    rng = random.Random(f"{options.seed}:practice")
    locations = _locations(rng, seq, options.clients)
    staff = _staff(rng, seq, timeline, options.clients, locations)
    organizations, org_quirks = _organizations(rng, seq, timeline, options, locations)
    services = [_service(seq, spec, rng) for spec in catalogue.SERVICES[: rng.randint(25, 40)]]
    practice = Practice(
        practice={
            "id": seq.next_id(), "name": "Clinique Rivières Health", "legal_name": "Clinique Rivières Santé Inc.",
            "phone": "416-555-0100", "email": f"reception@{PRACTICE_DOMAIN}", "website": f"https://{PRACTICE_DOMAIN}",
            "address": {"line1": "200 King St W", "line2": "Suite 1400", "city": "Toronto", "province": "ON",
                        "postal_code": "M5H 3T4", "country": "CA"},
            "timezone": options.timezone, "currency": "CAD", "plan": options.plan,
        },
        locations=locations,
        staff=staff,
        organizations=organizations,
        referral_sources=[
            {"id": seq.next_id(), "name": name, "type": kind, "is_active": rng.random() > 0.15}
            for name, kind in catalogue.REFERRAL_SOURCES[: rng.randint(8, 12)]
        ],
        services=services,
        automations=_definitions(rng, seq, "automation", catalogue.AUTOMATION_KINDS, "trigger"),
        templates=_definitions(rng, seq, "template", catalogue.TEMPLATE_KINDS, "body"),
        reports=_definitions(rng, seq, "report", catalogue.REPORT_KINDS, "definition"),
        custom_objects=_custom_objects(rng) if options.enterprise else [],
        quirks=org_quirks,
    )
    practice.practitioners = [s for s in staff if s["role"] == "practitioner" and s["is_active"]]
    practice.departed_practitioners = [s for s in staff if s["role"] == "practitioner" and not s["is_active"]]
    ohip_codes = {s.code for s in catalogue.SERVICES if s.ohip}
    billable = [s for s in services if s["is_billable"] and s["is_active"]]
    practice.ohip_services = [s for s in billable if s["code"] in ohip_codes]
    practice.private_services = [s for s in billable if s["code"] not in ohip_codes]
    practice.programme_services = [s for s in practice.private_services if s["category"] != "Administrative"]
    practice.bookable_services = [s for s in services if s["is_active"] and s["duration_minutes"] > 0]
    practice.staff_by_id = {s["id"]: s for s in staff}
    practice.service_by_id = {s["id"]: s for s in services}
    practice.fees_cents = {s["id"]: int(s["default_fee"].replace(".", "")) for s in services}
    practice.ohip_service_ids = frozenset(s["id"] for s in services if s["code"] in ohip_codes)
    return practice


def _locations(rng: random.Random, seq: Sequences, clients: int) -> list[dict[str, Any]]:
    out = []
    for name, code in LOCATION_NAMES[: min(8, 1 + clients // 500)]:
        address = names.address(rng, accented=True)
        out.append({
            "id": seq.next_id(), "name": f"Clinique Rivières {name}", "code": code, "address": address,
            "phone": names.canonical_phone(names.phone_digits(rng, address["city"])), "is_active": True,
        })
    if len(out) > 2:  # a branch that closed
        out[-1]["is_active"] = False
    return out


def _staff(rng: random.Random, seq: Sequences, timeline: Timeline, clients: int,
           locations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    count = max(6, clients // 40)
    people = len(names.FIRST_PLAIN) * len(names.LAST_PLAIN)
    # Distinct (first, last) pairs, with a middle initial once the pairs run out: the export refers
    # to staff by "LAST, FIRST" only, and staff are matched to users by their unique e-mail.
    picks = rng.sample(range(people if count <= people else people * 27), count)
    roles = ["practitioner", "admin", "reception", "billing"]
    staff = []
    for n, pick in enumerate(picks):
        initial, pair = divmod(pick, people)
        first = names.FIRST_PLAIN[pair % len(names.FIRST_PLAIN)] + (f" {chr(64 + initial)}." if initial else "")
        last = names.LAST_PLAIN[pair // len(names.FIRST_PLAIN)]
        # The first four cover every role, the fifth is a second practitioner, the sixth one who left.
        role = roles[n] if n < 4 else "practitioner" if n < 6 else rng.choices(roles, (60, 10, 18, 12))[0]
        created = rng.randrange(timeline.practice_opened, timeline.settled - YEAR)
        active = n != 5 and (n < 6 or rng.random() > 0.12)
        updated = rng.randrange(max(created, timeline.history_start + 60 * DAY), timeline.settled - 30 * DAY) \
            if not active else rng.randrange(created, timeline.settled)
        email = ".".join(part.translate(names.ASCII_FOLD).lower().strip(".").replace("'", "").replace(" ", "")
                         for part in (*first.split(" "), last))
        practitioner = role == "practitioner"
        staff.append({
            "id": seq.next_id(), "first_name": first, "last_name": last,
            "email": f"{email}@{PRACTICE_DOMAIN}",
            "role": role,
            "billing_number": f"{rng.randrange(100000, 999999)}" if practitioner else None,
            "specialty": rng.choice(catalogue.SPECIALTIES) if practitioner else None,
            "location_ids": sorted(l["id"] for l in rng.sample(locations, rng.randint(1, min(3, len(locations))))),
            "is_active": active, "created_at": iso(created), "updated_at": iso(updated),
        })
    return staff


def _organizations(rng: random.Random, seq: Sequences, timeline: Timeline, options: GeneratorOptions,
                   locations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[QuirkEntry]]:
    count = max(3, options.clients // 8)
    space = len(catalogue.ORG_BRANDS) * len(catalogue.ORG_TRADES) * len(catalogue.ORG_FORMS)
    orgs: list[dict[str, Any]] = []
    depth: dict[str, int] = {}
    # Names are unique (the export refers to organizations by name): a copy number once they run out.
    copies = 1 if count <= space else 100
    for pick in rng.sample(range(space * copies), count):
        base, copy = divmod(pick, copies)
        brand = catalogue.ORG_BRANDS[base % len(catalogue.ORG_BRANDS)]
        trade = catalogue.ORG_TRADES[(base // len(catalogue.ORG_BRANDS)) % len(catalogue.ORG_TRADES)]
        form = catalogue.ORG_FORMS[base // (len(catalogue.ORG_BRANDS) * len(catalogue.ORG_TRADES))]
        parent = None
        if orgs and rng.random() < 0.3:
            candidate = orgs[rng.randrange(max(0, len(orgs) - 50), len(orgs))]
            if depth[candidate["id"]] < CLEAN_MAX_ORG_DEPTH:
                parent = candidate
        org_id = seq.next_id()
        depth[org_id] = depth[parent["id"]] + 1 if parent else 1
        unit = f" - {rng.choice(catalogue.ORG_UNITS)}" if parent else ""
        address = names.address(rng, accented=True)
        created = rng.randrange(timeline.practice_opened, timeline.settled - 30 * DAY)
        orgs.append({
            "id": org_id,
            "name": f"{brand} {trade} {form}{unit}" + (f" #{copy + 1}" if copies > 1 else ""),
            "parent_id": parent["id"] if parent else None,
            "phone": names.canonical_phone(names.phone_digits(rng, address["city"])),
            "website": f"https://www.{_domain_part(brand)}{_domain_part(trade)}.ca",
            "address": address,
            "location_id": rng.choice(locations)["id"] if rng.random() < 0.5 else None,
            "created_at": iso(created), "updated_at": iso(rng.randrange(created, timeline.settled)),
        })
    return orgs, _organization_quirks(rng, seq, orgs, depth, options.mess)


def _organization_quirks(rng: random.Random, seq: Sequences, orgs: list[dict[str, Any]], depth: dict[str, int],
                         mess: float) -> list[QuirkEntry]:
    if mess <= 0:
        return []
    entries = []
    parents = {o["parent_id"] for o in orgs}
    roots = [o for o in orgs if o["parent_id"] is None and o["id"] not in parents]  # no parent, no children
    chains = max(1, round(len(orgs) * 0.02 * mess)) if len(roots) >= 4 else 0
    for _ in range(chains):
        chain = [roots.pop(rng.randrange(len(roots))) for _ in range(4)]
        for parent, child in zip(chain, chain[1:]):
            child["parent_id"] = parent["id"]
        entries.append(QuirkEntry("org_hierarchy_deep", "organizations", chain[-1]["id"],
                                  "chain " + " > ".join(o["id"] for o in chain)))
    orphans = max(1, round(len(orgs) * 0.01 * mess))
    for org in rng.sample([o for o in roots], min(orphans, len(roots))):
        # An id handed out once (to a record purged long ago) and never used again: it points at nothing.
        org["parent_id"] = seq.next_id()
        entries.append(QuirkEntry("org_orphan_parent", "organizations", org["id"], f"parent_id {org['parent_id']}"))
    return entries


def _domain_part(words: str) -> str:
    return words.translate(names.ASCII_FOLD).lower().replace(" ", "")


def _service(seq: Sequences, spec: catalogue.ServiceSpec, rng: random.Random) -> dict[str, Any]:
    return {
        "id": seq.next_id(), "code": spec.code, "name": spec.name, "category": spec.category,
        "duration_minutes": spec.minutes, "default_fee": spec.fee, "is_billable": spec.billable,
        "is_active": rng.random() > 0.08,
    }


def _definitions(rng: random.Random, seq: Sequences, what: str, kinds: tuple[str, ...],
                 body_field: str) -> list[dict[str, Any]]:
    out = []
    for n in range(rng.randint(5, 15)):
        kind = kinds[n % len(kinds)]
        if what == "automation":
            body: dict[str, Any] = {"event": rng.choice(("appointment.booked", "appointment.completed",
                                                         "invoice.overdue", "client.birthday")),
                                    "offset_hours": rng.choice((-48, -24, 2, 24, 72)),
                                    "action": {"send": rng.choice(("email", "sms")), "template": f"{kind}-{n}"}}
        elif what == "template":
            body = {"subject": f"{kind.replace('_', ' ').title()} {n}", "locale": rng.choice(("en", "fr")),
                    "html": "<p>Bonjour {{client.first_name}},</p><p>Your appointment is on {{appointment.date}}.</p>"}
        else:
            body = {"source": rng.choice(("appointments", "invoices", "clients")),
                    "group_by": rng.choice(("practitioner", "location", "month")),
                    "filters": [{"field": "status", "op": "=", "value": "completed"}],
                    "chart": rng.choice(("bar", "line", "table"))}
        out.append({"id": seq.next_id(), "name": f"{kind.replace('_', ' ').title()} {n + 1}", "kind": kind,
                    body_field: body, "is_active": rng.random() > 0.2})
    return out


def _custom_objects(rng: random.Random) -> list[dict[str, Any]]:
    specs = catalogue.CUSTOM_OBJECTS[: rng.randint(2, 3)]
    return [{
        "key": spec.key, "label": spec.label,
        "fields": [{"key": k, "label": label, "type": t} for k, label, t in spec.fields],
        "relations": [{"to": to, "kind": kind} for to, kind in spec.relations],
    } for spec in specs]

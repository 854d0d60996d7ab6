"""A client and all its dependents: one bundle per client, from the client's own random stream.

Quirks that need a second client record (the same person entered twice, a merged-away chart, a
family member sharing an address, a client created during the export, a deleted client whose
appointment survives) make it inside the bundle, so no bundle ever needs another one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sandbox.visual_practice.generator import billing, catalogue, clinical, custom_records, document_records, names
from sandbox.visual_practice.generator.bundle import Bundle, Context, Record
from sandbox.visual_practice.generator.quirks import EMAIL_QUIRKS, ClientQuirks
from sandbox.visual_practice.generator.timeline import DAY, YEAR, Timeline, epoch, iso

# The address front-desk staff type for a client with no e-mail; many clients end up sharing it.
PLACEHOLDER_EMAIL = "noemail@noemail.com"
MALFORMED_EMAILS = {
    "double_at": "{local}@@{domain}",
    "none": "none",
    "no_at": "{local}.{domain}",
    "no_dot": "{local}@{bare}",
}
RELATIONSHIPS = ("mother", "father", "spouse", "partner", "child", "sibling", "guardian", "emergency contact")


@dataclass
class Person:
    """Who a client is, before any data-entry quirk touched the record."""

    first: str
    last: str
    sex: str
    date_of_birth: str
    address: dict[str, Any]
    phone_digits: list[tuple[str, str]]  # (label, ten digits)
    email: str | None


def build_bundle(ctx: Context, index: int) -> Bundle:
    rng = random.Random(f"{ctx.options.seed}:client:{index}")
    quirks = ctx.plan.for_client(index, rng)
    bundle = Bundle()
    person = _person(ctx, rng, quirks)
    client = _client(ctx, rng, quirks, person)
    _add_client(bundle, client)
    _extras(ctx, rng, quirks, bundle, person, client)
    if ctx.dependents:
        clinical.add_clinical(ctx, rng, quirks, bundle, client)
        billing.add_billing(ctx, rng, quirks, bundle, client)
        document_records.add_documents(ctx, rng, quirks, bundle, client)
        custom_records.add_custom_records(ctx, rng, bundle, client)
    ctx.recent_clients.append((client["id"], client["chart_number"]))
    bundle.quirks.extend(quirks.entries)
    return bundle


def _add_client(bundle: Bundle, client: Record) -> None:
    bundle.records["clients"].append(client)
    bundle.charts[client["id"]] = client["chart_number"]
    bundle.display_names[client["id"]] = client["display_name"]


def _person(ctx: Context, rng: random.Random, quirks: ClientQuirks) -> Person:
    accented = quirks.take("accented_name") is not None
    first, last = names.person_name(rng, accented)
    if quirks.take("one_word_name") is not None:
        first, last = "", rng.choice(names.ONE_WORD_NAMES)
    address = names.address(rng, accented)
    labels = rng.sample(("mobile", "home", "work"), rng.choices((1, 2, 3), (50, 35, 15))[0])
    phones = [(label, names.phone_digits(rng, address["city"])) for label in labels]
    age_days = rng.randrange(2 * 365, 92 * 365)
    local = names.email_local(first, last, rng)
    return Person(
        first=first, last=last, sex=rng.choices("FMX", (51, 47, 2))[0],
        date_of_birth=ctx.timeline.day(ctx.timeline.as_of - age_days * DAY),
        address=address, phone_digits=phones,
        email=f"{local}@{rng.choice(names.EMAIL_DOMAINS)}",
    )


def display_name(first: str, last: str) -> str:
    """The registry's `LAST, FIRST` (a one-word name is just that word)."""
    return f"{last.upper()}, {first.upper()}" if first else last.upper()


def _client(ctx: Context, rng: random.Random, quirks: ClientQuirks, person: Person) -> Record:
    tl, practice = ctx.timeline, ctx.practice
    client_id = ctx.seq.next_id()
    first, last = person.first, person.last
    note_identity(quirks, client_id, first, last)
    shown = display_name(first, last)
    if quirks.take("display_name_mismatch") is not None:
        # A maiden name or a nickname kept in the display name after the record was edited.
        other = rng.choice([n for n in names.LAST_PLAIN if n.upper() != last.upper()])
        shown = f"{other.upper()}, {first.upper()}" if first else f"{other.upper()}, {last.upper()}"
        quirks.note("display_name_mismatch", "clients", client_id, f"display {shown!r} vs {last!r}, {first!r}")
    case = quirks.take("name_case")
    if case is not None:
        case = case or rng.choice(("upper", "lower"))
        first, last = (first.upper(), last.upper()) if case == "upper" else (first.lower(), last.lower())
        quirks.note("name_case", "clients", client_id, case)
    spaces = quirks.take("name_spaces")
    if spaces is not None:
        spaces = spaces or rng.choice(("doubled", "trailing"))
        if not first:  # a one-word name stays one word
            spaces = "trailing"
        if spaces == "doubled":  # a compound typed with two spaces
            last = f"{last}  {rng.choice(names.LAST_PLAIN)}"
        else:
            last = f"{last} "
        quirks.note("name_spaces", "clients", client_id, f"{spaces}: {last!r}")

    created = rng.randrange(tl.practice_opened, tl.settled - 30 * DAY)
    status = rng.choices(("active", "inactive", "prospect", "former"), (70, 12, 8, 10))[0]
    if status == "prospect":
        created = rng.randrange(tl.settled - YEAR // 2, tl.settled - 2 * DAY)
    status_changed = created if status in ("active", "prospect") else rng.randrange(created, tl.settled)
    archived = rng.randrange(status_changed, tl.settled) if status == "former" and rng.random() < 0.5 else None
    referral = rng.choice(practice.referral_sources) if rng.random() < 0.7 else None
    utm = None
    if referral and referral["type"] in ("search", "social"):
        utm = {"source": referral["name"].split()[0].lower(),
               "medium": "cpc" if referral["type"] == "search" else "social",
               "campaign": rng.choice(catalogue.UTM_CAMPAIGNS)}
    organization = rng.choice(practice.organizations) if rng.random() < 0.35 else None
    last_touch = max(status_changed, archived or 0)
    return {
        "id": client_id,
        "chart_number": ctx.seq.next_chart(),
        "title": _title(rng, person),
        "first_name": first,
        "last_name": last,
        "display_name": shown,
        "sex": person.sex,
        "date_of_birth": person.date_of_birth,
        **_health_card(rng, person),
        "emails": _emails(rng, quirks, client_id, person, organization),
        "phones": _phones(rng, quirks, client_id, person),
        "address": person.address,
        "organization_id": organization["id"] if organization else None,
        "location_id": rng.choice(practice.locations)["id"],
        "status": status,
        "status_changed_at": iso(status_changed),
        "referral_source_id": referral["id"] if referral else None,
        "utm": utm,
        "default_practitioner_id": rng.choice(practice.practitioners)["id"] if rng.random() < 0.8 else None,
        "contacts": _contacts(rng, quirks, client_id, person),
        "custom_properties": _custom_properties(rng, quirks, client_id, created, tl),
        "archived_at": iso(archived) if archived else None,
        "merged_into_id": None,
        "created_at": iso(created),
        "updated_at": iso(rng.randrange(last_touch, tl.settled)),
    }


def _title(rng: random.Random, person: Person) -> str | None:
    french = person.address["province"] == "QC"
    options = {"F": ("Ms.", "Mrs.", "Mme") if french else ("Ms.", "Mrs.", "Miss"),
               "M": ("M.", "Mr.") if french else ("Mr.",), "X": ("Mx.",)}[person.sex]
    roll = rng.random()
    return None if roll < 0.2 else "Dr." if roll > 0.97 else rng.choice(options)


def _health_card(rng: random.Random, person: Person) -> dict[str, str | None]:
    if rng.random() < 0.1:
        return {"health_number": None, "version_code": None}
    if person.address["province"] == "QC":  # RAMQ: no version code
        letters = (person.last.translate(names.ASCII_FOLD).upper().replace(" ", "") + "XXX")[:3]
        letters += (person.first[:1] or "X").translate(names.ASCII_FOLD).upper()
        return {"health_number": f"{letters}{rng.randrange(10**7, 10**8)}", "version_code": None}
    return {"health_number": f"{rng.randrange(10**9, 10**10)}",
            "version_code": "".join(rng.choices("ABCDEFGHJKLMNPRSTVWXYZ", k=2))}


def _email_quirk(quirks: ClientQuirks) -> tuple[str, str] | None:
    """At most one e-mail quirk per client (it has one primary address): a forced one first."""
    forced = [name for name in EMAIL_QUIRKS if quirks.forced(name)]
    taken = {name: quirks.take(name) for name in EMAIL_QUIRKS}
    for name in forced + list(EMAIL_QUIRKS):
        if taken[name] is not None:
            return name, taken[name] or ""
    return None


def _emails(rng: random.Random, quirks: ClientQuirks, client_id: str, person: Person,
            organization: Record | None) -> list[dict[str, Any]]:
    chosen = _email_quirk(quirks)
    address = person.email or ""  # every person starts with a well-formed address
    local, _, domain = address.partition("@")
    if chosen:
        name, variant = chosen
        if name == "email_missing":
            person.email = None
            quirks.note(name, "clients", client_id)
            return []
        if name == "email_malformed":
            variant = variant or rng.choice(tuple(MALFORMED_EMAILS))
            address = MALFORMED_EMAILS[variant].format(local=local, domain=domain, bare=domain.split(".")[0])
            person.email = None
            quirks.note(name, "clients", client_id, address)
        elif name == "email_duplicate_across_clients":
            address = person.email = PLACEHOLDER_EMAIL
            quirks.note(name, "clients", client_id, address)
        else:  # email_shared_family: the family member made in _extras uses this address
            quirks.note(name, "clients", client_id, f"shared with a family member: {address}")
    emails = [{"address": address, "label": "home", "primary": True}]
    if rng.random() < 0.15:
        work_domain = organization["website"].split("www.")[-1] if organization else "work.ca"
        emails.append({"address": f"{local}@{work_domain}", "label": "work", "primary": False})
    return emails


def _phones(rng: random.Random, quirks: ClientQuirks, client_id: str, person: Person) -> list[dict[str, Any]]:
    phones = [{"number": names.canonical_phone(digits), "label": label, "primary": n == 0}
              for n, (label, digits) in enumerate(person.phone_digits)]
    style = quirks.take("phone_formats")
    if style is not None:
        style = style or rng.choice(tuple(names.PHONE_FORMATS))
        n = rng.randrange(len(phones))
        phones[n]["number"] = names.formatted_phone(person.phone_digits[n][1], style, rng.randrange(1, 999))
        quirks.note("phone_formats", "clients", client_id, f"{style}: {phones[n]['number']}")
    return phones


def _contacts(rng: random.Random, quirks: ClientQuirks, client_id: str, person: Person) -> list[dict[str, Any]]:
    count = 1 if rng.random() < 0.3 else 0
    if quirks.take("multiple_contacts") is not None:
        count = rng.randint(2, 4)
        quirks.note("multiple_contacts", "clients", client_id, f"{count} contacts, the first is primary")
    contacts = []
    for _ in range(count):
        first, last = names.person_name(rng, False)
        relation = rng.choice(RELATIONSHIPS)
        if relation in ("mother", "father", "child", "sibling") and person.last:
            last = person.last
        email = f"{names.email_local(first, last, rng)}@{rng.choice(names.EMAIL_DOMAINS)}"
        contacts.append({
            "name": f"{first} {last}", "relationship": relation, "email": email if rng.random() < 0.5 else None,
            "phone": names.canonical_phone(names.phone_digits(rng, person.address["city"])),
        })
    return contacts


def clean_properties(rng: random.Random, created: int, tl: Timeline) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for label, kind in catalogue.CUSTOM_PROPERTIES.items():
        if label in catalogue.PROPERTY_VALUES:
            values[label] = rng.choice(catalogue.PROPERTY_VALUES[label])
        elif kind == "int":
            values[label] = rng.randrange(0, 20)
        elif kind == "bool":
            values[label] = rng.random() < 0.4
        elif kind == "date":
            values[label] = tl.day(min(created + rng.randrange(0, 30 * DAY), tl.as_of))
        else:
            values[label] = f"{rng.randrange(10**7, 10**8)}"
    return values


def _custom_properties(rng: random.Random, quirks: ClientQuirks, client_id: str, created: int,
                       tl: Timeline) -> dict[str, Any]:
    values = clean_properties(rng, created, tl)
    kept = None
    if quirks.take("custom_props_mixed_types") is not None:
        kept = rng.choice([label for label, kind in catalogue.CUSTOM_PROPERTIES.items() if kind != "text"])
        value = values[kept]
        mixed = {int: lambda v: f"{v} visits" if rng.random() < 0.5 else str(v),
                 bool: lambda v: rng.choice(("Yes", "oui", "Y")) if v else rng.choice(("No", "non", "N")),
                 str: lambda v: f"{v[8:10]}/{v[5:7]}/{v[:4]}"}[type(value)]
        values[kept] = mixed(value)
        quirks.note("custom_props_mixed_types", "clients", client_id, f"{kept}: {values[kept]!r} instead of {value!r}")
    if quirks.take("custom_props_sparse") is not None:
        labels = [label for label in values if label != kept]
        missing = rng.sample(labels, rng.randint(1, len(labels) - 1))
        for label in missing:
            del values[label]
        quirks.note("custom_props_sparse", "clients", client_id, "missing " + ", ".join(sorted(missing)))
    return values


def _extras(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle, person: Person,
            client: Record) -> None:
    """Second client records some quirks need (see the module docstring)."""
    tl = ctx.timeline
    created = epoch(client["created_at"])
    if quirks.take("duplicate_client") is not None:
        twin = _plain_copy(ctx, rng, quirks, person, created=rng.randrange(created, tl.settled))
        _add_client(bundle, twin)
        note_identity(quirks, twin["id"], twin["first_name"], twin["last_name"])
        quirks.note("duplicate_client", "clients", twin["id"], client["id"])
    if quirks.take("merged_client") is not None:
        merged_at = rng.randrange(created, tl.settled)
        old = _plain_copy(ctx, rng, quirks, person, created=rng.randrange(tl.practice_opened, created))
        old.update(status="inactive", status_changed_at=iso(merged_at), archived_at=iso(merged_at),
                   merged_into_id=client["id"], updated_at=iso(merged_at))
        _add_client(bundle, old)
        note_identity(quirks, old["id"], old["first_name"], old["last_name"])
        quirks.note("merged_client", "clients", old["id"], client["id"])
    if any(e.quirk == "email_shared_family" for e in quirks.entries):
        relative = _plain_copy(ctx, rng, quirks, person, created=rng.randrange(created, tl.settled))
        first = rng.choice(names.FIRST_PLAIN)
        relative.update(first_name=first, display_name=display_name(first, person.last),
                        date_of_birth=tl.day(tl.as_of - rng.randrange(3 * 365, 70 * 365) * DAY),
                        emails=[{"address": person.email, "label": "home", "primary": True}],
                        contacts=[{"name": f"{person.first} {person.last}".strip(), "relationship": "family",
                                   "email": person.email, "phone": client["phones"][0]["number"]}])
        _add_client(bundle, relative)
        note_identity(quirks, relative["id"], first, person.last)
        quirks.note("email_shared_family", "clients", relative["id"], f"shares {person.email} with {client['id']}")
    if quirks.take("export_race") is not None:
        started = rng.randrange(tl.export_started + 60, tl.as_of - 300)
        newcomer = _plain_copy(ctx, rng, quirks, person, created=started)
        first, last = names.person_name(rng, False)
        newcomer.update(first_name=first, last_name=last, display_name=display_name(first, last), status="prospect")
        _add_client(bundle, newcomer)
        bundle.not_exported.add(newcomer["id"])
        quirks.note("export_race", "clients", newcomer["id"],
                    "created while the export ran: absent from VP-Clients, its appointment is in VP-Appointments")


def note_identity(quirks: ClientQuirks, client_id: str, first: str, last: str) -> None:
    """Name quirks that are a matter of the name itself, noted from what the record holds."""
    if not f"{first}{last}".isascii():
        quirks.note("accented_name", "clients", client_id, f"{first} {last}".strip())
    if not first:
        quirks.note("one_word_name", "clients", client_id, last)


def _plain_copy(ctx: Context, rng: random.Random, quirks: ClientQuirks, person: Person, created: int) -> Record:
    """Another record for the same person, entered cleanly (title-case name, canonical phone, no e-mail)."""
    tl = ctx.timeline
    record_id = ctx.seq.next_id()
    label, digits = person.phone_digits[0]
    return {
        "id": record_id, "chart_number": ctx.seq.next_chart(), "title": None,
        "first_name": person.first, "last_name": person.last, "display_name": display_name(person.first, person.last),
        "sex": person.sex, "date_of_birth": person.date_of_birth, "health_number": None, "version_code": None,
        "emails": [], "phones": [{"number": names.canonical_phone(digits), "label": label, "primary": True}],
        "address": person.address, "organization_id": None, "location_id": ctx.practice.locations[0]["id"],
        "status": "active", "status_changed_at": iso(created), "referral_source_id": None, "utm": None,
        "default_practitioner_id": None, "contacts": [], "custom_properties": clean_properties(rng, created, tl),
        "archived_at": None, "merged_into_id": None, "created_at": iso(created), "updated_at": iso(created),
    }

"""A client's appointments, session notes, service contract and service records."""

from __future__ import annotations

import random
from typing import Any

from sandbox.visual_practice.generator import names, notes_html
from sandbox.visual_practice.generator.bundle import Bundle, Context, Record
from sandbox.visual_practice.generator.money import text as money
from sandbox.visual_practice.generator.quirks import ClientQuirks
from sandbox.visual_practice.generator.timeline import DAY, Timeline, epoch, iso

HOUR = 3600
SLOT = 15 * 60
DELETED_APPOINTMENTS = 0.01  # share of bookings deleted later (listed by /appointments/deleted)
SHORT_NOTES = (
    "Prefers afternoon appointments", "Bring MRI report", "Rappel envoyé par courriel", "Parking validated",
    "Needs interpreter (French)", "Left voicemail to confirm", "Running late\nWill call from the parking lot",
    "Insurance card on file", "Première visite",
)
CANCELLATION_REASONS = ("Client sick", "Scheduling conflict", "Weather", "Practitioner unavailable",
                        "Annulé par le client", "No reason given")


def add_clinical(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle, client: Record) -> None:
    appointments = _appointments(ctx, rng, quirks, bundle, client)
    _special_appointments(ctx, rng, quirks, bundle, client)
    contract = _contract(ctx, rng, bundle, client) if rng.random() < 0.3 else None
    _service_records(ctx, rng, bundle, client, appointments, contract)
    _notes(ctx, rng, quirks, bundle, client, appointments)


def _local_slot(tl: Timeline, rng: random.Random, instant: int) -> int:
    """A start on the quarter hour between 08:00 and 18:45 practice time, on the day of `instant`."""
    local = tl.local(instant)
    midnight = instant - (local.hour * HOUR + local.minute * 60 + local.second)
    return midnight + 8 * HOUR + rng.randrange(44) * SLOT


def _appointment(ctx: Context, rng: random.Random, client: Record | None, start: int, status: str,
                 created: int, practitioner: Record | None = None) -> Record:
    tl, practice = ctx.timeline, ctx.practice
    service = rng.choice(practice.bookable_services)
    if practitioner is None:
        default = client and client["default_practitioner_id"]
        practitioner = (practice.staff_by_id[default] if default and rng.random() < 0.6
                        else rng.choice(practice.practitioners))
    location = (client["location_id"] if client and rng.random() < 0.8
                else rng.choice(practitioner["location_ids"]))
    end = start + max(15, service["duration_minutes"]) * 60
    created = min(created, tl.settled)
    if status in ("completed", "no_show", "cancelled"):
        updated = min(max(end, created) + rng.randrange(0, 2 * DAY), tl.settled)
    else:
        updated = rng.randrange(created, tl.settled + 1)
    return {
        "id": ctx.seq.next_id(),
        "client_id": client["id"] if client else None,
        "practitioner_id": practitioner["id"],
        "location_id": location,
        "service_id": service["id"],
        "starts_at": iso(start),
        "ends_at": iso(end),
        "status": status,
        "cancellation_reason": rng.choice(CANCELLATION_REASONS) if status == "cancelled" else None,
        "channel": rng.choices(("in_person", "phone", "video"), (80, 10, 10))[0],
        "notes": rng.choice(SHORT_NOTES) if rng.random() < 0.3 else None,
        "created_at": iso(created),
        "updated_at": iso(max(updated, created)),
    }


def _appointments(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle,
                  client: Record) -> list[Record]:
    tl = ctx.timeline
    client_created = epoch(client["created_at"])
    count = rng.randint(0, 2) if client["status"] == "prospect" else rng.randint(4, 13)
    if count == 0 and (quirks.forced("appt_cancelled") or quirks.forced("appt_no_show")):
        count = 1
    low = max(tl.history_start, client_created + DAY)
    still_coming = client["status"] in ("active", "prospect")
    high = tl.future_end if still_coming else max(epoch(client["status_changed_at"]), low + DAY)
    wants_past = quirks.forced("appt_cancelled") or quirks.forced("appt_no_show")
    starts = sorted(_local_slot(tl, rng, rng.randrange(low, high)) for _ in range(count))
    if wants_past and starts and starts[0] > tl.settled - DAY:
        starts[0] = _local_slot(tl, rng, rng.randrange(tl.history_start, tl.settled - 2 * DAY))
    if client["status"] == "active" and rng.random() < 0.03:
        starts.append(tl.as_of - 45 * 60)  # checked in this morning, before the export
    live = []
    for start in starts:
        created = max(client_created, start - rng.randrange(DAY, 60 * DAY))
        if start > tl.as_of:
            status = "booked"
        elif start + 4 * HOUR > tl.settled:
            status = "arrived"
        elif quirks.take("appt_cancelled") is not None:
            status = "cancelled"
        elif quirks.take("appt_no_show") is not None:
            status = "no_show"
        else:
            status = "completed"
        record = _appointment(ctx, rng, client, start, status, created)
        if status == "arrived":
            record["updated_at"] = iso(min(start - 300, tl.settled))
        if status in ("cancelled", "no_show"):
            quirks.note(f"appt_{status}", "appointments", record["id"], status)
        if rng.random() < DELETED_APPOINTMENTS and status not in ("cancelled", "no_show"):
            deleted_at = rng.randrange(epoch(record["updated_at"]), tl.settled + 1)
            bundle.deleted.append(("appointments", record["id"], deleted_at))
            continue
        bundle.records["appointments"].append(record)
        live.append(record)
    return live


def _special_appointments(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle,
                          client: Record) -> None:
    """Appointments that are quirks in themselves."""
    tl, practice = ctx.timeline, ctx.practice
    add = bundle.records["appointments"].append
    if quirks.take("appt_template_slot") is not None:
        start = _local_slot(tl, rng, rng.randrange(tl.as_of, tl.future_end))
        slot = _appointment(ctx, rng, None, start, "template", rng.randrange(tl.history_start, tl.settled))
        slot["notes"] = "Open slot - new patients"
        add(slot)
        quirks.note("appt_template_slot", "appointments", slot["id"], "template slot without a client")
    if quirks.take("appt_dst_span") is not None and tl.dst_changes:
        change = rng.choice(tl.dst_changes)
        start = change - 30 * 60  # 01:30 local, an hour of real time across the switch
        status = "completed" if start < tl.settled else "booked"
        record = _appointment(ctx, rng, client, start, status, start - 7 * DAY)
        record["ends_at"] = iso(start + HOUR)
        add(record)
        quirks.note("appt_dst_span", "appointments", record["id"],
                    f"{tl.local(start):%Y-%m-%d %H:%M %Z} to {tl.local(start + HOUR):%H:%M %Z}")
    if quirks.take("appt_departed_practitioner") is not None and practice.departed_practitioners:
        gone = rng.choice(practice.departed_practitioners)
        left = epoch(gone["updated_at"])
        start = _local_slot(tl, rng, rng.randrange(max(tl.history_start, left - 180 * DAY), left - DAY))
        record = _appointment(ctx, rng, client, start, "completed", start - 14 * DAY, practitioner=gone)
        add(record)
        quirks.note("appt_departed_practitioner", "appointments", record["id"], f"practitioner {gone['id']} left")
    if quirks.take("appt_deleted_client") is not None:
        gone_id, chart = ctx.seq.next_id(), ctx.seq.next_chart()
        first, last = names.person_name(rng, False)
        bundle.charts[gone_id] = chart
        bundle.display_names[gone_id] = f"{last.upper()}, {first.upper()}"
        start = _local_slot(tl, rng, rng.randrange(tl.history_start, tl.settled - 30 * DAY))
        record = _appointment(ctx, rng, {**client, "id": gone_id}, start, "completed", start - 10 * DAY)
        add(record)
        bundle.deleted.append(("clients", gone_id, rng.randrange(epoch(record["updated_at"]), tl.settled)))
        quirks.note("appt_deleted_client", "appointments", record["id"], f"client {gone_id} was deleted")
    for newcomer in sorted(bundle.not_exported):
        joined = next(epoch(c["created_at"]) for c in bundle.records["clients"] if c["id"] == newcomer)
        booked = rng.randrange(joined + 1, tl.as_of)
        start = _local_slot(tl, rng, rng.randrange(tl.as_of + DAY, tl.future_end))
        booker = {**client, "id": newcomer, "default_practitioner_id": None}
        record = _appointment(ctx, rng, booker, start, "booked", booked)
        record["created_at"] = record["updated_at"] = iso(booked)  # during the export, after settled
        add(record)
        quirks.note("export_race", "appointments", record["id"],
                    f"booked while the export ran for client {newcomer}, who is absent from VP-Clients")


def _contract(ctx: Context, rng: random.Random, bundle: Bundle, client: Record) -> Record:
    tl, practice = ctx.timeline, ctx.practice
    service = rng.choice(practice.programme_services)
    start = rng.randrange(max(tl.history_start, epoch(client["created_at"])), tl.settled - DAY)
    frequency = rng.choice(("weekly", "monthly", "quarterly", "once"))
    sessions = {"weekly": 12, "monthly": 6, "quarterly": 4, "once": 1}[frequency]
    end = start + {"weekly": 84, "monthly": 180, "quarterly": 365, "once": 1}[frequency] * DAY
    open_ended = frequency != "once" and rng.random() < 0.2
    status = "cancelled" if rng.random() < 0.1 else "active" if open_ended or end > tl.as_of else "completed"
    created = max(epoch(client["created_at"]), start - rng.randrange(0, 14 * DAY))
    record = {
        "id": ctx.seq.next_id(), "client_id": client["id"], "service_id": service["id"],
        "practitioner_id": rng.choice(practice.practitioners)["id"] if rng.random() < 0.8 else None,
        "title": f"{service['name']} - {sessions} session{'s' if sessions > 1 else ''}",
        "start_date": tl.day(start), "end_date": None if open_ended else tl.day(end),
        "frequency": frequency, "value": money(practice.fees_cents[service["id"]] * sessions), "currency": "CAD",
        "status": status, "created_at": iso(created), "updated_at": iso(rng.randrange(created, tl.settled)),
    }
    bundle.records["service_contracts"].append(record)
    return record


def _service_records(ctx: Context, rng: random.Random, bundle: Bundle, client: Record,
                     appointments: list[Record], contract: Record | None) -> None:
    tl, practice = ctx.timeline, ctx.practice
    done = [a for a in appointments if a["status"] == "completed"]
    chosen = [(a, "completed") for a in done[-rng.randint(2, 3):]] if done else []
    upcoming = [a for a in appointments if a["status"] in ("booked", "arrived")]
    if upcoming and rng.random() < 0.5:
        first = upcoming[0]
        chosen.append((first, "planned" if first["status"] == "booked" else "in_progress"))
    cancelled = [a for a in appointments if a["status"] == "cancelled"]
    if cancelled and rng.random() < 0.3:
        chosen.append((cancelled[0], "cancelled"))
    for appointment, status in chosen:
        start = epoch(appointment["starts_at"])
        created = min(epoch(appointment["ends_at" if status == "completed" else "created_at"]), tl.settled)
        service_id = appointment["service_id"]
        bundle.records["service_records"].append({
            "id": ctx.seq.next_id(), "client_id": client["id"], "service_id": service_id,
            "practitioner_id": appointment["practitioner_id"], "appointment_id": appointment["id"],
            "contract_id": contract["id"] if contract and rng.random() < 0.5 else None,
            "status": status, "quantity": "1", "unit_price": money(practice.fees_cents[service_id]),
            "performed_on": tl.day(start), "created_at": iso(created),
            "updated_at": iso(rng.randrange(created, tl.settled + 1)),
        })


def _notes(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle, client: Record,
           appointments: list[Record]) -> None:
    tl = ctx.timeline
    done = [a for a in appointments if a["status"] == "completed"]
    picked: list[Record | None] = rng.sample(done, min(len(done), rng.randint(1, 3))) if done else []
    if rng.random() < 0.1 or (not picked and _owes_note_quirk(quirks)):
        picked.append(None)  # a phone call or a note written outside a booking
    for appointment in picked:
        flavour = "clean"
        for quirk, kind in (("note_unsafe_html", "unsafe"), ("note_word_markup", "word"), ("note_huge", "huge")):
            if flavour == "clean" and quirks.take(quirk) is not None:  # one kind of mess per note
                flavour = kind
        if appointment:
            written = epoch(appointment["ends_at"]) + rng.randrange(60, 4 * HOUR)
            author = appointment["practitioner_id"]
        else:
            written = rng.randrange(max(tl.history_start, epoch(client["created_at"])), tl.settled)
            author = (client["default_practitioner_id"] or rng.choice(ctx.practice.practitioners)["id"])
        written = min(written, tl.settled)
        signed = min(written + rng.randrange(0, 2 * DAY), tl.settled) if rng.random() < 0.85 else None
        note: dict[str, Any] = {
            "id": ctx.seq.next_id(), "appointment_id": appointment["id"] if appointment else None,
            "client_id": client["id"], "author_id": author, **notes_html.soap(rng, flavour),
            "signed_at": iso(signed) if signed else None, "created_at": iso(written),
            "updated_at": iso(max(written, signed or written)),
        }
        bundle.records["appointment_notes"].append(note)
        if flavour != "clean":
            quirk = {"unsafe": "note_unsafe_html", "word": "note_word_markup", "huge": "note_huge"}[flavour]
            size = sum(len(note[k]) for k in ("subjective", "objective", "assessment", "plan"))
            quirks.note(quirk, "appointment_notes", note["id"], f"{size} characters")


def _owes_note_quirk(quirks: ClientQuirks) -> bool:
    return any(quirks.forced(q) for q in ("note_unsafe_html", "note_word_markup", "note_huge"))

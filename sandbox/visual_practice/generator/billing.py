"""A client's invoices (lines and payments nested) and the claims sent for them.

Totals are what the practice is owed: rejected lines do not count, their resubmission does, so a
naive sum of the lines double-counts a rejected-then-resubmitted service (the quirk). Negative
amounts are written with a leading minus (`"-15.00"`).
"""

from __future__ import annotations

import random
from typing import Any

from sandbox.visual_practice.generator.bundle import Bundle, Context, Record
from sandbox.visual_practice.generator.catalogue import ADJUSTMENT_CODE
from sandbox.visual_practice.generator.money import cents, text as money
from sandbox.visual_practice.generator.quirks import ClientQuirks
from sandbox.visual_practice.generator.timeline import DAY, epoch, iso

OHIP_ERRORS = ("EH1", "VH9", "AC4", "ARF", "EF9", "VJ4")  # OHIP error codes seen on rejected lines
DIAGNOSTIC_CODES = ("300", "401", "724", "250", "780", "847", "311", "496")
CLIENT_METHODS = ("visa", "mastercard", "debit", "cash", "cheque", "e-transfer")
MIN_SPLIT_CENTS = 200  # below this a bill is not split between payers


def add_billing(ctx: Context, rng: random.Random, quirks: ClientQuirks, bundle: Bundle, client: Record) -> None:
    done = [r for r in bundle.records["service_records"] if r["status"] == "completed"]
    count = rng.randint(1, 3)
    groups = [done[i::count] for i in range(count)]
    for group in groups:
        invoice = _invoice(ctx, rng, quirks, client, group)
        bundle.records["invoices"].append(invoice)
        if invoice["bill_type"] != "private" and invoice["status"] != "draft":
            bundle.records["claims"].append(_claim(ctx, rng, client, invoice))


def _line(ctx: Context, service: Record, record: Record | None, status: str) -> dict[str, Any]:
    fee = ctx.practice.fees_cents[service["id"]]
    return {
        "id": ctx.seq.next_id(), "service_record_id": record["id"] if record else None,
        "service_code": service["code"], "description": service["name"], "quantity": "1",
        "unit_price": money(fee), "amount": money(fee), "status": status, "error_code": None,
    }


def _invoice(ctx: Context, rng: random.Random, quirks: ClientQuirks, client: Record, group: list[Record]) -> Record:
    tl, practice = ctx.timeline, ctx.practice
    ontario_card = bool(client["health_number"] and client["version_code"])
    ohip = bool(group) and ontario_card and group[0]["service_id"] in practice.ohip_service_ids
    # An OHIP bill carries only OHIP codes; without a valid card the same services are billed privately.
    group = [r for r in group if (r["service_id"] in practice.ohip_service_ids) == ohip] if ohip else group
    insured = (client["custom_properties"].get("Insurance Provider") or "None") != "None"
    bill_type = "ohip" if ohip else "direct" if insured and rng.random() < 0.4 else "private"
    earliest = max(tl.history_start, epoch(client["created_at"]))
    issued = max([epoch(r["created_at"]) for r in group] or [rng.randrange(earliest, tl.settled)])
    issued = min(issued + rng.randrange(0, 3 * DAY), tl.settled)
    age = tl.settled - issued
    status = ("draft" if age < 3 * DAY and rng.random() < 0.5 else
              "issued" if age < 45 * DAY and rng.random() < 0.6 else
              rng.choices(("paid", "issued", "partially_paid", "written_off"), (85, 5, 7, 3))[0])
    line_status = "paid" if status in ("paid", "partially_paid") else "submitted"
    lines = [_line(ctx, practice.service_by_id[r["service_id"]], r, line_status) for r in group]
    if sum(cents(l["amount"]) for l in lines) == 0:  # nothing billable delivered: an administrative fee
        lines.append(_line(ctx, rng.choice([s for s in practice.private_services if s["default_fee"] != "0.00"]),
                           None, line_status))
    invoice_id = ctx.seq.next_id()
    if quirks.take("invoice_rejected_resubmitted") is not None:
        rejected = rng.choice([l for l in lines if cents(l["amount"]) > 0])  # every bill has one (see above)
        again = {**rejected, "id": ctx.seq.next_id(), "status": "resubmitted"}
        rejected.update(status="rejected", error_code=rng.choice(OHIP_ERRORS))
        lines.insert(lines.index(rejected) + 1, again)
        quirks.note("invoice_rejected_resubmitted", "invoices", invoice_id,
                    f"line {rejected['id']} rejected ({rejected['error_code']}), resubmitted as line {again['id']}")
    total = sum(cents(l["amount"]) for l in lines if l["status"] != "rejected")
    if quirks.take("invoice_negative_adjustment") is not None:
        credit = min(total, rng.choice((500, 1000, 1500, 2000)))
        lines.append({"id": ctx.seq.next_id(), "service_record_id": None, "service_code": ADJUSTMENT_CODE,
                      "description": rng.choice(("Courtesy adjustment", "Ajustement de courtoisie", "Senior discount")),
                      "quantity": "1", "unit_price": money(-credit), "amount": money(-credit),
                      "status": line_status, "error_code": None})
        total -= credit
        quirks.note("invoice_negative_adjustment", "invoices", invoice_id, f"line {lines[-1]['id']} {money(-credit)}")
    if quirks.take("invoice_void") is not None:
        status = "void"
        quirks.note("invoice_void", "invoices", invoice_id, "void")
    payer = {"ohip": "ohip", "direct": "insurer", "private": "client"}[bill_type]
    payments: list[dict[str, Any]] = []
    if status != "void" and total >= MIN_SPLIT_CENTS and quirks.take("invoice_partial_multi_payer") is not None:
        status = "partially_paid"
        first_share = total * rng.randint(50, 80) // 100
        second_share = (total - first_share) // 2
        second_payer = "client" if payer != "client" else "insurer"
        payments = [_payment(ctx, rng, issued, first_share, payer),
                    _payment(ctx, rng, issued, second_share, second_payer)]
        quirks.note("invoice_partial_multi_payer", "invoices", invoice_id,
                    f"{payer} {money(first_share)} + {second_payer} {money(second_share)} of {money(total)}")
    elif status == "paid":
        payments = [_payment(ctx, rng, issued, total, payer)]
    elif status == "partially_paid":
        payments = [_payment(ctx, rng, issued, total // 2, payer)]
    paid = sum(cents(p["amount"]) for p in payments)
    balance = 0 if status in ("void", "written_off") else total - paid
    last_touch = max([issued] + [epoch(p["received_on"] + "T12:00:00Z") for p in payments])
    return {
        "id": invoice_id, "invoice_number": ctx.seq.next_bill(), "client_id": client["id"],
        "contract_id": next((r["contract_id"] for r in group if r["contract_id"]), None),
        "bill_type": bill_type, "issue_date": tl.day(issued), "due_date": tl.day(issued + 30 * DAY),
        "status": status, "currency": "CAD", "total": money(total), "balance": money(balance),
        "lines": lines, "payments": payments,
        "created_at": iso(issued), "updated_at": iso(min(max(issued, last_touch), tl.settled)),
    }


def _payment(ctx: Context, rng: random.Random, issued: int, amount: int, payer: str) -> dict[str, Any]:
    tl = ctx.timeline
    received = min(issued + rng.randrange(DAY, 45 * DAY), tl.settled - DAY)
    method, reference = {
        "ohip": ("RA deposit", f"RA-{tl.day(received)[:7]}-{rng.randrange(10**5, 10**6)}"),
        "insurer": ("EFT", f"CLM{rng.randrange(10**8, 10**9)}"),
        "client": (rng.choice(CLIENT_METHODS), f"TXN{rng.randrange(10**9, 10**10)}"),
    }[payer]
    return {"id": ctx.seq.next_id(), "received_on": tl.day(max(received, issued)), "amount": money(amount),
            "payer_type": payer, "method": method, "reference": reference}


def _claim(ctx: Context, rng: random.Random, client: Record, invoice: Record) -> Record:
    tl = ctx.timeline
    ohip = invoice["bill_type"] == "ohip"
    status = {"paid": "paid", "void": "cancelled", "written_off": "rejected"}.get(invoice["status"], "submitted")
    created = epoch(invoice["created_at"])
    return {
        "id": ctx.seq.next_id(), "invoice_id": invoice["id"], "client_id": client["id"],
        "payer": "OHIP" if ohip else client["custom_properties"].get("Insurance Provider", "Insurer"),
        "health_number": client["health_number"] if ohip else None,
        "version_code": client["version_code"] if ohip else None,
        "diagnostic_code": rng.choice(DIAGNOSTIC_CODES) if ohip else None,
        "submitted_on": invoice["issue_date"], "status": status,
        "created_at": iso(created), "updated_at": invoice["updated_at"],
    }

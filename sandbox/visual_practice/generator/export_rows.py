"""Rows of the export files: each `export_layout` column compiled once into a getter.

A getter takes the record and its parent (the client of a contact, the invoice of a line or a
payment) and returns the field's text. References show the other record's display value or
number, looked up in `References`, which the writer refills for every chunk of clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from sandbox.visual_practice.export_layout import Column
from sandbox.visual_practice.generator.export_format import ValueFormat
from sandbox.visual_practice.generator.money import cents, text as money
from vp2pd.vp_contract import collection

Getter = Callable[[dict[str, Any], dict[str, Any] | None], str | None]


@dataclass
class References:
    displays: dict[str, dict[str, str]]  # collection -> id -> display value (reference collections)
    charts: dict[str, str] = field(default_factory=dict)  # client id -> chart number
    client_names: dict[str, str] = field(default_factory=dict)  # client id -> display name
    bills: dict[str, str] = field(default_factory=dict)  # invoice id -> bill number
    export_paths: dict[str, str] = field(default_factory=dict)  # document id -> path in the export


def compile_columns(columns: list[Column], collection_name: str, fmt: ValueFormat, refs: References) -> list[Getter]:
    return [_getter(c, collection_name, fmt, refs) for c in columns]


def _getter(column: Column, collection_name: str, fmt: ValueFormat, refs: References) -> Getter:
    how, _, what = column.source.partition(":")
    if how == "field":
        name, _, member = what.partition(".")
        show = fmt.for_kind(column.kind)  # bound once: this runs for every value of a million rows
        if member:
            return lambda r, p: show((r.get(name) or {}).get(member))
        if column.kind == "text":  # contract text is str or None, which the csv writer writes as ""
            return lambda r, p: r.get(name)
        return lambda r, p: show(r.get(name))
    if how == "email":
        index = int(what)
        return lambda r, p: _email(r.get("emails") or [], index)
    if how == "phone":
        return lambda r, p: next((ph["number"] for ph in r.get("phones") or [] if ph["label"] == what), "")
    if how in ("display", "displays"):
        table = refs.displays[collection(collection_name).field(what).ref or ""]
        if how == "displays":
            return lambda r, p: "; ".join(table.get(i, "") for i in r.get(what) or [])
        return lambda r, p: table.get(r.get(what) or "", "")
    if how == "chart":
        if what == "client":
            return lambda r, p: p["chart_number"] if p else ""
        return lambda r, p: refs.charts.get(r.get(what) or "", "")
    if how == "bill":
        if what == "invoice":
            return lambda r, p: p["invoice_number"] if p else ""
        return lambda r, p: refs.bills.get(r.get(what) or "", "")
    if how == "charts":
        return lambda r, p: "; ".join(refs.charts.get(i, "") for i in r["links"]["client_ids"])
    if how == "ids":
        return lambda r, p: "; ".join(r["links"]["organization_ids"])
    if how == "derived":
        return _derived(what, fmt, refs)
    raise ValueError(f"export column {column.label!r} has an unknown source {column.source!r}")


def _email(emails: list[dict[str, Any]], index: int) -> str:
    """The n-th address, the primary one first."""
    ordered = sorted(emails, key=lambda e: not e["primary"])
    return ordered[index]["address"] if index < len(ordered) else ""


def _derived(what: str, fmt: ValueFormat, refs: References) -> Getter:
    if what == "client_display_name":
        return lambda r, p: refs.client_names.get(r.get("client_id") or "", "")
    if what == "export_path":
        return lambda r, p: refs.export_paths.get(r["id"], "")
    if what == "paid":
        return lambda r, p: fmt.money(money(sum(cents(x["amount"]) for x in r["payments"])))
    if what == "last_payer":
        return lambda r, p: r["payments"][-1]["payer_type"] if r["payments"] else ""
    if what == "last_reference":
        return lambda r, p: r["payments"][-1]["reference"] if r["payments"] else ""
    if what == "percent_payable":
        return lambda r, p: _adjudication(r, fmt)[0]
    if what == "disallowed":
        return lambda r, p: _adjudication(r, fmt)[1]
    # CustomObjects: one row per field of a definition; the row's record is the object, its "parent" the field.
    if what in ("field_key", "field_label", "field_type"):
        member = what.removeprefix("field_")
        return lambda r, p: p[member] if p else ""
    if what == "relations":
        return lambda r, p: "; ".join(f"{x['to']}:{x['kind']}" for x in r["relations"])
    raise ValueError(f"unknown derived export column {what!r}")


def _adjudication(invoice: dict[str, Any], fmt: ValueFormat) -> tuple[str, str]:
    """(`% Payable`, `$ Disallow`) of an OHIP bill over its adjudicated (paid or rejected) lines.

    The percentage has two decimals and no sign (`87.50`); both are empty for other bills.
    """
    if invoice["bill_type"] != "ohip":
        return "", ""
    billed = paid = 0
    for line in invoice["lines"]:
        if line["status"] in ("paid", "rejected"):
            billed += cents(line["amount"])
            paid += cents(line["amount"]) if line["status"] == "paid" else 0
    if billed <= 0:
        return "", ""
    basis_points = paid * 10_000 // billed
    return f"{basis_points // 100}.{basis_points % 100:02d}", fmt.money(money(billed - paid))

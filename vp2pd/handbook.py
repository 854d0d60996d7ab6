"""`vp2pd handbook`: Visual Practice automations, templates and reports, for the Pipedrive admin.

They are configuration, not data: nothing migrates them (migration__skipped lists each as
`configuration_not_data`). The handbook exports every live definition from the raw layer
(`raw_visual_practice.automations|templates|reports`, where the JSON trigger / body / definition
is kept whole; the staging models keep only id, name and kind) and says, per item, what to build
in Pipedrive instead, from its trigger event and action, its template kind and merge fields, or its
report's source and grouping. Written as `handbook.json` (machines, the migration report) and
`handbook.md` (the admin) under build/<customer>/reports/.

Every value from the source is escaped in the Markdown (a definition named `| <script>` renders as
text) and the JSON definitions sit in fences longer than any backtick run inside them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

COLLECTIONS = {"automations": "trigger", "templates": "body", "reports": "definition"}
RAW_SCHEMA = "raw_visual_practice"

# Where VP's merge fields land in Pipedrive (the load's mapping): the admin re-inserts them.
MERGE_OBJECTS = {"client": "Person", "appointment": "Activity", "practitioner": "User (owner)",
                 "staff": "User (owner)", "practice": "Organization (the practice)",
                 "invoice": "Note / Person money fields",
                 "location": "Person › Location (custom field)", "organization": "Organization"}
# Report sources -> the Pipedrive object their records became (DEVELOPERS.md: the object mappings).
REPORT_OBJECTS = {"appointments": "Activities", "clients": "Persons (Contacts)", "invoices": "Persons' invoice "
                  "money fields and invoice Notes", "service_contracts": "Deals", "services": "Products",
                  "organizations": "Organizations", "documents": "Files"}
GROUPINGS = {"practitioner": "owner (the matched user)", "location": "the Location custom field",
             "month": "a date field, by month", "status": "the Client_Status custom field"}
CHARTS = {"bar": "bar chart", "line": "line chart (over time)", "table": "table view", "pie": "pie chart"}


@dataclass
class Item:
    collection: str
    id: str
    name: str
    kind: str
    is_active: bool
    definition: Any  # the source's trigger / body / definition JSON, as it is
    rebuild_as: str  # the Pipedrive feature
    suggestion: str  # what to build, in a sentence or two
    caveats: list[str] = field(default_factory=list)


@dataclass
class Handbook:
    customer: str
    generated_at: str
    items: list[Item]

    def counts(self) -> dict[str, int]:
        return {c: sum(1 for i in self.items if i.collection == c) for c in COLLECTIONS}

    def as_json(self) -> dict[str, Any]:
        return {"customer": self.customer, "generated_at": self.generated_at, "counts": self.counts(),
                "items": [asdict(i) for i in self.items]}


def load_definitions(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """The live (not deleted) definitions of each collection from the raw layer, in id order; a
    collection never extracted is an empty list."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, body in COLLECTIONS.items():
        exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                             [RAW_SCHEMA, name]).fetchone()[0]
        if not exists:
            out[name] = []
            continue
        rows = con.execute(f'select id, name, kind, cast("{body}" as varchar), is_active from {RAW_SCHEMA}.{name} '
                           "where _deleted_at is null order by try_cast(id as bigint), id").fetchall()
        out[name] = [{"id": r[0], "name": r[1], "kind": r[2], body: json.loads(r[3]) if r[3] else None,
                      "is_active": r[4] if r[4] is not None else True} for r in rows]
    return out


async def fetch_definitions(cfg: Any, transport: Any = None) -> dict[str, list[dict[str, Any]]]:
    """The definitions straight from the API (before any extraction: for the estimate meeting), with
    the extractor's client; every page followed through `links.next`."""
    from extractors.visual_practice.api.client import VPClient
    from vp2pd.secrets import vp_api_key

    vp = cfg.visual_practice
    out: dict[str, list[dict[str, Any]]] = {}
    async with VPClient(vp.base_url, vp_api_key(), user_agent=vp.user_agent, requests_per_minute=vp.requests_per_minute,
                        timeout_s=vp.timeout_s, max_retries=vp.max_retries, transport=transport) as client:
        for name in COLLECTIONS:
            found: list[dict[str, Any]] = []
            page = await client.get_json(name, params={"per_page": vp.per_page})
            while True:
                found += page.get(name, [])
                following = (page.get("links") or {}).get("next")
                if not following:
                    break
                page = await client.get_json(following)
            out[name] = sorted(found, key=lambda d: (len(str(d["id"])), str(d["id"])))
    return out


def _merge_fields(text: str) -> list[str]:
    return sorted(set(re.findall(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*\}\}", text)))


def _merge_note(definition: Any) -> list[str]:
    found = _merge_fields(json.dumps(definition, ensure_ascii=False)) if definition else []
    notes = []
    for name in found:
        obj = MERGE_OBJECTS.get(name.split(".")[0])
        notes.append(f"merge field {{{{{name}}}}} -> " + (f"{obj} › {name.split('.', 1)[-1]}" if obj
                                                          else "no Pipedrive equivalent: rewrite the text"))
    return notes


def _automation(d: dict[str, Any]) -> tuple[str, str, list[str]]:
    trigger = d.get("trigger") if isinstance(d.get("trigger"), dict) else {}
    event = str(trigger.get("event") or "")
    offset = trigger.get("offset_hours")
    action = trigger.get("action") if isinstance(trigger.get("action"), dict) else {}
    send, template = action.get("send"), action.get("template")
    caveats: list[str] = []
    when = ""
    if isinstance(offset, (int, float)) and offset:
        when = (f"timing: {abs(offset):g} h before the appointment; " if offset < 0
                else f"delay: {offset:g} h after the trigger; ")
    if event.startswith("appointment."):
        state = event.split(".", 1)[1]
        trig = ("Activity created (type: appointment)" if state == "booked"
                else "Activity updated: marked as done" if state == "completed" else f"Activity {state}")
        if isinstance(offset, (int, float)) and offset < 0:
            caveats.append("Pipedrive automations run on events, not ahead of a due date: use the activity "
                           "reminder, or a Scheduler/Marketplace reminder app, for messages before the appointment")
    elif event == "invoice.overdue":
        trig = "Person field updated: invoice balance (the load's money fields), or a saved filter checked daily"
        caveats.append("invoices become Notes and money fields, not Pipedrive objects: no native overdue event")
    elif event == "client.birthday":
        trig = "a Person filter on the birthday date field (Campaigns or a Marketplace app sends the greeting)"
        caveats.append("Pipedrive has no date-anniversary trigger")
    else:
        trig = f"no direct Pipedrive trigger for {event or 'this event'}: choose the closest record event"
    if send == "email":
        act = f"Send email using the template {template!s}" if template else "Send email"
        caveats.append("sending e-mail from automations needs the mailbox synced in Pipedrive")
    elif send == "sms":
        act = "SMS through a Marketplace SMS app (Pipedrive has no native SMS action)"
    else:
        act = "Create activity (follow-up task for the owner)"
    kind = str(d.get("kind") or "")
    if kind == "recall" and send is None:
        act = "Create activity (the recall appointment to book)"
    return "Workflow Automation", f"Trigger: {trig}; {when}action: {act}.", caveats


def _template(d: dict[str, Any]) -> tuple[str, str, list[str]]:
    kind = str(d.get("kind") or "")
    body = d.get("body") if isinstance(d.get("body"), dict) else {}
    subject = body.get("subject")
    merge = _merge_note(body)
    if kind == "email":
        titled = f" with the subject {subject!s}" if subject else ""
        return ("Email template", f"Mail › Templates: a template{titled}; re-insert the merge fields with "
                "Pipedrive's own.", merge)
    if kind == "sms":
        return "Marketplace SMS app template", "SMS text in the SMS app's templates (no native SMS).", merge
    if kind == "letter":
        return "Smart Docs template", "Documents › Templates (Smart Docs), filled from the Person or Deal.", merge
    if kind == "intake_form":
        return ("Web Forms", "LeadBooster Web Forms: fields mapped to Person custom fields; submissions create "
                "Persons.", merge)
    if kind == "soap_note":
        return ("Note text snippet", "Pipedrive has no note templates: keep the SOAP headings as a Smart Docs "
                "template or a shared text snippet; migrated SOAP notes arrive as Activity notes or Notes.", merge)
    return "Manual rebuild", f"no Pipedrive template kind for {kind or 'this template'}: rebuild by hand.", merge


def _report(d: dict[str, Any]) -> tuple[str, str, list[str]]:
    kind = str(d.get("kind") or "")
    definition = d.get("definition") if isinstance(d.get("definition"), dict) else {}
    source = str(definition.get("source") or "")
    if kind == "ohip_reconciliation":
        return ("Stays in billing", "OHIP reconciliation is billing (claims are PHI): keep it in the billing system; "
                "Pipedrive holds no claims unless the retention rule says so.", [])
    target = REPORT_OBJECTS.get(source, f"the object {source or 'its data'} became")
    group = definition.get("group_by")
    filters = definition.get("filters") if isinstance(definition.get("filters"), list) else []
    chart = CHARTS.get(str(definition.get("chart") or ""), "the closest visualisation")
    conditions = "; ".join(f"{f.get('field')} {f.get('op')} {f.get('value')}" for f in filters if isinstance(f, dict))
    parts = [f"Insights › report on {target}"]
    if group:
        parts.append(f"grouped by {GROUPINGS.get(str(group), str(group))}")
    parts.append(f"as a {chart}")
    caveats = [f"filter: {conditions} (save it as a Pipedrive filter and use it in the report)"] if conditions else []
    if source == "invoices":
        caveats.append("invoice amounts live in Person money fields and invoice Notes: report on the money fields")
    return "Insights report + filter", ", ".join(parts) + ".", caveats


SUGGEST = {"automations": _automation, "templates": _template, "reports": _report}


def build_handbook(definitions: dict[str, list[dict[str, Any]]], customer: str) -> Handbook:
    items = []
    for collection, rows in definitions.items():
        body = COLLECTIONS[collection]
        for d in rows:
            rebuild_as, suggestion, caveats = SUGGEST[collection](d)
            if not d.get("is_active", True):
                caveats = ["inactive in Visual Practice: rebuild only if still wanted", *caveats]
            items.append(Item(collection, str(d["id"]), str(d.get("name") or ""), str(d.get("kind") or ""),
                              bool(d.get("is_active", True)), d.get(body), rebuild_as, suggestion, caveats))
    return Handbook(customer, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), items)


# Emphasis, code, links, tables, strikethrough, headings. Line-start markers (`-`, `+`, `1.`) need
# no escape: a source value never starts a line here (always after `| `, `- ` or `### `).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def md_escape(value: Any) -> str:
    """Text safe inside Markdown (and a table cell): HTML-significant characters as entities,
    Markdown punctuation backslash-escaped, line breaks as spaces."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"[\r\n]+", " ", text)


def _fenced(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{text}\n{fence}"


TITLES = {"automations": "Automations → Pipedrive Workflow Automations",
          "templates": "Templates → email templates, Smart Docs, Web Forms",
          "reports": "Reports → Insights reports and filters"}


def to_markdown(book: Handbook) -> str:
    counts = book.counts()
    out = [f"# Rebuild handbook — {md_escape(book.customer)}", "",
           "Visual Practice automations, templates and reports do not migrate. Each item below is a definition "
           "from the source with the Pipedrive feature to rebuild it in and a suggested setup.", "",
           f"Generated {md_escape(book.generated_at)}: " + ", ".join(f"{n} {c}" for c, n in counts.items()) + ".", ""]
    for collection, title in TITLES.items():
        items = [i for i in book.items if i.collection == collection]
        out += [f"## {title} ({len(items)})", ""]
        if not items:
            out += ["_none in the source_", ""]
            continue
        out += ["| id | name | kind | active | rebuild as | suggestion |", "|---|---|---|---|---|---|"]
        for i in items:
            out.append("| " + " | ".join(md_escape(v) for v in (i.id, i.name, i.kind, "yes" if i.is_active else "no",
                                                                i.rebuild_as, i.suggestion)) + " |")
        out.append("")
        for i in items:
            out += [f"### {md_escape(i.name)} ({md_escape(i.kind)}, id {md_escape(i.id)})", "",
                    f"**Rebuild as:** {md_escape(i.rebuild_as)}. {md_escape(i.suggestion)}", ""]
            out += [f"- {md_escape(c)}" for c in i.caveats] + ([""] if i.caveats else [])
            out += ["Source definition:", "", _fenced(i.definition), ""]
    return "\n".join(out)


def write_handbook(book: Handbook, reports_dir: Path) -> tuple[Path, Path]:
    """(handbook.md, handbook.json) under `reports_dir`."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    md, js = reports_dir / "handbook.md", reports_dir / "handbook.json"
    md.write_text(to_markdown(book), encoding="utf-8")
    js.write_text(json.dumps(book.as_json(), indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    return md, js


def handbook_for_customer(cfg: Any, *, from_api: bool = False, transport: Any = None) -> tuple[Handbook, Path, Path]:
    """Read the customer's warehouse (or, `from_api`, the Visual Practice API), write the handbook;
    (handbook, md path, json path)."""
    from vp2pd.warehouse import connect

    if from_api:
        from vp2pd.aio import run_sync

        book = build_handbook(run_sync(fetch_definitions(cfg, transport)), cfg.name)
        md, js = write_handbook(book, cfg.reports_dir)
        return book, md, js
    if not cfg.warehouse_path.exists():
        raise FileNotFoundError(f"no warehouse at {cfg.warehouse_path}: run `vp2pd extract -c {cfg.slug}` first")
    con = connect(cfg.warehouse_path, read_only=True)
    try:
        book = build_handbook(load_definitions(con), cfg.name)
    finally:
        con.close()
    md, js = write_handbook(book, cfg.reports_dir)
    return book, md, js

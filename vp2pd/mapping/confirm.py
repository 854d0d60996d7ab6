"""Turning a proposal into `mapping/confirmed.yml`: decisions, then the confirmed map and its hash.

A decision is recorded on the proposal entry itself (`decision: {action, by, at, how}`; action
accept | change | drop), so the headless `confirm-map --accept-above` and the review notebook
share one record and a person's decision is never overwritten by a flag. The confirmed map is
written only when nothing is left undecided. Layer-1 decisions also become the customer's header
alias file (`mapping/csv_aliases.yml`, the shape `visual_practice.csv_aliases` reads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from extractors.visual_practice.export.aliases import load_aliases
from vp2pd.config import CustomerConfig
from vp2pd.mapping.gate import confirmed_path, fields_hash
from vp2pd.mapping.propose import load_proposed, save_proposed

ALIASES = "csv_aliases.yml"
META_KEYS = ("reviewer", "confirmed_at", "confirmed_with", "content_hash")
CONFIRMED_HEADER = """\
# Confirmed field map for {customer}: which source field lands in which Pipedrive field (entry
# format: see customers/demo/mapping/confirmed.yml). Written by {how}; `content_hash` is over
# `fields` (vp2pd/mapping/gate.py): editing an entry means confirming again before any load.
"""


@dataclass
class ConfirmResult:
    accepted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    needs_review: list[str] = field(default_factory=list)
    confirmed: Path | None = None
    aliases: Path | None = None
    content_hash: str | None = None


def describe(item: dict[str, Any]) -> str:
    """One line naming a proposal entry and its target."""
    if "entry" in item:
        e = item["entry"]
        to = e.get("target") or f"{e.get('custom_field')} ({e.get('type')})"
        return f"{e['collection']}.{e['field']} -> {e['object']}.{to} [{item.get('confidence', 0):.2f}]"
    target = item.get("target")
    shown = " + ".join(target) if isinstance(target, list) else (target or "not migrated")
    return f"{item['collection']} column {item['column']!r} -> {shown} [{item.get('confidence', 0):.2f}]"


def items(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(data.get("columns") or []), *(data.get("fields") or [])]


def decide(data: dict[str, Any], *, accept_above: float | None, accept_all: bool, by: str) -> None:
    """Accept every undecided entry the flag covers; decisions already made stand."""
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    how = "--accept-all" if accept_all else f"--accept-above {accept_above}"
    for item in items(data):
        if item.get("decision"):
            continue
        if accept_all or (accept_above is not None and float(item.get("confidence") or 0) >= accept_above):
            item["decision"] = {"action": "accept", "by": by, "at": at, "how": how}


def confirmed_fields(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The field entries a person or flag accepted (a changed entry as changed)."""
    out = []
    for item in data.get("fields") or []:
        decision = item.get("decision") or {}
        if decision.get("action") == "accept":
            out.append(item["entry"])
        elif decision.get("action") == "change":
            out.append(decision["entry"])
    return out


def column_targets(data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(collection, header, target or None) of every decided layer-1 column."""
    out = []
    for item in data.get("columns") or []:
        decision = item.get("decision") or {}
        action = decision.get("action")
        if action == "accept":
            out.append((item["collection"], item["column"], item.get("target")))
        elif action == "change":
            out.append((item["collection"], item["column"], decision.get("target")))
        elif action == "drop":
            out.append((item["collection"], item["column"], None))
    return out


def _flow(entry: dict[str, Any]) -> str:
    return yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6).strip()


def write_confirmed(cfg: CustomerConfig, fields: list[dict[str, Any]], *, reviewer: str, how: str) -> tuple[Path, str]:
    """confirmed.yml with the review metadata. When the entries did not change, only the metadata
    lines are rewritten, so the file's comments and layout stay as they were."""
    path = confirmed_path(cfg)
    content_hash = fields_hash(fields)
    meta = {"reviewer": reviewer, "confirmed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "confirmed_with": how, "content_hash": content_hash}
    meta_text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10**6)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    old_fields = (yaml.safe_load(old) or {}).get("fields") if old else None
    if old and old_fields is not None and fields_hash(old_fields) == content_hash:
        lines = [ln for ln in old.splitlines(keepends=True) if not re.match(rf"^({'|'.join(META_KEYS)}):", ln)]
        text = "".join(lines)
        if re.search(r"(?m)^status:.*$", text):
            text = re.sub(r"(?m)^status:.*\n", lambda _: "status: confirmed\n" + meta_text, text, count=1)
        else:
            text = re.sub(r"(?m)^fields:", lambda _: "status: confirmed\n" + meta_text + "fields:", text, count=1)
    else:
        text = (CONFIRMED_HEADER.format(customer=cfg.slug, how=how) + "version: 1\nstatus: confirmed\n" + meta_text
                + "fields:\n" + "".join(f"  - {_flow(e)}\n" for e in fields))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, content_hash


def write_aliases(cfg: CustomerConfig, decided: list[tuple[str, str, Any]]) -> Path | None:
    """The layer-1 decisions as a header alias file (null -> `_extra`: known, kept, not migrated)."""
    if not decided:
        return None
    stems = {}
    for name, spec in load_aliases().files.items():
        if not spec.nest and "*" not in name:
            stems.setdefault(spec.collection.name, name)
    files: dict[str, Any] = {}
    for coll, header, target in decided:
        files.setdefault(stems.get(coll, coll), {"columns": {}})["columns"][header] = target or "_extra"
    path = cfg.mapping_dir / ALIASES
    path.write_text("# Header aliases confirmed for this customer's export (vp2pd confirm-map); point\n"
                    "# visual_practice.csv_aliases in customer.yml at this file and extract again.\n"
                    + yaml.safe_dump({"files": files}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def confirm(cfg: CustomerConfig, *, accept_above: float | None = None, accept_all: bool = False,
            reviewer: str, how: str | None = None) -> ConfirmResult:
    """Apply a flag's decisions to the proposal and, if nothing is left to decide, confirm the map."""
    data = load_proposed(cfg)
    if accept_all or accept_above is not None:
        decide(data, accept_above=accept_above, accept_all=accept_all, by=reviewer)
    save_proposed(cfg, data)
    result = ConfirmResult()
    for item in items(data):
        action = (item.get("decision") or {}).get("action")
        (result.accepted if action in ("accept", "change") else result.dropped if action == "drop"
         else result.needs_review).append(describe(item))
    if result.needs_review:
        return result
    how = how or ("--accept-all" if accept_all else f"--accept-above {accept_above}" if accept_above is not None
                  else "review")
    fields = confirmed_fields(data)
    if not fields:
        raise ValueError("every field entry was dropped: a confirmed map needs at least one")
    result.confirmed, result.content_hash = write_confirmed(cfg, fields, reviewer=reviewer, how=how)
    result.aliases = write_aliases(cfg, column_targets(data))
    return result

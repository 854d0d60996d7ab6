"""`vp2pd propose-map`: profile the customer's raw layer and write `mapping/proposed.yml`.

Two layers, each entry with a target, a confidence in [0, 1], the reason and the alternatives:
`columns` (layer 1: source columns the alias table does not know -> contract field, or null =
not migrated) and `fields` (layer 2: contract field -> Pipedrive field, the entries a confirmed
map is made of). Sample values of PHI columns (health numbers, version codes, birth dates,
claims, clinical notes) are masked to their shape. The full profiles go to
`build/<slug>/mapping_profiles.json` (generated, not configuration).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml

from extractors.visual_practice.export.aliases import load_aliases
from vp2pd.config import CustomerConfig
from vp2pd.mapping.embed import default_semantic
from vp2pd.mapping.llm import LLMReranker, Pick, reranker_from_env
from vp2pd.mapping.fieldmap import (FieldProposal, check_rule, is_phi, mask, not_migrated,
                                    propose_custom_property, template)
from vp2pd.mapping.profile import ColumnProfile, profile_values
from vp2pd.mapping.score import ColumnProposal, Semantic, propose_file
from vp2pd.mapping.source import RawColumn, raw_columns
from vp2pd.warehouse import connect

PROPOSED = "proposed.yml"
OBJECT_OF = {"clients": "person", "organizations": "organization", "appointments": "activity",
             "services": "product", "service_contracts": "deal", "custom_object_records": "project"}
HEADER = """\
# Proposed field map for {customer}, written by `vp2pd propose-map` at {at}. Review it in
# notebooks/03_review_mapping.ipynb or confirm it headless with `vp2pd confirm-map`; nothing is
# loaded before `mapping/confirmed.yml` exists.
# columns: layer 1, source columns the alias table does not know -> contract field (null: kept in
#          _extra, not migrated), in alias-table text.
# fields:  layer 2, contract field -> Pipedrive field: the entries of confirmed.yml.
# Each entry: confidence in [0,1], reason, alternatives with scores, samples (PHI masked), and
# `decision` once someone (or confirm-map) decided it.
"""


def _samples(collection: str, column: str, prof: ColumnProfile, phi: bool) -> list[str]:
    return [mask(v) for v in prof.samples] if phi else list(prof.samples)


def _profile_summary(prof: ColumnProfile) -> dict[str, Any]:
    found = {k: v for k, v in prof.detectors.items() if v >= 0.5 and k not in ("unique", "enum")}
    out: dict[str, Any] = {"type": prof.inferred_type, "null_rate": round(prof.null_rate, 3), "distinct": prof.distinct}
    if prof.date_format:
        out["date_format"] = prof.date_format
    if found:
        out["patterns"] = found
    return out


@dataclass
class Proposal:
    customer: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    not_migrated: list[dict[str, str]] = field(default_factory=list)
    template: str = ""
    profiles: dict[tuple[str, str], ColumnProfile] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # e.g. an LLM re-rank that failed (the scorer's choice stood)
    signals: dict[str, str] = field(default_factory=dict)  # what proposed layer 1, for the reviewer


def _layer1(coll: str, extra: list[RawColumn], profiles: dict[tuple[str, str], ColumnProfile],
            semantic: Semantic | None, llm: LLMReranker | None) -> list[dict[str, Any]]:
    columns = {c.name: profiles[(coll, c.name)] for c in extra}
    filled = frozenset(name for (c, name), p in profiles.items() if c == coll and p.filled and (c, name) not in
                       {(coll, e.name) for e in extra})
    proposals = propose_file(columns, coll, semantic, filled)
    picks = llm.rerank(coll, proposals, [name for c, name in profiles if c == coll]) if llm else {}
    return [_column_entry(coll, prop, picks.get(prop.column), llm.model if llm else "") for prop in proposals]


def _column_entry(coll: str, prop: ColumnProposal, pick: Pick | None = None, model: str = "") -> dict[str, Any]:
    chosen = prop.chosen
    target = chosen.target.as_yaml() if chosen and chosen.target else None
    phi = is_phi(coll, chosen.target.name if chosen and chosen.target else "") or \
        prop.profile.share("health_number") >= 0.5
    alternatives = [{"target": s.target.as_yaml() if s.target else None, "score": round(s.score, 3)}
                    for s in prop.ranked if s is not chosen][:3]
    reason = chosen.reason(prop.column, prop.profile) if chosen else "no candidate"
    entry = {"collection": coll, "column": prop.column, "target": target, "confidence": prop.confidence,
             "reason": f"{reason}; {pick.note(model)}" if pick else reason,
             "alternatives": alternatives, "profile": _profile_summary(prop.profile), "phi": phi,
             "samples": _samples(coll, prop.column, prop.profile, phi)}
    if pick:
        entry["llm"] = {"model": model, "choice": pick.llm, "applied": pick.applied}
    return entry


def _field_entry(fp: FieldProposal, profiles: dict[tuple[str, str], ColumnProfile]) -> dict[str, Any]:
    coll = str(fp.entry["collection"])
    prof = profiles.get((coll, fp.column)) if fp.column else None
    phi = is_phi(coll, fp.column or str(fp.entry["field"]))
    out = {"entry": fp.entry, "confidence": fp.confidence, "reason": fp.reason, "origin": fp.origin}
    if fp.alternatives:
        out["alternatives"] = fp.alternatives
    if prof is not None:
        out["samples"] = _samples(coll, fp.column or "", prof, phi)
    return out


def propose(cfg: CustomerConfig, semantic: Semantic | None | Literal["installed"] = "installed",
            llm: LLMReranker | None | Literal["env"] = "env") -> Proposal:
    """Both layers for one customer, from its warehouse's raw layer.

    `semantic`: "installed" uses the local embedding model when the `embeddings` extra is installed
    (`embed.default_semantic()`), None turns the signal off. `llm`: "env" re-ranks ambiguous
    columns through the endpoint VP2PD_LLM_* name, if they do (`llm.py`), None turns it off.
    """
    if semantic == "installed":
        semantic = default_semantic()
    own_llm = llm == "env"
    if llm == "env":
        llm = reranker_from_env(cfg.rules.llm_sees_values)
    try:
        result = _propose(cfg, semantic, llm)
        result.signals = _signals(semantic, llm)
        return result
    finally:
        if own_llm and llm:
            llm.close()


def _signals(semantic: Semantic | None, llm: LLMReranker | None) -> dict[str, str]:
    seen = "headers, profiles and sample values" if llm and llm.allow_values else "headers and profiles"
    return {"scorer": "lexicon + value profiles",
            "semantic_model": str(getattr(semantic, "name", "custom")) if semantic else
            "off (pip install -e '.[embeddings]' for the local model)",
            "llm_rerank": f"{llm.model} (saw {seen})" if llm else "off (VP2PD_LLM_BASE_URL / VP2PD_LLM_MODEL unset)"}


def _propose(cfg: CustomerConfig, semantic: Semantic | None, llm: LLMReranker | None) -> Proposal:
    warehouse = cfg.warehouse_path
    if not Path(warehouse).is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run `vp2pd extract --customer {cfg.slug}` first")
    alias_override = cfg.resolve(cfg.visual_practice.csv_aliases) if cfg.visual_practice.csv_aliases else None
    con = connect(warehouse, read_only=True)
    try:
        raw = raw_columns(con, load_aliases(alias_override))
    finally:
        con.close()
    profiles = {(c.collection, c.name): profile_values(c.name, c.values) for c in raw}
    result = Proposal(cfg.slug, profiles=profiles)
    by_coll: dict[str, list[RawColumn]] = {}
    for c in raw:
        if c.origin == "extra":
            by_coll.setdefault(c.collection, []).append(c)
    for coll, extra in by_coll.items():
        result.columns += _layer1(coll, extra, profiles, semantic, llm)
    if llm:
        result.warnings += llm.warnings
    entries, result.template = template(cfg.mapping_dir)
    present = {c.collection for c in raw}
    proposals = [check_rule(e, profiles, present) for e in entries]
    mapped = {(str(e["collection"]), str(e["field"])) for e in entries}
    for c in raw:
        if c.origin == "custom_property" and (c.collection, c.name) not in mapped:
            proposals.append(propose_custom_property(c.collection, c.name, profiles[(c.collection, c.name)],
                                                     OBJECT_OF.get(c.collection, "person")))
    result.fields = [_field_entry(fp, profiles) for fp in proposals]
    result.not_migrated = not_migrated(profiles, [fp.entry for fp in proposals])
    return result


def proposed_path(cfg: CustomerConfig) -> Path:
    return cfg.mapping_dir / PROPOSED


def write_proposed(cfg: CustomerConfig, proposal: Proposal) -> Path:
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    body = {"version": 1, "customer": proposal.customer, "generated_at": at, "template": proposal.template,
            "signals": proposal.signals, "columns": proposal.columns, "fields": proposal.fields,
            "not_migrated": proposal.not_migrated}
    path = proposed_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER.format(customer=proposal.customer, at=at) + yaml.safe_dump(
        body, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(text, encoding="utf-8")
    profiles_path = cfg.customer_build_dir / "mapping_profiles.json"
    profiles_path.parent.mkdir(parents=True, exist_ok=True)
    profiles_path.write_text(json.dumps(
        [{"collection": c, "column": n, **_profile_summary(p),
          "top_values": [[mask(v) if is_phi(c, n) else v, k] for v, k in p.top_values]}
         for (c, n), p in sorted(proposal.profiles.items())], ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def load_proposed(cfg: CustomerConfig) -> dict[str, Any]:
    path = proposed_path(cfg)
    if not path.is_file():
        raise FileNotFoundError(f"no proposal at {path}: run `vp2pd propose-map --customer {cfg.slug}` first")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def save_proposed(cfg: CustomerConfig, data: dict[str, Any]) -> Path:
    """The proposal with its decisions, written back (the header comment kept)."""
    path = proposed_path(cfg)
    text = HEADER.format(customer=data.get("customer", cfg.slug), at=data.get("generated_at", "")) + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, width=120)
    path.write_text(text, encoding="utf-8")
    return path

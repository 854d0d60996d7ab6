"""`vp2pd transform`: build the Pipedrive-shaped marts with dbt for one customer.

The customer's rules (customer.yml `rules:`), confirmed field map (`mapping/confirmed.yml`) and
pipeline worksheet (`pipeline.yml`) reach the models as dbt vars, so a mapping change never needs
a SQL edit. dbt runs as a child process against the customer's warehouse, with its target
and logs under `build/<slug>/dbt/`; the result counts the rows of every mart and names every failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vp2pd.config import REPO_ROOT, ConfigError, CustomerConfig
from vp2pd.mapping.gate import map_hash, record_build
from vp2pd.warehouse import connect

MART_SCHEMA = "pipedrive"
MARTS = (
    "pipedrive__organizations", "pipedrive__organization_relationships", "pipedrive__persons",
    "pipedrive__products", "pipedrive__deals", "pipedrive__deal_products", "pipedrive__activities",
    "pipedrive__notes", "pipedrive__files", "pipedrive__projects", "pipedrive__custom_fields",
    "pipedrive__owner_candidates", "migration__skipped",
)
FIELD_KEYS = {"collection", "field", "object", "target", "custom_field", "type", "options", "options_from", "rule"}
OBJECTS = {"person", "organization", "deal", "activity", "product", "note", "file", "project"}
DEAL_STATUSES = {"open", "won", "lost"}


class TransformFailed(RuntimeError):
    pass


@dataclass
class TransformResult:
    warehouse: Path
    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # "<node>: <message>"
    skipped_by_reason: dict[str, int] = field(default_factory=dict)


def load_field_map(path: Path) -> list[dict[str, Any]]:
    """The confirmed map's entries, checked: every entry names its source, object and one target."""
    if not path.is_file():
        raise ConfigError(f"no confirmed field map at {path}; confirm a mapping first (see customers/demo/mapping/)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("fields")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: `fields` must be a non-empty list of field entries")
    for i, entry in enumerate(entries, 1):
        where = f"{path} entry {i} ({entry.get('collection')}.{entry.get('field')})"
        unknown = set(entry) - FIELD_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        if not entry.get("collection") or not entry.get("field"):
            raise ConfigError(f"{where}: collection and field are required")
        if entry.get("object") not in OBJECTS:
            raise ConfigError(f"{where}: object must be one of {', '.join(sorted(OBJECTS))}")
        if bool(entry.get("target")) == bool(entry.get("custom_field")):
            raise ConfigError(f"{where}: give either target (a standard field) or custom_field")
        if entry.get("custom_field") and not entry.get("type"):
            raise ConfigError(f"{where}: custom field {entry['custom_field']!r} needs a type")
    return entries


def load_pipeline(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"no pipeline worksheet at {path} (see customers/demo/pipeline.yml)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    statuses = data.get("contract_statuses") or {}
    for status in ("active", "completed", "cancelled"):
        row = statuses.get(status)
        if not row or row.get("status") not in DEAL_STATUSES or not row.get("stage"):
            raise ConfigError(f"{path}: contract_statuses.{status} needs a deal status (open/won/lost) and a stage")
        if row["stage"] not in data.get("stages", []):
            raise ConfigError(f"{path}: stage {row['stage']!r} of {status} is not among stages")
    if not data.get("pipeline"):
        raise ConfigError(f"{path}: pipeline (its name) is required")
    return data


def dbt_vars(cfg: CustomerConfig) -> dict[str, Any]:
    """Everything customer-specific the models read."""
    rules = cfg.rules
    return {
        "practice_name": cfg.name,
        "timezone": cfg.timezone,
        "currency": cfg.currency,
        "status_map": dict(rules.status_map),
        "keep_appointments": list(rules.keep_appointments),
        "migrate_claims": rules.claims.migrate,
        "claim_fields": list(rules.claims.fields),
        "invoice_notes": rules.invoice_notes,
        "soap_notes": rules.soap_notes,
        "call_max_minutes": rules.call_max_minutes,
        "note_max_bytes": rules.note_max_bytes,
        "file_size_limit_bytes": cfg.documents.size_limit_mb * 1024 * 1024,
        "field_map": load_field_map(cfg.mapping_dir / "confirmed.yml"),
        "pipeline": load_pipeline(cfg.pipeline_path),
    }


def dbt_args(command: str, cfg: CustomerConfig, *extra: str) -> list[str]:
    return [command, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
            "--target-path", str(target_dir(cfg)),
            "--log-path", str(target_dir(cfg).parent / "logs"),
            "--vars", yaml.safe_dump(dbt_vars(cfg), default_flow_style=True, width=10**9), *extra]


def run_transform(cfg: CustomerConfig, *, select: str | None = None, exclude: str | None = None) -> TransformResult:
    """`dbt build` (models, data tests, unit tests) on the customer's warehouse.

    dbt runs as a child process: dbt-duckdb keeps its DuckDB connection open for the life of the
    process, which would lock the warehouse against the reads (and the loader) that follow.
    """
    warehouse = cfg.warehouse_path if cfg.warehouse_path.is_absolute() else Path.cwd() / cfg.warehouse_path
    if not warehouse.is_file():
        raise TransformFailed(f"no warehouse at {warehouse}: run `vp2pd extract --customer {cfg.slug}` first")
    args = dbt_args("build", cfg, "--quiet", *(["--select", select] if select else []),
                    *(["--exclude", exclude] if exclude else []))
    env = {**os.environ, "VP2PD_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    proc = subprocess.run([str(dbt), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    failures = _failures(target_dir(cfg) / "run_results.json")
    if proc.returncode != 0 and not failures:
        failures.append(f"dbt exited {proc.returncode}: {(proc.stdout + proc.stderr).strip()[-2000:]}")
    result = TransformResult(warehouse, success=proc.returncode == 0 and not failures, failures=failures)
    if result.success and not select:  # the load's gate (vp2pd.mapping.gate) checks the marts reflect this map
        record_build(cfg, map_hash(cfg))
    con = connect(warehouse, read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [MART_SCHEMA]).fetchall()}
        for mart in MARTS:
            if mart in present:
                result.counts[mart] = con.execute(f'SELECT count(*) FROM {MART_SCHEMA}."{mart}"').fetchone()[0]
        if "migration__skipped" in present:
            result.skipped_by_reason = dict(con.execute(
                f"SELECT reason, count(*) FROM {MART_SCHEMA}.migration__skipped GROUP BY 1 ORDER BY 1").fetchall())
    finally:
        con.close()
    return result


def target_dir(cfg: CustomerConfig) -> Path:
    """dbt's target (compiled SQL, run_results.json) beside the customer's other build output."""
    root = cfg.customer_build_dir if cfg.customer_build_dir.is_absolute() else REPO_ROOT / cfg.customer_build_dir
    return root / "dbt" / "target"


def _failures(run_results: Path) -> list[str]:
    """Every node that errored or failed, named, with dbt's message."""
    if not run_results.is_file():
        return []
    data = json.loads(run_results.read_text(encoding="utf-8"))
    return [f"{r['unique_id']}: {(r.get('message') or r['status']).strip()}"
            for r in data.get("results", []) if r.get("status") in ("error", "fail", "runtime error")]

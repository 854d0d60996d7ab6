"""The confirmation gate: no record moves before a person (or an explicit flag) confirmed the map,
and only from marts built from exactly that map.

The content hash is over the map's field entries only (canonical JSON of the parsed YAML: key
order, quoting, flow or block style and comments do not change it; any change of an entry does).
`confirm-map` and the review notebook write it into `confirmed.yml` beside the reviewer and time;
`vp2pd transform` records the hash it built from (`build/<slug>/mapping_built.json`); the load
calls `require_confirmed` before its first write.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from vp2pd.config import REPO_ROOT, CustomerConfig

CONFIRMED = "confirmed.yml"
BUILT = "mapping_built.json"


class MapNotConfirmed(RuntimeError):
    """The load may not start: the message says which step to run."""


def fields_hash(fields: list[dict[str, Any]]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def confirmed_path(cfg: CustomerConfig) -> Path:
    return cfg.mapping_dir / CONFIRMED


def read_confirmed(cfg: CustomerConfig) -> dict[str, Any]:
    path = confirmed_path(cfg)
    if not path.is_file():
        raise MapNotConfirmed(
            f"no confirmed field map at {path}: run `vp2pd propose-map --customer {cfg.slug}`, then review it in "
            f"notebooks/03_review_mapping.ipynb or run `vp2pd confirm-map --customer {cfg.slug}`")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list):
        raise MapNotConfirmed(f"{path} has no `fields` list: run `vp2pd confirm-map --customer {cfg.slug}`")
    return data


def map_hash(cfg: CustomerConfig) -> str:
    """The content hash of the customer's confirmed map as it is on disk now."""
    return fields_hash(read_confirmed(cfg)["fields"])


def built_path(cfg: CustomerConfig) -> Path:
    """Beside the transform's dbt target (a relative build folder is under the repository, as there)."""
    root = cfg.customer_build_dir if cfg.customer_build_dir.is_absolute() else REPO_ROOT / cfg.customer_build_dir
    return root / BUILT


def record_build(cfg: CustomerConfig, content_hash: str) -> Path:
    """Called by the transform after a successful build: the marts now reflect this map."""
    path = built_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"customer": cfg.slug, "map_hash": content_hash,
                                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n",
                    encoding="utf-8")
    return path


def require_confirmed(cfg: CustomerConfig) -> str:
    """The confirmed map's hash, or MapNotConfirmed naming the step to run. Call before any write."""
    data = read_confirmed(cfg)
    path = confirmed_path(cfg)
    current = fields_hash(data["fields"])
    if data.get("status") != "confirmed" or not data.get("content_hash") or not data.get("reviewer"):
        raise MapNotConfirmed(
            f"{path} was not confirmed by a review (no reviewer and content hash): review it in "
            f"notebooks/03_review_mapping.ipynb or run `vp2pd confirm-map --customer {cfg.slug} --reviewer NAME`")
    if data["content_hash"] != current:
        raise MapNotConfirmed(
            f"{path} was edited after it was confirmed (confirmed {data['content_hash'][:19]}, now {current[:19]}): "
            f"confirm it again with `vp2pd confirm-map --customer {cfg.slug}` (or the review notebook), then "
            f"`vp2pd transform --customer {cfg.slug}`")
    built = built_path(cfg)
    if not built.is_file():
        raise MapNotConfirmed(f"the marts were never built from the confirmed map: run `vp2pd transform --customer "
                              f"{cfg.slug}`")
    built_hash = json.loads(built.read_text(encoding="utf-8")).get("map_hash")
    if built_hash != current:
        raise MapNotConfirmed(
            f"the marts were built from another map ({str(built_hash)[:19]}, confirmed map {current[:19]}): run "
            f"`vp2pd transform --customer {cfg.slug}` to rebuild them from the confirmed map")
    return current

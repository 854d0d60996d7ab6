"""The review of a proposal (notebooks/03_review_mapping.ipynb): decisions by a person, then save.

`Review` holds the proposal and its decisions; the notebook shows `table()` (lowest confidence
first, "needs review" filter) and `widget()` (a dropdown per entry to accept, change or drop it,
pick-list options and a note), and `save(reviewer)` writes confirmed.yml through the same path as
`vp2pd confirm-map` (vp2pd/mapping/confirm.py), with the reviewer, time and content hash.
Everything the widgets do goes through the methods, so a runbook can do it headless too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from vp2pd.config import REPO_ROOT, CustomerConfig, load_customer
from vp2pd.mapping.confirm import ConfirmResult, confirm, decide, describe
from vp2pd.mapping.propose import load_proposed, propose, proposed_path, save_proposed, write_proposed

NEEDS_REVIEW_BELOW = 0.9
ACCEPT, DROP = "accept", "drop"


@dataclass(frozen=True)
class Row:
    key: str  # "columns/3", "fields/12"
    layer: int
    what: str
    confidence: float
    decision: str  # accept | change | drop | "" (undecided)
    reason: str
    samples: str

    @property
    def needs_review(self) -> bool:
        return not self.decision


def _target_text(target: Any) -> str:
    return " + ".join(target) if isinstance(target, list) else (target or "(not migrated)")


class Review:
    def __init__(self, cfg: CustomerConfig, data: dict[str, Any]) -> None:
        self.cfg = cfg
        self.data = data
        self.flags: list[str] = []  # bulk acceptances used, recorded in confirmed.yml

    @classmethod
    def load(cls, customer: str, *, refresh: bool = False) -> "Review":
        """The customer's proposal (made first when there is none, or when `refresh`)."""
        cfg = load_customer(customer)
        if not cfg.build_dir.is_absolute():  # a notebook runs in notebooks/; the build folder is the repo's
            cfg = cfg.model_copy(update={"build_dir": REPO_ROOT / cfg.build_dir})
        if refresh or not proposed_path(cfg).is_file():
            write_proposed(cfg, propose(cfg))
        return cls(cfg, load_proposed(cfg))

    # what there is to review
    def item(self, key: str) -> dict[str, Any]:
        section, index = key.split("/")
        return self.data[section][int(index)]

    def rows(self, needs_review_only: bool = False) -> list[Row]:
        out = []
        for section, layer in (("columns", 1), ("fields", 2)):
            for i, item in enumerate(self.data.get(section) or []):
                row = Row(f"{section}/{i}", layer, describe(item), float(item.get("confidence") or 0),
                          (item.get("decision") or {}).get("action", ""), item.get("reason", ""),
                          ", ".join(map(str, item.get("samples") or [])))
                if not needs_review_only or row.needs_review:
                    out.append(row)
        return sorted(out, key=lambda r: (r.confidence, r.key))

    def table(self, needs_review_only: bool = False) -> Any:
        """The rows as a pandas DataFrame, lowest confidence first."""
        import pandas as pd

        rows = self.rows(needs_review_only)
        return pd.DataFrame([{"layer": r.layer, "proposal": r.what, "confidence": r.confidence,
                              "decision": r.decision or "needs review", "samples": r.samples, "reason": r.reason}
                             for r in rows], index=[r.key for r in rows])

    @property
    def signals(self) -> dict[str, str]:
        """What proposed the map: the scorer, and the local model and LLM re-rank when they were on."""
        return dict(self.data.get("signals") or {})

    def summary(self) -> dict[str, int]:
        rows = self.rows()
        return {"entries": len(rows), "decided": sum(not r.needs_review for r in rows),
                "needs_review": sum(r.needs_review for r in rows),
                f"below_{NEEDS_REVIEW_BELOW}": sum(r.confidence < NEEDS_REVIEW_BELOW for r in rows)}

    def choices(self, key: str) -> list[str]:
        """What the dropdown offers: accept, each alternative, drop."""
        item = self.item(key)
        if key.startswith("columns/"):
            alts = [_target_text(a["target"]) for a in item.get("alternatives") or []]
            return [ACCEPT, *[f"change to {a}" for a in alts if a != "(not migrated)"], DROP]
        alts = [a["type"] for a in item.get("alternatives") or [] if "type" in a]
        return [ACCEPT, *[f"change type to {t}" for t in alts], DROP]

    # decisions
    def _decide(self, key: str, action: str, **extra: Any) -> None:
        self.item(key)["decision"] = {"action": action, "by": "review", "at": _now(), "how": "review", **extra}

    def accept(self, key: str) -> None:
        self._decide(key, ACCEPT)

    def drop(self, key: str) -> None:
        self._decide(key, DROP)

    def change(self, key: str, *, target: Any = None, **entry: Any) -> None:
        """Layer 1: another target. Layer 2: the entry with some keys changed (type, custom_field, ...)."""
        item = self.item(key)
        if key.startswith("columns/"):
            self._decide(key, "change", target=target)
        else:
            base = (item.get("decision") or {}).get("entry") or item["entry"]
            self._decide(key, "change", entry={**base, **entry})

    def choose(self, key: str, choice: str) -> None:
        """Apply a dropdown choice."""
        if choice == ACCEPT:
            self.accept(key)
        elif choice == DROP:
            self.drop(key)
        elif choice.startswith("change type to "):
            self.change(key, type=choice.removeprefix("change type to "))
        elif choice.startswith("change to "):
            target = choice.removeprefix("change to ")
            self.change(key, target=target.split(" + ") if " + " in target else target)
        else:
            raise ValueError(f"{key}: unknown choice {choice!r} (one of {', '.join(self.choices(key))})")

    def set_options(self, key: str, options: list[str]) -> None:
        """A pick-list's options, edited (empty strings dropped, order kept)."""
        self.change(key, options=[o.strip() for o in options if o.strip()])

    def note(self, key: str, text: str) -> None:
        self.item(key)["note"] = text

    def accept_above(self, threshold: float, by: str = "review") -> None:
        decide(self.data, accept_above=threshold, accept_all=False, by=by)
        self.flags.append(f"--accept-above {threshold}")

    def accept_all(self, by: str = "review") -> None:
        decide(self.data, accept_above=None, accept_all=True, by=by)
        self.flags.append("--accept-all")

    def save(self, reviewer: str) -> ConfirmResult:
        """Decisions back into proposed.yml; confirmed.yml once every entry is decided."""
        if not reviewer.strip():
            raise ValueError("a reviewer name is required to confirm a map")
        save_proposed(self.cfg, self.data)
        how = ", ".join(["review notebook", *dict.fromkeys(self.flags)])
        result = confirm(self.cfg, reviewer=reviewer, how=how)
        self.data = load_proposed(self.cfg)
        return result

    def widget(self, needs_review_only: bool = True) -> Any:
        from vp2pd.mapping.review_widget import build

        return build(self, needs_review_only)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

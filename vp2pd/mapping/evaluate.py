"""Accuracy of the layer-1 proposal on labelled header sets (tests/fixtures/mapping/<set>/).

Each set is a folder of CSV files and a `truth.yml` naming each file's collection and the true
target of every column (alias-table text, a list, or null = not migrated). The same measurement
runs in the accuracy test and in `benchmarks/bench_mapping.py`, beside a header-only fuzzy
baseline (difflib against the target labels), so the gain of the scorer is measured, not claimed.
"""

from __future__ import annotations

import csv
import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from vp2pd.mapping import score
from vp2pd.mapping.lexicon import load_lexicon
from vp2pd.mapping.profile import ColumnProfile, profile_values
from vp2pd.mapping.score import NULL_FLOOR, Semantic, propose_file
from vp2pd.mapping.targets import candidates

Truth = tuple[str, ...] | None
# A proposer: (collection, profiled columns) -> each column's ranked target names ("" = not migrated)
Proposer = Callable[[str, dict[str, ColumnProfile]], dict[str, list[str]]]


@dataclass(frozen=True)
class LabelledFile:
    set_name: str
    path: Path
    collection: str
    truth: dict[str, Truth]


@dataclass
class Accuracy:
    columns: int = 0
    top1: int = 0
    top3: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.columns if self.columns else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.columns if self.columns else 0.0


def _truth(value: Any) -> Truth:
    if value is None:
        return None
    return tuple(map(str, value)) if isinstance(value, list) else (str(value),)


def labelled_files(root: Path) -> list[LabelledFile]:
    out = []
    for truth_path in sorted(root.glob("*/truth.yml")):
        data = yaml.safe_load(truth_path.read_text(encoding="utf-8")) or {}
        for name, spec in (data.get("files") or {}).items():
            out.append(LabelledFile(truth_path.parent.name, truth_path.parent / name, spec["collection"],
                                    {str(k): _truth(v) for k, v in (spec.get("columns") or {}).items()}))
    return out


def read_columns(path: Path) -> dict[str, list[str]]:
    """A CSV file's columns and their values (UTF-8, with or without BOM)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return {h: [r[i] if i < len(r) else "" for r in body] for i, h in enumerate(header)}


def profile_file(path: Path) -> dict[str, ColumnProfile]:
    return {name: profile_values(name, values) for name, values in read_columns(path).items()}


def scorer_proposer(coll: str, columns: dict[str, ColumnProfile],
                    semantic: Semantic | None = None) -> dict[str, list[str]]:
    """The toolkit's scorer (with the semantic signal when given): the one-to-one choice first, then
    the rest of the ranking."""
    out = {}
    for prop in propose_file(columns, coll, semantic):
        chosen = prop.chosen.target.name if prop.chosen and prop.chosen.target else ""
        rest = [s.target.name if s.target else "" for s in prop.ranked]
        out[prop.column] = [chosen, *[r for r in rest if r != chosen]]
    return out


def baseline_proposer(coll: str, columns: dict[str, ColumnProfile]) -> dict[str, list[str]]:
    """Header-only fuzzy matching: difflib ratio of the lower-cased header to each target label."""
    cands, _ = candidates(coll)
    out = {}
    for name in columns:
        scored = [(max(SequenceMatcher(None, name.casefold(), lab.casefold()).ratio() for lab in c.labels), c.name)
                  for c in cands]
        scored.append((NULL_FLOOR + 0.25, ""))  # the same kind of floor: a poor match is "not migrated"
        out[name] = [n for _, n in sorted(scored, key=lambda t: -t[0])]
    return out


def measure(files: list[LabelledFile], proposer: Proposer) -> Accuracy:
    acc = Accuracy()
    for f in files:
        ranked = proposer(f.collection, profile_file(f.path))
        for column, truth in f.truth.items():
            want = " + ".join(truth) if truth else ""
            got = ranked[column]
            acc.columns += 1
            acc.top1 += got[0] == want
            acc.top3 += want in got[:3]
            if got[0] != want:
                acc.misses.append(f"{f.set_name}/{f.path.name} {column!r}: want {want or 'null'}, got "
                                  f"{got[0] or 'null'} (then {', '.join(g or 'null' for g in got[1:3])})")
    return acc


@contextmanager
def headers_without_synonyms() -> Iterator[None]:
    """The scorer with a lexicon that knows no synonym (headers are only normalised): how it does on
    headers whose words nobody wrote into lexicon.yml, where the semantic model has to help."""
    full = load_lexicon()
    bare = dataclasses.replace(full, synonyms={}, longest=1)
    original = score.load_lexicon
    score.load_lexicon = lambda *a, **k: bare  # type: ignore[assignment]
    score._label_bags.cache_clear()
    try:
        yield
    finally:
        score.load_lexicon = original  # type: ignore[assignment]
        score._label_bags.cache_clear()

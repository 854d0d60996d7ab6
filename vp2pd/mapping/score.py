"""The explainable scorer: how well a source column fits each candidate target, and why.

score = W_HEADER x header similarity + W_VALUES x value-profile agreement. When the optional local
model is installed (`embed.py`), its semantic similarity (a calibrated cosine) stands in for the
header signal where it is higher: the header term becomes W_HEADER x max(lexicon, semantic), so the
semantic weight is W_HEADER (0.6) and it never adds to a header the lexicon already matched. That
was the best of the combinations measured (an added third term cost top-1 accuracy: see
benchmarks/bench_mapping.py). Without the model the scores are exactly the two-signal ones.
- header similarity: the header and the target's labels rewritten to canonical words by the
  lexicon, compared as weighted word sets (Dice; words that only say which file a column is in
  count a third), with a character-level fallback for typos;
- value agreement: the share of the column's values that look like what the target holds (its
  detector in `profile.py`), raised by the target's option vocabulary for pick-lists;
- "not migrated" (null) competes as a target of its own: a floor, raised when the header matches
  a label the alias table keeps in `_extra`.
Each file's columns are then assigned one-to-one, best pairs first, so "Home" and "Cell" cannot
both take the mobile phone. Every number that went in is kept in the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Callable, Sequence

from vp2pd.mapping.lexicon import Lexicon, load_lexicon
from vp2pd.mapping.profile import ColumnProfile
from vp2pd.mapping.targets import Candidate, candidates

W_HEADER, W_VALUES = 0.6, 0.4
W_SEMANTIC = W_HEADER  # the semantic signal replaces the header's when higher, never adds to it
NULL_FLOOR = 0.35  # below this nothing is proposed: the column is kept in `_extra`, not migrated
WEAK_WEIGHT = 1 / 3
# Values that look like "some words" fit many targets: they count less than an e-mail or a health
# number does, so a column no header matches is not pushed into a free text-like target.
GENERIC_KINDS = {"label": 0.6, "text": 0.6, "code": 0.6, "name_word": 0.7, "unit": 0.6, "enum": 0.8, "city": 0.8}
ALTERNATIVES = 3
Bag = dict[str, float]
# (header, its profile, the candidates) -> similarity to each candidate in [0, 1] (embed.SemanticSimilarity)
Semantic = Callable[[str, ColumnProfile, Sequence[Candidate]], list[float]]


@dataclass(frozen=True)
class Scored:
    target: Candidate | None  # None: not migrated
    score: float
    header: float
    values: float
    semantic: float | None
    matched_label: str | None

    @property
    def name(self) -> str:
        return self.target.name if self.target else "(not migrated)"

    def reason(self, column: str, profile: ColumnProfile) -> str:
        if self.target is None:
            why = f"header matches {self.matched_label!r}, kept in _extra by the alias table" if self.matched_label \
                else "no contract field fits well enough"
            return f"{why} (score {self.score:.2f})"
        parts = [f"header {column!r} ~ {self.matched_label!r} {self.header:.2f}",
                 f"values {_value_words(self.target, profile)} {self.values:.2f}"]
        if self.semantic is not None:
            parts.append(f"semantic {self.semantic:.2f}" + (" (in place of the header)"
                                                           if self.semantic > self.header else ""))
        return "; ".join(parts) + f" -> {self.score:.2f}"


@dataclass
class ColumnProposal:
    column: str
    profile: ColumnProfile
    ranked: list[Scored] = field(default_factory=list)  # best first
    chosen: Scored | None = None  # after one-to-one assignment

    @property
    def confidence(self) -> float:
        """The chosen score, less what a close runner-up takes away (a near tie is not sure)."""
        if self.chosen is None:
            return 0.0
        others = [s.score for s in self.ranked if s is not self.chosen]
        margin = self.chosen.score - max(others, default=0.0)
        return round(max(0.0, min(1.0, self.chosen.score - max(0.0, 0.1 - margin))), 3)


def _bag(phrases: tuple[tuple[str, ...], ...], lex: Lexicon) -> Bag:
    bag: Bag = {}
    for phrase in phrases:
        weight = WEAK_WEIGHT if phrase in lex.weak else 1.0
        for word in phrase:
            bag[word] = max(bag.get(word, 0.0), weight)
    return bag


def _dice(a: Bag, b: Bag) -> float:
    total = sum(a.values()) + sum(b.values())
    if not total:
        return 0.0
    shared = 0.0
    for word, weight in a.items():
        if word in b:
            shared += min(weight, b[word]) * 2
        elif len(word) >= 5:  # a typo ("Adress", "Telephon") still counts, a little less
            best = max((SequenceMatcher(None, word, w).ratio() for w in b if len(w) >= 5), default=0.0)
            if best >= 0.85:
                shared += 1.6 * min(weight, 1.0)
    return min(1.0, shared / total)


@lru_cache(maxsize=4096)
def _label_bags(label: str) -> tuple[tuple[tuple[tuple[str, ...], ...], Bag], ...]:
    lex = load_lexicon()
    return tuple((v, _bag(v, lex)) for v in lex.variants(label))


def header_similarity(header: str, labels: Sequence[str]) -> tuple[float, str | None]:
    """Best similarity of a header to any label, and that label."""
    best, best_label = 0.0, None
    for hv, hbag in _label_bags(header):
        for label in labels:
            for lv, lbag in _label_bags(label):
                sim = 1.0 if set(hv) == set(lv) else _dice(hbag, lbag)
                if sim > best:
                    best, best_label = sim, label
    return best, best_label


def value_agreement(c: Candidate, p: ColumnProfile) -> float:
    """How much the values look like what the target holds, in [0, 1]; 0.5 when there are none."""
    if not p.filled:
        return 0.5
    d = p.share
    kind = c.kind
    specific = max(d("email"), d("phone"), d("date"), d("datetime"), d("health_number"), d("postal_code"),
                   d("money"), d("url"))
    if kind == "email":
        return d("email")
    if kind == "phone":
        return max(0.0, d("phone") - 0.5 * d("health_number"))
    if kind == "health_number":
        return d("health_number")
    if kind == "version_code":
        return d("version_code") * (1 - 0.5 * d("province"))
    if kind == "postal_code":
        return d("postal_code")
    if kind == "province":
        return d("province")
    if kind == "country":
        return d("country")
    if kind == "city":
        return max(d("city"), 0.6 * d("name_word")) * (1 - d("province"))
    if kind == "street":
        return d("street")
    if kind == "unit":
        return max(d("unit"), 0.4 * (1 - specific) * (1 - d("street")))
    if kind == "date":
        return max(d("date"), 0.7 * d("datetime"))
    if kind == "datetime":
        return max(d("datetime"), 0.7 * d("date"))
    if kind == "money":
        return max(d("money"), 0.7 * d("decimal") * (1 - d("identifier")))
    if kind == "number":
        return d("decimal") * (1 - d("money") * 0.5)
    if kind == "bool":
        return d("bool")
    if kind == "url":
        return d("url")
    if kind == "identifier":
        return d("identifier") * (1 - d("phone")) * (1 - 0.5 * d("date"))
    if kind == "name_word":
        return d("name_word") * (1 - d("city")) * (1 - d("province"))
    if kind == "display_name":
        return d("display_name")
    if kind == "person":
        return max(d("display_name"), d("full_name"))
    if kind == "enum":
        fit = d("enum") * (1 - specific)
        if c.vocabulary:
            fit = max(fit * 0.6, p.vocabulary_share(c.vocabulary))
        return fit
    if kind == "text":
        return (1 - specific) * (0.5 + 0.5 * d("long_text"))
    if kind == "code":
        return d("code") * (1 - specific)
    # label: names of things (a location, a service, a referral source)
    return (1 - specific) * (1 - d("identifier")) * (1 - 0.5 * d("display_name"))


def _value_words(c: Candidate, p: ColumnProfile) -> str:
    if not p.filled:
        return "(empty column)"
    shown = {"email": "email", "phone": "phone", "health_number": "health_number", "postal_code": "postal_code",
             "date": "date", "datetime": "datetime", "money": "money", "bool": "bool", "url": "url",
             "province": "province", "country": "country", "street": "street", "identifier": "identifier",
             "display_name": "display_name", "person": "display_name", "name_word": "name_word",
             "version_code": "version_code", "city": "city"}
    detector = shown.get(c.kind)
    fmt = f" ({p.date_format})" if c.kind in ("date", "datetime") and p.date_format else ""
    if detector:
        return f"{p.share(detector):.0%} {c.kind}{fmt}"
    if c.kind == "enum" and c.vocabulary:
        return f"{p.distinct} distinct, {p.vocabulary_share(c.vocabulary):.0%} known {c.vocabulary} options"
    return f"{p.inferred_type}, {p.distinct} distinct"


def rank(column: str, profile: ColumnProfile, coll: str, semantic: Semantic | None = None) -> list[Scored]:
    """Every target of the collection (and "not migrated") scored for one column, best first."""
    cands, extra_labels = candidates(coll)
    sem = semantic(column, profile, cands) if semantic else None
    out = []
    for i, c in enumerate(cands):
        h, label = header_similarity(column, c.labels)
        v = value_agreement(c, profile) * GENERIC_KINDS.get(c.kind, 1.0)
        s = sem[i] if sem is not None else None
        total = W_HEADER * h + W_VALUES * v if s is None else W_SEMANTIC * max(h, s) + W_VALUES * v
        out.append(Scored(c, round(total, 4), round(h, 3), round(v, 3), s, label))
    h_null, label_null = header_similarity(column, extra_labels) if extra_labels else (0.0, None)
    null_score = max(NULL_FLOOR, W_HEADER * h_null + W_VALUES * 0.6 if h_null >= 0.99 else NULL_FLOOR)
    out.append(Scored(None, round(null_score, 4), round(h_null, 3), 0.0, None,
                      label_null if h_null >= 0.99 else None))
    return sorted(out, key=lambda s: -s.score)


def propose_file(columns: dict[str, ColumnProfile], coll: str, semantic: Semantic | None = None,
                 filled: frozenset[str] = frozenset()) -> list[ColumnProposal]:
    """Layer 1 for one file: each column's ranking and a one-to-one choice (best pairs first).

    `filled`: targets that already have values from columns the alias table knows; a second
    column cannot take them.
    """
    proposals = [ColumnProposal(name, prof, [s for s in rank(name, prof, coll, semantic)
                                             if not (s.target and set(s.target.target) & filled)])
                 for name, prof in columns.items()]
    pairs = sorted(((s.score, i, s) for i, p in enumerate(proposals) for s in p.ranked), key=lambda t: -t[0])
    taken: set[str] = set()
    for _, i, s in pairs:
        prop = proposals[i]
        if prop.chosen is not None:
            continue
        if s.target is not None and s.target.name in taken:
            continue
        prop.chosen = s
        if s.target is not None:
            taken.add(s.target.name)
    return proposals

"""Header words: normalising a column header and rewriting its synonyms to canonical phrases.

A header is compared as canonical *words*, not characters: "DOB", "Birth Date" and "Date de
naissance" all become `date of birth`. The synonyms live in `lexicon.yml` (English and French,
abbreviations, other systems' labels); this module only applies them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from pathlib import Path

import yaml

LEXICON_PATH = Path(__file__).with_name("lexicon.yml")
# Words that carry no meaning in a header, in either language ("Date of Birth", "No de dossier").
# ("on" is kept: it is Ontario in a province column.)
STOP_WORDS = frozenset({"of", "the", "a", "an", "de", "du", "des", "la", "le", "les", "d", "l", "en", "s", "for",
                        "in", "at", "par", "au", "aux", "et", "and", "or", "ou"})
MAX_VARIANTS = 8
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> tuple[str, ...]:
    """Header text as lower-case ASCII words: `#` reads "number", `$` "amount", camelCase splits."""
    text = _CAMEL.sub(" ", strip_accents(text))
    text = text.replace("#", " number ").replace("$", " amount ").replace("%", " percent ").replace("&", " and ")
    text = re.sub(r"(?i)\be-mail", "email", text)
    tokens = [t for t in _SPLIT.split(text.casefold()) if t]
    kept = [t for t in tokens if t not in STOP_WORDS]
    return tuple(kept or tokens)


@dataclass(frozen=True)
class Lexicon:
    # synonym words -> the canonical phrases (as words) it may stand for; longest synonyms first
    synonyms: dict[tuple[str, ...], tuple[tuple[str, ...], ...]]
    weak: frozenset[tuple[str, ...]]
    values: dict[str, frozenset[str]]
    provinces: frozenset[str]
    countries: frozenset[str]
    cities: frozenset[str]
    longest: int

    def variants(self, header: str) -> list[tuple[tuple[str, ...], ...]]:
        """The header as sequences of canonical phrases; several when a synonym is ambiguous ("State")."""
        tokens = words(header)
        slots: list[tuple[tuple[str, ...], ...]] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                chunk = tokens[i:i + size]
                if chunk in self.synonyms:
                    slots.append(self.synonyms[chunk])
                    i += size
                    break
            else:
                slots.append((tokens[i:i + 1],))
                i += 1
        out = []
        for combo in product(*slots):
            out.append(tuple(dict.fromkeys(combo)))  # a phrase said twice counts once
            if len(out) >= MAX_VARIANTS:
                break
        return out

    def in_vocabulary(self, key: str, value: str) -> bool:
        vocab = self.values.get(key)
        return bool(vocab) and " ".join(words(value)) in vocab


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for canonical, alternatives in (data.get("phrases") or {}).items():
        target = words(str(canonical))
        for phrase in [str(canonical), *map(str, alternatives or [])]:
            found = synonyms.setdefault(words(phrase), [])
            if target not in found:
                found.append(target)
    places = data.get("places") or {}

    def vocab(items: list[str] | None) -> frozenset[str]:
        return frozenset(" ".join(words(str(v))) for v in items or [])

    return Lexicon(
        synonyms={k: tuple(v) for k, v in synonyms.items()},
        weak=frozenset(words(str(w)) for w in data.get("weak") or []),
        values={str(k): vocab(v) for k, v in (data.get("values") or {}).items()},
        provinces=vocab(places.get("provinces")), countries=vocab(places.get("countries")),
        cities=vocab(places.get("cities")),
        longest=max((len(k) for k in synonyms), default=1),
    )

"""Value profiles of source columns: what a column's values look like, whatever its header says.

Each detector gives the share of a column's non-empty values that match one pattern (e-mail,
phone, Ontario health number, postal code, a date in one format, money, ...). The scorer compares
those shares with what a candidate field expects, so a column headed "Misc 3" full of e-mail
addresses still finds `emails`. Profiles look at a sample (`MAX_VALUES`) to stay fast on big tables.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from vp2pd.mapping.lexicon import Lexicon, load_lexicon, words

MAX_VALUES = 2000
DETECT_VALUES = 400  # the pattern detectors look at this many non-empty values (counts use all)
TOP_VALUES = 5
# Date formats seen in exports (VP's YYYYMMDD and MM/DD/YYYY, ISO, day-first European/Québec styles).
DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d",
                "%d %b %Y", "%b %d, %Y", "%d-%b-%Y", "%B %d, %Y")
TIME_PART = re.compile(r"^(?P<date>.+?)[ T](?P<time>\d{1,2}:\d{2}(:\d{2})?(\.\d+)?\s*([AaPp][Mm])?(Z|[+-]\d{2}:?\d{2})?)$")

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^(\+?1[\s.-]?)?(\(\d{3}\)\s?|\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}(\s*(x|ext\.?|poste)\s*\d{1,5})?$", re.I)
HEALTH_GROUPED = re.compile(r"^\d{4}[\s-]\d{3}[\s-]\d{3}([\s-]?[A-Z]{1,2})?$")
HEALTH_PLAIN = re.compile(r"^\d{10}([\s-]?[A-Z]{1,2})?$")
VERSION_CODE = re.compile(r"^[A-Z]{1,2}$")
POSTAL_CODE = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z][\s-]?\d[ABCEGHJ-NPRSTV-Z]\d$", re.I)
ZIP = re.compile(r"^\d{5}(-\d{4})?$")
MONEY = re.compile(r"^-?\(?\$?\s?-?(\d{1,3}(,\d{3})+|\d+)(\.\d{2})?\)?\s?\$?$")
MONEY_MARK = re.compile(r"\$|\.\d{2}$")
INTEGER = re.compile(r"^-?\d+$")
DECIMAL = re.compile(r"^-?\d+[.,]\d+$")
URL = re.compile(r"^(https?://|www\.)\S+$", re.I)
STREET = re.compile(r"^\d+[A-Za-z]?(-\d+)?,?\s+\S+.*$")
UNIT = re.compile(r"^(apt|apartment|unit|suite|ste|app|appartement|porte|bureau|#)\.?\s*\S+", re.I)
NAME_WORD = re.compile(r"^[A-ZÀ-Ý][A-Za-zÀ-ÿ'’.-]*( [A-ZÀ-Ý][A-Za-zÀ-ÿ'’.-]*)?$")
DISPLAY_NAME = re.compile(r"^[A-Za-zÀ-ÿ'’ .-]+,\s*[A-Za-zÀ-ÿ'’ .-]+$")
FULL_NAME = re.compile(r"^((Dr|Dre|Mr|Mrs|Ms|M|Mme)\.?\s+)?[A-ZÀ-Ý][a-zà-ÿ'’-]+(\s+[A-ZÀ-Ý]\.?)?\s+[A-ZÀ-Ý][A-Za-zà-ÿ'’-]+$")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,11}$")
BOOL_VALUES = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "1", "0", "oui", "non", "x"})


def luhn_ok(digits: str) -> bool:
    """Ontario health numbers end in a Luhn (mod 10) check digit over the other nine."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_health_number(value: str) -> bool:
    if not (HEALTH_GROUPED.match(value) or HEALTH_PLAIN.match(value)):
        return False
    return luhn_ok(re.sub(r"\D", "", value)[:10])


def _parse_date(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
        return True
    except ValueError:
        return False


# strptime is slow: a value is only parsed when it has the format's shape.
_SHAPE_PARTS = {"%Y": r"\d{4}", "%m": r"\d{1,2}", "%d": r"\d{1,2}", "%b": r"[A-Za-zéû.]{3,5}", "%B": r"[A-Za-zéû]+"}
DATE_SHAPES = {fmt: re.compile("^" + re.sub("|".join(map(re.escape, _SHAPE_PARTS)), lambda m: _SHAPE_PARTS[m[0]],
                                             re.escape(fmt).replace("\\ ", " ")) + "$") for fmt in DATE_FORMATS}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    count: int  # values looked at (non-empty and empty)
    nulls: int
    distinct: int
    top_values: tuple[tuple[str, int], ...]
    inferred_type: str  # empty | bool | integer | decimal | money | date | datetime | text
    date_format: str | None
    detectors: dict[str, float] = field(default_factory=dict)  # pattern -> share of non-empty values
    avg_length: float = 0.0
    samples: tuple[str, ...] = ()
    enum_values: tuple[str, ...] = ()  # every distinct value, kept only when there are few (pick-lists)

    @property
    def filled(self) -> int:
        return self.count - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else 1.0

    @property
    def distinct_ratio(self) -> float:
        return self.distinct / self.filled if self.filled else 0.0

    def share(self, detector: str) -> float:
        return self.detectors.get(detector, 0.0)

    def vocabulary_share(self, key: str, lexicon: Lexicon | None = None) -> float:
        """Share of the distinct values found in an enum field's vocabulary (lexicon `values`)."""
        lex = lexicon or load_lexicon()
        values = self.enum_values
        return sum(lex.in_vocabulary(key, v) for v in values) / len(values) if values else 0.0


def _best_date_format(values: list[str]) -> tuple[str | None, float]:
    best, best_share = None, 0.0
    for fmt in DATE_FORMATS:
        shaped = [v for v in values if DATE_SHAPES[fmt].match(v)]
        if len(shaped) <= best_share * len(values):
            continue
        share = sum(_parse_date(v, fmt) for v in shaped) / len(values)
        if share > best_share + 1e-9:
            best, best_share = fmt, share
    return best, best_share


def _split_datetimes(values: list[str]) -> list[str] | None:
    """The date parts when most values carry a time of day (`20261120 14:30`, ISO `...T14:30:00Z`)."""
    dates = [m["date"] for v in values if (m := TIME_PART.match(v))]
    return dates if len(dates) >= 0.8 * len(values) else None


def profile_values(name: str, raw_values: Iterable[object], lexicon: Lexicon | None = None) -> ColumnProfile:
    """Profile one column from its values (None or blank = empty)."""
    lex = lexicon or load_lexicon()
    texts = [("" if v is None else str(v)).strip() for v in raw_values][:MAX_VALUES]
    every = [t for t in texts if t]
    counts = Counter(every)
    filled = every[:DETECT_VALUES]
    n = len(filled)
    if not n:
        return ColumnProfile(name, len(texts), len(texts), 0, (), "empty", None)
    total = len(every)

    def share(pred) -> float:  # type: ignore[no-untyped-def]
        return sum(1 for v in filled if pred(v)) / n

    datetimes = _split_datetimes(filled)
    date_fmt, date_share = _best_date_format(datetimes or filled)
    lowered = [" ".join(words(v)) for v in filled]
    det = {
        "email": share(EMAIL.match),
        "phone": share(PHONE.match),
        "health_number": share(_is_health_number),
        "version_code": share(VERSION_CODE.match),
        "postal_code": share(lambda v: bool(POSTAL_CODE.match(v) or ZIP.match(v))),
        "money": share(lambda v: bool(MONEY.match(v)) and bool(MONEY_MARK.search(v))),
        "integer": share(INTEGER.match),
        "decimal": share(lambda v: bool(DECIMAL.match(v) or INTEGER.match(v))),
        "bool": share(lambda v: v.casefold() in BOOL_VALUES) if len(counts) <= 3 else 0.0,
        "url": share(URL.match),
        "street": share(STREET.match),
        "unit": share(UNIT.match),
        "name_word": share(lambda v: bool(NAME_WORD.match(v)) and len(v) > 1),
        "display_name": share(lambda v: bool(DISPLAY_NAME.match(v)) and not any(c.isdigit() for c in v)),
        "full_name": share(FULL_NAME.match),
        "code": share(CODE.match),
        "province": sum(v in lex.provinces for v in lowered) / n,
        "country": sum(v in lex.countries for v in lowered) / n,
        "city": sum(v in lex.cities for v in lowered) / n,
        "date": date_share if not datetimes else 0.0,
        "datetime": date_share if datetimes else 0.0,
        "long_text": share(lambda v: len(v) > 40 or len(v.split()) > 5),
    }
    # An identifier: digit strings (leading zeros matter), unique; a reference repeats them.
    digit_ids = share(lambda v: v.isdigit())
    det["identifier"] = digit_ids
    det["unique"] = len(counts) / total
    det["enum"] = 1.0 if len(counts) <= max(3, total // 3) and total >= 4 else 0.0
    if det["email"] or det["display_name"]:
        det["name_word"] = 0.0
    inferred = _infer_type(det)
    top = tuple(counts.most_common(TOP_VALUES))
    return ColumnProfile(
        name=name, count=len(texts), nulls=len(texts) - total, distinct=len(counts), top_values=top,
        inferred_type=inferred, date_format=date_fmt if det["date"] or det["datetime"] else None,
        detectors={k: round(v, 3) for k, v in det.items()}, avg_length=sum(map(len, filled)) / n,
        samples=tuple(dict.fromkeys(filled))[:TOP_VALUES],
        enum_values=tuple(sorted(counts)) if len(counts) <= 50 else (),
    )


def _infer_type(det: dict[str, float]) -> str:
    if det["bool"] >= 0.95:
        return "bool"
    if det["datetime"] >= 0.9:
        return "datetime"
    if det["date"] >= 0.9:
        return "date"
    if det["integer"] >= 0.95:
        return "integer"
    if det["money"] >= 0.9:
        return "money"
    if det["decimal"] >= 0.95:
        return "decimal"
    return "text"

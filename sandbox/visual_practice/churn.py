"""Records deleted and created while a client pages: why offset paging is not a snapshot.

Before a list page is computed, Churn deletes ~Poisson(churn) live records among those the client has
already paged past (positions before the page's offset in the filtered, ordered view), so every later
record moves up and the client skips as many; and inserts ~Poisson(churn) clones of random records of
the collection with fresh ids and created_at = updated_at = now, which sort last.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from sandbox.visual_practice.store import Filter, Store, iso


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means churn uses (the settings cap it at 100)."""
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass(frozen=True)
class ChurnResult:
    deleted: list[str]
    inserted: list[str]


class Churn:
    def __init__(self, store: Store, seed: int) -> None:
        self.store = store
        self.rng = random.Random(f"{seed}:churn")

    def _id_at(self, name: str, position: int, filters: Sequence[Filter], object_key: str | None) -> str | None:
        docs, _ = self.store.list(name, filters, page=position + 1, per_page=1, object_key=object_key)
        return json.loads(docs[0])["id"] if docs else None

    def before_page(self, name: str, mean: float, offset: int, filters: Sequence[Filter],
                    object_key: str | None, now: float) -> ChurnResult:
        deletes, inserts = poisson(self.rng, mean), poisson(self.rng, mean)
        at = datetime.fromtimestamp(now, tz=timezone.utc)
        deleted: list[str] = []
        if deletes and offset:
            _, total = self.store.list(name, filters, per_page=0, object_key=object_key)
            positions = self.rng.sample(range(min(offset, total)), min(deletes, offset, total))
            # Look every victim up before deleting any: each deletion shifts the positions after it.
            victims = [self._id_at(name, p, filters, object_key) for p in sorted(positions)]
            deleted = [v for v in victims if v is not None and self.store.delete(name, v, at)]
        inserted: list[str] = []
        if inserts:
            _, population = self.store.list(name, per_page=0, object_key=object_key)
            for _ in range(inserts if population else 0):
                docs, _ = self.store.list(name, page=self.rng.randrange(population) + 1, per_page=1,
                                          object_key=object_key)
                inserted.append(self.store.insert(name, _clone(docs[0], iso(at)), object_key)["id"])
        return ChurnResult(deleted, inserted)


def _clone(doc: str, now: str) -> dict[str, Any]:
    record = json.loads(doc)
    del record["id"]  # Store.insert assigns a fresh one
    record["created_at"] = record["updated_at"] = now
    return record

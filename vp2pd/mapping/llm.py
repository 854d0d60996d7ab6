"""Optional LLM re-rank of ambiguous layer-1 columns, through an OpenAI-compatible chat-completions API.

Off unless both VP2PD_LLM_BASE_URL (e.g. `http://127.0.0.1:11434/v1` for a local server) and
VP2PD_LLM_MODEL are set; VP2PD_LLM_API_KEY, when set, is sent as a bearer token and nowhere else
(not in proposed.yml, not in a log line, not in an exception we raise).
A column is ambiguous when its two best scores are within AMBIGUOUS_MARGIN (the near tie the
confidence already discounts). The model is shown the collection, the header, the other headers of
the file, the column's profile (type, null rate, distinct count, detected patterns) and the scorer's
CHOICES best targets with their labels and scores. Record values only when the customer's config
says `rules.llm_sees_values: true`, and even then a PHI column's samples are masked to their shape.
Its pick replaces the scorer's when that target is free in the file (one column per target); the
reason says what it chose and why, and the entry's `llm` says which model. Any failure (network,
HTTP status, an answer that is not a choice offered) keeps the scorer's choice with a warning; a
transport failure stops the hook for the rest of the proposal rather than waiting on every column.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import httpx

from vp2pd.mapping.fieldmap import is_phi, mask
from vp2pd.mapping.profile import ColumnProfile
from vp2pd.mapping.score import ColumnProposal, Scored

log = logging.getLogger(__name__)

AMBIGUOUS_MARGIN = 0.1
CHOICES = 3
WHY_CHARS = 200
SYSTEM = ("You map the columns of a practice-management CSV export to the fields of its data contract. "
          "Choose the option that best fits the column. Answer with JSON only: "
          '{"choice": <option number>, "why": "<one short sentence>"}.')


@dataclass(frozen=True)
class LLMEndpoint:
    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)  # never printed with the endpoint
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "LLMEndpoint | None":
        base_url, model = env.get("VP2PD_LLM_BASE_URL", "").strip(), env.get("VP2PD_LLM_MODEL", "").strip()
        if not (base_url and model):
            return None
        return cls(base_url.rstrip("/"), model, env.get("VP2PD_LLM_API_KEY") or None,
                   float(env.get("VP2PD_LLM_TIMEOUT_S") or 30.0))


@dataclass(frozen=True)
class Pick:
    column: str
    scorer: str  # the scorer's choice (target name)
    llm: str  # the model's
    applied: bool
    why: str

    def note(self, model: str) -> str:
        if self.llm == self.scorer:
            return f"LLM {model} agrees: {self.why}"
        if self.applied:
            return f"LLM {model} re-ranked: {self.llm} over {self.scorer}: {self.why}"
        return f"LLM {model} preferred {self.llm}, taken by another column: scorer's choice kept"


class LLMReranker:
    def __init__(self, endpoint: LLMEndpoint, allow_values: bool = False,
                 transport: httpx.BaseTransport | None = None, margin: float = AMBIGUOUS_MARGIN) -> None:
        self.endpoint = endpoint
        self.allow_values = allow_values
        self.margin = margin
        self.warnings: list[str] = []
        self._broken = False
        headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
        self._client = httpx.Client(base_url=endpoint.base_url, headers=headers, timeout=endpoint.timeout_s,
                                    transport=transport)

    @property
    def model(self) -> str:
        return self.endpoint.model

    def ambiguous(self, prop: ColumnProposal) -> bool:
        return len(prop.ranked) >= 2 and prop.ranked[0].score - prop.ranked[1].score < self.margin

    def _column_facts(self, coll: str, prop: ColumnProposal, options: list[Scored]) -> dict[str, Any]:
        p: ColumnProfile = prop.profile
        facts: dict[str, Any] = {"type": p.inferred_type, "null_rate": round(p.null_rate, 2), "distinct": p.distinct,
                                 "patterns": {k: v for k, v in p.detectors.items() if v >= 0.5 and k != "unique"}}
        if self.allow_values:
            phi = p.share("health_number") >= 0.5 or any(is_phi(coll, t) for s in options if s.target
                                                           for t in s.target.target)
            facts["samples"] = [mask(v) if phi else v for v in p.samples]
        return facts

    def _ask(self, coll: str, prop: ColumnProposal, options: list[Scored], headers: list[str]) -> tuple[int, str]:
        listed = [{"option": i + 1, "target": s.name if s.target else "not migrated (kept aside)",
                   "labels": list(s.target.labels) if s.target else [], "score": round(s.score, 3)}
                  for i, s in enumerate(options)]
        question = {"collection": coll, "column": prop.column, "other_columns": headers,
                    "column_profile": self._column_facts(coll, prop, options), "options": listed}
        body = {"model": self.model, "temperature": 0,
                "messages": [{"role": "system", "content": SYSTEM},
                             {"role": "user", "content": json.dumps(question, ensure_ascii=False)}]}
        response = self._client.post("/chat/completions", json=body)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        found = re.search(r"\{.*\}", content, re.S)
        answer = json.loads(found.group(0) if found else content)
        choice = int(answer["choice"])
        if not 1 <= choice <= len(options):
            raise ValueError(f"option {choice} was not offered")
        return choice - 1, " ".join(str(answer.get("why", "")).split())[:WHY_CHARS]

    def _warn(self, coll: str, column: str, exc: Exception) -> None:
        text = f"{type(exc).__name__}: {exc}"
        if self.endpoint.api_key:
            text = text.replace(self.endpoint.api_key, "***")
        message = f"LLM re-rank of {coll}.{column} failed ({text}): the scorer's choice stands"
        self.warnings.append(message)
        log.warning(message)

    def rerank(self, coll: str, proposals: list[ColumnProposal], headers: list[str] | None = None) -> dict[str, Pick]:
        """Ask about each ambiguous column of one file (`headers`: all of the file's, for context);
        apply the picks that keep targets one-to-one."""
        picks: dict[str, Pick] = {}
        headers = headers or [p.column for p in proposals]
        for prop in proposals:
            if self._broken or prop.chosen is None or not self.ambiguous(prop):
                continue
            options = [s for s in prop.ranked[:CHOICES]]
            if prop.chosen not in options:
                options.append(prop.chosen)
            try:
                index, why = self._ask(coll, prop, options, [h for h in headers if h != prop.column])
            except httpx.TransportError as exc:
                self._broken = True
                self._warn(coll, prop.column, exc)
                continue
            except (httpx.HTTPStatusError, ValueError, KeyError, IndexError, TypeError) as exc:
                self._warn(coll, prop.column, exc)
                continue
            picked = options[index]
            taken = {p.chosen.target.name for p in proposals if p is not prop and p.chosen and p.chosen.target}
            free = picked.target is None or picked.target.name not in taken
            pick = Pick(prop.column, prop.chosen.name, picked.name, free and picked is not prop.chosen, why)
            if pick.applied:
                prop.chosen = picked
            picks[prop.column] = pick
        return picks

    def close(self) -> None:
        self._client.close()


def reranker_from_env(allow_values: bool, env: Mapping[str, str] = os.environ,
                      transport: httpx.BaseTransport | None = None) -> LLMReranker | None:
    """The hook when VP2PD_LLM_BASE_URL and VP2PD_LLM_MODEL are set; None (off) otherwise."""
    endpoint = LLMEndpoint.from_env(env)
    return LLMReranker(endpoint, allow_values, transport) if endpoint else None

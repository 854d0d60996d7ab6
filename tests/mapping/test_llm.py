"""The optional LLM re-rank (vp2pd/mapping/llm.py) against a fake OpenAI-compatible endpoint
(httpx.MockTransport): off unless configured, asked only about ambiguous columns, its pick applied
one-to-one and written in the reason, values withheld unless the config allows (PHI masked even
then), the key never in proposed.yml or the logs, and any failure leaves the scorer's choice."""

from __future__ import annotations

import json
import logging
import re
from typing import Callable

import httpx
import pytest

from tests.mapping.conftest import MappingCustomer
from vp2pd.config import REPO_ROOT
from vp2pd.mapping.evaluate import profile_file, read_columns
from vp2pd.mapping.llm import LLMEndpoint, LLMReranker, reranker_from_env
from vp2pd.mapping.profile import profile_values
from vp2pd.mapping.score import propose_file

JANE = REPO_ROOT / "tests" / "fixtures" / "mapping" / "jane" / "patients.csv"
KEY = "sk-test-9f8e7d6c5b4a"
ENDPOINT = LLMEndpoint("http://llm.invalid/v1", "fake-model", KEY)
# What the fake model answers for a column: the option whose target it names.
WANTS = {"Discharged": "status", "Preferred Name": "first_name"}


class FakeLLM:
    def __init__(self, answer: Callable[[dict], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or self.pick

    @staticmethod
    def question(request: httpx.Request) -> dict:
        return json.loads(json.loads(request.content)["messages"][1]["content"])

    def pick(self, question: dict) -> httpx.Response:
        want = WANTS.get(question["column"])
        options = {o["target"]: o["option"] for o in question["options"]}
        choice = options.get(want, 1)
        content = f'```json\n{{"choice": {choice}, "why": "the header says {want or "so"}"}}\n```'
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(self.question(request))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def _jane(reranker: LLMReranker) -> tuple[dict, dict]:
    proposals = propose_file(profile_file(JANE), "clients")
    picks = reranker.rerank("clients", proposals)
    return {p.column: p for p in proposals}, picks


def test_off_unless_both_url_and_model_are_set() -> None:
    assert reranker_from_env(False, env={}) is None
    assert reranker_from_env(False, env={"VP2PD_LLM_BASE_URL": "http://x/v1"}) is None
    hook = reranker_from_env(True, env={"VP2PD_LLM_BASE_URL": "http://x/v1/", "VP2PD_LLM_MODEL": "m",
                                        "VP2PD_LLM_API_KEY": KEY})
    assert hook is not None and hook.allow_values and hook.endpoint.base_url == "http://x/v1"
    assert KEY not in repr(hook.endpoint)


def test_ambiguous_columns_are_re_ranked_one_to_one_and_the_reason_says_so() -> None:
    fake = FakeLLM()
    by_column, picks = _jane(LLMReranker(ENDPOINT, transport=fake.transport()))
    asked = [FakeLLM.question(r)["column"] for r in fake.requests]
    assert asked == ["Preferred Name", "Last Visit", "Discharged"]  # top-2 within 0.1; the rest not asked
    assert by_column["Discharged"].chosen.name == "status"  # type: ignore[union-attr]
    assert picks["Discharged"].applied and picks["Discharged"].scorer == "(not migrated)"
    assert picks["Discharged"].note("fake-model") == \
        "LLM fake-model re-ranked: status over (not migrated): the header says status"
    # first_name is the "First Name" column's: the pick is recorded but not applied
    assert by_column["Preferred Name"].chosen.target is None  # type: ignore[union-attr]
    assert not picks["Preferred Name"].applied and "taken by another column" in picks["Preferred Name"].note("m")
    assert by_column["First Name"].chosen.name == "first_name"  # type: ignore[union-attr]
    body = json.loads(fake.requests[0].content)
    assert body["model"] == "fake-model" and body["temperature"] == 0
    assert fake.requests[0].url == "http://llm.invalid/v1/chat/completions"
    assert fake.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_no_value_is_sent_unless_the_config_allows() -> None:
    fake = FakeLLM()
    _jane(LLMReranker(ENDPOINT, transport=fake.transport()))
    sent = " ".join(r.content.decode() for r in fake.requests)
    values = {v for vs in read_columns(JANE).values() for v in vs if re.search(r"[\d@]", v)}
    assert values and not any(v in sent for v in values)
    assert all("samples" not in FakeLLM.question(r)["column_profile"] for r in fake.requests)


def test_allowed_values_are_sent_with_phi_masked() -> None:
    fake = FakeLLM()
    health = ["9876543217", "1234-567-897", "2345-678-904", "1234-567-897"]
    columns = {"Card": profile_values("Card", health),
               "Found us via": profile_values("Found us via", ["Google", "Friend"])}
    proposals = propose_file(columns, "clients")
    LLMReranker(ENDPOINT, allow_values=True, transport=fake.transport(), margin=1.0).rerank("clients", proposals)
    samples = {FakeLLM.question(r)["column"]: FakeLLM.question(r)["column_profile"]["samples"] for r in fake.requests}
    assert samples["Found us via"] == ["Google", "Friend"]
    assert samples["Card"] and all(set(s) <= {"•", "-"} for s in samples["Card"])


@pytest.mark.parametrize("answer", [
    lambda q: httpx.Response(500, json={"error": "overloaded"}),
    lambda q: httpx.Response(200, json={"choices": [{"message": {"content": "I think status."}}]}),
    lambda q: httpx.Response(200, json={"choices": [{"message": {"content": '{"choice": 9}'}}]}),
], ids=["http-500", "not-json", "not-offered"])
def test_a_bad_answer_keeps_the_scorers_choice_with_a_warning(answer: Callable[[dict], httpx.Response],
                                                               caplog: pytest.LogCaptureFixture) -> None:
    plain = {p.column: p.chosen.name for p in propose_file(profile_file(JANE), "clients")}  # type: ignore[union-attr]
    fake = FakeLLM(answer)
    reranker = LLMReranker(ENDPOINT, transport=fake.transport())
    with caplog.at_level(logging.WARNING, logger="vp2pd.mapping.llm"):
        by_column, picks = _jane(reranker)
    assert picks == {} and {c: p.chosen.name for c, p in by_column.items()} == plain  # type: ignore[union-attr]
    assert len(fake.requests) == 3 and len(reranker.warnings) == 3  # each ambiguous column tried
    assert "the scorer's choice stands" in caplog.text and KEY not in caplog.text


def test_an_unreachable_endpoint_is_tried_once(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused (key {KEY})", request=request)

    reranker = LLMReranker(ENDPOINT, transport=httpx.MockTransport(refuse))
    with caplog.at_level(logging.WARNING, logger="vp2pd.mapping.llm"):
        by_column, picks = _jane(reranker)
    assert picks == {} and by_column["Discharged"].chosen.target is None  # type: ignore[union-attr]
    assert len(reranker.warnings) == 1 and "ConnectError" in reranker.warnings[0]
    assert KEY not in caplog.text and "***" in caplog.text


def test_propose_records_the_pick_and_never_writes_the_key(mapping_customer: MappingCustomer,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    from vp2pd.mapping.propose import propose, write_proposed

    for name in ("VP2PD_LLM_BASE_URL", "VP2PD_LLM_MODEL", "VP2PD_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    cfg = mapping_customer.cfg()
    plain = propose(cfg, semantic=None)  # llm="env" and nothing configured: off
    assert plain.columns and not any("llm" in c or "LLM" in c["reason"] for c in plain.columns)
    assert plain.signals["llm_rerank"].startswith("off")
    monkeypatch.setenv("VP2PD_LLM_BASE_URL", "http://llm.invalid/v1")
    monkeypatch.setenv("VP2PD_LLM_MODEL", "fake-model")
    monkeypatch.setenv("VP2PD_LLM_API_KEY", KEY)
    fake = FakeLLM()
    reranker = reranker_from_env(cfg.rules.llm_sees_values, transport=fake.transport())
    assert reranker is not None
    reranker.margin = 1.0  # every column asked: the fixture's renamed headers are not ambiguous
    with caplog.at_level(logging.DEBUG):
        proposal = propose(cfg, semantic=None, llm=reranker)
        path = write_proposed(cfg, proposal)
    assert len(fake.requests) == len(proposal.columns) > 0
    assert all(c["llm"]["model"] == "fake-model" and "LLM fake-model" in c["reason"] for c in proposal.columns)
    assert [c["target"] for c in proposal.columns] == [c["target"] for c in plain.columns]  # it agreed (option 1)
    written = path.read_text(encoding="utf-8") + (cfg.customer_build_dir / "mapping_profiles.json").read_text()
    assert "fake-model" in written and KEY not in written and KEY not in caplog.text
    assert "llm_rerank: fake-model (saw headers and profiles)" in written
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in fake.requests)

"""The optional semantic signal (vp2pd/mapping/embed.py): absent, the scores are exactly the
two-signal ones (a snapshot taken before the signal existed); present (a fake embedder here, the
real model when the `embeddings` extra is installed), it stands in for a header the lexicon does
not know, says so in the reason, embeds each text once and never sees a value."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from tests.mapping.conftest import MappingCustomer
from vp2pd.config import REPO_ROOT
from vp2pd.mapping import embed
from vp2pd.mapping.embed import ModelFiles, OnnxMiniLM, SemanticSimilarity, column_text, default_semantic
from vp2pd.mapping.evaluate import labelled_files, measure, profile_file, scorer_proposer
from vp2pd.mapping.profile import profile_values
from vp2pd.mapping.score import propose_file

SNAPSHOT = Path(__file__).with_name("scores_without_model.json")
SETS = REPO_ROOT / "tests" / "fixtures" / "mapping"
REFERRALS = ["Google", "Friend", "Family doctor", "Google", "Instagram", "Friend"]


class FakeEmbedder:
    """Texts of one concept share a unit vector; every other text gets its own (cosine 0)."""

    name = "fake"

    def __init__(self, concepts: dict[str, int]) -> None:
        self.concepts = {k.casefold(): v for k, v in concepts.items()}
        self.others: dict[str, int] = {}
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += texts
        out = np.zeros((len(texts), 4096), dtype=np.float32)
        for row, text in enumerate(texts):
            key = text.casefold()
            index = self.concepts.get(key)
            if index is None:
                index = 100 + self.others.setdefault(key, len(self.others))
            out[row, index] = 1.0
        return out


def _snapshot(semantic: SemanticSimilarity | None) -> dict[str, dict]:
    out = {}
    for f in labelled_files(SETS):
        for p in propose_file(profile_file(f.path), f.collection, semantic):
            out[f"{f.set_name}/{f.path.name}/{p.column}"] = {
                "chosen": p.chosen.name, "confidence": p.confidence,  # type: ignore[union-attr]
                "reason": p.chosen.reason(p.column, p.profile),  # type: ignore[union-attr]
                "top5": [[s.name, s.score] for s in p.ranked[:5]]}
    return out


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "model_files", lambda: None)
    embed._installed.cache_clear()
    yield
    embed._installed.cache_clear()


def test_without_the_model_every_score_and_reason_is_the_snapshot(no_model: None) -> None:
    assert default_semantic() is None
    want = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(_snapshot(default_semantic())))  # tuples -> lists, as in the file
    assert len(got) == len(want) == 229
    assert got == want
    assert not any("semantic" in entry["reason"] for entry in got.values())


def test_the_semantic_signal_stands_in_for_an_unknown_header_and_says_so() -> None:
    columns = {"Found us via": profile_values("Found us via", REFERRALS)}
    (before,) = propose_file(columns, "clients")
    assert before.chosen is not None and before.chosen.target is None  # nothing in the lexicon says "via"
    semantic = SemanticSimilarity(FakeEmbedder({"Found us via": 1, "Referral Source": 1}))
    (after,) = propose_file(columns, "clients", semantic)
    assert after.chosen is not None and after.chosen.name == "referral_source_id_display"
    reason = after.chosen.reason(after.column, after.profile)
    assert "semantic 1.00 (in place of the header)" in reason
    # header term = W_HEADER x max(lexicon, semantic) = 0.6 x 1.0; values 0.6 x 0.4 (label kind, text values)
    assert after.chosen.score == pytest.approx(0.6 + 0.4 * after.chosen.values, abs=1e-3)


def test_a_header_the_lexicon_matched_gains_nothing_from_the_model() -> None:
    dob = profile_values("DOB", ["19610714", "19751201", "20000229"])
    (plain,) = propose_file({"DOB": dob}, "clients")
    semantic = SemanticSimilarity(FakeEmbedder({"DOB": 1, "Date of Birth": 1}))
    (with_model,) = propose_file({"DOB": dob}, "clients", semantic)
    assert with_model.chosen.name == plain.chosen.name == "date_of_birth"  # type: ignore[union-attr]
    assert with_model.chosen.score == plain.chosen.score  # type: ignore[union-attr]
    assert "(in place of the header)" not in with_model.chosen.reason("DOB", dob)  # type: ignore[union-attr]


def test_each_text_is_embedded_once_and_no_value_is_embedded() -> None:
    fake = FakeEmbedder({})
    semantic = SemanticSimilarity(fake, shapes=2)
    health = ["9876543217", "1234-567-897", "2345-678-904", "9876543217"]
    columns = {"HC": profile_values("HC", health), "Found us via": profile_values("Found us via", REFERRALS)}
    propose_file(columns, "clients", semantic)
    first = len(fake.embedded)
    propose_file(columns, "clients", semantic)
    assert len(fake.embedded) == first == len(set(fake.embedded))  # the second proposal came from the cache
    text = " ".join(fake.embedded)
    assert not any(v in text for v in health + REFERRALS)
    assert column_text("HC", columns["HC"], 2) == "HC (9999999999, 9999-999-999)"


def test_switched_off_or_unloadable_means_no_signal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    fake = SemanticSimilarity(FakeEmbedder({}))
    monkeypatch.setattr(embed, "_installed", lambda: fake)
    assert default_semantic() is fake
    monkeypatch.setenv("VP2PD_SEMANTIC", "off")
    assert default_semantic() is None
    monkeypatch.delenv("VP2PD_SEMANTIC")
    # a model file that is not the pinned one is refused before onnxruntime is imported
    other = tmp_path / "model.onnx"
    other.write_bytes(b"not the model")
    broken = SemanticSimilarity(OnnxMiniLM(ModelFiles(other, other)))
    broken_installed = lambda: broken  # noqa: E731
    broken_installed.cache_clear = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(embed, "_installed", broken_installed)
    with caplog.at_level(logging.WARNING, logger="vp2pd.mapping.embed"):
        assert default_semantic() is None
    assert "sha256 differs" in caplog.text


def test_propose_uses_the_installed_model_by_default(mapping_customer: MappingCustomer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from vp2pd.mapping.propose import propose

    monkeypatch.setattr(embed, "model_files", lambda: None)
    embed._installed.cache_clear()
    plain = propose(mapping_customer.cfg())
    assert plain.columns and not any("semantic" in c["reason"] for c in plain.columns)
    assert plain.signals["semantic_model"].startswith("off")
    fake = SemanticSimilarity(FakeEmbedder({}))
    monkeypatch.setattr("vp2pd.mapping.propose.default_semantic", lambda: fake)
    with_model = propose(mapping_customer.cfg())
    assert all("semantic 0.00" in c["reason"] for c in with_model.columns if c["target"] is not None)
    assert with_model.signals["semantic_model"] == "fake"
    assert [c["target"] for c in with_model.columns] == [c["target"] for c in plain.columns]  # cosine 0 adds nothing
    assert propose(mapping_customer.cfg(), semantic=None).columns == plain.columns
    embed._installed.cache_clear()


@pytest.mark.skipif(embed.model_files() is None, reason="the `embeddings` extra is not installed")
def test_the_real_model_knows_synonyms_and_costs_no_accuracy() -> None:
    semantic = default_semantic()
    assert semantic is not None
    from vp2pd.mapping.targets import candidates

    cands, _ = candidates("clients")
    sims = semantic("Gender", profile_values("Gender", ["F", "M", "F"]), cands)
    assert max(zip(sims, (c.name for c in cands)))[1] == "sex"
    files = labelled_files(SETS)
    without = measure(files, scorer_proposer)
    with_model = measure(files, lambda coll, cols: scorer_proposer(coll, cols, semantic))
    assert with_model.top1 >= without.top1

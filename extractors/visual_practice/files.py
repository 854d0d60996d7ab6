"""Where extracted document bytes go, under names safe on every file system, and their checks."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

# Characters illegal on Windows (and path separators everywhere), plus control characters.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME = 180


def safe_filename(name: str | None, fallback: str = "document") -> str:
    """A file name with no path parts and nothing a file system refuses; never empty."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip().strip(".")
    if not base or base.split(".")[0].upper() in _RESERVED:
        base = f"{fallback}_{base}" if base else fallback
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot and len(ext) < 16 else base[:MAX_NAME]
    return base


def document_path(documents_dir: Path, document_id: str, filename: str | None) -> Path:
    """`<documents_dir>/<document id>/<safe name>`: the id folder keeps duplicate names apart."""
    return documents_dir / document_id / safe_filename(filename, fallback=f"document-{document_id}")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()

"""Document files of an export: hash each one, copy it per the customer's `documents.download`.

The manifest's `File` column is where the bytes are, relative to the export folder. Every file
present is hashed (the record's sha256 is computed from it, as the export carries none), and
copied streaming to `documents_dir/<document id>/<safe file name>` when the customer asks for it
(`all`; `within_limit`: files the load can send). Each outcome lands in
`raw_visual_practice._document_files`: copied, skipped_size, not_requested or missing — a
manifest row whose file is absent is still a record and is extracted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import duckdb

from extractors.visual_practice import raw
from extractors.visual_practice.files import document_path, sha256_file
from vp2pd.config import CustomerConfig

COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestRow:
    document_id: str
    file: str | None  # path relative to the export folder
    filename: str | None  # the name as uploaded
    size_bytes: int | None  # as the manifest says


@dataclass(frozen=True)
class DocumentFile:
    document_id: str
    path: Path | None  # the copy, when there is one
    status: str  # copied | skipped_size | not_requested | missing
    size_bytes: int | None
    sha256: str | None
    detail: str | None = None


def _source(root: Path, relative: str | None) -> tuple[Path | None, str | None]:
    """The file a manifest path names, or why there is none (absent, or outside the export)."""
    if not relative or not relative.strip():
        return None, "the manifest gives no file"
    path = (root / PurePosixPath(relative.strip().replace("\\", "/"))).resolve()
    if not path.is_relative_to(root.resolve()):
        return None, f"{relative!r} points outside the export folder"
    if not path.is_file():
        return None, f"{relative!r} is not in the export"
    return path, None


def _copy_hashing(source: Path, target: Path) -> str:
    """Stream source to target (atomically, via a .part file) and return the content's sha256."""
    digest = hashlib.sha256()
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, part.open("wb") as out:
        while block := src.read(COPY_CHUNK):
            digest.update(block)
            out.write(block)
    part.replace(target)
    return digest.hexdigest()


def _previous_copies(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    """document id -> (path, sha256) of copies made by earlier runs."""
    rows = con.execute(
        f"SELECT document_id, path, sha256 FROM {raw.SCHEMA}._document_files WHERE status = 'copied'"
    ).fetchall()
    return {doc_id: (path, sha) for doc_id, path, sha in rows}


def place_document(cfg: CustomerConfig, root: Path, row: ManifestRow, previous: tuple[str, str] | None) -> DocumentFile:
    source, why_missing = _source(root, row.file)
    if source is None:
        return DocumentFile(row.document_id, None, "missing", row.size_bytes, None, why_missing)
    size = source.stat().st_size
    detail = (f"the manifest says {row.size_bytes} bytes, the file has {size}"
              if row.size_bytes is not None and row.size_bytes != size else None)
    mode = cfg.documents.download
    over_limit = size > cfg.documents.size_limit_mb * 1024 * 1024
    if mode == "none" or (mode == "within_limit" and over_limit):
        status = "not_requested" if mode == "none" else "skipped_size"
        if status == "skipped_size":
            detail = "; ".join(filter(None, [f"{size} bytes is over the {cfg.documents.size_limit_mb} MB limit: "
                                             "transfer by hand", detail]))
        return DocumentFile(row.document_id, None, status, size, sha256_file(source), detail)
    target = document_path(cfg.documents_dir, row.document_id, row.filename or source.name)
    if previous and Path(previous[0]) == target and target.is_file() and target.stat().st_size == size:
        sha = sha256_file(source)
        if sha == previous[1]:  # the same bytes were copied by an earlier run
            return DocumentFile(row.document_id, target, "copied", size, sha, detail)
    return DocumentFile(row.document_id, target, "copied", size, _copy_hashing(source, target), detail)


def place_documents(con: duckdb.DuckDBPyConnection, cfg: CustomerConfig, root: Path, rows: list[ManifestRow],
                    run_id: str) -> list[DocumentFile]:
    """Hash and copy every manifest row's file; record the outcomes in `_document_files`."""
    previous = _previous_copies(con)
    placed = [place_document(cfg, root, row, previous.get(row.document_id)) for row in rows]
    raw.record_document_files(con, [(d.document_id, str(d.path) if d.path else None, d.status, d.size_bytes,
                                     d.sha256, d.detail, run_id) for d in placed])
    return placed

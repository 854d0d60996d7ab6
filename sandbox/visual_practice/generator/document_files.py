"""Document bytes on disk: `out/documents/{id}` (full mode), the export's copy under
`documents/{Chart #}/`, and the optional zip of the export folder.

The bytes are `documents.content(seed, id, size, content type)`, the same the sandbox serves; the
sha256 recorded in each document record is computed from them in both modes, while metadata mode
writes no bytes at all. The export's copy is a hard link where the file system allows it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.visual_practice import documents

DOCUMENTS_DIR = "documents"


class DocumentFiles:
    def __init__(self, out: Path, export_folder: Path | None, seed: int, full: bool) -> None:
        self.folder = out / DOCUMENTS_DIR
        self.export_folder = export_folder
        self.seed = seed
        self.full = full
        self.bytes_written = 0
        if full:
            self.folder.mkdir(parents=True, exist_ok=True)

    def materialize(self, record: dict[str, Any], export_path: str | None) -> None:
        """Sets the record's sha256; in full mode writes the bytes (and the export's copy)."""
        chunks = documents.content(self.seed, record["id"], record["size_bytes"], record["content_type"])
        digest = hashlib.sha256()
        if not self.full:
            for chunk in chunks:
                digest.update(chunk)
            record["sha256"] = digest.hexdigest()
            return
        path = self.folder / record["id"]
        with path.open("wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
        record["sha256"] = digest.hexdigest()
        self.bytes_written += record["size_bytes"]
        if self.export_folder is not None and export_path:
            target = self.export_folder / export_path
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:  # another file system, or one without hard links
                shutil.copyfile(path, target)


def write_zip(export_folder: Path, zip_path: Path, stamp: datetime) -> Path:
    """The export folder as one zip, byte-identical for the same folder (fixed order and times)."""
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with zipfile.ZipFile(zip_path, "w", allowZip64=True) as archive:
        for path in sorted(p for p in export_folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(export_folder).as_posix(), date_time)
            # CSV text compresses well; document bytes (random) do not.
            info.compress_type = zipfile.ZIP_DEFLATED if path.suffix == ".csv" else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, 1 << 20)
    return zip_path

"""Finding an export's files: `VP-{Stem}-{YYYYMMDD}.csv` in a folder or a zip of it."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

EXPORT_FILE = re.compile(r"^VP-(?P<stem>.+)-(?P<date>\d{8})\.csv$", re.IGNORECASE)


class ExportError(ValueError):
    """An export that cannot be read at all (no Clients file, not a folder or zip, no header)."""


@dataclass(frozen=True)
class ExportFile:
    path: Path
    stem: str  # `Clients`, `Custom-Equipment`, ...
    date: str  # YYYYMMDD, from the file name

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class ExportFolder:
    root: Path  # the folder the manifest's document paths are relative to
    files: dict[str, ExportFile]  # casefolded stem -> the latest file of that stem
    superseded: list[Path] = field(default_factory=list)  # older dated files of the same stem, not read

    def get(self, stem: str) -> ExportFile | None:
        return self.files.get(stem.casefold())

    def older(self, file: ExportFile) -> list[str]:
        """Names of the earlier-dated files of `file`'s stem (not read: the latest export wins)."""
        return [p.name for p in self.superseded if (m := EXPORT_FILE.match(p.name)) and
                m["stem"].casefold() == file.stem.casefold()]


def _export_root(folder: Path) -> Path:
    """The folder holding the VP-*.csv files: the given one, or its only subfolder (a zipped folder)."""
    if any(EXPORT_FILE.match(p.name) for p in folder.iterdir() if p.is_file()):
        return folder
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("__MACOSX", "."))]
    if len(subfolders) == 1:
        return _export_root(subfolders[0])
    return folder


def scan_folder(folder: Path) -> ExportFolder:
    root = _export_root(folder)
    latest: dict[str, ExportFile] = {}
    superseded: list[Path] = []
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        match = EXPORT_FILE.match(path.name)
        if not match:
            continue
        found = ExportFile(path, match["stem"], match["date"])
        key = found.stem.casefold()
        if key in latest and latest[key].date > found.date:
            superseded.append(found.path)
            continue
        if key in latest:
            superseded.append(latest[key].path)
        latest[key] = found
    return ExportFolder(root, latest, superseded)


@contextmanager
def open_export(export_path: Path, scratch: Path) -> Iterator[ExportFolder]:
    """The export's files; a zip is extracted into a temporary folder under `scratch`, removed after."""
    if export_path.is_dir():
        yield scan_folder(export_path)
        return
    if not zipfile.is_zipfile(export_path):
        raise ExportError(f"{export_path} is neither an export folder nor a zip of one")
    scratch.mkdir(parents=True, exist_ok=True)
    unpacked = Path(tempfile.mkdtemp(prefix="export-", dir=scratch))
    try:
        with zipfile.ZipFile(export_path) as archive:
            archive.extractall(unpacked)  # extractall drops absolute and `..` parts of member names
        yield scan_folder(unpacked)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)

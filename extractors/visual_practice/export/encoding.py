"""Export file encodings: detect UTF-8 (with or without BOM) or Windows-1252, and make both readable.

DuckDB reads UTF-8 natively but not Windows-1252 (that needs an extension fetched at run time),
so a cp1252 file is transcoded to a UTF-8 copy, streaming in small chunks (cache-sized chunks
are the fast ones). Measured alternative, rejected: swapping the C1 bytes 0x80-0x9F for control
bytes, reading the copy as latin-1 and restoring the characters with SQL `translate()` — the
swap is cheap but `translate()` costs ~1.1 s per million values, ~40 s on a 1M-row clients file.
The five bytes cp1252 leaves undefined are copied as they are: alone they are not UTF-8, so
DuckDB rejects their record as INVALID ENCODING, as it does an invalid byte of a UTF-8 export, and
the record is quarantined with its bytes shown. (Measured alternative, replaced: reading them as
U+FFFD and looking for it in every column of every row, ~0.3 s on a million clients.)
"""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

UTF8_BOM = b"\xef\xbb\xbf"
SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20
UNDECODABLE = "\ufffd"  # what Python's decoders read an invalid byte as


def detect_encoding(path: Path) -> str:
    """`utf-8-bom`, `utf-8` (no BOM, but the samples hold UTF-8 multibyte sequences) or `cp1252`.

    Samples the head, middle and tail of the file, so a UTF-8 file whose first rows are ASCII is
    still recognised. A few invalid bytes among many valid sequences are defects of a UTF-8 file
    (quarantined later); accented cp1252 text is almost never valid UTF-8.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        if head.startswith(UTF8_BOM):
            return "utf-8-bom"
        samples = [head]
        for offset in (size // 2, max(size - SAMPLE_BYTES, 0)):
            if offset > len(head):
                handle.seek(offset)
                samples.append(handle.read(SAMPLE_BYTES).lstrip(bytes(range(0x80, 0xC0))))
    multibyte = invalid = 0
    for sample in samples:
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(sample, final=False)
        invalid += text.count(UNDECODABLE)
        multibyte += len(text) - len(text.encode("ascii", errors="ignore")) - text.count(UNDECODABLE)
    return "utf-8" if multibyte and invalid * 20 <= multibyte else "cp1252"


@dataclass(frozen=True)
class ReadableFile:
    """An export file as DuckDB reads it: UTF-8, the export itself or a transcoded copy."""

    path: Path
    encoding: str  # what the export was written in: utf-8-bom, utf-8 or cp1252


def _scratch_dir(size: int, fallback: Path) -> Path:
    """RAM-backed /dev/shm when it has room (the copy lives only while the file is read)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 4 * size:
        return shm
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def _has_c1_byte(chunk: bytes) -> bool:
    """Whether the chunk holds a byte 0x80-0x9F, the only bytes where cp1252 and latin-1 differ.

    As signed bytes those are -128..-97: one numpy comparison (measured on 430 MB: 0.06 s,
    against 0.35 s for `bytes.translate` deleting every other byte).
    """
    return bool((np.frombuffer(chunk, np.int8) < -96).any())


def _to_utf8(chunk: bytes) -> bytes:
    """One chunk of cp1252 as UTF-8; a byte cp1252 leaves undefined is kept as it is (not UTF-8).

    A chunk without C1 bytes (most of them: a million clients held 25) is decoded as latin-1,
    which is the same text and was ~2x faster than the cp1252 codec (measured on 430 MB:
    0.62-0.75 s against 1.1-1.47 s). `surrogateescape` carries an undefined byte through the
    decode and back out of the encode unchanged.
    """
    if chunk.isascii():
        return chunk
    if not _has_c1_byte(chunk):
        return chunk.decode("latin-1").encode("utf-8")
    return chunk.decode("cp1252", errors="surrogateescape").encode("utf-8", errors="surrogateescape")


def _transcode(source: Path, target: Path) -> None:
    """cp1252 -> UTF-8, chunk by chunk (cp1252 has one byte per character: any cut is a boundary)."""
    with source.open("rb") as src, target.open("wb") as out:
        while chunk := src.read(CHUNK_BYTES):
            out.write(_to_utf8(chunk))


@contextmanager
def readable(path: Path, encoding: str, scratch: Path) -> Iterator[ReadableFile]:
    """The file in a form DuckDB reads, for the duration of the block (a copy is removed after)."""
    if encoding != "cp1252":
        yield ReadableFile(path, encoding)
        return
    fd, name = tempfile.mkstemp(prefix=f"{path.stem}-", suffix=".csv", dir=_scratch_dir(path.stat().st_size, scratch))
    os.close(fd)
    copy = Path(name)
    try:
        _transcode(path, copy)
        yield ReadableFile(copy, encoding)
    finally:
        copy.unlink(missing_ok=True)

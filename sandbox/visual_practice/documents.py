"""Synthetic document bytes: deterministic, random-access, cheap to produce on demand.

A document's content is a function of (seed, document id, size, content type): a short header
that matches the content type, then pseudo-random 64 KiB blocks. The generator writes these bytes
(full mode) or only records size and sha256 (metadata mode); the sandbox then produces any byte
range on demand, so a practice with terabytes of imaging needs no disk.
"""

from __future__ import annotations

import hashlib
import random
from typing import Iterator

BLOCK = 64 * 1024
HEADERS: dict[str, bytes] = {
    "application/pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "application/dicom": b"\x00" * 128 + b"DICM",
    "text/plain": b"Visual Practice document\n",
}


def _block(seed: int, document_id: str, index: int, content_type: str) -> bytes:
    data = random.Random(f"{seed}:{document_id}:{index}").randbytes(BLOCK)
    if index == 0:
        header = HEADERS.get(content_type, b"")
        data = header + data[len(header):]
    return data


def content(seed: int, document_id: str, size: int, content_type: str,
            start: int = 0, stop: int | None = None) -> Iterator[bytes]:
    """Bytes [start, stop) of the document (stop defaults to its size), in chunks of at most 64 KiB."""
    stop = size if stop is None else min(stop, size)
    pos = start
    while pos < stop:
        index, offset = divmod(pos, BLOCK)
        chunk = _block(seed, document_id, index, content_type)[offset: offset + (stop - pos)]
        yield chunk
        pos += len(chunk)


def sha256(seed: int, document_id: str, size: int, content_type: str) -> str:
    digest = hashlib.sha256()
    for chunk in content(seed, document_id, size, content_type):
        digest.update(chunk)
    return digest.hexdigest()

"""`GET /documents/{id}/content`: a document's bytes, whole or one byte range, streamed in chunks.

Bytes come from `<practice>/documents/{id}` (documents_mode "full") or are generated on demand
(documents_mode "metadata"); neither is ever held whole in memory (imaging files exceed 50 MB).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from starlette.responses import StreamingResponse

from sandbox.visual_practice import documents
from sandbox.visual_practice.query import ApiError, not_found
from sandbox.visual_practice.store import Store

CHUNK = 64 * 1024
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _file_chunks(path: Path, start: int, stop: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, stop) of one `bytes=a-b | a- | -n` range; None to send everything; ApiError 416 if unsatisfiable.

    A header that is not a single byte range (several ranges, other units, last < first) is ignored,
    as HTTP allows, and the whole document is sent.
    """
    match = RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last n bytes
        if int(last) == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - int(last)), size
    start = int(first)
    stop = size if last == "" else int(last) + 1
    if last != "" and stop <= start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return start, min(stop, size)


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(416, "range_not_satisfiable", headers={"Content-Range": f"bytes */{size}"}, size_bytes=size)


def document_response(store: Store, record: dict[str, Any], range_header: str | None) -> StreamingResponse:
    document_id = record["id"]
    content_type = record.get("content_type") or "application/octet-stream"
    if store.meta("documents_mode", "full") == "metadata":
        size = int(record["size_bytes"])
        seed = int(store.meta("seed", 0))

        def chunks(start: int, stop: int) -> Iterator[bytes]:
            return documents.content(seed, document_id, size, content_type, start, stop)
    else:
        path = store.folder / "documents" / document_id
        if not path.is_file():
            raise not_found()
        size = path.stat().st_size

        def chunks(start: int, stop: int) -> Iterator[bytes]:
            return _file_chunks(path, start, stop)

    span = parse_range(range_header, size)
    start, stop = span or (0, size)
    # Content-Type set as a header, not media_type, so Starlette adds no charset to text/* documents.
    headers = {"Content-Type": content_type, "Content-Length": str(stop - start), "Accept-Ranges": "bytes"}
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return StreamingResponse(chunks(start, stop), status_code=206 if span else 200, headers=headers)

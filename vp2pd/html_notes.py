"""Clinical-note HTML for Pipedrive: an allowlist sanitiser and a splitter at element boundaries.

SOAP notes arrive as HTML with pasted Word markup and sometimes unsafe markup (`<script>`,
`onclick=`). Pipedrive renders note HTML, so only the tags the contract names survive (nh3, a
Rust allowlist sanitiser: no scripts, event handlers, styles or classes). Pipedrive refuses notes
over 100 KB, so a long note is split into numbered parts between elements, never inside a tag,
and nothing is cut.

Both run inside the dbt build as DuckDB functions: `Plugin` is a dbt-duckdb plugin
(profiles.yml `plugins:`) that registers them on every connection, vectorised over Arrow.
"""

from __future__ import annotations

import re
from typing import Any

import nh3
import pyarrow as pa

ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "table", "thead", "tbody",
                "tr", "th", "td", "h1", "h2", "h3", "h4", "div", "span", "a"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
# Word pastes carry <o:p>, <xml> and conditional comments; their text content is noise.
CLEAN_CONTENT_TAGS = {"script", "style", "xml", "head", "title", "o:p"}
# Where a note may be split: after a closing block element or a line break.
_BOUNDARY = re.compile(r"(?<=</p>)|(?<=</li>)|(?<=</tr>)|(?<=</table>)|(?<=</ul>)|(?<=</ol>)|(?<=<br>)|(?<=\n)")


def sanitise(html: str | None) -> str | None:
    if html is None:
        return None
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, clean_content_tags=CLEAN_CONTENT_TAGS,
                     url_schemes={"http", "https", "mailto"}, strip_comments=True, link_rel=None).strip()


def split(html: str | None, max_bytes: int) -> list[str]:
    """Parts of at most `max_bytes` UTF-8 bytes each whose concatenation is `html`."""
    if html is None:
        return []
    if len(html.encode("utf-8")) <= max_bytes:
        return [html]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(html, max_bytes):
        n = len(piece.encode("utf-8"))
        if size + n > max_bytes and current:
            parts.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += n
    if current:
        parts.append("".join(current))
    return parts


def _pieces(html: str, max_bytes: int) -> list[str]:
    out: list[str] = []
    for segment in _BOUNDARY.split(html):
        while len(segment.encode("utf-8")) > max_bytes:
            # One element longer than a part: cut at a character boundary outside a tag.
            cut = _cut_point(segment, max_bytes)
            out.append(segment[:cut])
            segment = segment[cut:]
        if segment:
            out.append(segment)
    return out


def _cut_point(segment: str, max_bytes: int) -> int:
    cut = len(segment.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore"))
    lt, gt = segment.rfind("<", 0, cut), segment.rfind(">", 0, cut)
    return lt if lt > gt and lt > 0 else cut


def _sanitise_arrow(values: pa.Array) -> pa.Array:
    return pa.array([sanitise(v) for v in values.to_pylist()], pa.string())


def _split_arrow(values: pa.Array, limits: pa.Array) -> pa.Array:
    return pa.array([split(v, int(n)) if v is not None else None
                     for v, n in zip(values.to_pylist(), limits.to_pylist())], pa.list_(pa.string()))


def register(con: Any) -> None:
    """Register `vp2pd_sanitise_html(VARCHAR)` and `vp2pd_split_html(VARCHAR, BIGINT)` on a connection."""
    for name in ("vp2pd_sanitise_html", "vp2pd_split_html"):
        try:
            con.remove_function(name)
        except Exception:  # not registered yet
            pass
    con.create_function("vp2pd_sanitise_html", _sanitise_arrow, ["VARCHAR"], "VARCHAR", type="arrow",
                        side_effects=False)
    con.create_function("vp2pd_split_html", _split_arrow, ["VARCHAR", "BIGINT"], "VARCHAR[]", type="arrow",
                        side_effects=False)


try:  # dbt-duckdb plugin: only importable where dbt is installed (always, in this project)
    from dbt.adapters.duckdb.plugins import BasePlugin

    class Plugin(BasePlugin):
        def configure_connection(self, conn: Any) -> None:
            register(conn)
except ImportError:  # pragma: no cover
    pass

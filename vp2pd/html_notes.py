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
import pyarrow.compute as pc

ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "table", "thead", "tbody",
                "tr", "th", "td", "h1", "h2", "h3", "h4", "div", "span", "a"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
# Word pastes carry <o:p>, <xml> and conditional comments; their text content is noise.
CLEAN_CONTENT_TAGS = {"script", "style", "xml", "head", "title", "o:p"}
# Where a note may be split: after a closing block element or a line break.
_BOUNDARIES = (b"</p>", b"</li>", b"</tr>", b"</table>", b"</ul>", b"</ol>", b"<br>", b"\n")


# Built once: nh3.clean() re-reads the allowlists on every call, which doubled its cost.
_CLEANER = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, clean_content_tags=CLEAN_CONTENT_TAGS,
                       url_schemes={"http", "https", "mailto"}, strip_comments=True, link_rel=None)

# Most notes are already clean: a few paragraphs and lists from the editor, no attributes. For
# those the sanitiser's parse and re-serialisation gives back the very same string, so they can
# skip it. `ALREADY_CLEAN` recognises a conservative subset where that is certain: allowlisted
# tags without attributes, properly nested (inline elements, one level deep, in blocks and items;
# lists holding only items), text with no character the serialiser rewrites (`&` outside
# &amp;/&lt;/&gt;, `>`, no-break space, CR, control characters), and no leading or trailing white
# space (the result is stripped). Anything else goes through nh3. The grammar is bounded so that it
# is a regular expression RE2 runs as a DFA over a whole Arrow batch (~1 us a value; a second
# inline level made it 13 times slower); Python's re reads it the same way.
# tests/transform/test_html_notes.py checks the skip against nh3 on generated and adversarial notes.
_TEXT = r"(?:[^<>&\x00-\x08\x0b-\x1f\x7f-\xa0]|&amp;|&lt;|&gt;)"
_INLINE_TAGS = ("b", "strong", "i", "em", "u", "span")


def _elements(tags: tuple[str, ...], content: str) -> str:
    return "|".join(f"<{t}>{content}*</{t}>" for t in tags)


_LEAF = f"(?:{_TEXT}|<br>)"
_INLINE = f"(?:{_TEXT}|<br>|{_elements(_INLINE_TAGS, _LEAF)})"
_BLOCKS = _elements(("p", "h1", "h2", "h3", "h4", "li"), _INLINE)
_LISTS = "|".join(f"<{t}>(?:[ \t\n]|<li>{_INLINE}*</li>)*</{t}>" for t in ("ul", "ol"))
ALREADY_CLEAN = f"^(?:{_BLOCKS}|{_LISTS}|{_INLINE})*$"
# What str.strip() removes, and control characters: neither may open or close a skipped value.
_EDGE = r"[\x00-\x20\x7f-\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]"
STARTS_CLEAN, ENDS_CLEAN = f"^[^{_EDGE[1:-1]}]", f"[^{_EDGE[1:-1]}]$"
_PY_ALREADY_CLEAN = re.compile(ALREADY_CLEAN)
# Python's re spells a code point \uXXXX where RE2 spells it \x{XXXX}.
_PY_EDGE = re.compile(re.sub(r"\\x\{([0-9a-f]{4})\}", r"\\u\1", _EDGE))


def is_already_clean(html: str) -> bool:
    """Whether `sanitise(html)` is certainly `html` itself (the sanitiser call can be skipped)."""
    return (html != "" and not _PY_EDGE.match(html[0]) and not _PY_EDGE.match(html[-1])
            and _PY_ALREADY_CLEAN.match(html) is not None)


def sanitise(html: str | None) -> str | None:
    if html is None:
        return None
    if is_already_clean(html):
        return html
    return _CLEANER.clean(html).strip()


def sanitise_with_nh3(html: str) -> str:
    """The sanitiser without the skip: the reference the skip is tested against."""
    return _CLEANER.clean(html).strip()


def split(html: str | None, max_bytes: int) -> list[str]:
    """Parts of at most `max_bytes` UTF-8 bytes each whose concatenation is `html`: each part ends
    at the last boundary that fits (greedy), or, in an element longer than a part, at a character
    boundary outside a tag. Works on the UTF-8 bytes, looking back from each part's limit (rfind,
    in C): a 200 KB note has thousands of boundaries, and walking them all in Python took seconds
    per hundred notes."""
    if html is None:
        return []
    data = html.encode("utf-8")
    if len(data) <= max_bytes:
        return [html]
    parts: list[str] = []
    start = 0
    while len(data) - start > max_bytes:
        limit = start + max_bytes
        cut = max((i + len(b) for b in _BOUNDARIES if (i := data.rfind(b, start, limit)) >= 0), default=-1)
        if cut <= start:
            cut = start + _cut_point(data[start:limit])
        parts.append(data[start:cut].decode("utf-8"))
        start = cut
    parts.append(data[start:].decode("utf-8"))
    return parts


def _cut_point(window: bytes) -> int:
    """Where to cut a window with no boundary: its last whole character, moved back before a tag
    the window would cut in two."""
    cut = len(window.decode("utf-8", errors="ignore").encode("utf-8"))  # drops a character cut in two
    lt, gt = window.rfind(b"<", 0, cut), window.rfind(b">", 0, cut)
    return lt if lt > gt and lt > 0 else cut


def _array(values: pa.Array | pa.ChunkedArray, type_: pa.DataType) -> pa.Array:
    """DuckDB hands an Arrow UDF chunked arrays; the mask and list builders want one array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(type_)


def _sanitise_arrow(values: pa.Array) -> pa.Array:
    """Vectorised: the skip test runs in Arrow (RE2) over the whole batch; nh3 sees only the rest."""
    values = _array(values, pa.string())
    skip = pc.and_kleene(pc.match_substring_regex(values, ALREADY_CLEAN),
                         pc.and_kleene(pc.match_substring_regex(values, STARTS_CLEAN),
                                       pc.match_substring_regex(values, ENDS_CLEAN)))
    todo = pc.invert(pc.fill_null(skip, True))  # NULL stays NULL
    if not pc.any(todo).as_py():
        return values
    cleaned = [_CLEANER.clean(v).strip() for v in pc.filter(values, todo).to_pylist()]
    return pc.replace_with_mask(values, todo, pa.array(cleaned, pa.string()))


def _split_arrow(values: pa.Array, limits: pa.Array) -> pa.Array:
    """Vectorised: a note within its limit is a one-part list built in Arrow; Python splits the rest."""
    values, limits = _array(values, pa.string()), _array(limits, pa.int64())
    over = pc.fill_null(pc.greater(pc.binary_length(values), limits), False)
    if pc.any(over).as_py():
        return pa.array([split(v, int(n)) if v is not None else None
                         for v, n in zip(values.to_pylist(), limits.to_pylist())], pa.list_(pa.string()))
    # One part per non-NULL note: offsets 0..n, with NULL notes as NULL lists.
    offsets = pa.array(range(len(values) + 1), pa.int32())
    return pa.ListArray.from_arrays(offsets, values, mask=pc.is_null(values))


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

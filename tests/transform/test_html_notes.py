"""The note sanitiser's skip (values that nh3 would give back unchanged) never changes a result.

`sanitise` skips nh3 for HTML that `ALREADY_CLEAN` proves clean; the Arrow UDF makes that test in
RE2 over a batch. Both must give exactly what nh3 gives, on the generator's notes and on random
notes built from adversarial pieces (unclosed and misnested tags, attributes, entities, CR, NUL,
no-break and Unicode spaces, comments, tables that gain a tbody).
"""

from __future__ import annotations

import random
import re

import pyarrow as pa

from sandbox.visual_practice.generator.notes_html import soap
from vp2pd import html_notes

PIECES = (
    "<p>", "</p>", "<b>", "</b>", "<i>", "</i>", "<em>", "</em>", "<strong>", "</strong>", "<u>", "</u>",
    "<span>", "</span>", "<ul>", "</ul>", "<ol>", "</ol>", "<li>", "</li>", "<h1>", "</h1>", "<h4>", "</h4>",
    "<br>", "<br/>", "<BR>", "<P>", "<div>", "</div>", "<table>", "<tr>", "<td>", "</td>", "</tr>", "</table>",
    "<p class=MsoNormal>", "<b onclick=\"x()\">", "<a href=\"http://e.ca\">", "</a>", "<script>", "</script>",
    "<o:p>", "</o:p>", "<!-- c -->", "<!--", "<img src=x>", "<p title=\"a>b\">", "<",
    "text", "Douleur à l'épaule", "BP 128/82", "a > b", "&amp;", "&lt;", "&gt;", "&", "&nbsp;", "&eacute;",
    "\u00a0", "\r\n", "\r", "\n", " ", "\t", "\x00", "\x0c", "\u3000", "\u2028", "\ufeff", "\"quoted\"", "'",
)


def _random_note(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))


def _well_formed(rng: random.Random, depth: int = 0) -> str:
    """Notes inside the skip's grammar, so that the skip is exercised, not only the fallback."""
    kind = rng.choice(("p", "ul", "text", "inline") if depth == 0 else ("text", "inline"))
    if kind == "p":
        return "<p>" + "".join(_well_formed(rng, 1) for _ in range(rng.randint(0, 3))) + "</p>"
    if kind == "ul":
        items = "\n".join("<li>" + _well_formed(rng, 1) + "</li>" for _ in range(rng.randint(0, 3)))
        return "<ul>\n" + items + "\n</ul>"
    if depth and rng.random() < 0.05:  # a block inside an inline element or a paragraph: re-nested by nh3
        return rng.choice(("<p>x</p>", "<ul><li>y</li></ul>", "<h2>z</h2>", "<li>w</li>"))
    if kind == "inline" and depth < 3:
        tag = rng.choice(("b", "i", "em", "strong", "u", "span"))
        return f"<{tag}>" + _well_formed(rng, depth + 1) + f"</{tag}>"
    if rng.random() < 0.1:  # one character the serialiser rewrites (or strip removes): no skip
        return rng.choice(("\u00a0", "a > b", "&", "&eacute;", "\r\n", "\x00", "\x85", " ", "\u3000", "<br/>"))
    return rng.choice(("Exam: ROM 60°", "Se sent mieux", "pain 3/10", "&amp; co", "\"x\"", "<br>", "a\nb"))


def _corpus() -> list[str]:
    rng = random.Random(20261201)
    notes = [_random_note(rng) for _ in range(4000)]
    notes += ["".join(_well_formed(rng) for _ in range(rng.randint(1, 4))) for _ in range(2000)]
    for flavour in ("clean", "unsafe", "word", "clean", "clean"):
        for _ in range(300):
            notes += list(soap(rng, flavour).values())
    return notes


def test_skip_gives_exactly_what_nh3_gives() -> None:
    notes = _corpus()
    expected = [html_notes.sanitise_with_nh3(n) for n in notes]
    assert [html_notes.sanitise(n) for n in notes] == expected
    arrow = html_notes._sanitise_arrow(pa.array(notes + [None], pa.string())).to_pylist()
    assert arrow == expected + [None]
    # The skip is exercised, and only where nh3 agrees: skipped values are returned as they came.
    skipped = [n for n in notes if html_notes.is_already_clean(n)]
    assert len(skipped) > 1500
    assert all(html_notes.sanitise_with_nh3(n) == n for n in skipped)


def test_generated_clean_sections_mostly_skip_nh3() -> None:
    rng = random.Random(7)
    sections = [v for _ in range(500) for v in soap(rng, "clean").values()]
    skipped = sum(html_notes.is_already_clean(s) for s in sections)
    # Tables (a fifth of the objectives) gain a <tbody> in nh3, so they are not skipped.
    assert 0.8 * len(sections) < skipped < len(sections)


def test_unsafe_markup_is_still_removed() -> None:
    dirty = ['<p onclick="steal()">Hi</p>', "<script>alert(1)</script><p>ok</p>", '<a href="javascript:x">l</a>',
             "<p class=MsoNormal style='mso-x'>W<o:p></o:p></p>"]
    out = html_notes._sanitise_arrow(pa.array(dirty, pa.string())).to_pylist()
    assert out == ["<p>Hi</p>", "<p>ok</p>", "<a>l</a>", "<p>W</p>"]


def test_split_udf_matches_split_on_batches_with_and_without_long_notes() -> None:
    short = ["<p>a</p>", None, "<p>bb</p>"]
    long = "".join(f"<p>line {i}</p>" for i in range(40))
    for batch in (short, short + [long]):
        out = html_notes._split_arrow(pa.array(batch, pa.string()), pa.array([64] * len(batch))).to_pylist()
        assert out == [html_notes.split(v, 64) if v is not None else None for v in batch]
    parts = html_notes.split(long, 64)
    assert len(parts) > 5 and "".join(parts) == long and max(len(p.encode()) for p in parts) <= 64


def test_split_cuts_at_the_last_boundary_that_fits_and_never_inside_a_tag() -> None:
    rng = random.Random(5)
    words = ("<p>Douleur à l'épaule €</p>", "<tr><td>Visit 3</td><td>4/10</td></tr>\n", "<br>", "\n", "x" * 70,
             "<b>" + "é" * 40 + "</b>", "<table>", "</table>", "<li>plan</li>", "ü" * 90)
    boundaries = re.compile(rb"</p>|</li>|</tr>|</table>|</ul>|</ol>|<br>|\n")
    forced = 0
    for _ in range(400):
        html = "".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        limit = rng.choice((32, 64, 100, 257))
        parts = html_notes.split(html, limit)
        assert "".join(parts) == html and all(len(p.encode()) <= limit for p in parts)
        data = html.encode()
        ends = {m.end() for m in boundaries.finditer(data)}
        start = 0
        for part in parts[:-1]:
            cut = start + len(part.encode())
            fitting = [e for e in ends if start < e <= start + limit]
            if fitting:
                assert cut == max(fitting), (html, limit, part)  # greedy: the last boundary that fits
            else:
                forced += 1
                assert part.rfind("<") <= part.rfind(">") or part.rfind("<") == 0, part  # no tag cut in two
            start = cut
    assert forced > 20  # the long-element path was exercised

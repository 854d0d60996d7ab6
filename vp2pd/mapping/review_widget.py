"""The ipywidgets face of `Review`: one line per proposal, lowest confidence first.

Each line: the proposal, its confidence and samples, a dropdown (accept / change / drop), a
pick-list options box for enum and set fields, and a note. A "needs review only" filter, and a
save button that confirms the map under the reviewer's name. Widgets only call Review's methods.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from vp2pd.mapping.review import Review, Row

UNDECIDED = "(decide)"


def _current(review: Review, row: Row) -> str:
    """The dropdown value of the decision already made (a change shows as the choice it was)."""
    decision = review.item(row.key).get("decision") or {}
    if decision.get("action") in ("accept", "drop"):
        return str(decision["action"])
    if decision.get("action") == "change":
        target = decision.get("target")
        shown = (f"change to {' + '.join(target) if isinstance(target, list) else target}" if row.layer == 1
                 else f"change type to {(decision.get('entry') or {}).get('type')}")
        return shown if shown in review.choices(row.key) else UNDECIDED
    return UNDECIDED


def _line(review: Review, row: Row) -> w.Widget:
    item = review.item(row.key)
    colour = "#b00" if row.confidence < 0.6 else "#b60" if row.confidence < 0.9 else "#070"
    label = w.HTML(f"<b style='color:{colour}'>{row.confidence:.2f}</b> {html.escape(row.what)}<br>"
                   f"<small>{html.escape(row.reason)}<br>samples: {html.escape(row.samples) or '-'}</small>",
                   layout=w.Layout(width="60%"))
    dropdown = w.Dropdown(options=[UNDECIDED, *review.choices(row.key)], value=_current(review, row),
                          layout=w.Layout(width="20%"))
    note = w.Text(value=item.get("note", ""), placeholder="note", layout=w.Layout(width="20%"))

    def chosen(change: dict[str, Any]) -> None:
        if change["new"] != UNDECIDED:
            review.choose(row.key, change["new"])

    dropdown.observe(chosen, names="value")
    note.observe(lambda change: review.note(row.key, change["new"]), names="value")
    parts: list[w.Widget] = [label, dropdown, note]
    entry = item.get("entry") or {}
    if entry.get("type") in ("enum", "set") and "options" in entry:
        options = w.Text(value=", ".join(map(str, entry["options"])), description="options",
                         layout=w.Layout(width="100%"))
        options.observe(lambda change: review.set_options(row.key, change["new"].split(",")), names="value")
        return w.VBox([w.HBox(parts), options])
    return w.HBox(parts)


def build(review: Review, needs_review_only: bool = True) -> w.Widget:
    lines = w.VBox()
    only = w.Checkbox(value=needs_review_only, description="needs review only")
    reviewer = w.Text(placeholder="your name", description="reviewer")
    save = w.Button(description="Save and confirm", button_style="success")
    status = w.HTML()

    def refresh(*_: Any) -> None:
        rows = review.rows(needs_review_only=only.value)
        lines.children = [_line(review, r) for r in rows]
        s = review.summary()
        status.value = f"{s['entries']} proposals, {s['decided']} decided, {s['needs_review']} need review"

    def on_save(_: Any) -> None:
        try:
            result = review.save(reviewer.value)
        except ValueError as exc:
            status.value = f"<b style='color:#b00'>{html.escape(str(exc))}</b>"
            return
        refresh()
        status.value = (f"<b>confirmed</b> {result.confirmed} ({result.content_hash})" if result.confirmed else
                        f"{len(result.needs_review)} proposals still need a decision; nothing confirmed yet")

    only.observe(refresh, names="value")
    save.on_click(on_save)
    refresh()
    return w.VBox([w.HBox([only, reviewer, save]), status, lines])

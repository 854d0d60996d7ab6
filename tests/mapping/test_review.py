"""The review: rows lowest confidence first, the needs-review filter, dropdown choices, options and
notes, saving under a reviewer's name; the widgets drive the same methods."""

from __future__ import annotations

import yaml

from tests.mapping.conftest import MappingCustomer
from vp2pd.mapping.gate import fields_hash, map_hash, record_build, require_confirmed
from vp2pd.mapping.review import Review


def _review(m: MappingCustomer) -> Review:
    assert (m.home / "demo" / "mapping" / "proposed.yml").is_file()  # proposed by the fixture
    return Review.load("demo")


def test_rows_lowest_confidence_first_and_filter(mapping_customer: MappingCustomer) -> None:
    review = _review(mapping_customer)
    rows = review.rows()
    assert [r.confidence for r in rows] == sorted(r.confidence for r in rows)
    assert {r.layer for r in rows} == {1, 2}
    first = rows[0].key
    review.accept(first)
    assert first not in {r.key for r in review.rows(needs_review_only=True)}
    table = review.table(needs_review_only=True)
    assert len(table) == len(rows) - 1 and list(table["confidence"]) == sorted(table["confidence"])


def test_change_drop_options_note_then_save_confirms(mapping_customer: MappingCustomer) -> None:
    review = _review(mapping_customer)
    columns = {review.item(r.key)["column"]: r.key for r in review.rows() if r.layer == 1}
    fields = {review.item(r.key)["entry"].get("custom_field"): r.key for r in review.rows() if r.layer == 2}
    review.choose(columns["Ref by"], "change to location_id_display")
    review.drop(columns["HC#"])
    review.set_options(fields["Client_Status"], ["Active", " Inactive ", "", "Prospect", "Former", "On hold"])
    review.note(fields["Client_Status"], "On hold added for the spring campaign")
    assert review.save("ana").needs_review  # the rest is still undecided: nothing confirmed yet
    review.accept_above(0.95, by="ana")
    assert review.save("ana").needs_review
    review.accept_all(by="ana")
    result = review.save("ana")
    assert result.confirmed and not result.needs_review
    data = yaml.safe_load(result.confirmed.read_text(encoding="utf-8"))
    assert data["reviewer"] == "ana"
    assert data["confirmed_with"] == "review notebook, --accept-above 0.95, --accept-all"
    assert data["content_hash"] == fields_hash(data["fields"])
    status = next(e for e in data["fields"] if e.get("custom_field") == "Client_Status")
    assert status["options"] == ["Active", "Inactive", "Prospect", "Former", "On hold"]
    aliases = yaml.safe_load((result.aliases).read_text(encoding="utf-8"))["files"]["Clients"]["columns"]  # type: ignore[union-attr]
    assert aliases["Ref by"] == "location_id_display" and aliases["HC#"] == "_extra"
    proposed = yaml.safe_load((review.cfg.mapping_dir / "proposed.yml").read_text(encoding="utf-8"))
    assert next(f for f in proposed["fields"] if f["entry"].get("custom_field") == "Client_Status")["note"]
    record_build(review.cfg, map_hash(review.cfg))
    assert require_confirmed(review.cfg) == data["content_hash"]


def test_widgets_call_the_review(mapping_customer: MappingCustomer) -> None:
    import ipywidgets as w

    review = _review(mapping_customer)
    ui = review.widget(needs_review_only=True)
    controls, status, lines = ui.children
    only, reviewer, save = controls.children
    before = len(lines.children)
    line = lines.children[0]
    row = line.children[0] if isinstance(line.children[0], w.HBox) else line
    dropdown = next(c for c in row.children if isinstance(c, w.Dropdown))
    dropdown.value = "drop"
    key = review.rows()[0].key
    assert review.item(key)["decision"]["action"] == "drop"
    only.value = False
    only.value = True
    assert len(lines.children) == before - 1
    save.click()  # no reviewer: refused, says so
    assert "reviewer name is required" in status.value

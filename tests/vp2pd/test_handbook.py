"""The automations handbook lists every definition of the source (count and ids equal), suggests a
Pipedrive equivalent for each, and escapes the source's values in its Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from extractors.visual_practice import raw
from sandbox.visual_practice.store import Store
from vp2pd.handbook import COLLECTIONS, build_handbook, handbook_for_customer, load_definitions, md_escape, to_markdown
from vp2pd.warehouse import connect


def test_handbook_lists_every_definition_of_an_extracted_practice(practice_factory: Callable[..., Path],
                                                                   customer: Callable) -> None:
    from tests.transform.conftest import _extract_api

    practice = practice_factory(clients=12, seed=21, mess=0.3)
    cfg = customer()
    _extract_api(practice, cfg)
    store = Store(practice)
    source = {name: sorted(json.loads(d)["id"] for d in store.list(name, per_page=1000)[0]) for name in COLLECTIONS}
    assert all(source.values()), source  # the generator writes 5-15 of each

    book, md, js = handbook_for_customer(cfg)
    data = json.loads(js.read_text(encoding="utf-8"))
    for name, ids in source.items():
        assert data["counts"][name] == len(ids)
        assert sorted(i["id"] for i in data["items"] if i["collection"] == name) == ids
    # Straight from the API (before extraction): the same definitions, the same suggestions.
    import httpx

    from sandbox.visual_practice.app import create_app
    from sandbox.visual_practice.settings import SandboxSettings
    from vp2pd.clock import FakeClock

    app = create_app(Store(practice), SandboxSettings(api_key="test-key-9c1e", requests_per_minute=10_000),
                     FakeClock(1_795_000_000.0))
    api_book, _, _ = handbook_for_customer(cfg, from_api=True, transport=httpx.ASGITransport(app=app))
    assert [(i.collection, i.id, i.suggestion) for i in api_book.items] == [
        (i.collection, i.id, i.suggestion) for i in book.items]
    text = md.read_text(encoding="utf-8")
    for item in book.items:
        assert f"| {md_escape(item.id)} | {md_escape(item.name)} |" in text
        assert item.rebuild_as and item.suggestion
    # Suggestions follow the definition: an SMS automation goes through an SMS app, an e-mail one
    # sends e-mail, an e-mail template is a Pipedrive e-mail template with its merge fields named.
    automations = [i for i in book.items if i.collection == "automations"]
    for item in automations:
        expected = {"sms": "Marketplace SMS app", "email": "Send email"}[item.definition["action"]["send"]]
        assert expected in item.suggestion, item
    emails = [i for i in book.items if i.collection == "templates" and i.kind == "email"]
    assert emails and all(i.rebuild_as == "Email template" for i in emails)
    assert any("{{client.first_name}} -> Person › first_name" in c for c in emails[0].caveats)
    assert {i.rebuild_as for i in book.items if i.collection == "reports"} <= {"Insights report + filter",
                                                                                 "Stays in billing"}


def test_markdown_escapes_source_values(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    raw.ensure_schema(con)
    evil = "Reminder | <script>alert(1)</script> **bold** [link](http://x)"
    con.execute("insert into raw_visual_practice.automations (id, name, kind, \"trigger\", is_active) values "
                "('7', ?, 'reminder', ?, true), ('8', 'gone', 'recall', '{}', true)",
                [evil, json.dumps({"event": "appointment.booked", "offset_hours": -24,
                                   "action": {"send": "email", "template": "```</code><img onerror=x>"}})])
    con.execute("update raw_visual_practice.automations set _deleted_at = now() where id = '8'")
    con.execute("insert into raw_visual_practice.templates (id, name, kind, body, is_active) values "
                "('9', 'Line1\nLine2', 'email', '{\"subject\": \"Hi\", \"html\": \"{{client.first_name}}\"}', false)")
    definitions = load_definitions(con)
    con.close()
    assert [d["id"] for d in definitions["automations"]] == ["7"]  # the deleted one is not a live definition
    assert definitions["reports"] == []
    book = build_handbook(definitions, "Evil & Co <b>")
    text = to_markdown(book)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<img" not in text.split("```")[0]  # outside the fenced definitions, no raw tag
    assert "Evil &amp; Co &lt;b&gt;" in text
    # The row keeps its six cells: the pipe in the name is escaped, not a column break.
    row = next(line for line in text.splitlines() if line.startswith("| 7 |"))
    assert row.count(" | ") == 5 and "\\|" in row and "\\*\\*bold\\*\\*" in row
    # A value with a triple backtick sits in a longer fence, so it cannot close it.
    assert "````json" in text
    assert "| 9 | Line1 Line2 | email | no |" in text  # a line break in a name stays in its cell
    inactive = next(i for i in book.items if i.id == "9")
    assert inactive.caveats[0].startswith("inactive in Visual Practice")
    before = next(i for i in book.items if i.id == "7")
    assert "24 h before the appointment" in before.suggestion
    assert any("ahead of a due date" in c for c in before.caveats)

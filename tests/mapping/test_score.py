"""The scorer's signals, one at a time: lexicon, values, one-to-one choice, not-migrated, reasons."""

from __future__ import annotations

from vp2pd.mapping.profile import profile_values
from vp2pd.mapping.score import header_similarity, propose_file, rank

PHONES = ["613-555-0142", "819-555-0199", "416-555-0101", "613-555-0177"]


def _choose(columns: dict[str, list[str]], coll: str = "clients") -> dict[str, str | None]:
    profiled = {name: profile_values(name, values) for name, values in columns.items()}
    return {p.column: (p.chosen.target.name if p.chosen and p.chosen.target else None)
            for p in propose_file(profiled, coll)}


def test_lexicon_reads_abbreviations_and_french() -> None:
    for header, label in [("DOB", "Date of Birth"), ("Date de naissance", "Date of Birth"), ("Cell #", "Cell Phone"),
                          ("Courriel", "E-mail"), ("No de dossier", "Chart #"), ("HC#", "Health #")]:
        assert header_similarity(header, [label])[0] == 1.0, header
    assert header_similarity("Adress", ["Address"])[0] > 0.7  # a typo still counts


def test_values_decide_when_the_header_says_nothing() -> None:
    emails = ["a.b@example.ca", "c@d.com", "e.f@gmail.com", "g@h.org"]
    assert _choose({"Misc 3": emails}) == {"Misc 3": "emails[email]"}
    assert _choose({"Field 7": ["9876543217", "1234-567-897", "2345-678-904"]}) == {"Field 7": "health_number"}


def test_one_column_per_target_best_pairs_first() -> None:
    chosen = _choose({"Phone": PHONES, "Cell": PHONES, "Work": PHONES})
    assert chosen == {"Phone": "phones[home]", "Cell": "phones[mobile]", "Work": "phones[work]"}


def test_unrelated_columns_are_not_migrated_and_say_why() -> None:
    profiled = {"Favourite Colour": profile_values("Favourite Colour", ["blue", "green", "red", "teal"])}
    (prop,) = propose_file(profiled, "clients")
    assert prop.chosen is not None and prop.chosen.target is None
    assert "no contract field fits" in prop.chosen.reason(prop.column, prop.profile)
    # a header the alias table keeps in _extra on purpose is recognised as such
    ranked = rank("$ Paid", profile_values("$ Paid", ["$45.00", "$0.00"]), "invoices")
    assert ranked[0].target is None and "kept in _extra" in ranked[0].reason("$ Paid", profile_values("x", []))


def test_reason_names_each_signal_and_confidence_drops_on_a_near_tie() -> None:
    dob = profile_values("DOB", ["19610714", "19751201", "20000229"])
    (prop,) = propose_file({"DOB": dob}, "clients")
    reason = prop.chosen.reason("DOB", dob)  # type: ignore[union-attr]
    assert "'Date of Birth'" in reason and "100% date (%Y%m%d)" in reason and prop.confidence >= 0.9
    # "Date" fits several date fields equally: it is proposed, but not with confidence
    (vague,) = propose_file({"Date": profile_values("Date", ["20240101 10:00", "20240102 11:00"])}, "clients")
    assert vague.confidence < 0.9

"""Pattern detectors and inferred types on values as exports write them."""

from __future__ import annotations

import pytest

from vp2pd.mapping.profile import luhn_ok, profile_values


def test_ontario_health_numbers_need_their_check_digit() -> None:
    valid = ["9876543217", "1234-567-897", "1234 567 897 AB"]
    assert luhn_ok("9876543217") and not luhn_ok("9876543210")
    p = profile_values("HC", valid)
    assert p.share("health_number") == 1.0
    assert profile_values("x", ["9876543210", "1234-567-890"]).share("health_number") == 0.0


@pytest.mark.parametrize("values, fmt", [
    (["20261120", "19610714", "20000229"], "%Y%m%d"),
    (["07/14/1961", "12/31/1999", "01/02/2003"], "%m/%d/%Y"),
    (["14/07/1961", "31/12/1999", "01/02/2003"], "%d/%m/%Y"),
    (["14.07.1961", "31.12.1999"], "%d.%m.%Y"),
    (["Mar 02, 1980", "Dec 31, 1999"], "%b %d, %Y"),
])
def test_date_format_is_found(values: list[str], fmt: str) -> None:
    p = profile_values("d", values)
    assert (p.inferred_type, p.date_format, p.share("date")) == ("date", fmt, 1.0)


def test_datetimes_and_iso_timestamps() -> None:
    p = profile_values("t", ["20261120 14:30", "20261121 09:05", ""])
    assert (p.inferred_type, p.date_format, p.nulls) == ("datetime", "%Y%m%d", 1)
    assert profile_values("t", ["2025-07-23T08:00:00Z", "2025-01-28T09:30:00Z"]).inferred_type == "datetime"


def test_contact_details() -> None:
    assert profile_values("e", ["a.b@example.ca", "jane@@x.com", "none", ""]).share("email") == pytest.approx(1 / 3, abs=0.01)
    phones = profile_values("p", ["(613) 555-0142", "613-555-0142", "+1 613 555 0142", "613.555.0142", "6135550142"])
    assert phones.share("phone") == 1.0
    assert profile_values("pc", ["K1A 0B1", "h2x1y4", "90210"]).share("postal_code") == 1.0
    assert profile_values("pc", ["D1A 0B1", "K1A0B"]).share("postal_code") == 0.0  # D is never a first letter
    assert profile_values("v", ["AB", "K", "ZZ"]).share("version_code") == 1.0


def test_money_names_ids_and_references() -> None:
    money = profile_values("m", ["$1,234.50", "125.00", "$45.00"])
    assert money.inferred_type == "money" and money.share("money") == 1.0
    assert profile_values("n", ["SMITH, JOHN", "D'AMOURS, FRANÇOIS"]).share("display_name") == 1.0
    assert profile_values("n", ["Dr. Anne Tremblay", "Marc Leblanc"]).share("full_name") == 1.0
    ids = profile_values("id", ["000042", "000007", "000043"])
    refs = profile_values("ref", ["000042", "000042", "000007", "000007"])
    assert ids.share("identifier") == refs.share("identifier") == 1.0
    assert ids.share("unique") == 1.0 and refs.share("unique") == 0.5


def test_counts_top_values_and_empty_columns() -> None:
    p = profile_values("s", ["active", "active", "inactive", None, " "])
    assert (p.count, p.nulls, p.distinct, p.top_values[0]) == (5, 2, 2, ("active", 2))
    assert p.null_rate == pytest.approx(0.4) and p.enum_values == ("active", "inactive")
    empty = profile_values("e", [None, ""])
    assert (empty.inferred_type, empty.null_rate, empty.filled) == ("empty", 1.0, 0)
    assert profile_values("b", ["yes", "no", "Yes"]).inferred_type == "bool"
    assert profile_values("p", ["ON", "Québec", "QC"]).share("province") == 1.0

"""The warehouse helpers: bulk inserts (few rows as VALUES, many over Arrow) and the scoped memory cap."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from vp2pd import warehouse
from vp2pd.warehouse import FEW_VALUES, connect, insert_rows, memory_limit

COLUMNS = ("id", "name", "amount", "seen_at", "tags")


def _rows(n: int) -> list[tuple]:
    return [(f"r{i}", None if i % 3 else f"name '{i}'", Decimal("12.50") * i, datetime(2026, 1, 1, 9, i % 60),
             [f"t{i}", "x"]) for i in range(n)]


@pytest.mark.parametrize("count", [1, FEW_VALUES // len(COLUMNS), FEW_VALUES // len(COLUMNS) + 1, 3_000])
def test_insert_rows_lands_every_row_with_its_values_on_both_paths(count: int) -> None:
    con = connect(":memory:")
    con.execute("CREATE TABLE t (id VARCHAR PRIMARY KEY, name VARCHAR, amount DECIMAL(18, 2), seen_at TIMESTAMP, "
                "tags VARCHAR[])")
    rows = _rows(count)
    insert_rows(con, "t", COLUMNS, rows)
    assert con.execute("SELECT * FROM t ORDER BY id").fetchall() == sorted(
        [(r[0], r[1], r[2], r[3], r[4]) for r in rows])
    # `replace` upserts by key on either path
    insert_rows(con, "t", COLUMNS, [("r0", "again", Decimal("1"), datetime(2026, 2, 1), [])], replace=True)
    assert con.execute("SELECT name, amount, tags FROM t WHERE id = 'r0'").fetchone() == ("again", Decimal("1.00"), [])
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == count


def test_insert_rows_as_text_stores_every_value_as_text() -> None:
    con = connect(":memory:")
    con.execute("CREATE TABLE t (a VARCHAR, b VARCHAR)")
    insert_rows(con, "t", ("a", "b"), [("1", None), ("x", "2")], as_text=True)
    assert con.execute("SELECT * FROM t ORDER BY a").fetchall() == [("1", None), ("x", "2")]


def test_memory_limit_raises_the_cap_for_the_block_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(warehouse.MEMORY_LIMIT_ENV, raising=False)
    con = connect(":memory:")
    cap = lambda: con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # noqa: E731
    mib = lambda: float(cap().removesuffix(" MiB"))  # noqa: E731
    assert mib() == 488.2  # the warehouse's 512 MB
    with memory_limit(con, "700MB"):
        assert mib() == 667.5  # DuckDB shows 700 MB in MiB
    assert abs(mib() - 488.2) <= 0.1  # restored from DuckDB's rounded figure


def test_memory_limit_leaves_a_cap_set_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warehouse.MEMORY_LIMIT_ENV, "300MB")
    con = connect(":memory:")
    with memory_limit(con, "700MB"):
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"


def test_setting_restores_a_false_boolean_and_derives_a_value_from_the_current_one() -> None:
    con = connect(":memory:")
    get = lambda name: con.execute(f"SELECT current_setting('{name}')").fetchone()[0]  # noqa: E731
    with warehouse.setting(con, "preserve_insertion_order", "true"):
        assert get("preserve_insertion_order") is True
    assert get("preserve_insertion_order") is False  # the warehouse's own
    with warehouse.setting(con, "disabled_compression_methods", lambda now: ",".join(filter(None, [now, "fsst"]))):
        assert get("disabled_compression_methods") == "FSST"
    assert get("disabled_compression_methods") == ""

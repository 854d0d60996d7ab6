"""Custom-property values that fail their type cast are reported, never lost silently.

The messy practice's own mixed values ('12 visits', 'oui', '25/07/2024') are all readable, so the
test plants unreadable ones in a copy of its warehouse and rebuilds only the models they flow
through: the Person is still sent, with the field empty, and migration__skipped names the record,
the field and the value; the value-level accounting test stays green.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.transform.conftest import Built
from vp2pd.transform import run_transform
from vp2pd.warehouse import connect

pytestmark = [pytest.mark.xdist_group("dbt-messy"), pytest.mark.slow]

P = "pipedrive."
REBUILT = ("int_clients_resolved int_persons_unioned int_custom_values_rejected pipedrive__persons migration__skipped "
           "assert_every_custom_property_value_is_sent_or_reported")
PLANTED = {"Visits Prepaid": "ten", "Newsletter": "maybe", "Consent Signed": "31/02/2024"}


def test_unreadable_custom_values_are_reported_with_record_field_and_value(messy: Built, tmp_path: Path) -> None:
    cfg = messy.cfg.model_copy(update={"build_dir": tmp_path / "build"})
    cfg.build_dir.mkdir(parents=True)
    shutil.copy(messy.cfg.warehouse_path, cfg.warehouse_path)
    con = connect(cfg.warehouse_path)
    try:
        victim = con.execute(f"SELECT source_id FROM {P}pipedrive__persons WHERE source_collection = 'clients' "
                             "ORDER BY source_id LIMIT 1").fetchone()[0]
        con.execute("UPDATE raw_visual_practice.clients SET custom_properties = json_merge_patch("
                    "coalesce(custom_properties::json, '{}'::json), ?::json) WHERE id = ?",
                    ['{"Visits Prepaid": "ten", "Newsletter": "maybe", "Consent Signed": "31/02/2024", "Pronouns": "x"}',
                     victim])
    finally:
        con.close()
    built = Built(cfg, run_transform(cfg, select=REBUILT), messy.quirks)
    assert built.result.success, built.result.failures

    sent = built.one(f'SELECT "Visits_Prepaid", "Newsletter", "Consent_Signed", "Pronouns" FROM {P}pipedrive__persons '
                     "WHERE natural_key = ?", [f"clients:{victim}"])
    assert sent == {"Visits_Prepaid": None, "Newsletter": None, "Consent_Signed": None, "Pronouns": "x"}
    reported = built.rows(f"SELECT field, detail, kind FROM {P}migration__skipped "
                          "WHERE reason = 'custom_property_invalid' AND source_collection = 'clients' AND source_id = ? "
                          "ORDER BY field", [victim])
    assert [r["field"] for r in reported] == ["Consent_Signed", "Newsletter", "Visits_Prepaid"]
    for r in reported:
        label = next(k for k in PLANTED if k.replace(" ", "_") == r["field"])
        assert r["kind"] == "reported" and f'{label} = "{PLANTED[label]}"' in r["detail"], r
    # Only the planted values are unreadable: the messy practice's own mixed values all map.
    others = built.rows(f"SELECT source_id FROM {P}migration__skipped WHERE reason = 'custom_property_invalid' "
                        "AND source_id <> ?", [victim])
    assert others == []

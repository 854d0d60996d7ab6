"""The marts' shapes are Pipedrive's: the bodies the loader builds from mart rows meet the v2 spec.

Three shapes that differ from the source's: a yes/no field is an enum (Pipedrive has no boolean
field type) whose label becomes an option id; a product's `category` is an option id of the
account's category field while the mart keeps the label; an activity's `location` is an address
object. Bodies are built by the loader's own Shaper (loaders/pipedrive/rows.py) with a field
catalogue like an account's, and checked against the OpenAPI request schema.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loaders.pipedrive.fields import Field, FieldCatalogue
from loaders.pipedrive.rows import Shaper, numeric_properties, object_properties, read_mart, request_properties
from loaders.pipedrive.sequence import BY_NAME
from tests.contract.validate import request_problems
from tests.transform.conftest import Built
from vp2pd import pipedrive_contract as pc
from vp2pd.warehouse import connect

pytestmark = [pytest.mark.xdist_group("dbt-messy"), pytest.mark.slow]

ENTITY_OBJECT = {"person": "persons", "organization": "organizations", "deal": "deals", "product": "products"}


def _catalogue(obj: str, rows: list[dict[str, Any]]) -> FieldCatalogue:
    catalogue = FieldCatalogue(None, obj, default_currency="CAD")  # type: ignore[arg-type]  # fields are given: no API call
    catalogue._by_name = {" ".join(r["field_name"].split()).casefold(): Field.from_api(r) for r in rows}
    return catalogue


def _shaper(built: Built) -> tuple[Shaper, dict[str, list[dict[str, Any]]]]:
    con = connect(built.cfg.warehouse_path, read_only=True)
    try:
        marts = {m: read_mart(con, f"pipedrive__{m}") for m in ("organizations", "persons", "products", "deals",
                                                              "activities", "custom_fields")}
    finally:
        con.close()
    option_id = iter(range(1000, 100000))
    custom: dict[str, list[dict[str, Any]]] = {}
    for i, f in enumerate(marts["custom_fields"]):
        if f["object"] in ENTITY_OBJECT:
            custom.setdefault(ENTITY_OBJECT[f["object"]], []).append({
                "field_name": f["field_name"], "field_code": f"{i:040x}", "field_type": f["field_type"],
                "is_custom_field": True, "options": [{"id": next(option_id), "label": o} for o in f["options"]]})
    categories = sorted({p["category"] for p in marts["products"] if p["category"]})
    builtin_category = {"field_name": "Category", "field_code": "category", "field_type": "enum", "is_custom_field": False,
                        "options": [{"id": next(option_id), "label": c} for c in categories]}
    catalogues = {obj: _catalogue(obj, custom.get(obj, []) + ([builtin_category] if obj == "products" else []))
                  for obj in ("organizations", "persons", "products", "deals", "activities")}
    ids = iter(range(1, 10**9))
    id_maps = {m: {r["natural_key"]: str(next(ids)) for r in marts[m]} for m in ("organizations", "persons", "deals")}
    names = {obj: [f["field_name"] for f in fields] for obj, fields in custom.items()}
    return Shaper(catalogues, names, id_maps, owners={}, fallback_owner=None), marts


def _body(shaper: Shaper, step: str, row: dict[str, Any]) -> dict[str, Any]:
    path = f"/api/v2/{step}"
    body = shaper.body(BY_NAME[step], row, request_properties("POST", path), numeric_properties("POST", path),
                       set(), object_properties("POST", path))
    op = pc.operation_for("POST", path)
    problems = request_problems(op, httpx.Request("POST", f"https://acme.pipedrive.com{path}", json=body))
    assert problems == [], (step, row["natural_key"], problems)
    return body


def test_yes_no_fields_category_and_location_reach_pipedrive_in_its_shapes(messy: Built) -> None:
    shaper, marts = _shaper(messy)
    persons = shaper.catalogues["persons"]
    yes_no = {name: persons.field(name) for name in ("Newsletter", "Practitioner_Former")}
    assert all(f.field_type == "enum" and sorted(f.labels.values()) == ["No", "Yes"] for f in yes_no.values())

    checked = {"Newsletter": 0, "Practitioner_Former": 0}
    for row in marts["persons"]:
        if not any(row.get(n) for n in checked):
            continue
        sent = _body(shaper, "persons", row)["custom_fields"]
        for name, f in yes_no.items():
            if row.get(name):
                assert sent[f.key] == f.options[row[name].casefold()]  # the option id, not true/false
                checked[name] += 1
    assert checked["Newsletter"] > 10 and checked["Practitioner_Former"] >= 1, checked

    category = shaper.catalogues["products"].fields["category"]
    products = [p for p in marts["products"] if p["category"]]
    assert products
    for row in products:
        assert _body(shaper, "products", row)["category"] == category.options[row["category"].casefold()]

    located = [a for a in marts["activities"] if a["location"]][:50]
    assert located
    for row in located:
        assert _body(shaper, "activities", row)["location"] == {"value": row["location"]["value"]}

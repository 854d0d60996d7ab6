"""The cost table and path matching of vp2pd.pipedrive_contract, checked against the YAML itself."""

from __future__ import annotations

import pytest

from vp2pd import pipedrive_contract as pc


def test_table_is_every_operation_of_both_specs() -> None:
    for version in pc.VERSIONS:
        expected = {(m.upper(), path) for path, item in pc.spec(version)["paths"].items()
                    for m in item if m.upper() in pc.HTTP_METHODS}
        assert {(o.method, o.template) for o in pc.operations(version)} == expected
        # The snapshot prices every operation; MISSING_TOKEN_COST is only a guard for newer specs.
        for path, item in pc.spec(version)["paths"].items():
            for m, op in item.items():
                if m.upper() in pc.HTTP_METHODS:
                    assert isinstance(op["x-token-cost"], int), (version, m, path)


@pytest.mark.parametrize(("method", "path", "version", "template", "cost"), [
    ("GET", "/api/v2/persons", "v2", "/persons", 10),
    ("GET", "/api/v2/persons/12", "v2", "/persons/{id}", 1),
    ("patch", "/api/v2/persons/12?x=1", "v2", "/persons/{id}", 5),
    ("GET", "/api/v2/persons/search", "v2", "/persons/search", 20),
    ("GET", "/api/v2/deals/products", "v2", "/deals/products", 10),
    ("POST", "/api/v2/deals/7/products/bulk", "v2", "/deals/{id}/products/bulk", 25),
    ("PATCH", "/api/v2/deals/7/products/3", "v2", "/deals/{id}/products/{product_attachment_id}", 5),
    ("POST", "/api/v2/personFields/abc/options", "v2", "/personFields/{field_code}/options", 5),
    ("GET", "/v1/notes", "v1", "/notes", 20),
    ("GET", "/api/v1/notes/4", "v1", "/notes/{id}", 2),
    ("GET", "/v1/users/find", "v1", "/users/find", 40),
    ("GET", "/v1/users/me", "v1", "/users/me", 2),
    ("GET", "/v1/users/9", "v1", "/users/{id}", 2),
    ("GET", "https://acme.pipedrive.com/v1/files/3/download", "v1", "/files/{id}/download", 20),
])
def test_operation_for_matches_literal_before_param(method: str, path: str, version: str, template: str,
                                                     cost: int) -> None:
    op = pc.operation_for(method, path)
    assert op is not None
    assert (op.version, op.template, op.token_cost) == (version, template, cost)
    assert pc.token_cost(method, path) == cost


def test_operation_ids_and_params() -> None:
    op = pc.operation_for("DELETE", "/api/v2/deals/7/products/3")
    assert op is not None and op.operation_id == "deleteDealProduct"
    assert pc.path_params(op, "/api/v2/deals/7/products/3") == {"id": "7", "product_attachment_id": "3"}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/persons"), ("POST", "/v1/deals"), ("GET", "/v1/organizations/5"),
    ("PUT", "/v1/activities/1"), ("GET", "/api/v1/products"), ("GET", "/v1/stages"), ("GET", "/v1/pipelines"),
])
def test_removed_v1_endpoints_are_not_operations(method: str, path: str) -> None:
    assert pc.operation_for(method, path) is None
    assert pc.is_removed_v1(method, path)
    with pytest.raises(LookupError, match="not an operation"):
        pc.token_cost(method, path)


def test_removed_v1_keeps_the_operations_the_spec_still_lists() -> None:
    assert not pc.is_removed_v1("GET", "/v1/persons/5/changelog")
    assert not pc.is_removed_v1("GET", "/v1/notes")
    assert not pc.is_removed_v1("GET", "/api/v2/persons")


def test_unknown_paths() -> None:
    assert pc.operation_for("GET", "/api/v3/persons") is None
    assert pc.operation_for("GET", "/api/v2/nothing") is None
    assert pc.operation_for("PUT", "/api/v2/persons/1") is None  # v2 updates are PATCH


def test_search_operations_have_the_search_burst() -> None:
    search = pc.operation_for("GET", "/api/v2/itemSearch")
    assert search is not None and search.is_search
    assert pc.burst_limit("premium", search) == pc.SEARCH_BURST_PER_2S == 10
    persons = pc.operation_for("GET", "/api/v2/persons")
    assert pc.burst_limit("growth", persons) == 40


def test_daily_budget() -> None:
    assert pc.daily_budget("lite", 1) == 30_000
    assert pc.daily_budget("growth", 3) == 180_000
    assert pc.daily_budget("ultimate", 10) == 2_100_000
    with pytest.raises(ValueError, match="unknown Pipedrive plan"):
        pc.daily_budget("gold", 1)
    with pytest.raises(ValueError, match="seats"):
        pc.daily_budget("lite", 0)

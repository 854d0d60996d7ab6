"""The gate: no confirmed map, an unreviewed map, a map edited after confirmation or after the
build -> the load refuses, naming the step to run; the transform records what it built from."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.mapping.conftest import MappingCustomer
from vp2pd.mapping.confirm import write_confirmed
from vp2pd.mapping.gate import (MapNotConfirmed, built_path, fields_hash, map_hash, record_build,
                                require_confirmed)


def _fields(cfg) -> list[dict]:  # type: ignore[no-untyped-def]
    return yaml.safe_load((cfg.mapping_dir / "confirmed.yml").read_text(encoding="utf-8"))["fields"]


def test_no_confirmed_map_refuses_and_names_propose_and_confirm(mapping_customer: MappingCustomer) -> None:
    cfg = mapping_customer.cfg()
    (cfg.mapping_dir / "confirmed.yml").unlink()
    with pytest.raises(MapNotConfirmed, match=r"no confirmed field map .*vp2pd propose-map --customer demo.*"
                                              r"vp2pd confirm-map --customer demo"):
        require_confirmed(cfg)


def test_unreviewed_map_refuses(mapping_customer: MappingCustomer) -> None:
    # the shipped demo map has entries but no reviewer or content hash
    with pytest.raises(MapNotConfirmed, match="was not confirmed by a review"):
        require_confirmed(mapping_customer.cfg())


def test_confirmed_and_built_passes_then_edits_refuse(mapping_customer: MappingCustomer) -> None:
    cfg = mapping_customer.cfg()
    path, content_hash = write_confirmed(cfg, _fields(cfg), reviewer="ana", how="review")
    with pytest.raises(MapNotConfirmed, match="never built .*vp2pd transform --customer demo"):
        require_confirmed(cfg)
    record_build(cfg, map_hash(cfg))
    assert require_confirmed(cfg) == content_hash == json.loads(built_path(cfg).read_text())["map_hash"]

    # an entry edited by hand after the confirmation
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("custom_field: Chart_Number", "custom_field: Chart_No"), encoding="utf-8")
    with pytest.raises(MapNotConfirmed, match="edited after it was confirmed.*vp2pd confirm-map --customer demo"):
        require_confirmed(cfg)

    # confirmed again, but the marts are still those of the old map
    write_confirmed(cfg, _fields(cfg), reviewer="ana", how="review")
    with pytest.raises(MapNotConfirmed, match="built from another map.*vp2pd transform --customer demo"):
        require_confirmed(cfg)
    record_build(cfg, map_hash(cfg))
    assert require_confirmed(cfg) == map_hash(cfg) != content_hash


def test_hash_is_over_entries_not_layout(mapping_customer: MappingCustomer) -> None:
    cfg = mapping_customer.cfg()
    fields = _fields(cfg)
    block = yaml.safe_dump({"version": 1, "fields": [dict(reversed(list(e.items()))) for e in fields]},
                           default_flow_style=False)
    reordered = yaml.safe_load(block)["fields"]
    assert fields_hash(reordered) == fields_hash(fields)
    changed = [dict(e) for e in fields]
    changed[0]["rule"] = 99
    assert fields_hash(changed) != fields_hash(fields)


def test_transform_records_the_hash_it_built_from(mapping_customer: MappingCustomer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`run_transform` after a successful dbt build writes mapping_built.json; after a failed one it does not."""
    from vp2pd import transform

    cfg = mapping_customer.cfg()
    calls: list[list[str]] = []

    def fake_dbt(returncode: int):  # type: ignore[no-untyped-def]
        def run(args, **_):  # type: ignore[no-untyped-def]
            calls.append(args)
            return subprocess.CompletedProcess(args, returncode, "", "")
        return run

    monkeypatch.setattr(transform.subprocess, "run", fake_dbt(1))
    result = transform.run_transform(cfg)
    assert not result.success and not built_path(cfg).exists()
    monkeypatch.setattr(transform.subprocess, "run", fake_dbt(0))
    assert transform.run_transform(cfg).success
    assert json.loads(built_path(cfg).read_text())["map_hash"] == map_hash(cfg)
    assert Path(calls[-1][0]).name == "dbt" and calls[-1][1] == "build"

"""Customer configuration: defaults < file < environment; secrets refused in files."""

from pathlib import Path

import pytest

from vp2pd.config import ConfigError, load_customer
from vp2pd.secrets import MissingSecret, redact, vp_api_key


def write_customer(root: Path, slug: str, text: str) -> Path:
    folder = root / slug
    folder.mkdir(parents=True)
    (folder / "customer.yml").write_text(text, encoding="utf-8")
    return folder


def test_demo_customer_loads_with_its_file_values() -> None:
    cfg = load_customer("demo")
    assert cfg.slug == "demo"
    assert cfg.visual_practice.per_page == 100
    assert cfg.warehouse_path == Path("build/demo.duckdb")
    assert cfg.documents_dir == Path("build/demo/documents")


def test_file_overrides_defaults_and_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_customer(tmp_path, "acme", "name: Acme\nvisual_practice:\n  concurrency: 2\n  base_url: https://acme.visualpractice.app/api/v1\n")
    cfg = load_customer("acme", tmp_path)
    assert cfg.visual_practice.concurrency == 2  # file over default (4)
    assert cfg.visual_practice.requests_per_minute == 200  # default kept
    monkeypatch.setenv("VP2PD_VISUAL_PRACTICE__BASE_URL", "http://127.0.0.1:9999/api/v1")
    monkeypatch.setenv("VP2PD_DOCUMENTS__SIZE_LIMIT_MB", "10")
    cfg = load_customer("acme", tmp_path)
    assert cfg.visual_practice.base_url == "http://127.0.0.1:9999/api/v1"  # environment over file
    assert cfg.visual_practice.concurrency == 2
    assert cfg.documents.size_limit_mb == 10


def test_secrets_in_the_file_are_refused_with_their_names(tmp_path: Path) -> None:
    write_customer(tmp_path, "leaky", "name: Leaky\nvisual_practice:\n  api_key: abc123\n")
    with pytest.raises(ConfigError, match=r"visual_practice\.api_key.*environment"):
        load_customer("leaky", tmp_path)


@pytest.mark.parametrize("text, message", [
    ("name: X\nvisual_practice:\n  per_page: 500\n", "per_page"),
    ("name: X\nunknown_setting: 1\n", "unknown_setting"),
    ("name: X\nslug: other\n", "folder"),
    ("- just\n- a list\n", "mapping"),
])
def test_invalid_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    write_customer(tmp_path, "bad", text)
    with pytest.raises(ConfigError, match=message):
        load_customer("bad", tmp_path)


def test_missing_customer_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no customer configuration"):
        load_customer("nobody", tmp_path)


def test_api_key_only_from_environment_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VP_API_KEY", raising=False)
    with pytest.raises(MissingSecret, match="VP_API_KEY"):
        vp_api_key()
    monkeypatch.setenv("VP_API_KEY", "s3cr3t-key-value")
    assert vp_api_key() == "s3cr3t-key-value"
    assert redact("GET with s3cr3t-key-value failed") == "GET with <VP_API_KEY> failed"


def test_pipedrive_section_builds_the_client_and_the_environment_wins(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from loaders.pipedrive.client import PipedriveClient
    from vp2pd.aio import run_sync

    write_customer(tmp_path, "acme", "name: Acme\npipedrive:\n  company: acme-clinic\n  plan: premium\n  seats: 3\n")
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "pd-token-5e7a")
    monkeypatch.setenv("VP2PD_PIPEDRIVE__SEATS", "4")
    cfg = load_customer("acme", tmp_path)
    assert cfg.pipedrive.client_options() == {"company": "acme-clinic", "auth": "api_token", "plan": "premium",
                                              "seats": 4, "timezone": "UTC", "timeout_s": 30.0,
                                              "concurrency": 8, "max_concurrency": 32}
    client = PipedriveClient.from_env(**cfg.pipedrive.client_options())
    try:
        assert client.base_url == "https://acme-clinic.pipedrive.com"
        assert client.ledger.daily_budget == 30_000 * 5 * 4  # premium multiplier x seats from the environment
        assert "pd-token-5e7a" not in repr(client)
    finally:
        run_sync(client.aclose())


def test_pipedrive_target_must_be_one_company_or_one_url(tmp_path: Path) -> None:
    write_customer(tmp_path, "both", "name: Both\npipedrive:\n  company: a\n  base_url: http://127.0.0.1:1\n")
    with pytest.raises(ConfigError, match="pipedrive.company or pipedrive.base_url, not both"):
        load_customer("both", tmp_path)
    write_customer(tmp_path, "none", "name: None\n")
    with pytest.raises(ConfigError, match="set pipedrive.company"):
        load_customer("none", tmp_path).pipedrive.client_options()
    assert load_customer("demo").pipedrive.client_options()["base_url"] == "http://127.0.0.1:8766"


def test_mapping_rules_default_and_come_from_the_file(tmp_path: Path) -> None:
    demo = load_customer("demo")
    assert demo.rules.status_map["former"] == "Former"
    assert (demo.rules.invoice_notes, demo.rules.soap_notes, demo.rules.keep_appointments) == ("per_invoice", "activity_note", [])
    assert demo.rules.claims.migrate is False and demo.rules.note_max_bytes == 100_000
    write_customer(tmp_path, "acme", "name: Acme\nrules:\n  invoice_notes: per_person\n  keep_appointments: [no_show]\n"
                   "  status_map: {active: Active, lapsed: Former}\n  claims: {migrate: true, fields: [payer]}\n")
    cfg = load_customer("acme", tmp_path)
    assert cfg.rules.invoice_notes == "per_person" and cfg.rules.keep_appointments == ["no_show"]
    assert cfg.rules.status_map == {"active": "Active", "lapsed": "Former"}
    assert cfg.rules.claims.migrate and cfg.rules.claims.fields == ["payer"]
    assert cfg.mapping_dir == tmp_path / "acme" / "mapping" and cfg.pipeline_path == tmp_path / "acme" / "pipeline.yml"


@pytest.mark.parametrize("rules, word", [
    ("status_map: {active: Current}", "status_map"),
    ("soap_notes: inline", "soap_notes"),
    ("keep_appointments: [template]", "keep_appointments"),
    ("claims: {migrate: true, fields: [ssn]}", "claims"),
    ("note_max_bytes: 500000", "note_max_bytes"),
    ("invoice_note: per_person", "invoice_note"),
])
def test_bad_mapping_rules_are_refused_with_the_setting_named(tmp_path: Path, rules: str, word: str) -> None:
    write_customer(tmp_path, "bad", f"name: Bad\nrules:\n  {rules}\n")
    with pytest.raises(ConfigError, match=word):
        load_customer("bad", tmp_path)

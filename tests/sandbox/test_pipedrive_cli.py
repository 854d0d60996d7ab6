"""`vp2pd sandbox pipedrive`: options and PIPEDRIVE_API_TOKEN become the sandbox's settings.

`serve` is replaced by a recorder (serving blocks; the real server is tested through `start()` in
test_pipedrive_server.py), so these run in process in milliseconds.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import sandbox.pipedrive.server as server
from sandbox.pipedrive.settings import PipedriveSandboxSettings
from vp2pd.cli import app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[PipedriveSandboxSettings, str, int]]:
    calls: list[tuple[PipedriveSandboxSettings, str, int]] = []
    monkeypatch.setattr(server, "serve", lambda settings, host, port: calls.append((settings, host, port)))
    return calls


def test_token_from_the_environment_and_plan_options(served: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "env-token-7d2e")
    result = CliRunner().invoke(app, ["sandbox", "pipedrive", "--port", "9123", "--plan", "premium", "--seats", "2",
                                      "--seed", "5", "--latency-ms", "100", "--state-file", "build/pd.json"])
    assert result.exit_code == 0, result.output
    (settings, host, port), = served
    assert (host, port) == ("127.0.0.1", 9123)
    assert settings.accepts("env-token-7d2e") and not settings.accepts("other")
    assert (settings.plan, settings.seats, settings.account_seed, settings.latency_ms) == ("premium", 2, 5, 100.0)
    assert str(settings.state_file) == "build/pd.json"


def test_token_option_wins_and_a_bad_plan_is_an_error(served: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "env-token")
    assert CliRunner().invoke(app, ["sandbox", "pipedrive", "--token", "cli-token"]).exit_code == 0
    assert served[0][0].accepts("cli-token") and not served[0][0].accepts("env-token")
    bad = CliRunner().invoke(app, ["sandbox", "pipedrive", "--plan", "gold"])
    assert bad.exit_code == 1 and "plan" in bad.output and len(served) == 1


def test_without_a_token_it_says_how_to_give_one(served: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["sandbox", "pipedrive"])
    assert result.exit_code == 1 and "PIPEDRIVE_API_TOKEN" in result.output and "--token" in result.output
    assert served == []

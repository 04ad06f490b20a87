"""docker-compose.yml and the README agree with the settings the portal actually reads."""

import os
from pathlib import Path

import pytest
import yaml

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


class RecordingEnvironment(dict):
    """An environment that remembers which variables were asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:
        self.read.add(key)
        return super().get(key, default)


@pytest.fixture
def setting_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> set[str]:
    """Every environment variable Settings.from_env reads."""
    environment = RecordingEnvironment()
    monkeypatch.setattr(os, "environ", environment)
    monkeypatch.chdir(tmp_path)  # the secret key file lands here
    Settings.from_env()
    return environment.read


@pytest.fixture
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_postgres_mail_web_and_worker(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "mailpit", "web", "worker"} <= set(services)
    assert "healthcheck" in services["postgres"]
    assert {"1025:1025", "8025:8025"} <= set(services["mailpit"]["ports"])
    assert "portal migrate" in " ".join(services["web"]["command"])
    assert "--workers 2" in " ".join(services["web"]["command"])
    assert services["worker"]["command"] == ["portal", "worker"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_web_and_worker_share_one_postgres_database(compose: dict) -> None:
    web, worker = compose["services"]["web"]["environment"], compose["services"]["worker"]["environment"]
    assert web["DATABASE_URL"] == worker["DATABASE_URL"]
    assert web["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in web["DATABASE_URL"]
    assert web["PORTAL_SECRET_KEY"] == worker["PORTAL_SECRET_KEY"]
    assert web["PORTAL_WORKER_IN_WEB"] == "false"


def test_compose_sets_only_settings_the_portal_reads(compose: dict, setting_names: set[str]) -> None:
    for name in ("web", "worker"):
        assert set(compose["services"][name]["environment"]) <= setting_names


def test_readme_documents_every_setting(setting_names: set[str]) -> None:
    readme = (ROOT / "README.md").read_text()
    assert {name for name in setting_names if f"`{name}`" not in readme} == set()

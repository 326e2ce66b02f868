"""Settings: validated at start, read from the mapping given, refusing placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mosu.config import DEMO_SECRET_KEY, PLACEHOLDER_SECRETS, Settings

GOOD = "a-real-secret-0123456789abcdef"


def test_missing_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="MOSU_SECRET_KEY"):
        Settings.from_env({})


@pytest.mark.parametrize("secret", sorted(PLACEHOLDER_SECRETS))
def test_placeholder_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="MOSU_SECRET_KEY"):
        Settings.from_env({"MOSU_SECRET_KEY": secret})


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="16"):
        Settings.from_env({"MOSU_SECRET_KEY": "x" * 15})


def test_demo_secret_outside_demo_is_refused() -> None:
    with pytest.raises(ValidationError, match="demo"):
        Settings.from_env({"MOSU_SECRET_KEY": DEMO_SECRET_KEY})


@pytest.mark.parametrize("environ", [{}, {"MOSU_SECRET_KEY": "changeme"}])
def test_demo_mode_supplies_its_own_secret(environ: dict[str, str]) -> None:
    settings = Settings.from_env({**environ, "MOSU_DEMO": "true"})
    assert settings.demo is True
    assert settings.secret_key == DEMO_SECRET_KEY


def test_demo_mode_keeps_a_real_secret_but_still_refuses_a_short_one() -> None:
    assert Settings.from_env({"MOSU_DEMO": "1", "MOSU_SECRET_KEY": GOOD}).secret_key == GOOD
    with pytest.raises(ValidationError):
        Settings.from_env({"MOSU_DEMO": "1", "MOSU_SECRET_KEY": "short-one"})


def test_reads_mosu_prefixed_keys_from_the_mapping() -> None:
    settings = Settings.from_env(
        {
            "MOSU_SECRET_KEY": GOOD,
            "MOSU_DATABASE_URL": "postgresql+psycopg://u@db/mosu",
            "MOSU_PORT": "9100",
            "MOSU_SESSION_HOURS": "3",
            "MOSU_DEFAULT_LANGUAGE": "en",
            "SECRET_KEY": "not-this-one",
            "PORT": "1",
        }
    )
    assert settings.secret_key == GOOD
    assert settings.database_url == "postgresql+psycopg://u@db/mosu"
    assert settings.port == 9100
    assert settings.session_hours == 3
    assert settings.default_language == "en"
    assert not settings.is_sqlite


def test_overrides_win_over_the_mapping() -> None:
    settings = Settings.from_env({"MOSU_SECRET_KEY": GOOD, "MOSU_PORT": "9100"}, port=9200)
    assert settings.port == 9200


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({"MOSU_SECRET_KEY": GOOD, "MOSU_PORT": "eighty"})
    with pytest.raises(ValidationError):
        Settings.from_env({"MOSU_SECRET_KEY": GOOD, "MOSU_DEFAULT_LANGUAGE": "fr"})


def test_process_environment_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOSU_SECRET_KEY", GOOD)
    monkeypatch.setenv("MOSU_PORT", "9999")
    monkeypatch.setenv("MOSU_DATABASE_URL", "sqlite:///from-os-environ.db")
    with pytest.raises(ValidationError, match="MOSU_SECRET_KEY"):
        Settings.from_env({})
    settings = Settings.from_env({"MOSU_SECRET_KEY": "another-secret-0123456789"})
    assert settings.port == 8000
    assert settings.database_url == "sqlite:///mosu.db"


def test_settings_constructed_directly_read_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOSU_SECRET_KEY", GOOD)
    monkeypatch.setenv("MOSU_PORT", "9999")
    settings = Settings()
    assert (settings.secret_key, settings.port) == (GOOD, 9999)


def test_private_endpoints_are_refused_except_in_the_demo() -> None:
    assert Settings.from_env({}, secret_key="x" * 32).allow_private_endpoints is False
    assert Settings.from_env({}, demo=True).allow_private_endpoints is True
    explicit = Settings.from_env({"MOSU_ALLOW_PRIVATE_ENDPOINTS": "false"}, demo=True)
    assert explicit.allow_private_endpoints is False

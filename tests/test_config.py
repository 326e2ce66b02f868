"""Settings: validated at start, read from the mapping given, refusing placeholder secrets."""

from __future__ import annotations

import math
import secrets

import pytest
from pydantic import ValidationError

from mosu.core.settings import (
    DEMO_SECRET_KEY,
    PLACEHOLDER_SECRETS,
    Settings,
    secret_key_bits,
    secret_key_problem,
)
from tests.conftest import TEST_SECRET

GOOD = "Zq3v-8KpR2xW_m7LtY4nB9cH6dJ0sF5gE1uA"


def test_missing_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="MOSU_SECRET_KEY"):
        Settings.from_env({})


@pytest.mark.parametrize("secret", sorted(PLACEHOLDER_SECRETS))
def test_placeholder_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="MOSU_SECRET_KEY"):
        Settings.from_env({"MOSU_SECRET_KEY": secret})


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters and 128 bits"):
        Settings.from_env({"MOSU_SECRET_KEY": "x" * 15})


@pytest.mark.parametrize(
    "secret",
    [
        "a-real-secret-0123456789abcdef",  # 30 characters: was accepted (16 were enough)
        "x" * 64,  # long, but one character: 0 bits
        "ab" * 32,  # long, two characters: 64 bits
        "059dd62fb6f58e03fd29fa9cbbf68a65",  # 32 hex digits: about 113 bits by frequency
    ],
)
def test_low_entropy_secret_is_refused_naming_the_rule(secret: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.from_env({"MOSU_SECRET_KEY": secret})
    message = str(caught.value)
    assert "MOSU_SECRET_KEY is too weak" in message
    assert f"{len(secret)} characters" in message
    assert "at least 32 characters and 128 bits" in message


def test_entropy_estimate() -> None:
    assert secret_key_bits("") == 0
    assert secret_key_bits("x" * 64) == 0
    assert secret_key_bits("ab" * 32) == pytest.approx(64)
    assert secret_key_bits("0123456789abcdef" * 2) == pytest.approx(128)
    assert secret_key_bits(GOOD) == pytest.approx(len(GOOD) * math.log2(len(GOOD)))


def test_random_keys_and_the_shipped_keys_pass() -> None:
    for _ in range(20):
        assert secret_key_problem(secrets.token_urlsafe(32)) is None
        assert secret_key_problem(secrets.token_hex(32)) is None
    assert secret_key_problem(TEST_SECRET) is None
    assert secret_key_problem(DEMO_SECRET_KEY) is None


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
    settings = Settings.from_env({"MOSU_SECRET_KEY": "Hn5T_w2Qe8Rk-Lz4Xy7Vb1Mc9Pd3Gf6Js0Ua"})
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
    assert Settings.from_env({}, secret_key=TEST_SECRET).allow_private_endpoints is False
    assert Settings.from_env({}, demo=True).allow_private_endpoints is True
    explicit = Settings.from_env({"MOSU_ALLOW_PRIVATE_ENDPOINTS": "false"}, demo=True)
    assert explicit.allow_private_endpoints is False

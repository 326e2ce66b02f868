"""Settings: validated at start, read from the mapping given, refusing placeholder secrets."""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path

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


NON_DEFAULT: dict[str, object] = {
    "database_url": "postgresql+psycopg://mosu@127.0.0.1:5432/mosu",
    "secret_key": GOOD,
    "host": "0.0.0.0",
    "port": 9123,
    "demo": True,
    "cookie_secure": True,
    "session_hours": 3,
    "login_free_failures": 7,
    "login_free_failures_per_address": 33,
    "login_base_delay_seconds": 0.1,
    "login_max_delay_seconds": 123.456,
    "default_language": "en",
    "max_upload_mb": 7,
    "max_import_rows": 42,
    "max_cell_chars": 99,
    "data_dir": Path("somewhere/else-data"),
    "embedded_worker": False,
    "worker_concurrency": 3,
    "job_lease_seconds": 12.5,
    "web_workers": 4,
    "db_pool_size": 9,
    "public_cache_seconds": 0.0,
    "access_log": True,
    "allow_private_endpoints": True,
    "submission_failure_limit": 2,
    "ray_address": "ray://head:10001",
    "eval_loop": "asyncio",
    "smtp_url": "smtps://bot:secret@mail.example.cn:465",
    "smtp_from": "notices@example.cn",
    "site_url": "https://mosu.example.cn",
    "log_format": "json",
    "log_level": "WARNING",
    "metrics_allow": "10.0.0.0/8",
    "metrics_token": "metrics-token-1234",
    "metrics_dir": Path("/run/mosu/metrics"),
    "expect_worker": True,
    "worker_silence_seconds": 60.0,
    "retention_session_days": 7,
    "retention_notification_days": 30,
    "retention_upload_days": 3,
    "cleanup_interval_hours": 6.0,
}


def test_every_field_survives_export_and_load() -> None:
    """``to_env`` hands a child process every setting: a field added to ``Settings`` must be
    added here with a value other than its default, and come back from the environment."""
    fields = Settings.model_fields
    assert set(NON_DEFAULT) == set(fields), "give every Settings field a non-default value here"
    for name, value in NON_DEFAULT.items():
        assert value != fields[name].get_default(call_default_factory=True), name
    settings = Settings.from_env({}, **NON_DEFAULT)
    env = settings.to_env()
    assert set(env) <= set(Settings.env_names())
    loaded = Settings.from_env(env)
    assert loaded.model_dump() == settings.model_dump() == NON_DEFAULT
    refused = Settings.from_env({}, demo=True, allow_private_endpoints=False)
    assert Settings.from_env(refused.to_env()).allow_private_endpoints is False


def test_a_child_started_by_serve_gets_every_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mosu import platform_cli

    started: list[dict[str, str]] = []
    monkeypatch.setattr(
        platform_cli.uvicorn, "run", lambda *a, **k: started.append(dict(os.environ))
    )
    settings = Settings.from_env(
        {}, demo=True, data_dir=tmp_path / "demo-data", web_workers=4, embedded_worker=False
    )
    # the process environment, with a variable that the settings' value (none) overrides
    monkeypatch.setattr(os, "environ", {"MOSU_RAY_ADDRESS": "auto"})
    platform_cli._serve(settings)
    assert len(started) == 1
    child = Settings.from_env(started[0])
    assert child.model_dump() == settings.model_dump()
    assert child.data_dir == tmp_path / "demo-data" and child.ray_address is None

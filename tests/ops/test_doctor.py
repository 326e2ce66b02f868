"""``mosu doctor``: passes on a sound deployment, and fails on each broken condition."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mosu.cli import app
from mosu.core.db import make_engine
from mosu.core.settings import Settings
from mosu.ops import doctor
from tests.conftest import TEST_SECRET

runner = CliRunner()


@pytest.fixture
def sqlite_settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    db = tmp_path / "mosu.db"
    db.write_bytes(sqlite_template.read_bytes())
    return Settings.from_env(
        {}, database_url=f"sqlite:///{db}", secret_key=TEST_SECRET, data_dir=tmp_path / "data"
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        "MOSU_DATABASE_URL": settings.database_url,
        "MOSU_SECRET_KEY": TEST_SECRET,
        "MOSU_DATA_DIR": str(settings.data_dir),
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed once the block ends: nothing listens


def test_a_sound_deployment_passes(sqlite_settings: Settings) -> None:
    result = runner.invoke(app, ["doctor"], env=_env(sqlite_settings))
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.output
    for name in ("settings", "database", "migrations", "clock", "data dir"):
        assert name in result.output


def test_invalid_settings_and_a_weak_key_fail(sqlite_settings: Settings) -> None:
    weak = runner.invoke(
        app, ["doctor"], env={**_env(sqlite_settings), "MOSU_SECRET_KEY": "a" * 40}
    )
    assert weak.exit_code == 2 and "too weak" in weak.output
    demo = doctor.check_secret(sqlite_settings.model_copy(update={"demo": True}))
    assert demo.failed and "MOSU_DEMO" in demo.fix


def test_an_unreachable_database_fails(sqlite_settings: Settings) -> None:
    env = {
        **_env(sqlite_settings),
        "MOSU_DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/x",
    }
    result = runner.invoke(app, ["doctor"], env=env)
    assert result.exit_code == 1
    assert "unreachable" in result.output and "failed: database" in result.output


def test_migrations_behind_fail(sqlite_settings: Settings) -> None:
    engine = make_engine(sqlite_settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0010'"))
    found = doctor.check_migrations(engine)
    engine.dispose()
    assert found.failed and "mosu db upgrade" in found.fix
    result = runner.invoke(app, ["doctor"], env=_env(sqlite_settings))
    assert result.exit_code == 1 and "migrations" in result.output


def test_data_dir_not_writable_or_full_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    found = doctor.check_data_dir(blocker / "data")
    assert found.failed and "not writable" in found.detail
    full = doctor.check_data_dir(tmp_path / "data", min_free=1 << 62)
    assert full.failed and "free" in full.detail
    assert not doctor.check_data_dir(tmp_path / "data").failed


def test_smtp_and_ray_unreachable_fail_and_unset_are_skipped() -> None:
    port = closed_port()
    assert doctor.check_smtp(f"smtp://u:p@127.0.0.1:{port}").failed
    assert doctor.check_smtp(None).state == "skipped"
    assert doctor.check_ray(f"ray://127.0.0.1:{port}").failed
    assert doctor.check_ray(None).state == "skipped"
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        open_port = listening.getsockname()[1]
        assert doctor.check_ray(f"127.0.0.1:{open_port}").state == "ok"
        assert doctor.check_smtp(f"smtp://127.0.0.1:{open_port}").state == "ok"


def test_clock_skew_fails(sqlite_settings: Settings) -> None:
    engine = make_engine(sqlite_settings.database_url)
    try:
        assert doctor.check_clock(engine).state == "ok"

        def late() -> dt.datetime:
            return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)

        skewed = doctor.check_clock(engine, late)
    finally:
        engine.dispose()
    assert skewed.failed and "NTP" in skewed.fix


def test_missing_postgres_client_tools_fail() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1/db"
    missing = doctor.check_pg_tools(url, lambda tool: None)
    assert missing.failed and "pg_dump" in missing.detail and "postgresql-client" in missing.fix
    assert doctor.check_pg_tools("sqlite:///x.db", lambda tool: None).state == "skipped"

"""The user commands: the password rule, reset, deactivate, reactivate, sign out everywhere."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from mosu.accounts.models import ApiToken, User
from mosu.accounts.security import verify_password
from mosu.cli import app
from mosu.core.db import make_engine, make_sessionmaker
from tests.conftest import TEST_SECRET

runner = CliRunner()


def _state(url: str) -> tuple[bool, str, list[bool]]:
    """(active, password hash, revoked? per token) of ``alice``."""
    with make_sessionmaker(make_engine(url))() as session:
        user = session.scalar(select(User).where(User.username == "alice"))
        assert user is not None
        revoked = [t.revoked_at is not None for t in session.scalars(select(ApiToken))]
        return user.is_active, user.password_hash, revoked


def test_user_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"MOSU_DATABASE_URL": url, "MOSU_SECRET_KEY": TEST_SECRET}

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")
    weak = runner.invoke(
        app, ["user", "create", "alice", "--role", "expert", "--password", "woaini1314"], env=env
    )
    assert weak.exit_code == 1 and "too common" in weak.output
    run("user", "create", "alice", "--role", "expert", "--password", "first-long-phrase")
    run("token", "create", "alice")

    assert "sessions and tokens have ended" in run(
        "user", "password", "alice", "--password", "second-long-phrase"
    )
    active, password_hash, revoked = _state(url)
    assert active and verify_password(password_hash, "second-long-phrase") and revoked == [True]
    short = runner.invoke(app, ["user", "password", "alice", "--password", "short"], env=env)
    assert short.exit_code == 1 and "至少 10 个字符" in short.output

    run("token", "create", "alice")
    run("user", "deactivate", "alice")
    active, _, revoked = _state(url)
    assert not active and revoked == [True, True]
    run("user", "reactivate", "alice")
    assert _state(url)[0]

    run("token", "create", "alice")
    run("user", "logout-everywhere", "alice")
    assert _state(url)[2] == [True, True, True]
    missing = runner.invoke(app, ["user", "deactivate", "bob"], env=env)
    assert missing.exit_code == 1 and "no such user" in missing.output

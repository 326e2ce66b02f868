"""Backups taken while the database is written, restored into a fresh database (SQLite and
PostgreSQL): identical rows, consistent snapshots, refusals."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mosu import migrate
from mosu.backup import BackupError, backup, inspect_backup, restore
from mosu.cli import app as cli_app
from mosu.core.db import make_engine
from mosu.jobs.queue import enqueue
from tests.conftest import POSTGRES_URL, TEST_SECRET, World


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    meta = MetaData()
    meta.reflect(bind=engine)
    found = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            found[table.name] = sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
    return found


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as ``database_url``, named in the same schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    if shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL client tools (pg_dump, pg_restore) are not installed")
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_backup_restores_identical_rows(
    database_url: str, fresh_url: str, world: World, tmp_path: Path
) -> None:
    source = make_engine(database_url)
    with Session(source) as session, session.begin():
        enqueue(session, kind="eval.race", payload={"task": "甲", "n": [1, 2]}, priority=3)
    before = _rows(source)
    assert len(before["organisations"]) == 3 and len(before["users"]) == 5
    out = tmp_path / "mosu.backup"
    info = backup(database_url, out)
    assert info.revision == migrate.head_revision()
    assert inspect_backup(out).kind == (
        "sqlite" if database_url.startswith("sqlite") else "postgresql"
    )

    restore(fresh_url, out)
    target = make_engine(fresh_url)
    assert _rows(target) == before
    assert migrate.current_revision(target) == migrate.head_revision()
    with pytest.raises(BackupError, match="already has tables"):
        restore(fresh_url, out)
    with pytest.raises(BackupError, match="exists"):
        backup(database_url, out)
    target.dispose()
    source.dispose()


def test_backup_is_one_snapshot_while_another_connection_writes(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    """A writer adds rows in pairs, one transaction each; a backup taken meanwhile holds
    whole pairs only."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pairs (batch INTEGER NOT NULL, side INTEGER NOT NULL)"))
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            with engine.begin() as conn:
                n = written[0]
                conn.execute(text("INSERT INTO pairs VALUES (:b, 0)"), {"b": n})
                conn.execute(text("INSERT INTO pairs VALUES (:b, 1)"), {"b": n})
            written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 50:
            stop.wait(0.01)
        backup(database_url, tmp_path / "hot.backup")
    finally:
        stop.set()
        thread.join()
    restore(fresh_url, tmp_path / "hot.backup")
    target = make_engine(fresh_url)
    with target.connect() as conn:
        counts = conn.execute(text("SELECT batch, count(*) FROM pairs GROUP BY batch")).all()
    assert len(counts) >= 50
    assert {c for _, c in counts} == {2}
    assert {b for b, _ in counts} == set(range(len(counts)))
    target.dispose()
    engine.dispose()


def test_restore_refuses_unknown_revision_and_other_kind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    out = tmp_path / "a.backup"
    backup(url, out)
    with sqlite3.connect(out) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    conn.close()
    with pytest.raises(BackupError, match=r"f00dfeed.*does not know"):
        restore(f"sqlite:///{tmp_path / 'b.db'}", out)
    assert not (tmp_path / "b.db").exists()
    with pytest.raises(BackupError, match="sqlite backup; it restores into sqlite"):
        restore(POSTGRES_URL, out)
    (tmp_path / "junk").write_bytes(b"not a backup")
    with pytest.raises(BackupError, match="neither"):
        restore(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "junk")


def test_cli_backup_and_restore(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"MOSU_DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}", "MOSU_SECRET_KEY": TEST_SECRET}
    assert runner.invoke(cli_app, ["db", "upgrade"], env=env).exit_code == 0
    result = runner.invoke(cli_app, ["db", "backup", str(tmp_path / "b.db")], env=env)
    assert result.exit_code == 0, result.output
    assert migrate.head_revision() in result.output
    env2 = {**env, "MOSU_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}
    result = runner.invoke(cli_app, ["db", "restore", str(tmp_path / "b.db")], env=env2)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli_app, ["db", "restore", str(tmp_path / "b.db")], env=env2)
    assert result.exit_code == 1 and "fresh, empty database" in " ".join(result.output.split())


def test_backup_file_and_its_new_folders_are_private(
    database_url: str, world: World, tmp_path: Path
) -> None:
    """A backup holds password hashes and encrypted keys: 0600, in folders made 0700, even
    under a permissive umask (both SQLite's backup API and pg_dump write into the file)."""
    if database_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL client tools (pg_dump, pg_restore) are not installed")
    out = tmp_path / "backups" / "2026" / "mosu.backup"
    previous = os.umask(0o022)
    try:
        backup(database_url, out)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(out.parent.parent.stat().st_mode) == 0o700
    assert inspect_backup(out).revision == migrate.head_revision()
    # no partial file is left behind; SQLite's -wal and -shm files take the backup's mode
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in out.parent.iterdir())
    assert not out.with_name("mosu.backup.partial").exists()

"""Database: SQLite pragmas on every app connection, migrations at head and matching the models."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import NullPool, QueuePool

from mosu import migrate
from mosu.app import create_app
from mosu.core import db as core_db
from mosu.core.db import UTCDateTime, make_engine, transaction
from mosu.core.settings import Settings
from mosu.registry.models import CommunityFact, Modality, Model
from mosu.tables import Base
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, TEST_SECRET, postgres_skip_reason
from tests.helpers.waiting import wait_until


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[FastAPI]:
    url = f"sqlite:///{tmp_path / 'mosu.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(Settings.from_env({}, database_url=url, secret_key=TEST_SECRET))
    yield app
    app.state.engine.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(sqlite_app: FastAPI) -> None:
    engine = sqlite_app.state.engine
    for _ in range(2):  # a fresh pool connection each time gets the same pragmas
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        engine.dispose()


def test_sqlite_foreign_keys_are_enforced(sqlite_app: FastAPI) -> None:
    with sqlite_app.state.sessionmaker() as session, pytest.raises(IntegrityError):
        session.add(Model(organisation_id=999, name="orphan", modality=Modality.text))
        session.flush()


def test_migrations_reach_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        head = migrate.head_revision()
        assert head is not None
        assert migrate.current_revision(engine) == head
        migrate.upgrade(engine)  # idempotent
        assert migrate.current_revision(engine) == head
    finally:
        engine.dispose()


def test_fresh_database_has_no_revision(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """What `alembic check` does: autogenerate against the migrated database finds nothing."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_timestamps_come_back_in_utc(app: FastAPI) -> None:
    moment = dt.datetime(2024, 5, 1, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with transaction(app.state.sessionmaker) as session:
        session.add(CommunityFact(key="k", value="v", updated_at=moment))
    with app.state.sessionmaker() as session:
        row = session.get(CommunityFact, "k")
        assert row is not None
        assert row.updated_at == moment
        assert row.updated_at.tzinfo == dt.UTC


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(dt.datetime(2024, 1, 1), None)


def test_transaction_rolls_back_on_error(app: FastAPI) -> None:
    with pytest.raises(RuntimeError), transaction(app.state.sessionmaker) as session:
        session.add(CommunityFact(key="gone", value="v"))
        session.flush()
        raise RuntimeError("boom")
    with app.state.sessionmaker() as session:
        assert session.get(CommunityFact, "gone") is None


@pytest.mark.postgres
def test_a_postgresql_connection_killed_while_idle_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pooled connection that rested longer than ``IDLE_PING_SECONDS`` is pinged when it
    comes out of the pool, and one the server ended meanwhile is replaced without an error;
    one given back a moment ago is handed out unpinged (the control: killed, it fails)."""
    reason = postgres_skip_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    engine = make_engine(POSTGRES_URL, pool_size=1)
    admin = create_engine(POSTGRES_URL, poolclass=NullPool)

    def pid_in_use() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT pg_backend_pid()")))

    def alive(pid: int) -> bool:
        # a new connection (and transaction) each time: pg_stat_activity is a snapshot that
        # stays the same for the rest of the transaction that first reads it
        with admin.connect() as conn:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            return bool(conn.scalar(query, {"pid": pid}))

    def kill(pid: int) -> None:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        wait_until(lambda: not alive(pid), what="the backend to end")

    try:
        first = pid_in_use()
        kill(first)
        with pytest.raises(DBAPIError):  # used a moment ago: not pinged, found dead on use
            pid_in_use()
        second = pid_in_use()
        monkeypatch.setattr(core_db, "IDLE_PING_SECONDS", 0.0)  # every rest is long now
        kill(second)
        third = pid_in_use()
        assert len({first, second, third}) == 3
        assert isinstance(engine.pool, QueuePool) and engine.pool.checkedout() == 0
    finally:
        engine.dispose()
        admin.dispose()

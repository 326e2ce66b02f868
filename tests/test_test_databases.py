"""The tests' own databases: a PostgreSQL schema that one test gave back comes to the next
as freshly migrated (see ``PostgresSchemas`` in conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from mosu import migrate
from mosu.core.db import make_engine
from mosu.registry.models import Organisation
from tests.conftest import PostgresSchemas, make_org

pytestmark = pytest.mark.postgres


def _schema_exists(schemas: PostgresSchemas, name: str) -> bool:
    with schemas.admin.connect() as conn:
        found = conn.execute(
            text("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = :n)"), {"n": name}
        )
        return bool(found.scalar_one())


def test_a_schema_given_back_comes_back_empty_at_head_with_sequences_reset(
    postgres_schemas: PostgresSchemas,
) -> None:
    first = postgres_schemas.take(postgres_schemas.template)
    engine = make_engine(postgres_schemas.url(first))
    with Session(engine) as session:
        ids = [make_org(session, n, f"用过的机构{n}") for n in (1, 2)]
        session.commit()
    assert ids == [1, 2]
    left_open = engine.connect()  # a connection the test forgot, inside a transaction
    left_open.execute(text("SELECT count(*) FROM organisations"))
    postgres_schemas.give_back(first)

    second = postgres_schemas.take(postgres_schemas.template)
    try:
        assert second != first and not _schema_exists(postgres_schemas, first)
        with pytest.raises(DBAPIError):  # ended, as DROP DATABASE … WITH (FORCE) would
            left_open.execute(text("SELECT 1"))
        left_open.close()
        engine.dispose()
        engine = make_engine(postgres_schemas.url(second))
        assert migrate.current_revision(engine) == migrate.head_revision()
        with Session(engine) as session:
            assert session.query(Organisation).count() == 0
            assert make_org(session, 3, "新机构") == 1
            session.rollback()
    finally:
        engine.dispose()
        postgres_schemas.give_back(second)


def test_a_schema_whose_shape_a_test_changed_is_replaced(
    postgres_schemas: PostgresSchemas,
) -> None:
    changed = postgres_schemas.take(postgres_schemas.template)
    engine = make_engine(postgres_schemas.url(changed))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pairs (batch INTEGER NOT NULL)"))
        conn.execute(text("ALTER TABLE organisations ADD COLUMN extra TEXT"))
    engine.dispose()
    postgres_schemas.give_back(changed)

    fresh = postgres_schemas.take(postgres_schemas.template)
    engine = make_engine(postgres_schemas.url(fresh))
    try:
        assert not _schema_exists(postgres_schemas, changed)
        tables = set(inspect(engine).get_table_names())
        assert "pairs" not in tables and "organisations" in tables
        columns = {c["name"] for c in inspect(engine).get_columns("organisations")}
        assert "extra" not in columns
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
        postgres_schemas.give_back(fresh)


def test_a_schema_with_rows_in_append_only_tables_is_reset(
    postgres_schemas: PostgresSchemas,
) -> None:
    used = postgres_schemas.take(postgres_schemas.template)
    engine = make_engine(postgres_schemas.url(used))
    with engine.begin() as conn:  # a row the append-only triggers (0009) will not let go
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text(
                "INSERT INTO challenge_events (challenge_id, action, actor_name, reason, details, at)"
                " VALUES (1, 'created', '', '', '{}', now())"
            )
        )
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("DELETE FROM challenge_events"))
    engine.dispose()
    postgres_schemas.give_back(used)

    fresh = postgres_schemas.take(postgres_schemas.template)
    engine = make_engine(postgres_schemas.url(fresh))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM challenge_events")).scalar_one() == 0
    finally:
        engine.dispose()
        postgres_schemas.give_back(fresh)

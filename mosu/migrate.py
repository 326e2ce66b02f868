"""Schema migrations through Alembic, driven from mosu's own settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (the newest by default)."""
    with migrating(engine) as config:
        command.upgrade(config, revision)


@contextmanager
def migrating(engine: Engine) -> Iterator[Config]:
    """An Alembic config bound to one transaction on ``engine``, committed at the end.

    On SQLite, a migration that alters a table copies it and drops the old one, and with
    foreign keys on, dropping a table deletes every row that cascades from it (a stage's
    submissions, say). So the checks are off while migrations run (SQLite's own advice for
    schema changes, which must be set outside a transaction), and when the revision moved,
    every key is checked before the commit: a dangling one rolls the whole migration back
    (a database already at its revision is not scanned)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config = alembic_config(str(engine.url))
                config.attributes["connection"] = connection
                before = MigrationContext.configure(connection).get_current_revision()
                yield config
                moved = MigrationContext.configure(connection).get_current_revision() != before
                if sqlite and moved:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if dangling:
                        raise RuntimeError(
                            f"migration left rows without their parent: {dangling[:5]}"
                        )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        return str(row[0]) if row else None


def head_revision() -> str | None:
    """The newest revision shipped with this version of mosu."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

"""Moving a test's database to a revision, down or up, as ``mosu migrate`` would."""

from __future__ import annotations

from alembic import command

from mosu import migrate
from mosu.core.db import make_engine


def migrate_to(database_url: str, revision: str) -> None:
    """Upgrade the database to ``head``, or downgrade it to ``revision``, in one transaction."""
    engine = make_engine(database_url)
    try:
        with migrate.migrating(engine) as config:
            if revision == "head":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    finally:
        engine.dispose()

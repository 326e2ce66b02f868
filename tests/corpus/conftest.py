"""A SQLite-only session for the corpus tests' heavy imports of the shared data (the other
helpers are in ``tests.helpers.corpus``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mosu.core.db import make_engine, make_sessionmaker


@pytest.fixture
def sqlite_session(tmp_path: Path, sqlite_template: Path) -> Iterator[Session]:
    """A migrated SQLite database only (a copy of the session's template): for the heavy
    imports of the real data sets."""
    path = tmp_path / "corpus.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()

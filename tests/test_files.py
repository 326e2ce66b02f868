"""The one FileStore: written whole, read only inside its area, removed only after commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from mosu.core.db import make_engine, make_sessionmaker
from mosu.core.errors import Invalid, NotFound
from mosu.core.files import FileStore, check_pdf


@pytest.fixture
def sessions(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'files.sqlite'}")
    yield make_sessionmaker(engine)
    engine.dispose()


def test_put_then_read_back(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "contracts")
    stored = store.put(None, b"%PDF-1.7 x", prefix="application-1", suffix=".pdf")
    assert stored.name.startswith("contracts/application-1-") and stored.size == 10
    assert store.read(stored.name) == b"%PDF-1.7 x"
    assert not list((tmp_path / "contracts").glob(".*.part"))


def test_names_outside_the_area_are_not_found(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "contracts")
    (tmp_path / "secret.txt").write_text("x")
    other = FileStore(tmp_path, "proposals").put(None, b"y", prefix="p", suffix=".pdf")
    for name in ("secret.txt", "contracts/../secret.txt", other.name, "", "contracts/none.pdf"):
        with pytest.raises(NotFound):
            store.path(name)


def test_delete_waits_for_commit_and_rollback_keeps(tmp_path: Path, sessions) -> None:
    store = FileStore(tmp_path, "contracts")
    old = store.put(None, b"old", prefix="a", suffix=".pdf")
    with sessions() as session:
        session.execute(text("select 1"))
        store.delete_after_commit(session, old.name)
        assert store.path(old.name).is_file()
        session.rollback()
    assert store.path(old.name).is_file()
    with sessions() as session:
        session.execute(text("select 1"))
        store.delete_after_commit(session, old.name)
        session.commit()
    with pytest.raises(NotFound):
        store.path(old.name)


def test_new_file_is_removed_when_its_transaction_rolls_back(tmp_path: Path, sessions) -> None:
    store = FileStore(tmp_path, "proposals")
    with sessions() as session:
        session.execute(text("select 1"))
        lost = store.put(session, b"%PDF-", prefix="p", suffix=".pdf")
        session.rollback()
    with sessions() as session:
        session.execute(text("select 1"))
        kept = store.put(session, b"%PDF-", prefix="p", suffix=".pdf")
        session.commit()
        session.execute(text("select 1"))
        session.rollback()  # a later transaction's rollback leaves the committed file alone
    with pytest.raises(NotFound):
        store.path(lost.name)
    assert store.path(kept.name).is_file()


def test_check_pdf_refuses_size_and_kind() -> None:
    check_pdf(b"%PDF-1.4", max_bytes=100, what="合同", field="file")
    with pytest.raises(Invalid):
        check_pdf(b"%PDF-" + b"x" * 200, max_bytes=100, what="合同", field="file")
    with pytest.raises(Invalid):
        check_pdf(b"MZ", max_bytes=100, what="合同", field="file")

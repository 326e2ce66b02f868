"""A contract kept through the FileStore: replacing it removes the old file only after the
commit, so a commit that fails leaves the row and its file as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from mosu.supply import attachments
from tests.helpers.supply import PDF, Supply, apply, make_programme


def _attach(supply: Supply, application_id: int, content: bytes, data_dir: Path) -> str:
    application = attachments.attach(
        supply.db,
        actor=supply.buyer,
        application_id=application_id,
        filename="合同.pdf",
        content=content,
        data_dir=data_dir,
        max_bytes=1024 * 1024,
    )
    return application.attachment_path


def _refuse_commit(session: Session) -> None:
    raise RuntimeError("the commit fails")


def test_a_failed_commit_keeps_the_old_contract(supply: Supply, tmp_path: Path) -> None:
    db, world = supply.db, supply.world
    programme = make_programme(db, world)
    application = apply(db, supply.buyer, programme.id, world.org_b)
    first = _attach(supply, application.id, PDF + b"first", tmp_path)
    db.commit()
    folder = tmp_path / attachments.AREA
    assert (folder / first).read_bytes() == PDF + b"first"

    second = _attach(supply, application.id, PDF + b"second", tmp_path)
    assert (folder / second).is_file() and (folder / first).is_file()
    event.listen(db, "before_commit", _refuse_commit)
    with pytest.raises(RuntimeError):
        db.commit()
    event.remove(db, "before_commit", _refuse_commit)
    db.rollback()
    assert (folder / first).is_file() and not (folder / second).exists()
    db.refresh(application)
    assert application.attachment_path == first
    name, content = attachments.attachment(
        db, actor=supply.buyer, application_id=application.id, data_dir=tmp_path
    )
    assert (name, content) == ("合同.pdf", PDF + b"first")

    third = _attach(supply, application.id, PDF + b"third", tmp_path)
    db.commit()
    assert sorted(p.name for p in folder.iterdir()) == [third]

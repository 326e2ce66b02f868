"""One FileStore for every file the platform keeps: proposals, contracts, predictions, imports.

A file lives under ``data_dir/<area>/`` with a random name that the database row points at.
The store writes a file completely before the row can name it, reads back only names that
stay inside its folder, and removes a file only once the transaction that stopped pointing at
it has committed: a failed commit never leaves a row pointing at a missing file. A file
written in a transaction that rolls back is removed too, so nothing is left unreferenced.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from mosu.core.errors import FILE_MISSING, FILE_TOO_LARGE, NOT_A_PDF
from mosu.core.text import Param

PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class StoredFile:
    """A file the store has written: its name relative to ``data_dir``, size and SHA-256."""

    name: str
    size: int
    sha256: str


def check_pdf(content: bytes, *, max_bytes: int, what: Param, field: str) -> None:
    """Refuse (422) a file over ``max_bytes`` or one that is not a PDF; ``what`` names the
    file in the message (a catalogued :class:`~mosu.core.text.Text`, or a name)."""
    if len(content) > max_bytes:
        raise FILE_TOO_LARGE(
            what=what, max_mib=max_bytes // (1024 * 1024), details={"field": field}
        )
    if not content.startswith(PDF_MAGIC):
        raise NOT_A_PDF(what=what, details={"field": field})


class FileStore:
    """The files of one ``area`` (a folder under ``data_dir``)."""

    def __init__(self, data_dir: Path | str, area: str) -> None:
        self.data_dir = Path(data_dir)
        self.area = area.strip("/")

    @property
    def folder(self) -> Path:
        return self.data_dir / self.area

    def put(
        self, session: Session | None, content: bytes, *, prefix: str, suffix: str
    ) -> StoredFile:
        """Write ``content`` under a new random name; with ``session``, the file is removed
        again if that session's transaction rolls back."""
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{prefix}-{secrets.token_hex(16)}{suffix}"
        partial = folder / f".{name}.part"
        with partial.open("wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, folder / name)
        stored = StoredFile(
            name=f"{self.area}/{name}",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        if session is not None:
            _on(session, "after_rollback", self, stored.name)
        return stored

    def path(self, name: str) -> Path:
        """Where ``name`` lies; 404 if it is missing or would lead outside this area."""
        folder = self.folder.resolve()
        path = (self.data_dir / name).resolve() if name else folder
        if path.parent != folder or not path.is_file():
            raise FILE_MISSING()
        return path

    def read(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def delete_after_commit(self, session: Session, name: str | None) -> None:
        """Remove ``name`` once ``session``'s transaction commits; keep it if it rolls back."""
        if name:
            _on(session, "after_commit", self, name)

    def remove(self, name: str) -> None:
        folder = self.folder.resolve()
        path = (self.data_dir / name).resolve()
        if path.parent == folder:
            path.unlink(missing_ok=True)


_PENDING = "mosu.files.pending"


def _on(session: Session, moment: str, store: FileStore, name: str) -> None:
    """Remove ``name`` when the session's outermost transaction ends by ``moment``
    (``after_commit`` or ``after_rollback``); the other ending keeps it. Acts once.

    A session gets one pair of listeners, on first use, that stay for its life; the names
    wait in ``session.info``. (Removing a listener from inside the event it handles would
    change the list SQLAlchemy is walking.)"""
    pending: dict[str, list[tuple[FileStore, str]]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = {"after_commit": [], "after_rollback": []}
        session.info[_PENDING] = pending
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    pending[moment].append((store, name))


def _settle(session: Session, moment: str) -> None:
    pending: dict[str, list[tuple[FileStore, str]]] = session.info[_PENDING]
    doomed = pending[moment]
    pending["after_commit"], pending["after_rollback"] = [], []
    for store, name in doomed:
        store.remove(name)


def _after_commit(session: Session) -> None:
    _settle(session, "after_commit")


def _after_rollback(session: Session) -> None:
    _settle(session, "after_rollback")

"""Proposal PDFs (方案附件) of applications, kept in the ``proposals`` area of the file store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from mosu.challenges.errors import ATTACHMENT_MISSING, NO_ATTACHMENT
from mosu.challenges.models import Application
from mosu.core.errors import NotFound
from mosu.core.files import FileStore, StoredFile, check_pdf

AREA = "proposals"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class ProposalFile:
    """An uploaded proposal: the name the client gave (shown only) and the bytes."""

    filename: str
    content: bytes


def check_proposal(upload: ProposalFile, max_bytes: int) -> None:
    """Refuse (422) a proposal over ``max_bytes`` or one that is not a PDF."""
    check_pdf(upload.content, max_bytes=max_bytes, what="方案附件", field="proposal_file")


def display_filename(name: str) -> str:
    """The client's file name, for showing and for the download's name only."""
    base = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    base = base[:180] or "proposal"
    return base if base.lower().endswith(".pdf") else f"{base}.pdf"


def store_proposal(session: Session, data_dir: Path, upload: ProposalFile) -> StoredFile:
    """Write the PDF under a random name (removed again if ``session`` rolls back)."""
    return FileStore(data_dir, AREA).put(session, upload.content, prefix="proposal", suffix=".pdf")


def proposal_path(data_dir: Path, application: Application) -> Path:
    """Where the application's PDF lies (never outside the store's proposal folder)."""
    if not application.proposal_file:
        raise NO_ATTACHMENT()
    try:
        return FileStore(data_dir, AREA).path(application.proposal_file)
    except NotFound:
        raise ATTACHMENT_MISSING() from None

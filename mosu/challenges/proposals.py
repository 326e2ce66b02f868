"""Proposal PDFs (方案附件) of applications, kept in the ``proposals`` area of the file store."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from mosu.challenges.models import (
    Application,
)
from mosu.core.errors import Invalid, NotFound

PDF_MAGIC = b"%PDF-"
PROPOSAL_DIR = "proposals"
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


@dataclass(frozen=True)
class ProposalFile:
    """An uploaded proposal: the name the client gave (shown only) and the bytes."""

    filename: str
    content: bytes


def check_pdf(upload: ProposalFile, max_bytes: int) -> None:
    if len(upload.content) > max_bytes:
        raise Invalid(
            f"方案文件超过 {max_bytes // (1024 * 1024)} MB 上限 / the proposal file is too large",
            details={"field": "proposal_file"},
        )
    if not upload.content.startswith(PDF_MAGIC):
        raise Invalid(
            "方案附件须为 PDF 文件 / the proposal attachment must be a PDF",
            details={"field": "proposal_file"},
        )


def display_filename(name: str) -> str:
    """The client's file name, for showing and for the download's name only."""
    base = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    base = base[:180] or "proposal"
    return base if base.lower().endswith(".pdf") else f"{base}.pdf"


def store_proposal(data_dir: Path, upload: ProposalFile) -> tuple[str, str]:
    """Write the PDF under ``data_dir`` with a random name; (relative path, SHA-256)."""
    folder = data_dir / PROPOSAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{PROPOSAL_DIR}/{secrets.token_hex(16)}.pdf"
    (data_dir / relative).write_bytes(upload.content)
    return relative, hashlib.sha256(upload.content).hexdigest()


def proposal_path(data_dir: Path, application: Application) -> Path:
    """Where the application's PDF lies (never outside ``data_dir``'s proposal folder)."""
    if not application.proposal_file:
        raise NotFound("该申请没有附件 / this application has no attachment")
    folder = (data_dir / PROPOSAL_DIR).resolve()
    path = (data_dir / application.proposal_file).resolve()
    if path.parent != folder or not path.is_file():
        raise NotFound("附件不存在 / the attachment is missing")
    return path

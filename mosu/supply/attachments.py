"""A voucher application's contract (合同附件): one PDF kept by the core FileStore (area
``supply``). The row names the file by its name inside the area; a replaced contract is
removed only once the transaction that dropped it commits."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from mosu.core.errors import NotFound
from mosu.core.files import FileStore, check_pdf
from mosu.permissions import Actor, can_apply_for, ensure
from mosu.supply.applications import get_application
from mosu.supply.errors import ATTACH_OWN_ONLY, ATTACHMENT_FIXED, NO_ATTACHMENT
from mosu.supply.models import ApplicationStatus, VoucherApplication

AREA = "supply"


def store(data_dir: Path) -> FileStore:
    """The contracts' FileStore under ``data_dir``."""
    return FileStore(data_dir, AREA)


def attach(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    filename: str,
    content: bytes,
    data_dir: Path,
    max_bytes: int,
) -> VoucherApplication:
    """Keep the contract (a PDF, at most ``max_bytes``) with a submitted application; the
    contract it replaces is removed after the commit, and the new file if the commit fails."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(can_apply_for(actor, application.organisation_id), ATTACH_OWN_ONLY)
    if application.status is not ApplicationStatus.submitted:
        raise ATTACHMENT_FIXED()
    check_pdf(content, max_bytes=max_bytes, what="附件", field="file")
    files = store(data_dir)
    stored = files.put(session, content, prefix=f"application-{application.id}", suffix=".pdf")
    if application.attachment_path:
        files.delete_after_commit(session, f"{AREA}/{application.attachment_path}")
    application.attachment_name = Path(filename).name[:200] or "contract.pdf"
    application.attachment_path = Path(stored.name).name
    application.attachment_size = stored.size
    session.flush()
    return application


def attachment(
    session: Session, *, actor: Actor, application_id: int, data_dir: Path
) -> tuple[str, bytes]:
    """The contract's file name and content; 404 when there is none."""
    application = get_application(session, actor=actor, application_id=application_id)
    if not application.attachment_path:
        raise NO_ATTACHMENT()
    try:
        content = store(data_dir).read(f"{AREA}/{application.attachment_path}")
    except NotFound:
        raise NO_ATTACHMENT() from None
    return application.attachment_name, content

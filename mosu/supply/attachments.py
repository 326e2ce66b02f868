"""A voucher application's contract (合同附件): one PDF under ``data_dir/supply``."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.files import PDF_MAGIC
from mosu.permissions import (
    Actor,
    can_apply_for,
    ensure,
)
from mosu.supply.applications import get_application
from mosu.supply.models import (
    ApplicationStatus,
    VoucherApplication,
)


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
    """Keep the contract (a PDF, at most ``max_bytes``) with a submitted application."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(
        can_apply_for(actor, application.organisation_id),
        "只能为本组织的申请上传附件 / only your own organisation's applications",
    )
    if application.status is not ApplicationStatus.submitted:
        raise Conflict("审核后不能再更换附件 / the attachment is fixed once reviewed")
    if len(content) > max_bytes:
        raise Invalid(f"附件超过 {max_bytes // (1024 * 1024)} MiB 上限 / attachment too large")
    if not content.startswith(PDF_MAGIC):
        raise Invalid("附件须为 PDF 文件 / the attachment must be a PDF", details={"field": "file"})
    folder = data_dir / "supply"
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"application-{application.id}-{secrets.token_hex(8)}.pdf"
    (folder / stored).write_bytes(content)
    old = application.attachment_path
    application.attachment_name = Path(filename).name[:200] or "contract.pdf"
    application.attachment_path = stored
    application.attachment_size = len(content)
    session.flush()
    if old:
        (folder / old).unlink(missing_ok=True)
    return application


def attachment(
    session: Session, *, actor: Actor, application_id: int, data_dir: Path
) -> tuple[str, bytes]:
    application = get_application(session, actor=actor, application_id=application_id)
    path = data_dir / "supply" / application.attachment_path
    if not application.attachment_path or not path.is_file():
        raise NotFound("该申请没有附件 / no attachment")
    return application.attachment_name, path.read_bytes()

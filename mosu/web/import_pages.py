"""Bulk import page (批量导入): upload xlsx/CSV, read the row-by-row report, resubmit.

A file that fails validation is kept in the FileStore's ``imports`` area so the operator can
resubmit it with "drop invalid rows" without choosing it again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from mosu import i18n
from mosu.accounts.deps import OperatorActor
from mosu.core.errors import Invalid, NotFound
from mosu.core.files import FileStore
from mosu.core.limits import ReadLimits
from mosu.core.settings import Settings
from mosu.deps import SessionDep, SettingsDep
from mosu.permissions import Actor
from mosu.registry.columns import Kind
from mosu.registry.imports import import_table
from mosu.web.errors import CHOOSE_FILE, UPLOAD_EXPIRED
from mosu.web.forms import FormDep, checked, text
from mosu.web.render import language, render

router = APIRouter(include_in_schema=False)
KINDS: tuple[Kind, ...] = ("orgs", "models")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class Upload:
    """A file kept between a failed import and its resubmission."""

    filename: str
    content: bytes


def _stash(settings: Settings) -> FileStore:
    return FileStore(settings.data_dir, "imports")


def _stashed(upload_id: str) -> str:
    return f"imports/upload-{upload_id}.bin"


def stash(settings: Settings, upload: Upload) -> str:
    """Keep ``upload`` (its file name on the first line, then its bytes); its id comes back."""
    header = json.dumps({"filename": upload.filename}, ensure_ascii=False).encode() + b"\n"
    stored = _stash(settings).put(None, header + upload.content, prefix="upload", suffix=".bin")
    return stored.name.removeprefix("imports/upload-").removesuffix(".bin")


def unstash(settings: Settings, upload_id: str) -> Upload | None:
    if not _UPLOAD_ID.match(upload_id):
        return None
    try:
        header, _, content = _stash(settings).read(_stashed(upload_id)).partition(b"\n")
        return Upload(filename=str(json.loads(header)["filename"]), content=content)
    except (NotFound, ValueError, KeyError, TypeError):
        return None


def discard(settings: Settings, upload_id: str) -> None:
    if _UPLOAD_ID.match(upload_id):
        _stash(settings).remove(_stashed(upload_id))


def _page(
    request: Request, session: Session, actor: Actor, *, status: int = 200, **context: Any
) -> HTMLResponse:
    values: dict[str, Any] = {
        "kind": "orgs",
        "sheet": "",
        "report": None,
        "upload_id": "",
        "error": "",
        "exports": [f"/api/v1/export/{k}.{fmt}" for k in KINDS for fmt in ("xlsx", "csv")],
    }
    values.update(context)
    return render(request, "import.html", values, actor=actor, session=session, status=status)


@router.get("/import")
def import_form(request: Request, session: SessionDep, actor: OperatorActor) -> HTMLResponse:
    return _page(request, session, actor)


def _read_upload(form_file: object) -> Upload:
    if not isinstance(form_file, UploadFile) or not form_file.filename:
        raise CHOOSE_FILE()
    return Upload(
        filename=form_file.filename, content=form_file.file.read()
    )  # within the body limit


@router.post("/import")
def run_import(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: OperatorActor,
    form: FormDep,
) -> HTMLResponse:
    """Validate the file; write it when every row is valid or invalid rows are dropped."""
    lang = language(request)
    kind: Kind = "models" if text(form, "kind") == "models" else "orgs"
    sheet = text(form, "sheet") or None
    upload_id = text(form, "upload_id")
    echo = {"kind": kind, "sheet": sheet or ""}
    try:
        if upload_id:
            upload = unstash(settings, upload_id)
            if upload is None:
                raise UPLOAD_EXPIRED()
        else:
            upload = _read_upload(form.get("file"))
    except Invalid as exc:
        return _page(request, session, actor, status=422, error=i18n.render(exc.text, lang), **echo)
    report = import_table(
        session,
        actor=actor,
        kind=kind,
        filename=upload.filename,
        content=upload.content,
        drop_invalid=checked(form, "drop_invalid"),
        sheet=sheet,
        limits=ReadLimits.from_settings(settings),
    )
    if report.committed:
        session.commit()
    else:
        session.rollback()
    if report.committed or report.ok:
        if upload_id:
            discard(settings, upload_id)
        upload_id = ""
    elif not upload_id:
        upload_id = stash(settings, upload)
    status = 200 if report.ok or report.committed else 422
    return _page(request, session, actor, status=status, report=report, upload_id=upload_id, **echo)

"""Bulk import page (批量导入): upload xlsx/CSV, read the row-by-row report, resubmit.

A file that fails validation is kept under ``data_dir/imports`` so the operator can
resubmit it with "drop invalid rows" without choosing it again.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from mosu import i18n
from mosu.core.errors import Invalid
from mosu.core.limits import ReadLimits
from mosu.core.settings import Settings
from mosu.deps import OperatorActor, SessionDep, SettingsDep
from mosu.permissions import Actor
from mosu.registry.columns import Kind
from mosu.registry.imports import import_table
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


def _stash_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "imports"


def stash(settings: Settings, upload: Upload) -> str:
    directory = _stash_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    upload_id = secrets.token_urlsafe(24)
    (directory / f"{upload_id}.bin").write_bytes(upload.content)
    (directory / f"{upload_id}.json").write_text(json.dumps({"filename": upload.filename}))
    return upload_id


def unstash(settings: Settings, upload_id: str) -> Upload | None:
    if not _UPLOAD_ID.match(upload_id):
        return None
    base = _stash_dir(settings) / upload_id
    try:
        meta = json.loads(base.with_suffix(".json").read_text())
        return Upload(filename=str(meta["filename"]), content=base.with_suffix(".bin").read_bytes())
    except (OSError, ValueError, KeyError):
        return None


def discard(settings: Settings, upload_id: str) -> None:
    if _UPLOAD_ID.match(upload_id):
        for suffix in (".bin", ".json"):
            (_stash_dir(settings) / f"{upload_id}{suffix}").unlink(missing_ok=True)


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


def _read_upload(form_file: object, lang: i18n.Language) -> Upload:
    if not isinstance(form_file, UploadFile) or not form_file.filename:
        raise Invalid(i18n.gettext(lang, "请选择文件"))
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
                raise Invalid(i18n.gettext(lang, "上传已过期，请重新选择文件"))
        else:
            upload = _read_upload(form.get("file"), lang)
    except Invalid as exc:
        return _page(request, session, actor, status=422, error=exc.message, **echo)
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

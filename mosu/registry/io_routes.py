"""Bulk import and export of organisations and models (xlsx and CSV), operator only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from mosu.accounts.deps import OperatorActor
from mosu.core import clock
from mosu.core.limits import ReadLimits
from mosu.deps import SessionDep, SettingsDep
from mosu.registry.columns import Format, Kind
from mosu.registry.errors import IMPORT_INVALID, UPLOAD_MULTIPART
from mosu.registry.exports import export_table
from mosu.registry.imports import ImportReportOut, import_table
from mosu.registry.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

router = APIRouter(tags=["registry import/export"])

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "drop_invalid": {"type": "boolean", "default": False},
                    "sheet": {"type": "string"},
                },
            }
        }
    },
}


class ImportReportLike(Protocol):
    @property
    def problems(self) -> Sequence[Any]: ...

    def out(self) -> Any: ...


def import_answer(session: Session, report: ImportReportLike, *, committed: bool) -> Any:
    """What an import route answers: the report, committed; or, when nothing may be written,
    422 with the report in ``error.details`` after rolling back (the registry's and the
    expert pool's imports alike)."""
    if not committed:
        session.rollback()
        raise IMPORT_INVALID(
            count=len(report.problems), details=report.out().model_dump(mode="json")
        )
    session.commit()
    return report.out()


@dataclass(frozen=True)
class Upload:
    """An uploaded file and the form fields sent with it."""

    filename: str
    content: bytes
    drop_invalid: bool | None
    sheet: str | None


def _flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    return value.strip().lower() in {"1", "true", "yes", "on", "是"}


async def read_upload(request: Request) -> Upload:
    """The multipart upload; :class:`mosu.uploads.BodyLimit` refuses it with 413 past
    ``MOSU_MAX_UPLOAD_MB`` as soon as its ``Content-Length`` or its bytes show it."""
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise UPLOAD_MULTIPART()
        drop = form.get("drop_invalid")
        sheet = form.get("sheet")
        return Upload(
            filename=file.filename or "upload",
            content=await file.read(),
            drop_invalid=_flag(drop) if isinstance(drop, str) else None,
            sheet=sheet.strip() or None if isinstance(sheet, str) else None,
        )


UploadDep = Annotated[Upload, Depends(read_upload)]


@router.post(
    "/import/{kind}",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={413: {"description": "upload too large"}, 422: {"description": "nothing imported"}},
)
def import_file(
    session: SessionDep,
    actor: OperatorActor,
    kind: Kind,
    upload: UploadDep,
    settings: SettingsDep,
    drop_invalid: bool = False,
    sheet: str | None = None,
) -> ImportReportOut:
    """Import organisations or models from an xlsx or CSV file (批量导入).

    Every row is validated first. When any row has a problem nothing is written and the
    answer is 422 with the report in ``error.details``; with ``drop_invalid`` the valid
    rows are written and the bad ones listed. ``drop_invalid`` and ``sheet`` may be form
    fields or query parameters.
    """
    report = import_table(
        session,
        actor=actor,
        kind=kind,
        filename=upload.filename,
        content=upload.content,
        drop_invalid=upload.drop_invalid if upload.drop_invalid is not None else drop_invalid,
        sheet=upload.sheet or sheet,
        limits=ReadLimits.from_settings(settings),
    )
    answer: ImportReportOut = import_answer(session, report, committed=report.committed)
    return answer


@router.get(
    "/export/{kind}.{fmt}",
    response_class=Response,
    responses={
        200: {
            "description": "the file",
            "content": {XLSX_MEDIA_TYPE: {}, CSV_MEDIA_TYPE: {}},
        }
    },
)
def export_file(session: SessionDep, actor: OperatorActor, kind: Kind, fmt: Format) -> Response:
    """All organisations (with contacts) or all models as xlsx or CSV (批量导出)."""
    data = export_table(session, actor=actor, kind=kind, fmt=fmt)
    filename = f"mosu-{kind}-{clock.today():%Y%m%d}.{fmt}"
    return Response(
        content=data,
        media_type=XLSX_MEDIA_TYPE if fmt == "xlsx" else CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

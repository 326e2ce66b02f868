"""Corpus catalogue API (语料): cards, imports, versions, rows and downloads of splits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.datastructures import UploadFile

from mosu.accounts.deps import OperatorActor, PublicActor, SignedInActor
from mosu.core.limits import ReadLimits
from mosu.core.text import Text
from mosu.corpus import catalogue, imports, reading, screening, views
from mosu.corpus.errors import IMPORT_INVALID, UPLOAD_MISSING, UPLOAD_MULTIPART
from mosu.corpus.models import Dataset
from mosu.corpus.readers import Part, split_word
from mosu.corpus.schemas import (
    DatasetIn,
    DatasetOut,
    DatasetPatch,
    ImportReport,
    RowPage,
    VersionOut,
)
from mosu.deps import SessionDep, SettingsDep
from mosu.evals.image_links import link_key
from mosu.i18n import N_
from mosu.registry.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

router = APIRouter(prefix="/corpus", tags=["corpus"])
FileFormat = Literal["csv", "jsonl", "xlsx"]
MEDIA = {"csv": CSV_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE, "jsonl": "application/x-ndjson"}
_LIST = ("input_fields", "label_set", "date_fields")

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "train": {"type": "string", "format": "binary"},
                    "dev": {"type": "string", "format": "binary"},
                    "test": {"type": "string", "format": "binary"},
                    "options": {"type": "string", "description": "ImportOptions as JSON"},
                    "format": {"type": "string"},
                    "sheet": {"type": "string"},
                    "flagged": {"type": "string", "enum": ["refuse", "drop", "keep"]},
                    "id_field": {"type": "string"},
                    "input_fields": {"type": "string", "description": "comma separated"},
                    "image_fields": {
                        "type": "string",
                        "description": "an image zip's fields naming images; comma separated",
                    },
                    "label_field": {"type": "string"},
                    "category_field": {"type": "string"},
                    "split_field": {"type": "string"},
                    "label_set": {"type": "string", "description": "comma separated"},
                    "seed": {"type": "integer"},
                    "max_length": {"type": "integer"},
                    "strip": {"type": "boolean"},
                    "half_width": {"type": "boolean"},
                },
            }
        }
    },
}


@dataclass
class Upload:
    """The files of an import (each maybe one split) and the other form fields."""

    parts: list[Part] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


async def read_upload(request: Request) -> Upload:
    """The multipart upload (413 past ``MOSU_MAX_UPLOAD_MB`` in all: ``BodyLimit``)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UPLOAD_MULTIPART()
    upload = Upload()
    async with request.form(max_files=len(imports.FILE_FIELDS) * 20, max_fields=40) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in imports.FILE_FIELDS:
                    upload.parts.append(
                        Part(
                            name=value.filename or key,
                            content=await value.read(),
                            split=split_word(key),
                        )
                    )
            else:
                upload.values[key] = value
    if not upload.parts:
        raise UPLOAD_MISSING()
    return upload


def _editable(session: SessionDep, actor: SignedInActor, dataset_id: int) -> Dataset:
    return catalogue.editable_dataset(session, actor=actor, dataset_id=dataset_id)


EditableDataset = Annotated[Dataset, Depends(_editable)]
UploadDep = Annotated[Upload, Depends(read_upload)]


@router.get("/datasets")
def list_datasets(session: SessionDep, actor: PublicActor) -> list[DatasetOut]:
    """Every data set's card (hidden labels and examples left out for non-operators)."""
    return [views.dataset_out(d, actor=actor) for d in catalogue.list_datasets(session)]


@router.post("/datasets", status_code=201)
def create_dataset(session: SessionDep, actor: SignedInActor, data: DatasetIn) -> DatasetOut:
    """Register a data set's card (operators; suppliers for their own organisation)."""
    dataset = catalogue.create_dataset(session, actor=actor, data=data)
    session.commit()
    return views.dataset_out(catalogue.get_dataset(session, dataset.id), actor=actor)


@router.get("/datasets/{dataset_id}")
def get_dataset(session: SessionDep, actor: PublicActor, dataset_id: int) -> DatasetOut:
    return views.dataset_out(catalogue.get_dataset(session, dataset_id), actor=actor)


@router.patch("/datasets/{dataset_id}")
def update_dataset(
    session: SessionDep, actor: SignedInActor, dataset_id: int, data: DatasetPatch
) -> DatasetOut:
    dataset = catalogue.update_dataset(session, actor=actor, dataset_id=dataset_id, data=data)
    session.commit()
    return views.dataset_out(dataset, actor=actor)


@router.post(
    "/datasets/{dataset_id}/versions",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        200: {"description": "identical content: the existing version"},
        201: {"description": "a new version"},
        413: {"description": "upload too large"},
        422: {"description": "nothing written; the report is in error.details"},
    },
)
def import_version(
    session: SessionDep,
    actor: SignedInActor,
    dataset: EditableDataset,
    upload: UploadDep,
    settings: SettingsDep,
    response: Response,
) -> ImportReport:
    """Import a new version from CSV, JSON lines, xlsx, CMMLU (zip) or CLUE files.

    Send one ``file`` (split from a column or made by the platform) or ``train``, ``dev``
    and ``test`` files. Options as form fields (``flagged``, ``input_fields`` …) or as
    ``options``, a JSON :class:`ImportOptions`. Nothing is written unless every row is
    clean or ``flagged`` is ``drop`` or ``keep``.
    """
    options = imports.import_options(upload.values)
    result = imports.import_version(
        session,
        actor=actor,
        dataset=dataset,
        parts=upload.parts,
        options=options,
        limits=ReadLimits.from_settings(settings),
    )
    report = result.report
    if result.version is None:
        session.rollback()
        flagged = Text(N_("{count} 行有问题"), {"count": report.flagged_rows})
        raise IMPORT_INVALID(
            reason=report.file_problem or flagged, details=report.model_dump(mode="json")
        )
    session.commit()
    response.status_code = 201 if report.created else 200
    return report


@router.get("/datasets/{dataset_id}/versions/{version}")
def get_version(
    session: SessionDep, actor: PublicActor, dataset_id: int, version: int
) -> VersionOut:
    return views.version_out(catalogue.get_version(session, dataset_id, version), actor=actor)


@router.get("/datasets/{dataset_id}/versions/{version}/splits/{split}/rows")
def split_rows(
    session: SessionDep,
    actor: PublicActor,
    dataset_id: int,
    version: int,
    split: str,
    offset: int = 0,
    limit: int = 50,
) -> RowPage:
    """Rows of a split; the hidden test split only for operators."""
    found = catalogue.get_version(session, dataset_id, version)
    return reading.rows_page(
        session, actor=actor, version=found, split=split, offset=offset, limit=limit
    )


@router.get("/datasets/{dataset_id}/versions/{version}/splits/{split}.{fmt}")
def download_split(
    session: SessionDep,
    actor: PublicActor,
    dataset_id: int,
    version: int,
    split: str,
    fmt: FileFormat,
) -> Response:
    """A split as CSV, JSON lines or xlsx (formula-safe); the test split only for operators."""
    found = catalogue.get_version(session, dataset_id, version)
    data = reading.export_split(session, actor=actor, version=found, split=split, fmt=fmt)
    filename = f"dataset{dataset_id}-v{version}-{split}.{fmt}"
    return Response(
        content=data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/datasets/{dataset_id}/versions/{version}/rows/{index}/images/{field}")
def row_image(
    session: SessionDep,
    actor: PublicActor,
    dataset_id: int,
    version: int,
    index: int,
    field: str,
    thumb: bool = False,
) -> Response:
    """A row's image (``thumb=true``: its thumbnail, a PNG); a test row's only for operators."""
    found = catalogue.get_version(session, dataset_id, version)
    data, media_type = reading.row_image(
        session, actor=actor, version=found, index=index, field=field, thumb=thumb
    )
    return Response(
        content=data,
        media_type=media_type,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/images/{sha256}")
def linked_image(
    session: SessionDep,
    settings: SettingsDep,
    actor: PublicActor,
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    expires: int = 0,
    sig: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """An image by a signed link that a stage sending images as links gave an endpoint: for
    whoever holds the link, signed in or not, until it expires (15 minutes); without a
    valid link, for nobody (403), whatever the role."""
    del actor  # the link, not the reader, decides
    data, media_type = reading.linked_image(
        session,
        key=link_key(settings.secret_key),
        sha256=sha256,
        expires=expires,
        sig=sig,
        now=time.time(),
    )
    left = max(0, expires - int(time.time()))
    return Response(
        content=data,
        media_type=media_type,
        headers={"Cache-Control": f"private, max-age={left}", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/datasets/{dataset_id}/versions/{version}/contamination")
def recheck_contamination(
    session: SessionDep, actor: OperatorActor, dataset_id: int, version: int
) -> dict[str, Any]:
    """Check the test split again against every corpus registered now (operators)."""
    found = catalogue.get_version(session, dataset_id, version)
    result = screening.recheck_contamination(session, actor=actor, version=found)
    session.commit()
    return result

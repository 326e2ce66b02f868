"""Corpus catalogue API (语料): cards, imports, versions, rows and downloads of splits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from mosu.core.errors import Invalid
from mosu.core.limits import ReadLimits
from mosu.corpus import service
from mosu.corpus.models import Dataset
from mosu.corpus.readers import Part, split_word
from mosu.corpus.schemas import (
    DatasetIn,
    DatasetOut,
    DatasetPatch,
    ImportOptions,
    ImportReport,
    RowPage,
    VersionOut,
)
from mosu.deps import OperatorActor, PublicActor, SessionDep, SettingsDep, SignedInActor
from mosu.registry.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE

router = APIRouter(prefix="/corpus", tags=["corpus"])
FileFormat = Literal["csv", "jsonl", "xlsx"]
MEDIA = {"csv": CSV_MEDIA_TYPE, "xlsx": XLSX_MEDIA_TYPE, "jsonl": "application/x-ndjson"}
FILE_FIELDS = ("file", "train", "dev", "test")
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


def _split_list(text: str) -> list[str]:
    return [t.strip() for t in text.replace("，", ",").replace("、", ",").split(",") if t.strip()]


def import_options(values: Mapping[str, str]) -> ImportOptions:
    """Import options from form fields: ``options`` (JSON), overridden by simple fields."""
    data: dict[str, Any] = {}
    raw = values.get("options", "").strip()
    if raw:
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError:
            raise Invalid("options 不是有效的 JSON / options is not valid JSON") from None
        if isinstance(loaded, dict):
            data = loaded
    roles: dict[str, Any] = dict(data.get("roles") or {})
    for name in ("id_field", "label_field", "category_field", "split_field"):
        if values.get(name, "").strip():
            roles[name] = values[name].strip()
    for name in ("input_fields", "date_fields"):
        if values.get(name, "").strip():
            roles[name] = _split_list(values[name])
    data["roles"] = roles
    for name in ("format", "sheet", "flagged", "seed", "max_length"):
        if values.get(name, "").strip():
            data[name] = values[name].strip()
    if values.get("label_set", "").strip():
        data["label_set"] = _split_list(values["label_set"])
    normalise = dict(data.get("normalise") or {})
    for name in ("strip", "half_width"):
        if values.get(name, "").strip():
            normalise[name] = values[name].strip().lower() in {"1", "true", "yes", "on"}
    data["normalise"] = normalise
    try:
        return ImportOptions.model_validate(data)
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise Invalid("导入选项不合法 / invalid import options", details=details) from None


@dataclass
class Upload:
    """The files of an import (each maybe one split) and the other form fields."""

    parts: list[Part] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


async def read_upload(request: Request) -> Upload:
    """The multipart upload (413 past ``MOSU_MAX_UPLOAD_MB`` in all: ``BodyLimit``)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid("请以 multipart/form-data 上传文件（字段名 file）/ send the file as `file`")
    upload = Upload()
    async with request.form(max_files=len(FILE_FIELDS) * 20, max_fields=40) as form:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in FILE_FIELDS:
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
        raise Invalid("请上传文件（字段名 file，或 train、dev、test）/ send a file")
    return upload


def _editable(session: SessionDep, actor: SignedInActor, dataset_id: int) -> Dataset:
    return service.editable_dataset(session, actor=actor, dataset_id=dataset_id)


EditableDataset = Annotated[Dataset, Depends(_editable)]
UploadDep = Annotated[Upload, Depends(read_upload)]


@router.get("/datasets")
def list_datasets(session: SessionDep, actor: PublicActor) -> list[DatasetOut]:
    """Every data set's card (hidden labels and examples left out for non-operators)."""
    return [service.dataset_out(d, actor=actor) for d in service.list_datasets(session)]


@router.post("/datasets", status_code=201)
def create_dataset(session: SessionDep, actor: SignedInActor, data: DatasetIn) -> DatasetOut:
    """Register a data set's card (operators; suppliers for their own organisation)."""
    dataset = service.create_dataset(session, actor=actor, data=data)
    session.commit()
    return service.dataset_out(service.get_dataset(session, dataset.id), actor=actor)


@router.get("/datasets/{dataset_id}")
def get_dataset(session: SessionDep, actor: PublicActor, dataset_id: int) -> DatasetOut:
    return service.dataset_out(service.get_dataset(session, dataset_id), actor=actor)


@router.patch("/datasets/{dataset_id}")
def update_dataset(
    session: SessionDep, actor: SignedInActor, dataset_id: int, data: DatasetPatch
) -> DatasetOut:
    dataset = service.update_dataset(session, actor=actor, dataset_id=dataset_id, data=data)
    session.commit()
    return service.dataset_out(dataset, actor=actor)


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
    options = import_options(upload.values)
    result = service.import_version(
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
        reason = report.file_problem or f"{report.flagged_rows} 行有问题 / rows flagged"
        raise Invalid(
            f"未写入任何数据：{reason} / nothing written",
            code="import_invalid",
            details=report.model_dump(mode="json"),
        )
    session.commit()
    response.status_code = 201 if report.created else 200
    return report


@router.get("/datasets/{dataset_id}/versions/{version}")
def get_version(
    session: SessionDep, actor: PublicActor, dataset_id: int, version: int
) -> VersionOut:
    return service.version_out(service.get_version(session, dataset_id, version), actor=actor)


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
    found = service.get_version(session, dataset_id, version)
    return service.rows_page(
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
    found = service.get_version(session, dataset_id, version)
    data = service.export_split(session, actor=actor, version=found, split=split, fmt=fmt)
    filename = f"dataset{dataset_id}-v{version}-{split}.{fmt}"
    return Response(
        content=data,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/datasets/{dataset_id}/versions/{version}/contamination")
def recheck_contamination(
    session: SessionDep, actor: OperatorActor, dataset_id: int, version: int
) -> dict[str, Any]:
    """Check the test split again against every corpus registered now (operators)."""
    found = service.get_version(session, dataset_id, version)
    result = service.recheck_contamination(session, actor=actor, version=found)
    session.commit()
    return result

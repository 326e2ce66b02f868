"""Importing a version of a data set.

An import is read, checked and split in memory; only a clean import (or one whose
flagged rows the user chose to drop or keep) is written, as one new version in the
caller's transaction. A version is named by the SHA-256 of its normalised rows and
schema, so importing the same content again returns the version that exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.limits import ReadLimits
from mosu.corpus.errors import INVALID_OPTIONS, MANAGE_OWN_DATASETS, OPTIONS_NOT_JSON
from mosu.corpus.image_store import store_images
from mosu.corpus.models import (
    SPLITS,
    Dataset,
    DatasetRow,
    DatasetVersion,
)
from mosu.corpus.readers import Part, Table, read_parts
from mosu.corpus.schemas import (
    ImportOptions,
    ImportReport,
    Roles,
)
from mosu.corpus.screening import find_contamination
from mosu.corpus.splits import assign_splits
from mosu.corpus.validation import Checked, Clean, check, guess_roles
from mosu.permissions import (
    Actor,
    can_manage_dataset,
    ensure,
)
from mosu.registry.sheets import FileProblem

MAX_STORED_PROBLEMS = 1000
FILE_FIELDS = ("file", "train", "dev", "test")
"""The upload fields of an import: one file, or one file per split."""
LENGTH_BINS = 20


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def content_hash(schema: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of the schema and the rows."""
    body = json.dumps(
        {"schema": schema, "rows": rows},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _stats(rows: list[Clean], splits: list[str]) -> dict[str, Any]:
    """Rows, labels and text lengths by split, for the card's charts."""
    counts = Counter(splits)
    labels: dict[str, dict[str, int]] = {}
    for row, split in zip(rows, splits, strict=True):
        if row.label is not None:
            per = labels.setdefault(split, {})
            per[row.label] = per.get(row.label, 0) + 1
    lengths = np.array([len(r.text) for r in rows], dtype=np.int64)
    top = int(np.percentile(lengths, 99)) if len(lengths) else 0
    edges = np.linspace(0, max(top, 1), LENGTH_BINS + 1).round().astype(int)
    edges = np.unique(edges)
    histogram: dict[str, list[int]] = {}
    summary: dict[str, dict[str, float]] = {}
    split_array = np.array(splits)
    for split in SPLITS:
        mine = lengths[split_array == split] if len(lengths) else lengths
        if not len(mine):
            continue
        clipped = np.minimum(mine, edges[-1])
        histogram[split] = [int(c) for c in np.histogram(clipped, bins=edges)[0]]
        summary[split] = {
            "mean": round(float(mine.mean()), 1),
            "median": float(np.median(mine)),
            "max": int(mine.max()),
        }
    return {
        "rows": {s: counts[s] for s in SPLITS if counts[s]},
        "labels": labels,
        "length_edges": [int(e) for e in edges],
        "length_histogram": histogram,
        "length_summary": summary,
    }


@dataclass(frozen=True)
class ImportResult:
    """The report, and the version written or found (``None`` when nothing was written)."""

    report: ImportReport
    version: DatasetVersion | None


def _read(
    report: ImportReport, parts: list[Part], options: ImportOptions, limits: ReadLimits
) -> tuple[Table, Roles, Checked] | None:
    """Read and check the files into ``report``; ``None`` (a file problem noted) when they
    cannot be read or name fields the file does not have."""
    try:
        table = read_parts(parts, options.format, options.sheet, limits)
    except FileProblem as exc:
        report.file_problem = str(exc)
        return None
    report.format, report.encodings = table.format, table.encodings
    roles = guess_roles(options.roles, table.fields, table.records, table.format)
    report.roles = roles
    report.total_rows = len(table.records)
    named = [roles.id_field, roles.label_field, roles.category_field, roles.split_field]
    unknown = [
        f
        for f in [
            *named,
            *roles.input_fields,
            *(roles.date_fields or []),
            *(roles.image_fields or []),
        ]
        if f and f not in table.fields
    ]
    if unknown:
        report.file_problem = (
            f"文件中没有字段：{'、'.join(unknown)}；文件中的字段：{'、'.join(table.fields)}"
        )
        return None
    if not roles.input_fields and not roles.image_fields:
        report.file_problem = "没有可作为输入的文本字段，请指定输入字段（input_fields）"
        return None
    checked = check(table.records, roles, options, table.images, table.oversized)
    report.problems = checked.problems
    report.notes = checked.notes
    report.counts = dict(Counter(p.kind for p in checked.problems))
    report.flagged_rows = len({p.row for p in checked.problems})
    return table, roles, checked


def schema_of(roles: Roles) -> dict[str, Any]:
    """The version's schema: the roles, ``image_fields`` only for an image corpus (so a text
    corpus's schema, and its content hash, are what they were before images existed)."""
    schema = roles.model_dump()
    if not schema.get("image_fields"):
        schema.pop("image_fields", None)
    return schema


def _split(keep: list[Clean], options: ImportOptions) -> tuple[list[str], list[int]]:
    """Each row's split (the file's, else one the platform assigns) and the rows assigned."""
    unsplit = [i for i, r in enumerate(keep) if r.split is None]
    made = assign_splits([keep[i].label for i in unsplit], options.ratios, options.seed)
    splits = [r.split or "" for r in keep]
    for i, split in zip(unsplit, made, strict=True):
        splits[i] = split
    return splits, unsplit


def _canonical(keep: list[Clean], splits: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.row_id,
            "split": split,
            "fields": {k: _jsonable(v) for k, v in r.fields.items()},
            "label": r.label,
            "category": r.category,
        }
        for r, split in zip(keep, splits, strict=True)
    ]


def _provenance(
    *,
    actor: Actor,
    report: ImportReport,
    table: Table,
    checked: Checked,
    options: ImportOptions,
    unsplit: bool,
    split_how: str,
    labelled: bool,
) -> dict[str, Any]:
    """Where a version came from and what the import did to it."""
    return {
        "files": report.files,
        "format": table.format,
        "encodings": table.encodings,
        "sheet": options.sheet,
        "normalisation": options.normalise.model_dump(),
        "flagged_rows": report.flagged_rows,
        "flagged_choice": options.flagged if checked.problems else None,
        "dropped_rows": report.dropped_rows,
        "problem_counts": report.counts,
        "problems": [p.model_dump() for p in checked.problems[:MAX_STORED_PROBLEMS]],
        "notes": checked.notes,
        "split": {
            "how": split_how,
            "seed": options.seed if unsplit else None,
            "ratios": options.ratios.model_dump() if unsplit else None,
            "stratified_by": "label" if unsplit and labelled else None,
        },
        "imported_by": actor.username or actor.user_id,
        "imported_at": clock.now().isoformat(timespec="seconds"),
    }


def _insert_rows(
    session: Session, version: DatasetVersion, canonical: list[dict[str, Any]], keep: list[Clean]
) -> None:
    session.execute(
        insert(DatasetRow),
        [
            {
                "version_id": version.id,
                "index": index,
                "row_id": str(row["id"]),
                "split": row["split"],
                "fields": row["fields"],
                "label": row["label"],
                "category": row["category"],
                "length": len(clean.text),
            }
            for index, (row, clean) in enumerate(zip(canonical, keep, strict=True))
        ],
    )


def _new_version(
    session: Session,
    *,
    actor: Actor,
    dataset: Dataset,
    report: ImportReport,
    read: tuple[Table, Roles, Checked],
    options: ImportOptions,
    keep: list[Clean],
    splits: list[str],
    unsplit: list[int],
    digest: str,
) -> DatasetVersion:
    """The next version of ``dataset`` for the kept rows (not yet added to ``session``)."""
    table, roles, checked = read
    number = (
        session.scalar(
            select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)
        )
        or 0
    ) + 1
    labels = sorted({r.label for r in keep if r.label is not None})
    split_how = (
        "platform" if len(unsplit) == len(keep) else "data" if not unsplit else "data+platform"
    )
    version = DatasetVersion(
        dataset_id=dataset.id,
        number=number,
        content_hash=digest,
        schema=schema_of(roles),
        label_set=options.label_set or labels,
        row_count=len(keep),
        provenance=_provenance(
            actor=actor,
            report=report,
            table=table,
            checked=checked,
            options=options,
            unsplit=bool(unsplit),
            split_how=split_how,
            labelled=bool(labels),
        ),
        stats=_stats(keep, splits),
        contamination={},
        created_by_id=actor.user_id,
    )
    return version


def import_version(
    session: Session,
    *,
    actor: Actor,
    dataset: Dataset,
    parts: list[Part],
    options: ImportOptions,
    limits: ReadLimits = ReadLimits(),
) -> ImportResult:
    """Read, check, split and (when allowed) write ``parts`` as a new version of ``dataset``.

    Nothing is written when the file cannot be read or, with ``options.flagged`` left at
    ``"refuse"``, when any row is flagged; ``"drop"`` writes the other rows, ``"keep"``
    writes every row, and either choice is recorded in the version's provenance. The
    version is flushed into ``session``; the caller commits (or rolls back).
    """
    ensure(can_manage_dataset(actor, dataset.organisation_id), MANAGE_OWN_DATASETS)
    started = time.perf_counter()
    report = ImportReport(
        files=[p.name for p in parts], flagged=options.flagged, dataset_id=dataset.id
    )
    read = _read(report, parts, options, limits)
    if read is None:
        return ImportResult(report, None)
    _, roles, checked = read
    if checked.problems and options.flagged == "refuse":
        report.seconds = round(time.perf_counter() - started, 3)
        return ImportResult(report, None)
    keep = checked.rows
    if options.flagged == "drop":
        flagged = {p.row for p in checked.problems}
        keep = [r for r in checked.rows if r.position not in flagged]
        report.dropped_rows = len(checked.rows) - len(keep)
    if not keep:
        report.file_problem = "没有可写入的行"
        return ImportResult(report, None)
    splits, unsplit = _split(keep, options)
    schema = schema_of(roles)
    canonical = _canonical(keep, splits)
    digest = content_hash(schema, canonical)
    report.content_hash = digest
    found = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.content_hash == digest
        )
    )
    if found is not None:
        report.existing, report.version = True, found.number
        report.seconds = round(time.perf_counter() - started, 3)
        return ImportResult(report, found)
    version = _new_version(
        session,
        actor=actor,
        dataset=dataset,
        report=report,
        read=read,
        options=options,
        keep=keep,
        splits=splits,
        unsplit=unsplit,
        digest=digest,
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError:  # the same content or number, imported at the same moment
        session.rollback()
        report.file_problem = "与他人同时导入的版本冲突，未写入任何数据；请重新导入"
        return ImportResult(report, None)
    _insert_rows(session, version, canonical, keep)
    store_images(session, [i for r in keep for i in r.images])
    version.contamination = find_contamination(session, version)
    session.flush()
    report.created, report.version = True, version.number
    report.written_rows = len(keep)
    report.seconds = round(time.perf_counter() - started, 3)
    return ImportResult(report, version)


# ---------------------------------------------------------------- options from a form


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
            raise OPTIONS_NOT_JSON() from None
        if isinstance(loaded, dict):
            data = loaded
    roles: dict[str, Any] = dict(data.get("roles") or {})
    for name in ("id_field", "label_field", "category_field", "split_field"):
        if values.get(name, "").strip():
            roles[name] = values[name].strip()
    for name in ("input_fields", "date_fields", "image_fields"):
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
        raise INVALID_OPTIONS(details=details) from None

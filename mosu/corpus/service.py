"""The corpus catalogue's rules (语料目录): cards, immutable versions, splits, access.

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mosu.core import clock
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from mosu.core.limits import ReadLimits
from mosu.corpus import contamination
from mosu.corpus.models import (
    HIDDEN_SPLITS,
    PUBLIC_SPLITS,
    SPLITS,
    UNKNOWN_LICENCE,
    Dataset,
    DatasetRow,
    DatasetVersion,
)
from mosu.corpus.readers import Part, read_parts
from mosu.corpus.schemas import (
    DatasetIn,
    DatasetOut,
    DatasetPatch,
    ImportOptions,
    ImportReport,
    RowOut,
    RowPage,
    VersionOut,
)
from mosu.corpus.splits import assign_splits
from mosu.corpus.validation import Clean, check, guess_roles
from mosu.permissions import (
    PUBLIC,
    Actor,
    can_check_contamination,
    can_create_dataset,
    can_manage_dataset,
    can_read_hidden_split,
    ensure,
)
from mosu.registry.models import Organisation
from mosu.registry.sheets import FileProblem, write_csv, write_xlsx

MAX_STORED_PROBLEMS = 1000
LENGTH_BINS = 20
MAX_ROWS_PER_PAGE = 200


# ---------------------------------------------------------------- cards


def create_dataset(session: Session, *, actor: Actor, data: DatasetIn) -> Dataset:
    """A new card. A supplier registers for its own organisation; an operator for any."""
    ensure(can_create_dataset(actor), "只有运营方和有组织的供给方可以登记语料 / not allowed")
    organisation_id = data.organisation_id
    if not actor.is_operator:
        if organisation_id not in (None, actor.organisation_id):
            raise Forbidden("只能为本组织登记语料 / only for your own organisation")
        organisation_id = actor.organisation_id
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise Invalid("组织不存在 / no such organisation", details={"field": "organisation_id"})
    if session.scalar(select(Dataset.id).where(Dataset.name == data.name)) is not None:
        raise Conflict(f"已有名为“{data.name}”的数据集", details={"field": "name"})
    dataset = Dataset(
        name=data.name,
        organisation_id=organisation_id,
        licence=data.licence,
        source=data.source,
        provenance=data.provenance,
        modality=data.modality,
        industry_tags=[t.strip() for t in data.industry_tags if t.strip()],
        description=data.description,
        created_by_id=actor.user_id,
    )
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id, options=[selectinload(Dataset.versions)])
    if dataset is None:
        raise NotFound("数据集不存在 / no such data set")
    return dataset


def editable_dataset(session: Session, *, actor: Actor, dataset_id: int) -> Dataset:
    """The data set, if ``actor`` may change its card or add versions."""
    dataset = get_dataset(session, dataset_id)
    ensure(can_manage_dataset(actor, dataset.organisation_id), "只能管理本组织的语料")
    return dataset


def update_dataset(
    session: Session, *, actor: Actor, dataset_id: int, data: DatasetPatch
) -> Dataset:
    dataset = editable_dataset(session, actor=actor, dataset_id=dataset_id)
    changes = data.model_dump(exclude_unset=True)
    name = changes.get("name")
    if name and name != dataset.name:
        clash = session.scalar(select(Dataset.id).where(Dataset.name == name))
        if clash is not None:
            raise Conflict(f"已有名为“{name}”的数据集", details={"field": "name"})
    for key, value in changes.items():
        if value is None:
            continue
        if key == "licence":
            value = value.strip() or UNKNOWN_LICENCE
        setattr(dataset, key, value)
    session.flush()
    return dataset


def list_datasets(session: Session) -> list[Dataset]:
    stmt = (
        select(Dataset)
        .options(selectinload(Dataset.versions), selectinload(Dataset.organisation))
        .order_by(Dataset.name)
    )
    return list(session.scalars(stmt))


def latest(dataset: Dataset) -> DatasetVersion | None:
    return dataset.versions[-1] if dataset.versions else None


def get_version(session: Session, dataset_id: int, number: int) -> DatasetVersion:
    version = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset_id, DatasetVersion.number == number
        )
    )
    if version is None:
        raise NotFound("版本不存在 / no such version")
    return version


# ---------------------------------------------------------------- what each reader sees


def ensure_split_readable(actor: Actor, split: str) -> None:
    """Public splits for everyone; a hidden split for operators (the public must sign in)."""
    if split not in SPLITS:
        raise NotFound(f"没有名为 {split} 的划分 / no such split")
    if split in HIDDEN_SPLITS and not can_read_hidden_split(actor):
        if not actor.is_authenticated:
            raise Unauthenticated("隐藏划分需要运营方登录 / sign in as an operator")
        raise Forbidden("测试集是隐藏的，只有运营方可以查看 / the test split is hidden")


def version_out(version: DatasetVersion, *, actor: Actor) -> VersionOut:
    """A version as ``actor`` may see it: hidden labels, examples and problems left out."""
    stats = dict(version.stats)
    provenance = dict(version.provenance)
    found = contamination_view(version.contamination, actor=actor)
    if not can_read_hidden_split(actor):
        stats["labels"] = {
            s: c for s, c in stats.get("labels", {}).items() if s not in HIDDEN_SPLITS
        }
        provenance.pop("problems", None)
    return VersionOut.model_validate(
        {
            "id": version.id,
            "number": version.number,
            "content_hash": version.content_hash,
            "row_count": version.row_count,
            "schema": version.schema,
            "label_set": version.label_set,
            "provenance": provenance,
            "stats": stats,
            "contamination": found,
            "created_at": version.created_at,
        }
    )


def dataset_out(dataset: Dataset, *, actor: Actor) -> DatasetOut:
    return DatasetOut(
        id=dataset.id,
        name=dataset.name,
        organisation_id=dataset.organisation_id,
        organisation_name=dataset.organisation.name_zh if dataset.organisation else None,
        licence=dataset.licence,
        licence_known=dataset.licence.strip().lower() not in ("", UNKNOWN_LICENCE),
        source=dataset.source,
        provenance=dataset.provenance,
        modality=dataset.modality,
        industry_tags=list(dataset.industry_tags),
        description=dataset.description,
        created_at=dataset.created_at,
        versions=[version_out(v, actor=actor) for v in dataset.versions],
    )


def public_rows(
    session: Session,
    version: DatasetVersion,
    *,
    splits: Sequence[str] = PUBLIC_SPLITS,
    limit: int | None = None,
) -> list[DatasetRow]:
    """``version``'s rows of the public ``splits``, in order: what may be shown to people
    or sent to models outside a race (arena prompts, among others). A hidden split is
    refused, whoever asks: its inputs stay with the race that pins it."""
    hidden = [s for s in splits if s not in PUBLIC_SPLITS]
    if hidden:
        raise Invalid(
            f"只能使用公开划分（train、dev），不能使用 {', '.join(hidden)} / "
            "only public splits (train, dev) may be used",
            details={"field": "splits"},
        )
    stmt = (
        select(DatasetRow)
        .where(DatasetRow.version_id == version.id, DatasetRow.split.in_(list(splits)))
        .order_by(DatasetRow.index)
    )
    return list(session.scalars(stmt if limit is None else stmt.limit(limit)))


def rows_page(
    session: Session,
    *,
    actor: Actor,
    version: DatasetVersion,
    split: str,
    offset: int = 0,
    limit: int = 50,
) -> RowPage:
    """Rows of one split; a hidden split only for operators."""
    ensure_split_readable(actor, split)
    limit = min(max(1, limit), MAX_ROWS_PER_PAGE)
    offset = max(0, offset)
    where = (DatasetRow.version_id == version.id, DatasetRow.split == split)
    total = session.scalar(select(func.count()).select_from(DatasetRow).where(*where)) or 0
    rows = session.scalars(
        select(DatasetRow).where(*where).order_by(DatasetRow.index).offset(offset).limit(limit)
    )
    return RowPage(
        total=total,
        offset=offset,
        rows=[
            RowOut(
                index=r.index,
                id=r.row_id,
                split=r.split,
                fields=r.fields,
                label=r.label,
                category=r.category,
            )
            for r in rows
        ],
    )


def export_split(
    session: Session, *, actor: Actor, version: DatasetVersion, split: str, fmt: str
) -> bytes:
    """One split as CSV (UTF-8 with BOM), JSON lines or xlsx; spreadsheets formula-safe."""
    ensure_split_readable(actor, split)
    rows = list(
        session.scalars(
            select(DatasetRow)
            .where(DatasetRow.version_id == version.id, DatasetRow.split == split)
            .order_by(DatasetRow.index)
        )
    )
    schema = version.schema
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r.fields))
    id_name = schema.get("id_field") or "id"
    label_name = schema.get("label_field") or "label"
    category_name = schema.get("category_field") or "category"
    if fmt == "jsonl":
        lines = []
        for r in rows:
            record: dict[str, Any] = {id_name: r.row_id, **r.fields}
            if r.label is not None:
                record[label_name] = r.label
            if r.category is not None:
                record[category_name] = r.category
            lines.append(json.dumps(record, ensure_ascii=False))
        return ("\n".join(lines) + "\n").encode("utf-8")
    fields = list(names)
    headers = [id_name, *fields, label_name, category_name]
    table = ([r.row_id, *[r.fields.get(f) for f in fields], r.label, r.category] for r in rows)
    if fmt == "csv":
        return write_csv(headers, table)
    if fmt == "xlsx":
        return write_xlsx(split, headers, table, [16] + [40] * len(fields) + [16, 16])
    raise NotFound(f"不支持的格式 {fmt} / use csv, jsonl or xlsx")


# ---------------------------------------------------------------- import


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
    ensure(can_manage_dataset(actor, dataset.organisation_id), "只能管理本组织的语料")
    started = time.perf_counter()
    report = ImportReport(
        files=[p.name for p in parts], flagged=options.flagged, dataset_id=dataset.id
    )
    try:
        table = read_parts(parts, options.format, options.sheet, limits)
    except FileProblem as exc:
        report.file_problem = str(exc)
        return ImportResult(report, None)
    report.format, report.encodings = table.format, table.encodings
    roles = guess_roles(options.roles, table.fields, table.records, table.format)
    report.roles = roles
    report.total_rows = len(table.records)
    named = [roles.id_field, roles.label_field, roles.category_field, roles.split_field]
    unknown = [
        f
        for f in [*named, *roles.input_fields, *(roles.date_fields or [])]
        if f and f not in table.fields
    ]
    if unknown:
        report.file_problem = (
            f"文件中没有字段：{'、'.join(unknown)}；文件中的字段：{'、'.join(table.fields)}"
        )
        return ImportResult(report, None)
    if not roles.input_fields:
        report.file_problem = "没有可作为输入的文本字段，请指定输入字段（input_fields）"
        return ImportResult(report, None)
    checked = check(table.records, roles, options)
    report.problems = checked.problems
    report.notes = checked.notes
    report.counts = dict(Counter(p.kind for p in checked.problems))
    report.flagged_rows = len({p.row for p in checked.problems})
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
    unsplit = [i for i, r in enumerate(keep) if r.split is None]
    made = assign_splits([keep[i].label for i in unsplit], options.ratios, options.seed)
    splits = [r.split or "" for r in keep]
    for i, split in zip(unsplit, made, strict=True):
        splits[i] = split
    schema = roles.model_dump()
    canonical = [
        {
            "id": r.row_id,
            "split": split,
            "fields": {k: _jsonable(v) for k, v in r.fields.items()},
            "label": r.label,
            "category": r.category,
        }
        for r, split in zip(keep, splits, strict=True)
    ]
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
    problems = [p.model_dump() for p in checked.problems[:MAX_STORED_PROBLEMS]]
    version = DatasetVersion(
        dataset_id=dataset.id,
        number=number,
        content_hash=digest,
        schema=schema,
        label_set=options.label_set or labels,
        row_count=len(keep),
        provenance={
            "files": report.files,
            "format": table.format,
            "encodings": table.encodings,
            "sheet": options.sheet,
            "normalisation": options.normalise.model_dump(),
            "flagged_rows": report.flagged_rows,
            "flagged_choice": options.flagged if checked.problems else None,
            "dropped_rows": report.dropped_rows,
            "problem_counts": report.counts,
            "problems": problems,
            "notes": checked.notes,
            "split": {
                "how": split_how,
                "seed": options.seed if unsplit else None,
                "ratios": options.ratios.model_dump() if unsplit else None,
                "stratified_by": "label" if unsplit and labels else None,
            },
            "imported_by": actor.username or actor.user_id,
            "imported_at": clock.now().isoformat(timespec="seconds"),
        },
        stats=_stats(keep, splits),
        contamination={},
        created_by_id=actor.user_id,
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError:  # the same content or number, imported at the same moment
        session.rollback()
        report.file_problem = "与他人同时导入的版本冲突，未写入任何数据；请重新导入"
        return ImportResult(report, None)
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
    version.contamination = find_contamination(session, version)
    session.flush()
    report.created, report.version = True, number
    report.written_rows = len(keep)
    report.seconds = round(time.perf_counter() - started, 3)
    return ImportResult(report, version)


# ---------------------------------------------------------------- contamination


def row_text(fields: dict[str, Any], input_fields: list[str]) -> str:
    return "\n".join("" if fields.get(f) is None else str(fields.get(f)) for f in input_fields)


def _texts(
    session: Session, version: DatasetVersion, splits: tuple[str, ...] | None
) -> list[tuple[str, str, str]]:
    """``(row id, split, text)`` of a version's rows (of ``splits``, or all)."""
    stmt = select(DatasetRow.row_id, DatasetRow.split, DatasetRow.fields).where(
        DatasetRow.version_id == version.id
    )
    if splits is not None:
        stmt = stmt.where(DatasetRow.split.in_(splits))
    inputs = list(version.schema.get("input_fields") or [])
    return [
        (i, s, row_text(f, inputs)) for i, s, f in session.execute(stmt.order_by(DatasetRow.index))
    ]


_Reference = tuple[str, str, int | None, str, int | None, list[tuple[str, str, str]]]
"""kind, public or hidden, data set id, name, version number, ``(row id, split, text)``."""


def _reference_of(source: dict[str, Any]) -> str:
    """Which kind of text a stored source is: ``public`` (train and dev rows) or ``hidden``.

    Results stored before the two were told apart compared other corpora's rows of every
    split at once: those count as hidden until the check runs again."""
    return str(source.get("reference", "public" if source.get("kind") == "public" else "hidden"))


def contamination_view(found: dict[str, Any], *, actor: Actor) -> dict[str, Any]:
    """A stored contamination result as ``actor`` may see it.

    Operators see every source with its examples. Everyone else sees only the overlap
    with public text (this version's own public splits and other corpora's public splits),
    as counts: a count against another corpus's hidden split would be an oracle on its
    hidden rows, and an example quotes hidden test text."""
    view = dict(found)
    if can_read_hidden_split(actor):
        return view
    public = [
        {k: v for k, v in src.items() if k != "examples"}
        for src in found.get("sources", [])
        if _reference_of(src) == "public"
    ]
    view["sources"] = public
    if "public_flagged_rows" in found:
        view["flagged_rows"] = found["public_flagged_rows"]
    elif found:
        view["flagged_rows"] = sum(int(src.get("flagged", 0)) for src in public)
    view.pop("public_flagged_rows", None)
    return view


def find_contamination(session: Session, version: DatasetVersion) -> dict[str, Any]:
    """The overlap of ``version``'s test split with its public splits and with the public
    and the hidden splits of the newest version of every other data set, each a source of
    its own (see :mod:`mosu.corpus.contamination`).

    ``flagged_rows`` counts test rows that overlap any source; ``public_flagged_rows``
    those that overlap a public one, the tally everyone but operators sees."""
    test = _texts(session, version, HIDDEN_SPLITS)
    result: dict[str, Any] = {
        "n": contamination.N,
        "threshold": contamination.THRESHOLD,
        "test_rows": len(test),
        "checked_at": clock.now().isoformat(timespec="seconds"),
        "corpora_checked": 0,
        "flagged_rows": 0,
        "public_flagged_rows": 0,
        "sources": [],
    }
    if not test:
        return result
    references: list[_Reference] = [
        ("public", "public", None, "", None, _texts(session, version, PUBLIC_SPLITS))
    ]
    others = session.scalars(
        select(Dataset)
        .where(Dataset.id != version.dataset_id)
        .options(selectinload(Dataset.versions))
    )
    for other in others:
        newest = latest(other)
        if newest is not None:
            for reference, splits in (("public", PUBLIC_SPLITS), ("hidden", HIDDEN_SPLITS)):
                rows = _texts(session, newest, splits)
                references.append(("corpus", reference, other.id, other.name, newest.number, rows))
            result["corpora_checked"] += 1
    flagged: set[int] = set()
    public_flagged: set[int] = set()
    test_texts = [t for _, _, t in test]
    for kind, reference, dataset_id, name, number, ref in references:
        found = contamination.overlap(test_texts, [t for _, _, t in ref])
        if not found.any_gram:
            continue
        flagged.update(found.flagged_rows)
        if reference == "public":
            public_flagged.update(found.flagged_rows)
        result["sources"].append(
            {
                "kind": kind,
                "reference": reference,
                "dataset_id": dataset_id,
                "dataset_name": name,
                "version": number,
                "flagged": found.flagged,
                "any_gram": found.any_gram,
                "examples": [
                    {
                        "test_id": test[e.test_index][0],
                        "ratio": e.ratio,
                        "reference_id": ref[e.reference_index][0],
                        "reference_split": ref[e.reference_index][1],
                        "test_text": contamination.snippet(test[e.test_index][2]),
                        "reference_text": contamination.snippet(ref[e.reference_index][2]),
                    }
                    for e in found.examples
                ],
            }
        )
    result["flagged_rows"] = len(flagged)
    result["public_flagged_rows"] = len(public_flagged)
    return result


def recheck_contamination(
    session: Session, *, actor: Actor, version: DatasetVersion
) -> dict[str, Any]:
    """Check again, against the corpora registered now; stored on the version."""
    ensure(can_check_contamination(actor), "只有运营方可以重新检测 / operators only")
    version.contamination = find_contamination(session, version)
    session.flush()
    return version.contamination


def contamination_warning(version: DatasetVersion, *, actor: Actor = PUBLIC) -> str | None:
    """What a page pinning ``version`` should warn ``actor`` about, or ``None``.

    Counts only, never hidden text, and for anyone but operators only the overlap with
    public text (see :func:`contamination_view`); pages shared by every reader leave
    ``actor`` out."""
    found = contamination_view(version.contamination, actor=actor)
    if not found.get("flagged_rows"):
        return None
    parts = []
    for src in found.get("sources", []):
        if src.get("flagged"):
            if src["kind"] == "public":
                where = "公开划分 public splits"
            elif _reference_of(src) == "hidden":
                where = f"{src['dataset_name']} (隐藏划分 hidden splits)"
            else:
                where = src["dataset_name"]
            parts.append(f"{where}: {src['flagged']}")
    return (
        f"测试集有 {found['flagged_rows']} 行与已知数据重叠 / "
        f"{found['flagged_rows']} test rows overlap known data ({'; '.join(parts)})"
    )

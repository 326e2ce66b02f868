"""What each reader sees of a data set: its card and versions, the rows of a split, and a
split's download; hidden (test) splits stay with operators."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu.corpus.errors import (
    HIDDEN_SPLIT,
    HIDDEN_SPLIT_SIGN_IN,
    IMAGE_LINK_INVALID,
    NO_IMAGE_FIELD,
    NO_SUCH_IMAGE,
    NO_SUCH_ROW,
    NO_SUCH_SPLIT,
    PUBLIC_SPLITS_ONLY,
    UNSUPPORTED_FORMAT,
)
from mosu.corpus.image_store import get_image
from mosu.corpus.models import (
    HIDDEN_SPLITS,
    PUBLIC_SPLITS,
    SPLITS,
    DatasetRow,
    DatasetVersion,
)
from mosu.corpus.schemas import (
    RowOut,
    RowPage,
)
from mosu.evals.image_links import link_is_valid
from mosu.evals.images import MIME
from mosu.permissions import (
    Actor,
    can_read_hidden_split,
)
from mosu.registry.sheets import write_csv, write_xlsx

MAX_ROWS_PER_PAGE = 200


def ensure_split_readable(actor: Actor, split: str) -> None:
    """Public splits for everyone; a hidden split for operators (the public must sign in)."""
    if split not in SPLITS:
        raise NO_SUCH_SPLIT(split=split)
    if split in HIDDEN_SPLITS and not can_read_hidden_split(actor):
        if not actor.is_authenticated:
            raise HIDDEN_SPLIT_SIGN_IN()
        raise HIDDEN_SPLIT()


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
        raise PUBLIC_SPLITS_ONLY(splits=", ".join(hidden), details={"field": "splits"})
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
    raise UNSUPPORTED_FORMAT(format=fmt)


def row_image(
    session: Session,
    *,
    actor: Actor,
    version: DatasetVersion,
    index: int,
    field: str,
    thumb: bool = False,
) -> tuple[bytes, str]:
    """The image (or its thumbnail, a PNG) in ``field`` of row ``index`` of ``version``, and
    its media type: the row's split decides who may see it (a hidden image for operators
    only, as its text), whatever other row holds the same bytes."""
    row = session.get(DatasetRow, (version.id, index))
    if row is None:
        raise NO_SUCH_ROW()
    ensure_split_readable(actor, row.split)
    value = row.fields.get(field)
    if field not in (version.schema.get("image_fields") or []) or not isinstance(value, str):
        raise NO_IMAGE_FIELD(field=field)
    image = get_image(session, value)
    if image is None:
        raise NO_SUCH_IMAGE()
    if thumb:
        return bytes(image.thumb), "image/png"
    return bytes(image.data), MIME[image.format]


def linked_image(
    session: Session, *, key: bytes, sha256: str, expires: int, sig: str, now: float
) -> tuple[bytes, str]:
    """The image a signed link names (:mod:`mosu.evals.image_links`, a stage sending its
    images as links) and its media type, for whoever holds the link until it expires;
    :class:`Forbidden` for a link that is expired or not the platform's, whatever image it
    names (so a guess learns nothing)."""
    if not link_is_valid(key, sha256, expires, sig, now=now):
        raise IMAGE_LINK_INVALID()
    image = get_image(session, sha256)
    if image is None:
        raise NO_SUCH_IMAGE()
    return bytes(image.data), MIME[image.format]

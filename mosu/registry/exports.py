"""Bulk export of organisations and models as xlsx and CSV (批量导出), under the headers an
import reads and safe against formula injection."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mosu.permissions import Actor, can_bulk_import, ensure
from mosu.registry.columns import COLUMNS, Format, Kind
from mosu.registry.errors import OPERATORS_EXPORT
from mosu.registry.models import Model, Organisation
from mosu.registry.sheets import write_csv, write_xlsx


def _org_records(session: Session) -> Iterator[dict[str, object]]:
    for org in session.scalars(select(Organisation).order_by(Organisation.id)):
        yield {c.key: getattr(org, c.key) for c in COLUMNS["orgs"]}


def _model_records(session: Session) -> Iterator[dict[str, object]]:
    models = session.scalars(
        select(Model)
        .options(selectinload(Model.organisation), selectinload(Model.base_model))
        .order_by(Model.organisation_id, Model.id)
    ).all()
    count: dict[str, int] = {}
    for m in models:
        count[m.name] = count.get(m.name, 0) + 1
    for m in models:
        base, base_text = m.base_model, m.base_model_text
        if base is not None:
            unique = count[base.name] == 1
            base_text = base.name if unique else f"{base.organisation.name_zh}/{base.name}"
        yield {
            "organisation": m.organisation.name_zh,
            "name": m.name,
            "modality": m.modality,
            "open_weights": m.open_weights,
            "parameters_b": m.parameters_b,
            "base_model": base_text,
            "capability_tags": m.capability_tags,
            "description": m.description,
        }


def export_table(session: Session, *, actor: Actor, kind: Kind, fmt: Format) -> bytes:
    """Every organisation (contacts included) or every model, as xlsx or CSV.

    Operator only. The headers are those :func:`import_table` reads, so an export
    imports again as it is; text that would start a formula gets a leading ``'``;
    CSV is UTF-8 with a BOM so that Excel shows the Chinese right.
    """
    ensure(can_bulk_import(actor), OPERATORS_EXPORT)
    columns = COLUMNS[kind]
    records = _org_records(session) if kind == "orgs" else _model_records(session)
    rows = ([None if r[c.key] is None else c.render(r[c.key]) for c in columns] for r in records)
    headers = [c.header for c in columns]
    if fmt == "csv":
        return write_csv(headers, rows)
    title = "组织" if kind == "orgs" else "模型"
    return write_xlsx(title, headers, rows, [c.width for c in columns])

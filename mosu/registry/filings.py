"""Filings (备案 and 登记): listing, number and date checks, what a 登记 rests on."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mosu.core.pagination import Page, like_pattern, page_args
from mosu.permissions import (
    Actor,
    can_delete_filing,
    can_manage_filings_of,
    can_set_filing_status,
    ensure,
)
from mosu.registry.errors import (
    BASE_NOT_FILED,
    BEIAN_WITHOUT_BASE,
    CHANGE_OWN_FILINGS,
    DENGJI_NEEDS_BASE,
    DENGJI_OWN_BASE,
    FILE_OWN_MODELS,
    FILING_DATE_MISMATCH,
    FILING_NUMBER_TAKEN,
    OPERATORS_DELETE_FILINGS,
    OPERATORS_SET_FILING_STATUS,
)
from mosu.registry.lookups import (
    FILING_LIST_LOAD,
    filed_model_ids,
    get_filing,
    get_model,
)
from mosu.registry.models import Filing, FilingKind, FilingStatus, Model, Organisation
from mosu.registry.schemas import FilingIn, FilingOut, FilingPatch
from mosu.registry.validators import filing_number_date


def filing_out(f: Filing) -> FilingOut:
    return FilingOut(
        id=f.id,
        kind=f.kind,
        number=f.number,
        region=f.region,
        filed_on=f.filed_on,
        status=f.status,
        model_id=f.model_id,
        model_name=f.model.name,
        organisation_id=f.model.organisation_id,
        organisation_name=f.model.organisation.name_zh,
        based_on_model_id=f.based_on_model_id,
        based_on_model_name=f.based_on_model.name if f.based_on_model else "",
    )


def list_filings(
    session: Session,
    *,
    q: str = "",
    kind: FilingKind | None = None,
    status: FilingStatus | None = None,
    region: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[FilingOut]:
    page, per_page = page_args(page, per_page)
    stmt = select(Filing).join(Filing.model).join(Model.organisation)
    if q.strip():
        pattern = like_pattern(q.strip())
        stmt = stmt.where(
            or_(
                Filing.number.ilike(pattern, escape="\\"),
                Model.name.ilike(pattern, escape="\\"),
                Organisation.name_zh.ilike(pattern, escape="\\"),
            )
        )
    if kind is not None:
        stmt = stmt.where(Filing.kind == kind)
    if status is not None:
        stmt = stmt.where(Filing.status == status)
    if region:
        stmt = stmt.where(Filing.region == region)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(*FILING_LIST_LOAD)
        .order_by(Filing.filed_on.desc(), Filing.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(items=[filing_out(f) for f in rows], total=total, page=page, per_page=per_page)


def _check_based_on(
    session: Session, *, kind: FilingKind, model_id: int, based_on_model_id: int | None
) -> None:
    if kind is FilingKind.beian:
        if based_on_model_id is not None:
            raise BEIAN_WITHOUT_BASE(details={"field": "based_on_model_id"})
        return
    if based_on_model_id is None:
        raise DENGJI_NEEDS_BASE(details={"field": "based_on_model_id"})
    if based_on_model_id == model_id:
        raise DENGJI_OWN_BASE(details={"field": "based_on_model_id"})
    if based_on_model_id not in filed_model_ids(session):
        raise BASE_NOT_FILED(model=based_on_model_id, details={"field": "based_on_model_id"})


def create_filing(session: Session, *, actor: Actor, data: FilingIn) -> Filing:
    model = get_model(session, data.model_id)
    ensure(can_manage_filings_of(actor, model.organisation_id), FILE_OWN_MODELS)
    number_date = filing_number_date(data.number)
    assert number_date is not None  # validated by FilingIn
    if data.filed_on is not None and data.filed_on != number_date:
        raise FILING_DATE_MISMATCH(
            filed_on=data.filed_on, number_date=number_date, details={"field": "filed_on"}
        )
    if session.scalar(select(Filing.id).where(Filing.number == data.number)) is not None:
        raise FILING_NUMBER_TAKEN(number=data.number, details={"field": "number"})
    _check_based_on(
        session, kind=data.kind, model_id=model.id, based_on_model_id=data.based_on_model_id
    )
    if data.status is not FilingStatus.active:
        ensure(can_set_filing_status(actor), OPERATORS_SET_FILING_STATUS)
    filing = Filing(
        model_id=model.id,
        kind=data.kind,
        number=data.number,
        region=data.number.split("-", 1)[0],
        filed_on=number_date,
        status=data.status,
        based_on_model_id=data.based_on_model_id,
    )
    session.add(filing)
    session.flush()
    return get_filing(session, filing.id)


def update_filing(session: Session, *, actor: Actor, filing_id: int, data: FilingPatch) -> Filing:
    filing = get_filing(session, filing_id)
    ensure(can_manage_filings_of(actor, filing.model.organisation_id), CHANGE_OWN_FILINGS)
    changes = data.model_dump(exclude_unset=True)
    if "status" in changes:
        ensure(can_set_filing_status(actor), OPERATORS_SET_FILING_STATUS)
    if "based_on_model_id" in changes:
        _check_based_on(
            session,
            kind=filing.kind,
            model_id=filing.model_id,
            based_on_model_id=changes["based_on_model_id"],
        )
    for key, value in changes.items():
        setattr(filing, key, value)
    session.flush()
    return get_filing(session, filing.id)


def delete_filing(session: Session, *, actor: Actor, filing_id: int) -> None:
    filing = get_filing(session, filing_id)
    ensure(can_delete_filing(actor), OPERATORS_DELETE_FILINGS)
    session.delete(filing)
    session.flush()

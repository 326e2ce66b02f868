"""AI models of the registry: listing and search, base-model chains, who may change them."""

from __future__ import annotations

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.core import ranking
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.permissions import Actor, can_manage_models_of, ensure
from mosu.registry.errors import (
    BASE_MODEL_CYCLE,
    BASE_MODEL_EITHER,
    CHANGE_OWN_MODELS,
    DELETE_OWN_MODELS,
    MODEL_IN_USE,
    MODEL_NAME_TAKEN,
    MODEL_OWN_BASE,
    NO_SUCH_BASE_MODEL,
    REGISTER_OWN_MODELS,
)
from mosu.registry.lookups import MODEL_LIST_LOAD, get_model, get_organisation
from mosu.registry.models import Filing, FilingKind, FilingStatus, Modality, Model, Organisation
from mosu.registry.schemas import FilingBrief, ModelIn, ModelOut, ModelPatch


def model_out(model: Model) -> ModelOut:
    base_name = model.base_model.name if model.base_model is not None else model.base_model_text
    return ModelOut(
        id=model.id,
        organisation_id=model.organisation_id,
        organisation_name=model.organisation.name_zh,
        name=model.name,
        modality=model.modality,
        open_weights=model.open_weights,
        parameters_b=model.parameters_b,
        base_model_id=model.base_model_id,
        base_model_name=base_name,
        capability_tags=list(model.capability_tags),
        description=model.description,
        filings=[
            FilingBrief.model_validate(f, from_attributes=True)
            for f in sorted(model.filings, key=lambda f: f.filed_on)
        ],
    )


def list_models(
    session: Session,
    *,
    q: str = "",
    organisation_id: int | None = None,
    modality: Modality | None = None,
    filed: bool | None = None,
    open_weights: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[ModelOut]:
    """Models; ``q`` searches through the matching engine (name, tags, description, the
    organisation's name), best first, plus substring matches behind them."""
    page, per_page = page_args(page, per_page)
    stmt = select(Model).join(Model.organisation)
    ranked: list[int] = []
    if q.strip():
        pattern = like_pattern(q.strip())
        ranked = ranking.rank(session, "models", q.strip())
        stmt = stmt.where(
            or_(
                Model.id.in_(ranked),
                Model.name.ilike(pattern, escape="\\"),
                Model.description.ilike(pattern, escape="\\"),
                cast(Model.capability_tags, String).ilike(pattern, escape="\\"),
                Organisation.name_zh.ilike(pattern, escape="\\"),
            )
        )
    if organisation_id is not None:
        stmt = stmt.where(Model.organisation_id == organisation_id)
    if modality is not None:
        stmt = stmt.where(Model.modality == modality)
    if open_weights is not None:
        stmt = stmt.where(Model.open_weights.is_(open_weights))
    if filed is not None:
        ids = select(Filing.model_id).where(
            Filing.kind == FilingKind.beian, Filing.status == FilingStatus.active
        )
        stmt = stmt.where(Model.id.in_(ids) if filed else Model.id.not_in(ids))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = ranking.page_rows(
        session,
        stmt.order_by(Model.id),
        Model,
        ranked,
        page=page,
        per_page=per_page,
        options=MODEL_LIST_LOAD,
    )
    return Page(items=[model_out(m) for m in rows], total=total, page=page, per_page=per_page)


def _check_model(
    session: Session,
    *,
    organisation_id: int,
    name: str,
    base_model_id: int | None,
    self_id: int | None,
) -> None:
    clash = session.scalar(
        select(Model.id).where(Model.organisation_id == organisation_id, Model.name == name)
    )
    if clash is not None and clash != self_id:
        raise MODEL_NAME_TAKEN(name=name, details={"field": "name"})
    if base_model_id is not None:
        if base_model_id == self_id:
            raise MODEL_OWN_BASE(details={"field": "base_model_id"})
        if session.get(Model, base_model_id) is None:
            raise NO_SUCH_BASE_MODEL(model=base_model_id, details={"field": "base_model_id"})
        if self_id is not None and self_id in _base_chain(session, base_model_id):
            raise BASE_MODEL_CYCLE(details={"field": "base_model_id"})


def _base_chain(session: Session, model_id: int) -> set[int]:
    """``model_id`` and every model it is built on, following base models up the chain."""
    seen: set[int] = set()
    current: int | None = model_id
    while current is not None and current not in seen:
        seen.add(current)
        current = session.scalar(select(Model.base_model_id).where(Model.id == current))
    return seen


def create_model(session: Session, *, actor: Actor, data: ModelIn) -> Model:
    get_organisation(session, data.organisation_id)
    ensure(can_manage_models_of(actor, data.organisation_id), REGISTER_OWN_MODELS)
    _check_model(
        session,
        organisation_id=data.organisation_id,
        name=data.name,
        base_model_id=data.base_model_id,
        self_id=None,
    )
    model = Model(**data.model_dump())
    session.add(model)
    session.flush()
    return get_model(session, model.id)


def update_model(session: Session, *, actor: Actor, model_id: int, data: ModelPatch) -> Model:
    model = get_model(session, model_id)
    ensure(can_manage_models_of(actor, model.organisation_id), CHANGE_OWN_MODELS)
    changes = data.model_dump(exclude_unset=True)
    _check_model(
        session,
        organisation_id=model.organisation_id,
        name=changes.get("name", model.name),
        base_model_id=changes.get("base_model_id"),
        self_id=model.id,
    )
    for key, value in changes.items():
        setattr(model, key, value)
    if model.base_model_id is not None and model.base_model_text:
        raise BASE_MODEL_EITHER()
    session.flush()
    session.refresh(model)
    return get_model(session, model.id)


def delete_model(session: Session, *, actor: Actor, model_id: int) -> None:
    model = get_model(session, model_id)
    ensure(can_manage_models_of(actor, model.organisation_id), DELETE_OWN_MODELS)
    session.delete(model)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise MODEL_IN_USE() from exc

"""Organisations: listing and search, uniqueness, who may create, edit and delete them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, case, cast, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.core import ranking
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.permissions import (
    Actor,
    can_create_organisation,
    can_delete_organisation,
    can_edit_organisation,
    can_see_contact,
    can_set_standing,
    ensure,
)
from mosu.registry.errors import (
    CREDIT_CODE_TAKEN,
    EDIT_OWN_ORGANISATION,
    OPERATORS_CREATE_ORGANISATIONS,
    OPERATORS_DELETE_ORGANISATIONS,
    OPERATORS_SET_STANDING,
    ORGANISATION_IN_USE,
    ORGANISATION_NAME_TAKEN,
)
from mosu.registry.lookups import FILED_MODEL_IDS, get_organisation
from mosu.registry.models import Filing, Layer, Model, Organisation, Tier
from mosu.registry.schemas import Contact, OrganisationIn, OrganisationOut, OrganisationPatch


def organisation_out(
    org: Organisation, *, actor: Actor, counts: tuple[int, int] = (0, 0)
) -> OrganisationOut:
    """``org`` as ``actor`` may see it; ``counts``: its models and those with an active 备案
    filing (:func:`model_counts`)."""
    contact = None
    if can_see_contact(actor, org.id):
        contact = Contact(name=org.contact_name, phone=org.contact_phone, email=org.contact_email)
    return OrganisationOut(
        id=org.id,
        name_zh=org.name_zh,
        name_en=org.name_en,
        credit_code=org.credit_code,
        tier=org.tier,
        layers=[Layer(v) for v in org.layers],
        resident=org.resident,
        resident_since=org.resident_since,
        website=org.website,
        description=org.description,
        regions=list(org.regions),
        model_count=counts[0],
        filed_model_count=counts[1],
        contact=contact,
    )


_TIER_ORDER = case({tier: rank for rank, tier in enumerate(Tier)}, value=Organisation.tier)
"""北斗七星 first, then 群星, then the others (not the alphabetical order of the values)."""


def english_names(session: Session) -> dict[str, str]:
    """Each organisation's English name by its Chinese one, for those that have one: what the
    English pages show in place of the Chinese name."""
    rows = session.execute(
        select(Organisation.name_zh, Organisation.name_en).where(Organisation.name_en != "")
    )
    return {zh: en for zh, en in rows}


def model_counts(session: Session, organisation_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per organisation of ``organisation_ids`` that has models: how many, and how many of
    them have an active 备案 filing; counted in one statement (no model is loaded)."""
    if not organisation_ids:
        return {}
    filed = case((Model.id.in_(FILED_MODEL_IDS), 1), else_=0)
    rows = session.execute(
        select(Model.organisation_id, func.count(Model.id), func.sum(filed))
        .where(Model.organisation_id.in_(organisation_ids))
        .group_by(Model.organisation_id)
    )
    return {org_id: (int(models), int(filed_models or 0)) for org_id, models, filed_models in rows}


def list_organisations(
    session: Session,
    *,
    actor: Actor,
    q: str = "",
    tier: Tier | None = None,
    layer: Layer | None = None,
    resident: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[OrganisationOut]:
    """Organisations; ``q`` searches through the matching engine (names, descriptions, models
    and their tags, case studies), best first, plus substring matches of name, description
    and credit code behind them."""
    page, per_page = page_args(page, per_page)
    stmt = select(Organisation)
    ranked: list[int] = []
    if q.strip():
        pattern = like_pattern(q.strip())
        ranked = ranking.rank(session, "organisations", q.strip())
        stmt = stmt.where(
            or_(
                Organisation.id.in_(ranked),
                Organisation.name_zh.ilike(pattern, escape="\\"),
                Organisation.name_en.ilike(pattern, escape="\\"),
                Organisation.description.ilike(pattern, escape="\\"),
                Organisation.credit_code.ilike(pattern, escape="\\"),
            )
        )
    if tier is not None:
        stmt = stmt.where(Organisation.tier == tier)
    if layer is not None:
        stmt = stmt.where(cast(Organisation.layers, String).like(f'%"{layer.value}"%'))
    if resident is not None:
        stmt = stmt.where(Organisation.resident.is_(resident))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = ranking.page_rows(
        session,
        stmt.order_by(_TIER_ORDER, Organisation.id),
        Organisation,
        ranked,
        page=page,
        per_page=per_page,
    )
    counts = model_counts(session, [o.id for o in rows])
    items = [organisation_out(o, actor=actor, counts=counts.get(o.id, (0, 0))) for o in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def _check_org_unique(
    session: Session, *, name_zh: str | None, credit_code: str | None, exclude_id: int | None
) -> None:
    if name_zh is not None:
        hit = session.scalar(select(Organisation.id).where(Organisation.name_zh == name_zh))
        if hit is not None and hit != exclude_id:
            raise ORGANISATION_NAME_TAKEN(name=name_zh, details={"field": "name_zh"})
    if credit_code is not None:
        hit = session.scalar(select(Organisation.id).where(Organisation.credit_code == credit_code))
        if hit is not None and hit != exclude_id:
            raise CREDIT_CODE_TAKEN(credit_code=credit_code, details={"field": "credit_code"})


def organisation_values(data: OrganisationIn) -> dict[str, Any]:
    """Column values for an organisation row from validated input."""
    values = data.model_dump(exclude={"contact", "layers"})
    values["layers"] = [layer.value for layer in data.layers]
    values["contact_name"] = data.contact.name
    values["contact_phone"] = data.contact.phone
    values["contact_email"] = data.contact.email
    return values


def create_organisation(session: Session, *, actor: Actor, data: OrganisationIn) -> Organisation:
    ensure(can_create_organisation(actor), OPERATORS_CREATE_ORGANISATIONS)
    _check_org_unique(session, name_zh=data.name_zh, credit_code=data.credit_code, exclude_id=None)
    org = Organisation(**organisation_values(data))
    session.add(org)
    session.flush()
    return org


STANDING_FIELDS = frozenset({"tier", "resident", "resident_since", "credit_code", "name_zh"})


def update_organisation(
    session: Session, *, actor: Actor, organisation_id: int, data: OrganisationPatch
) -> Organisation:
    org = get_organisation(session, organisation_id)
    ensure(can_edit_organisation(actor, org.id), EDIT_OWN_ORGANISATION)
    changes = data.model_dump(exclude_unset=True)
    if STANDING_FIELDS & changes.keys():
        ensure(can_set_standing(actor), OPERATORS_SET_STANDING)
    _check_org_unique(
        session,
        name_zh=changes.get("name_zh"),
        credit_code=changes.get("credit_code"),
        exclude_id=org.id,
    )
    for key, value in changes.pop("contact", {}).items():  # only the contact fields sent
        setattr(org, f"contact_{key}", value)
    if "layers" in changes:
        changes["layers"] = [Layer(v).value for v in changes["layers"]]
    for key, value in changes.items():
        setattr(org, key, value)
    if not org.resident:
        org.resident_since = None
    session.flush()
    return org


def delete_organisation(session: Session, *, actor: Actor, organisation_id: int) -> None:
    ensure(can_delete_organisation(actor), OPERATORS_DELETE_ORGANISATIONS)
    org = get_organisation(session, organisation_id)
    # The database cascades to models, filings and endpoints (the ORM would instead try to
    # detach the models, whose organisation_id is NOT NULL). The organisation's own filings go
    # first, so that only another organisation's 登记 resting on its models can refuse this.
    own_models = select(Model.id).where(Model.organisation_id == org.id)
    try:
        session.execute(delete(Filing).where(Filing.model_id.in_(own_models)))
        session.execute(delete(Organisation).where(Organisation.id == org.id))
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ORGANISATION_IN_USE() from exc
    session.expire_all()

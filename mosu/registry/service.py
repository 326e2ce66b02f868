"""Registry rules: who may change what, uniqueness, filings and the overview figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import String, case, cast, delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mosu.core.credentials import CredentialBox
from mosu.core.errors import Conflict, Invalid, NotFound
from mosu.core.pagination import Page, like_pattern, page_args
from mosu.evals.netpolicy import AddressPolicy, URLRefused, check_url
from mosu.permissions import (
    Actor,
    can_create_organisation,
    can_edit_organisation,
    can_manage_endpoints_of,
    can_manage_filings_of,
    can_manage_models_of,
    can_see_contact,
    can_set_filing_status,
    can_set_standing,
    ensure,
)
from mosu.registry.models import (
    CommunityFact,
    Filing,
    FilingKind,
    FilingStatus,
    Layer,
    Modality,
    Model,
    ModelEndpoint,
    Organisation,
    Tier,
)
from mosu.registry.schemas import (
    Contact,
    CountRow,
    EndpointIn,
    EndpointOut,
    FilingBrief,
    FilingIn,
    FilingMonth,
    FilingOut,
    FilingPatch,
    ModelIn,
    ModelOut,
    ModelPatch,
    OrganisationIn,
    OrganisationOut,
    OrganisationPatch,
    Overview,
)
from mosu.registry.validators import filing_number_date
from mosu.search.live import engine_first, live_index

REGIONAL_TOTAL_KEY = "regional_filed_total"
REGIONAL_NAME_KEY = "regional_name"


# ---------------------------------------------------------------- organisations


def organisation_out(org: Organisation, *, actor: Actor, filed_ids: set[int]) -> OrganisationOut:
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
        model_count=len(org.models),
        filed_model_count=sum(1 for m in org.models if m.id in filed_ids),
        contact=contact,
    )


def filed_model_ids(session: Session) -> set[int]:
    """Models with an active 备案 filing."""
    return set(
        session.scalars(
            select(Filing.model_id).where(
                Filing.kind == FilingKind.beian, Filing.status == FilingStatus.active
            )
        )
    )


_TIER_ORDER = case({tier: rank for rank, tier in enumerate(Tier)}, value=Organisation.tier)
"""北斗七星 first, then 群星, then the others (not the alphabetical order of the values)."""


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
        ranked = live_index(session).search_organisations(session, q.strip())
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
    ordered = stmt.order_by(_TIER_ORDER, Organisation.id)
    if ranked:
        ids = session.scalars(ordered.with_only_columns(Organisation.id)).all()
        shown = engine_first(ids, ranked)[(page - 1) * per_page : page * per_page]
        found = session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(shown))
            .options(selectinload(Organisation.models))
        ).all()
        by_id = {o.id: o for o in found}
        rows: Iterable[Organisation] = [by_id[i] for i in shown]
    else:
        rows = session.scalars(
            ordered.options(selectinload(Organisation.models))
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    filed = filed_model_ids(session)
    items = [organisation_out(o, actor=actor, filed_ids=filed) for o in rows]
    return Page(items=items, total=total, page=page, per_page=per_page)


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"组织 {organisation_id} 不存在")
    return org


def _check_org_unique(
    session: Session, *, name_zh: str | None, credit_code: str | None, exclude_id: int | None
) -> None:
    if name_zh is not None:
        hit = session.scalar(select(Organisation.id).where(Organisation.name_zh == name_zh))
        if hit is not None and hit != exclude_id:
            raise Conflict(f"组织名称“{name_zh}”已存在", details={"field": "name_zh"})
    if credit_code is not None:
        hit = session.scalar(select(Organisation.id).where(Organisation.credit_code == credit_code))
        if hit is not None and hit != exclude_id:
            raise Conflict(
                f"统一社会信用代码 {credit_code} 已被登记", details={"field": "credit_code"}
            )


def organisation_values(data: OrganisationIn) -> dict[str, Any]:
    """Column values for an organisation row from validated input."""
    values = data.model_dump(exclude={"contact", "layers"})
    values["layers"] = [layer.value for layer in data.layers]
    values["contact_name"] = data.contact.name
    values["contact_phone"] = data.contact.phone
    values["contact_email"] = data.contact.email
    return values


def create_organisation(session: Session, *, actor: Actor, data: OrganisationIn) -> Organisation:
    ensure(can_create_organisation(actor), "只有运营方可以登记组织")
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
    ensure(can_edit_organisation(actor, org.id), "只能修改本组织的资料")
    changes = data.model_dump(exclude_unset=True)
    if STANDING_FIELDS & changes.keys():
        ensure(can_set_standing(actor), "名称、信用代码、梯队与入驻信息由运营方维护")
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
    ensure(actor.is_operator, "只有运营方可以删除组织")
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
        raise Conflict("该组织的模型被其他登记引用，不能删除") from exc
    session.expire_all()


# ---------------------------------------------------------------- models


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


_MODEL_LOAD = (
    selectinload(Model.organisation),
    selectinload(Model.base_model),
    selectinload(Model.filings),
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
        ranked = live_index(session).search_models(session, q.strip())
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
    if ranked:
        hits = session.scalars(stmt.with_only_columns(Model.id).order_by(Model.id)).all()
        shown = engine_first(hits, ranked)[(page - 1) * per_page : page * per_page]
        by_id = {
            m.id: m
            for m in session.scalars(select(Model).where(Model.id.in_(shown)).options(*_MODEL_LOAD))
        }
        rows: Iterable[Model] = [by_id[i] for i in shown]
    else:
        rows = session.scalars(
            stmt.options(*_MODEL_LOAD)
            .order_by(Model.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    return Page(items=[model_out(m) for m in rows], total=total, page=page, per_page=per_page)


def get_model(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id, options=_MODEL_LOAD)
    if model is None:
        raise NotFound(f"模型 {model_id} 不存在")
    return model


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
        raise Conflict(f"本组织已有名为“{name}”的模型", details={"field": "name"})
    if base_model_id is not None:
        if base_model_id == self_id:
            raise Invalid("模型不能以自身为基座", details={"field": "base_model_id"})
        if session.get(Model, base_model_id) is None:
            raise Invalid(f"基座模型 {base_model_id} 不存在", details={"field": "base_model_id"})
        if self_id is not None and self_id in _base_chain(session, base_model_id):
            raise Invalid("基座模型不能形成循环", details={"field": "base_model_id"})


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
    ensure(can_manage_models_of(actor, data.organisation_id), "只能为本组织登记模型")
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
    ensure(can_manage_models_of(actor, model.organisation_id), "只能修改本组织的模型")
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
        raise Invalid("基座模型请二选一：选择已登记模型，或填写名称")
    session.flush()
    session.refresh(model)
    return get_model(session, model.id)


def delete_model(session: Session, *, actor: Actor, model_id: int) -> None:
    model = get_model(session, model_id)
    ensure(can_manage_models_of(actor, model.organisation_id), "只能删除本组织的模型")
    session.delete(model)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("有登记备案以该模型为基础，不能删除") from exc


# ---------------------------------------------------------------- filings


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


_FILING_LOAD = (
    selectinload(Filing.model).selectinload(Model.organisation),
    selectinload(Filing.based_on_model),
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
        stmt.options(*_FILING_LOAD)
        .order_by(Filing.filed_on.desc(), Filing.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(items=[filing_out(f) for f in rows], total=total, page=page, per_page=per_page)


def get_filing(session: Session, filing_id: int) -> Filing:
    filing = session.get(Filing, filing_id, options=_FILING_LOAD)
    if filing is None:
        raise NotFound(f"备案记录 {filing_id} 不存在")
    return filing


def _check_based_on(
    session: Session, *, kind: FilingKind, model_id: int, based_on_model_id: int | None
) -> None:
    if kind is FilingKind.beian:
        if based_on_model_id is not None:
            raise Invalid(
                "备案不填写所依托模型；登记才需要", details={"field": "based_on_model_id"}
            )
        return
    if based_on_model_id is None:
        raise Invalid("登记须指明所依托的已备案模型", details={"field": "based_on_model_id"})
    if based_on_model_id == model_id:
        raise Invalid("登记不能以自身为依托模型", details={"field": "based_on_model_id"})
    if based_on_model_id not in filed_model_ids(session):
        raise Invalid(
            f"模型 {based_on_model_id} 没有有效的备案，不能作为登记的依托",
            details={"field": "based_on_model_id"},
        )


def create_filing(session: Session, *, actor: Actor, data: FilingIn) -> Filing:
    model = get_model(session, data.model_id)
    ensure(can_manage_filings_of(actor, model.organisation_id), "只能为本组织的模型登记备案")
    number_date = filing_number_date(data.number)
    assert number_date is not None  # validated by FilingIn
    if data.filed_on is not None and data.filed_on != number_date:
        raise Invalid(
            f"日期 {data.filed_on} 与备案号中的日期 {number_date} 不符",
            details={"field": "filed_on"},
        )
    if session.scalar(select(Filing.id).where(Filing.number == data.number)) is not None:
        raise Conflict(f"备案号 {data.number} 已存在", details={"field": "number"})
    _check_based_on(
        session, kind=data.kind, model_id=model.id, based_on_model_id=data.based_on_model_id
    )
    if data.status is not FilingStatus.active:
        ensure(can_set_filing_status(actor), "备案状态由运营方维护")
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
    ensure(can_manage_filings_of(actor, filing.model.organisation_id), "只能修改本组织的备案")
    changes = data.model_dump(exclude_unset=True)
    if "status" in changes:
        ensure(can_set_filing_status(actor), "备案状态由运营方维护")
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
    ensure(actor.is_operator, "只有运营方可以删除备案记录")
    session.delete(filing)
    session.flush()


# ---------------------------------------------------------------- endpoints


def endpoint_out(e: ModelEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        organisation_id=e.organisation_id,
        model_id=e.model_id,
        name=e.name,
        base_url=e.base_url,
        model_name=e.model_name,
        has_api_key=e.api_key_encrypted is not None,
        created_at=e.created_at,
    )


def list_endpoints(session: Session, *, actor: Actor) -> list[ModelEndpoint]:
    stmt = select(ModelEndpoint).order_by(ModelEndpoint.id)
    if not actor.is_operator:
        stmt = stmt.where(ModelEndpoint.organisation_id == actor.organisation_id)
    return list(session.scalars(stmt))


def get_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> ModelEndpoint:
    endpoint = session.get(ModelEndpoint, endpoint_id)
    if endpoint is None or not can_manage_endpoints_of(actor, endpoint.organisation_id):
        raise NotFound(f"接入点 {endpoint_id} 不存在")
    return endpoint


def check_endpoint_url(url: str, policy: AddressPolicy) -> None:
    """Refuse, with 422 naming why, an endpoint URL races must not call: not http(s), with a
    user name, query or fragment, or an address the policy refuses (private networks unless
    ``MOSU_ALLOW_PRIVATE_ENDPOINTS``; link-local and cloud metadata always). A host name is
    checked again, resolved, whenever a race calls it."""
    try:
        check_url(url, policy)
    except URLRefused as exc:
        raise Invalid(
            f"接入点地址不被允许：{exc.zh} / endpoint URL refused: {exc}",
            details={"field": "base_url"},
        ) from None


def create_endpoint(
    session: Session, *, actor: Actor, data: EndpointIn, box: CredentialBox, policy: AddressPolicy
) -> ModelEndpoint:
    get_organisation(session, data.organisation_id)
    ensure(can_manage_endpoints_of(actor, data.organisation_id), "只能为本组织登记接入点")
    check_endpoint_url(data.base_url, policy)
    if data.model_id is not None:
        model = get_model(session, data.model_id)
        if model.organisation_id != data.organisation_id:
            raise Invalid("接入点只能关联本组织的模型", details={"field": "model_id"})
    clash = session.scalar(
        select(ModelEndpoint.id).where(
            ModelEndpoint.organisation_id == data.organisation_id, ModelEndpoint.name == data.name
        )
    )
    if clash is not None:
        raise Conflict(f"本组织已有名为“{data.name}”的接入点", details={"field": "name"})
    key = data.api_key.get_secret_value() if data.api_key is not None else ""
    endpoint = ModelEndpoint(
        organisation_id=data.organisation_id,
        model_id=data.model_id,
        name=data.name,
        base_url=data.base_url,
        model_name=data.model_name,
        api_key_encrypted=box.seal(key) if key else None,
        created_by_id=actor.user_id,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> None:
    session.delete(get_endpoint(session, actor=actor, endpoint_id=endpoint_id))
    session.flush()


def endpoint_api_key(endpoint: ModelEndpoint, box: CredentialBox) -> str | None:
    """The decrypted key, for the evaluation engine only; never for a route or page."""
    return box.open(endpoint.api_key_encrypted) if endpoint.api_key_encrypted else None


def endpoint_key_ref(endpoint: ModelEndpoint) -> str:
    """How a model spec names an endpoint's stored key (``key_ref=endpoint:ID``)."""
    return f"endpoint:{endpoint.id}"


def endpoint_secrets(engine: Engine, box: CredentialBox) -> Callable[[str], str | None]:
    """The engine's key lookup for workers: ``endpoint:ID`` → that endpoint's decrypted key."""

    def lookup(ref: str) -> str | None:
        kind, _, number = ref.partition(":")
        if kind != "endpoint" or not number.isdigit():
            return None
        with Session(engine) as session:
            endpoint = session.get(ModelEndpoint, int(number))
            return endpoint_api_key(endpoint, box) if endpoint is not None else None

    return lookup


# ---------------------------------------------------------------- overview


def get_fact(session: Session, key: str) -> str | None:
    row = session.get(CommunityFact, key)
    return row.value if row is not None else None


def set_regional_total(session: Session, *, actor: Actor, region: str, total: int) -> None:
    ensure(actor.is_operator, "只有运营方可以填写地区备案总数")
    for key, value in ((REGIONAL_TOTAL_KEY, str(total)), (REGIONAL_NAME_KEY, region)):
        row = session.get(CommunityFact, key)
        if row is None:
            session.add(CommunityFact(key=key, value=value))
        else:
            row.value = value
    session.flush()


def overview(session: Session) -> Overview:
    orgs = session.execute(select(Organisation.tier, Organisation.layers, Organisation.resident))
    by_tier: Counter[str] = Counter()
    by_layer: Counter[str] = Counter()
    n_orgs = n_resident = 0
    for tier, layers, resident in orgs:
        n_orgs += 1
        n_resident += bool(resident)
        by_tier[Tier(tier).value] += 1
        by_layer.update(layers)
    by_modality: Counter[str] = Counter()
    for modality, count in session.execute(
        select(Model.modality, func.count()).group_by(Model.modality)
    ):
        by_modality[Modality(modality).value] += count
    n_models = sum(by_modality.values())
    active = Filing.status == FilingStatus.active
    n_filed, registered = session.execute(
        select(
            func.count(func.distinct(case((Filing.kind == FilingKind.beian, Filing.model_id)))),
            func.count(func.distinct(case((Filing.kind == FilingKind.dengji, Filing.model_id)))),
        ).where(active)
    ).one()
    months: dict[str, Counter[str]] = {}
    for kind, filed_on, count in session.execute(
        select(Filing.kind, Filing.filed_on, func.count())
        .group_by(Filing.kind, Filing.filed_on)
        .order_by(Filing.filed_on)
    ):
        months.setdefault(filed_on.strftime("%Y-%m"), Counter())[FilingKind(kind).value] += count
    cumulative = 0
    timeline = []
    for month in sorted(months):
        counts = months[month]
        cumulative += counts["beian"] + counts["dengji"]
        timeline.append(
            FilingMonth(
                month=month, beian=counts["beian"], dengji=counts["dengji"], cumulative=cumulative
            )
        )
    facts = {
        key: value
        for key, value in session.execute(
            select(CommunityFact.key, CommunityFact.value).where(
                CommunityFact.key.in_([REGIONAL_TOTAL_KEY, REGIONAL_NAME_KEY])
            )
        )
    }
    total_text = facts.get(REGIONAL_TOTAL_KEY)
    regional_total = int(total_text) if total_text else None
    return Overview(
        organisations=n_orgs,
        resident_organisations=n_resident,
        models=n_models,
        filed_models=n_filed,
        registered_apps=registered or 0,
        regional_region=facts.get(REGIONAL_NAME_KEY) or "",
        regional_filed_total=regional_total,
        regional_share=(n_filed / regional_total) if regional_total else None,
        by_tier=[CountRow(key=t.value, count=by_tier[t.value]) for t in Tier],
        by_layer=[CountRow(key=v.value, count=by_layer[v.value]) for v in Layer],
        by_modality=[CountRow(key=v.value, count=by_modality[v.value]) for v in Modality],
        filings_by_month=timeline,
    )


def reseal_endpoint_keys(session: Session, *, old: CredentialBox, new: CredentialBox) -> int:
    """Re-encrypt every stored endpoint key from ``old`` to ``new`` (a secret key changed);
    keys ``new`` already opens are left as they are. Returns how many were re-encrypted.
    Refuses (changing nothing) when some key opens with neither: the old key is wrong."""
    endpoints = session.scalars(
        select(ModelEndpoint)
        .where(ModelEndpoint.api_key_encrypted.is_not(None))
        .order_by(ModelEndpoint.id)
    ).all()
    resealed: list[tuple[ModelEndpoint, bytes]] = []
    unreadable: list[int] = []
    for endpoint in endpoints:
        sealed = endpoint.api_key_encrypted
        assert sealed is not None
        try:
            new.open(sealed)
            continue
        except ValueError:
            pass
        try:
            resealed.append((endpoint, new.seal(old.open(sealed))))
        except ValueError:
            unreadable.append(endpoint.id)
    if unreadable:
        raise Invalid(
            f"新旧密钥都无法解密接入点 {unreadable} 的密钥，未做任何修改 / neither the previous "
            f"nor the current secret key opens the keys of endpoints {unreadable}; nothing changed"
        )
    for endpoint, sealed in resealed:
        endpoint.api_key_encrypted = sealed
    session.flush()
    return len(resealed)

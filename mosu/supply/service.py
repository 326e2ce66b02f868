"""The supply domain's rules (要素供给): offers, programmes, applications, the ledger.

Money never passes a programme's budget: an approval first takes the application
(``submitted`` → ``approved``, one guarded statement), then locks the programme
(``FOR UPDATE`` on PostgreSQL; on SQLite the first write already holds the database's
write lock), recomputes the subsidy from fresh figures, and raises the programme's
committed total with a statement that only succeeds while it stays within the budget.
The database's check constraint refuses any total above the budget as a last guard.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mosu.corpus.models import Dataset
from mosu.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.permissions import (
    Actor,
    can_apply_for,
    can_keep_firm_facts,
    can_manage_offers_of,
    can_manage_programmes,
    can_record_compute_usage,
    can_review_applications,
    can_see_application,
    can_see_firm_facts,
    ensure,
)
from mosu.registry.models import Model, Organisation
from mosu.supply.models import (
    ApplicationStatus,
    ComputePool,
    ComputeUsage,
    CorpusOffer,
    LedgerEntry,
    LedgerKind,
    ModelService,
    OrganisationRelation,
    SupplyProfile,
    VoucherApplication,
    VoucherKind,
    VoucherProgramme,
)
from mosu.supply.money import to_fen, to_yuan
from mosu.supply.rules import Contract, Firm, Rules, Standing, Working, compute_subsidy
from mosu.supply.schemas import (
    ApplicationIn,
    ApplicationOut,
    ClaimIn,
    CorpusOfferIn,
    CorpusOfferOut,
    CorpusOfferPatch,
    LedgerOut,
    ModelServiceIn,
    ModelServiceOut,
    ModelServicePatch,
    PayoutIn,
    PoolIn,
    PoolOut,
    PoolPatch,
    ProfileIn,
    ProfileOut,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePatch,
    RelationIn,
    RelationOut,
    ReviewIn,
    StepOut,
    UsageOut,
    WorkingOut,
)

SECONDS_PER_HOUR = 3600
PDF_MAGIC = b"%PDF-"
STANDING = (ApplicationStatus.approved, ApplicationStatus.claimed, ApplicationStatus.paid)


def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


def _organisation(session: Session, organisation_id: int, field: str) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise Invalid("组织不存在 / no such organisation", details={"field": field})
    return org


def _offer_owner(actor: Actor, requested: int | None) -> int:
    """The organisation an offer is for: a supplier's own, or the one an operator names."""
    owner = requested if actor.is_operator else (requested or actor.organisation_id)
    if owner is None:
        raise Invalid("请指定供给方组织 / name the supplier", details={"field": "organisation_id"})
    ensure(can_manage_offers_of(actor, owner), "只能管理本组织的供给 / only your own offers")
    return owner


# ---------------------------------------------------------------- compute pools


def pool_out(pool: ComputePool) -> PoolOut:
    return PoolOut(
        id=pool.id,
        organisation_id=pool.organisation_id,
        organisation_name=pool.organisation.name_zh,
        name=pool.name,
        accelerator=pool.accelerator,
        card_count=pool.card_count,
        price=to_yuan(pool.price_fen),
        available_from=pool.available_from,
        available_until=pool.available_until,
        region=pool.region,
        description=pool.description,
        active=pool.active,
    )


def create_pool(session: Session, *, actor: Actor, data: PoolIn) -> ComputePool:
    owner = _offer_owner(actor, data.organisation_id)
    _organisation(session, owner, "organisation_id")
    fields = data.model_dump(exclude={"organisation_id", "price"})
    pool = ComputePool(organisation_id=owner, price_fen=to_fen(data.price), **fields)
    session.add(pool)
    session.flush()
    return pool


def get_pool(session: Session, pool_id: int) -> ComputePool:
    pool = session.get(ComputePool, pool_id)
    if pool is None:
        raise NotFound("算力池不存在 / no such compute pool")
    return pool


def update_pool(session: Session, *, actor: Actor, pool_id: int, data: PoolPatch) -> ComputePool:
    pool = get_pool(session, pool_id)
    ensure(can_manage_offers_of(actor, pool.organisation_id), "只能管理本组织的供给")
    changes = data.model_dump(exclude_unset=True)
    if "price" in changes:
        if changes["price"] is None:
            raise Invalid("价格不能为空 / price is required", details={"field": "price"})
        pool.price_fen = to_fen(changes.pop("price"))
    for key, value in changes.items():
        if value is None and key != "available_until":
            continue
        setattr(pool, key, value)
    if pool.available_until is not None and pool.available_until < pool.available_from:
        raise Invalid("可用结束日期早于开始日期 / availability ends before it starts")
    session.flush()
    return pool


def list_pools(session: Session, *, include_inactive: bool = False) -> list[ComputePool]:
    stmt = select(ComputePool).order_by(ComputePool.price_fen, ComputePool.id)
    if not include_inactive:
        stmt = stmt.where(ComputePool.active.is_(True))
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- corpus offers


def corpus_offer_out(offer: CorpusOffer) -> CorpusOfferOut:
    return CorpusOfferOut(
        id=offer.id,
        organisation_id=offer.organisation_id,
        organisation_name=offer.organisation.name_zh,
        dataset_id=offer.dataset_id,
        dataset_name=offer.dataset.name,
        price=to_yuan(offer.price_fen),
        price_unit=offer.price_unit,
        licence=offer.licence,
        description=offer.description,
        active=offer.active,
    )


def create_corpus_offer(session: Session, *, actor: Actor, data: CorpusOfferIn) -> CorpusOffer:
    """Offer a catalogued data set; a supplier offers only data sets its organisation provides."""
    owner = _offer_owner(actor, data.organisation_id)
    _organisation(session, owner, "organisation_id")
    dataset = session.get(Dataset, data.dataset_id)
    if dataset is None:
        raise Invalid("数据集不存在 / no such data set", details={"field": "dataset_id"})
    if dataset.organisation_id != owner:
        raise Invalid(
            "只能出售本组织提供的数据集 / only data sets your organisation provides",
            details={"field": "dataset_id"},
        )
    offer = CorpusOffer(
        organisation_id=owner,
        dataset_id=dataset.id,
        price_fen=to_fen(data.price),
        price_unit=data.price_unit,
        licence=data.licence or dataset.licence,
        description=data.description,
        active=data.active,
    )
    session.add(offer)
    session.flush()
    return offer


def get_corpus_offer(session: Session, offer_id: int) -> CorpusOffer:
    offer = session.get(CorpusOffer, offer_id)
    if offer is None:
        raise NotFound("语料供给不存在 / no such corpus offer")
    return offer


def update_corpus_offer(
    session: Session, *, actor: Actor, offer_id: int, data: CorpusOfferPatch
) -> CorpusOffer:
    offer = get_corpus_offer(session, offer_id)
    ensure(can_manage_offers_of(actor, offer.organisation_id), "只能管理本组织的供给")
    _patch_offer(offer, data.model_dump(exclude_unset=True))
    session.flush()
    return offer


def _patch_offer(offer: CorpusOffer | ModelService, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if value is None:
            continue
        if key == "price":
            offer.price_fen = to_fen(value)
        else:
            setattr(offer, key, value)


def list_corpus_offers(session: Session, *, include_inactive: bool = False) -> list[CorpusOffer]:
    stmt = select(CorpusOffer).order_by(CorpusOffer.price_fen, CorpusOffer.id)
    if not include_inactive:
        stmt = stmt.where(CorpusOffer.active.is_(True))
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- model services


def model_service_out(offer: ModelService) -> ModelServiceOut:
    return ModelServiceOut(
        id=offer.id,
        organisation_id=offer.organisation_id,
        organisation_name=offer.organisation.name_zh,
        model_id=offer.model_id,
        model_name=offer.model.name,
        mode=offer.mode,
        price=to_yuan(offer.price_fen),
        price_unit=offer.price_unit,
        description=offer.description,
        active=offer.active,
    )


def create_model_service(session: Session, *, actor: Actor, data: ModelServiceIn) -> ModelService:
    """Offer a registered model of the supplier's own as an API or a private deployment."""
    owner = _offer_owner(actor, data.organisation_id)
    _organisation(session, owner, "organisation_id")
    model = session.get(Model, data.model_id)
    if model is None or model.organisation_id != owner:
        raise Invalid(
            "只能出售本组织登记的模型 / only models registered by your organisation",
            details={"field": "model_id"},
        )
    offer = ModelService(
        organisation_id=owner,
        model_id=model.id,
        mode=data.mode,
        price_fen=to_fen(data.price),
        price_unit=data.price_unit,
        description=data.description,
        active=data.active,
    )
    session.add(offer)
    session.flush()
    return offer


def get_model_service(session: Session, offer_id: int) -> ModelService:
    offer = session.get(ModelService, offer_id)
    if offer is None:
        raise NotFound("模型服务不存在 / no such model service")
    return offer


def update_model_service(
    session: Session, *, actor: Actor, offer_id: int, data: ModelServicePatch
) -> ModelService:
    offer = get_model_service(session, offer_id)
    ensure(can_manage_offers_of(actor, offer.organisation_id), "只能管理本组织的供给")
    _patch_offer(offer, data.model_dump(exclude_unset=True))
    session.flush()
    return offer


def list_model_services(session: Session, *, include_inactive: bool = False) -> list[ModelService]:
    stmt = select(ModelService).order_by(ModelService.price_fen, ModelService.id)
    if not include_inactive:
        stmt = stmt.where(ModelService.active.is_(True))
    return list(session.scalars(stmt))


def offer_seller(session: Session, kind: VoucherKind, offer_id: int) -> int | None:
    """The organisation selling offer ``offer_id`` of ``kind``, or ``None`` if there is none."""
    offer: ComputePool | CorpusOffer | ModelService | None
    if kind is VoucherKind.compute:
        offer = session.get(ComputePool, offer_id)
    elif kind is VoucherKind.corpus:
        offer = session.get(CorpusOffer, offer_id)
    else:
        offer = session.get(ModelService, offer_id)
    return offer.organisation_id if offer is not None else None


# ---------------------------------------------------------------- compute usage


def usage_out(usage: ComputeUsage) -> UsageOut:
    return UsageOut(
        id=usage.id,
        pool_id=usage.pool_id,
        pool_name=usage.pool_name,
        card_hours=(Decimal(usage.card_seconds) / SECONDS_PER_HOUR).normalize(),
        price=to_yuan(usage.price_fen),
        cost=to_yuan(usage.cost_fen),
        reference_kind=usage.reference_kind,
        reference_id=usage.reference_id,
        used_on=usage.used_on,
        note=usage.note,
    )


def record_compute_usage(
    session: Session,
    *,
    pool_id: int,
    card_hours: Decimal | int | str,
    reference_kind: str,
    reference_id: int | str,
    actor: Actor,
    used_on: dt.date | None = None,
    note: str = "",
) -> ComputeUsage:
    """Record ``card_hours`` drawn from a pool against a reference (e.g. ``"race_stage"``, 12).

    A race stage calls this to draw its evaluation compute from a pool. Hours are kept to
    the whole card-second; the cost is priced at the pool's price now, rounded half up to
    the fen. The pool must be active and available on ``used_on`` (today by default).
    """
    pool = get_pool(session, pool_id)
    ensure(can_record_compute_usage(actor, pool.organisation_id), "无权记录该算力池的用量")
    hours = Decimal(str(card_hours))
    seconds = hours * SECONDS_PER_HOUR
    if hours <= 0 or seconds != seconds.to_integral_value():
        raise Invalid("卡时须为正数，精确到秒 / card-hours must be positive, whole seconds")
    day = _today(used_on)
    if (
        not pool.active
        or day < pool.available_from
        or (pool.available_until is not None and day > pool.available_until)
    ):
        raise Invalid("算力池在该日期不可用 / the pool is not available on that day")
    if not reference_kind.strip() or not str(reference_id).strip():
        raise Invalid("请给出用量的来源 / name what the compute was used for")
    card_seconds = int(seconds)
    cost = (card_seconds * pool.price_fen * 2 + SECONDS_PER_HOUR) // (2 * SECONDS_PER_HOUR)
    usage = ComputeUsage(
        pool_id=pool.id,
        pool_name=pool.name,
        card_seconds=card_seconds,
        price_fen=pool.price_fen,
        cost_fen=cost,
        reference_kind=reference_kind.strip(),
        reference_id=str(reference_id).strip(),
        used_on=day,
        note=note,
        recorded_by_id=actor.user_id,
    )
    session.add(usage)
    session.flush()
    return usage


def list_usage(session: Session, *, actor: Actor, pool_id: int) -> list[ComputeUsage]:
    pool = get_pool(session, pool_id)
    ensure(can_record_compute_usage(actor, pool.organisation_id), "无权查看该算力池的用量")
    stmt = select(ComputeUsage).where(ComputeUsage.pool_id == pool.id).order_by(ComputeUsage.id)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- programmes


def _paid_by_programme(session: Session) -> dict[int, int]:
    stmt = (
        select(LedgerEntry.programme_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.kind == LedgerKind.payout)
        .group_by(LedgerEntry.programme_id)
    )
    return {pid: int(total or 0) for pid, total in session.execute(stmt)}


def programme_out(programme: VoucherProgramme, *, paid_fen: int = 0) -> ProgrammeOut:
    return ProgrammeOut(
        id=programme.id,
        name=programme.name,
        kind=programme.kind,
        issuer=programme.issuer,
        budget=to_yuan(programme.budget_fen),
        committed=to_yuan(programme.committed_fen),
        paid=to_yuan(paid_fen),
        remaining=to_yuan(programme.budget_fen - programme.committed_fen),
        starts_on=programme.starts_on,
        ends_on=programme.ends_on,
        rules=Rules.model_validate(programme.rules),
        open=programme.open,
        description=programme.description,
    )


def programmes_out(session: Session, programmes: list[VoucherProgramme]) -> list[ProgrammeOut]:
    paid = _paid_by_programme(session)
    return [programme_out(p, paid_fen=paid.get(p.id, 0)) for p in programmes]


def create_programme(session: Session, *, actor: Actor, data: ProgrammeIn) -> VoucherProgramme:
    ensure(can_manage_programmes(actor), "只有运营方可以设立券种项目")
    if session.scalar(select(VoucherProgramme.id).where(VoucherProgramme.name == data.name)):
        raise Conflict(f"已有名为“{data.name}”的项目", details={"field": "name"})
    programme = VoucherProgramme(
        name=data.name,
        kind=data.kind,
        issuer=data.issuer,
        budget_fen=to_fen(data.budget),
        committed_fen=0,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        rules=data.rules.model_dump(mode="json"),
        open=data.open,
        description=data.description,
    )
    session.add(programme)
    session.flush()
    return programme


def get_programme(session: Session, programme_id: int) -> VoucherProgramme:
    programme = session.get(VoucherProgramme, programme_id)
    if programme is None:
        raise NotFound("券种项目不存在 / no such voucher programme")
    return programme


def update_programme(
    session: Session, *, actor: Actor, programme_id: int, data: ProgrammePatch
) -> VoucherProgramme:
    """Change a programme. The budget is lowered with one guarded statement, so that it
    never falls below what concurrent approvals have committed."""
    ensure(can_manage_programmes(actor), "只有运营方可以修改券种项目")
    programme = get_programme(session, programme_id)
    changes = data.model_dump(exclude_unset=True)
    budget = changes.pop("budget", None)
    if budget is not None:
        fen = to_fen(budget)
        done = session.execute(
            update(VoucherProgramme)
            .where(VoucherProgramme.id == programme.id, VoucherProgramme.committed_fen <= fen)
            .values(budget_fen=fen)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                "预算不能低于已批准的金额 / the budget may not fall below what is committed",
                details={"field": "budget"},
            )
        session.refresh(programme)
    name = changes.get("name")
    clash = select(VoucherProgramme.id).where(VoucherProgramme.name == name)
    if name and name != programme.name and session.scalar(clash) is not None:
        raise Conflict(f"已有名为“{name}”的项目", details={"field": "name"})
    if changes.get("ends_on") is not None and changes["ends_on"] < programme.starts_on:
        raise Invalid("结束日期早于开始日期 / the period ends before it starts")
    for key, value in changes.items():
        if value is None:
            continue
        setattr(programme, key, data.rules.model_dump(mode="json") if key == "rules" else value)  # type: ignore[union-attr]
    session.flush()
    return programme


def list_programmes(session: Session) -> list[VoucherProgramme]:
    stmt = select(VoucherProgramme).order_by(VoucherProgramme.starts_on.desc(), VoucherProgramme.id)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- firm facts


def get_profile(session: Session, *, actor: Actor, organisation_id: int) -> ProfileOut:
    ensure(can_see_firm_facts(actor, organisation_id), "无权查看 / not allowed")
    _organisation(session, organisation_id, "organisation_id")
    row = session.get(SupplyProfile, organisation_id)
    if row is None:
        return ProfileOut(organisation_id=organisation_id)
    return ProfileOut(
        organisation_id=organisation_id,
        founded_on=row.founded_on,
        employees=row.employees,
        small_firm=row.small_firm,
        note=row.note,
    )


def set_profile(
    session: Session, *, actor: Actor, organisation_id: int, data: ProfileIn
) -> SupplyProfile:
    ensure(can_keep_firm_facts(actor), "企业规模与成立日期由运营方核定")
    _organisation(session, organisation_id, "organisation_id")
    row = session.get(SupplyProfile, organisation_id)
    if row is None:
        row = SupplyProfile(organisation_id=organisation_id)
        session.add(row)
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    session.flush()
    return row


def relation_out(row: OrganisationRelation, names: dict[int, str]) -> RelationOut:
    return RelationOut(
        id=row.id,
        organisation_id=row.organisation_id,
        organisation_name=names.get(row.organisation_id, ""),
        related_organisation_id=row.related_organisation_id,
        related_organisation_name=names.get(row.related_organisation_id, ""),
        kind=row.kind,
        note=row.note,
    )


def list_relations(session: Session, *, actor: Actor) -> list[RelationOut]:
    ensure(can_keep_firm_facts(actor), "关联关系由运营方维护")
    rows = list(session.scalars(select(OrganisationRelation).order_by(OrganisationRelation.id)))
    names = {k: v for k, v in session.execute(select(Organisation.id, Organisation.name_zh))}
    return [relation_out(r, names) for r in rows]


def add_relation(session: Session, *, actor: Actor, data: RelationIn) -> OrganisationRelation:
    """Record two organisations as related parties (stored once, lower id first)."""
    ensure(can_keep_firm_facts(actor), "关联关系由运营方维护")
    low, high = sorted((data.organisation_id, data.related_organisation_id))
    _organisation(session, low, "organisation_id")
    _organisation(session, high, "related_organisation_id")
    if related(session, low, high):
        raise Conflict("这两个组织已登记为关联方 / already recorded as related")
    row = OrganisationRelation(
        organisation_id=low,
        related_organisation_id=high,
        kind=data.kind,
        note=data.note,
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    return row


def delete_relation(session: Session, *, actor: Actor, relation_id: int) -> None:
    ensure(can_keep_firm_facts(actor), "关联关系由运营方维护")
    row = session.get(OrganisationRelation, relation_id)
    if row is None:
        raise NotFound("关联关系不存在 / no such relation")
    session.delete(row)
    session.flush()


def related(session: Session, a: int, b: int) -> bool:
    """Whether organisations ``a`` and ``b`` are the same or recorded as related parties."""
    if a == b:
        return True
    low, high = sorted((a, b))
    stmt = select(OrganisationRelation.id).where(
        OrganisationRelation.organisation_id == low,
        OrganisationRelation.related_organisation_id == high,
    )
    return session.scalar(stmt) is not None


def _firm(session: Session, organisation_id: int) -> Firm:
    row = session.get(SupplyProfile, organisation_id)
    if row is None:
        return Firm()
    return Firm(founded_on=row.founded_on, employees=row.employees, small_firm=row.small_firm)


# ---------------------------------------------------------------- the subsidy


def standing(
    session: Session,
    *,
    programme: VoucherProgramme,
    organisation_id: int,
    year: int,
    excluding: int | None = None,
) -> Standing:
    """What an organisation has used of a programme in ``year`` (approved, or paid when
    paid), when its boost started, and what is left of the budget, read fresh."""
    mine = [
        VoucherApplication.programme_id == programme.id,
        VoucherApplication.organisation_id == organisation_id,
    ]
    if excluding is not None:
        mine.append(VoucherApplication.id != excluding)
    used_expr = func.coalesce(VoucherApplication.paid_fen, VoucherApplication.approved_fen)
    rows = session.execute(
        select(VoucherApplication.signed_on, used_expr).where(
            *mine, VoucherApplication.status.in_(STANDING)
        )
    ).all()
    used = sum(int(fen or 0) for signed, fen in rows if signed.year == year)
    boost_start = session.scalar(
        select(func.min(VoucherApplication.service_starts_on)).where(
            *mine,
            VoucherApplication.boosted.is_(True),
            VoucherApplication.status != ApplicationStatus.rejected,
        )
    )
    return Standing(
        org_year_used_fen=used,
        budget_remaining_fen=programme.budget_fen - programme.committed_fen,
        boost_started_on=boost_start,
    )


def subsidy_for(
    session: Session,
    *,
    programme: VoucherProgramme,
    organisation_id: int,
    seller_organisation_id: int,
    amount_fen: int,
    signed_on: dt.date,
    starts_on: dt.date,
    ends_on: dt.date,
    excluding: int | None = None,
) -> Working:
    """The subsidy a contract would get now, from the programme's rules and fresh figures."""
    return compute_subsidy(
        Rules.model_validate(programme.rules),
        period=(programme.starts_on, programme.ends_on),
        contract=Contract(
            amount_fen=amount_fen,
            signed_on=signed_on,
            starts_on=starts_on,
            ends_on=ends_on,
            related=related(session, organisation_id, seller_organisation_id),
        ),
        firm=_firm(session, organisation_id),
        standing=standing(
            session,
            programme=programme,
            organisation_id=organisation_id,
            year=signed_on.year,
            excluding=excluding,
        ),
    )


def working_out(working: dict[str, Any]) -> WorkingOut:
    return WorkingOut(
        amount=to_yuan(working["amount_fen"]),
        capped_by=working.get("capped_by"),
        refused=working.get("refused"),
        boosted=bool(working.get("boosted")),
        steps=[
            StepOut(rule=s["rule"], amount=to_yuan(s["amount_fen"]), figures=s["figures"])
            for s in working["steps"]
        ],
    )


# ---------------------------------------------------------------- applications


def contract_key(seller_organisation_id: int, contract_number: str) -> str:
    """A contract's identity within a programme: seller and number, width, case and spaces
    ignored (``HT-2025 001`` and ``ht－2025001`` are the same contract)."""
    number = "".join(unicodedata.normalize("NFKC", contract_number).casefold().split())
    return f"{seller_organisation_id}:{number}"


def create_application(
    session: Session, *, actor: Actor, data: ApplicationIn
) -> VoucherApplication:
    """Apply for a voucher against a contract; the subsidy is computed and stored with its
    working. The same contract (seller and number) may stand only once per programme; when
    a concurrent application for it wins, the caller's transaction is rolled back (409)."""
    programme = get_programme(session, data.programme_id)
    buyer_id = data.organisation_id if actor.is_operator else actor.organisation_id
    if buyer_id is None:
        if not actor.is_operator:
            raise Forbidden("只有组织成员可以申请 / only members of an organisation may apply")
        raise Invalid("请指定申请组织 / name the applicant", details={"field": "organisation_id"})
    ensure(can_apply_for(actor, buyer_id), "只能为本组织申请 / only for your own organisation")
    if not programme.open:
        raise Invalid("该项目已停止受理 / the programme is closed to applications")
    buyer = _organisation(session, buyer_id, "organisation_id")
    seller = _organisation(session, data.seller_organisation_id, "seller_organisation_id")
    if (
        data.offer_id is not None
        and offer_seller(session, programme.kind, data.offer_id) != seller.id
    ):
        raise Invalid(
            "所选供给不属于该卖方或与券种不符 / the offer is not the seller's, or of another kind",
            details={"field": "offer_id"},
        )
    key = contract_key(seller.id, data.contract_number)
    existing = session.scalar(
        select(VoucherApplication.id).where(
            VoucherApplication.programme_id == programme.id,
            VoucherApplication.contract_key == key,
        )
    )
    if existing is not None:
        raise _twice(existing)
    amount_fen = to_fen(data.contract_amount)
    working = subsidy_for(
        session,
        programme=programme,
        organisation_id=buyer.id,
        seller_organisation_id=seller.id,
        amount_fen=amount_fen,
        signed_on=data.signed_on,
        starts_on=data.service_starts_on,
        ends_on=data.service_ends_on,
    )
    application = VoucherApplication(
        programme_id=programme.id,
        organisation_id=buyer.id,
        applicant_name=buyer.name_zh,
        applicant_tier=buyer.tier,
        seller_organisation_id=seller.id,
        seller_name=seller.name_zh,
        offer_id=data.offer_id,
        contract_number=data.contract_number,
        contract_key=key,
        contract_amount_fen=amount_fen,
        signed_on=data.signed_on,
        service_starts_on=data.service_starts_on,
        service_ends_on=data.service_ends_on,
        description=data.description,
        status=ApplicationStatus.submitted,
        requested_fen=working.amount_fen,
        boosted=working.boosted,
        working=working.as_json(),
        created_by_id=actor.user_id,
    )
    session.add(application)
    try:
        session.flush()
    except IntegrityError:  # a concurrent application for the same contract won the race
        session.rollback()
        other = session.scalar(
            select(VoucherApplication.id).where(
                VoucherApplication.programme_id == programme.id,
                VoucherApplication.contract_key == key,
            )
        )
        raise _twice(other) from None
    return application


def _twice(existing: int | None) -> Conflict:
    return Conflict(
        f"该合同已在本项目申请过（申请 #{existing}）/ this contract already has an application "
        f"in this programme (#{existing})",
        code="duplicate_contract",
        details={"field": "contract_number", "application_id": existing},
    )


def get_application(session: Session, *, actor: Actor, application_id: int) -> VoucherApplication:
    """An application ``actor`` may see; another organisation's is "not found"."""
    application = session.get(VoucherApplication, application_id)
    if application is None or not can_see_application(actor, application.organisation_id):
        raise NotFound("申请不存在 / no such application")
    return application


def list_applications(
    session: Session,
    *,
    actor: Actor,
    programme_id: int | None = None,
    status: ApplicationStatus | None = None,
) -> list[VoucherApplication]:
    """Operators see every application; anyone else only their own organisation's."""
    stmt = select(VoucherApplication).order_by(VoucherApplication.id.desc())
    if not actor.is_operator:
        if actor.organisation_id is None:
            return []
        stmt = stmt.where(VoucherApplication.organisation_id == actor.organisation_id)
    if programme_id is not None:
        stmt = stmt.where(VoucherApplication.programme_id == programme_id)
    if status is not None:
        stmt = stmt.where(VoucherApplication.status == status)
    return list(session.scalars(stmt))


def application_out(application: VoucherApplication) -> ApplicationOut:
    programme = application.programme
    return ApplicationOut(
        id=application.id,
        programme_id=programme.id,
        programme_name=programme.name,
        kind=programme.kind,
        organisation_id=application.organisation_id,
        applicant_name=application.applicant_name,
        applicant_tier=application.applicant_tier,
        seller_organisation_id=application.seller_organisation_id,
        seller_name=application.seller_name,
        offer_id=application.offer_id,
        contract_number=application.contract_number,
        contract_amount=to_yuan(application.contract_amount_fen),
        signed_on=application.signed_on,
        service_starts_on=application.service_starts_on,
        service_ends_on=application.service_ends_on,
        description=application.description,
        attachment_name=application.attachment_name,
        attachment_size=application.attachment_size,
        status=application.status,
        requested=to_yuan(application.requested_fen),
        working=working_out(application.working),
        approved=to_yuan(application.approved_fen)
        if application.approved_fen is not None
        else None,
        decision_working=(
            working_out(application.decision_working) if application.decision_working else None
        ),
        decision_reason=application.decision_reason,
        decided_on=application.decided_on,
        delivered_on=application.delivered_on,
        claim_note=application.claim_note,
        paid=to_yuan(application.paid_fen) if application.paid_fen is not None else None,
        paid_on=application.paid_on,
        payment_reference=application.payment_reference,
        created_at=application.created_at,
    )


def attach(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    filename: str,
    content: bytes,
    data_dir: Path,
    max_bytes: int,
) -> VoucherApplication:
    """Keep the contract (a PDF, at most ``max_bytes``) with a submitted application."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(can_apply_for(actor, application.organisation_id), "只能为本组织的申请上传附件")
    if application.status is not ApplicationStatus.submitted:
        raise Conflict("审核后不能再更换附件 / the attachment is fixed once reviewed")
    if len(content) > max_bytes:
        raise Invalid(f"附件超过 {max_bytes // (1024 * 1024)} MiB 上限 / attachment too large")
    if not content.startswith(PDF_MAGIC):
        raise Invalid("附件须为 PDF 文件 / the attachment must be a PDF", details={"field": "file"})
    folder = data_dir / "supply"
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"application-{application.id}-{secrets.token_hex(8)}.pdf"
    (folder / stored).write_bytes(content)
    old = application.attachment_path
    application.attachment_name = Path(filename).name[:200] or "contract.pdf"
    application.attachment_path = stored
    application.attachment_size = len(content)
    session.flush()
    if old:
        (folder / old).unlink(missing_ok=True)
    return application


def attachment(
    session: Session, *, actor: Actor, application_id: int, data_dir: Path
) -> tuple[str, bytes]:
    application = get_application(session, actor=actor, application_id=application_id)
    path = data_dir / "supply" / application.attachment_path
    if not application.attachment_path or not path.is_file():
        raise NotFound("该申请没有附件 / no attachment")
    return application.attachment_name, path.read_bytes()


def _take(
    session: Session, application: VoucherApplication, *, want: ApplicationStatus, **values: Any
) -> None:
    """Move an application out of ``want`` with one guarded statement, or refuse (409)."""
    done = session.execute(
        update(VoucherApplication)
        .where(VoucherApplication.id == application.id, VoucherApplication.status == want)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"申请当前状态不允许此操作（须为 {want.value}）/ the application is not {want.value}"
        )
    session.refresh(application)


def _book(
    session: Session,
    *,
    application: VoucherApplication,
    kind: LedgerKind,
    amount_fen: int,
    booked_on: dt.date,
    actor: Actor,
    note: str = "",
) -> None:
    session.add(
        LedgerEntry(
            programme_id=application.programme_id,
            application_id=application.id,
            kind=kind,
            amount_fen=amount_fen,
            booked_on=booked_on,
            note=note,
            actor_id=actor.user_id,
            actor_name=actor.username,
        )
    )


def _move_committed(session: Session, programme_id: int, delta_fen: int) -> bool:
    """Add ``delta_fen`` to a programme's committed total if it stays within 0 … budget."""
    total = VoucherProgramme.committed_fen + delta_fen
    done = session.execute(
        update(VoucherProgramme)
        .where(
            VoucherProgramme.id == programme_id,
            total <= VoucherProgramme.budget_fen,
            total >= 0,
        )
        .values(committed_fen=total)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def review(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    data: ReviewIn,
    today: dt.date | None = None,
) -> VoucherApplication:
    """Approve (at the computed subsidy, or reduced with a reason) or reject with a reason.

    The subsidy is recomputed at the decision from fresh figures (what the organisation
    and the programme have used by then), inside the programme's lock; an approval that
    would pass the budget is refused with 409 and changes nothing.
    """
    ensure(can_review_applications(actor), "只有运营方可以审核")
    application = get_application(session, actor=actor, application_id=application_id)
    day = _today(today)
    if data.decision == "reject":
        if not data.reason:
            raise Invalid(
                "驳回须写明理由 / a rejection needs a reason", details={"field": "reason"}
            )
        _take(
            session,
            application,
            want=ApplicationStatus.submitted,
            status=ApplicationStatus.rejected,
            contract_key=None,
            decision_reason=data.reason,
            decided_by_id=actor.user_id,
            decided_on=day,
        )
        return application
    _take(
        session,
        application,
        want=ApplicationStatus.submitted,
        status=ApplicationStatus.approved,
        decided_by_id=actor.user_id,
        decided_on=day,
    )
    programme = session.execute(
        select(VoucherProgramme)
        .where(VoucherProgramme.id == application.programme_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if application.organisation_id is None or application.seller_organisation_id is None:
        raise Conflict("申请方或卖方已不在名录中 / a party has left the registry")
    working = subsidy_for(
        session,
        programme=programme,
        organisation_id=application.organisation_id,
        seller_organisation_id=application.seller_organisation_id,
        amount_fen=application.contract_amount_fen,
        signed_on=application.signed_on,
        starts_on=application.service_starts_on,
        ends_on=application.service_ends_on,
        excluding=application.id,
    )
    if not working.eligible:
        raise Invalid(f"按规则不符合条件（{working.refused}）/ not eligible: {working.refused}")
    amount = working.amount_fen if data.amount is None else to_fen(data.amount)
    if working.capped_by == "budget" and (amount > working.amount_fen or amount == 0):
        raise Conflict(
            "超出项目剩余预算 / that would pass the programme's budget",
            code="over_budget",
            details={"remaining": str(to_yuan(programme.budget_fen - programme.committed_fen))},
        )
    if amount <= 0:
        raise Invalid("批准金额须大于 0；不予补贴请驳回 / approve a positive amount, or reject")
    if amount > working.amount_fen:
        raise Invalid(
            f"批准金额超过按规则计算的补贴 {to_yuan(working.amount_fen)} 元 / above the computed "
            f"subsidy",
            details={"field": "amount", "computed": str(to_yuan(working.amount_fen))},
        )
    if amount < working.amount_fen and not data.reason:
        raise Invalid("核减须写明理由 / a reduction needs a reason", details={"field": "reason"})
    if not _move_committed(session, programme.id, amount):
        raise Conflict(
            "超出项目剩余预算 / that would pass the programme's budget", code="over_budget"
        )
    application.approved_fen = amount
    application.decision_working = working.as_json()
    application.decision_reason = data.reason
    _book(
        session,
        application=application,
        kind=LedgerKind.commit,
        amount_fen=amount,
        booked_on=day,
        actor=actor,
        note=data.reason,
    )
    session.flush()
    return application


def claim(
    session: Session,
    *,
    actor: Actor,
    application_id: int,
    data: ClaimIn,
    today: dt.date | None = None,
) -> VoucherApplication:
    """After delivery, the applicant claims the approved subsidy (兑付申请)."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(can_apply_for(actor, application.organisation_id), "只能为本组织申请兑付")
    if data.delivered_on < application.service_starts_on or data.delivered_on > _today(today):
        raise Invalid(
            "交付日期须在服务开始之后、今天之前 / delivery must fall between the service start "
            "and today",
            details={"field": "delivered_on"},
        )
    _take(
        session,
        application,
        want=ApplicationStatus.approved,
        status=ApplicationStatus.claimed,
        delivered_on=data.delivered_on,
        claim_note=data.note,
    )
    return application


def payout(
    session: Session, *, actor: Actor, application_id: int, data: PayoutIn
) -> VoucherApplication:
    """Record money paid for a claimed application; paying less releases the rest."""
    ensure(can_review_applications(actor), "只有运营方可以登记兑付")
    application = get_application(session, actor=actor, application_id=application_id)
    approved = application.approved_fen or 0
    amount = approved if data.amount is None else to_fen(data.amount)
    if amount > approved:
        raise Invalid("兑付金额超过批准金额 / more than approved", details={"field": "amount"})
    _take(
        session,
        application,
        want=ApplicationStatus.claimed,
        status=ApplicationStatus.paid,
        paid_fen=amount,
        paid_on=data.paid_on,
        payment_reference=data.reference,
    )
    if amount:
        _book(
            session,
            application=application,
            kind=LedgerKind.payout,
            amount_fen=amount,
            booked_on=data.paid_on,
            actor=actor,
            note=data.reference,
        )
    if amount < approved:
        if not _move_committed(session, application.programme_id, amount - approved):
            raise Conflict("台账不一致 / the ledger does not add up")  # the check constraint's twin
        _book(
            session,
            application=application,
            kind=LedgerKind.release,
            amount_fen=approved - amount,
            booked_on=data.paid_on,
            actor=actor,
            note="兑付少于批准金额，余额退回预算 / paid less than approved",
        )
    session.flush()
    return application


# ---------------------------------------------------------------- the ledger


def ledger_out(entry: LedgerEntry) -> LedgerOut:
    return LedgerOut(
        id=entry.id,
        programme_id=entry.programme_id,
        application_id=entry.application_id,
        kind=entry.kind,
        amount=to_yuan(entry.amount_fen),
        booked_on=entry.booked_on,
        note=entry.note,
        actor_name=entry.actor_name,
        created_at=entry.created_at,
    )


def list_ledger(
    session: Session, *, actor: Actor, programme_id: int | None = None
) -> list[LedgerEntry]:
    ensure(can_review_applications(actor), "台账只对运营方开放 / the ledger is the operator's")
    stmt = select(LedgerEntry).order_by(LedgerEntry.id)
    if programme_id is not None:
        stmt = stmt.where(LedgerEntry.programme_id == programme_id)
    return list(session.scalars(stmt))


def ledger_problems(session: Session) -> list[str]:
    """Where the ledger and the programmes' totals disagree (empty when they add up)."""
    problems: list[str] = []
    sums: dict[tuple[int, LedgerKind], int] = {
        (pid, kind): int(total or 0)
        for pid, kind, total in session.execute(
            select(
                LedgerEntry.programme_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen)
            ).group_by(LedgerEntry.programme_id, LedgerEntry.kind)
        )
    }
    for programme in list_programmes(session):
        committed = sums.get((programme.id, LedgerKind.commit), 0) - sums.get(
            (programme.id, LedgerKind.release), 0
        )
        if committed != programme.committed_fen:
            problems.append(
                f"{programme.name}: ledger {to_yuan(committed)} ≠ committed "
                f"{to_yuan(programme.committed_fen)}"
            )
        if programme.committed_fen > programme.budget_fen:
            problems.append(f"{programme.name}: committed above the budget")
    return problems

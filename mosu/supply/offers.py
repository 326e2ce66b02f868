"""Offers of the key elements (要素供给): compute pools, corpus offers and model services,
each managed by its supplier and browsed by everyone, and compute usage drawn from a pool."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.core.errors import Error
from mosu.core.money import to_fen, to_yuan
from mosu.corpus.models import Dataset
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_manage_offers_of,
    can_record_compute_usage,
    ensure,
)
from mosu.registry.models import Model, Organisation
from mosu.supply.errors import (
    AVAILABILITY_ENDS_BEFORE_START,
    CARD_HOURS,
    NAME_SUPPLIER,
    NO_SUCH_CORPUS_OFFER,
    NO_SUCH_DATASET,
    NO_SUCH_MODEL_SERVICE,
    NO_SUCH_ORGANISATION,
    NO_SUCH_POOL,
    OWN_DATASETS_ONLY,
    OWN_MODELS_ONLY,
    OWN_OFFERS_ONLY,
    POOL_UNAVAILABLE,
    PRICE_REQUIRED,
    USAGE_HIDDEN,
    USAGE_NOT_YOURS,
    USAGE_REFERENCE,
)
from mosu.supply.models import (
    ComputePool,
    ComputeUsage,
    CorpusOffer,
    ModelService,
    ServiceMode,
    VoucherKind,
)
from mosu.supply.schemas import (
    CorpusOfferIn,
    CorpusOfferOut,
    CorpusOfferPatch,
    ModelServiceIn,
    ModelServiceOut,
    ModelServicePatch,
    PoolIn,
    PoolOut,
    PoolPatch,
    UsageOut,
)

SECONDS_PER_HOUR = 3600


def today_or(today: dt.date | None) -> dt.date:
    return today or clock.today()


def known_organisation(session: Session, organisation_id: int, field: str) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NO_SUCH_ORGANISATION(details={"field": field})
    return org


def _offer_owner(actor: Actor, requested: int | None) -> int:
    """The organisation an offer is for: a supplier's own, or the one an operator names."""
    owner = (
        requested if can_act_for_any_organisation(actor) else (requested or actor.organisation_id)
    )
    if owner is None:
        raise NAME_SUPPLIER(details={"field": "organisation_id"})
    ensure(can_manage_offers_of(actor, owner), OWN_OFFERS_ONLY)
    return owner


Offer = TypeVar("Offer", ComputePool, CorpusOffer, ModelService)


def _found(session: Session, table: type[Offer], offer_id: int, missing: Error) -> Offer:
    offer = session.get(table, offer_id)
    if offer is None:
        raise missing()
    return offer


def _listed(session: Session, table: type[Offer], include_inactive: bool) -> list[Offer]:
    """Offers of one kind, cheapest first; withdrawn ones only when asked for."""
    stmt = select(table).order_by(table.price_fen, table.id)
    if not include_inactive:
        stmt = stmt.where(table.active.is_(True))
    return list(session.scalars(stmt))


def owned(actor: Actor, offer: Offer) -> Offer:
    """``offer``, if ``actor`` may change it (its supplier's members and operators)."""
    ensure(can_manage_offers_of(actor, offer.organisation_id), OWN_OFFERS_ONLY)
    return offer


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
    known_organisation(session, owner, "organisation_id")
    fields = data.model_dump(exclude={"organisation_id", "price"})
    pool = ComputePool(organisation_id=owner, price_fen=to_fen(data.price), **fields)
    session.add(pool)
    session.flush()
    return pool


def get_pool(session: Session, pool_id: int) -> ComputePool:
    return _found(session, ComputePool, pool_id, NO_SUCH_POOL)


def update_pool(session: Session, *, actor: Actor, pool_id: int, data: PoolPatch) -> ComputePool:
    pool = owned(actor, get_pool(session, pool_id))
    changes = data.model_dump(exclude_unset=True)
    if "price" in changes:
        if changes["price"] is None:
            raise PRICE_REQUIRED(details={"field": "price"})
        pool.price_fen = to_fen(changes.pop("price"))
    for key, value in changes.items():
        if value is None and key != "available_until":
            continue
        setattr(pool, key, value)
    if pool.available_until is not None and pool.available_until < pool.available_from:
        raise AVAILABILITY_ENDS_BEFORE_START()
    session.flush()
    return pool


def list_pools(session: Session, *, include_inactive: bool = False) -> list[ComputePool]:
    return _listed(session, ComputePool, include_inactive)


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
    known_organisation(session, owner, "organisation_id")
    dataset = session.get(Dataset, data.dataset_id)
    if dataset is None:
        raise NO_SUCH_DATASET(details={"field": "dataset_id"})
    if dataset.organisation_id != owner:
        raise OWN_DATASETS_ONLY(details={"field": "dataset_id"})
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
    return _found(session, CorpusOffer, offer_id, NO_SUCH_CORPUS_OFFER)


def update_corpus_offer(
    session: Session, *, actor: Actor, offer_id: int, data: CorpusOfferPatch
) -> CorpusOffer:
    offer = owned(actor, get_corpus_offer(session, offer_id))
    _patch_offer(offer, data.model_dump(exclude_unset=True))
    session.flush()
    return offer


def _patch_offer(offer: CorpusOffer | ModelService, changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if value is None:
            continue
        if key in ("price", "input_price", "output_price"):
            setattr(offer, f"{key}_fen", to_fen(value))
        else:
            setattr(offer, key, value)


def list_corpus_offers(session: Session, *, include_inactive: bool = False) -> list[CorpusOffer]:
    return _listed(session, CorpusOffer, include_inactive)


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
        input_price=_yuan_or_none(offer.input_price_fen),
        output_price=_yuan_or_none(offer.output_price_fen),
        description=offer.description,
        active=offer.active,
    )


def _yuan_or_none(fen: int | None) -> Decimal | None:
    return None if fen is None else to_yuan(fen)


def create_model_service(session: Session, *, actor: Actor, data: ModelServiceIn) -> ModelService:
    """Offer a registered model of the supplier's own as an API or a private deployment."""
    owner = _offer_owner(actor, data.organisation_id)
    known_organisation(session, owner, "organisation_id")
    model = session.get(Model, data.model_id)
    if model is None or model.organisation_id != owner:
        raise OWN_MODELS_ONLY(details={"field": "model_id"})
    offer = ModelService(
        organisation_id=owner,
        model_id=model.id,
        mode=data.mode,
        price_fen=to_fen(data.price),
        price_unit=data.price_unit,
        input_price_fen=None if data.input_price is None else to_fen(data.input_price),
        output_price_fen=None if data.output_price is None else to_fen(data.output_price),
        description=data.description,
        active=data.active,
    )
    session.add(offer)
    session.flush()
    return offer


def get_model_service(session: Session, offer_id: int) -> ModelService:
    return _found(session, ModelService, offer_id, NO_SUCH_MODEL_SERVICE)


def update_model_service(
    session: Session, *, actor: Actor, offer_id: int, data: ModelServicePatch
) -> ModelService:
    offer = owned(actor, get_model_service(session, offer_id))
    _patch_offer(offer, data.model_dump(exclude_unset=True))
    session.flush()
    return offer


def list_model_services(session: Session, *, include_inactive: bool = False) -> list[ModelService]:
    return _listed(session, ModelService, include_inactive)


@dataclass(frozen=True)
class OfferChoice:
    """An offer as a contract may name it: its id, what it is, and (model services) how
    the model is sold."""

    id: int
    name: str
    mode: ServiceMode | None = None


def offers_of(session: Session, kind: VoucherKind, seller_id: int) -> list[OfferChoice]:
    """The active offers of ``kind`` that ``seller_id`` sells, cheapest first: what a
    contract under a programme of that kind may be for."""
    if kind is VoucherKind.compute:
        pools = _listed(session, ComputePool, False)
        return [OfferChoice(o.id, o.name) for o in pools if o.organisation_id == seller_id]
    if kind is VoucherKind.corpus:
        corpora = _listed(session, CorpusOffer, False)
        return [
            OfferChoice(o.id, o.dataset.name) for o in corpora if o.organisation_id == seller_id
        ]
    services = _listed(session, ModelService, False)
    return [
        OfferChoice(o.id, o.model.name, o.mode) for o in services if o.organisation_id == seller_id
    ]


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
    ensure(can_record_compute_usage(actor, pool.organisation_id), USAGE_NOT_YOURS)
    hours = Decimal(str(card_hours))
    seconds = hours * SECONDS_PER_HOUR
    whole = seconds.to_integral_value()
    if hours <= 0 or abs(seconds - whole) > Decimal("1e-6"):
        raise CARD_HOURS()
    day = today_or(used_on)
    if (
        not pool.active
        or day < pool.available_from
        or (pool.available_until is not None and day > pool.available_until)
    ):
        raise POOL_UNAVAILABLE()
    if not reference_kind.strip() or not str(reference_id).strip():
        raise USAGE_REFERENCE()
    card_seconds = int(whole)
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
    ensure(can_record_compute_usage(actor, pool.organisation_id), USAGE_HIDDEN)
    stmt = select(ComputeUsage).where(ComputeUsage.pool_id == pool.id).order_by(ComputeUsage.id)
    return list(session.scalars(stmt))


def usage_for(
    session: Session, *, reference_kind: str, reference_id: int | str
) -> list[ComputeUsage]:
    """Every usage recorded against one reference, e.g. all the compute a race stage drew."""
    stmt = (
        select(ComputeUsage)
        .where(
            ComputeUsage.reference_kind == reference_kind.strip(),
            ComputeUsage.reference_id == str(reference_id).strip(),
        )
        .order_by(ComputeUsage.id)
    )
    return list(session.scalars(stmt))

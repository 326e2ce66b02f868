"""What supply pages and routes show (要素供给), loaded with the actor's permissions applied:
the choices a form offers and the capability flags (``can_apply``, ``can_review`` …) that
templates read instead of asking about roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.corpus.models import Dataset
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_apply_for,
    can_apply_for_vouchers,
    can_keep_firm_facts,
    can_manage_programmes,
    can_offer_supply,
    can_review_applications,
    can_see_application,
    can_see_supply_reports,
    ensure,
)
from mosu.registry.models import Model, Organisation
from mosu.supply.applications import get_application
from mosu.supply.models import SupplyProfile, VoucherApplication, VoucherKind, VoucherProgramme
from mosu.supply.offers import OfferChoice, offers_of

Choices = list[tuple[int, str]]


@dataclass(frozen=True)
class MarketFlags:
    """What the market page offers the visitor."""

    can_offer: bool
    can_apply: bool
    can_report: bool
    can_manage_programmes: bool
    can_keep_firms: bool


@dataclass(frozen=True)
class ApplicationFlags:
    """What a visitor may do with one application."""

    can_review: bool
    can_claim: bool


def market_flags(actor: Actor) -> MarketFlags:
    return MarketFlags(
        can_offer=can_offer_supply(actor),
        can_apply=can_apply_for_vouchers(actor),
        can_report=can_see_supply_reports(actor),
        can_manage_programmes=can_manage_programmes(actor),
        can_keep_firms=can_keep_firm_facts(actor),
    )


def can_apply_to(actor: Actor, programme: VoucherProgramme) -> bool:
    """The programme takes applications and the visitor may apply for vouchers."""
    return programme.open and can_apply_for_vouchers(actor)


def application_flags(actor: Actor, application: VoucherApplication) -> ApplicationFlags:
    return ApplicationFlags(
        can_review=can_review_applications(actor),
        can_claim=can_apply_for(actor, application.organisation_id),
    )


def visible_application(
    session: Session, *, actor: Actor, application_id: int
) -> VoucherApplication:
    """An application the actor may see (another organisation's is not found)."""
    application = get_application(session, actor=actor, application_id=application_id)
    ensure(can_see_application(actor, application.organisation_id))
    return application


def organisation_choices(session: Session) -> Choices:
    """Every organisation as (id, name), by name: the parties a contract or offer names."""
    stmt = select(Organisation.id, Organisation.name_zh).order_by(Organisation.name_zh)
    return [(i, n) for i, n in session.execute(stmt)]


def buyer_choices(session: Session, actor: Actor) -> Choices:
    """The organisations the actor may name as a party of its own (operators: any; others
    act for their own organisation and are offered none)."""
    return organisation_choices(session) if can_act_for_any_organisation(actor) else []


def offer_sources(session: Session, actor: Actor) -> tuple[Choices, Choices]:
    """The data sets and models an offer may be of: the actor's organisation's (operators:
    all), each as (id, name) by name."""
    datasets = select(Dataset.id, Dataset.name).order_by(Dataset.name)
    models = select(Model.id, Model.name).order_by(Model.name)
    org = None if can_act_for_any_organisation(actor) else actor.organisation_id
    if org is not None:
        datasets = datasets.where(Dataset.organisation_id == org)
        models = models.where(Model.organisation_id == org)
    return (
        [(i, n) for i, n in session.execute(datasets)],
        [(i, n) for i, n in session.execute(models)],
    )


def firm_profiles(session: Session) -> list[SupplyProfile]:
    """Every firm's founding date and size, as the voucher rules read them."""
    return list(session.scalars(select(SupplyProfile).order_by(SupplyProfile.organisation_id)))


@dataclass(frozen=True)
class OfferChoices:
    """The offers an application may name: those of the programme's kind that the chosen
    seller sells (``kind`` is ``None`` until a programme is chosen)."""

    kind: VoucherKind | None
    seller_chosen: bool
    offers: list[OfferChoice]


def offer_choices(
    session: Session, *, programme_id: int | None, seller_id: int | None
) -> OfferChoices:
    programme = session.get(VoucherProgramme, programme_id) if programme_id else None
    kind = programme.kind if programme is not None else None
    if kind is None or seller_id is None:
        return OfferChoices(kind=kind, seller_chosen=seller_id is not None, offers=[])
    return OfferChoices(kind=kind, seller_chosen=True, offers=offers_of(session, kind, seller_id))

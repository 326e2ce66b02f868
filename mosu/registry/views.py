"""Registry views: what the API routes and the HTML pages both show of organisations, models,
filings and endpoints, loaded with the actor's permissions applied and its capabilities as
flags, so that no page queries the database or decides a permission itself."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core.pagination import MAX_PER_PAGE
from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_add_to_registry,
    can_create_organisation,
    can_edit_organisation,
    can_manage_filings_of,
    can_manage_models_of,
    can_set_regional_total,
    can_set_standing,
    ensure,
)
from mosu.registry import ai_models, endpoints, filings, lookups, organisations
from mosu.registry.errors import CHANGE_OWN_MODELS, EDIT_OWN_ORGANISATION
from mosu.registry.models import Model, Organisation
from mosu.registry.schemas import EndpointOut, FilingBrief, FilingOut, ModelOut, OrganisationOut

Choice = tuple[int, str]
ModelChoice = tuple[int, str, str]
"""A model to choose: its id, its name and its organisation's (Chinese) name."""
"""An option of a form's select: the id and the label shown."""


@dataclass(frozen=True)
class RegistryFlags:
    """What the registry's list pages offer the actor."""

    can_create_organisation: bool
    can_add: bool
    can_set_regional_total: bool
    can_set_standing: bool


def flags(actor: Actor) -> RegistryFlags:
    return RegistryFlags(
        can_create_organisation=can_create_organisation(actor),
        can_add=can_add_to_registry(actor),
        can_set_regional_total=can_set_regional_total(actor),
        can_set_standing=can_set_standing(actor),
    )


# ---------------------------------------------------------------- organisations


def organisation(session: Session, *, actor: Actor, organisation_id: int) -> OrganisationOut:
    """An organisation as the actor may see it (contacts only where permitted)."""
    org = lookups.get_organisation(session, organisation_id)
    counts = organisations.model_counts(session, [org.id]).get(org.id, (0, 0))
    return organisations.organisation_out(org, actor=actor, counts=counts)


@dataclass(frozen=True)
class OrganisationPage:
    """An organisation's profile: its models, their filings newest first, and what the
    actor may do there."""

    org: OrganisationOut
    models: list[ModelOut]
    filings: list[tuple[ModelOut, FilingBrief]]
    can_edit: bool
    can_add_model: bool
    can_add_filing: bool


def organisation_page(session: Session, *, actor: Actor, organisation_id: int) -> OrganisationPage:
    out = organisation(session, actor=actor, organisation_id=organisation_id)
    models = ai_models.list_models(session, organisation_id=out.id, per_page=MAX_PER_PAGE).items
    by_date = sorted(
        ((m, f) for m in models for f in m.filings), key=lambda mf: mf[1].filed_on, reverse=True
    )
    return OrganisationPage(
        org=out,
        models=models,
        filings=by_date,
        can_edit=can_edit_organisation(actor, out.id),
        can_add_model=can_manage_models_of(actor, out.id),
        can_add_filing=can_manage_filings_of(actor, out.id),
    )


def editable_organisation(session: Session, *, actor: Actor, organisation_id: int) -> Organisation:
    """An organisation the actor may edit (else 403)."""
    org = lookups.get_organisation(session, organisation_id)
    ensure(can_edit_organisation(actor, org.id), EDIT_OWN_ORGANISATION)
    return org


def organisation_choices(session: Session, *, actor: Actor) -> list[Choice]:
    """Organisations the actor may register models for: all for operators, else its own."""
    stmt = select(Organisation.id, Organisation.name_zh).order_by(Organisation.name_zh)
    if not can_act_for_any_organisation(actor):
        stmt = stmt.where(Organisation.id == actor.organisation_id)
    return [(row.id, row.name_zh) for row in session.execute(stmt)]


# ---------------------------------------------------------------- models


def model(session: Session, *, model_id: int) -> ModelOut:
    return ai_models.model_out(lookups.get_model(session, model_id))


@dataclass(frozen=True)
class ModelPage:
    model: ModelOut
    can_edit: bool
    can_add_filing: bool


def model_page(session: Session, *, actor: Actor, model_id: int) -> ModelPage:
    """A model: its organisation, base model, capability tags and filings."""
    out = model(session, model_id=model_id)
    return ModelPage(
        model=out,
        can_edit=can_manage_models_of(actor, out.organisation_id),
        can_add_filing=can_manage_filings_of(actor, out.organisation_id),
    )


def editable_model(session: Session, *, actor: Actor, model_id: int) -> Model:
    """A model the actor may edit (else 403)."""
    found = lookups.get_model(session, model_id)
    ensure(can_manage_models_of(actor, found.organisation_id), CHANGE_OWN_MODELS)
    return found


def _model_choices(session: Session, *, actor: Actor | None, filed_only: bool) -> list[ModelChoice]:
    stmt = select(Model.id, Model.name, Organisation.name_zh).join(Model.organisation)
    if actor is not None and not can_act_for_any_organisation(actor):
        stmt = stmt.where(Model.organisation_id == actor.organisation_id)
    if filed_only:
        stmt = stmt.where(Model.id.in_(lookups.filed_model_ids(session))).order_by(Model.name)
    else:
        stmt = stmt.order_by(Organisation.name_zh, Model.name)
    return [(row.id, row.name, row.name_zh) for row in session.execute(stmt)]


def model_choices(session: Session) -> list[ModelChoice]:
    """Every model, as a base model to choose."""
    return _model_choices(session, actor=None, filed_only=False)


def fileable_model_choices(session: Session, *, actor: Actor) -> list[ModelChoice]:
    """Models the actor may file for: every model for operators, else its organisation's."""
    return _model_choices(session, actor=actor, filed_only=False)


def filed_model_choices(session: Session) -> list[ModelChoice]:
    """Models with an active 备案 filing, which a 登记 may rest on."""
    return _model_choices(session, actor=None, filed_only=True)


# ---------------------------------------------------------------- filings and endpoints


def filing(session: Session, *, filing_id: int) -> FilingOut:
    return filings.filing_out(lookups.get_filing(session, filing_id))


def endpoint_list(session: Session, *, actor: Actor) -> list[EndpointOut]:
    """Endpoints of the actor's organisation (all of them for operators); keys never shown."""
    return [endpoints.endpoint_out(e) for e in endpoints.list_endpoints(session, actor=actor)]


def endpoint(session: Session, *, actor: Actor, endpoint_id: int) -> EndpointOut:
    return endpoints.endpoint_out(
        endpoints.get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    )

"""Registry lookups every part of the registry (and its neighbours) shares: an organisation, a
model or a filing by id, and the models with an active 备案 filing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from mosu.registry.errors import NO_SUCH_FILING, NO_SUCH_MODEL, NO_SUCH_ORGANISATION
from mosu.registry.models import Filing, FilingKind, FilingStatus, Model, Organisation

FILED_MODEL_IDS = select(Filing.model_id).where(
    Filing.kind == FilingKind.beian, Filing.status == FilingStatus.active
)
"""Built once: the organisations' list and every challenge page run it."""


def filed_model_ids(session: Session) -> set[int]:
    """Models with an active 备案 filing."""
    return set(session.scalars(FILED_MODEL_IDS))


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NO_SUCH_ORGANISATION(organisation=organisation_id)
    return org


# a many-to-one relation is joined into the same statement; a list is read by a second one
MODEL_LOAD = (
    joinedload(Model.organisation, innerjoin=True),
    joinedload(Model.base_model),
    selectinload(Model.filings),
)


MODEL_LIST_LOAD = (
    joinedload(Model.organisation, innerjoin=True).load_only(Organisation.name_zh),
    joinedload(Model.base_model).load_only(Model.name),
    selectinload(Model.filings),
)
"""What a list of models shows (``model_out``): of the organisation and the base model
only their names, not their descriptions and JSON columns."""


def get_model(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id, options=MODEL_LOAD)
    if model is None:
        raise NO_SUCH_MODEL(model=model_id)
    return model


FILING_LOAD = (
    joinedload(Filing.model, innerjoin=True).joinedload(Model.organisation, innerjoin=True),
    joinedload(Filing.based_on_model),
)


FILING_LIST_LOAD = (
    joinedload(Filing.model, innerjoin=True)
    .load_only(Model.name, Model.organisation_id)
    .joinedload(Model.organisation, innerjoin=True)
    .load_only(Organisation.name_zh),
    joinedload(Filing.based_on_model).load_only(Model.name),
)
"""What a list of filings shows (``filing_out``): the models' and organisations' names."""


def get_filing(session: Session, filing_id: int) -> Filing:
    filing = session.get(Filing, filing_id, options=FILING_LOAD)
    if filing is None:
        raise NO_SUCH_FILING(filing=filing_id)
    return filing

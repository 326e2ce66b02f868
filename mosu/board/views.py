"""Board views (供需对接): what the API routes and the HTML pages both show of case studies,
a scenario's matches and an organisation's opportunities, with the actor's capabilities as
flags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mosu import i18n
from mosu.board import service
from mosu.board.schemas import CaseStudyOut, InterestOut, Recommendations, ScenarioMatch
from mosu.core.errors import MosuError
from mosu.permissions import (
    Actor,
    can_manage_case_studies,
    can_mark_interest,
    can_read_interests,
    supplier_organisation,
)
from mosu.registry.lookups import get_organisation
from mosu.registry.models import CaseStudy, Organisation
from mosu.scenarios.models import Scenario


def case_studies(session: Session, *, organisation_id: int) -> list[CaseStudyOut]:
    """An organisation's case studies (落地案例), part of its public capability profile."""
    cases = service.list_case_studies(session, organisation_id=organisation_id)
    return [service.case_study_out(c) for c in cases]


@dataclass(frozen=True)
class OrganisationBoard:
    """What the organisation page shows of the board: case studies, and scenarios it fits."""

    case_studies: list[CaseStudy]
    can_edit_cases: bool
    matches: list[ScenarioMatch]


def organisation_board(
    session: Session, *, actor: Actor, organisation_id: int
) -> OrganisationBoard:
    try:
        matches = service.opportunities(session, actor=actor, organisation_id=organisation_id, k=5)
    except MosuError:
        matches = []
    return OrganisationBoard(
        case_studies=service.list_case_studies(session, organisation_id=organisation_id),
        can_edit_cases=can_manage_case_studies(actor, organisation_id),
        matches=matches,
    )


@dataclass(frozen=True)
class ScenarioMatches:
    """推荐供给方与模型 for a scenario, and what the actor may do about its interest."""

    recs: Recommendations
    own_org: int | None
    my_interest: InterestOut | None
    sees_all_interest: bool
    may_mark: bool


def scenario_matches(
    session: Session,
    *,
    actor: Actor,
    scenario: Scenario,
    filed_only: bool,
    layers: Iterable[str],
    region: str,
    lang: i18n.Language = "zh",
) -> ScenarioMatches:
    recs = service.recommendations(
        session,
        actor=actor,
        scenario_id=scenario.id,
        filed_only=filed_only,
        layers=layers,
        region=region,
        lang=lang,
    )
    own = supplier_organisation(actor)
    return ScenarioMatches(
        recs=recs,
        own_org=own if own is not None and can_mark_interest(actor, own) else None,
        my_interest=next((i for i in recs.interests if i.organisation_id == own), None),
        sees_all_interest=can_read_interests(actor, scenario.organisation_id),
        may_mark=scenario.status.value in ("open", "published")
        and own is not None
        and own != scenario.organisation_id,
    )


@dataclass(frozen=True)
class Opportunities:
    """可承接的应用场景 of one organisation (none when the actor has none to name)."""

    org: Organisation | None
    matches: list[ScenarioMatch]
    may_mark: bool


def opportunities(
    session: Session, *, actor: Actor, organisation_id: int | None, lang: i18n.Language = "zh"
) -> Opportunities:
    org_id = organisation_id or actor.organisation_id
    org = get_organisation(session, org_id) if org_id is not None else None
    matches = (
        service.opportunities(session, actor=actor, organisation_id=org.id, k=30, lang=lang)
        if org is not None
        else []
    )
    return Opportunities(
        org=org, matches=matches, may_mark=org is not None and can_mark_interest(actor, org.id)
    )

"""Supply–demand board API under ``/api/v1``: case studies, interest, matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mosu.accounts.deps import PublicActor, SignedInActor
from mosu.board import service, views
from mosu.board.schemas import (
    CaseStudyIn,
    CaseStudyOut,
    CaseStudyPatch,
    InterestIn,
    InterestOut,
    Recommendations,
    ScenarioMatch,
)
from mosu.deps import LanguageDep, SessionDep
from mosu.registry.models import Layer

router = APIRouter(tags=["board"])
K = Annotated[int, Query(ge=1, le=50)]


@router.get("/orgs/{organisation_id}/case-studies")
def list_case_studies(
    session: SessionDep, actor: PublicActor, organisation_id: int
) -> list[CaseStudyOut]:
    """An organisation's case studies (落地案例), part of its public capability profile."""
    return views.case_studies(session, organisation_id=organisation_id)


@router.post("/orgs/{organisation_id}/case-studies", status_code=201)
def create_case_study(
    session: SessionDep, actor: SignedInActor, organisation_id: int, body: CaseStudyIn
) -> CaseStudyOut:
    case = service.create_case_study(
        session, actor=actor, organisation_id=organisation_id, data=body
    )
    session.commit()
    return service.case_study_out(case)


@router.patch("/case-studies/{case_study_id}")
def patch_case_study(
    session: SessionDep, actor: SignedInActor, case_study_id: int, body: CaseStudyPatch
) -> CaseStudyOut:
    case = service.update_case_study(session, actor=actor, case_study_id=case_study_id, data=body)
    session.commit()
    return service.case_study_out(case)


@router.delete("/case-studies/{case_study_id}", status_code=204)
def delete_case_study(session: SessionDep, actor: SignedInActor, case_study_id: int) -> Response:
    service.delete_case_study(session, actor=actor, case_study_id=case_study_id)
    session.commit()
    return Response(status_code=204)


@router.get("/scenarios/{scenario_id}/recommendations")
def get_recommendations(
    session: SessionDep,
    lang: LanguageDep,
    actor: PublicActor,
    scenario_id: int,
    k: K = 10,
    filed_only: bool = False,
    layer: Annotated[list[Layer] | None, Query()] = None,
    region: str = "",
) -> Recommendations:
    """Suppliers and models for a scenario with reasons, and who marked interest."""
    return service.recommendations(
        session,
        actor=actor,
        scenario_id=scenario_id,
        k=k,
        filed_only=filed_only,
        layers=[x.value for x in layer or ()],
        region=region,
        lang=lang,
    )


@router.get("/orgs/{organisation_id}/scenario-matches")
def get_scenario_matches(
    session: SessionDep, lang: LanguageDep, actor: PublicActor, organisation_id: int, k: K = 20
) -> list[ScenarioMatch]:
    """Open scenarios an organisation could take on, best first, with reasons."""
    return service.opportunities(
        session, actor=actor, organisation_id=organisation_id, k=k, lang=lang
    )


@router.get("/orgs/{organisation_id}/interests")
def list_interests(
    session: SessionDep, actor: SignedInActor, organisation_id: int
) -> list[InterestOut]:
    """The scenarios an organisation marked interest in: its members and operators."""
    rows = service.interests_of_organisation(session, actor=actor, organisation_id=organisation_id)
    return [service.interest_out(i) for i in rows]


@router.put("/orgs/{organisation_id}/interests/{scenario_id}")
def put_interest(
    session: SessionDep,
    actor: SignedInActor,
    organisation_id: int,
    scenario_id: int,
    body: InterestIn,
    response: Response,
) -> InterestOut:
    """Mark interest in a scenario for one's own organisation (201 the first time)."""
    interest, created = service.mark_interest(
        session,
        actor=actor,
        organisation_id=organisation_id,
        scenario_id=scenario_id,
        note=body.note,
    )
    session.commit()
    response.status_code = 201 if created else 200
    return service.interest_out(interest)


@router.delete("/orgs/{organisation_id}/interests/{scenario_id}", status_code=204)
def delete_interest(
    session: SessionDep, actor: SignedInActor, organisation_id: int, scenario_id: int
) -> Response:
    service.withdraw_interest(
        session, actor=actor, organisation_id=organisation_id, scenario_id=scenario_id
    )
    session.commit()
    return Response(status_code=204)

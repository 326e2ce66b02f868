"""Scenario board API under ``/api/v1/scenarios`` (应用场景)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mosu.accounts.deps import PublicActor, require
from mosu.core.pagination import MAX_PER_PAGE, Page
from mosu.deps import SessionDep
from mosu.permissions import SCENARIO_AUTHORS, Actor
from mosu.scenarios import service, views
from mosu.scenarios.models import ScenarioStatus
from mosu.scenarios.schemas import ScenarioIn, ScenarioOut, ScenarioPatch

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
AuthorActor = Annotated[Actor, Depends(require(SCENARIO_AUTHORS))]
"""Operators, and demand organisations' users for their own organisation's scenarios."""


@router.get("")
def list_scenarios(
    session: SessionDep,
    actor: PublicActor,
    q: str = "",
    domain: str = "",
    region: str = "",
    status: ScenarioStatus | None = None,
    organisation_id: int | None = None,
    budget_min_yuan: Annotated[int | None, Query(ge=0)] = None,
    budget_max_yuan: Annotated[int | None, Query(ge=0)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Page[ScenarioOut]:
    """Open and published scenarios for everyone; drafts for their organisation and operators.

    ``q`` is a Chinese full-text search, best match first; the budget bounds (元) keep
    scenarios with a stated budget that meets them."""
    return service.list_scenarios(
        session,
        actor=actor,
        q=q,
        domain=domain,
        region=region,
        status=status,
        organisation_id=organisation_id,
        budget_min_yuan=budget_min_yuan,
        budget_max_yuan=budget_max_yuan,
        page=page,
        per_page=per_page,
    )


@router.post("", status_code=201)
def create_scenario(session: SessionDep, actor: AuthorActor, body: ScenarioIn) -> ScenarioOut:
    scenario = service.create_scenario(session, actor=actor, data=body)
    session.commit()
    return service.scenario_out(scenario, actor=actor)


@router.get("/{scenario_id}")
def get_scenario(session: SessionDep, actor: PublicActor, scenario_id: int) -> ScenarioOut:
    return views.scenario_view(session, actor=actor, scenario_id=scenario_id).out


@router.patch("/{scenario_id}")
def patch_scenario(
    session: SessionDep, actor: AuthorActor, scenario_id: int, body: ScenarioPatch
) -> ScenarioOut:
    scenario = service.update_scenario(session, actor=actor, scenario_id=scenario_id, data=body)
    session.commit()
    return service.scenario_out(scenario, actor=actor)

"""What scenario pages and routes show (应用场景), loaded with the actor's permissions applied:
a scenario with the capability flags (``can_edit``, ``can_publish``) that templates read,
and the choices the scenario form offers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.permissions import (
    Actor,
    can_act_for_any_organisation,
    can_manage_challenge,
    can_manage_scenario,
)
from mosu.registry.models import Organisation
from mosu.scenarios import service
from mosu.scenarios.models import Scenario, ScenarioStatus
from mosu.scenarios.schemas import ScenarioOut


@dataclass(frozen=True)
class ScenarioView:
    """A scenario as the actor may read it, and what the actor may do with it."""

    scenario: Scenario
    out: ScenarioOut
    can_edit: bool
    can_publish: bool


def scenario_view(session: Session, *, actor: Actor, scenario_id: int) -> ScenarioView:
    """The scenario (not found when it is a draft the actor may not read) with its flags."""
    scenario = service.get_scenario(session, scenario_id, actor=actor)
    return ScenarioView(
        scenario=scenario,
        out=service.scenario_out(scenario, actor=actor),
        can_edit=can_manage_scenario(actor, scenario.organisation_id),
        can_publish=can_manage_challenge(actor) and scenario.status is not ScenarioStatus.closed,
    )


def organisation_choices(
    session: Session, *, actor: Actor, scenario: Scenario | None
) -> list[Organisation]:
    """The demand organisations a new scenario may name: all of them for those who post for
    any organisation, none otherwise (and none when editing: a scenario keeps its own)."""
    if scenario is not None or not can_act_for_any_organisation(actor):
        return []
    return list(session.scalars(select(Organisation).order_by(Organisation.name_zh)))

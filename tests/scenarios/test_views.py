"""Scenario views: a scenario with the flags its page reads, and the form's organisations."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from mosu.core.errors import NotFound
from mosu.permissions import PUBLIC, can_post_scenario
from mosu.scenarios import views
from mosu.scenarios.models import ScenarioStatus
from mosu.scenarios.schemas import ScenarioPatch
from mosu.scenarios.service import update_scenario
from tests.conftest import World
from tests.helpers.scenarios import actor, make_scenario


def test_flags_follow_the_roles(db: Session, world: World) -> None:
    scenario = make_scenario(db, world)
    demand, operator = actor(world, "demand"), actor(world, "operator")
    own = views.scenario_view(db, actor=demand, scenario_id=scenario.id)
    assert own.out.id == scenario.id and own.can_edit and not own.can_publish
    assert views.scenario_view(db, actor=operator, scenario_id=scenario.id).can_publish
    public = views.scenario_view(db, actor=PUBLIC, scenario_id=scenario.id)
    assert not public.can_edit and not public.can_publish
    update_scenario(
        db, actor=demand, scenario_id=scenario.id, data=ScenarioPatch(status=ScenarioStatus.draft)
    )
    db.commit()
    with pytest.raises(NotFound):
        views.scenario_view(db, actor=actor(world, "supplier_a"), scenario_id=scenario.id)
    assert can_post_scenario(demand) and can_post_scenario(operator)
    assert not can_post_scenario(actor(world, "supplier_a")) and not can_post_scenario(PUBLIC)


def test_only_operators_name_the_organisation_of_a_new_scenario(db: Session, world: World) -> None:
    scenario = make_scenario(db, world)
    operator, demand = actor(world, "operator"), actor(world, "demand")
    names = [o.name_zh for o in views.organisation_choices(db, actor=operator, scenario=None)]
    assert names == sorted(names) and len(names) >= 3
    assert views.organisation_choices(db, actor=demand, scenario=None) == []
    assert views.organisation_choices(db, actor=operator, scenario=scenario) == []

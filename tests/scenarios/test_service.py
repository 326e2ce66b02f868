"""Scenario rules: who posts and edits, who reads drafts, the board's search and filters."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.permissions import PUBLIC
from mosu.scenarios import service
from mosu.scenarios.models import ScenarioStatus
from mosu.scenarios.schemas import ScenarioIn, ScenarioPatch
from tests.conftest import World
from tests.helpers.scenarios import actor, make_challenge, make_scenario


def test_demand_posts_for_its_own_organisation(db: Session, world: World) -> None:
    scenario = make_scenario(db, world, capabilities=["文本分类", "文本分类", " 摘要 "])
    assert scenario.organisation_id == world.org_demand
    assert scenario.capabilities == ["文本分类", "摘要"]
    assert scenario.created_by_id == world.user_ids["demand"]
    with pytest.raises(Forbidden):
        service.create_scenario(
            db,
            actor=actor(world, "demand"),
            data=ScenarioIn(title="替别人发", organisation_id=world.org_a),
        )
    for who in ("supplier_a", "expert"):
        with pytest.raises((Forbidden, Invalid)):
            service.create_scenario(db, actor=actor(world, who), data=ScenarioIn(title="不行"))
    made = service.create_scenario(
        db,
        actor=actor(world, "operator"),
        data=ScenarioIn(title="运营代发", organisation_id=world.org_a),
    )
    assert made.organisation_id == world.org_a
    with pytest.raises(Invalid, match="需求方组织"):
        service.create_scenario(db, actor=actor(world, "operator"), data=ScenarioIn(title="无主"))


def test_budget_and_status_rules() -> None:
    with pytest.raises(ValidationError, match="预算下限"):
        ScenarioIn(title="x", budget_min_yuan=10, budget_max_yuan=5)
    with pytest.raises(ValidationError, match="已发榜"):
        ScenarioIn(title="x", status=ScenarioStatus.published)
    with pytest.raises(ValidationError):
        ScenarioIn(title="x", budget_min_yuan=-1)


def test_editing_is_for_the_owner_and_operators(db: Session, world: World) -> None:
    scenario = make_scenario(db, world, budget_min_yuan=100, budget_max_yuan=200)
    service.update_scenario(
        db,
        actor=actor(world, "demand"),
        scenario_id=scenario.id,
        data=ScenarioPatch(description="补充说明", budget_max_yuan=None),
    )
    assert scenario.description == "补充说明" and scenario.budget_max_yuan is None
    with pytest.raises(Forbidden):
        service.update_scenario(
            db, actor=actor(world, "supplier_a"), scenario_id=scenario.id, data=ScenarioPatch()
        )
    with pytest.raises(Invalid, match="预算下限"):
        service.update_scenario(
            db,
            actor=actor(world, "operator"),
            scenario_id=scenario.id,
            data=ScenarioPatch(budget_max_yuan=50),
        )
    with pytest.raises(Invalid):
        service.update_scenario(
            db,
            actor=actor(world, "operator"),
            scenario_id=scenario.id,
            data=ScenarioPatch(status=ScenarioStatus.published),
        )
    with pytest.raises(ValidationError):
        ScenarioPatch.model_validate({"title": None})


def test_drafts_are_private_and_the_board_filters(db: Session, world: World) -> None:
    draft = make_scenario(db, world, title="内部草稿", status=ScenarioStatus.draft)
    make_scenario(db, world, title="医保智能审核", domain="医疗健康", region="徐汇区")
    make_scenario(
        db, world, title="课堂作业批改", domain="教育", region="闵行区", capabilities=["作文评分"]
    )
    for viewer in (PUBLIC, actor(world, "supplier_a"), actor(world, "expert")):
        with pytest.raises(NotFound):
            service.get_scenario(db, draft.id, actor=viewer)
        titles = {s.title for s in service.list_scenarios(db, actor=viewer).items}
        assert titles == {"医保智能审核", "课堂作业批改"}
    for who in ("demand", "operator"):
        assert service.get_scenario(db, draft.id, actor=actor(world, who)) is draft
        assert service.list_scenarios(db, actor=actor(world, who)).total == 3

    def titles(**filters: object) -> list[str]:
        return [s.title for s in service.list_scenarios(db, actor=PUBLIC, **filters).items]  # type: ignore[arg-type]

    assert titles(domain="教育") == ["课堂作业批改"]
    assert titles(region="徐汇区") == ["医保智能审核"]
    assert titles(q="作文") == ["课堂作业批改"]  # capabilities are searched
    assert titles(q="丙区政务") == ["课堂作业批改", "医保智能审核"]  # and the organisation
    assert titles(q="100%_") == []
    assert titles(status=ScenarioStatus.draft) == []
    facets = service.facets(db, actor=PUBLIC)
    assert facets == {"domains": ["医疗健康", "教育"], "regions": ["徐汇区", "闵行区"]}


def test_a_scenario_lists_its_visible_challenges(db: Session, world: World) -> None:
    challenge = make_challenge(db, world)
    draft = make_challenge(db, world, publish=False)
    out = service.scenario_out(challenge.scenario, actor=PUBLIC)
    assert [c.id for c in out.challenges] == [challenge.id]
    assert out.status is ScenarioStatus.published
    hidden = service.scenario_out(draft.scenario, actor=PUBLIC)
    assert hidden.challenges == [] and hidden.status is ScenarioStatus.open
    shown = service.scenario_out(draft.scenario, actor=actor(world, "demand"))
    assert [c.id for c in shown.challenges] == [draft.id]


def test_a_published_scenario_can_only_be_closed(db: Session, world: World) -> None:
    scenario = make_challenge(db, world).scenario
    demand = actor(world, "demand")
    for status in (ScenarioStatus.draft, ScenarioStatus.open):
        with pytest.raises(Conflict, match="只能关闭"):
            service.update_scenario(
                db, actor=demand, scenario_id=scenario.id, data=ScenarioPatch(status=status)
            )
    service.update_scenario(
        db, actor=demand, scenario_id=scenario.id, data=ScenarioPatch(description="补充")
    )
    service.update_scenario(
        db, actor=demand, scenario_id=scenario.id, data=ScenarioPatch(status=ScenarioStatus.closed)
    )
    assert scenario.status is ScenarioStatus.closed

"""Board rules against a real database: profiles kept current, interest, case studies."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.accounts.models import Notification
from mosu.board import service
from mosu.board.schemas import CaseStudyIn, CaseStudyPatch
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.notifications import service as notifications
from mosu.permissions import PUBLIC
from mosu.registry import ai_models, filings, lookups, organisations
from mosu.registry.models import FilingStatus, Layer, Modality
from mosu.registry.schemas import FilingPatch, ModelIn, ModelPatch, OrganisationPatch
from mosu.scenarios.models import ScenarioStatus
from mosu.scenarios.schemas import ScenarioPatch
from mosu.scenarios.service import list_scenarios, update_scenario
from mosu.search.live import LiveIndex, live_index, required_words
from tests.conftest import OPERATOR, World
from tests.helpers.board import hotline_supplier
from tests.helpers.scenarios import actor, make_scenario


def test_recommendations_give_reasons_and_follow_the_filters(db: Session, world: World) -> None:
    model_id = hotline_supplier(db, world)
    ai_models.create_model(
        db,
        actor=OPERATOR,
        data=ModelIn(
            organisation_id=world.org_b,
            name="乙画",
            modality=Modality.image,
            capability_tags=["文生图"],
        ),
    )
    db.commit()
    scenario = make_scenario(
        db, world, capabilities=["工单分派", "智能客服"], description="12345 热线工单自动派单"
    )
    recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id)
    assert [s.organisation_id for s in recs.suppliers] == [world.org_a]  # not the demand org
    top = recs.suppliers[0]
    assert {"工单分派", "智能客服"} <= set(top.matched_tags)
    assert "12345" in top.matched_terms
    assert top.filed_models == ["甲政务大模型"]
    assert any(r.startswith("已备案模型：甲政务大模型") for r in top.reasons)
    assert [m.model_id for m in recs.models] == [model_id] and recs.models[0].filed

    only_compute = service.recommendations(
        db, actor=PUBLIC, scenario_id=scenario.id, layers=["compute"]
    )
    assert only_compute.suppliers == [] and only_compute.models == []
    filings.update_filing(
        db,
        actor=OPERATOR,
        filing_id=lookups.get_model(db, model_id).filings[0].id,
        data=FilingPatch(status=FilingStatus.suspended),
    )
    db.commit()
    filed = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id, filed_only=True)
    assert filed.suppliers == [] and filed.models == []  # the suspension reached the index
    assert service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id).suppliers


def test_the_index_follows_every_kind_of_change_without_a_rebuild(
    db: Session, world: World
) -> None:
    live = live_index(db)
    scenario = make_scenario(db, world, title="医保单据审核", domain="医疗健康")
    live.refresh(db)
    assert not service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id).suppliers
    before = dict(live.refreshed)

    case = service.create_case_study(
        db,
        actor=actor(world, "supplier_b"),
        organisation_id=world.org_b,
        data=CaseStudyIn(title="某三甲医院医保审核", customer_type="医院", text="审核报销单据"),
    )
    db.commit()
    recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id)
    assert [s.organisation_id for s in recs.suppliers] == [world.org_b]
    assert live.refreshed["org"] == before["org"] + 1  # org_b alone was re-indexed

    service.update_case_study(
        db,
        actor=OPERATOR,
        case_study_id=case.id,
        data=CaseStudyPatch(title="银行客服", text="信用卡客服"),
    )
    db.commit()
    assert not service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id).suppliers

    organisations.update_organisation(
        db,
        actor=OPERATOR,
        organisation_id=world.org_a,
        data=OrganisationPatch(description="医保审核与医疗健康数据治理"),
    )
    db.commit()
    recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id)
    # org_a sits in a chain layer (模型), so it counts as a supplier even before its first model
    assert [s.organisation_id for s in recs.suppliers] == [world.org_a]
    ai_models.create_model(
        db,
        actor=OPERATOR,
        data=ModelIn(organisation_id=world.org_a, name="甲通用", modality=Modality.text),
    )
    db.commit()
    recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id)
    assert [s.organisation_id for s in recs.suppliers] == [world.org_a]

    update_scenario(
        db,
        actor=actor(world, "demand"),
        scenario_id=scenario.id,
        data=ScenarioPatch(title="信用卡客服质检", domain="金融"),
    )
    db.commit()
    recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id)
    assert [s.organisation_id for s in recs.suppliers] == [world.org_b]
    assert [s.title for s in list_scenarios(db, actor=PUBLIC, q="信用卡").items] == [
        "信用卡客服质检"
    ]
    assert list_scenarios(db, actor=PUBLIC, q="医保").total == 0

    model = ai_models.create_model(
        db,
        actor=OPERATOR,
        data=ModelIn(organisation_id=world.org_a, name="甲金融", modality=Modality.text),
    )
    db.commit()
    ai_models.update_model(
        db, actor=OPERATOR, model_id=model.id, data=ModelPatch(capability_tags=["信用卡风控"])
    )
    db.commit()
    assert [m.name for m in ai_models.list_models(db, q="信用卡").items] == ["甲金融"]
    ai_models.delete_model(db, actor=OPERATOR, model_id=model.id)
    db.commit()
    assert ai_models.list_models(db, q="信用卡").total == 0
    assert sum(live.refreshed.values()) < 20  # a handful of entries, never the whole index


def test_another_process_writing_is_seen_at_the_next_read(db: Session, world: World) -> None:
    """Two indexes over one database (two web processes): each catches up on read."""
    first, second = LiveIndex(), LiveIndex()
    assert first.search_organisations(db, "具身智能") == []
    assert second.search_organisations(db, "具身智能") == []
    organisations.update_organisation(
        db,
        actor=OPERATOR,
        organisation_id=world.org_b,
        data=OrganisationPatch(description="具身智能机器人"),
    )
    db.commit()
    assert first.search_organisations(db, "具身智能") == [world.org_b]
    assert second.search_organisations(db, "具身智能") == [world.org_b]
    organisations.delete_organisation(db, actor=OPERATOR, organisation_id=world.org_b)
    db.commit()
    assert second.search_organisations(db, "具身智能") == []


def test_registry_search_keeps_short_chinese_substrings(db: Session, world: World) -> None:
    hotline_supplier(db, world, filed=False)
    # 大模型 is in 乙's name and 甲's model: both found, the name first
    names = [
        o.name_zh for o in organisations.list_organisations(db, actor=PUBLIC, q="大模型").items
    ]
    assert names == ["乙大模型有限公司", "甲智能科技有限公司"]
    # a fragment jieba never cuts out on its own (型有限) is still found as a substring
    assert [
        o.name_zh for o in organisations.list_organisations(db, actor=PUBLIC, q="型有限").items
    ] == ["乙大模型有限公司"]
    # a single character and an English name go through the substring search
    assert organisations.list_organisations(db, actor=PUBLIC, q="丙").total == 1
    assert organisations.list_organisations(db, actor=PUBLIC, q="Org 2").total == 1
    # words spread over the profile: 12345 in a model's text, 派单 in its description
    found = organisations.list_organisations(db, actor=PUBLIC, q="12345 派单").items
    assert [o.id for o in found] == [world.org_a]
    # every word of a short query must be present: 12345 alone does not bring 乙
    assert organisations.list_organisations(db, actor=PUBLIC, q="12345 文生图").total == 0
    assert organisations.list_organisations(db, actor=PUBLIC, q="100%_").total == 0
    assert (
        organisations.list_organisations(db, actor=PUBLIC, q="大模型", layer=Layer.compute).total
        == 0
    )


def test_required_words() -> None:
    live = LiveIndex()
    assert required_words(live.tokenizer, "大模型") == (["大模型"], 1)
    words, need = required_words(live.tokenizer, "政务 热线 工单 分派 智能 客服")
    assert len(words) == 6 and need == 4


def test_board_search_ranks_and_filters_budgets(db: Session, world: World) -> None:
    make_scenario(db, world, title="热线工单分派", budget_min_yuan=100_000, budget_max_yuan=300_000)
    make_scenario(db, world, title="政务大模型问答", capabilities=["工单分派"])
    make_scenario(db, world, title="智能客服质检", budget_max_yuan=50_000)
    draft = make_scenario(db, world, title="工单分派草稿", status=ScenarioStatus.draft)
    found = list_scenarios(db, actor=PUBLIC, q="工单分派").items
    assert [s.title for s in found] == ["热线工单分派", "政务大模型问答"]  # title counts most
    mine = list_scenarios(db, actor=actor(world, "demand"), q="工单分派").items
    assert draft.id in {s.id for s in mine}
    assert list_scenarios(db, actor=PUBLIC, q="工单分派", per_page=1, page=2).items[0].title == (
        "政务大模型问答"
    )

    def titles(**kw: int) -> list[str]:
        return sorted(s.title for s in list_scenarios(db, actor=PUBLIC, **kw).items)  # type: ignore[arg-type]

    assert titles(budget_min_yuan=200_000) == ["热线工单分派"]
    assert titles(budget_max_yuan=80_000) == ["智能客服质检"]
    assert titles(budget_min_yuan=60_000, budget_max_yuan=90_000) == []


def test_interest_is_marked_for_ones_own_organisation_and_notifies(
    db: Session, world: World
) -> None:
    scenario = make_scenario(db, world)
    supplier_a, supplier_b = actor(world, "supplier_a"), actor(world, "supplier_b")
    with pytest.raises(Forbidden):
        service.mark_interest(
            db, actor=supplier_b, organisation_id=world.org_a, scenario_id=scenario.id
        )
    with pytest.raises(Forbidden):  # a demand user is no supplier
        service.mark_interest(
            db,
            actor=actor(world, "demand"),
            organisation_id=world.org_demand,
            scenario_id=scenario.id,
        )
    interest, created = service.mark_interest(
        db, actor=supplier_a, organisation_id=world.org_a, scenario_id=scenario.id, note="可演示"
    )
    db.commit()
    assert created
    again, created = service.mark_interest(
        db, actor=supplier_a, organisation_id=world.org_a, scenario_id=scenario.id, note="改"
    )
    db.commit()
    assert again.id == interest.id and not created and again.note == "改"
    demand = actor(world, "demand")
    rows = notifications.list_notifications(db, actor=demand)
    assert (
        len(rows) == 1 and "甲智能科技有限公司" in notifications.notice_text(rows[0], "zh")[0]
    )  # one, not one per marking
    assert rows[0].link == f"/scenarios/{scenario.id}#interests"
    for other in ("supplier_a", "supplier_b", "operator", "expert"):
        assert notifications.list_notifications(db, actor=actor(world, other)) == []
    with pytest.raises(NotFound):  # someone else's notification does not exist for them
        notifications.mark_read(db, actor=supplier_b, notification_id=rows[0].id)
    assert notifications.unread_count(db, user_id=world.user_ids["demand"]) == 1
    notifications.mark_read(db, actor=demand, notification_id=rows[0].id)
    db.commit()
    assert notifications.unread_count(db, user_id=world.user_ids["demand"]) == 0

    # who sees the interest: the demand org and operators all, a supplier its own only
    service.mark_interest(
        db, actor=supplier_b, organisation_id=world.org_b, scenario_id=scenario.id
    )
    db.commit()
    seen = {
        who: {
            i.organisation_id
            for i in service.interests_of(db, actor=actor(world, who), scenario=scenario)
        }
        for who in ("demand", "operator", "supplier_a", "supplier_b", "expert")
    }
    assert seen["demand"] == seen["operator"] == {world.org_a, world.org_b}
    assert seen["supplier_a"] == {world.org_a} and seen["supplier_b"] == {world.org_b}
    assert seen["expert"] == set()
    recs = service.recommendations(db, actor=PUBLIC, scenario_id=scenario.id)
    assert recs.interests == [] and recs.interest_count == 2

    with pytest.raises(Forbidden):
        service.withdraw_interest(
            db, actor=supplier_b, organisation_id=world.org_a, scenario_id=scenario.id
        )
    service.withdraw_interest(
        db, actor=supplier_a, organisation_id=world.org_a, scenario_id=scenario.id
    )
    db.commit()
    with pytest.raises(NotFound):
        service.withdraw_interest(
            db, actor=supplier_a, organisation_id=world.org_a, scenario_id=scenario.id
        )
    closed = make_scenario(db, world, status=ScenarioStatus.closed)
    with pytest.raises(Conflict):
        service.mark_interest(
            db, actor=supplier_a, organisation_id=world.org_a, scenario_id=closed.id
        )
    with pytest.raises(Invalid):  # not in one's own scenario
        service.mark_interest(
            db, actor=OPERATOR, organisation_id=world.org_demand, scenario_id=scenario.id
        )
    draft = make_scenario(db, world, status=ScenarioStatus.draft)
    with pytest.raises(NotFound):
        service.mark_interest(
            db, actor=supplier_a, organisation_id=world.org_a, scenario_id=draft.id
        )
    assert (
        db.scalar(
            select(Notification.id).where(Notification.user_id == world.user_ids["supplier_a"])
        )
        is None
    )


def test_case_studies_belong_to_their_organisation(db: Session, world: World) -> None:
    data = CaseStudyIn(title="区级 12345 热线", customer_type="政府")
    for who in ("supplier_b", "demand", "expert"):
        with pytest.raises(Forbidden):
            service.create_case_study(
                db, actor=actor(world, who), organisation_id=world.org_a, data=data
            )
    case = service.create_case_study(
        db, actor=actor(world, "supplier_a"), organisation_id=world.org_a, data=data
    )
    db.commit()
    with pytest.raises(Forbidden):
        service.update_case_study(
            db,
            actor=actor(world, "supplier_b"),
            case_study_id=case.id,
            data=CaseStudyPatch(title="x"),
        )
    with pytest.raises(Forbidden):
        service.delete_case_study(db, actor=actor(world, "supplier_b"), case_study_id=case.id)
    service.update_case_study(
        db, actor=OPERATOR, case_study_id=case.id, data=CaseStudyPatch(text="派单")
    )
    db.commit()
    assert [c.text for c in service.list_case_studies(db, organisation_id=world.org_a)] == ["派单"]
    service.delete_case_study(db, actor=actor(world, "supplier_a"), case_study_id=case.id)
    db.commit()
    assert service.list_case_studies(db, organisation_id=world.org_a) == []


def test_a_supplier_sees_the_scenarios_it_could_win(db: Session, world: World) -> None:
    hotline_supplier(db, world)
    fits = make_scenario(db, world, capabilities=["工单分派"])
    make_scenario(db, world, title="工业质检视觉检测", domain="制造")
    make_scenario(db, world, title="热线工单分派草稿", status=ScenarioStatus.draft)
    make_scenario(db, world, title="热线工单分派已关闭", status=ScenarioStatus.closed)
    found = service.opportunities(db, actor=actor(world, "supplier_a"), organisation_id=world.org_a)
    assert [m.scenario_id for m in found] == [fits.id]
    assert "工单分派" in found[0].matched_tags
    assert any(r.startswith("关键词匹配") for r in found[0].reasons)
    service.mark_interest(
        db, actor=actor(world, "supplier_a"), organisation_id=world.org_a, scenario_id=fits.id
    )
    db.commit()
    found = service.opportunities(db, actor=PUBLIC, organisation_id=world.org_a)
    assert found[0].interested
    # the demand organisation's own scenarios are never its opportunities
    assert service.opportunities(db, actor=PUBLIC, organisation_id=world.org_demand) == []

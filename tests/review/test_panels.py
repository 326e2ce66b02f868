"""The panel draw (seeded, conflicts excluded and recorded), confirmation, recusal with a
replacement, and the exhausted pool."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts.models import Notification
from mosu.challenges import catalogue, decisions
from mosu.challenges.models import ChallengeEvent
from mosu.core.errors import Conflict, Forbidden, Invalid
from mosu.core.settings import Settings
from mosu.permissions import Actor, Role
from mosu.review import panels
from mosu.review.models import ExpertConflict, MemberState
from tests.conftest import World
from tests.helpers.review_panels import Expert, make_expert, publish_rubric, ready_challenge
from tests.helpers.scenarios import actor, make_application, make_challenge, make_model


def as_expert(expert: Expert) -> Actor:
    return Actor(user_id=expert.user_id, role=Role.expert, username=expert.username)


def test_draw_orders_by_seed_and_excludes_every_conflict(
    db: Session, world: World, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    ready = ready_challenge(
        db, world, model_id=model, data_dir=settings.data_dir, member_ids=(world.org_b,)
    )
    issuer = make_expert(db, affiliation_id=world.org_demand)
    member_org = make_expert(db, affiliation_id=world.org_b)  # a consortium member
    lead_org = make_expert(db, affiliation_id=world.org_a)
    declared = make_expert(db, declared=(world.org_a,))
    declared_issuer = make_expert(db, declared=(world.org_demand,))
    fine = [make_expert(db) for _ in range(4)]
    make_expert(db, fields=("医疗健康",))  # another field
    make_expert(db, in_pool=False)
    operator = actor(world, "operator")

    panel = panels.draw_panel(
        db, actor=operator, challenge_id=ready.challenge.id, size=3, field="政务服务", seed=42
    )
    db.commit()
    assert panel.candidates == panels.draw_order([e.user_id for e in fine], 42)
    assert sorted(panel.candidates) == sorted(e.user_id for e in fine)
    assert [m.expert_id for m in panel.members] == panel.candidates[:3]
    assert [m.position for m in panel.members] == [0, 1, 2]
    assert set(panel.excluded) == {
        str(e.user_id) for e in (issuer, member_org, lead_org, declared, declared_issuer)
    }
    assert "发榜单位" in panel.excluded[str(issuer.user_id)]
    assert "乙大模型有限公司" in panel.excluded[str(member_org.user_id)]
    assert "甲智能科技有限公司" in panel.excluded[str(lead_org.user_id)]
    assert "已声明" in panel.excluded[str(declared.user_id)]
    assert "已声明" in panel.excluded[str(declared_issuer.user_id)]
    invited = db.scalars(select(Notification.user_id).where(Notification.kind == "review_invited"))
    assert sorted(invited) == sorted(panel.candidates[:3])
    event = db.scalars(select(ChallengeEvent).where(ChallengeEvent.action == "panel_drawn")).one()
    assert event.details["seed"] == "42" and event.details["excluded"] == 5

    # one panel per challenge
    with pytest.raises(Conflict):
        panels.draw_panel(db, actor=operator, challenge_id=ready.challenge.id, size=1)


def test_the_same_seed_draws_the_same_order(db: Session, world: World, settings: Settings) -> None:
    model = make_model(db, world.org_a)
    for _ in range(5):
        make_expert(db)
    operator = actor(world, "operator")
    orders = []
    for _ in range(2):
        ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
        panel = panels.draw_panel(
            db, actor=operator, challenge_id=ready.challenge.id, size=2, seed=2026
        )
        orders.append(panel.candidates)
    assert orders[0] == orders[1] == panels.draw_order(orders[0], 2026)
    assert panels.draw_order([1, 2, 3, 4, 5, 6, 7, 8], 1) != panels.draw_order(
        [1, 2, 3, 4, 5, 6, 7, 8], 2
    )
    # no seed given: a fresh one, recorded
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    panel = panels.draw_panel(db, actor=operator, challenge_id=ready.challenge.id, size=2)
    assert 0 <= panel.seed < panels.MAX_SEED
    assert panels.draw_order(panel.candidates, panel.seed) == panel.candidates


def test_the_draw_refuses_what_it_cannot_do(db: Session, world: World, settings: Settings) -> None:
    model = make_model(db, world.org_a)
    operator = actor(world, "operator")
    make_expert(db)
    make_expert(db, affiliation_id=world.org_a)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    with pytest.raises(Invalid) as too_few:
        panels.draw_panel(db, actor=operator, challenge_id=ready.challenge.id, size=2)
    assert too_few.value.details == {"eligible": 1, "size": 2, "excluded": 1}
    with pytest.raises(Invalid):
        panels.draw_panel(db, actor=operator, challenge_id=ready.challenge.id, size=0)
    with pytest.raises(Forbidden):
        panels.draw_panel(db, actor=actor(world, "demand"), challenge_id=ready.challenge.id, size=1)
    no_rubric = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir, rubric=False)
    with pytest.raises(Conflict):
        panels.draw_panel(db, actor=operator, challenge_id=no_rubric.challenge.id, size=1)


def test_recusal_invites_the_next_candidate_until_the_pool_is_exhausted(
    db: Session, world: World, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    experts = {e.user_id: e for e in (make_expert(db) for _ in range(3))}
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    operator = actor(world, "operator")
    panel = panels.draw_panel(db, actor=operator, challenge_id=ready.challenge.id, size=2, seed=7)
    first, second, third = panel.candidates

    with pytest.raises(Invalid):
        panels.recuse(db, actor=as_expert(experts[first]), panel_id=panel.id, reason=" ")
    replacement = panels.recuse(
        db, actor=as_expert(experts[first]), panel_id=panel.id, reason="曾为该单位提供咨询"
    )
    assert replacement is not None and replacement.expert_id == third
    assert replacement.position == 2 and replacement.state is MemberState.invited
    seat = panels.seat_of(panel, first)
    assert seat is not None and seat.state is MemberState.recused
    assert seat.recusal_reason == "曾为该单位提供咨询"
    with pytest.raises(Forbidden):  # not on the panel
        panels.confirm(db, actor=as_expert(make_expert(db)), panel_id=panel.id)

    # the operator recuses a member on their behalf; no candidate is left
    assert (
        panels.recuse(db, actor=operator, panel_id=panel.id, reason="单位变更", expert_id=second)
        is None
    )
    db.commit()
    events = db.scalars(
        select(ChallengeEvent).where(ChallengeEvent.action == "panel_member_recused")
    ).all()
    assert [e.details["exhausted"] for e in events] == [False, True]
    assert all(e.reason == "" for e in events)  # the reason stays with the operators
    with pytest.raises(Conflict):
        panels.confirm(db, actor=as_expert(experts[first]), panel_id=panel.id)


def test_confirm_checks_the_conflict_rule_again(
    db: Session, world: World, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    expert = make_expert(db)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    panel = panels.draw_panel(
        db, actor=actor(world, "operator"), challenge_id=ready.challenge.id, size=1
    )
    # after the draw, the expert turns out to be tied to the applicant
    db.add(ExpertConflict(expert_id=expert.user_id, organisation_id=world.org_a, reason="亲属"))
    db.commit()
    with pytest.raises(Conflict) as refused:
        panels.confirm(db, actor=as_expert(expert), panel_id=panel.id)
    assert "甲智能科技有限公司" in refused.value.details["conflict"]
    assert refused.value.code == "review.conflict_of_interest"
    assert i18n.render(refused.value.text, "zh") == (
        "存在利益冲突，请回避：已声明与申请单位 甲智能科技有限公司 存在利益冲突"
    )
    assert i18n.render(refused.value.text, "en") == (
        "There is a conflict of interest, please recuse yourself: Declared a conflict of "
        "interest with the applicant 甲智能科技有限公司."
    )
    seat = panels.seat_of(panel, expert.user_id)
    assert seat is not None and seat.state is MemberState.invited


def test_a_confirmed_member_is_stopped_when_an_applicant_conflict_appears(
    db: Session, world: World, settings: Settings
) -> None:
    model = make_model(db, world.org_a)
    expert = make_expert(db, affiliation_id=world.org_b)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    panel = panels.draw_panel(
        db, actor=actor(world, "operator"), challenge_id=ready.challenge.id, size=1
    )
    member = panels.confirm(db, actor=as_expert(expert), panel_id=panel.id)
    assert member.state is MemberState.confirmed
    # org_b joins the application as a consortium member
    from mosu.challenges.models import ApplicationMember

    db.add(ApplicationMember(application_id=ready.applications[0].id, organisation_id=world.org_b))
    db.commit()
    with pytest.raises(Conflict):
        panels.confirm(db, actor=as_expert(expert), panel_id=panel.id)
    with pytest.raises(Conflict):
        panels.confirmed_seat(db, actor=as_expert(expert), panel=panel)


def test_a_panel_drawn_while_open_waits_and_sees_the_late_applicants(
    db: Session, world: World, settings: Settings
) -> None:
    """Drawn while the challenge takes applications, the members confirm only once it has
    closed; an applicant who arrives after the draw and employs a member makes that member
    step aside, and the next candidate takes the seat."""
    model = make_model(db, world.org_a)
    operator = actor(world, "operator")
    challenge = make_challenge(db, world)
    publish_rubric(db, challenge.id)
    employed = make_expert(db, affiliation_id=world.org_a)
    others = [make_expert(db) for _ in range(2)]
    experts = {e.user_id: e for e in (employed, *others)}
    panel = panels.draw_panel(db, actor=operator, challenge_id=challenge.id, size=2, seed=11)
    assert sorted(panel.candidates) == sorted(experts) and panel.excluded == {}
    members = [m.expert_id for m in panel.members]
    with pytest.raises(Conflict) as early:
        panels.confirm(db, actor=as_expert(experts[members[0]]), panel_id=panel.id)
    assert early.value.details == {"state": "open"}

    application = make_application(db, world, challenge, model_id=model, data_dir=settings.data_dir)
    decisions.decide_application(db, actor=operator, application_id=application.id, approve=True)
    catalogue.transition_challenge(
        db, actor=operator, challenge_id=challenge.id, name="close_applications"
    )
    for expert_id in members:
        if expert_id == employed.user_id:
            with pytest.raises(Conflict) as conflicted:
                panels.confirm(db, actor=as_expert(employed), panel_id=panel.id)
            assert "任职于申请单位" in conflicted.value.details["conflict"]
            replacement = panels.recuse(
                db, actor=as_expert(employed), panel_id=panel.id, reason="任职于申请单位"
            )
            assert replacement is not None and replacement.expert_id not in members
        else:
            seat = panels.confirm(db, actor=as_expert(experts[expert_id]), panel_id=panel.id)
            assert seat.state is MemberState.confirmed

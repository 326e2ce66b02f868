"""Scoring against the rubric (validation, the weighted total by hand, resubmission), the
deadline, closing the panel, and the reminders sent once."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.accounts.models import Notification
from mosu.challenges.models import ChallengeEvent
from mosu.core import clock
from mosu.core.errors import Conflict, Forbidden, Invalid, NotFound
from mosu.core.settings import Settings
from mosu.core.text import Text
from mosu.jobs import Job, Worker
from mosu.permissions import Actor, Role
from mosu.review import panels, queue, reminders, scoring
from mosu.review.models import Panel, PanelState
from tests.conftest import World
from tests.helpers.review_panels import Expert, Ready, full_scores, make_expert, ready_challenge
from tests.helpers.scenarios import actor, make_model

_fields = itertools.count(1)


def as_expert(expert: Expert) -> Actor:
    return Actor(user_id=expert.user_id, role=Role.expert, username=expert.username)


def drawn(
    db: Session, world: World, settings: Settings, *, experts: int = 2, proposals: int = 2
) -> tuple[Ready, Panel, list[Expert]]:
    """A panel of every expert made here, all confirmed, on ``proposals`` applications."""
    model = make_model(db, world.org_a)
    field = f"领域{next(_fields)}"  # the experts made here are the whole eligible pool
    made = [make_expert(db, fields=(field,)) for _ in range(experts)]
    ready = ready_challenge(
        db,
        world,
        model_id=model,
        data_dir=settings.data_dir,
        proposals=tuple(f"方案{i}" for i in range(proposals)),
    )
    panel = panels.draw_panel(
        db,
        actor=actor(world, "operator"),
        challenge_id=ready.challenge.id,
        size=experts,
        field=field,
        seed=3,
    )
    for expert in made:
        panels.confirm(db, actor=as_expert(expert), panel_id=panel.id)
    db.commit()
    return ready, panel, made


def test_the_weighted_total_matches_a_hand_computation() -> None:
    criteria = [
        {"key": "tech", "weight": 40},
        {"key": "team", "weight": 20},
        {"key": "fit", "weight": 30},
        {"key": "price", "weight": 10},
    ]
    scores = {"tech": 8, "team": 6.5, "fit": 10, "price": 0}
    # 40·0.8 + 20·0.65 + 30·1 + 10·0 = 32 + 13 + 30 + 0
    assert scoring.weighted_total(criteria, scores, 0, 10) == pytest.approx(75.0)
    # on 1–5: 40·(4−1)/4 + 20·(2−1)/4 + 30·(5−1)/4 + 10·(1−1)/4 = 30 + 5 + 30 + 0
    assert scoring.weighted_total(
        criteria, {"tech": 4, "team": 2, "fit": 5, "price": 1}, 1, 5
    ) == pytest.approx(65.0)


def test_scores_are_checked_against_the_rubric(
    db: Session, world: World, settings: Settings
) -> None:
    ready, panel, (a, b) = drawn(db, world, settings)
    application = ready.applications[0].id

    def submit(who: Expert, scores: dict[str, float], comment: str = "方案扎实可行") -> object:
        return scoring.submit_score(
            db,
            actor=as_expert(who),
            panel_id=panel.id,
            application_id=application,
            scores=scores,
            comment=comment,
        )

    bad: list[dict[str, float]] = [
        {"tech": 8, "team": 8, "fit": 8},  # a criterion missing
        {**full_scores(), "extra": 1},  # not in the rubric
        {**full_scores(), "tech": 11},  # above the range
        {**full_scores(), "tech": -0.5},  # below it
        {**full_scores(), "tech": 7.3},  # not a half point
        {**full_scores(), "tech": float("nan")},
    ]
    for scores in bad:
        with pytest.raises(Invalid):
            submit(a, scores)
    with pytest.raises(Invalid):
        submit(a, full_scores(), comment="好")
    row = submit(a, {"tech": 8, "team": 6.5, "fit": 10, "price": 0})
    assert isinstance(row, scoring.ReviewScore)
    assert row.total == pytest.approx(75.0)
    again = submit(a, full_scores(10), comment="复核后改为满分")
    assert again is row and row.total == pytest.approx(100.0) and row.comment == "复核后改为满分"
    with pytest.raises(NotFound):
        scoring.submit_score(
            db,
            actor=as_expert(a),
            panel_id=panel.id,
            application_id=999_999,
            scores=full_scores(),
            comment="不存在的申请",
        )
    outsider = make_expert(db)
    with pytest.raises(Forbidden):
        submit(outsider, full_scores())
    invited = make_expert(db)
    operator = actor(world, "operator")
    panels.recuse(db, actor=operator, panel_id=panel.id, reason="测试替换", expert_id=b.user_id)
    # b recused: b's seat is gone, and a later candidate (none here) would start invited
    with pytest.raises(Forbidden):
        submit(b, full_scores())
    assert invited.user_id not in panel.candidates


def test_an_unconfirmed_member_cannot_score(db: Session, world: World, settings: Settings) -> None:
    model = make_model(db, world.org_a)
    expert = make_expert(db)
    ready = ready_challenge(db, world, model_id=model, data_dir=settings.data_dir)
    panel = panels.draw_panel(
        db, actor=actor(world, "operator"), challenge_id=ready.challenge.id, size=1
    )
    with pytest.raises(Conflict):
        scoring.submit_score(
            db,
            actor=as_expert(expert),
            panel_id=panel.id,
            application_id=ready.applications[0].id,
            scores=full_scores(),
            comment="未确认就评分",
        )


def test_scoring_after_the_deadline_waits_for_an_extension(
    db: Session, world: World, settings: Settings
) -> None:
    ready, panel, (a, _) = drawn(db, world, settings)
    operator = actor(world, "operator")
    panels.set_deadline(
        db, actor=operator, panel_id=panel.id, deadline=clock.now() - dt.timedelta(minutes=1)
    )
    kwargs = {
        "actor": as_expert(a),
        "panel_id": panel.id,
        "application_id": ready.applications[0].id,
        "scores": full_scores(),
        "comment": "截止后提交的评分",
    }
    with pytest.raises(Conflict):
        scoring.submit_score(db, **kwargs)  # type: ignore[arg-type]
    panels.set_deadline(
        db, actor=operator, panel_id=panel.id, deadline=clock.now() + dt.timedelta(days=1)
    )
    assert scoring.submit_score(db, **kwargs).total == pytest.approx(80.0)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        panels.set_deadline(db, actor=as_expert(a), panel_id=panel.id, deadline=None)


def test_closing_waits_for_every_confirmed_member_unless_forced(
    db: Session, world: World, settings: Settings
) -> None:
    ready, panel, (a, b) = drawn(db, world, settings, proposals=1)
    operator = actor(world, "operator")
    application = ready.applications[0].id
    scoring.submit_score(
        db,
        actor=as_expert(a),
        panel_id=panel.id,
        application_id=application,
        scores=full_scores(),
        comment="甲的评审意见",
    )
    with pytest.raises(Conflict) as waiting:
        scoring.close_panel(db, actor=operator, panel_id=panel.id)
    assert waiting.value.details == {"missing": {str(b.user_id): [application]}}
    with pytest.raises(Invalid):
        scoring.close_panel(db, actor=operator, panel_id=panel.id, force=True)
    with pytest.raises(Forbidden):
        scoring.close_panel(db, actor=as_expert(a), panel_id=panel.id, force=True, reason="x")
    closed = scoring.close_panel(
        db, actor=operator, panel_id=panel.id, force=True, reason="专家乙因病无法评分"
    )
    db.commit()
    assert closed.state is PanelState.closed and closed.closed_at is not None
    event = db.scalars(select(ChallengeEvent).where(ChallengeEvent.action == "panel_closed")).one()
    assert event.reason == "专家乙因病无法评分" and event.details["forced"] is True
    with pytest.raises(Conflict):
        scoring.submit_score(
            db,
            actor=as_expert(b),
            panel_id=panel.id,
            application_id=application,
            scores=full_scores(),
            comment="结束后才评分",
        )


def test_reminders_go_once_before_the_deadline_and_once_after(
    db: Session, world: World, settings: Settings
) -> None:
    ready, panel, (a, b) = drawn(db, world, settings, proposals=1)
    late = make_expert(db)
    operator = actor(world, "operator")
    # a scores everything; b is confirmed with work left; late is invited
    scoring.submit_score(
        db,
        actor=as_expert(a),
        panel_id=panel.id,
        application_id=ready.applications[0].id,
        scores=full_scores(),
        comment="按时完成的评分",
    )
    replacement = panels.recuse(
        db, actor=operator, panel_id=panel.id, reason="改派", expert_id=b.user_id
    )
    assert replacement is None  # every candidate of the panel's field was on it
    deadline = clock.now() + dt.timedelta(days=3)
    panels.set_deadline(db, actor=operator, panel_id=panel.id, deadline=deadline)
    db.commit()
    jobs = db.scalars(select(Job).where(Job.kind == panels.REMIND_JOB)).all()
    assert sorted(panels.aware(j.available_at) for j in jobs) == [
        deadline - panels.REMIND_BEFORE,
        deadline,
    ]
    assert all(j.payload == {"panel_id": panel.id} for j in jobs)

    def reminded() -> list[int]:
        return list(
            db.scalars(
                select(Notification.user_id)
                .where(Notification.kind.in_(["review_reminder", "review_overdue"]))
                .order_by(Notification.id)
            )
        )

    # a second panel member still to confirm
    _, panel2, (c, d) = drawn(db, world, settings, proposals=1)
    panels.set_deadline(db, actor=operator, panel_id=panel2.id, deadline=deadline)
    seat = panels.seat_of(panel2, d.user_id)
    assert seat is not None
    seat.state = panels.MemberState.invited  # d has not confirmed
    db.commit()
    assert late.user_id not in panel2.candidates

    early = deadline - dt.timedelta(hours=72)
    assert reminders.send_reminders(db, now=early) == 0
    before = deadline - dt.timedelta(hours=47)
    assert reminders.send_reminders(db, now=before) == 2  # c (scores left) and d (to confirm)
    assert reminders.send_reminders(db, now=before + dt.timedelta(hours=1)) == 0
    after = deadline + dt.timedelta(minutes=5)
    assert reminders.send_reminders(db, now=after) == 2
    assert reminders.send_reminders(db, now=after + dt.timedelta(hours=5)) == 0
    assert sorted(reminded()) == sorted([c.user_id, d.user_id] * 2)
    assert a.user_id not in reminded()  # finished: never reminded

    # the expert's queue: d confirms; c has work with its deadline
    sections = {s.key: s for s in queue.review_queue(db, actor=as_expert(d))}
    assert [i.link for i in sections["confirm"].items] == [f"/review/panels/{panel2.id}"]
    sections = {s.key: s for s in queue.review_queue(db, actor=as_expert(c))}
    assert sections["confirm"].items == []
    (item,) = sections["score"].items
    assert isinstance(item.detail, Text) and item.deadline is not None
    assert i18n.render(item.detail, "zh") == "待评分 1 份"
    assert i18n.render(item.detail, "en") == "1 left to score"


def test_the_reminder_job_reminds_once_past_the_deadline(
    db: Session, world: World, settings: Settings
) -> None:
    _, panel, (a, b) = drawn(db, world, settings, proposals=1)
    panels.set_deadline(
        db,
        actor=actor(world, "operator"),
        panel_id=panel.id,
        deadline=clock.now() - dt.timedelta(minutes=1),
    )
    db.commit()
    worker = Worker(db.get_bind(), kinds=[panels.REMIND_JOB], data_dir=settings.data_dir)  # type: ignore[arg-type]
    runs = 0
    while worker.run_once():
        runs += 1
    assert runs == 2  # the 48-hour mark and the deadline, both past: due at once
    db.expire_all()
    reminded = db.scalars(
        select(Notification.user_id).where(
            Notification.kind.in_(["review_reminder", "review_overdue"])
        )
    ).all()
    assert sorted(reminded) == sorted([a.user_id, b.user_id])

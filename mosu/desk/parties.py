"""The desks of the parties to a challenge: the supplier (供给方) and the demand side
(需求方), each reading its own organisation's rows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mosu import i18n
from mosu.board.models import Interest
from mosu.board.service import opportunities
from mosu.challenges.models import (
    Application,
    Challenge,
    ChallengeState,
    Entry,
    EntryState,
    Stage,
    StageState,
)
from mosu.core import clock
from mosu.core.text import Text
from mosu.desk.operator import counted
from mosu.desk.schemas import LIMIT, DeskItem, DeskSection
from mosu.i18n import N_
from mosu.permissions import Actor
from mosu.race.submissions import quota
from mosu.scenarios.models import Scenario


def my_applications(session: Session, organisation_id: int) -> DeskSection:
    rows, n = counted(
        session,
        select(Application.id, Application.state, Challenge.title, Application.created_at)
        .join(Challenge, Challenge.id == Application.challenge_id)
        .where(Application.organisation_id == organisation_id)
        .order_by(Application.created_at.desc()),
    )
    items = [
        DeskItem(title=title, link=f"/applications/{aid}", badge=state, when=clock.local(at))
        for aid, state, title, at in rows
    ]
    return DeskSection(key="applications", title=N_("我的揭榜申请"), count=n, items=items)


def my_races(session: Session, organisation_id: int) -> tuple[DeskSection, DeskSection]:
    """(the open stages my entries may submit to, with the submissions left; the deadlines
    of my challenges' stages not yet closed)."""
    rows = list(
        session.execute(
            select(Entry, Stage, Challenge.title)
            .join(Challenge, Challenge.id == Entry.challenge_id)
            .join(Stage, Stage.challenge_id == Challenge.id)
            .where(
                Entry.organisation_id == organisation_id,
                Entry.state == EntryState.active,
                Challenge.state == ChallengeState.racing,
                Stage.state != StageState.closed,
            )
            .order_by(Stage.closes_at)
        )
    )
    now = clock.now()
    open_rows = [(e, s, t) for e, s, t in rows if s.opens_at <= now][:LIMIT]
    submissions = []
    for entry, stage, title in open_rows:
        left = quota(session, stage, entry, now).left
        submissions.append(
            DeskItem(
                title=f"{title} · {stage.name}",
                link=f"/challenges/{stage.challenge_id}/race#stage-{stage.id}",
                detail=Text(N_("还可提交 {n} 次"), {"n": left}),
                when=clock.local(stage.closes_at),
                urgent=left == 0,
            )
        )
    deadlines = [
        DeskItem(
            title=f"{t} · {s.name}",
            link=f"/challenges/{s.challenge_id}/race",
            detail=Text(N_("截止提交") if s.opens_at <= now else N_("开放提交")),
            when=clock.local(s.closes_at if s.opens_at <= now else s.opens_at),
        )
        for _e, s, t in rows[:LIMIT]
    ]
    return (
        DeskSection(
            key="submissions", title=N_("我的赛马提交"), count=len(open_rows), items=submissions
        ),
        DeskSection(key="deadlines", title=N_("截止时间"), count=len(rows), items=deadlines),
    )


def fitting_opportunities(
    session: Session, actor: Actor, organisation_id: int, lang: i18n.Language = "zh"
) -> DeskSection:
    """The matching engine's scenarios for the organisation (those it has not yet marked),
    with their reasons in ``lang``."""
    found = [
        m
        for m in opportunities(
            session, actor=actor, organisation_id=organisation_id, k=LIMIT * 2, lang=lang
        )
        if not m.interested
    ]
    items = [
        DeskItem(
            title=m.title,
            link=f"/scenarios/{m.scenario_id}",
            detail=("；" if lang == "zh" else "; ").join(m.reasons[:4]),
        )
        for m in found[:LIMIT]
    ]
    return DeskSection(
        key="opportunities",
        title=N_("适合我的场景"),
        count=len(found),
        items=items,
        link="/opportunities",
        empty=N_("暂无匹配的场景"),
    )


def supplier_sections(
    session: Session, actor: Actor, organisation_id: int, lang: i18n.Language = "zh"
) -> list[DeskSection]:
    submissions, deadlines = my_races(session, organisation_id)
    return [
        my_applications(session, organisation_id),
        submissions,
        deadlines,
        fitting_opportunities(session, actor, organisation_id, lang),
    ]


def demand_sections(session: Session, organisation_id: int) -> list[DeskSection]:
    interest = (
        select(func.count(Interest.id)).where(Interest.scenario_id == Scenario.id).scalar_subquery()
    )
    scenarios, n_scenarios = counted(
        session,
        select(Scenario.id, Scenario.title, Scenario.status, interest)
        .where(Scenario.organisation_id == organisation_id)
        .order_by(Scenario.created_at.desc()),
    )
    received, n_received = counted(
        session,
        select(Scenario.id, Scenario.title, Interest.organisation_id, Interest.created_at)
        .join(Interest, Interest.scenario_id == Scenario.id)
        .where(Scenario.organisation_id == organisation_id)
        .order_by(Interest.created_at.desc()),
    )
    challenges, n_challenges = counted(
        session,
        select(Challenge.id, Challenge.title, Challenge.state, Challenge.valid_until)
        .where(Challenge.organisation_id == organisation_id)
        .order_by(Challenge.created_at.desc()),
    )
    return [
        DeskSection(
            key="scenarios",
            title=N_("我的场景"),
            count=n_scenarios,
            link="/scenarios/new",
            items=[
                DeskItem(
                    title=t,
                    link=f"/scenarios/{sid}",
                    badge=status,
                    detail=Text(N_("{k} 个意向"), {"k": k}),
                )
                for sid, t, status, k in scenarios
            ],
        ),
        DeskSection(
            key="interest",
            title=N_("收到的承接意向"),
            count=n_received,
            items=[
                DeskItem(title=t, link=f"/scenarios/{sid}/matches", when=clock.local(at))
                for sid, t, _org, at in received
            ],
        ),
        DeskSection(
            key="challenges",
            title=N_("我的榜单"),
            count=n_challenges,
            items=[
                DeskItem(title=t, link=f"/challenges/{cid}", badge=state)
                for cid, t, state, _until in challenges
            ],
        ),
    ]

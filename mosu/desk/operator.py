"""The operator's desk (运营方工作台): decisions waiting, reviews, panels, closing stages,
failures and interest on the board. One statement per section: the rows shown and, by a
window count, how many there are in all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mosu.board.models import Interest
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    Stage,
    StageState,
    Submission,
    SubmissionState,
)
from mosu.core import clock
from mosu.core.money import fmt_yuan
from mosu.core.text import Text
from mosu.desk.schemas import LIMIT, DeskItem, DeskSection
from mosu.i18n import N_
from mosu.jobs.models import Job, JobState
from mosu.race.stages import SUBMISSION_JOB
from mosu.review.models import MemberState, Panel, PanelMember, PanelState
from mosu.scenarios.models import Scenario, ScenarioStatus
from mosu.supply.models import ApplicationStatus, VoucherApplication

CLOSING_WITHIN = dt.timedelta(hours=72)


def counted(session: Session, query: Select[*tuple[Any, ...]]) -> tuple[list[Any], int]:
    """The first :data:`LIMIT` rows of ``query`` and how many rows it has in all, in one
    statement (the count rides on each row as a window)."""
    rows = list(session.execute(query.add_columns(func.count().over()).limit(LIMIT)))
    return [tuple(r)[:-1] for r in rows], (int(tuple(rows[0])[-1]) if rows else 0)


def applications_to_decide(session: Session) -> DeskSection:
    rows, n = counted(
        session,
        select(Application.id, Application.created_at, Challenge.id, Challenge.title)
        .join(Challenge, Challenge.id == Application.challenge_id)
        .where(Application.state == ApplicationState.submitted)
        .order_by(Application.created_at),
    )
    items = [
        DeskItem(
            title=title,
            link=f"/applications/{app_id}",
            detail=Text(N_("申请 #{id}"), {"id": app_id}),
            when=clock.local(at),
        )
        for app_id, at, _cid, title in rows
    ]
    return DeskSection(key="applications", title=N_("待审核的揭榜申请"), count=n, items=items)


def voucher_reviews(session: Session) -> DeskSection:
    rows, n = counted(
        session,
        select(
            VoucherApplication.id,
            VoucherApplication.applicant_name,
            VoucherApplication.requested_fen,
            VoucherApplication.status,
            VoucherApplication.created_at,
        )
        .where(
            VoucherApplication.status.in_([ApplicationStatus.submitted, ApplicationStatus.claimed])
        )
        .order_by(VoucherApplication.created_at),
    )
    items = [
        DeskItem(
            title=name,
            link=f"/supply/applications/{vid}",
            detail=(
                Text(N_("申请 {amount}"), {"amount": fmt_yuan(fen)})
                if status is ApplicationStatus.submitted
                else Text(N_("已申请兑付"))
            ),
            when=clock.local(at),
        )
        for vid, name, fen, status, at in rows
    ]
    return DeskSection(
        key="vouchers",
        title=N_("待审核的券申请"),
        count=n,
        items=items,
        link="/supply/applications",
    )


def panels_incomplete(session: Session) -> DeskSection:
    confirmed = (
        select(func.count(PanelMember.id))
        .where(PanelMember.panel_id == Panel.id, PanelMember.state == MemberState.confirmed)
        .scalar_subquery()
    )
    rows, n = counted(
        session,
        select(Panel.challenge_id, Challenge.title, Panel.size, confirmed, Panel.deadline)
        .join(Challenge, Challenge.id == Panel.challenge_id)
        .where(Panel.state == PanelState.open)
        .order_by(Panel.deadline),
    )
    now = clock.now()
    items = [
        DeskItem(
            title=title,
            link=f"/challenges/{cid}/panel",
            detail=Text(N_("已确认专家 {sure}/{size}"), {"sure": sure, "size": size}),
            when=clock.local(deadline) if deadline else None,
            urgent=deadline is not None and deadline < now,
        )
        for cid, title, size, sure, deadline in rows
    ]
    return DeskSection(key="panels", title=N_("未完成的评审组"), count=n, items=items)


def stages_closing(session: Session) -> DeskSection:
    now = clock.now()
    rows, n = counted(
        session,
        select(Stage.challenge_id, Challenge.title, Stage.name, Stage.closes_at)
        .join(Challenge, Challenge.id == Stage.challenge_id)
        .where(Stage.state != StageState.closed, Stage.closes_at <= now + CLOSING_WITHIN)
        .order_by(Stage.closes_at),
    )
    items = [
        DeskItem(
            title=title,
            link=f"/challenges/{cid}/race",
            detail=name,
            when=clock.local(closes),
            urgent=closes <= now,
        )
        for cid, title, name, closes in rows
    ]
    return DeskSection(key="stages", title=N_("72 小时内截止的赛马阶段"), count=n, items=items)


def failures(session: Session) -> DeskSection:
    """Failed race submissions (on their race page) and other failed jobs."""
    subs, n_subs = counted(
        session,
        select(Submission.id, Stage.challenge_id, Challenge.title, Submission.finished_at)
        .join(Stage, Stage.id == Submission.stage_id)
        .join(Challenge, Challenge.id == Stage.challenge_id)
        .where(Submission.state == SubmissionState.failed)
        .order_by(Submission.id.desc()),
    )
    jobs, n_jobs = counted(
        session,
        select(Job.id, Job.kind, Job.error, Job.finished_at)
        .where(Job.state == JobState.failed, Job.kind != SUBMISSION_JOB)
        .order_by(Job.id.desc()),
    )
    items = [
        DeskItem(
            title=title,
            link=f"/challenges/{cid}/race",
            detail=Text(N_("提交 #{id} 失败"), {"id": sid}),
            when=clock.local(at) if at else None,
        )
        for sid, cid, title, at in subs
    ] + [
        DeskItem(
            title=f"{kind} #{jid}",
            link="/desk#failures",
            detail=(error or "")[:200],
            when=clock.local(at) if at else None,
        )
        for jid, kind, error, at in jobs
    ]
    return DeskSection(
        key="failures", title=N_("失败的提交与任务"), count=n_subs + n_jobs, items=items
    )


def interest_waiting(session: Session) -> DeskSection:
    rows, n = counted(
        session,
        select(Scenario.id, Scenario.title, func.count(Interest.id), func.max(Interest.created_at))
        .join(Interest, Interest.scenario_id == Scenario.id)
        .where(Scenario.status == ScenarioStatus.open)
        .group_by(Scenario.id, Scenario.title)
        .order_by(func.max(Interest.created_at).desc()),
    )
    items = [
        DeskItem(
            title=title,
            link=f"/scenarios/{sid}/matches",
            detail=Text(N_("{k} 家供给方有意承接"), {"k": k}),
            when=clock.local(at),
        )
        for sid, title, k, at in rows
    ]
    return DeskSection(key="interest", title=N_("等待对接的场景意向"), count=n, items=items)


def operator_sections(session: Session) -> list[DeskSection]:
    return [
        applications_to_decide(session),
        voucher_reviews(session),
        panels_incomplete(session),
        stages_closing(session),
        failures(session),
        interest_waiting(session),
    ]

"""Reminders to panel members (评审提醒): 48 hours before the panel's deadline, and once
after it passes, each member who has not confirmed or not finished scoring gets an in-app
notification. ``PanelMember.reminded_at`` keeps each reminder to once per deadline: the
reminder before is sent unless one was sent since the 48-hour mark, the reminder after
unless one was sent since the deadline. Extending the deadline starts both again.

The job ``review.remind`` is queued for both moments when a deadline is set
(:func:`mosu.review.panels.schedule_reminders`); :func:`send_reminders` does the work and
can be called by anyone holding a session (the CLI, tests).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.core import clock
from mosu.jobs.worker import JobContext, handler
from mosu.notifications.kinds import when
from mosu.notifications.service import notify
from mosu.review.errors import (
    REMINDERS_NEED_ENGINE,
)
from mosu.review.models import MemberState, Panel, PanelState
from mosu.review.panels import (
    REMIND_BEFORE,
    REMIND_JOB,
    aware,
)
from mosu.review.scoring import unscored


def pending_members(session: Session, panel: Panel) -> list[int]:
    """Members who have not confirmed, or confirmed and have applications left to score."""
    missing = unscored(session, panel)
    return [
        m.expert_id
        for m in panel.members
        if m.state is MemberState.invited
        or (m.state is MemberState.confirmed and m.expert_id in missing)
    ]


def remind_panel(session: Session, panel: Panel, *, now: dt.datetime | None = None) -> int:
    """Send the reminders now due for one panel; how many were sent."""
    if panel.state is not PanelState.open or panel.deadline is None:
        return 0
    moment = now or clock.now()
    deadline = aware(panel.deadline)
    mark = deadline - REMIND_BEFORE if moment < deadline else deadline
    if moment < mark:
        return 0
    pending = set(pending_members(session, panel))
    after = moment >= deadline
    sent = 0
    for member in panel.members:
        if member.expert_id not in pending:
            continue
        if member.reminded_at is not None and aware(member.reminded_at) >= mark:
            continue
        invited = member.state is MemberState.invited
        notify(
            session,
            user_ids=[member.expert_id],
            kind="review_overdue" if after else "review_reminder",
            params={
                "challenge": panel.challenge.title,
                "deadline_at": when(deadline),
                "task_zh": "确认无利益冲突" if invited else "完成评分",
                "task_en": "confirm no conflict of interest" if invited else "finish scoring",
            },
            link=f"/review/panels/{panel.id}",
        )
        member.reminded_at = moment
        sent += 1
    session.flush()
    return sent


def send_reminders(session: Session, *, now: dt.datetime | None = None) -> int:
    """Send every open panel's reminders now due; how many were sent."""
    panels = session.scalars(
        select(Panel).where(Panel.state == PanelState.open, Panel.deadline.is_not(None))
    )
    return sum(remind_panel(session, panel, now=now) for panel in panels)


@handler(REMIND_JOB)
def remind_job(ctx: JobContext) -> dict[str, Any]:
    """Remind the members of the payload's panel (queued for 48 h before and at its deadline)."""
    if ctx.engine is None:
        raise REMINDERS_NEED_ENGINE()
    with Session(ctx.engine) as session:
        panel = session.get(Panel, int(ctx.payload["panel_id"]))
        sent = remind_panel(session, panel) if panel is not None else 0
        session.commit()
    return {"sent": sent}


__all__ = ["pending_members", "remind_job", "remind_panel", "send_reminders"]

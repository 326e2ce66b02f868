"""Deadline reminders (截止提醒): 24 hours before a race stage closes, each team still racing
hears when; 24 hours before a challenge's application window closes, each organisation that
showed interest in its scenario and has not applied hears when. Each reminder is sent once
per deadline (a notice's ``dedupe_key``), however often the job runs; a moved deadline is
reminded again.

The job ``race.deadline_reminders`` is queued when a challenge is published and when a
stage's close is scheduled (:mod:`mosu.challenges.deadlines`); :func:`send_due` does the work.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mosu.board.models import Interest
from mosu.challenges.deadlines import DEADLINE_JOB, REMIND_AHEAD, applications_close_at
from mosu.challenges.models import (
    Application,
    ApplicationState,
    Challenge,
    ChallengeState,
    EntryState,
    Stage,
    StageState,
)
from mosu.core import clock
from mosu.jobs.worker import JobContext, handler
from mosu.notifications.kinds import when
from mosu.notifications.service import notify
from mosu.race.entries import entries_of
from mosu.race.errors import (
    NEEDS_ENGINE,
)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _due(deadline: dt.datetime, now: dt.datetime) -> bool:
    return deadline - REMIND_AHEAD <= now < deadline


def remind_stages(session: Session, now: dt.datetime) -> int:
    """Remind the teams of every racing stage that closes within 24 hours."""
    sent = 0
    stages = session.scalars(
        select(Stage)
        .join(Challenge, Challenge.id == Stage.challenge_id)
        .where(Challenge.state == ChallengeState.racing, Stage.state != StageState.closed)
    )
    for stage in stages:
        closes = _aware(stage.closes_at)
        if not _due(closes, now):
            continue
        challenge = stage.challenge
        for entry in entries_of(session, challenge.id):
            if entry.state is not EntryState.active or entry.organisation_id is None:
                continue
            sent += len(
                notify(
                    session,
                    organisation_id=entry.organisation_id,
                    kind="stage_closing_soon",
                    params={
                        "challenge": challenge.title,
                        "stage": stage.name,
                        "closes_at": when(closes),
                    },
                    link=f"/challenges/{challenge.id}/race",
                    dedupe_key=f"stage:{stage.id}:{closes.isoformat()}",
                )
            )
    return sent


def remind_applications(session: Session, now: dt.datetime) -> int:
    """Remind the interested organisations that have not applied, for every challenge whose
    application window closes within 24 hours."""
    sent = 0
    for challenge in session.scalars(
        select(Challenge).where(Challenge.state == ChallengeState.open)
    ):
        closes = applications_close_at(challenge)
        if not _due(closes, now):
            continue
        applied = set(
            session.scalars(
                select(Application.organisation_id).where(
                    Application.challenge_id == challenge.id,
                    Application.state != ApplicationState.withdrawn,
                )
            )
        )
        interested = session.scalars(
            select(Interest.organisation_id).where(Interest.scenario_id == challenge.scenario_id)
        )
        for organisation_id in sorted(set(interested) - applied):
            sent += len(
                notify(
                    session,
                    organisation_id=organisation_id,
                    kind="applications_closing_soon",
                    params={"challenge": challenge.title, "closes_at": when(closes)},
                    link=f"/challenges/{challenge.id}/apply",
                    dedupe_key=f"applications:{challenge.id}:{closes.isoformat()}",
                )
            )
    return sent


def send_due(session: Session, *, now: dt.datetime | None = None) -> int:
    """Send every deadline reminder now due; how many notices were written."""
    moment = now or clock.now()
    return remind_stages(session, moment) + remind_applications(session, moment)


@handler(DEADLINE_JOB)
def deadline_job(ctx: JobContext) -> dict[str, Any]:
    """Send the deadline reminders now due (queued 24 h before each deadline)."""
    if ctx.engine is None:
        raise NEEDS_ENGINE()
    with Session(ctx.engine) as session:
        sent = send_due(session)
        session.commit()
    return {"sent": sent}


__all__ = ["deadline_job", "remind_applications", "remind_stages", "send_due"]

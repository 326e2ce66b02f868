"""Deadline reminders (截止提醒) are queued here: 24 hours before a challenge's application
window closes and before each race stage closes, a ``race.deadline_reminders`` job runs
(:mod:`mosu.race.deadlines` handles it and sends each reminder once)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from mosu.challenges.models import Challenge
from mosu.core import clock
from mosu.jobs import queue

DEADLINE_JOB = "race.deadline_reminders"
REMIND_AHEAD = dt.timedelta(hours=24)
REMINDER_PRIORITY = -1
"""Below submissions (0): a reminder never stands ahead of a team's submission in the queue."""


def applications_close_at(challenge: Challenge) -> dt.datetime:
    """When the application window closes: the end of ``valid_until`` in Beijing time."""
    end = dt.datetime.combine(challenge.valid_until + dt.timedelta(days=1), dt.time())
    return end.replace(tzinfo=clock.SHANGHAI).astimezone(dt.UTC)


def schedule_reminder(session: Session, deadline: dt.datetime) -> None:
    """Queue the reminder job for 24 hours before ``deadline`` (at once if that is past)."""
    aware = deadline if deadline.tzinfo else deadline.replace(tzinfo=dt.UTC)
    job = queue.enqueue(session, kind=DEADLINE_JOB, priority=REMINDER_PRIORITY)
    job.available_at = max(aware - REMIND_AHEAD, clock.now())

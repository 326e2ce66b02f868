"""Notices (通知): one service writes them, for users or an organisation's users, and a user
reads and marks only their own.

:func:`notify` stores each notice's kind and parameters (rendered in the reader's language
by :mod:`mosu.notifications.kinds`), decides its e-mail by the recipient's address and
preferences, and queues the mail job (or the daily digest) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mosu.accounts.errors import NO_SUCH_USER
from mosu.accounts.models import NoticePreference, Notification, User
from mosu.core import clock
from mosu.jobs import queue
from mosu.jobs.models import Job, JobState
from mosu.notifications.errors import NO_SUCH_NOTIFICATION
from mosu.notifications.kinds import TOPICS, Language, Topic, render, topic_of
from mosu.permissions import Actor

LATEST = 100
MAIL_JOB = "notices.mail"
DIGEST_JOB = "notices.digest"
DIGEST_HOUR = 8
"""The daily digest goes out at 08:00 Beijing time."""
MAIL_ATTEMPTS = 5


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class Choice(BaseModel):
    """A user's e-mail choice for one topic: each notice, the daily digest, or none."""

    topic: Topic
    email: bool = True
    digest: bool = False


def notice_text(n: Notification, language: Language) -> tuple[str, str]:
    """A notice's title and body in ``language``; an old row's stored text as it is."""
    if n.params is None:
        return n.title, n.body
    return render(n.kind, n.params, language)


def notification_out(n: Notification, language: Language = "zh") -> NotificationOut:
    title, body = notice_text(n, language)
    return NotificationOut(
        id=n.id,
        kind=n.kind,
        title=title,
        body=body,
        link=n.link,
        created_at=n.created_at,
        read_at=n.read_at,
    )


def choices(session: Session, user_id: int) -> dict[Topic, Choice]:
    """The user's e-mail choice for every topic (e-mail each notice unless they chose)."""
    saved = {
        p.topic: p
        for p in session.scalars(
            select(NoticePreference).where(NoticePreference.user_id == user_id)
        )
    }
    out: dict[Topic, Choice] = {}
    for topic in TOPICS:
        row = saved.get(topic)
        out[topic] = Choice(
            topic=topic, email=row.email if row else True, digest=row.digest if row else False
        )
    return out


def _email_state(user: User, choice: Choice | None) -> str | None:
    if not user.email:
        return None
    if choice is not None and not choice.email:
        return "off"
    return "digest" if choice is not None and choice.digest else "pending"


def _recipients(
    session: Session, user_ids: Iterable[int], organisation_id: int | None
) -> list[User]:
    ids = set(user_ids)
    stmt = select(User).where(User.is_active.is_(True))
    if organisation_id is not None:
        stmt = stmt.where((User.organisation_id == organisation_id) | User.id.in_(ids))
    else:
        stmt = stmt.where(User.id.in_(ids))
    return list(session.scalars(stmt.order_by(User.id)))


def notify(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    link: str = "",
    user_ids: Iterable[int] = (),
    organisation_id: int | None = None,
    skip_user_id: int | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Write one notice of ``kind`` to each active user among ``user_ids`` and the users of
    ``organisation_id`` (but not ``skip_user_id``, the one who acted). With ``dedupe_key`` a
    user who already has a notice under that key gets none (a reminder is sent once).
    The notices' e-mail is queued as the recipients chose; the written notices are returned."""
    topic = topic_of(kind)
    users = [u for u in _recipients(session, user_ids, organisation_id) if u.id != skip_user_id]
    if dedupe_key is not None and users:
        done = set(
            session.scalars(
                select(Notification.user_id).where(
                    Notification.dedupe_key == dedupe_key,
                    Notification.user_id.in_([u.id for u in users]),
                )
            )
        )
        users = [u for u in users if u.id not in done]
    written = []
    for user in users:
        choice = choices(session, user.id).get(topic) if topic else None
        row = Notification(
            user_id=user.id,
            kind=kind,
            title="",
            body="",
            params=params,
            link=link,
            dedupe_key=dedupe_key,
            email_state=_email_state(user, choice),
            email_attempts=0,
            email_error="",
        )
        session.add(row)
        written.append(row)
    session.flush()
    states = {n.email_state for n in written}
    if "pending" in states:
        ensure_job(session, MAIL_JOB)
    if "digest" in states:
        ensure_job(session, DIGEST_JOB, at=next_digest())
    return written


def next_digest(now: dt.datetime | None = None) -> dt.datetime:
    """The next daily digest moment (08:00 Beijing time), in UTC."""
    local = (now or clock.now()).astimezone(clock.SHANGHAI)
    moment = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if moment <= local:
        moment += dt.timedelta(days=1)
    return moment.astimezone(dt.UTC)


def ensure_job(session: Session, kind: str, *, at: dt.datetime | None = None) -> Job:
    """The queued job of ``kind`` (one is enough: it sends every notice waiting), else a
    new one available from ``at``."""
    job = session.scalars(
        select(Job).where(Job.kind == kind, Job.state == JobState.queued).limit(1)
    ).first()
    if job is None:
        job = queue.enqueue(session, kind=kind, max_attempts=MAIL_ATTEMPTS)
        if at is not None:
            job.available_at = at
        session.flush()
    return job


def save_choices(
    session: Session,
    *,
    actor: Actor,
    email: str | None,
    language: Language,
    wanted: Iterable[Choice],
) -> None:
    """The signed-in user's e-mail address, e-mail language and per-topic choices."""
    user = session.get(User, actor.user_id)
    if user is None:
        raise NO_SUCH_USER(user=actor.user_id)
    user.email = email or None
    user.language = language
    existing = {
        p.topic: p
        for p in session.scalars(
            select(NoticePreference).where(NoticePreference.user_id == user.id)
        )
    }
    for choice in wanted:
        row = existing.get(choice.topic)
        if row is None:
            row = NoticePreference(user_id=user.id, topic=choice.topic)
            session.add(row)
        row.email = choice.email
        row.digest = choice.digest
    session.flush()


def list_notifications(
    session: Session, *, actor: Actor, unread_only: bool = False
) -> list[Notification]:
    """The actor's latest notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(
        session.scalars(stmt.order_by(Notification.id.desc()).limit(LATEST)),
    )


def unread_count(session: Session, *, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(session: Session, *, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; anyone else's does not exist for them."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != actor.user_id:
        raise NO_SUCH_NOTIFICATION(notification_id=notification_id)
    if row.read_at is None:
        row.read_at = clock.now()
    session.flush()
    return row


def mark_all_read(session: Session, *, actor: Actor) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def user_language(session: Session, user_id: int | None) -> Language:
    """The language a user's e-mails and API answers are in."""
    user = session.get(User, user_id) if user_id is not None else None
    return "en" if user is not None and user.language == "en" else "zh"


def delete_read_before(session: Session, *, before: dt.datetime) -> int:
    """Delete the notifications read before ``before`` (the retention clean-up); how many."""
    result = session.execute(
        delete(Notification).where(Notification.read_at.is_not(None), Notification.read_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

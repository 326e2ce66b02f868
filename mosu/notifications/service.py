"""Notification rules: a user reads and marks only their own notifications."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mosu.accounts.models import Notification, User
from mosu.core import clock
from mosu.core.errors import NotFound
from mosu.permissions import Actor

LATEST = 100


class NotificationOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


def notification_out(n: Notification) -> NotificationOut:
    return NotificationOut.model_validate(n, from_attributes=True)


def notify_organisation(
    session: Session,
    *,
    organisation_id: int,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    skip_user_id: int | None = None,
) -> int:
    """One notification for each active user of an organisation; how many were written."""
    users = session.scalars(
        select(User.id).where(User.organisation_id == organisation_id, User.is_active.is_(True))
    ).all()
    written = 0
    for user_id in users:
        if user_id == skip_user_id:
            continue
        session.add(Notification(user_id=user_id, kind=kind, title=title, body=body, link=link))
        written += 1
    session.flush()
    return written


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
        raise NotFound(f"通知 {notification_id} 不存在 / notification {notification_id} not found")
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


def delete_read_before(session: Session, *, before: dt.datetime) -> int:
    """Delete the notifications read before ``before`` (the retention clean-up); how many."""
    result = session.execute(
        delete(Notification).where(Notification.read_at.is_not(None), Notification.read_at < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

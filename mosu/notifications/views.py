"""Notification views: the signed-in user's own inbox, as the API and the page show it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mosu.notifications import service
from mosu.notifications.service import NotificationOut
from mosu.permissions import Actor


def inbox(session: Session, *, actor: Actor, unread_only: bool = False) -> list[NotificationOut]:
    """站内通知 of the actor, newest first (the latest ones only)."""
    rows = service.list_notifications(session, actor=actor, unread_only=unread_only)
    return [service.notification_out(n) for n in rows]

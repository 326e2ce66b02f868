"""Notifications API under ``/api/v1/notifications``: the signed-in user's own, in the
language of their e-mails."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from mosu.accounts.deps import SignedInActor
from mosu.deps import SessionDep
from mosu.notifications import service, views
from mosu.notifications.service import NotificationOut

router = APIRouter(prefix="/notifications", tags=["notifications"])


class Marked(BaseModel):
    marked: int


@router.get("")
def list_notifications(
    session: SessionDep, actor: SignedInActor, unread: bool = False
) -> list[NotificationOut]:
    language = service.user_language(session, actor.user_id)
    return views.inbox(session, actor=actor, unread_only=unread, language=language)


@router.post("/{notification_id}/read")
def read_notification(
    session: SessionDep, actor: SignedInActor, notification_id: int
) -> NotificationOut:
    row = service.mark_read(session, actor=actor, notification_id=notification_id)
    session.commit()
    return service.notification_out(row, service.user_language(session, actor.user_id))


@router.post("/read-all")
def read_all(session: SessionDep, actor: SignedInActor) -> Marked:
    marked = service.mark_all_read(session, actor=actor)
    session.commit()
    return Marked(marked=marked)

"""Notification views: the signed-in user's own inbox and e-mail choices, as the API and the
pages show them (titles rendered in the reader's language, times in Beijing time)."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from mosu.accounts.errors import NO_SUCH_USER
from mosu.accounts.models import User
from mosu.notifications import service
from mosu.notifications.kinds import TOPIC_NAMES, TOPICS, Language, Topic
from mosu.notifications.service import Choice, NotificationOut
from mosu.permissions import Actor


def inbox(
    session: Session, *, actor: Actor, unread_only: bool = False, language: Language = "zh"
) -> list[NotificationOut]:
    """站内通知 of the actor, newest first (the latest ones only)."""
    rows = service.list_notifications(session, actor=actor, unread_only=unread_only)
    return [service.notification_out(n, language) for n in rows]


class TopicChoice(BaseModel):
    topic: Topic
    name_zh: str
    name_en: str
    email: bool
    digest: bool


class NoticeSettings(BaseModel):
    """What the notice settings page shows: the address, the e-mail language, and a choice
    per topic."""

    email: str
    language: Language
    topics: list[TopicChoice]


def notice_settings(session: Session, *, actor: Actor) -> NoticeSettings:
    user = session.get(User, actor.user_id)
    if user is None:
        raise NO_SUCH_USER(user=actor.user_id)
    chosen: dict[Topic, Choice] = service.choices(session, user.id)
    return NoticeSettings(
        email=user.email or "",
        language="en" if user.language == "en" else "zh",
        topics=[
            TopicChoice(
                topic=t,
                name_zh=TOPIC_NAMES[t][0],
                name_en=TOPIC_NAMES[t][1],
                email=chosen[t].email,
                digest=chosen[t].digest,
            )
            for t in TOPICS
        ],
    )

"""Account tables: users, web sessions, API tokens and each user's notifications."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.permissions import Role

if TYPE_CHECKING:  # the organisation a user belongs to; mapped by name, so accounts sit below
    from mosu.registry.models import Organisation


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    email: Mapped[str | None] = mapped_column(String(254))
    """Where notices are e-mailed (when the platform sends e-mail); optional."""
    language: Mapped[str] = mapped_column(String(8), default="zh", server_default="zh")
    """The language of the user's e-mails (zh or en); pages follow the visitor's choice."""

    organisation: Mapped[Organisation | None] = relationship("Organisation")


class WebSession(Base):
    """A browser login; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A bearer token for the API and CLI: shown once, stored hashed, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class LoginThrottle(Base):
    """Failed sign-ins under one key (an account or a client address) and how long the key
    is locked: kept in the database so that every web process sees the same counts."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    locked_until: Mapped[dt.datetime | None]


class Notification(Base):
    """A notice for one user (站内通知), with a link to where the thing is done.

    A notice written by :func:`mosu.notifications.service.notify` stores its ``kind`` and
    structured ``params``; its title and body are rendered in the reader's language when it
    is shown or e-mailed. Older rows (``params`` null) carry a stored ``title`` and ``body``.
    ``email_state`` follows its e-mail: null (none: no address), ``pending``, ``digest``
    (waits for the daily digest), ``sent``, ``off`` (the user turned it off), ``failed``
    (retries spent) or ``unsent`` (the platform sends no e-mail).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("uq_notifications_user_key", "user_id", "dedupe_key", unique=True),
        Index("ix_notifications_email_state", "email_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    email_state: Mapped[str | None] = mapped_column(String(16))
    email_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    email_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    emailed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    read_at: Mapped[dt.datetime | None]


class NoticePreference(Base):
    """A user's e-mail choice for one group of notices (in-app notices are always on):
    e-mail each notice, gather them in the daily digest, or no e-mail."""

    __tablename__ = "notice_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(20), primary_key=True)
    email: Mapped[bool] = mapped_column(default=True)
    digest: Mapped[bool] = mapped_column(default=False)

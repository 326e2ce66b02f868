"""The scenario table: a demand organisation's need, the start of the challenge flow."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.registry.models import Organisation


class ScenarioStatus(enum.StrEnum):
    """草稿 draft, 对接中 open for matching, 已发榜 turned into a challenge, 已关闭 closed."""

    draft = "draft"
    open = "open"
    published = "published"
    closed = "closed"


class Scenario(Base):
    """An application scenario (应用场景) posted by a demand organisation."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(100), default="", index=True)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_available: Mapped[str] = mapped_column(Text, default="")
    budget_min_yuan: Mapped[int | None] = mapped_column(Integer)
    budget_max_yuan: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(100), default="")
    deadline: Mapped[dt.date | None]
    status: Mapped[ScenarioStatus] = mapped_column(
        Enum(ScenarioStatus, native_enum=False, length=16, validate_strings=True),
        default=ScenarioStatus.open,
        index=True,
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship()

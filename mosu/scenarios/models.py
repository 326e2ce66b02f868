"""The scenario table: a demand organisation's need, the start of the challenge flow."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, BigInteger, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.core.money import Fen, whole_fen, whole_yuan
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
    budget_min_fen: Mapped[Fen | None] = mapped_column(BigInteger)
    budget_max_fen: Mapped[Fen | None] = mapped_column(BigInteger)
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

    @property
    def budget_min_yuan(self) -> int | None:
        """The budget's lower bound in whole yuan, as forms and the API give it."""
        return whole_yuan(self.budget_min_fen)

    @budget_min_yuan.setter
    def budget_min_yuan(self, yuan: int | None) -> None:
        self.budget_min_fen = whole_fen(yuan)

    @property
    def budget_max_yuan(self) -> int | None:
        """The budget's upper bound in whole yuan, as forms and the API give it."""
        return whole_yuan(self.budget_max_fen)

    @budget_max_yuan.setter
    def budget_max_yuan(self, yuan: int | None) -> None:
        self.budget_max_fen = whole_fen(yuan)

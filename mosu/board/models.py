"""Tables of the supply–demand board: case studies and interest in scenarios."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.registry.models import Organisation
from mosu.scenarios.models import Scenario


class CaseStudy(Base):
    """A project a supplier has delivered (落地案例): part of its capability profile."""

    __tablename__ = "case_studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    customer_type: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    organisation: Mapped[Organisation] = relationship()


class Interest(Base):
    """A supplier organisation's interest in a scenario (意向对接): one per pair."""

    __tablename__ = "scenario_interests"
    __table_args__ = (UniqueConstraint("scenario_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    scenario: Mapped[Scenario] = relationship()
    organisation: Mapped[Organisation] = relationship()

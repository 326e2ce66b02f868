"""Tables of the supply–demand board: interest in scenarios (case studies are an
organisation's, in :mod:`mosu.registry.models`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.core import clock
from mosu.core.db import Base
from mosu.registry.models import Organisation
from mosu.scenarios.models import Scenario


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

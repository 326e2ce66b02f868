"""Review tables: 专家评审, the expert pool, a challenge's published rubric, its panel, the
panel's scores, and experts grading sampled race answers.

An expert user carries an :class:`ExpertProfile` (fields, affiliation) and declared
:class:`ExpertConflict` lines. A challenge publishes a :class:`Rubric` (criteria with weights
summing to 100, a score range, blind or double-blind, the dispersion threshold and the
combined decision rule); it is fixed once applications open. The operator draws a
:class:`Panel` by a seeded shuffle of the eligible pool (recorded, so anyone can repeat it);
each :class:`PanelMember` confirms no conflict or recuses, and a recusal takes the next
expert in the recorded order. Members score each application per criterion
(:class:`ReviewScore`). For a race's generative stage a :class:`GradingRound` puts a seeded
sample of answers, blind to their entries, before the panel (:class:`GradingItem`,
:class:`Grade`), so the judge model's grades can be checked against people's.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mosu.accounts.models import User
from mosu.challenges.models import Application, Challenge, Stage, Submission
from mosu.core import clock
from mosu.core.db import Base
from mosu.registry.models import Organisation


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class ExpertProfile(Base):
    """An expert in the pool (专家库): fields of expertise, affiliation, title."""

    __tablename__ = "expert_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # tags from the scenarios' domain vocabulary (政务服务, 医疗健康 …)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    affiliation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(100), default="")  # 职称, e.g. 教授级高工
    in_pool: Mapped[bool] = mapped_column(Boolean, default=True)  # drawn from when true
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    user: Mapped[User] = relationship()
    affiliation: Mapped[Organisation | None] = relationship()
    conflicts: Mapped[list[ExpertConflict]] = relationship(
        primaryjoin="ExpertProfile.user_id == foreign(ExpertConflict.expert_id)",
        order_by="ExpertConflict.id",
        viewonly=True,
    )


class ExpertConflict(Base):
    """A conflict of interest an expert declared with an organisation (利益冲突声明)."""

    __tablename__ = "expert_conflicts"
    __table_args__ = (UniqueConstraint("expert_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    organisation: Mapped[Organisation] = relationship()


class Blinding(enum.StrEnum):
    """单盲: experts see who applied; 双盲: applicant names and members are masked."""

    single = "single"
    double = "double"


class Rubric(Base):
    """A challenge's published review rubric (评审细则) and its combined decision rule.

    ``criteria`` is a list of ``{"key", "name", "weight", "description"}`` with integer
    weights summing to 100; each criterion is scored from ``score_min`` to ``score_max``.
    ``combined`` (综合评分), when set, is ``{"review_weight", "race_weight", "normalise",
    "ties"}``. Fixed once the challenge opens for applications.
    """

    __tablename__ = "review_rubrics"

    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True
    )
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    score_min: Mapped[int] = mapped_column(Integer, default=0)
    score_max: Mapped[int] = mapped_column(Integer, default=10)
    blinding: Mapped[Blinding] = mapped_column(_enum(Blinding), default=Blinding.single)
    # a panel whose experts' totals (0–100) span more than this is flagged 分歧较大
    dispersion_threshold: Mapped[float] = mapped_column(Float, default=20.0)
    combined: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    challenge: Mapped[Challenge] = relationship()


class PanelState(enum.StrEnum):
    """评审中 open: members confirm and score; 已结束 closed: scores are final and shown."""

    open = "open"
    closed = "closed"


class Panel(Base):
    """A challenge's expert panel (评审专家组), drawn by a recorded seeded shuffle.

    ``candidates`` is the eligible pool in drawn order: the pool filtered by ``field`` with
    conflicts removed (``excluded`` names each removed expert and why), sorted by user id,
    then shuffled by ``random.Random(seed)``. The first ``size`` are the members; each
    recusal takes the next candidate not yet on the panel.
    """

    __tablename__ = "review_panels"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), unique=True
    )
    size: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(100), default="")  # "" draws from every field
    seed: Mapped[int] = mapped_column(BigInteger)
    candidates: Mapped[list[int]] = mapped_column(JSON, default=list)
    excluded: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # user id → reason
    deadline: Mapped[dt.datetime | None]
    state: Mapped[PanelState] = mapped_column(_enum(PanelState), default=PanelState.open)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    drawn_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[dt.datetime | None]

    challenge: Mapped[Challenge] = relationship()
    members: Mapped[list[PanelMember]] = relationship(
        back_populates="panel", order_by="PanelMember.position", cascade="all, delete-orphan"
    )


class MemberState(enum.StrEnum):
    """待确认 invited, 已确认无利益冲突 confirmed, 已回避 recused."""

    invited = "invited"
    confirmed = "confirmed"
    recused = "recused"


class PanelMember(Base):
    """One expert's seat on a panel; ``position`` is their index in the drawn order."""

    __tablename__ = "panel_members"
    __table_args__ = (UniqueConstraint("panel_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(
        ForeignKey("review_panels.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    state: Mapped[MemberState] = mapped_column(_enum(MemberState), default=MemberState.invited)
    answered_at: Mapped[dt.datetime | None]
    recusal_reason: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[dt.datetime | None]

    panel: Mapped[Panel] = relationship(back_populates="members")
    expert: Mapped[User] = relationship()


class ReviewScore(Base):
    """One expert's scores of one application, per criterion, with a comment.

    ``total`` is the weighted total on 0–100: Σ weight × (score − min) / (max − min).
    """

    __tablename__ = "review_scores"
    __table_args__ = (UniqueConstraint("panel_id", "expert_id", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(
        ForeignKey("review_panels.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)  # criterion key → score
    comment: Mapped[str] = mapped_column(Text, default="")
    total: Mapped[float] = mapped_column(Float)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    application: Mapped[Application] = relationship()


class GradingMode(enum.StrEnum):
    """评分: each answer graded on the criteria; 对比: two entries' answers compared."""

    rubric = "rubric"
    pairwise = "pairwise"


class GradingRound(Base):
    """Experts grade a seeded sample of a generative stage's answers (专家复核), blind to the
    entries, so their grades stand beside the automatic score and check the judge model.

    ``criteria`` is a list of ``{"key", "name", "description"}``, each graded from 0 to
    ``scale`` (the judge's scale); a judge whose agreement with the experts falls below
    ``min_agreement`` (Cohen's kappa, or the pairwise agreement rate) is flagged.
    """

    __tablename__ = "grading_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), index=True)
    mode: Mapped[GradingMode] = mapped_column(_enum(GradingMode))
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    scale: Mapped[int] = mapped_column(Integer, default=10)
    sample_size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    min_agreement: Mapped[float] = mapped_column(Float, default=0.4)
    state: Mapped[PanelState] = mapped_column(_enum(PanelState), default=PanelState.open)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[dt.datetime | None]

    stage: Mapped[Stage] = relationship()
    items: Mapped[list[GradingItem]] = relationship(
        back_populates="round", order_by="GradingItem.id", cascade="all, delete-orphan"
    )


class GradingItem(Base):
    """One sampled answer (or pair of answers) shown to experts under a blind ``code``."""

    __tablename__ = "grading_items"
    __table_args__ = (UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("grading_rounds.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(16))  # what experts see instead of the entry
    sample_id: Mapped[str] = mapped_column(String(200))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    # pairwise: the second answer; which one is shown first is part of the seeded draw
    other_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE")
    )

    round: Mapped[GradingRound] = relationship(back_populates="items")
    submission: Mapped[Submission] = relationship(foreign_keys=[submission_id])
    other_submission: Mapped[Submission | None] = relationship(foreign_keys=[other_submission_id])


class Grade(Base):
    """One expert's grade of one item: criterion scores, or a preference a / b / tie."""

    __tablename__ = "grades"
    __table_args__ = (UniqueConstraint("item_id", "expert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("grading_items.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    preference: Mapped[str | None] = mapped_column(String(8))  # "a", "b" or "tie"
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    item: Mapped[GradingItem] = relationship()

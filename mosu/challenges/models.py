"""Challenge tables: 揭榜挂帅 challenges, applications, and the 赛马 race that decides them.

A challenge (榜单) is published from a scenario. Organisations apply (揭榜); the operator
approves, then shortlists (入围) applications, each of which becomes an entry in the
challenge's race. The race runs in stages; each stage pins an evaluation task and a data
set version and cuts entries by a published rule. Every change of state is written to the
append-only :class:`ChallengeEvent` log.
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
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from mosu.challenges.errors import AUDIT_APPEND_ONLY
from mosu.core import clock
from mosu.core import text as catalogued
from mosu.core.db import Base, StoredText
from mosu.core.money import Fen, whole_fen, whole_yuan
from mosu.corpus.models import DatasetVersion
from mosu.registry.models import Organisation
from mosu.scenarios.models import Scenario


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, validate_strings=True)


class ChallengeKind(enum.StrEnum):
    """政府榜 a government list or 企业榜 an enterprise list."""

    government = "government"
    enterprise = "enterprise"


class ChallengeState(enum.StrEnum):
    """The challenge lifecycle; transitions are in :mod:`mosu.challenges.lifecycle`."""

    draft = "draft"  # 草稿
    open = "open"  # 待揭榜: open for applications
    shortlisting = "shortlisting"  # 入围评审
    racing = "racing"  # 赛马中
    decided = "decided"  # 揭榜成功
    delivery = "delivery"  # 攻关中
    accepted = "accepted"  # 已完成
    closed = "closed"  # 未揭榜关闭: closed without a winner


class Challenge(Base):
    """A published challenge (榜单) with its bounty, eligibility rules and race."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="RESTRICT"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[ChallengeKind] = mapped_column(_enum(ChallengeKind))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    bounty_fen: Mapped[Fen | None] = mapped_column(BigInteger)  # None: 面议 negotiable
    requirements: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[dt.date]
    valid_until: Mapped[dt.date]
    region: Mapped[str] = mapped_column(String(100), default="")
    issuer: Mapped[str] = mapped_column(String(200))
    require_filed_model: Mapped[bool] = mapped_column(Boolean, default=False)
    max_applications_per_org: Mapped[int] = mapped_column(Integer, default=1)
    shortlist_places: Mapped[int] = mapped_column(Integer, default=5)
    winner_places: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[ChallengeState] = mapped_column(
        _enum(ChallengeState), default=ChallengeState.draft, index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    scenario: Mapped[Scenario] = relationship()
    organisation: Mapped[Organisation] = relationship()
    events: Mapped[list[ChallengeEvent]] = relationship(
        back_populates="challenge", order_by="ChallengeEvent.id"
    )
    stages: Mapped[list[Stage]] = relationship(
        back_populates="challenge", order_by="Stage.position", cascade="all, delete-orphan"
    )

    @property
    def bounty_yuan(self) -> int | None:
        """The bounty in whole yuan, as forms and the API give it (``None``: 面议)."""
        return whole_yuan(self.bounty_fen)

    @bounty_yuan.setter
    def bounty_yuan(self, yuan: int | None) -> None:
        self.bounty_fen = whole_fen(yuan)


class ChallengeEvent(Base):
    """One line of a challenge's append-only audit log: who did what, when and why."""

    __tablename__ = "challenge_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(50))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    challenge: Mapped[Challenge] = relationship(back_populates="events")


class ApplicationState(enum.StrEnum):
    """已提交 submitted → 已通过 approved / 未通过 rejected → 入围 shortlisted; or withdrawn."""

    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    shortlisted = "shortlisted"
    withdrawn = "withdrawn"
    won = "won"  # 揭榜成功: named a winner at the decision
    not_selected = "not_selected"  # 未入选: shortlisted, not named at the decision


SHORTLISTED_STATES = frozenset(
    {ApplicationState.shortlisted, ApplicationState.won, ApplicationState.not_selected}
)
"""An application that was shortlisted (入围), before or after the decision."""
REVIEWED_STATES = SHORTLISTED_STATES | {ApplicationState.approved}
"""An application that passed the operator's review (and so is scored by a panel)."""


class Application(Base):
    """An application (揭榜) by a lead organisation, possibly with a consortium."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    proposal: Mapped[str] = mapped_column(Text, default="")
    proposal_file: Mapped[str | None] = mapped_column(String(300))  # under MOSU_DATA_DIR
    proposal_filename: Mapped[str] = mapped_column(String(200), default="")
    proposal_sha256: Mapped[str] = mapped_column(String(64), default="")
    proposal_size: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[ApplicationState] = mapped_column(
        _enum(ApplicationState), default=ApplicationState.submitted, index=True
    )
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    challenge: Mapped[Challenge] = relationship()
    organisation: Mapped[Organisation] = relationship()
    members: Mapped[list[ApplicationMember]] = relationship(
        back_populates="application",
        order_by="ApplicationMember.position",
        cascade="all, delete-orphan",
    )
    models: Mapped[list[ApplicationModel]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )


class ApplicationMember(Base):
    """A consortium member (联合体成员) of an application, besides the lead."""

    __tablename__ = "application_members"
    __table_args__ = (UniqueConstraint("application_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)

    application: Mapped[Application] = relationship(back_populates="members")
    organisation: Mapped[Organisation] = relationship()


class ApplicationModel(Base):
    """A registry model that an application will race."""

    __tablename__ = "application_models"
    __table_args__ = (UniqueConstraint("application_id", "model_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="RESTRICT"))

    application: Mapped[Application] = relationship(back_populates="models")


class SubmissionMode(enum.StrEnum):
    """端点 the platform calls the entry's endpoint; 预测文件 the entry uploads predictions."""

    endpoint = "endpoint"
    predictions = "predictions"


class CutRule(enum.StrEnum):
    """How a stage cuts entries: top k, a score threshold, or not significantly worse."""

    top_k = "top_k"
    threshold = "threshold"
    not_worse = "not_worse"


class StageState(enum.StrEnum):
    scheduled = "scheduled"
    open = "open"
    closed = "closed"


class Stage(Base):
    """A stage of a challenge's race (赛马阶段), with its task, data, window and cut rule."""

    __tablename__ = "stages"
    __table_args__ = (UniqueConstraint("challenge_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    task: Mapped[dict[str, Any]] = mapped_column(JSON)  # prompt, parser, scorers, primary …
    dataset_version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="RESTRICT")
    )
    mode: Mapped[SubmissionMode] = mapped_column(_enum(SubmissionMode))
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    cut_rule: Mapped[CutRule] = mapped_column(_enum(CutRule))
    cut_value: Mapped[float] = mapped_column(Float, default=0.0)  # k or threshold
    public_fraction: Mapped[float] = mapped_column(Float, default=0.5)
    split_seed: Mapped[int] = mapped_column(Integer, default=0)
    daily_limit: Mapped[int] = mapped_column(Integer, default=5)
    total_limit: Mapped[int] = mapped_column(Integer, default=20)
    max_selected: Mapped[int] = mapped_column(Integer, default=2)
    compute_pool_id: Mapped[int | None] = mapped_column(Integer)
    # an entry answering less than this share of the test is listed as incomplete, unranked
    min_coverage: Mapped[float] = mapped_column(Float, default=0.9, server_default="0.9")
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # scoring rule (race.rules)
    state: Mapped[StageState] = mapped_column(_enum(StageState), default=StageState.scheduled)
    closed_at: Mapped[dt.datetime | None]
    leaderboard_public: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    leaderboard_final: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    challenge: Mapped[Challenge] = relationship(back_populates="stages")
    dataset_version: Mapped[DatasetVersion] = relationship()


class EntryState(enum.StrEnum):
    active = "active"
    cut = "cut"
    winner = "winner"
    withdrawn = "withdrawn"
    not_selected = "not_selected"  # 未入选: in the race to its end, not named at the decision


class Entry(Base):
    """A team in the race (参赛队): a shortlisted application, or a house baseline."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("challenge_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), unique=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    baseline: Mapped[str | None] = mapped_column(String(50))  # house entry: baseline:tfidf …
    state: Mapped[EntryState] = mapped_column(_enum(EntryState), default=EntryState.active)
    cut_at_stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("stages.id", ondelete="SET NULL")
    )
    cut_reason: Mapped[catalogued.Text | None] = mapped_column(StoredText)
    """Why the entry was cut (at ``cut_at_stage_id``), kept as a catalogued text."""
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)

    challenge: Mapped[Challenge] = relationship()
    application: Mapped[Application | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()


class SubmissionState(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class Submission(Base):
    """One scored attempt of an entry at a stage (提交).

    The per-sample outputs live in the submission's run in the platform's run store
    (``run_results``, :mod:`mosu.jobs.run_store`); the table keeps the scores of the public and private parts of the test split.
    """

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_stage_entry", "stage_id", "entry_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    mode: Mapped[SubmissionMode] = mapped_column(_enum(SubmissionMode))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_endpoints.id", ondelete="SET NULL")
    )
    predictions_file: Mapped[str | None] = mapped_column(String(300))
    predictions_sha256: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    state: Mapped[SubmissionState] = mapped_column(
        _enum(SubmissionState), default=SubmissionState.queued, index=True
    )
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    public_score: Mapped[float | None] = mapped_column(Float)
    private_score: Mapped[float | None] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_reasons: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    failure: Mapped[catalogued.Text | None] = mapped_column(StoredText)
    """Why a failed submission failed, kept as a catalogued text."""
    # {"price": {"input", "output"} yuan per million tokens | None, "figures": Service}
    service: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[dt.datetime | None]

    stage: Mapped[Stage] = relationship()
    entry: Mapped[Entry] = relationship()


@event.listens_for(Session, "before_flush")
def _audit_log_is_append_only(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse any update or delete of an audit line: the log only grows."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ChallengeEvent) and (
            obj in session.deleted or session.is_modified(obj, include_collections=False)
        ):
            raise AUDIT_APPEND_ONLY()
